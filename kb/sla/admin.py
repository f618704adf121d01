"""Who may change SLA configuration: admins only (an integration token never)."""

from __future__ import annotations

from kb.auth.permissions import ADMIN, INTEGRATION, Principal
from kb.exceptions import PermissionDenied


def check_admin(principal: Principal, what: str) -> None:
    """Raise 403 unless ``principal`` is an admin."""
    if not principal.at_least(ADMIN) or principal.role == INTEGRATION:
        raise PermissionDenied(f"只有管理员可以{what}")
