"""E-mail notifications over SMTP (UTF-8 subject and body, optional STARTTLS and login)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kb.config import Settings

SUBJECT_PREFIX = "[运维知识库] "
# SMTP servers greet and accept slower than webhooks answer; one slow server must still not stall the others long.
SMTP_TIMEOUT_SECONDS = 30.0


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text UTF-8 message from the configured sender."""
    message = EmailMessage()
    message["Subject"] = SUBJECT_PREFIX + " ".join(subject.split())  # a header never spans lines
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(body, charset="utf-8")
    return message


def send_mail(settings: Settings, to: str, subject: str, body: str) -> None:
    """Send one message; raises smtplib.SMTPException or OSError when the server refuses or is unreachable."""
    message = build_message(settings, to, subject, body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(message)
