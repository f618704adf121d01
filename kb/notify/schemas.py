"""Pydantic schemas of notifications, webhook subscriptions, contacts and the delivery log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kb.article.schemas import InputModel

EVENT_KIND_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
# Deliberately plain: one @, no spaces or line breaks (they would end up in a mail header), a dot in the domain.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
MAX_EVENTS = 50


def validate_url(value: str) -> str:
    """Webhook URLs are absolute http(s) URLs with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("必须是以 http:// 或 https:// 开头、带主机名的地址")
    return value


def validate_events(values: list[str]) -> list[str]:
    """Event kinds such as sla.warning: lower-case, at most 40 characters, duplicates dropped."""
    cleaned: list[str] = []
    for raw in values:
        kind = raw.strip()
        if not EVENT_KIND_RE.match(kind):
            raise ValueError(f"事件类型“{kind[:40]}”无效：只能包含小写字母、数字和 . _ -，以字母开头，最长 40 个字符")
        if kind not in cleaned:
            cleaned.append(kind)
    return cleaned


def validate_email(value: str) -> str:
    """A single plain e-mail address."""
    if len(value) > 200 or not EMAIL_RE.match(value):
        raise ValueError("不是有效的电子邮件地址（例如 zhang.san@example.com）")
    return value


WebhookUrl = Annotated[str, AfterValidator(validate_url)]
EventKinds = Annotated[list[str], AfterValidator(validate_events)]
EmailAddress = Annotated[str, AfterValidator(validate_email)]


class WebhookCreate(InputModel):
    """A new outgoing webhook."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, description="订阅名称（唯一），如 “值班群机器人”")
    url: WebhookUrl = Field(max_length=500, description="接收通知的 http(s) 地址，每个事件以 POST JSON 发送")
    events: EventKinds = Field(
        default_factory=list,
        max_length=MAX_EVENTS,
        description="订阅的事件类型，如 sla.warning、sla.breach；为空表示全部",
    )
    active: bool = Field(default=True, description="是否启用")


class WebhookUpdate(InputModel):
    """Changes to a webhook; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    url: WebhookUrl | None = Field(default=None, max_length=500, description="新的 http(s) 地址")
    events: EventKinds | None = Field(default=None, max_length=MAX_EVENTS, description="新的事件类型列表；为空表示全部")
    active: bool | None = Field(default=None, description="启用或停用")


class ContactIn(InputModel):
    """A person's e-mail address for notifications."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailAddress = Field(description="电子邮件地址，如 zhang.san@example.com")


class WebhookRead(BaseModel):
    """A webhook subscription (its secret is never shown again after creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="订阅编号")
    name: str = Field(description="订阅名称")
    url: str = Field(description="接收地址")
    events: list[str] = Field(description="订阅的事件类型；为空表示全部")
    active: bool = Field(description="是否启用")
    created_by: str = Field(description="创建人")
    created_at: datetime = Field(description="创建时间")


class WebhookCreated(WebhookRead):
    """A new subscription with its signing secret, shown only this once."""

    secret: str = Field(description="签名密钥（只在创建时显示一次，请妥善保存），用法见 docs/webhooks.md")


class DeliveryRead(BaseModel):
    """One entry of the delivery log."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="投递编号（即 X-KB-Delivery 请求头，接收方据此去重）")
    channel: str = Field(description="渠道：webhook 或 email")
    target: str = Field(description="Webhook 订阅编号或电子邮件地址")
    event_key: str = Field(description="事件键（同一事件只投递一次）")
    kind: str = Field(description="事件类型，如 sla.breach、test")
    payload: dict[str, Any] = Field(description="发送的 JSON 内容（发送时另加 sent_at）")
    status: str = Field(description="pending（待发送或等待重试）、delivered（已送达）、failed（已放弃）")
    attempts: int = Field(description="已尝试次数")
    next_attempt_at: datetime = Field(description="下次尝试时间（pending 时有意义）")
    last_status_code: int | None = Field(description="最近一次的 HTTP 状态码（连接失败或邮件时为空）")
    last_error: str = Field(description="最近一次的错误（响应体前 500 个字符或连接错误）")
    created_at: datetime = Field(description="加入队列的时间")
    delivered_at: datetime | None = Field(description="送达时间")


class NotificationRead(BaseModel):
    """One in-app notification."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="通知编号")
    kind: str = Field(description="事件类型，如 sla.warning、sla.breach")
    ticket_number: str = Field(description="相关工单编号（可能为空）")
    title: str = Field(description="标题")
    body: str = Field(description="正文")
    created_at: datetime = Field(description="通知时间")
    read_at: datetime | None = Field(description="标为已读的时间；未读为空")


class NotificationPage(BaseModel):
    """A page of the caller's notifications, newest first."""

    total: int = Field(description="符合条件的通知总数")
    unread_count: int = Field(description="未读通知数")
    items: list[NotificationRead]


class ContactRead(BaseModel):
    """A person's notification address."""

    model_config = ConfigDict(from_attributes=True)

    name: str = Field(description="姓名（即令牌名称，通知按它投递）")
    email: str = Field(description="电子邮件地址")
    updated_at: datetime = Field(description="最后修改时间")
