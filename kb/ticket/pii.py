"""Mask personal data in ticket text before it becomes a draft knowledge article.

==========  =========================================================  ====================
kind        recognised                                                 masked as
==========  =========================================================  ====================
mobile      11 digits 1[3-9]xxxxxxxxx, optionally grouped 3-4-4 with   ``138****5678``
            one kind of separator (space or dash), optionally after    (prefix kept:
            +86 / 0086 / 86                                            ``+86 138****5678``)
landline    area code 0xx/0xxx with ``-``, space or ``(010)``, then    ``010-****5678``
            7-8 digits, optional extension (``-801``, ``转801``);       (extension ``-***``)
            or 11-12 digits 010/02x/0xxx + local number [2-9]...
email       local@domain.tld, not a file name (rabbit@mq-01.log)       ``z***@example.com``
id_card     18 digits (last may be X) with a province code and a       ``110***********1234``
            plausible birth date yyyymmdd; 15 digits with yymmdd
==========  =========================================================  ====================

A match must not touch a letter, digit or underscore, nor continue a dotted number (``10.13812345678``), so IPv4
addresses, host names, error codes (0x80070005, ORA-00942), versions, timestamps, ticket numbers
(INC-20261121-0042) and 13-digit millisecond timestamps stay as they are. The ID check digit is not required: a
mistyped ID number is still personal data. Full-width digits and symbols are recognised; the masked replacement
is written in half-width characters. Masking is idempotent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

MOBILE = "mobile"
LANDLINE = "landline"
EMAIL = "email"
ID_CARD = "id_card"

# Full-width ASCII (U+FF01..U+FF5E), the ideographic space and dash variants, folded one character to one so
# that match offsets in the folded text are offsets in the original.
_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: ord(" ")})
_FOLD.update({code: ord("-") for code in range(0x2010, 0x2016)})

_LEFT = r"(?<![0-9A-Za-z_])(?<![0-9][.])"
_RIGHT = r"(?![0-9A-Za-z_])(?![.][0-9])"

_MOBILE_RE = re.compile(
    _LEFT + r"(?P<prefix>(?:\+86|0086|86)[ -]?)?(?P<head>1[3-9][0-9])(?P<sep>[ -]?)(?P<mid>[0-9]{4})(?P=sep)"
    r"(?P<tail>[0-9]{4})" + _RIGHT
)
_LANDLINE_RE = re.compile(
    _LEFT + r"(?:\((?P<area1>0[1-9][0-9]{1,2})\) ?(?P<local1>[1-9][0-9]{6,7})"
    r"|(?P<area2>0[1-9][0-9]{1,2})[ -](?P<local2>[1-9][0-9]{6,7})"
    r"|(?P<area3>0(?:10|2[0-9]))(?P<local3>[2-9][0-9]{7})"
    r"|(?P<area4>0[3-9][0-9]{2})(?P<local4>[2-9][0-9]{6,7}))"
    r"(?:(?:-| ?(?:转|分机|ext\.?) ?)(?P<ext>[0-9]{1,6}))?" + _RIGHT
)
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+\-])(?P<local>[A-Za-z0-9._%+\-]+)@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,})(?![A-Za-z0-9\-])"
)
_ID18_RE = re.compile(
    _LEFT + r"(?P<id>(?P<province>[1-9][0-9])[0-9]{4}(?P<year>(?:18|19|20)[0-9]{2})(?P<month>[01][0-9])"
    r"(?P<day>[0-3][0-9])[0-9]{3}[0-9Xx])" + _RIGHT
)
_ID15_RE = re.compile(
    _LEFT + r"(?P<id>(?P<province>[1-9][0-9])[0-9]{4}(?P<year>[0-9]{2})(?P<month>[01][0-9])(?P<day>[0-3][0-9])"
    r"[0-9]{3})" + _RIGHT
)

# Names like rabbit@mq-01.log (RabbitMQ node logs) are files, not addresses.
# Country-code suffixes (.md, .py, .sh) are left out: those are real mail domains.
_FILE_SUFFIXES = frozenset({"log", "txt", "conf", "cfg", "ini", "yaml", "yml", "json", "xml", "sql", "bak", "tmp"})
_FILE_SUFFIXES |= {"pid", "lock", "out", "err", "gz", "zip", "csv", "service", "socket", "timer"}

# GB/T 2260 province-level codes: the first two digits of every resident ID number.
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83, 91}
)


@dataclass(frozen=True)
class _Found:
    kind: str
    start: int
    end: int
    replacement: str


def _mask_mobile(match: re.Match[str]) -> str | None:
    prefix = match["prefix"] or ""
    return f"{prefix}{match['head']}****{match['tail']}"


def _mask_landline(match: re.Match[str]) -> str | None:
    area = match["area1"] or match["area2"] or match["area3"] or match["area4"]
    local = match["local1"] or match["local2"] or match["local3"] or match["local4"]
    extension = "-***" if match["ext"] else ""
    return f"{area}-****{local[-4:]}{extension}"


def _mask_email(match: re.Match[str]) -> str | None:
    if match["domain"].rsplit(".", 1)[-1].lower() in _FILE_SUFFIXES:
        return None
    return f"{match['local'][0]}***@{match['domain']}"


def _plausible_birth_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date.today()


def _mask_id(match: re.Match[str]) -> str | None:
    number = match["id"]
    year = int(match["year"])
    if len(number) == 15:
        year += 1900
    if int(match["province"]) not in _PROVINCES:
        return None
    if not _plausible_birth_date(year, int(match["month"]), int(match["day"])):
        return None
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


# Earlier entries win when two matches start at the same place: an e-mail whose local part is a phone number is
# masked as an e-mail, an 18-digit ID is never read as something shorter.
_DETECTORS: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str | None]], ...] = (
    (EMAIL, _EMAIL_RE, _mask_email),
    (ID_CARD, _ID18_RE, _mask_id),
    (ID_CARD, _ID15_RE, _mask_id),
    (MOBILE, _MOBILE_RE, _mask_mobile),
    (LANDLINE, _LANDLINE_RE, _mask_landline),
)


def _fold(text: str) -> str:
    return text.translate(_FOLD)


def _find(text: str) -> Iterator[_Found]:
    folded = _fold(text)
    candidates: list[tuple[int, int, _Found]] = []
    for priority, (kind, pattern, mask) in enumerate(_DETECTORS):
        for match in pattern.finditer(folded):
            replacement = mask(match)
            if replacement is not None:
                candidates.append((match.start(), priority, _Found(kind, match.start(), match.end(), replacement)))
    candidates.sort(key=lambda item: (item[0], item[1]))
    covered = 0
    for _start, _priority, found in candidates:
        if found.start >= covered:
            covered = found.end
            yield found


def mask_pii(text: str) -> str:
    """Replace mobile and landline numbers, e-mail addresses and resident ID numbers by masked forms."""
    pieces: list[str] = []
    position = 0
    for found in _find(text):
        pieces.append(text[position : found.start])
        pieces.append(found.replacement)
        position = found.end
    pieces.append(text[position:])
    return "".join(pieces)


def pii_findings(text: str) -> list[tuple[str, str]]:
    """(kind, original text) of every piece of personal data ``mask_pii`` would mask, in order."""
    return [(found.kind, text[found.start : found.end]) for found in _find(text)]
