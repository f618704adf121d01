"""Server-rendered ticket pages (Chinese UI): list, new, detail, breaching soon; live SLA badges on each."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from api.deps import PagePrincipal, ServicesDep
from api.pages import TEMPLATES, check_same_origin
from kb.auth.permissions import Principal
from kb.context import Services
from kb.db import utcnow
from kb.exceptions import InvalidInput, KBError
from kb.sla.clock import ClockState
from kb.sla.history import KIND_LABELS, STATE_LABELS, SlaSetup, SlaView, sla_view
from kb.sla.policy import rules_from
from kb.sla.queries import breaching_soon
from kb.ticket import lifecycle, workflow
from kb.ticket import service as tickets
from kb.ticket.models import CHANNELS, LEVELS, PRIORITIES, STATUSES, Ticket, TicketDraft
from kb.ticket.schemas import LinkCreate, MessageCreate, TicketCreate, TicketTransition
from kb.ticket.service import TicketFilter, TicketPolicy

router = APIRouter(include_in_schema=False)
CHANNEL_LABELS = {"phone": "电话", "email": "邮件", "im": "即时通讯", "portal": "门户", "alert": "告警", "api": "接口"}
LEVEL_LABELS = {"high": "高", "medium": "中", "low": "低"}
RELATION_LABELS = {"solved": "解决了此工单", "related": "相关"}
EVENT_LABELS = {"warning": "预警", "breach": "超时", "escalation": "升级"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
LIVE_STATES = ("running", "breached")
TEMPLATES.env.globals.update(
    TICKET_STATUS_LABELS=lifecycle.STATUS_LABELS,
    TICKET_ACTION_LABELS=lifecycle.ACTION_LABELS,
    CHANNEL_LABELS=CHANNEL_LABELS,
    LEVEL_LABELS=LEVEL_LABELS,
    RELATION_LABELS=RELATION_LABELS,
    SLA_STATE_LABELS=STATE_LABELS,
    SLA_KIND_LABELS=KIND_LABELS,
    SLA_EVENT_LABELS=EVENT_LABELS,
)
PAGE_SIZE = 50
WITHIN_CHOICES = {"60": "1 小时", "240": "4 小时", "480": "8 小时", "1440": "24 小时"}


# --- SLA badges -------------------------------------------------------------------------------------------------


def level(state: str, percent: float) -> str:
    """Colour class of a clock: green under 50 %, yellow, orange from 75 %, red from 90 % or breached; grey if idle."""
    if state in ("missed", "breached"):
        return "breached"
    if state in ("paused", "met"):
        return "done"
    if percent >= 90:
        return "danger"
    if percent >= 75:
        return "warn"
    return "notice" if percent >= 50 else "ok"


def countdown(seconds_left: float) -> str:
    """Time left as "剩 1 小时 12 分", or overdue as "已超时 25 分" (api/static/sla.js words it the same way)."""
    total = int(abs(seconds_left))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    running = seconds_left > 0
    if days:
        amount = f"{days} 天 {hours} 小时"
    elif hours:
        amount = f"{hours} 小时 {minutes} 分"
    else:
        # Seconds only in the last hour before the due time, where they matter.
        amount = f"{minutes} 分 {seconds} 秒" if running else f"{minutes} 分"
    return f"剩 {amount}" if running else f"已超时 {amount}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Badge:
    """What the badge of one clock shows; ``due`` and ``steps`` (future colour changes) keep it live in the browser."""

    kind: str
    label: str
    state: str
    level: str
    text: str
    explanation: str
    due_local: str
    live: bool
    due: str
    now: str
    steps: str


def badge(clock: ClockState, explanation: str, now: datetime) -> Badge:
    """The badge of ``clock`` at ``now``."""
    live = clock.state in LIVE_STATES
    steps = [[_iso(at), level("running", 100 * t)] for t, at in clock.warnings_at if live and at > now]
    return Badge(
        kind=clock.kind,
        label=KIND_LABELS[clock.kind],
        state=clock.state,
        level=level(clock.state, clock.percent),
        text=countdown((clock.due_at - now).total_seconds()) if live else STATE_LABELS[clock.state],
        explanation=explanation,
        due_local=f"{clock.due_at.astimezone(SHANGHAI):%m-%d %H:%M}",
        live=live,
        due=_iso(clock.due_at),
        now=_iso(now),
        steps=json.dumps(steps),
    )


def clock_badge(view: SlaView, kind: str, now: datetime) -> Badge:
    """The badge of the ``kind`` clock of a ticket's SLA view."""
    clock = view.response if kind == "response" else view.resolution
    return badge(clock, view.explanations[kind], now)


