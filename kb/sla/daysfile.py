"""Read holidays and make-up workdays from a file: YAML, CSV or iCalendar, with errors naming file and line.

YAML::

    - {date: 2027-01-01, kind: holiday, name: 元旦}
    - {date: 2027-02-07, kind: workday, name: 春节调休}

CSV (header required): ``date,kind,name``. iCalendar: every all-day VEVENT is a holiday for each of its days,
unless its SUMMARY contains 班 (上班、补班、调休上班), which makes it a make-up workday.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import icalendar
import yaml

from kb.exceptions import InvalidInput
from kb.sla.models import HOLIDAY, WORKDAY

KINDS = {HOLIDAY: HOLIDAY, WORKDAY: WORKDAY, "休": HOLIDAY, "假": HOLIDAY, "班": WORKDAY, "调休": WORKDAY}
FORMATS = ("yaml", "csv", "ics")
MAX_DAYS = 2000


@dataclass(frozen=True)
class DayEntry:
    """One holiday or make-up workday."""

    day: date
    kind: str
    name: str


def _problem(source: str, line: int | None, message: str) -> InvalidInput:
    where = f"{source} 第 {line} 行" if line else source
    return InvalidInput(f"{where}：{message}", details={"file": source, "line": line})


def _entry(source: str, line: int | None, raw_day: Any, raw_kind: Any, raw_name: Any) -> DayEntry:
    if isinstance(raw_day, datetime):
        raw_day = raw_day.date()
    if not isinstance(raw_day, date):
        try:
            raw_day = date.fromisoformat(str(raw_day).strip())
        except ValueError:
            raise _problem(source, line, f"字段 date：“{raw_day}”不是 YYYY-MM-DD 日期") from None
    kind = KINDS.get(str(raw_kind or "").strip())
    if kind is None:
        raise _problem(source, line, f"字段 kind：“{raw_kind}”应为 holiday 或 workday")
    return DayEntry(raw_day, kind, str(raw_name or "").strip()[:100])


def _from_yaml(text: str, source: str) -> list[DayEntry]:
    try:
        documents = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _problem(source, mark.line + 1 if mark else None, f"YAML 格式错误：{exc}") from None
    if not isinstance(data, list):
        raise _problem(source, None, "应为日期条目的列表（- {date: ..., kind: ..., name: ...}）")
    lines = [node.start_mark.line + 1 for node in getattr(documents, "value", [])]
    entries = []
    for index, item in enumerate(data):
        line = lines[index] if index < len(lines) else None
        if not isinstance(item, dict):
            raise _problem(source, line, "每个条目应包含 date、kind、name")
        entries.append(_entry(source, line, item.get("date"), item.get("kind"), item.get("name")))
    return entries


def _from_csv(text: str, source: str) -> list[DayEntry]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"date", "kind"} <= {f.strip() for f in reader.fieldnames}:
        raise _problem(source, 1, "缺少表头 date,kind,name")
    return [
        _entry(source, reader.line_num, row.get("date"), row.get("kind"), row.get("name"))
        for row in reader
        if any((value or "").strip() for value in row.values() if isinstance(value, str))
    ]


def _from_ics(text: str, source: str) -> list[DayEntry]:
    try:
        calendar = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise _problem(source, None, f"iCalendar 格式错误：{exc}") from None
    entries = []
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", ""))
        start = event.decoded("DTSTART", None)
        if start is None:
            raise _problem(source, None, f"事件“{summary}”缺少 DTSTART")
        end = event.decoded("DTEND", None) or (start + timedelta(days=1))
        first, last = (
            (start.date() if isinstance(start, datetime) else start),
            (end.date() if isinstance(end, datetime) else end),
        )
        kind = WORKDAY if "班" in summary else HOLIDAY
        day = first
        while day < max(last, first + timedelta(days=1)):
            entries.append(DayEntry(day, kind, summary[:100]))
            day += timedelta(days=1)
    return entries


def read_days(text: str, fmt: str, source: str = "文件") -> list[DayEntry]:
    """Entries of a holidays file in ``fmt`` (yaml, csv or ics); a date listed twice is an error."""
    readers = {"yaml": _from_yaml, "csv": _from_csv, "ics": _from_ics}
    if fmt not in readers:
        raise InvalidInput(f"不支持的格式“{fmt}”，可选：{', '.join(FORMATS)}", details={"field": "format"})
    entries = readers[fmt](text, source)
    if not entries:
        raise _problem(source, None, "没有任何日期")
    if len(entries) > MAX_DAYS:
        raise _problem(source, None, f"日期过多（最多 {MAX_DAYS} 个）")
    seen: dict[date, str] = {}
    for entry in entries:
        if entry.day in seen and seen[entry.day] != entry.kind:
            raise _problem(source, None, f"{entry.day} 同时被列为节假日和调休工作日")
        seen[entry.day] = entry.kind
    return entries
