"""Engine-neutral parts of searching: tiers, key terms of ticket text, hit building and the result cache."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import datetime
from typing import Any

from indexer import analysis, highlight
from indexer.analysis import QueryConcept
from indexer.documents import SearchHit, SearchResult

MINIMUM_SHOULD_MATCH = 0.6
MAX_KEY_TERMS = 8
FACET_LIMIT = 30
FACET_FIELDS = ("tags", "category", "status")
RESULT_CACHE_SIZE = 512


def minimum_should_match(concept_count: int) -> int | None:
    """How many of ``concept_count`` concepts the middle tier requires, or None when that tier is pointless."""
    minimum = max(1, math.ceil(concept_count * MINIMUM_SHOULD_MATCH))
    return minimum if 1 < minimum < concept_count else None


def highlight_terms(concepts: Sequence[QueryConcept]) -> set[str]:
    """Every token any alternative of the concepts could match, for highlighting."""
    terms: set[str] = set()
    for concept in concepts:
        for tokens, _weight in concept.alternatives:
            # A lone Chinese character inside a multi-word alternative would light up everywhere.
            terms.update(t for t in tokens if len(tokens) == 1 or not (len(t) == 1 and analysis.starts_with_han(t)))
    return terms


def concept_labels(concepts: Sequence[QueryConcept]) -> dict[str, str]:
    """Token -> the query concept it stands for (so a synonym hit reports the term the user typed)."""
    labels: dict[str, str] = {}
    for concept in concepts:
        for tokens, _weight in concept.alternatives:
            for token in tokens:
                labels.setdefault(token, concept.text)
    return labels


def make_hit(fields: Mapping[str, Any], score: float, terms: set[str], labels: dict[str, str]) -> SearchHit:
    """A SearchHit from stored fields, with snippet and title highlighted by the engine-neutral highlighter."""
    title = fields.get("title", "")
    tags = tuple(t for t in fields.get("tags", "").split(",") if t)
    snippet, in_source = highlight.highlight_with_terms(fields.get("snippet_source", ""), terms)
    title_html, in_title = highlight.highlight_with_terms(title, terms, whole=True)
    _, in_tags = highlight.highlight_with_terms(" ".join(tags), terms, whole=True)
    found = in_title | in_tags | in_source
    return SearchHit(
        slug=fields["slug"],
        title=title,
        score=round(float(score), 4),
        snippet=snippet,
        tags=tags,
        status=fields.get("status", ""),
        updated_at=datetime.fromisoformat(fields["updated_at"]),
        category=fields.get("category", ""),
        title_html=title_html,
        matched_terms=tuple(dict.fromkeys(labels.get(term, term) for term in sorted(found))),
    )


def key_terms(
    title: str, description: str, doc_frequency: Callable[[str, str], int], total_docs: int
) -> list[tuple[QueryConcept, float]]:
    """The most distinctive terms of ticket text, weighted by tf-idf; error codes always kept."""
    counts: Counter[str] = Counter()
    concepts: dict[str, QueryConcept] = {}
    for text, factor in ((title, 2.0), (description, 1.0)):
        for concept in analysis.query_concepts(text, max_concepts=200):
            counts[concept.text] += int(factor)
            concepts.setdefault(concept.text, concept)
    total_docs = max(1, total_docs)
    scored: list[tuple[float, str]] = []
    for text, tf in counts.items():
        concept = concepts[text]
        df = max(doc_frequency(field, tokens[0]) for tokens, _ in concept.alternatives for field in ("title", "body"))
        if (df == 0 and not concept.is_code) or (len(text) == 1 and analysis.starts_with_han(text)):
            continue
        idf = math.log(1 + total_docs / (1 + df))
        weight = (1 + math.log(tf)) * idf * (3.0 if concept.is_code else 1.0)
        scored.append((weight, text))
    scored.sort(reverse=True)
    top = scored[:MAX_KEY_TERMS]
    if not top:
        return []
    best = top[0][0]
    return [(concepts[text], max(0.2, weight / best)) for weight, text in top]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` as soon as it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a perf_counter reading)."""
    return round((time.perf_counter() - started) * 1000, 3)


class ResultCache:
    """LRU of SearchResults keyed by (committed index state, request): a new commit means new keys."""

    def __init__(self, size: int = RESULT_CACHE_SIZE) -> None:
        self._entries: OrderedDict[Hashable, SearchResult] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> SearchResult | None:
        """The cached result for ``key``, if any."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: Hashable, result: SearchResult) -> None:
        """Remember ``result`` for ``key``, evicting the least recently used entries."""
        if self._size <= 0:
            return
        with self._lock:
            self._entries[key] = result
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
