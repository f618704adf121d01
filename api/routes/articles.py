"""Article CRUD, lifecycle transitions, versions, diffs and feedback."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import ApiPrincipal, ServicesDep
from kb.article import service
from kb.article.schemas import (
    ArticleCreate,
    ArticleRead,
    ArticleSummary,
    ArticleUpdate,
    FeedbackCreate,
    Status,
    TransitionRequest,
    VersionRead,
)
from kb.auth import audit
from kb.auth.permissions import ADMIN
from kb.exceptions import InvalidInput, PermissionDenied

router = APIRouter(prefix="/api/v1/articles", tags=["articles"])
Action = Literal["submit", "publish", "retire", "restore", "to_draft"]


class ArticleList(BaseModel):
    """A page of articles."""

    total: int
    items: list[ArticleSummary]


class VersionDetail(VersionRead):
    """A version with its content snapshot."""

    snapshot: dict[str, Any]


class DiffOut(BaseModel):
    """A unified diff between two versions."""

    slug: str
    from_version: int
    to_version: int
    diff: str


class AuditEntry(BaseModel):
    """One audit log entry."""

    at: Any
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("", response_model=ArticleList)
def list_articles(
    services: ServicesDep,
    principal: ApiPrincipal,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Any:
    """Articles the caller may see, most recently changed first."""
    with services.db.session(write=False) as session:
        total, rows = service.list_visible(session, principal, status=status, limit=limit, offset=offset)
        return ArticleList(total=total, items=[ArticleSummary.model_validate(r) for r in rows])


@router.post("", response_model=ArticleRead, status_code=201)
def create_article(body: ArticleCreate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Create an article (a draft unless a reviewer asks for another status)."""
    with services.db.session() as session:
        article = service.create_article(session, body, principal)
        result = ArticleRead.model_validate(article)
    services.notify_changed()
    return result


@router.get("/{slug}", response_model=ArticleRead)
def get_article(slug: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """One article, if the caller may see it."""
    with services.db.session(write=False) as session:
        return ArticleRead.model_validate(service.get_visible(session, slug, principal))


@router.patch("/{slug}", response_model=ArticleRead)
def update_article(slug: str, body: ArticleUpdate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Change an article; every saved change is a new version. Send expected_version to avoid lost updates."""
    with services.db.session() as session:
        result = ArticleRead.model_validate(service.update_article(session, slug, body, principal))
    services.notify_changed()
    return result


@router.delete("/{slug}", status_code=204)
def delete_article(slug: str, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Delete an article for good (admins only; reviewers retire instead)."""
    with services.db.session() as session:
        service.delete_article(session, slug, principal)
    services.notify_changed()
    return Response(status_code=204)


@router.get("/{slug}/versions", response_model=list[VersionRead])
def versions(slug: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Version history, newest first."""
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        return [VersionRead.model_validate(v) for v in service.list_versions(session, article)]


@router.get("/{slug}/versions/{version}", response_model=VersionDetail)
def version_detail(slug: str, version: int, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """One version with its content."""
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        row = service.get_version(session, article, version)
        return VersionDetail(
            version=row.version,
            author=row.author,
            created_at=row.created_at,
            change_note=row.change_note,
            snapshot=row.snapshot,
        )


@router.get("/{slug}/diff", response_model=DiffOut)
def diff(
    slug: str,
    services: ServicesDep,
    principal: ApiPrincipal,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> Any:
    """Unified diff between two versions."""
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        text = service.diff_versions(session, article, from_version, to_version)
    return DiffOut(slug=slug, from_version=from_version, to_version=to_version, diff=text)


@router.post("/{slug}/feedback", status_code=201)
def feedback(slug: str, body: FeedbackCreate, services: ServicesDep, principal: ApiPrincipal) -> dict[str, int]:
    """Record "was this helpful?"."""
    with services.db.session() as session:
        article = service.get_visible(session, slug, principal)
        service.add_feedback(session, article, body.helpful, body.comment, principal.name)
        helpful, not_helpful = service.feedback_counts(session, article)
    return {"helpful": helpful, "not_helpful": not_helpful}


@router.get("/{slug}/audit", response_model=list[AuditEntry])
def audit_log(slug: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Audit trail of one article (admins)."""
    if not (principal.at_least(ADMIN) and principal.role != "integration"):
        raise PermissionDenied("只有管理员可以查看审计日志")
    if not slug:
        raise InvalidInput("slug 不能为空")
    with services.db.session(write=False) as session:
        return [
            AuditEntry(at=e.at, actor=e.actor, action=e.action, before=e.before, after=e.after)
            for e in audit.entries_for(session, "article", slug)
        ]


# Registered last: its path pattern would otherwise swallow /feedback.
@router.post("/{slug}/{action}", response_model=ArticleRead)
def transition(
    slug: str,
    action: Action,
    services: ServicesDep,
    principal: ApiPrincipal,
    body: TransitionRequest | None = None,
) -> Any:
    """Lifecycle: submit (draft→in_review), publish, retire, restore (retired→published), to_draft."""
    with services.db.session() as session:
        article = service.transition(session, slug, action, principal, body.note if body else "")
        result = ArticleRead.model_validate(article)
    services.notify_changed()
    return result
