"""The shipped calendars: ``24x7`` and ``cn-business`` (mainland-China holidays and make-up workdays)."""

from __future__ import annotations

from datetime import date, time
from functools import lru_cache

from chinese_calendar import constants as cn_constants

from kb.sla.calendar import WHOLE_DAY, Block, BusinessCalendar

SHANGHAI = "Asia/Shanghai"
CN_OFFICE_HOURS: tuple[Block, ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(18, 0)))
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


@lru_cache(maxsize=1)
def cn_days() -> tuple[dict[date, str], dict[date, str]]:
    """Mainland-China holidays and make-up workdays with Chinese names, from ``chinese-calendar`` (never mutate)."""

    def named(days: dict[date, str]) -> dict[date, str]:
        return {day: HOLIDAY_NAMES.get(name, name) for day, name in days.items()}

    return named(dict(cn_constants.holidays)), named(dict(cn_constants.workdays))


def cn_known_years() -> frozenset[int]:
    """Years whose mainland-China holidays the installed ``chinese-calendar`` release knows."""
    years = {day.year for day in cn_constants.holidays}
    return frozenset(range(min(years), max(years) + 1))


@lru_cache(maxsize=1)
def around_the_clock() -> BusinessCalendar:
    """``24x7``: always working."""
    return BusinessCalendar("24x7", SHANGHAI, {weekday: WHOLE_DAY for weekday in range(7)})


@lru_cache(maxsize=1)
def cn_business() -> BusinessCalendar:
    """``cn-business``: Asia/Shanghai, Mon–Fri 09:00–12:00 and 13:30–18:00, holidays off, make-up days on."""
    holidays, workdays = cn_days()
    return BusinessCalendar(
        "cn-business",
        SHANGHAI,
        {weekday: CN_OFFICE_HOURS for weekday in range(5)},
        holidays=holidays,
        workdays=workdays,
        known_years=cn_known_years(),
        workday_blocks=CN_OFFICE_HOURS,
    )


def builtin_calendars() -> dict[str, BusinessCalendar]:
    """The shipped calendars by name."""
    return {calendar.name: calendar for calendar in (around_the_clock(), cn_business())}
