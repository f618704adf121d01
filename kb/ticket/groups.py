"""Support groups: tier, lead, manager and the group tickets escalate to; admin-maintained, audited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound
from kb.ticket.models import TIERS, SupportGroup

FIELDS = ("tier", "lead", "manager", "escalates_to")


def _snapshot(group: SupportGroup) -> dict[str, Any]:
    return {"name": group.name, **{name: getattr(group, name) for name in FIELDS}}


def list_groups(session: Session) -> list[SupportGroup]:
    """Every support group by name."""
    return list(session.scalars(select(SupportGroup).order_by(SupportGroup.name)))


def get_group(session: Session, name: str) -> SupportGroup:
    """A group or 404."""
    group = session.scalar(select(SupportGroup).where(SupportGroup.name == name))
    if group is None:
        raise NotFound(f"没有名为“{name}”的支持组")
    return group


def put_group(session: Session, name: str, values: Mapping[str, Any], principal: Principal) -> SupportGroup:
    """Create or replace a group's settings; audited."""
    check_admin(principal, "维护支持组")
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("name：支持组名称不能为空，最多 100 个字符", details={"field": "name"})
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"未知字段：{', '.join(unknown)}", details={"field": unknown[0]})
    tier = values.get("tier", "L1")
    if tier not in TIERS:
        raise InvalidInput(f"tier：只能是 {'、'.join(TIERS)}", details={"field": "tier"})
    target = str(values.get("escalates_to", "") or "")
    if target == name:
        raise InvalidInput("escalates_to：不能升级到本组", details={"field": "escalates_to"})
    if target and session.scalar(select(SupportGroup.id).where(SupportGroup.name == target)) is None:
        raise InvalidInput(f"escalates_to：没有名为“{target}”的支持组", details={"field": "escalates_to"})
    group = session.scalar(select(SupportGroup).where(SupportGroup.name == name))
    before = None if group is None else _snapshot(group)
    if group is None:
        group = SupportGroup(name=name)
        session.add(group)
    group.tier, group.escalates_to = tier, target
    group.lead, group.manager = str(values.get("lead", "") or ""), str(values.get("manager", "") or "")
    group.updated_by, group.updated_at = principal.name, utcnow()
    session.flush()
    audit.record(
        session, actor=principal.name, action="ticket.group_put", entity_type="support_group",
        entity_id=name, before=before, after=_snapshot(group),
    )  # fmt: skip
    return group


def delete_group(session: Session, name: str, principal: Principal) -> None:
    """Remove a group no other group escalates to (409 otherwise); audited."""
    check_admin(principal, "维护支持组")
    group = get_group(session, name)
    sources = session.scalars(select(SupportGroup.name).where(SupportGroup.escalates_to == name)).all()
    if sources:
        raise Conflict(f"支持组 {'、'.join(sources)} 升级到“{name}”，请先修改它们", details={"field": "name"})
    audit.record(
        session, actor=principal.name, action="ticket.group_delete", entity_type="support_group",
        entity_id=name, before=_snapshot(group), after=None,
    )  # fmt: skip
    session.delete(group)
