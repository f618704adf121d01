"""Admin-defined calendars: weekly blocks from JSON, validated, turned into BusinessCalendar objects."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kb.exceptions import InvalidInput
from kb.sla.builtin import cn_days, cn_known_years
from kb.sla.calendar import Block, BusinessCalendar
from kb.sla.models import SlaCalendar

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,49}$")
HOLIDAY_SOURCES = ("cn", "none")
WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


def _parse_clock(text: Any, where: str) -> time:
    match = _CLOCK.match(str(text))
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise InvalidInput(f"week.{where}：时间“{text}”应写成 HH:MM（00:00–24:00）", details={"field": f"week.{where}"})
    hour, minute = int(match.group(1)), int(match.group(2))
    return time(0) if hour == 24 else time(hour, minute)


def parse_week(week: Mapping[str, Any]) -> dict[int, tuple[Block, ...]]:
    """``{"0": [["09:00", "12:00"], ...]}`` → weekday blocks; 422 naming the day and block when malformed."""
    parsed: dict[int, tuple[Block, ...]] = {}
    for key, blocks in week.items():
        if str(key) not in {str(d) for d in range(7)}:
            raise InvalidInput(f"week：星期键“{key}”应为 0（周一）到 6（周日）", details={"field": "week"})
        day = int(key)
        if not isinstance(blocks, list):
            raise InvalidInput(f"week.{day}：应为时段列表", details={"field": f"week.{day}"})
        found: list[Block] = []
        for index, block in enumerate(blocks):
            where = f"{day}[{index}]"
            if not isinstance(block, list | tuple) or len(block) != 2:
                raise InvalidInput(f"week.{where}：时段应为 [开始, 结束]", details={"field": f"week.{where}"})
            start, end = _parse_clock(block[0], where), _parse_clock(block[1], where)
            if end != time(0) and end <= start:
                raise InvalidInput(
                    f"week.{where}：{block[0]}–{block[1]} 结束早于开始", details={"field": f"week.{where}"}
                )
            found.append((start, end))
        found.sort()
        for (_, end), (start, _) in itertools.pairwise(found):
            if end == time(0) or end > start:
                raise InvalidInput(f"week.{day}：{WEEKDAY_LABELS[day]}的时段重叠", details={"field": f"week.{day}"})
        if found:
            parsed[day] = tuple(found)
    if not parsed:
        raise InvalidInput("week：至少要有一个工作时段", details={"field": "week"})
    return parsed


def check_zone(zone: str) -> None:
    """422 unless ``zone`` is an IANA time zone."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"zone：未知时区“{zone}”（例如 Asia/Shanghai）", details={"field": "zone"}) from None


def build(row: SlaCalendar) -> BusinessCalendar:
    """The BusinessCalendar an admin defined (mainland-China holidays and make-up days when asked for)."""
    week = parse_week(row.week)
    if row.holidays != "cn":
        return BusinessCalendar(row.name, row.zone, week, known_years=None)
    workday_blocks = week.get(0) or next(iter(week.values()))
    holidays, workdays = cn_days()
    return BusinessCalendar(
        row.name,
        row.zone,
        week,
        holidays=holidays,
        workdays=workdays,
        known_years=cn_known_years(),
        workday_blocks=workday_blocks,
    )


def week_json(calendar: BusinessCalendar) -> dict[str, list[list[str]]]:
    """A calendar's weekly blocks as the JSON the API takes."""

    def clock(moment: time) -> str:
        return moment.strftime("%H:%M")

    return {
        str(day): [[clock(start), "24:00" if end == time(0) else clock(end)] for start, end in blocks]
        for day, blocks in sorted(calendar.week.items())
    }
