"""Article state changes: create, update, lifecycle transitions, delete, feedback. Flushes, never commits."""

from __future__ import annotations

import difflib
import secrets
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from kb.article import markdown_io
from kb.article.models import (
    CONTENT_FIELDS,
    DRAFT,
    IN_REVIEW,
    PUBLISHED,
    RETIRED,
    Article,
    ArticleFeedback,
    ArticleVersion,
)
from kb.article.schemas import ArticleCreate, ArticleImport, ArticleUpdate
from kb.auth import audit, permissions
from kb.auth.permissions import Principal
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound
from kb.search.outbox import record_index_change

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": ((DRAFT,), IN_REVIEW),
    "publish": ((DRAFT, IN_REVIEW), PUBLISHED),
    "retire": ((PUBLISHED, DRAFT, IN_REVIEW), RETIRED),
    "restore": ((RETIRED,), PUBLISHED),
    "to_draft": ((IN_REVIEW, PUBLISHED, RETIRED), DRAFT),
}
ACTION_LABELS = {
    "submit": "提交审核",
    "publish": "发布",
    "retire": "下线",
    "restore": "恢复发布",
    "to_draft": "退回草稿",
}


def allowed_actions(status: str) -> list[str]:
    """Lifecycle actions possible from ``status``."""
    return [action for action, (sources, _target) in TRANSITIONS.items() if status in sources]


def _load_for_update(session: Session, slug: str) -> Article:
    article = session.scalar(select(Article).where(Article.slug == slug).with_for_update())
    if article is None:
        raise NotFound(f"文章“{slug}”不存在")
    return article


def get_visible(session: Session, slug: str, principal: Principal) -> Article:
    """The article if the principal may see it; 404 otherwise (existence is not revealed)."""
    article = session.scalar(select(Article).where(Article.slug == slug))
    if article is None or not permissions.can_see(principal, article):
        raise NotFound(f"文章“{slug}”不存在")
    return article


def list_visible(
    session: Session, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[Article]]:
    """Articles the principal may see, newest change first, with the total."""
    query = select(Article)
    statuses = permissions.visible_statuses(principal)
    author = permissions.authored_drafts_visible_to(principal)
    condition: ColumnElement[bool] = Article.status.in_(statuses)
    if author:
        condition = condition | (Article.created_by == author)
    query = query.where(condition)
    if status:
        query = query.where(Article.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit).offset(offset))
    return int(total), list(rows)


def _new_slug(session: Session) -> str:
    while True:
        slug = f"kb-{utcnow():%Y%m%d}-{secrets.token_hex(3)}"
        if session.scalar(select(Article.id).where(Article.slug == slug)) is None:
            return slug


def _save_version(session: Session, article: Article, author: str, note: str) -> None:
    session.add(
        ArticleVersion(
            article_id=article.id,
            version=article.version,
            author=author,
            created_at=article.updated_at,
            change_note=note,
            snapshot=article.content(),
        )
    )


def _changed(
    session: Session, article: Article, actor: str, action: str, before: dict[str, Any] | None, note: str
) -> None:
    _save_version(session, article, actor, note)
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="article",
        entity_id=article.slug,
        before=before,
        after=article.content(),
    )
    record_index_change(session, article.slug)


def create_article(session: Session, data: ArticleCreate, principal: Principal) -> Article:
    """Creates an article (a draft unless a reviewer says otherwise) with its first version."""
    permissions.check_create(principal, data.status)
    slug = data.slug or _new_slug(session)
    if session.scalar(select(Article.id).where(Article.slug == slug)) is not None:
        raise Conflict(f"slug“{slug}”已被使用")
    now = utcnow()
    values = data.model_dump(exclude={"slug"})
    article = Article(
        slug=slug,
        version=1,
        created_at=now,
        updated_at=now,
        created_by=principal.name,
        updated_by=principal.name,
        **values,
    )
    session.add(article)
    session.flush()
    _changed(session, article, principal.name, "article.create", None, "创建")
    return article


def update_article(session: Session, slug: str, data: ArticleUpdate, principal: Principal) -> Article:
    """Applies a partial update as a new version; a stale ``expected_version`` is a 409."""
    article = _load_for_update(session, slug)
    if not permissions.can_see(principal, article):
        raise NotFound(f"文章“{slug}”不存在")
    permissions.check_edit(principal, article)
    if data.expected_version is not None and data.expected_version != article.version:
        raise Conflict(
            f"文章已被他人修改（当前版本 {article.version}，你编辑的是版本 {data.expected_version}），请刷新后重试",
            details={"current_version": article.version},
        )
    changes = data.model_dump(exclude_unset=True, exclude={"expected_version", "change_note"})
    return _apply_changes(session, article, changes, principal.name, "article.update", data.change_note)


