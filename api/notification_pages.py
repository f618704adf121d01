"""The notifications page (Chinese UI): the logged-in person's list, mark one or all as read."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import ANONYMOUS, PagePrincipal, ServicesDep
from api.pages import TEMPLATES, check_same_origin
from kb.notify import inbox

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30
KIND_LABELS = {"sla.warning": "SLA 预警", "sla.breach": "SLA 超时", "sla.escalation": "SLA 升级", "test": "测试"}
TEMPLATES.env.globals.update(NOTIFICATION_KIND_LABELS=KIND_LABELS)


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request,
    services: ServicesDep,
    principal: PagePrincipal,
    unread: int = 0,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """The visitor's notifications, newest first, optionally unread only."""
    if principal is None or principal is ANONYMOUS:
        return _login(request)
    with services.db.session(write=False) as session:
        listing = inbox.list_notifications(
            session, principal, unread_only=bool(unread), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
    values = {
        "principal": principal,
        "listing": listing,
        "unread": bool(unread),
        "page": page,
        "pages": max(1, math.ceil(listing.total / PAGE_SIZE)),
        "tz": ZoneInfo("Asia/Shanghai"),
    }
    return TEMPLATES.TemplateResponse(request, "notifications.html", values)


@router.post("/notifications/read-all")
def read_all_submit(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Mark every notification of the visitor as read."""
    if principal is None or principal is ANONYMOUS:
        return _login(request)
    check_same_origin(request)
    with services.db.session() as session:
        inbox.mark_all_read(session, principal)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/{notification_id}/read")
def read_one_submit(
    notification_id: int, request: Request, services: ServicesDep, principal: PagePrincipal
) -> Response:
    """Mark one of the visitor's notifications as read."""
    if principal is None or principal is ANONYMOUS:
        return _login(request)
    check_same_origin(request)
    with services.db.session() as session:
        inbox.mark_read(session, notification_id, principal)
    return RedirectResponse("/notifications", status_code=303)
