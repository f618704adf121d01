"""E-mail notifications through a real SMTP server (aiosmtpd): UTF-8 Chinese subject, login, retries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from kb.config import Settings
from kb.db import Database, utcnow
from kb.notify import contacts, service
from kb.notify.models import DELIVERED, EMAIL, FAILED, PENDING
from kb.notify.schemas import ContactIn
from kb.notify.service import DispatchReport
from tests.kb.notify.conftest import ADMIN_ROOT, announce, deliveries
from tests.servers import free_port


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what arrives; refuses recipients listed in ``refuse``."""

    refuse: set[str] = field(default_factory=set)
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        """Accept exactly ops / s3cret-pass."""
        assert isinstance(data, LoginPassword)
        login = (data.login.decode(), data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("ops", "s3cret-pass"), handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a free port (AUTH allowed without TLS, as on a trusted relay)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    controller.start()
    yield mailbox, port
    controller.stop()


def add_contact(db: Database, name: str, email: str) -> None:
    """Give ``name`` an e-mail address."""
    with db.session() as session:
        contacts.upsert_contact(session, name, ContactIn(email=email), ADMIN_ROOT)


def mail_settings(settings: Settings, port: int, **values: Any) -> Settings:
    """Settings pointing at the test SMTP server."""
    update = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "kb@example.com", **values}
    return settings.model_copy(update=update)


class TestEmail:
    def test_the_chinese_subject_and_body_arrive(
        self, db: Database, notify_settings: Settings, smtp: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = smtp
        add_contact(db, "alice", "alice@example.com")
        announce(db, email_enabled=True)
        report = service.dispatch(db, mail_settings(notify_settings, port), now=utcnow())
        assert report == DispatchReport(sent=1)
        [(recipients, message)] = mailbox.messages
        assert recipients == ["alice@example.com"]
        assert message["Subject"] == "[运维知识库] INC-20261121-0042 解决已超时"
        assert message["From"] == "kb@example.com" and message["To"] == "alice@example.com"
        text = message.get_content()
        assert "打印机脱机" in text and "工单：INC-20261121-0042" in text
        [delivery] = deliveries(db)
        assert (delivery.channel, delivery.status, delivery.attempts) == (EMAIL, DELIVERED, 1)

    def test_login_is_used_when_configured(
        self, db: Database, notify_settings: Settings, smtp: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = smtp
        add_contact(db, "alice", "alice@example.com")
        announce(db, email_enabled=True)
        settings = mail_settings(notify_settings, port, smtp_user="ops", smtp_password="s3cret-pass")
        assert service.dispatch(db, settings, now=utcnow()) == DispatchReport(sent=1)
        assert mailbox.logins == [("ops", "s3cret-pass")] and len(mailbox.messages) == 1

    def test_a_refusing_server_is_retried_like_a_webhook(
        self, db: Database, notify_settings: Settings, smtp: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = smtp
        mailbox.refuse.add("bob@example.com")
        add_contact(db, "bob", "bob@example.com")
        announce(db, email_enabled=True)
        start = utcnow()
        assert service.dispatch(db, mail_settings(notify_settings, port), now=start) == DispatchReport(retried=1)
        [delivery] = deliveries(db)
        assert (delivery.status, delivery.attempts) == (PENDING, 1)
        assert "mailbox unavailable" in delivery.last_error
        assert delivery.next_attempt_at == start + timedelta(seconds=30)

    def test_wrong_credentials_or_no_server_are_recorded_not_raised(
        self, db: Database, notify_settings: Settings, smtp: tuple[Mailbox, int]
    ) -> None:
        _, port = smtp
        add_contact(db, "alice", "alice@example.com")
        announce(db, email_enabled=True)
        start = utcnow()
        wrong = mail_settings(notify_settings, port, smtp_user="ops", smtp_password="wrong")
        assert service.dispatch(db, wrong, now=start) == DispatchReport(retried=1)
        assert "SMTPAuthenticationError" in deliveries(db)[0].last_error
        closed = mail_settings(notify_settings, free_port())
        assert service.dispatch(db, closed, now=start + timedelta(seconds=30)) == DispatchReport(retried=1)
        assert "ConnectionRefusedError" in deliveries(db)[0].last_error

    def test_without_an_smtp_server_configured_the_delivery_fails_at_once(
        self, db: Database, notify_settings: Settings
    ) -> None:
        add_contact(db, "alice", "alice@example.com")
        announce(db, email_enabled=True)
        assert service.dispatch(db, notify_settings, now=utcnow()) == DispatchReport(failed=1)
        [delivery] = deliveries(db)
        assert delivery.status == FAILED and "KB_SMTP_HOST" in delivery.last_error
