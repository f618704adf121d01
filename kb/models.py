"""Imports every domain's ORM models so the metadata is complete."""

from kb.article.models import Article, ArticleFeedback, ArticleVersion
from kb.auth.models import ApiToken, AuditLog
from kb.search.models import IndexOutbox, ZeroResultSearch
from kb.sla.models import CalendarDay, CalendarYear
from kb.ticket.models import (
    DraftRequest,
    IntegrationDelivery,
    Survey,
    Ticket,
    TicketArticleLink,
    TicketDraft,
    TicketEvent,
    TicketMessage,
)

__all__ = [
    "ApiToken",
    "Article",
    "ArticleFeedback",
    "ArticleVersion",
    "AuditLog",
    "CalendarDay",
    "CalendarYear",
    "DraftRequest",
    "IndexOutbox",
    "IntegrationDelivery",
    "Survey",
    "Ticket",
    "TicketArticleLink",
    "TicketDraft",
    "TicketEvent",
    "TicketMessage",
    "ZeroResultSearch",
]
