"""API tokens: create (printed once), authenticate by hash, list, revoke."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.auth import audit
from kb.auth.models import ApiToken
from kb.auth.permissions import ADMIN, ROLES, Principal
from kb.db import utcnow
from kb.exceptions import InvalidInput, NotAuthenticated, NotFound

TOKEN_PREFIX = "kb_"


def hash_token(token: str) -> str:
    """SHA-256 of a token; tokens are 256-bit random, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, *, name: str, role: str, actor: str) -> tuple[ApiToken, str]:
    """Creates a token and returns it with its secret, which is never stored."""
    name = name.strip()
    if role not in ROLES:
        raise InvalidInput(f"未知角色“{role}”，可选：{', '.join(ROLES)}")
    if not name or len(name) > 100:
        raise InvalidInput("令牌名称不能为空，且不超过 100 个字符")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=hash_token(secret), prefix=secret[:10], created_by=actor)
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.create",
        entity_type="api_token",
        entity_id=str(token.id),
        before=None,
        after={"name": name, "role": role, "prefix": token.prefix},
    )
    return token, secret


def authenticate(session: Session, secret: str) -> Principal:
    """The principal of a valid, unrevoked token; NotAuthenticated otherwise."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret.strip())))
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("令牌无效或已吊销")
    return Principal(token.name, token.role)


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token, newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def revoke_token(session: Session, *, token_id: int, actor: str) -> ApiToken:
    """Revokes one token (idempotent)."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"令牌 {token_id} 不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="token.revoke",
            entity_type="api_token",
            entity_id=str(token.id),
            before={"revoked": False},
            after={"revoked": True},
        )
    return token


def has_admin_token(session: Session) -> bool:
    """Whether any unrevoked admin token exists."""
    query = select(ApiToken.id).where(ApiToken.role == ADMIN, ApiToken.revoked_at.is_(None)).limit(1)
    return session.scalar(query) is not None
