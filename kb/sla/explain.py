"""Chinese explanations of due times: what was counted, what was skipped, and any missing holiday data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from kb.sla.calendar import BusinessCalendar, DueTime, Interval, missing_years

WEEKDAYS = "一二三四五六日"
MAX_LISTED_DAYS = 6


def format_moment(moment: datetime, calendar: BusinessCalendar) -> str:
    """A moment in the calendar's zone, e.g. 2026-10-08 11:00（周四）."""
    local = moment.astimezone(calendar.tz)
    return f"{local:%Y-%m-%d %H:%M}（周{WEEKDAYS[local.weekday()]}）"


def format_minutes(value: float) -> str:
    """A duration in minutes as Chinese hours and minutes."""
    hours, minutes = divmod(round(value), 60)
    if hours and minutes:
        return f"{hours} 小时 {minutes} 分钟"
    return f"{hours} 小时" if hours else f"{minutes} 分钟"


def _days_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(calendar.tz).date(), end.astimezone(calendar.tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def explain_due(
    calendar: BusinessCalendar, start: datetime, minutes: float, due: DueTime, pauses: Sequence[Interval] = ()
) -> str:
    """One paragraph: start, calendar, counted time per day, holidays and make-up days met, pauses, due time."""
    opening = f"从 {format_moment(start, calendar)} 起，按日历“{calendar.name}”（{calendar.zone}）"
    parts = [f"{opening}计 {format_minutes(minutes)}工作时间"]
    per_day: dict[date, float] = {}
    for begin, end in due.counted:
        day = begin.astimezone(calendar.tz).date()
        per_day[day] = per_day.get(day, 0.0) + (end - begin).total_seconds() / 60
    if per_day:
        listed = [f"{day:%m-%d} {format_minutes(value)}" for day, value in list(per_day.items())[:MAX_LISTED_DAYS]]
        more = f" 等 {len(per_day)} 天" if len(per_day) > MAX_LISTED_DAYS else ""
        parts.append("计入：" + "，".join(listed) + more)
    days = _days_between(calendar, start, due.due_at)
    holidays = [f"{day:%m-%d} {calendar.holidays[day]}" for day in days if day in calendar.holidays]
    makeups = [f"{day:%m-%d}（{calendar.workdays[day]}调休上班）" for day in days if day in calendar.workdays]
    if holidays:
        parts.append("跳过节假日：" + "、".join(holidays[:10]) + ("等" if len(holidays) > 10 else ""))
    if makeups:
        parts.append("计入调休工作日：" + "、".join(makeups))
    if pauses and due.paused_minutes:
        parts.append(f"暂停 {len(pauses)} 次，其间工作时间 {format_minutes(due.paused_minutes)}不计")
    parts.append(f"截止 {format_moment(due.due_at, calendar)}")
    text = "；".join(parts) + "。"
    missing = missing_years(calendar, start, due.due_at)
    if missing:
        years = "、".join(str(year) for year in missing)
        text += (
            f"警告：日历“{calendar.name}”没有 {years} 年的节假日和调休数据，"
            "这些年份按普通周一至周五计算，截止时间可能不准确。"
        )
    return text
