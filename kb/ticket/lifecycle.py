"""Ticket statuses and the actions that move between them."""

from __future__ import annotations

from kb.ticket.models import ASSIGNED, CLOSED, IN_PROGRESS, NEW, PENDING_USER, RESOLVED

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": ((NEW, ASSIGNED, IN_PROGRESS, PENDING_USER), ASSIGNED),
    "start": ((NEW, ASSIGNED, PENDING_USER), IN_PROGRESS),
    "wait_user": ((IN_PROGRESS,), PENDING_USER),
    "resolve": ((NEW, ASSIGNED, IN_PROGRESS, PENDING_USER), RESOLVED),
    "close": ((RESOLVED,), CLOSED),
    "reopen": ((RESOLVED, CLOSED), IN_PROGRESS),
}

STATUS_LABELS = {
    NEW: "新建",
    ASSIGNED: "已分派",
    IN_PROGRESS: "处理中",
    PENDING_USER: "待用户确认",
    RESOLVED: "已解决",
    CLOSED: "已关闭",
}

ACTION_LABELS = {
    "assign": "分派",
    "start": "开始处理",
    "wait_user": "待用户确认",
    "resolve": "解决",
    "close": "关闭",
    "reopen": "重新打开",
}


def allowed_actions(status: str) -> list[str]:
    """Actions that may be taken from ``status``, in a stable order."""
    return [action for action, (sources, _target) in TRANSITIONS.items() if status in sources]


def target_status(action: str) -> str:
    """The status ``action`` leads to."""
    return TRANSITIONS[action][1]
