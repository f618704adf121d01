"""Prometheus Alertmanager receiver: a firing alert series opens one ticket; repeats and resolutions add to it.

The series is the alert's ``fingerprint`` (Alertmanager's hash of its labels); HA pairs of Alertmanagers send the
same notification twice, which is just another repeat of the series.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kb.auth.permissions import ENGINEER, Principal
from kb.db import utcnow
from kb.ticket import service as tickets
from kb.ticket.classify import Proposal
from kb.ticket.models import OPEN_STATUSES, Ticket, TicketMessage
from kb.ticket.schemas import TicketCreate, TicketTransition
from kb.ticket.service import TicketPolicy

PRIORITY_LEVELS = {"P1": ("high", "high"), "P2": ("high", "medium"), "P3": ("medium", "medium"), "P4": ("low", "low")}


class Alert(BaseModel):
    """One alert of a version-4 webhook payload."""

    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = Field(default="", max_length=200)


class AlertmanagerPayload(BaseModel):
    """Alertmanager's webhook body (version 4)."""

    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    groupKey: str = Field(max_length=2000)
    status: Literal["firing", "resolved"]
    receiver: str = ""
    alerts: list[Alert] = Field(min_length=1, max_length=1000)
    externalURL: str = ""


def series_key(alert: Alert, group_key: str) -> str:
    """The alert series: its fingerprint, or (older senders) its sorted labels within the group."""
    if alert.fingerprint:
        return alert.fingerprint
    labels = ",".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    return f"{group_key}|{labels}"[:200]


def ticket_text(alert: Alert) -> tuple[str, str]:
    """(title, description) of a ticket for ``alert``: summary, description and every label, searchable at once."""
    name = alert.labels.get("alertname", "告警")
    where = alert.labels.get("instance") or alert.labels.get("job") or ""
    title = alert.annotations.get("summary") or f"{name} {where}".strip()
    lines = [alert.annotations.get("description", ""), ""]
    lines += [f"{key}: {value}" for key, value in sorted(alert.labels.items())]
    lines += [
        f"{key}: {value}" for key, value in sorted(alert.annotations.items()) if key not in ("summary", "description")
    ]
    if alert.generatorURL:
        lines.append(f"来源: {alert.generatorURL}")
    return f"[告警] {title}"[:300], "\n".join(lines).strip()


_ALERT_LOCK_KEY = 72_707_002


def _open_ticket_for(session: Session, key: str) -> Ticket | None:
    if session.get_bind().dialect.name == "postgresql":
        # HA Alertmanagers deliver the same notification at the same moment: one series opens one ticket.
        # (SQLite already serialises writers with BEGIN IMMEDIATE.)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ALERT_LOCK_KEY})
    return session.scalar(
        select(Ticket)
        .where(Ticket.alert_fingerprint == key, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )


def receive(
    session: Session,
    payload: AlertmanagerPayload,
    principal: Principal,
    policy: TicketPolicy,
    *,
    severity_priority: dict[str, str],
    auto_resolve: bool,
    propose: Any = None,
) -> list[dict[str, str]]:
    """Apply every alert of a notification; returns what happened to each (ticket number and outcome)."""
    actor = Principal(principal.name, ENGINEER)
    outcomes: list[dict[str, str]] = []
    for alert in payload.alerts:
        key = series_key(alert, payload.groupKey)
        ticket = _open_ticket_for(session, key)
        if alert.status == "firing":
            if ticket is None:
                ticket = _open(session, alert, key, principal, policy, severity_priority, propose)
                outcomes.append({"ticket": ticket.number, "outcome": "opened"})
            else:
                tickets.record_event(session, ticket, principal.name, "alert_repeat", "fingerprint", None, key)
                outcomes.append({"ticket": ticket.number, "outcome": "repeat"})
            continue
        if ticket is None:
            outcomes.append({"ticket": "", "outcome": "ignored"})
            continue
        ended = alert.endsAt.isoformat() if alert.endsAt else utcnow().isoformat()
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author=principal.name,
                internal=True,
                body=f"告警已恢复（{ended}）。",
                created_at=utcnow(),
            )
        )
        tickets.record_event(session, ticket, principal.name, "alert_resolved", "fingerprint", None, key)
        if auto_resolve:
            transition = TicketTransition(
                action="resolve", resolution_code="alert_resolved", resolution_notes=f"告警已自动恢复（{ended}）。"
            )
            tickets.transition(session, ticket.number, transition, actor, policy)
            outcomes.append({"ticket": ticket.number, "outcome": "resolved"})
        else:
            outcomes.append({"ticket": ticket.number, "outcome": "noted"})
    return outcomes


def _open(
    session: Session,
    alert: Alert,
    key: str,
    principal: Principal,
    policy: TicketPolicy,
    severity_priority: dict[str, str],
    propose: Any,
) -> Ticket:
    title, description = ticket_text(alert)
    priority = severity_priority.get(alert.labels.get("severity", "").lower(), "P3")
    impact, urgency = PRIORITY_LEVELS[priority]
    data = TicketCreate(
        title=title,
        description=description,
        reporter_name="Alertmanager",
        channel="alert",
        impact=impact,  # type: ignore[arg-type]
        urgency=urgency,  # type: ignore[arg-type]
    )
    proposal: Proposal | None = propose(title, description) if propose is not None else None
    ticket = tickets.create_ticket(session, data, principal, policy, proposal=proposal)
    ticket.priority = priority
    ticket.alert_fingerprint = key
    return ticket
