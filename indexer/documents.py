"""Plain data passed into and out of the search engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class IndexableDocument:
    """One article as the index sees it."""

    slug: str
    title: str
    status: str
    updated_at: datetime
    symptoms: str = ""
    body: str = ""
    tags: tuple[str, ...] = ()
    category: str = ""
    product: str = ""
    owner: str = ""
    author: str = ""


@dataclass(frozen=True)
class SearchRequest:
    """What to search for and which documents the caller may see."""

    query: str
    limit: int = 10
    offset: int = 0
    tags: tuple[str, ...] = ()
    category: str | None = None
    statuses: tuple[str, ...] = ("published",)
    status_filter: str | None = None
    also_visible_authored_by: str | None = None
    with_facets: bool = True


@dataclass(frozen=True)
class SearchHit:
    """One matching document, with an HTML-escaped snippet whose matches are wrapped in <mark>."""

    slug: str
    title: str
    score: float
    snippet: str
    tags: tuple[str, ...]
    status: str
    updated_at: datetime
    category: str = ""
    title_html: str = ""
    matched_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facet:
    """Counts of matching documents per value of one field."""

    name: str
    counts: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SearchResult:
    """A page of hits plus totals, facets and a spelling suggestion."""

    total: int
    hits: list[SearchHit]
    took_ms: float
    facets: dict[str, Facet] = field(default_factory=dict)
    did_you_mean: str | None = None
    terms: tuple[str, ...] = ()
    relaxed: bool = False
