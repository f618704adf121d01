"""Request dependencies: the process's services and the current principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kb.auth import service as auth_service
from kb.auth.permissions import VIEWER, Principal
from kb.context import Services
from kb.exceptions import NotAuthenticated

COOKIE_NAME = "kb_token"
ANONYMOUS = Principal("anonymous", VIEWER)


def get_services(request: Request) -> Services:
    """The Services built in the app lifespan."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def principal_from_secret(services: Services, secret: str) -> Principal:
    """Authenticate a token secret."""
    with services.db.session(write=False) as session:
        return auth_service.authenticate(session, secret)


def api_principal(request: Request, services: ServicesDep) -> Principal:
    """The API caller, from ``Authorization: Bearer TOKEN`` (anonymous viewers only when allowed)."""
    secret = _bearer(request)
    if secret:
        return principal_from_secret(services, secret)
    if services.settings.allow_anonymous_read:
        return ANONYMOUS
    raise NotAuthenticated("需要登录：请在 Authorization 头中提供 Bearer 令牌")


def page_principal(request: Request, services: ServicesDep) -> Principal | None:
    """The page visitor, from the login cookie; None when not logged in."""
    secret = request.cookies.get(COOKIE_NAME)
    if secret:
        try:
            return principal_from_secret(services, secret)
        except NotAuthenticated:
            return None
    return ANONYMOUS if services.settings.allow_anonymous_read else None


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal | None, Depends(page_principal)]
