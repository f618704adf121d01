"""SLA administration and views: policies and calendars CRUD, support groups, breaching soon, per-ticket report."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ApiPrincipal, ServicesDep
from kb.db import utcnow
from kb.sla import calendar_admin, custom, policies, queries, registry
from kb.sla.policy import Policy
from kb.sla.registry import calendar_warning
from kb.ticket import groups
from kb.ticket import service as tickets

router = APIRouter(prefix="/api/v1/sla", tags=["sla"])
groups_router = APIRouter(prefix="/api/v1/groups", tags=["tickets"])


class PolicyIn(BaseModel):
    """A policy: targets for a priority, optionally only for a category and/or a customer."""

    model_config = ConfigDict(extra="forbid")

    priority: Literal["P1", "P2", "P3", "P4"]
    category: str = Field(default="", max_length=100, description="空表示所有分类")
    customer: str = Field(default="", max_length=100, description="空表示所有客户")
    response_minutes: int = Field(description="响应目标（分钟，按日历计工作时间）")
    response_calendar: str = Field(max_length=50)
    resolution_minutes: int = Field(description="解决目标（分钟，按日历计工作时间）")
    resolution_calendar: str = Field(max_length=50)
    escalate_at: int = Field(default=100, description="达到目标的百分之几时升级到下一支持层级（100 = 超时时）")


class PolicyPatch(BaseModel):
    """Fields to change; ``expected_version`` guards against overwriting someone else's change."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, max_length=100)
    customer: str | None = Field(default=None, max_length=100)
    priority: Literal["P1", "P2", "P3", "P4"] | None = None
    response_minutes: int | None = None
    response_calendar: str | None = Field(default=None, max_length=50)
    resolution_minutes: int | None = None
    resolution_calendar: str | None = Field(default=None, max_length=50)
    escalate_at: int | None = None
    expected_version: int | None = None


class PolicyOut(BaseModel):
    """A policy in force; ``id`` is null for a built-in default (create one for its priority to override it)."""

    id: int | None
    builtin: bool
    priority: str
    category: str
    customer: str
    response_minutes: int
    response_calendar: str
    resolution_minutes: int
    resolution_calendar: str
    escalate_at: int
    version: int | None


def _policy_out(policy: Policy, version: int | None = None) -> PolicyOut:
    return PolicyOut(
        id=policy.id,
        builtin=policy.id is None,
        priority=policy.priority,
        category=policy.category,
        customer=policy.customer,
        response_minutes=policy.response.minutes,
        response_calendar=policy.response.calendar,
        resolution_minutes=policy.resolution.minutes,
        resolution_calendar=policy.resolution.calendar,
        escalate_at=policy.escalate_at,
        version=version,
    )


