"""Contacts (admins only): the e-mail address each person's notifications are also sent to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.permissions import Principal, check_admin
from kb.db import utcnow
from kb.exceptions import Conflict, InvalidInput, NotFound
from kb.notify.models import Contact
from kb.notify.schemas import ContactIn

MAX_NAME = 100


def _name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME or "\x00" in cleaned:
        raise InvalidInput(f"name：姓名不能为空，最长 {MAX_NAME} 个字符", details={"field": "name"})
    return cleaned


def list_contacts(session: Session, principal: Principal) -> list[Contact]:
    """Every contact by name."""
    check_admin(principal, "查看联系人")
    return list(session.scalars(select(Contact).order_by(Contact.name)))


def upsert_contact(session: Session, name: str, data: ContactIn, principal: Principal) -> tuple[Contact, bool]:
    """Set a person's address; returns (contact, whether it was new)."""
    check_admin(principal, "维护联系人")
    name = _name(name)
    contact = session.scalar(select(Contact).where(Contact.name == name).with_for_update())
    before = None if contact is None else {"email": contact.email}
    if contact is None:
        contact = Contact(name=name, email=data.email, updated_at=utcnow())
        try:
            with session.begin_nested():
                session.add(contact)
                session.flush()
        except IntegrityError:
            raise Conflict(f"联系人“{name}”刚被同时创建，请重试") from None
    elif contact.email != data.email:
        contact.email, contact.updated_at = data.email, utcnow()
    else:
        return contact, False
    audit.record(
        session,
        actor=principal.name,
        action="contact.update" if before else "contact.create",
        entity_type="contact",
        entity_id=name,
        before=before,
        after={"email": data.email},
    )
    return contact, before is None


def delete_contact(session: Session, name: str, principal: Principal) -> None:
    """Remove a person's address (their pending e-mails are still sent)."""
    check_admin(principal, "维护联系人")
    name = _name(name)
    contact = session.scalar(select(Contact).where(Contact.name == name))
    if contact is None:
        raise NotFound(f"联系人“{name}”不存在")
    audit.record(
        session,
        actor=principal.name,
        action="contact.delete",
        entity_type="contact",
        entity_id=name,
        before={"email": contact.email},
        after=None,
    )
    session.delete(contact)
