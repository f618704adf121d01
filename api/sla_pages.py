"""SLA admin pages (Chinese UI, admins only): policies, calendars with their holiday files, support groups."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import PurePath
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import PagePrincipal, ServicesDep
from api.pages import TEMPLATES, check_same_origin
from kb.auth.permissions import Principal, check_admin
from kb.context import Services
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, KBError, NotFound
from kb.sla import calendar_admin, policies, registry
from kb.sla.builtin import builtin_calendars
from kb.sla.calendar import BusinessCalendar
from kb.sla.custom import HOLIDAY_SOURCES, WEEKDAY_LABELS, week_json
from kb.sla.daysfile import FORMATS, read_days
from kb.sla.explain import format_minutes
from kb.sla.models import CalendarYear, SlaCalendar
from kb.sla.policies import PRIORITIES, PolicyInput
from kb.sla.policy import DEFAULT_POLICIES, Policy
from kb.sla.registry import calendar_warning
from kb.ticket import groups
from kb.ticket.models import TIERS

router = APIRouter(include_in_schema=False)
HOLIDAY_LABELS = {"cn": "中国大陆节假日与调休", "none": "不计节假日"}
FIELD_LABELS = {
    "priority": "优先级",
    "category": "分类",
    "customer": "客户",
    "response_minutes": "响应目标（分钟）",
    "response_calendar": "响应日历",
    "resolution_minutes": "解决目标（分钟）",
    "resolution_calendar": "解决日历",
    "escalate_at": "升级阈值（%）",
    "version": "版本号",
    "name": "名称",
    "zone": "时区",
    "holidays": "节假日",
    "description": "说明",
    "week": "每周工作时间",
    "tier": "层级",
    "lead": "组长",
    "manager": "经理",
    "escalates_to": "升级到",
    "format": "文件格式",
}
NOTICES = {"created": "已新建", "updated": "已保存", "deleted": "已删除", "days": "已导入节假日文件"}


# --- form helpers ---------------------------------------------------------------------------------------------

_WEEK_FIELD = re.compile(r"^week\.(\d)(?:\[(\d+)\])?$")
_BLOCK = re.compile(r"^(\S+?)\s*[-–—~～至]\s*(\S+)$")
_WHOLE = re.compile(r"^\d{1,9}$")


def _field_label(field: str) -> str:
    match = _WEEK_FIELD.match(field)
    if match:
        day = WEEKDAY_LABELS[int(match.group(1))]
        return day + (f"第 {int(match.group(2)) + 1} 个时段" if match.group(2) is not None else "")
    return FIELD_LABELS.get(field, field)


def describe(exc: KBError) -> str:
    """The domain's message with its field named in Chinese ("week.0[0]：…" becomes "周一第 1 个时段：…")."""
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    if isinstance(field, str) and exc.message.startswith(f"{field}："):
        return f"{_field_label(field)}：{exc.message[len(field) + 1 :]}"
    return exc.message


