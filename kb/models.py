"""Imports every domain's ORM models so the metadata is complete."""

from kb.article.models import Article, ArticleFeedback, ArticleVersion
from kb.auth.models import ApiToken, AuditLog
from kb.notify.models import Contact, Notification, OutboundDelivery, WebhookSubscription
from kb.search.models import IndexOutbox, ZeroResultSearch
from kb.sla.models import (
    CalendarDay,
    CalendarYear,
    SchedulerLease,
    SlaCalendar,
    SlaEvent,
    SlaPolicy,
    TicketSla,
)
from kb.ticket.models import (
    DraftRequest,
    IntegrationDelivery,
    SupportGroup,
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
    "Contact",
    "DraftRequest",
    "IndexOutbox",
    "IntegrationDelivery",
    "Notification",
    "OutboundDelivery",
    "SchedulerLease",
    "SlaCalendar",
    "SlaEvent",
    "SlaPolicy",
    "SupportGroup",
    "Survey",
    "Ticket",
    "TicketArticleLink",
    "TicketDraft",
    "TicketEvent",
    "TicketMessage",
    "TicketSla",
    "WebhookSubscription",
    "ZeroResultSearch",
]
