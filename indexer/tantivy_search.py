"""Query building and execution on tantivy, with the same ranking intent as ``indexer.search`` (Whoosh).

Field weights, AND -> minimum-should-match -> OR, the n-gram fallback, permission filters applied before
ranking (as a zero-scoring required clause), facets (terms aggregations), did-you-mean and ticket suggestions.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tantivy import Occur, Order, Query

from indexer import analysis, ranking
from indexer.analysis import QueryConcept
from indexer.documents import Facet, SearchRequest, SearchResult
from indexer.ranking import FACET_FIELDS, FACET_LIMIT, elapsed_ms, highlight_terms, make_hit
from indexer.schema import FIELD_BOOSTS, NGRAM_FIELD, WORD_FIELDS

if TYPE_CHECKING:
    from indexer.tantivy_index import TantivyIndex

SUGGEST_FIELDS = ("title", "body")


def _any(queries: list[Any]) -> Any:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Should, q) for q in queries])


def _all(queries: list[Any]) -> Any:
    return queries[0] if len(queries) == 1 else Query.boolean_query([(Occur.Must, q) for q in queries])


class TantivySearcher:
    """Runs searches and suggestions against one TantivyIndex."""

    def __init__(self, index: TantivyIndex, cache_size: int = ranking.RESULT_CACHE_SIZE) -> None:
        self.index = index
        self.schema = index.schema
        self._cache = ranking.ResultCache(cache_size)

    # --- query building ----------------------------------------------------------------------------------

    def _term(self, field: str, token: str, boost: float) -> Any:
        return Query.boost_query(Query.term_query(self.schema, field, token, index_option="freq"), boost)

    def _word(self, token: str, weight: float) -> Any:
        return _any([self._term(field, token, FIELD_BOOSTS[field] * weight) for field in WORD_FIELDS])

    def _ngram(self, token: str, weight: float) -> Any | None:
        if len(token) < 2 or not analysis.starts_with_han(token):
            return None
        grams = analysis.bigrams(token, normalized=True)
        if not grams:
            return None
        boost = FIELD_BOOSTS[NGRAM_FIELD] * weight / len(grams)
        return _all([self._term(NGRAM_FIELD, gram, boost) for gram in grams])

    def concept_query(self, concept: QueryConcept, weight: float = 1.0, *, ngram: bool = True) -> Any:
        """A concept matches when any alternative matches; an alternative matches all of its tokens.

        ``ngram=False`` leaves out the bigram fallback (suggestions use only key terms the index already knows).
        """
        options: list[Any] = []
        for tokens, alt_weight in concept.alternatives:
            w = weight * alt_weight
            if len(tokens) == 1:
                options.append(self._word(tokens[0], w))
                fallback = self._ngram(tokens[0], w) if ngram else None
                if fallback is not None:
                    options.append(fallback)
            else:
                # A phrase-like alternative must not outscore a single word just by having more tokens.
                options.append(_all([self._word(token, w / len(tokens)) for token in tokens]))
        return _any(options)

    def permission_filter(self, request: SearchRequest) -> Any:
        """Documents the caller may see, narrowed by the request's tag/category/status filters."""
        visible = [Query.term_query(self.schema, "status", status) for status in request.statuses]
        if request.also_visible_authored_by:
            visible.append(Query.term_query(self.schema, "author", request.also_visible_authored_by))
        clauses = [_any(visible) if visible else Query.empty_query()]
        clauses.extend(Query.term_query(self.schema, "tags", tag) for tag in request.tags)
        if request.category:
            clauses.append(Query.term_query(self.schema, "category", request.category))
        if request.status_filter:
            clauses.append(Query.term_query(self.schema, "status", request.status_filter))
        return _all(clauses)

    @staticmethod
    def _filtered(query: Any, allowed: Any) -> Any:
        # The filter must not change scores, so it is a required clause scoring zero.
        return Query.boolean_query([(Occur.Must, query), (Occur.Must, Query.const_score_query(allowed, 0.0))])

    # --- searching ---------------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        """Search with permissions applied before ranking; relax AND to minimum-should-match to OR (cached)."""
        started = time.perf_counter()
        searcher, state = self.index.reader()
        key = (state, request)
        cached = self._cache.get(key)
        if cached is not None:
            return replace(cached, took_ms=elapsed_ms(started))
        result = self._search(searcher, request, started)
        self._cache.put(key, result)
        return result

    def _search(self, searcher: Any, request: SearchRequest, started: float) -> SearchResult:
        concepts = analysis.query_concepts(request.query)
        allowed = self.permission_filter(request)
        if not request.query.strip():
            query = self._filtered(Query.all_query(), allowed)
            found = searcher.search(query, request.limit, True, "updated", request.offset, Order.Desc)
            return self._result(searcher, query, found, request, concepts, started, relaxed=False, scored=False)
        if not concepts:
            return SearchResult(0, [], elapsed_ms(started))
        subqueries = [self.concept_query(c) for c in concepts]
        tiers = [_all(subqueries)]
        if len(subqueries) > 1:
            minimum = ranking.minimum_should_match(len(subqueries))
            if minimum is not None:
                should = [(Occur.Should, q) for q in subqueries]
                tiers.append(Query.boolean_query(should, minimum_number_should_match=minimum))
            tiers.append(_any(subqueries))
        for tier, candidate in enumerate(tiers):
            query = self._filtered(candidate, allowed)
            found = searcher.search(query, request.limit, count=True, offset=request.offset)
            if found.count > 0:
                return self._result(searcher, query, found, request, concepts, started, relaxed=tier > 0)
        suggestion = self._did_you_mean(searcher, concepts, allowed)
        terms = tuple(c.text for c in concepts)
        return SearchResult(0, [], elapsed_ms(started), self._facets(searcher, query, request), suggestion, terms)

    def _result(
        self,
        searcher: Any,
        query: Any,
        found: Any,
        request: SearchRequest,
        concepts: list[QueryConcept],
        started: float,
        *,
        relaxed: bool,
        scored: bool = True,
    ) -> SearchResult:
        terms = highlight_terms(concepts)
        labels = ranking.concept_labels(concepts)
        hits = []
        for score, address in found.hits:
            payload = json.loads(searcher.doc(address).get_first("payload"))
            hits.append(make_hit(payload, float(score) if scored else 0.0, terms, labels))
        return SearchResult(
            total=int(found.count),
            hits=hits,
            took_ms=elapsed_ms(started),
            facets=self._facets(searcher, query, request),
            terms=tuple(c.text for c in concepts),
            relaxed=relaxed,
        )

    @staticmethod
    def _facets(searcher: Any, query: Any, request: SearchRequest) -> dict[str, Facet]:
        if not request.with_facets:
            return {}
        spec = {name: {"terms": {"field": name, "size": FACET_LIMIT}} for name in FACET_FIELDS}
        aggregated = searcher.aggregate(query, spec)
        facets: dict[str, Facet] = {}
        for name in FACET_FIELDS:
            buckets = aggregated.get(name, {}).get("buckets", [])
            counts = [(str(b["key"]), int(b["doc_count"])) for b in buckets if b["key"] != ""]
            counts.sort(key=lambda item: -item[1])  # stable: ties keep tantivy's term order
            facets[name] = Facet(name, tuple(counts))
        return facets

    def _did_you_mean(self, searcher: Any, concepts: list[QueryConcept], allowed: Any) -> str | None:
        corrected: list[str] = []
        changed = False
        for concept in concepts:
            replacement = concept.text
            if " " not in concept.text and searcher.doc_freq("body", concept.text) == 0:
                candidate = self._closest_term(searcher, concept.text, allowed)
                if candidate is not None:
                    replacement, changed = candidate, True
            corrected.append(replacement)
        if not changed:
            return None
        fixed = " ".join(corrected)
        probe = [self.concept_query(c) for c in analysis.query_concepts(fixed)]
        if not probe:
            return None
        check = searcher.search(self._filtered(_any(probe), allowed), 1, count=True)
        return fixed if check.count > 0 else None

    @staticmethod
    def _closest_term(searcher: Any, text: str, allowed: Any) -> str | None:
        # Chinese typos are one character off; Latin ones may be two, but we trust the first letter (as Whoosh).
        han = analysis.starts_with_han(text)
        limit = 1 if han else 2
        best: tuple[int, int, str] | None = None
        for field in SUGGEST_FIELDS:
            # Only terms of documents the caller may see: the vocabulary of drafts must not leak.
            for term, count in searcher.terms_with_prefix(field, text[0], filter_query=allowed):
                if term == text or count <= 0:
                    continue
                distance = ranking.edit_distance(text, term, limit)
                if distance <= limit and (best is None or (distance, -count, term) < best):
                    best = (distance, -count, term)
            if best is not None:
                return best[2]
        return None

    def suggest(self, title: str, description: str, request: SearchRequest) -> SearchResult:
        """Articles for ticket text: extract key terms (error codes first), then rank with them."""
        started = time.perf_counter()
        searcher, _state = self.index.reader()
        weighted_terms = ranking.key_terms(title, description, searcher.doc_freq, int(searcher.num_docs))
        if not weighted_terms:
            return SearchResult(0, [], elapsed_ms(started))
        query = self._filtered(
            _any([self.concept_query(concept, weight, ngram=False) for concept, weight in weighted_terms]),
            self.permission_filter(request),
        )
        found = searcher.search(query, request.limit, count=True, offset=request.offset)
        concepts = [concept for concept, _ in weighted_terms]
        plain = replace(request, with_facets=False)
        result = self._result(searcher, query, found, plain, concepts, started, relaxed=True)
        return replace(result, took_ms=elapsed_ms(started))
