"""Engine-neutral snippets: find query terms in normalised text and mark them in the original text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from indexer.analysis import normalize_with_offsets

_MARKDOWN_NOISE = [
    (re.compile(r"```[^\n]*\n?"), ""),
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE), ""),
    (re.compile(r"^\s*[-*+]\s+", re.MULTILINE), ""),
    (re.compile(r"^\s*>\s?", re.MULTILINE), ""),
    (re.compile(r"(\*\*|__|`)"), ""),
    (re.compile(r"<[^>\n]{1,200}>"), " "),
    (re.compile(r"[ \t]*\n[ \t\n]*"), " "),
]
_ASCII_WORD = re.compile(r"[0-9a-z]")


def plain_text(markdown_text: str) -> str:
    """Markdown reduced to readable plain text for snippets."""
    text = markdown_text
    for pattern, replacement in _MARKDOWN_NOISE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _term_pattern(term: str) -> re.Pattern[str]:
    escaped = re.escape(term)
    if _ASCII_WORD.match(term[0]):
        escaped = r"(?<![0-9a-z])" + escaped
    if _ASCII_WORD.match(term[-1]):
        escaped = escaped + r"(?![0-9a-z])"
    return re.compile(escaped)


def find_spans(normalized: str, terms: Iterable[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, term) matches of ``terms`` in normalised text, longest first."""
    found: list[tuple[int, int, str]] = []
    for term in sorted({t for t in terms if t}, key=len, reverse=True):
        for match in _term_pattern(term).finditer(normalized):
            found.append((match.start(), match.end(), term))
    found.sort(key=lambda span: (span[0], -(span[1] - span[0])))
    merged: list[tuple[int, int, str]] = []
    for span in found:
        if merged and span[0] < merged[-1][1]:
            continue
        merged.append(span)
    return merged


def _best_window(spans: list[tuple[int, int, str]], length: int, width: int) -> int:
    best_start, best_score = 0, (-1, -1)
    for index, (start, _end, _term) in enumerate(spans):
        window_end = start + width
        inside = [s for s in spans[index:] if s[1] <= window_end]
        score = (len({s[2] for s in inside}), len(inside))
        if score > best_score:
            best_score, best_start = score, start
    lead = width // 5
    return max(0, min(best_start - lead, max(0, length - width)))


def _render(text: str, spans: list[tuple[int, int, str]], lo: int, hi: int) -> str:
    pieces: list[str] = []
    cursor = lo
    for start, end, _term in spans:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        if start > cursor:
            pieces.append(html.escape(text[cursor:start], quote=False))
        pieces.append("<mark>" + html.escape(text[start:end], quote=False) + "</mark>")
        cursor = end
    if cursor < hi:
        pieces.append(html.escape(text[cursor:hi], quote=False))
    return "".join(pieces)


def highlight_with_terms(
    text: str, terms: Iterable[str], *, width: int = 160, whole: bool = False
) -> tuple[str, set[str]]:
    """HTML-escaped text (or its best ``width``-character window) with matches in <mark>, and the terms found."""
    if not text:
        return "", set()
    normalized, offsets = normalize_with_offsets(text)
    spans_normalized = find_spans(normalized, terms)
    found = {term for _s, _e, term in spans_normalized}
    spans = [(offsets[s], offsets[e - 1] + 1, t) for s, e, t in spans_normalized]
    if whole or len(text) <= width:
        return _render(text, spans, 0, len(text)), found
    lo = _best_window(spans, len(text), width) if spans else 0
    hi = min(len(text), lo + width)
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(text) else ""
    return prefix + _render(text, spans, lo, hi) + suffix, found


def highlight(text: str, terms: Iterable[str], *, width: int = 160, whole: bool = False) -> str:
    """HTML-escaped text (or its best ``width``-character window) with matches wrapped in <mark>."""
    return highlight_with_terms(text, terms, width=width, whole=whole)[0]