def _text(values: Mapping[str, Any], name: str, limit: int = 100) -> str:
    text = str(values.get(name, "") or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{name}：最多 {limit} 个字符", details={"field": name})
    return text


def _whole(values: Mapping[str, Any], name: str) -> int:
    text = _text(values, name)
    if not text:
        raise InvalidInput(f"{name}：必填", details={"field": name})
    if not _WHOLE.match(text):
        raise InvalidInput(f"{name}：“{text}”不是整数", details={"field": name})
    return int(text)


def _version(values: Mapping[str, Any]) -> int | None:
    text = _text(values, "version")
    return _whole(values, "version") if text else None


def parse_week_text(values: Mapping[str, Any]) -> dict[str, list[list[str]]]:
    """Weekday fields ``week_0``..``week_6`` written as "09:00-12:00,13:30-18:00" → the calendar's week JSON."""
    week: dict[str, list[list[str]]] = {}
    for day in range(7):
        pieces = [p.strip() for p in re.split(r"[,，、;；]", _text(values, f"week_{day}", 200)) if p.strip()]
        blocks = []
        for index, piece in enumerate(pieces):
            match = _BLOCK.match(piece)
            if match is None:
                raise InvalidInput(
                    f"week.{day}[{index}]：“{piece}”应写成 HH:MM-HH:MM，多个时段用逗号分隔",
                    details={"field": f"week.{day}[{index}]"},
                )
            blocks.append([match.group(1), match.group(2)])
        if blocks:
            week[str(day)] = blocks
    return week


def week_text(calendar: BusinessCalendar) -> str:
    """Weekly working hours, consecutive days with the same blocks together ("周一至周五 09:00-12:00,…")."""
    week = week_json(calendar)
    runs: list[list[Any]] = []
    for day in range(7):
        text = ",".join(f"{start}-{end}" for start, end in week.get(str(day), [])) or "休息"
        if runs and runs[-1][2] == text:
            runs[-1][1] = day
        else:
            runs.append([day, day, text])
    return "；".join(f"{WEEKDAY_LABELS[a]}{'' if a == b else '至' + WEEKDAY_LABELS[b]} {text}" for a, b, text in runs)


def year_ranges(years: frozenset[int] | set[int] | None) -> str:
    """Years as ranges ("2004–2026、2028"); "—" when none."""
    if not years:
        return "—"
    ordered, runs = sorted(years), []
    start = previous = ordered[0]
    for year in [*ordered[1:], None]:
        if year is not None and year == previous + 1:
            previous = year
            continue
        runs.append(str(start) if start == previous else f"{start}–{previous}")
        if year is not None:
            start = previous = year
    return "、".join(runs)


# --- rendering and submitting ------------------------------------------------------------------------------------


def _login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def _policies_context(session: Session, form: Mapping[str, Any]) -> dict[str, Any]:
    rows = {row.id: row for row in policies.stored(session)}
    blank = {"priority": "P3", "response_calendar": "cn-business", "resolution_calendar": "cn-business"}
    return {
        "policies": policies.in_force(session),
        "stored": rows,
        "calendars": sorted(registry.calendars(session)),
        "priorities": PRIORITIES,
        "form": {"escalate_at": "100", **blank, **form},
        "format_minutes": format_minutes,
    }


def _calendars_context(session: Session, form: Mapping[str, Any]) -> dict[str, Any]:
    shipped = builtin_calendars()
    custom_rows = {row.name: row for row in session.scalars(select(SlaCalendar))}
    loaded: dict[str, set[int]] = {}
    for name, year in session.execute(select(CalendarYear.calendar, CalendarYear.year)):
        loaded.setdefault(name, set()).add(year)
    year = utcnow().year
    rows = []
    for name, calendar in sorted(
        registry.calendars(session).items(), key=lambda item: (item[0] not in shipped, item[0])
    ):
        row = custom_rows.get(name)
        rows.append(
            {
                "name": name,
                "zone": calendar.zone,
                "hours": week_text(calendar),
                "holidays": "无（全天候或不计节假日）" if calendar.known_years is None else HOLIDAY_LABELS["cn"],
                "known_years": year_ranges(calendar.known_years),
                "loaded_years": year_ranges(loaded.get(name)),
                "warning": calendar_warning(calendar, year),
                "builtin": name in shipped,
                "description": row.description if row else "内置日历",
                "uploadable": calendar.known_years is not None,
            }
        )
    blank = {"zone": "Asia/Shanghai", "holidays": "none"}
    return {
        "calendars": rows,
        "holiday_sources": HOLIDAY_SOURCES,
        "holiday_labels": HOLIDAY_LABELS,
        "weekdays": WEEKDAY_LABELS,
        "formats": FORMATS,
        "form": {**blank, **form},
    }


def _groups_context(session: Session, form: Mapping[str, Any]) -> dict[str, Any]:
    return {"groups": groups.list_groups(session), "tiers": TIERS, "form": {"tier": "L1", **form}}


SECTIONS: dict[str, Callable[[Session, Mapping[str, Any]], dict[str, Any]]] = {
    "policies": _policies_context,
    "calendars": _calendars_context,
    "groups": _groups_context,
}
Action = Callable[[Session, Mapping[str, Any], Principal], str]


def _section(
    request: Request,
    session: Session,
    principal: Principal,
    section: str,
    form: Mapping[str, Any],
    *,
    error: str | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    context = SECTIONS[section](session, {k: v for k, v in form.items() if isinstance(v, str)})
    years = request.query_params.get("years", "")
    message = NOTICES.get(notice)
    if message and notice == "days" and re.fullmatch(r"\d{4}(,\d{4})*", years):
        message += f"：{years.replace(',', '、')} 年"
    values = {"principal": principal, "section": section, "error": error, "notice": message, **context}
    return TEMPLATES.TemplateResponse(request, f"sla_{section}.html", values, status_code=status_code)


def _show(
    request: Request, services: Services, principal: Principal | None, section: str, form: Callable[[Session], Any]
) -> Response:
    if principal is None:
        return _login(request)
    check_admin(principal, "维护 SLA 设置")
    with services.db.session(write=False) as session:
        return _section(
            request, session, principal, section, form(session), notice=request.query_params.get("notice", "")
        )


def _apply(
    request: Request, services: Services, principal: Principal, section: str, action: Action, values: dict[str, Any]
) -> Response:
    try:
        with services.db.session() as session:
            notice = action(session, values, principal)
    except (InvalidInput, Conflict, NotFound) as exc:
        with services.db.session(write=False) as session:
            return _section(
                request, session, principal, section, values, error=describe(exc), status_code=exc.status_code
            )
    return RedirectResponse(f"/admin/sla/{section}?{notice}", status_code=303)


async def _submit(
    request: Request, services: Services, principal: Principal | None, section: str, action: Action
) -> Response:
    """Run ``action`` on the posted form; a refused change re-renders the page with the reason and saves nothing."""
    if principal is None:
        return _login(request)
    check_same_origin(request)
    check_admin(principal, "维护 SLA 设置")
    form = await request.form()
    try:
        values = dict(form.items())
        return await run_in_threadpool(_apply, request, services, principal, section, action, values)
    finally:
        await form.close()


# --- policies ---------------------------------------------------------------------------------------------


def _policy_form(policy: Policy, version: int | None = None) -> dict[str, str]:
    return {
        "priority": policy.priority,
        "category": policy.category,
        "customer": policy.customer,
        "response_minutes": str(policy.response.minutes),
        "response_calendar": policy.response.calendar,
        "resolution_minutes": str(policy.resolution.minutes),
        "resolution_calendar": policy.resolution.calendar,
        "escalate_at": str(policy.escalate_at),
        "id": "" if policy.id is None else str(policy.id),
        "version": "" if version is None else str(version),
    }


def _policy_input(values: Mapping[str, Any]) -> PolicyInput:
    return PolicyInput(
        priority=_text(values, "priority"),
        category=_text(values, "category"),
        customer=_text(values, "customer"),
        response_minutes=_whole(values, "response_minutes"),
        response_calendar=_text(values, "response_calendar"),
        resolution_minutes=_whole(values, "resolution_minutes"),
        resolution_calendar=_text(values, "resolution_calendar"),
        escalate_at=_whole(values, "escalate_at"),
    )


@router.get("/admin/sla/policies", response_class=HTMLResponse)
def policies_page(
    request: Request, services: ServicesDep, principal: PagePrincipal, edit: int | None = None, override: str = ""
) -> Response:
    """Admins: the SLA policies in force, and the form to add, override (built-in) or change one."""

    def form(session: Session) -> dict[str, str]:
        if edit is not None:
            row = policies.get(session, edit)
            found = next(p for p in policies.in_force(session) if p.id == row.id)
            return _policy_form(found, row.version)
        if override in DEFAULT_POLICIES:
            return _policy_form(DEFAULT_POLICIES[override])
        return {}

    return _show(request, services, principal, "policies", form)


@router.post("/admin/sla/policies")
async def policy_create(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Store a new (or overriding) policy from the form."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        policies.create(session, _policy_input(values), who)
        return "notice=created"

    return await _submit(request, services, principal, "policies", action)


@router.post("/admin/sla/policies/{policy_id}")
async def policy_update(policy_id: int, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Change a stored policy (refused when someone else changed it since the form was shown)."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        policies.update_policy(session, policy_id, asdict(_policy_input(values)), who, _version(values))
        return "notice=updated"

    return await _submit(request, services, principal, "policies", action)


@router.post("/admin/sla/policies/{policy_id}/delete")
async def policy_delete(policy_id: int, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Remove a stored policy (a base one falls back to the built-in default)."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        policies.delete(session, policy_id, who)
        return "notice=deleted"

    return await _submit(request, services, principal, "policies", action)


# --- calendars ----------------------------------------------------------------------------------------------


def _calendar_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "zone": _text(values, "zone", 64),
        "holidays": _text(values, "holidays"),
        "description": _text(values, "description", 300),
        "week": parse_week_text(values),
    }


@router.get("/admin/sla/calendars", response_class=HTMLResponse)
def calendars_page(request: Request, services: ServicesDep, principal: PagePrincipal, edit: str = "") -> Response:
    """Admins: calendars with hours, holiday data and missing-year warnings; create, change, delete, load holidays."""

    def form(session: Session) -> dict[str, str]:
        if not edit:
            return {}
        row = calendar_admin.get(session, edit)
        days = {day: ",".join(f"{a}-{b}" for a, b in blocks) for day, blocks in row.week.items()}
        values = {"name": row.name, "zone": row.zone, "holidays": row.holidays, "description": row.description}
        return {**values, **{f"week_{day}": days.get(str(day), "") for day in range(7)}, "version": str(row.version)}

    return _show(request, services, principal, "calendars", form)


@router.post("/admin/sla/calendars")
async def calendar_create(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Define a custom calendar from the form."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        calendar_admin.create(session, {"name": _text(values, "name"), **_calendar_values(values)}, who)
        return "notice=created"

    return await _submit(request, services, principal, "calendars", action)


@router.post("/admin/sla/calendars/{name}")
async def calendar_update(name: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Change a custom calendar (refused when someone else changed it since the form was shown)."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        calendar_admin.update(session, name, _calendar_values(values), who, _version(values))
        return "notice=updated"

    return await _submit(request, services, principal, "calendars", action)


@router.post("/admin/sla/calendars/{name}/delete")
async def calendar_delete(name: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Remove a custom calendar no policy uses."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        calendar_admin.delete(session, name, who)
        return "notice=deleted"

    return await _submit(request, services, principal, "calendars", action)


def _days_format(values: Mapping[str, Any], filename: str) -> str:
    chosen = _text(values, "format")
    if chosen:
        return chosen
    suffix = PurePath(filename).suffix.lower().lstrip(".")
    guessed = {"yml": "yaml", "yaml": "yaml", "csv": "csv", "ics": "ics"}.get(suffix)
    if guessed is None:
        raise InvalidInput(
            f"format：无法从文件名“{filename}”判断格式，请选择 {'、'.join(FORMATS)}", details={"field": "format"}
        )
    return guessed


@router.post("/admin/sla/calendars/{name}/days")
async def calendar_days(name: str, request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Load a year's holidays and make-up workdays from an uploaded YAML, CSV or iCalendar file."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        upload = values.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("请选择要上传的节假日文件（yaml、csv 或 ics）")
        filename = upload.filename[:200]
        try:
            text = upload.file.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{filename}：文件不是 UTF-8 编码") from None
        entries = read_days(text, _days_format(values, filename), filename)
        years = registry.load_days(session, name, entries, who)
        return urlencode({"notice": "days", "years": ",".join(str(y) for y in years)})

    return await _submit(request, services, principal, "calendars", action)


# --- support groups ----------------------------------------------------------------------------------------


def _group_values(values: Mapping[str, Any]) -> dict[str, str]:
    return {name: _text(values, name) for name in groups.FIELDS}


@router.get("/admin/sla/groups", response_class=HTMLResponse)
def groups_page(request: Request, services: ServicesDep, principal: PagePrincipal, edit: str = "") -> Response:
    """Admins: support groups with tier, lead, manager and where they escalate to."""

    def form(session: Session) -> dict[str, str]:
        if not edit:
            return {}
        group = groups.get_group(session, edit)
        return {"name": group.name, "original": group.name, **{f: getattr(group, f) for f in groups.FIELDS}}

    return _show(request, services, principal, "groups", form)


@router.post("/admin/sla/groups")
async def group_create(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Create a support group (refused when the name is taken) or save the one being edited."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        original = _text(values, "original")
        if original:
            groups.get_group(session, original)
            groups.put_group(session, original, _group_values(values), who)
            return "notice=updated"
        name = _text(values, "name")
        if name and name in {g.name for g in groups.list_groups(session)}:
            raise Conflict(f"name：支持组“{name}”已存在，请在列表中编辑它", details={"field": "name"})
        groups.put_group(session, name, _group_values(values), who)
        return "notice=created"

    return await _submit(request, services, principal, "groups", action)


@router.post("/admin/sla/groups/delete")
async def group_delete(request: Request, services: ServicesDep, principal: PagePrincipal) -> Response:
    """Remove a support group no other group escalates to."""

    def action(session: Session, values: Mapping[str, Any], who: Principal) -> str:
        groups.delete_group(session, _text(values, "name"), who)
        return "notice=deleted"

    return await _submit(request, services, principal, "groups", action)
