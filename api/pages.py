"""Server-rendered pages (Chinese UI): search, article, review lists, editing, login."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import COOKIE_NAME, PagePrincipal, ServicesDep, principal_from_secret
from kb.article import rendering, service
from kb.article.models import CONTENT_FIELDS, STATUSES
from kb.article.schemas import ArticleCreate, ArticleUpdate
from kb.auth import permissions
from kb.auth.permissions import Principal
from kb.exceptions import InvalidInput, KBError, NotAuthenticated, PermissionDenied
from kb.search import service as search_service

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATUS_LABELS = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已下线"}
ROLE_LABELS = {
    "viewer": "查看者",
    "engineer": "工程师",
    "reviewer": "审核人",
    "admin": "管理员",
    "integration": "集成",
}
TEMPLATES.env.globals.update(STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS, ACTION_LABELS=service.ACTION_LABELS)
PAGE_SIZE = 10
# Text inputs of the edit form; tags and review_by are parsed separately, status changes by transitions.
EDITABLE_FIELDS = tuple(name for name in CONTENT_FIELDS if name not in ("tags", "review_by", "status"))

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, template: str, principal: Principal | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, {"principal": principal, **context}, status_code=status_code)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """The Chinese error page."""
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"principal": None, "status": status, "message": message}, status_code=status
    )


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


def check_same_origin(request: Request) -> None:
    """Refuse form posts from other sites (the session cookie would otherwise ride along)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin and urlsplit(origin).netloc != request.url.netloc:
        raise PermissionDenied("跨站提交被拒绝")