def _apply_changes(
    session: Session, article: Article, changes: dict[str, Any], actor: str, action: str, note: str
) -> Article:
    before = article.content()
    for name, value in changes.items():
        setattr(article, name, value)
    if article.content() == before:
        return article
    article.version += 1
    article.updated_at = utcnow()
    article.updated_by = actor
    session.flush()
    _changed(session, article, actor, action, before, note)
    return article


def transition(session: Session, slug: str, action: str, principal: Principal, note: str = "") -> Article:
    """Moves an article through draft -> in_review -> published -> retired (and back to draft)."""
    if action not in TRANSITIONS:
        raise NotFound(f"未知操作“{action}”")
    article = _load_for_update(session, slug)
    if not permissions.can_see(principal, article):
        raise NotFound(f"文章“{slug}”不存在")
    sources, target = TRANSITIONS[action]
    if article.status not in sources:
        allowed = allowed_actions(article.status)
        raise Conflict(
            f"状态为“{article.status}”的文章不能执行“{action}”，允许的操作：{', '.join(allowed) or '无'}",
            details={"status": article.status, "allowed": allowed},
        )
    permissions.check_transition(principal, article, action)
    return _apply_changes(
        session,
        article,
        {"status": target},
        principal.name,
        f"article.{action}",
        note or ACTION_LABELS[action],
    )


def delete_article(session: Session, slug: str, principal: Principal) -> None:
    """Deletes an article and its history (admins only); retiring is the normal way out."""
    permissions.check_delete(principal)
    article = _load_for_update(session, slug)
    audit.record(
        session,
        actor=principal.name,
        action="article.delete",
        entity_type="article",
        entity_id=slug,
        before=article.content(),
        after=None,
    )
    session.delete(article)
    record_index_change(session, slug)


def import_article(session: Session, data: ArticleImport, actor: str) -> str:
    """Upserts an imported article by slug; returns created, updated or unchanged."""
    article = session.scalar(select(Article).where(Article.slug == data.slug).with_for_update())
    values = data.model_dump(exclude={"slug"})
    if article is None:
        now = utcnow()
        article = Article(
            slug=data.slug,
            version=1,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
            **values,
        )
        session.add(article)
        session.flush()
        _changed(session, article, actor, "article.import", None, "导入")
        return "created"
    before_version = article.version
    _apply_changes(session, article, values, actor, "article.import", "导入更新")
    return "updated" if article.version != before_version else "unchanged"


def list_versions(session: Session, article: Article) -> list[ArticleVersion]:
    """An article's history, newest first."""
    query = select(ArticleVersion).where(ArticleVersion.article_id == article.id)
    return list(session.scalars(query.order_by(ArticleVersion.version.desc())))


def get_version(session: Session, article: Article, version: int) -> ArticleVersion:
    """One version of an article."""
    row = session.scalar(
        select(ArticleVersion).where(ArticleVersion.article_id == article.id, ArticleVersion.version == version)
    )
    if row is None:
        raise NotFound(f"文章“{article.slug}”没有版本 {version}")
    return row


def diff_versions(session: Session, article: Article, old: int, new: int) -> str:
    """Unified diff between two versions, rendered as the Markdown files they export to."""
    if old < 1 or new < 1:
        raise InvalidInput("版本号必须是正整数")
    before = markdown_io.render_article(get_version(session, article, old).snapshot, article.slug)
    after = markdown_io.render_article(get_version(session, article, new).snapshot, article.slug)
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), fromfile=f"v{old}", tofile=f"v{new}", lineterm=""
    )
    return "\n".join(lines)


def add_feedback(session: Session, article: Article, helpful: bool, comment: str, actor: str) -> ArticleFeedback:
    """Stores a "was this helpful?" answer."""
    feedback = ArticleFeedback(article_id=article.id, helpful=helpful, comment=comment.strip(), actor=actor)
    session.add(feedback)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="article.feedback",
        entity_type="article",
        entity_id=article.slug,
        before=None,
        after={"helpful": helpful, "comment": comment.strip()},
    )
    return feedback


def feedback_counts(session: Session, article: Article) -> tuple[int, int]:
    """(helpful, not helpful) answers of an article."""
    rows = session.execute(
        select(ArticleFeedback.helpful, func.count())
        .where(ArticleFeedback.article_id == article.id)
        .group_by(ArticleFeedback.helpful)
    ).all()
    counts = {bool(helpful): int(count) for helpful, count in rows}
    return counts.get(True, 0), counts.get(False, 0)


def review_date_passed(article: Article, today: date | None = None) -> bool:
    """Whether the article is past its review date."""
    return article.review_by is not None and article.review_by < (today or utcnow().date())


__all__ = ["CONTENT_FIELDS"]
