"""SLA policies: response and resolution targets per priority, each on a named calendar."""

from __future__ import annotations

from dataclasses import dataclass

from kb.config import Settings

BUSINESS_DAY_MINUTES = 450  # cn-business: 09:00–12:00 and 13:30–18:00


@dataclass(frozen=True)
class Target:
    """An amount of working time on a calendar."""

    minutes: int
    calendar: str


@dataclass(frozen=True)
class Policy:
    """Targets for one priority (optionally only for a category and/or customer); ``id`` None when built in."""

    priority: str
    response: Target
    resolution: Target
    category: str = ""
    customer: str = ""
    escalate_at: int = 100
    id: int | None = None


# The service standards we support (issue 5): P1/P2 around the clock, P3/P4 in business hours.
DEFAULT_POLICIES = {
    "P1": Policy("P1", Target(30, "24x7"), Target(120, "24x7")),
    "P2": Policy("P2", Target(60, "24x7"), Target(240, "24x7")),
    "P3": Policy("P3", Target(240, "cn-business"), Target(3 * BUSINESS_DAY_MINUTES, "cn-business")),
    "P4": Policy("P4", Target(24 * 60, "cn-business"), Target(5 * BUSINESS_DAY_MINUTES, "cn-business")),
}
PAUSE_STATUSES = frozenset({"pending_user"})
WARNING_THRESHOLDS = (0.5, 0.75, 0.9)


@dataclass(frozen=True)
class ClockRules:
    """What pauses a clock and where it warns: from settings, shared by every ticket."""

    pause_statuses: frozenset[str] = PAUSE_STATUSES
    warning_thresholds: tuple[float, ...] = WARNING_THRESHOLDS


def rules_from(settings: Settings) -> ClockRules:
    """The clock rules the settings configure."""
    return ClockRules(
        pause_statuses=frozenset(settings.sla_pause_statuses),
        warning_thresholds=tuple(t / 100 for t in settings.sla_warning_thresholds),
    )
