"""Notifications: the caller's in-app list, and (admins) outgoing webhooks, their delivery log and e-mail contacts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import ANONYMOUS, ApiPrincipal, ServicesDep
from kb.auth.permissions import Principal
from kb.exceptions import NotAuthenticated, NotFound
from kb.notify import contacts, inbox, service, webhooks
from kb.notify.models import OutboundDelivery
from kb.notify.schemas import (
    ContactIn,
    ContactRead,
    DeliveryRead,
    NotificationPage,
    NotificationRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookUpdate,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
contacts_router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

Limit = Annotated[int, Query(ge=1, le=200, description="每页条数")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="跳过的条数")]
SubscriptionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Webhook 订阅编号")]
ContactName = Annotated[str, Path(min_length=1, max_length=100, description="姓名（即令牌名称）")]


class ReadAllOut(BaseModel):
    """How many notifications were marked as read."""

    marked: int = Field(description="本次标为已读的通知数")


class DeliveryList(BaseModel):
    """A page of a webhook's delivery log, newest first."""

    total: int = Field(description="投递记录总数")
    items: list[DeliveryRead]


def _person(principal: Principal) -> Principal:
    if principal is ANONYMOUS:
        raise NotAuthenticated("查看通知需要登录：请在 Authorization 头中提供 Bearer 令牌")
    return principal


@router.get("", response_model=NotificationPage)
def list_notifications(
    services: ServicesDep,
    principal: ApiPrincipal,
    unread: Annotated[bool, Query(description="只列出未读通知")] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """The caller's own notifications, newest first, with the number still unread."""
    with services.db.session(write=False) as session:
        return inbox.list_notifications(session, _person(principal), unread_only=unread, limit=limit, offset=offset)


@router.post("/read-all", response_model=ReadAllOut)
def read_all(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Mark all of the caller's notifications as read."""
    with services.db.session() as session:
        return ReadAllOut(marked=inbox.mark_all_read(session, _person(principal)))


@router.post("/{notification_id}/read", response_model=NotificationRead)
def read_one(
    notification_id: Annotated[int, Path(ge=1, le=2**63 - 1, description="通知编号")],
    services: ServicesDep,
    principal: ApiPrincipal,
) -> Any:
    """Mark one of the caller's notifications as read (another person's is 404)."""
    with services.db.session() as session:
        return NotificationRead.model_validate(inbox.mark_read(session, notification_id, _person(principal)))


@webhooks_router.get("", response_model=list[WebhookRead])
def list_webhooks(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: every webhook subscription (secrets are never listed)."""
    with services.db.session(write=False) as session:
        return [WebhookRead.model_validate(row) for row in webhooks.list_webhooks(session, principal)]


@webhooks_router.post("", response_model=WebhookCreated, status_code=201)
def create_webhook(body: WebhookCreate, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: subscribe a URL to event kinds; the response carries the signing secret, shown only this once."""
    with services.db.session() as session:
        subscription, secret = webhooks.create_webhook(session, body, principal)
        return WebhookCreated(**WebhookRead.model_validate(subscription).model_dump(), secret=secret)


@webhooks_router.patch("/{subscription_id}", response_model=WebhookRead)
def update_webhook(
    subscription_id: SubscriptionId, body: WebhookUpdate, services: ServicesDep, principal: ApiPrincipal
) -> Any:
    """Admins: change the URL, the event kinds or whether the subscription is active."""
    with services.db.session() as session:
        return WebhookRead.model_validate(webhooks.update_webhook(session, subscription_id, body, principal))


@webhooks_router.delete("/{subscription_id}", status_code=204)
def delete_webhook(subscription_id: SubscriptionId, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Admins: remove a subscription and its delivery log."""
    with services.db.session() as session:
        webhooks.delete_webhook(session, subscription_id, principal)
    return Response(status_code=204)


@webhooks_router.get("/{subscription_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    subscription_id: SubscriptionId,
    services: ServicesDep,
    principal: ApiPrincipal,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Admins: the delivery log: status, attempts, last HTTP code and error, times."""
    with services.db.session(write=False) as session:
        total, rows = webhooks.list_deliveries(session, subscription_id, principal, limit=limit, offset=offset)
        return DeliveryList(total=total, items=[DeliveryRead.model_validate(row) for row in rows])


@webhooks_router.post("/{subscription_id}/test", response_model=DeliveryRead)
def test_webhook(subscription_id: SubscriptionId, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: send a signed ``test`` event now and return its delivery (a failure is retried like any other)."""
    with services.db.session() as session:
        delivery_id = webhooks.queue_test(session, subscription_id, principal).id
    service.dispatch(services.db, services.settings, only=[delivery_id])
    with services.db.session(write=False) as session:
        delivery = session.get(OutboundDelivery, delivery_id)
        if delivery is None:
            raise NotFound(f"Webhook 订阅 {subscription_id} 已被删除")
        return DeliveryRead.model_validate(delivery)


@contacts_router.get("", response_model=list[ContactRead])
def list_contacts(services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Admins: everyone's notification e-mail address."""
    with services.db.session(write=False) as session:
        return [ContactRead.model_validate(row) for row in contacts.list_contacts(session, principal)]


@contacts_router.put("/{name}", response_model=ContactRead)
def put_contact(
    name: ContactName, body: ContactIn, response: Response, services: ServicesDep, principal: ApiPrincipal
) -> Any:
    """Admins: set a person's e-mail address (201 when new); SLA notifications to them are then also e-mailed."""
    with services.db.session() as session:
        contact, created = contacts.upsert_contact(session, name, body, principal)
        response.status_code = 201 if created else 200
        return ContactRead.model_validate(contact)


@contacts_router.delete("/{name}", status_code=204)
def delete_contact(name: ContactName, services: ServicesDep, principal: ApiPrincipal) -> Response:
    """Admins: remove a person's e-mail address."""
    with services.db.session() as session:
        contacts.delete_contact(session, name, principal)
    return Response(status_code=204)