def next_badge(view: SlaView, now: datetime) -> Badge:
    """The badge of the clock that matters next: response until responded, then resolution."""
    return clock_badge(view, "response" if view.response.stopped_at is None else "resolution", now)


def escalation_level(view: SlaView) -> int:
    """How many times the ticket was escalated by its SLA."""
    return sum(1 for event in view.events if event.kind == "escalation")


# --- pages ---------------------------------------------------------------------------------------------------


def _render(request: Request, template: str, principal: Principal, status_code: int = 200, **context: Any) -> Response:
    values = {"principal": principal, **context}
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def _policy(services: Services) -> TicketPolicy:
    return TicketPolicy.from_settings(services.settings)


@router.get("/tickets", response_class=HTMLResponse)
def ticket_list(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Tickets with filters (status, priority, group, assignee, category) and sorting."""
    if principal is None:
        return _login(request)
    tickets.check_agent(principal)
    query = request.query_params
    where = TicketFilter(
        status=query.get("status") or None,
        priority=query.get("priority") or None,
        assignment_group=query.get("group") or None,
        assignee=query.get("assignee") or None,
        category=query.get("category") or None,
        sort=query.get("sort") or "-updated_at",
    )
    now, rules = utcnow(), rules_from(services.settings)
    with services.db.session(write=False) as session:
        total, rows = tickets.list_tickets(session, principal, where, limit=PAGE_SIZE, offset=0)
        setup = SlaSetup.load(session)
        badges = {t.number: next_badge(sla_view(session, t, now, rules, setup), now) for t in rows}
        return _render(
            request,
            "tickets.html",
            principal,
            rows=rows,
            badges=badges,
            total=total,
            where=where,
            statuses=STATUSES,
            priorities=PRIORITIES,
            sorts=list(tickets.SORTABLE),
        )


@router.get("/tickets/breaching", response_class=HTMLResponse)
def breaching_page(request: Request, services: ServicesDep, principal: PagePrincipal, within: str = "240") -> Response:
    """Open tickets breached or due within the chosen time, least time left first, with live countdowns."""
    if principal is None:
        return _login(request)
    tickets.check_agent(principal)
    error = None
    if within not in WITHIN_CHOICES:
        error = f"时间范围“{within[:20]}”无效，可选：{'、'.join(WITHIN_CHOICES.values())}；已按 4 小时显示"
        within = "240"
    now, rules = utcnow(), rules_from(services.settings)
    with services.db.session(write=False) as session:
        risks = breaching_soon(session, now, int(within), PAGE_SIZE)
        setup = SlaSetup.load(session)
        rows = [
            (risk, clock_badge(sla_view(session, risk.ticket, now, rules, setup), risk.clock, now)) for risk in risks
        ]
        return _render(
            request,
            "sla_breaching.html",
            principal,
            status_code=422 if error else 200,
            rows=rows,
            within=within,
            choices=WITHIN_CHOICES,
            error=error,
            tz=SHANGHAI,
        )


@router.get("/tickets/new", response_class=HTMLResponse)
def new_ticket_page(request: Request, principal: PagePrincipal) -> Response:
    """The form for a new ticket."""
    if principal is None:
        return _login(request)
    tickets.check_agent(principal)
    return _render(request, "ticket_new.html", principal, values={}, error=None, channels=CHANNELS, levels=LEVELS)


@router.post("/tickets/new")
async def new_ticket_submit(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Open a ticket from the form; empty category and group take the classifier's proposal."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    form = await request.form()
    values: dict[str, Any] = {name: str(value) for name, value in form.items() if name != "tags"}
    values["tags"] = [t.strip() for t in str(form.get("tags", "")).replace("，", ",").split(",") if t.strip()]
    try:
        data = TicketCreate.model_validate(values)
    except ValidationError as exc:
        error = "；".join(f"{'.'.join(str(p) for p in e['loc'])}：{e['msg']}" for e in exc.errors())
        context = {"values": values, "error": error, "channels": CHANNELS, "levels": LEVELS}
        return _render(request, "ticket_new.html", principal, status_code=422, **context)
    number = await run_in_threadpool(_create, services, data, principal)
    return RedirectResponse(f"/tickets/{number}", status_code=303)


def _create(services: Services, data: TicketCreate, principal: Principal) -> str:
    proposal = services.router.propose(data.title, data.description)
    with services.db.session() as session:
        return tickets.create_ticket(session, data, principal, _policy(services), proposal=proposal).number


@router.get("/tickets/{number}", response_class=HTMLResponse)
def ticket_page(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """A ticket: fields, messages, events, suggested articles, links, relations and the actions it allows."""
    if principal is None:
        return _login(request)
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        master = session.get(Ticket, ticket.master_id) if ticket.master_id else None
        original = session.get(Ticket, ticket.recurrence_of_id) if ticket.recurrence_of_id else None
        draft = session.scalar(select(TicketDraft).where(TicketDraft.ticket_id == ticket.id))
        now = utcnow()
        sla = sla_view(session, ticket, now, rules_from(services.settings))
        context: dict[str, Any] = {
            "ticket": ticket,
            "messages": tickets.messages(session, ticket),
            "events": tickets.events(session, ticket),
            "links": tickets.links(session, ticket),
            "allowed": lifecycle.allowed_actions(ticket.status),
            "master": master.number if master else None,
            "duplicates": tickets.duplicates_of(session, ticket),
            "recurrence_of": original.number if original else None,
            "possible_duplicates": [] if master else tickets.possible_duplicates(session, ticket),
            "draft": draft,
            "sla": sla,
            "sla_badges": {kind: clock_badge(sla, kind, now) for kind in ("response", "resolution")},
            "escalation_level": escalation_level(sla),
            "tz": SHANGHAI,
            "survey_url": request.query_params.get("survey"),
            "notice": request.query_params.get("notice"),
        }
    try:
        suggested = workflow.suggestions(services, principal, number, 5)
        context["suggestions"], context["suggestion_error"] = suggested.hits, None
    except KBError as exc:
        context["suggestions"], context["suggestion_error"] = [], exc.message
    return _render(request, "ticket.html", principal, **context)


@router.post("/tickets/{number}/messages")
async def message_submit(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Add a reply or internal note."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    form = await request.form()
    data = tickets.validated(
        MessageCreate, {"body": str(form.get("body", "")), "internal": form.get("internal") == "yes"}
    )
    await run_in_threadpool(_in_session, services, tickets.add_message, number, data, principal)
    return RedirectResponse(f"/tickets/{number}#messages", status_code=303)


@router.post("/tickets/{number}/links")
async def link_submit(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Link a suggested article (solved / related)."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    form = await request.form()
    data = tickets.validated(LinkCreate, {"slug": str(form.get("slug", "")), "relation": str(form.get("relation", ""))})
    await run_in_threadpool(_in_session, services, tickets.link_article, number, data, principal)
    return RedirectResponse(f"/tickets/{number}?notice=linked", status_code=303)


@router.post("/tickets/{number}/transition")
async def transition_submit(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Any lifecycle action, including the closure dialog's resolution."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    form = await request.form()
    values: dict[str, Any] = {k: str(v) for k, v in form.items() if str(v).strip()}
    data = tickets.validated(TicketTransition, values)
    result = await run_in_threadpool(workflow.transition, services, number, data, principal)
    target = f"/tickets/{number}" + (f"?{urlencode({'survey': result.survey_url})}" if result.survey_url else "")
    return RedirectResponse(target, status_code=303)


@router.post("/tickets/{number}/duplicate")
async def duplicate_submit(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Mark as a duplicate of a master ticket."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    master = str((await request.form()).get("master", "")).strip()
    if not master:
        raise InvalidInput("请填写主事件工单号")
    await run_in_threadpool(_in_session, services, tickets.mark_duplicate, number, master, principal)
    return RedirectResponse(f"/tickets/{number}", status_code=303)


@router.post("/tickets/{number}/recurrence")
async def recurrence_submit(number: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Report that the problem came back: a new linked ticket."""
    if principal is None:
        return _login(request)
    check_same_origin(request)

    def report() -> str:
        with services.db.session() as session:
            return tickets.report_recurrence(session, number, principal, _policy(services)).number

    new_number = await run_in_threadpool(report)
    return RedirectResponse(f"/tickets/{new_number}", status_code=303)


def _in_session(services: Services, action: Any, *args: Any) -> None:
    with services.db.session() as session:
        action(session, *args)
