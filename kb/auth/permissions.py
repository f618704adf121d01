"""Roles and per-object permission checks."""

from __future__ import annotations

from dataclasses import dataclass

from kb.article.models import DRAFT, IN_REVIEW, PUBLISHED, RETIRED, STATUSES, Article
from kb.exceptions import PermissionDenied

VIEWER = "viewer"
ENGINEER = "engineer"
REVIEWER = "reviewer"
ADMIN = "admin"
INTEGRATION = "integration"
ROLES = (VIEWER, ENGINEER, REVIEWER, ADMIN, INTEGRATION)
_RANK = {VIEWER: 1, INTEGRATION: 1, ENGINEER: 2, REVIEWER: 3, ADMIN: 4}


@dataclass(frozen=True)
class Principal:
    """Who is acting: a token's name and role (or the local operator on the CLI)."""

    name: str
    role: str

    def at_least(self, role: str) -> bool:
        """Whether this principal's role ranks at or above ``role``."""
        return _RANK.get(self.role, 0) >= _RANK[role]

    @property
    def is_reviewer(self) -> bool:
        """Reviewers and admins curate: they see every status."""
        return self.at_least(REVIEWER) and self.role != INTEGRATION


CLI_OPERATOR = Principal("cli", ADMIN)


def visible_statuses(principal: Principal) -> tuple[str, ...]:
    """Statuses whose articles the principal may see in lists and search."""
    return STATUSES if principal.is_reviewer else (PUBLISHED,)


def authored_drafts_visible_to(principal: Principal) -> str | None:
    """Engineers also see the unpublished articles they wrote themselves."""
    return principal.name if principal.role == ENGINEER else None


def can_see(principal: Principal, article: Article) -> bool:
    """Per-object read check."""
    if article.status == PUBLISHED or principal.is_reviewer:
        return True
    return principal.role == ENGINEER and article.created_by == principal.name


def require(condition: bool, message: str) -> None:
    """Raise PermissionDenied with ``message`` unless ``condition``."""
    if not condition:
        raise PermissionDenied(message)


def check_admin(principal: Principal, what: str) -> None:
    """Raise PermissionDenied unless an admin (never an integration account) is acting."""
    require(principal.at_least(ADMIN) and principal.role != INTEGRATION, f"只有管理员可以{what}")


def check_create(principal: Principal, status: str) -> None:
    """Engineers may create drafts; reviewers may create in any status."""
    require(principal.at_least(ENGINEER) and principal.role != INTEGRATION, "没有创建文章的权限")
    if status != DRAFT:
        require(principal.is_reviewer, "只有审核人可以直接创建非草稿状态的文章")


def check_edit(principal: Principal, article: Article) -> None:
    """Reviewers edit anything; engineers edit their own drafts."""
    if principal.is_reviewer:
        return
    require(
        principal.role == ENGINEER and article.created_by == principal.name and article.status == DRAFT,
        "只有审核人或草稿作者可以编辑这篇文章",
    )


def check_transition(principal: Principal, article: Article, action: str) -> None:
    """Who may move an article through its lifecycle."""
    if principal.is_reviewer:
        return
    own = principal.role == ENGINEER and article.created_by == principal.name
    allowed = own and (
        (action == "submit" and article.status == DRAFT) or (action == "to_draft" and article.status == IN_REVIEW)
    )
    require(allowed, f"没有执行“{action}”的权限（发布、下线和恢复需要审核人）")


def check_delete(principal: Principal) -> None:
    """Only admins delete; everyone else retires."""
    require(principal.at_least(ADMIN) and principal.role != INTEGRATION, "只有管理员可以删除文章")


__all__ = [
    "ADMIN",
    "DRAFT",
    "ENGINEER",
    "INTEGRATION",
    "IN_REVIEW",
    "PUBLISHED",
    "RETIRED",
    "REVIEWER",
    "ROLES",
    "VIEWER",
    "Principal",
]
