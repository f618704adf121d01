"""Knowledge-Centered Service: every resolved ticket leaves exactly one draft article behind.

A resolution writes a DraftRequest in its own transaction; ``process_pending`` turns requests into drafts after
commit and again at every start, so a crash in between is repaired. TicketDraft (unique per ticket) makes a
second resolution update the same draft instead of creating another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.documents import SearchRequest
from indexer.engine import SearchEngine
from kb.article import service as article_service
from kb.article.models import DRAFT, IN_REVIEW, PUBLISHED, Article
from kb.article.schemas import ArticleCreate, ArticleUpdate
from kb.auth.permissions import ADMIN, Principal
from kb.db import Database, utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound, PermissionDenied
from kb.ticket.models import DraftRequest, Ticket, TicketArticleLink, TicketDraft, TicketMessage
from kb.ticket.pii import mask_pii
from kb.ticket.similarity import similarity

log = logging.getLogger(__name__)
FIRST_REPORTER_MESSAGES = 3
SIMILAR_ARTICLES = 5


@dataclass(frozen=True)
class DraftContent:
    """What a resolved ticket contributes to its draft article (personal data already masked)."""

    title: str
    symptoms: str
    cause: str
    resolution: str
    category: str
    tags: list[str]
    environment: str
    source_ticket: str


def draft_content(session: Session, ticket: Ticket) -> DraftContent:
    """Map a resolved ticket onto article fields and mask personal data."""
    reporter_messages = session.scalars(
        select(TicketMessage.body)
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.from_reporter, ~TicketMessage.internal)
        .order_by(TicketMessage.id)
        .limit(FIRST_REPORTER_MESSAGES)
    ).all()
    symptoms = "\n\n".join(part for part in (ticket.description, *reporter_messages) if part.strip())
    environment = "；".join(
        f"{label}：{value}"
        for label, value in (
            ("分类", ticket.category),
            ("处理组", ticket.assignment_group),
            ("渠道", ticket.channel),
            ("优先级", ticket.priority),
        )
        if value
    )
    return DraftContent(
        title=mask_pii(ticket.title)[:300],
        symptoms=mask_pii(symptoms),
        cause=mask_pii(ticket.root_cause),
        resolution=mask_pii(ticket.resolution_notes),
        category=ticket.category[:100],
        tags=list(ticket.tags or []),
        environment=environment[:500],
        source_ticket=ticket.number,
    )


def similar_published(
    session: Session, engine: SearchEngine | None, content: DraftContent, exclude: str | None = None
) -> list[list[object]]:
    """Published articles close to the draft, with a 0..1 similarity, so reviewers merge instead of duplicating."""
    if engine is None:
        return []
    try:
        result = engine.suggest(content.title, f"{content.symptoms}\n{content.resolution}", SearchRequest("", limit=10))
    except Exception:  # the index may be rebuilding; the draft matters more than its neighbours
        log.warning("similar-article lookup failed for %s", content.source_ticket, exc_info=True)
        return []
    slugs = [hit.slug for hit in result.hits if hit.slug != exclude]
    articles = {a.slug: a for a in session.scalars(select(Article).where(Article.slug.in_(slugs)))}
    draft_text = f"{content.title}\n{content.symptoms}\n{content.resolution}"
    scored = []
    for slug in slugs:
        article = articles.get(slug)
        if article is None or article.status != PUBLISHED:
            continue
        score = similarity(draft_text, f"{article.title}\n{article.symptoms}\n{article.resolution}")
        scored.append([slug, article.title, score])
    scored.sort(key=lambda item: -float(item[2]))  # type: ignore[arg-type]
    return scored[:SIMILAR_ARTICLES]


def _solved_by(session: Session, ticket: Ticket) -> str | None:
    return session.scalar(
        select(TicketArticleLink.article_slug).where(
            TicketArticleLink.ticket_id == ticket.id, TicketArticleLink.relation == "solved"
        )
    )


def produce_draft(session: Session, ticket: Ticket, engine: SearchEngine | None) -> TicketDraft:
    """Create or update the one draft article of ``ticket`` (duplicates share their master's draft)."""
    existing = session.scalar(select(TicketDraft).where(TicketDraft.ticket_id == ticket.id))
    if ticket.master_id is not None:
        master = session.get(Ticket, ticket.master_id)
        if master is not None and master.status in ("resolved", "closed"):
            master_draft = produce_draft(session, master, engine)
            if existing is None:
                existing = TicketDraft(ticket_id=ticket.id, article_slug=master_draft.article_slug)
                session.add(existing)
            existing.article_slug, existing.revision_of = master_draft.article_slug, master_draft.revision_of
            existing.similar, existing.updated_at = master_draft.similar, utcnow()
            return existing
    content = draft_content(session, ticket)
    actor = Principal(ticket.resolved_by or "kcs", ADMIN)
    fields: dict[str, Any] = {
        "title": content.title,
        "symptoms": content.symptoms,
        "cause": content.cause,
        "resolution": content.resolution,
        "category": content.category,
        "tags": content.tags,
        "environment": content.environment,
        "source_ticket": content.source_ticket,
    }
    revision_of = _solved_by(session, ticket)
    if existing is None:
        created = article_service.create_article(
            session, ArticleCreate.model_validate({**fields, "status": DRAFT}), actor
        )
        existing = TicketDraft(ticket_id=ticket.id, article_slug=created.slug)
        session.add(existing)
    else:
        article = session.scalar(select(Article).where(Article.slug == existing.article_slug))
        # Reviewers may already have published or retired it: then the ticket no longer rewrites it.
        if article is not None and article.status in (DRAFT, IN_REVIEW):
            update = ArticleUpdate.model_validate({**fields, "change_note": f"工单 {ticket.number} 再次解决"})
            article_service.update_article(session, article.slug, update, actor)
    existing.revision_of = revision_of
    existing.similar = similar_published(session, engine, content, exclude=revision_of)
    existing.updated_at = utcnow()
    session.flush()
    return existing


def process_pending(db: Database, engine: SearchEngine | None, limit: int = 100) -> int:
    """Turn pending draft requests into drafts, one transaction each; returns how many were processed."""
    with db.session(write=False) as session:
        pending = session.scalars(
            select(DraftRequest.id).where(DraftRequest.processed_at.is_(None)).order_by(DraftRequest.id).limit(limit)
        ).all()
    done = 0
    for request_id in pending:
        try:
            with db.session() as session:
                request = session.get(DraftRequest, request_id)
                if request is None or request.processed_at is not None:
                    continue
                ticket = session.get(Ticket, request.ticket_id)
                # Produced even if the ticket was reopened meanwhile: the resolution happened and is owed a draft.
                if ticket is not None and ticket.resolution_notes:
                    produce_draft(session, ticket, engine)
                request.processed_at = utcnow()
                request.attempts += 1
            done += 1
        except IntegrityError:
            # Another process produced this ticket's draft at the same moment; its transaction won.
            log.info("draft request %s handled concurrently", request_id)
        except Exception as exc:
            log.exception("draft request %s failed", request_id)
            with db.session() as session:
                request = session.get(DraftRequest, request_id)
                if request is not None:
                    request.attempts += 1
                    request.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    return done


MERGED_FIELDS = ("symptoms", "cause", "resolution")


def merge_revision(session: Session, draft_slug: str, principal: Principal) -> Article:
    """Reviewer's one step: fold a ticket's proposed revision into the article it revises, retire the draft.

    New symptoms, cause and resolution text is appended (marked with the ticket number) rather than replacing
    the reviewed text; tags are united. Both articles get a new version, so the merge can be inspected and undone.
    """
    if not principal.is_reviewer:
        raise PermissionDenied("只有审核人可以合并修订建议")
    row = session.scalar(select(TicketDraft).where(TicketDraft.article_slug == draft_slug))
    if row is None or not row.revision_of:
        raise InvalidInput(f"文章“{draft_slug}”不是某篇文章的修订建议", details={"field": "slug"})
    draft = session.scalar(select(Article).where(Article.slug == draft_slug))
    target = session.scalar(select(Article).where(Article.slug == row.revision_of))
    if draft is None or target is None:
        raise NotFound("修订建议或原文章不存在")
    if draft.status not in (DRAFT, IN_REVIEW):
        raise Conflict(f"修订建议“{draft_slug}”已是“{draft.status}”状态，不能再合并")
    changes: dict[str, Any] = {}
    for name in MERGED_FIELDS:
        addition, current = getattr(draft, name).strip(), getattr(target, name)
        if addition and addition not in current:
            changes[name] = f"{current.rstrip()}\n\n（来自工单 {draft.source_ticket} 的补充）\n{addition}".strip()
    tags = list(dict.fromkeys([*(target.tags or []), *(draft.tags or [])]))
    if tags != list(target.tags or []):
        changes["tags"] = tags
    note = f"合并工单 {draft.source_ticket} 的修订建议 {draft_slug}"
    update = ArticleUpdate.model_validate({**changes, "change_note": note})
    merged = article_service.update_article(session, target.slug, update, principal)
    article_service.transition(session, draft_slug, "retire", principal, f"已合并到 {target.slug}")
    return merged
