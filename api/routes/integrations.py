"""Webhooks from other systems: ticket events (idempotent by key) and Prometheus Alertmanager."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from api.deps import ApiPrincipal, ServicesDep
from kb.auth.permissions import Principal
from kb.context import Services
from kb.exceptions import KBError, ServiceUnavailable
from kb.ticket import alerts, integration, workflow
from kb.ticket.alerts import AlertmanagerPayload
from kb.ticket.integration import TicketEventIn
from kb.ticket.service import TicketPolicy

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
ATTEMPTS = 5


def _after_commit(services: ServicesDep, resolved: bool) -> None:
    if resolved:
        workflow.produce_owed_drafts(services)


@router.post("/ticket-events", status_code=200)
def ticket_event(
    body: TicketEventIn,
    services: ServicesDep,
    principal: ApiPrincipal,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", description="同一事件重发时保持不变")] = "",
) -> Any:
    """created / updated / resolved / reopened from another ticket system; a repeated delivery has one effect."""
    policy = TicketPolicy.from_settings(services.settings)
    proposal = None
    if body.event == "created" and body.ticket.title:
        proposal = services.router.propose(body.ticket.title, body.ticket.description or "")
    for _attempt in range(ATTEMPTS):
        try:
            with services.db.session() as session:
                status, response = integration.ingest(session, idempotency_key, body, principal, policy, proposal)
            break
        except IntegrityError:
            # A concurrent delivery of the same key (or the same external ticket) committed first: replay it.
            continue
    else:
        raise ServiceUnavailable("并发投递冲突，请稍后重试")
    _after_commit(services, body.event == "resolved" and not response["replayed"])
    return JSONResponse(response, status_code=status)


@router.post("/alertmanager")
async def alertmanager(request: Request, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Prometheus Alertmanager webhook (version 4): firing opens or repeats, resolved notes (or resolves)."""
    try:
        payload = AlertmanagerPayload.model_validate_json(await request.body())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        raise KBError(f"Alertmanager 消息格式不正确：{problems}", status_code=400) from None
    return await run_in_threadpool(_receive_alerts, services, payload, principal)


def _receive_alerts(services: Services, payload: AlertmanagerPayload, principal: Principal) -> dict[str, Any]:
    settings = services.settings
    with services.db.session() as session:
        outcomes = alerts.receive(
            session,
            payload,
            principal,
            TicketPolicy.from_settings(settings),
            severity_priority=settings.alert_severity_priority,
            auto_resolve=settings.alert_auto_resolve,
            propose=services.router.propose,
        )
    _after_commit(services, any(o["outcome"] == "resolved" for o in outcomes))
    return {"alerts": outcomes}
