"""SLA policies in force: the built-in defaults per priority, overridden and narrowed by admin-stored policies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound
from kb.sla import registry
from kb.sla.models import SlaPolicy, TicketSla
from kb.sla.policy import DEFAULT_POLICIES, Policy, Target

PRIORITIES = ("P1", "P2", "P3", "P4")
MAX_TARGET_MINUTES = 366 * 24 * 60


def as_policy(row: SlaPolicy) -> Policy:
    """A stored policy row as a Policy."""
    return Policy(
        row.priority,
        Target(row.response_minutes, row.response_calendar),
        Target(row.resolution_minutes, row.resolution_calendar),
        category=row.category,
        customer=row.customer,
        escalate_at=row.escalate_at,
        id=row.id,
    )


def stored(session: Session) -> list[SlaPolicy]:
    """Every admin-stored policy row."""
    return list(session.scalars(select(SlaPolicy).order_by(SlaPolicy.priority, SlaPolicy.category, SlaPolicy.customer)))


def in_force(session: Session) -> list[Policy]:
    """Base policies (stored or built in) for every priority, then the narrowed ones."""
    rows = [as_policy(row) for row in stored(session)]
    base = {p.priority: p for p in rows if not p.category and not p.customer}
    found = [base.get(priority, DEFAULT_POLICIES[priority]) for priority in PRIORITIES]
    return found + [p for p in rows if p.category or p.customer]


def _specificity(policy: Policy) -> int:
    return (2 if policy.customer else 0) + (1 if policy.category else 0)


def for_ticket(policies: Sequence[Policy], category: str, customer: str) -> dict[str, Policy]:
    """The policy of each priority for a ticket: the most specific one matching its category and customer."""
    chosen: dict[str, Policy] = {}
    for policy in policies:
        if policy.category and policy.category != category:
            continue
        if policy.customer and policy.customer != customer:
            continue
        current = chosen.get(policy.priority)
        if current is None or _specificity(policy) > _specificity(current):
            chosen[policy.priority] = policy
    return chosen


@dataclass(frozen=True)
class PolicyInput:
    """An admin's policy as submitted."""

    priority: str
    response_minutes: int
    response_calendar: str
    resolution_minutes: int
    resolution_calendar: str
    category: str = ""
    customer: str = ""
    escalate_at: int = 100


def _validate(session: Session, data: PolicyInput) -> None:
    if data.priority not in PRIORITIES:
        raise InvalidInput(f"优先级只能是 {'、'.join(PRIORITIES)}", details={"field": "priority"})
    for field in ("response_minutes", "resolution_minutes"):
        value = getattr(data, field)
        if not 0 < value <= MAX_TARGET_MINUTES:
            raise InvalidInput(f"{field}：目标必须在 1 到 {MAX_TARGET_MINUTES} 分钟之间", details={"field": field})
    if not 1 <= data.escalate_at <= 100:
        raise InvalidInput("escalate_at：升级阈值必须是 1–100 的百分比", details={"field": "escalate_at"})
    available = registry.calendars(session)
    for field in ("response_calendar", "resolution_calendar"):
        name = getattr(data, field)
        if name not in available:
            raise InvalidInput(
                f"{field}：没有名为“{name}”的日历，可用：{', '.join(sorted(available))}", details={"field": field}
            )


def replay_all(session: Session) -> None:
    """Make the scheduler re-evaluate every ticket (after a policy or calendar change)."""
    session.execute(update(TicketSla).values(next_check_at=utcnow()))


def _snapshot(row: SlaPolicy) -> dict[str, Any]:
    return {**asdict(as_policy(row)), "version": row.version}


def create(session: Session, data: PolicyInput, principal: Principal) -> SlaPolicy:
    """Store a new policy (409 if one exists for the same priority, category and customer); audited."""
    check_admin(principal, "维护 SLA 策略")
    _validate(session, data)
    existing = session.scalar(
        select(SlaPolicy).where(
            SlaPolicy.priority == data.priority,
            SlaPolicy.category == data.category,
            SlaPolicy.customer == data.customer,
        )
    )
    if existing is not None:
        raise Conflict(f"已有相同优先级、分类和客户的策略（编号 {existing.id}），请修改它", details={"id": existing.id})
    row = SlaPolicy(**asdict(data), updated_by=principal.name, updated_at=utcnow())
    session.add(row)
    session.flush()
    audit.record(
        session, actor=principal.name, action="sla.policy_create", entity_type="sla_policy",
        entity_id=str(row.id), before=None, after=_snapshot(row),
    )  # fmt: skip
    replay_all(session)
    return row


def get(session: Session, policy_id: int) -> SlaPolicy:
    """A stored policy or 404."""
    row = session.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"没有编号为 {policy_id} 的 SLA 策略")
    return row


def update_policy(
    session: Session, policy_id: int, changes: Mapping[str, Any], principal: Principal, expected_version: int | None
) -> SlaPolicy:
    """Change a stored policy (optimistic locking with ``expected_version``); audited, tickets replayed."""
    check_admin(principal, "维护 SLA 策略")
    row = get(session, policy_id)
    if expected_version is not None and expected_version != row.version:
        raise Conflict(f"策略已被他人修改（当前版本 {row.version}），请刷新后重试", details={"version": row.version})
    before = _snapshot(row)
    unknown = sorted(set(changes) - set(PolicyInput.__dataclass_fields__))
    if unknown:
        raise InvalidInput(f"不能修改的字段：{', '.join(unknown)}", details={"field": unknown[0]})
    data = PolicyInput(**{k: changes.get(k, getattr(row, k)) for k in PolicyInput.__dataclass_fields__})
    _validate(session, data)
    clash = session.scalar(
        select(SlaPolicy).where(
            SlaPolicy.id != row.id,
            SlaPolicy.priority == data.priority,
            SlaPolicy.category == data.category,
            SlaPolicy.customer == data.customer,
        )
    )
    if clash is not None:
        raise Conflict(f"已有相同优先级、分类和客户的策略（编号 {clash.id}）", details={"id": clash.id})
    for key, value in asdict(data).items():
        setattr(row, key, value)
    row.version += 1
    row.updated_by, row.updated_at = principal.name, utcnow()
    audit.record(
        session, actor=principal.name, action="sla.policy_update", entity_type="sla_policy",
        entity_id=str(row.id), before=before, after=_snapshot(row),
    )  # fmt: skip
    replay_all(session)
    return row


def delete(session: Session, policy_id: int, principal: Principal) -> None:
    """Remove a stored policy (a base one falls back to the built-in default); audited, tickets replayed."""
    check_admin(principal, "维护 SLA 策略")
    row = get(session, policy_id)
    audit.record(
        session, actor=principal.name, action="sla.policy_delete", entity_type="sla_policy",
        entity_id=str(row.id), before=_snapshot(row), after=None,
    )  # fmt: skip
    session.delete(row)
    replay_all(session)


def calendars_in_use(session: Session) -> set[str]:
    """Calendars any policy in force refers to."""
    return {target.calendar for p in in_force(session) for target in (p.response, p.resolution)}