@router.get("/", response_class=HTMLResponse)
def search_page(
    request: Request,
    services: ServicesDep,
    principal: PagePrincipal,
    q: str = "",
    tag: Annotated[list[str] | None, Query()] = None,
    category: str = "",
    status: str = "",
    page: Annotated[int, Query(ge=1, le=100)] = 1,
) -> Response:
    """The search page: box, facets, highlighted hits, pagination."""
    if principal is None:
        return _login_redirect(request)
    if status and status not in STATUSES:
        raise InvalidInput(f"未知状态“{status}”")
    search_request = search_service.build_request(
        services.settings,
        principal,
        q,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        tags=tuple(tag or ()),
        category=category or None,
        status=status or None,
    )
    result = search_service.search(services.index, services.db, search_request, principal)
    pages = min(math.ceil(result.total / PAGE_SIZE), services.settings.max_result_window // PAGE_SIZE)
    base = {"q": q, "category": category, "status": status}

    def link(**changes: Any) -> str:
        params = {**base, "tag": list(tag or ()), **changes}
        return "/?" + urlencode({k: v for k, v in params.items() if v not in ("", None, [])}, doseq=True)

    return _page(
        request,
        "search.html",
        principal,
        q=q,
        result=result,
        tags=tag or [],
        category=category,
        status=status,
        page=page,
        pages=pages,
        link=link,
    )


@router.get("/articles/{slug}", response_class=HTMLResponse)
def article_page(
    slug: str, request: Request, services: ServicesDep, principal: PagePrincipal, thanks: int = 0
) -> Response:
    """One article: rendered sections, tags, history, feedback and (for reviewers) lifecycle actions."""
    if principal is None:
        return _login_redirect(request)
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        versions = service.list_versions(session, article)
        helpful, not_helpful = service.feedback_counts(session, article)
        sections = rendering.render_sections(article.content())
        actions = [a for a in service.allowed_actions(article.status) if _may(principal, article, a)]
        can_edit = _may_edit(principal, article)
        return _page(
            request,
            "article.html",
            principal,
            article=article,
            sections=sections,
            versions=versions,
            helpful=helpful,
            not_helpful=not_helpful,
            actions=actions,
            can_edit=can_edit,
            thanks=bool(thanks),
            overdue=service.review_date_passed(article),
        )


def _may(principal: Principal, article: Any, action: str) -> bool:
    try:
        permissions.check_transition(principal, article, action)
    except PermissionDenied:
        return False
    return True


def _may_edit(principal: Principal, article: Any) -> bool:
    try:
        permissions.check_edit(principal, article)
    except PermissionDenied:
        return False
    return True


@router.post("/articles/{slug}/feedback")
def feedback_submit(
    slug: str,
    request: Request,
    services: ServicesDep,
    principal: PagePrincipal,
    helpful: Annotated[str, Form()],
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Store a "was this helpful?" answer from the article page."""
    if principal is None:
        return _login_redirect(request)
    check_same_origin(request)
    with services.db.session() as session:
        article = service.get_visible(session, slug, principal)
        service.add_feedback(session, article, helpful == "yes", comment[:1000], principal.name)
    return RedirectResponse(f"/articles/{slug}?thanks=1", status_code=303)


@router.post("/articles/{slug}/transition/{action}")
def transition_submit(
    slug: str, action: str, request: Request, services: ServicesDep, principal: PagePrincipal
) -> Response:
    """Publish, retire, submit, restore or send back to draft from the article page."""
    if principal is None:
        return _login_redirect(request)
    check_same_origin(request)
    with services.db.session() as session:
        service.transition(session, slug, action, principal)
    services.notify_changed()
    return RedirectResponse(f"/articles/{slug}", status_code=303)


@router.get("/articles/{slug}/versions/{version}", response_class=HTMLResponse)
def version_page(
    slug: str, version: int, request: Request, services: ServicesDep, principal: PagePrincipal
) -> Response:
    """One past version, rendered, with its diff against the previous one."""
    if principal is None:
        return _login_redirect(request)
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        row = service.get_version(session, article, version)
        diff = service.diff_versions(session, article, version - 1, version) if version > 1 else ""
        return _page(
            request,
            "version.html",
            principal,
            article=article,
            row=row,
            diff=diff,
            sections=rendering.render_sections(row.snapshot),
        )


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    services: ServicesDep,
    principal: PagePrincipal,
    status: str = "draft",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """Reviewer work list by status."""
    if principal is None:
        return _login_redirect(request)
    if not principal.is_reviewer and principal.role != "engineer":
        raise PermissionDenied("审核页面只对工程师和审核人开放")
    if status not in STATUSES:
        raise InvalidInput(f"未知状态“{status}”")
    with services.db.session(write=False) as session:
        total, rows = service.list_visible(session, principal, status=status, limit=50, offset=(page - 1) * 50)
        return _page(
            request,
            "review.html",
            principal,
            status=status,
            total=total,
            rows=rows,
            page=page,
            pages=max(1, math.ceil(total / 50)),
        )


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in EDITABLE_FIELDS}
    values["tags"] = [t.strip() for t in str(form.get("tags", "")).replace("，", ",").split(",") if t.strip()]
    review_by = str(form.get("review_by", "")).strip()
    values["review_by"] = review_by or None
    values["source_ticket"] = values["source_ticket"] or None
    return values


def _describe(error: ValidationError) -> str:
    return "；".join(f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in error.errors())


@router.get("/new", response_class=HTMLResponse)
def new_page(request: Request, principal: PagePrincipal) -> Response:
    """Form for a new draft."""
    if principal is None:
        return _login_redirect(request)
    return _page(request, "edit.html", principal, article=None, values={}, error=None)


@router.post("/new")
async def new_submit(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Create a draft from the form."""
    if principal is None:
        return _login_redirect(request)
    check_same_origin(request)
    values = _form_values(await request.form())
    try:
        data = ArticleCreate.model_validate(values)
    except ValidationError as exc:
        return _page(
            request,
            "edit.html",
            principal,
            article=None,
            values=values,
            error=_describe(exc),
            status_code=422,
        )
    slug = await run_in_threadpool(_create, services, data, principal)
    return RedirectResponse(f"/articles/{slug}", status_code=303)


def _create(services: Any, data: ArticleCreate, principal: Principal) -> str:
    with services.db.session() as session:
        slug = service.create_article(session, data, principal).slug
    services.notify_changed()
    return slug


@router.get("/articles/{slug}/edit", response_class=HTMLResponse)
def edit_page(slug: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Edit form for an article."""
    if principal is None:
        return _login_redirect(request)
    with services.db.session(write=False) as session:
        article = service.get_visible(session, slug, principal)
        if not _may_edit(principal, article):
            raise PermissionDenied("你不能编辑这篇文章")
        values = article.content()
        values["tags"] = ", ".join(values["tags"])
        return _page(request, "edit.html", principal, article=article, values=values, error=None)


@router.post("/articles/{slug}/edit")
async def edit_submit(slug: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Save the edit form as a new version."""
    if principal is None:
        return _login_redirect(request)
    check_same_origin(request)
    form = await request.form()
    values = _form_values(form)
    try:
        data = ArticleUpdate.model_validate(
            {
                **values,
                "expected_version": int(str(form.get("expected_version", "0")) or 0) or None,
                "change_note": str(form.get("change_note", ""))[:500],
            }
        )
    except (ValidationError, ValueError) as exc:
        message = _describe(exc) if isinstance(exc, ValidationError) else "版本号无效"
        values["tags"] = ", ".join(values["tags"])
        return _page(
            request,
            "edit.html",
            principal,
            article={"slug": slug},
            values=values,
            error=message,
            status_code=422,
        )
    await run_in_threadpool(_update, services, slug, data, principal)
    return RedirectResponse(f"/articles/{slug}", status_code=303)


def _update(services: Any, slug: str, data: ArticleUpdate, principal: Principal) -> None:
    with services.db.session() as session:
        service.update_article(session, slug, data, principal)
    services.notify_changed()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, principal: PagePrincipal, next: str = "/") -> Response:
    """Sign in with an API token."""
    return _page(request, "login.html", principal, next=_safe_next(next), error=None)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.post("/login")
def login_submit(
    request: Request, services: ServicesDep, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    """Check the token and keep it in an HttpOnly, SameSite=Strict cookie."""
    check_same_origin(request)
    try:
        principal_from_secret(services, token)
    except NotAuthenticated:
        return _page(request, "login.html", None, next=_safe_next(next), error="令牌无效或已吊销", status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=services.settings.cookie_secure,
        max_age=8 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """Forget the login cookie."""
    check_same_origin(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


__all__ = ["KBError", "render_error", "router"]