@router.get("/policies", response_model=list[PolicyOut])
def list_policies(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """The policies in force: one base policy per priority (stored or built in), then the narrowed ones."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        versions = {row.id: row.version for row in policies.stored(session)}
        return [_policy_out(p, versions.get(p.id) if p.id else None) for p in policies.in_force(session)]


@router.post("/policies", response_model=PolicyOut, status_code=201)
def create_policy(body: PolicyIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: store a policy (for a priority alone it overrides the built-in default); clocks are replayed."""
    with services.db.session() as session:
        row = policies.create(session, policies.PolicyInput(**body.model_dump()), principal)
        return _policy_out(policies.as_policy(row), row.version)


@router.patch("/policies/{policy_id}", response_model=PolicyOut)
def update_policy(policy_id: int, body: PolicyPatch, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: change a stored policy; every ticket's clocks are recomputed with it."""
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with services.db.session() as session:
        row = policies.update_policy(session, policy_id, changes, principal, body.expected_version)
        return _policy_out(policies.as_policy(row), row.version)


@router.delete("/policies/{policy_id}", status_code=204)
def delete_policy(policy_id: int, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Admins: remove a stored policy (a base one falls back to the built-in default)."""
    with services.db.session() as session:
        policies.delete(session, policy_id, principal)
    return Response(status_code=204)


class CalendarIn(BaseModel):
    """A custom calendar: a time zone, weekly working blocks, and optionally mainland-China holidays."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=50, description="小写字母、数字、- 或 _，如 cn-extended")
    zone: str = Field(default="Asia/Shanghai", max_length=64)
    week: dict[str, list[list[str]]] = Field(
        description='星期（0 = 周一 … 6 = 周日）到时段列表，如 {"0": [["09:00", "12:00"], ["13:30", "18:00"]]}'
    )
    holidays: Literal["cn", "none"] = Field(default="none", description="cn：中国大陆节假日休息、调休日上班")
    description: str = Field(default="", max_length=300)


class CalendarPatch(BaseModel):
    """Fields to change on a custom calendar."""

    model_config = ConfigDict(extra="forbid")

    zone: str | None = Field(default=None, max_length=64)
    week: dict[str, list[list[str]]] | None = None
    holidays: Literal["cn", "none"] | None = None
    description: str | None = Field(default=None, max_length=300)
    expected_version: int | None = None


class CalendarDetail(BaseModel):
    """A calendar with its weekly hours, holiday data coverage and any warning."""

    name: str
    builtin: bool
    zone: str
    week: dict[str, list[list[str]]]
    known_years: list[int] | None
    holidays: int
    makeup_workdays: int
    warning: str | None
    version: int | None


def _calendar_detail(session: Any, name: str) -> CalendarDetail:
    calendar = registry.get_calendar(session, name)
    row = None if name in ("24x7", "cn-business") else calendar_admin.get(session, name)
    return CalendarDetail(
        name=name,
        builtin=row is None,
        zone=calendar.zone,
        week=custom.week_json(calendar),
        known_years=None if calendar.known_years is None else sorted(calendar.known_years),
        holidays=len(calendar.holidays),
        makeup_workdays=len(calendar.workdays),
        warning=calendar_warning(calendar, utcnow().year),
        version=None if row is None else row.version,
    )


@router.get("/calendars/{name}", response_model=CalendarDetail)
def get_calendar(name: str, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """One calendar with its weekly working hours."""
    with services.db.session(write=False) as session:
        return _calendar_detail(session, name)


@router.post("/calendars", response_model=CalendarDetail, status_code=201)
def create_calendar(body: CalendarIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: define a calendar (the shipped 24x7 and cn-business cannot be changed)."""
    with services.db.session() as session:
        calendar_admin.create(session, body.model_dump(), principal)
        session.flush()
        return _calendar_detail(session, body.name)


@router.patch("/calendars/{name}", response_model=CalendarDetail)
def update_calendar(name: str, body: CalendarPatch, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: change a custom calendar; every ticket's clocks are recomputed with it."""
    changes = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with services.db.session() as session:
        calendar_admin.update(session, name, changes, principal, body.expected_version)
        session.flush()
        return _calendar_detail(session, name)


@router.delete("/calendars/{name}", status_code=204)
def delete_calendar(name: str, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Admins: remove a custom calendar that no policy uses."""
    with services.db.session() as session:
        calendar_admin.delete(session, name, principal)
    return Response(status_code=204)


class AtRiskOut(BaseModel):
    """An open ticket and its clock due next; ``minutes_left`` is negative once breached."""

    number: str
    title: str
    priority: str
    assignment_group: str
    assignee: str
    tier: str
    clock: str
    state: str
    due_at: datetime
    minutes_left: float
    escalation_level: int


@router.get("/breaching", response_model=list[AtRiskOut])
def breaching(
    services: ServicesDep,
    principal: ApiPrincipal,
    within_minutes: float = Query(default=240, ge=0, le=525_600),
    limit: int = Query(default=100, ge=1, le=500),
) -> Any:
    """Open tickets breached or due within ``within_minutes``, least time left first (as of the last evaluation)."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        found = queries.breaching_soon(session, utcnow(), within_minutes, limit)
        return [
            AtRiskOut(
                number=r.ticket.number,
                title=r.ticket.title,
                priority=r.ticket.priority,
                assignment_group=r.ticket.assignment_group,
                assignee=r.ticket.assignee,
                tier=r.ticket.tier,
                clock=r.clock,
                state=r.state,
                due_at=r.due_at,
                minutes_left=r.minutes_left,
                escalation_level=r.escalation_level,
            )
            for r in found
        ]


REPORT_FIELDS = (
    "number", "priority", "category", "customer", "assignment_group", "status", "created_at",
    "responded_at", "resolved_at", "response_due_at", "resolution_due_at", "response_met", "resolution_met",
    "response_business_minutes", "resolution_business_minutes", "paused_minutes", "escalation_level",
)  # fmt: skip


@router.get("/report")
def report(
    services: ServicesDep,
    principal: ApiPrincipal,
    since: datetime | None = Query(default=None, description="创建时间下限（含），ISO 8601"),
    until: datetime | None = Query(default=None, description="创建时间上限（不含）"),
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Per-ticket SLA outcomes for reports: met/missed, business minutes to respond and resolve, pauses, escalation."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        rows = [
            {
                **{f: getattr(t, f) for f in ("number", "priority", "category", "customer", "assignment_group")},
                "status": t.status,
                "created_at": t.created_at,
                **{f: getattr(s, f) for f in REPORT_FIELDS if hasattr(s, f) and f not in ("priority",)},
            }
            for t, s in queries.report(session, since, until)
        ]
    if format == "json":
        return rows
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=REPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()})
    headers = {"Content-Disposition": 'attachment; filename="sla-report.csv"'}
    return Response("\ufeff" + buffer.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


class GroupIn(BaseModel):
    """A support group's tier, lead, manager and the group its tickets escalate to."""

    model_config = ConfigDict(extra="forbid")

    tier: Literal["L1", "L2", "L3"] = "L1"
    lead: str = Field(default="", max_length=100, description="组长（接收超时和升级通知）")
    manager: str = Field(default="", max_length=100, description="经理（接收超时和升级通知）")
    escalates_to: str = Field(default="", max_length=100, description="升级时转交的下一层级支持组，空表示只提升层级")


class GroupOut(GroupIn):
    """A support group."""

    name: str


@groups_router.get("", response_model=list[GroupOut])
def list_groups(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Every support group."""
    tickets.check_agent(principal)
    with services.db.session(write=False) as session:
        return [GroupOut.model_validate(group, from_attributes=True) for group in groups.list_groups(session)]


@groups_router.put("/{name}", response_model=GroupOut)
def put_group(name: str, body: GroupIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: create or replace a support group."""
    with services.db.session() as session:
        group = groups.put_group(session, name, body.model_dump(), principal)
        return GroupOut.model_validate(group, from_attributes=True)


@groups_router.delete("/{name}", status_code=204)
def delete_group(name: str, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Admins: remove a support group no other group escalates to."""
    with services.db.session() as session:
        groups.delete_group(session, name, principal)
    return Response(status_code=204)
