"""Query building and execution: AND first, then minimum-should-match, then OR; filters, facets, snippets."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from whoosh import sorting
from whoosh.query import And, Every, Or, Query, Term

from indexer import analysis, ranking
from indexer.analysis import QueryConcept
from indexer.documents import Facet, SearchRequest, SearchResult
from indexer.ranking import FACET_LIMIT, RESULT_CACHE_SIZE, elapsed_ms, highlight_terms, make_hit
from indexer.schema import FIELD_BOOSTS, NGRAM_FIELD, WORD_FIELDS

if TYPE_CHECKING:
    from indexer.index import SearchIndex


def _term_in_word_fields(token: str, weight: float) -> Query:
    return Or([Term(field, token, boost=FIELD_BOOSTS[field] * weight) for field in WORD_FIELDS])


def _ngram_query(token: str, weight: float) -> Query | None:
    if len(token) < 2 or not analysis.starts_with_han(token):
        return None
    grams = analysis.bigrams(token, normalized=True)
    if not grams:
        return None
    boost = FIELD_BOOSTS[NGRAM_FIELD] * weight
    return And([Term(NGRAM_FIELD, gram, boost=boost / len(grams)) for gram in grams])


def concept_query(concept: QueryConcept, weight: float = 1.0, *, ngram: bool = True) -> Query:
    """A concept matches when any of its alternatives matches; each alternative matches all its tokens.

    ``ngram=False`` leaves out the bigram fallback (suggestions use only key terms the index already knows).
    """
    options: list[Query] = []
    for tokens, alt_weight in concept.alternatives:
        w = weight * alt_weight
        if len(tokens) == 1:
            options.append(_term_in_word_fields(tokens[0], w))
        else:
            # A phrase-like alternative must not outscore a single word just by having more tokens.
            options.append(And([_term_in_word_fields(token, w / len(tokens)) for token in tokens]))
        if ngram and len(tokens) == 1:
            fallback = _ngram_query(tokens[0], w)
            if fallback is not None:
                options.append(fallback)
    return Or(options) if len(options) > 1 else options[0]


def permission_filter(request: SearchRequest) -> Query:
    """Documents the caller may see, narrowed by the request's tag/category/status filters."""
    visible: list[Query] = [Term("status", status) for status in request.statuses]
    if request.also_visible_authored_by:
        visible.append(Term("author", request.also_visible_authored_by))
    clauses: list[Query] = [Or(visible) if len(visible) > 1 else visible[0]]
    clauses.extend(Term("tags", tag) for tag in request.tags)
    if request.category:
        clauses.append(Term("category", request.category))
    if request.status_filter:
        clauses.append(Term("status", request.status_filter))
    return And(clauses) if len(clauses) > 1 else clauses[0]


def _facets(results: Any) -> dict[str, Facet]:
    facets: dict[str, Facet] = {}
    for name in ("tags", "category", "status"):
        try:
            groups = results.groups(name)
        except KeyError:
            continue
        counts: Counter[str] = Counter()
        for key, docs in groups.items():  # maptype=Count: docs is a count
            label = key.decode("utf-8") if isinstance(key, bytes) else key
            if label:
                counts[str(label)] += int(docs)
        facets[name] = Facet(name, tuple(counts.most_common(FACET_LIMIT)))
    return facets


def visible_documents(searcher: Any, allowed: Query) -> frozenset[int]:
    """Document numbers passing ``allowed``, cached on the searcher (so per index generation).

    Whoosh would otherwise rebuild this set from the status postings on every search; at 10k documents that
    was a quarter of the search time.
    """
    cache: dict[Query, frozenset[int]] = searcher.__dict__.setdefault("_visible_cache", {})
    docs = cache.get(allowed)
    if docs is None:
        if len(cache) > 64:
            cache.clear()
        docs = cache[allowed] = frozenset(searcher.docs_for_query(allowed))
    return docs


class Searcher:
    """Runs searches and suggestions against one SearchIndex."""

    def __init__(self, index: SearchIndex, cache_size: int = RESULT_CACHE_SIZE) -> None:
        self.index = index
        self._cache = ranking.ResultCache(cache_size)

    def search(self, request: SearchRequest) -> SearchResult:
        """Search with permissions applied before ranking; relax AND to minimum-should-match to OR.

        Results are cached per index generation: any committed change starts a new generation, so a cached
        result is never stale.
        """
        started = time.perf_counter()
        with self.index.searcher() as searcher:
            # The generation directory plus Whoosh's TOC generation identify one committed index state.
            key = (searcher._ix.storage.folder, searcher.reader().generation(), request)
            cached = self._cache.get(key)
            if cached is not None:
                return replace(cached, took_ms=elapsed_ms(started))
            result = self._search(searcher, request, started)
            self._cache.put(key, result)
            return result

    def _search(self, searcher: Any, request: SearchRequest, started: float) -> SearchResult:
        concepts = analysis.query_concepts(request.query)
        allowed = permission_filter(request)
        visible = visible_documents(searcher, allowed)
        if not visible:
            # An empty allow-set means "no filter" to Whoosh: answer here instead.
            return SearchResult(0, [], elapsed_ms(started), terms=tuple(c.text for c in concepts))
        facet_spec = None
        if request.with_facets:
            facet_spec = {
                "tags": sorting.FieldFacet("tags", allow_overlap=True, maptype=sorting.Count),
                "category": sorting.FieldFacet("category", maptype=sorting.Count),
                "status": sorting.FieldFacet("status", maptype=sorting.Count),
            }
        window = request.offset + request.limit
        if not request.query.strip():
            results = searcher.search(
                Every(),
                filter=set(visible),
                limit=window,
                groupedby=facet_spec,
                sortedby="updated_at",
                reverse=True,
            )
            return self._result(results, request, concepts, started, relaxed=False)
        if not concepts:
            return SearchResult(0, [], elapsed_ms(started))
        subqueries = [concept_query(c) for c in concepts]
        results, relaxed = None, False
        for tier, (query, permitted) in enumerate(self._tiers(searcher, subqueries, visible)):
            # limit=None: with a limit, Whoosh's total is wrong both ways (optimize=False undercounts;
            # optimize=True recounts without the filter, so drafts would show in totals). Collect all, page later.
            results = searcher.search(query, filter=permitted, limit=None, groupedby=facet_spec)
            relaxed = tier > 0
            if len(results) > 0:
                break
        result = self._result(results, request, concepts, started, relaxed=relaxed)
        if result.total == 0:
            suggestion = self._did_you_mean(searcher, concepts, visible)
            return SearchResult(0, [], elapsed_ms(started), result.facets, suggestion, result.terms)
        return result

    def _tiers(self, searcher: Any, subqueries: list[Query], visible: frozenset[int]) -> Any:
        allowed = set(visible)
        yield And(subqueries) if len(subqueries) > 1 else subqueries[0], allowed
        if len(subqueries) < 2:
            return
        minimum = ranking.minimum_should_match(len(subqueries))
        if minimum is not None:
            hits_per_doc: Counter[int] = Counter()
            for query in subqueries:
                hits_per_doc.update(visible.intersection(searcher.docs_for_query(query)))
            docs = {doc for doc, count in hits_per_doc.items() if count >= minimum}
            # Whoosh treats an empty allow-set as "no filter": never pass one, it would bypass permissions.
            if docs:
                yield Or(subqueries), docs
        yield Or(subqueries), allowed

    def _result(
        self,
        results: Any,
        request: SearchRequest,
        concepts: list[QueryConcept],
        started: float,
        *,
        relaxed: bool,
        total: int | None = None,
    ) -> SearchResult:
        terms = highlight_terms(concepts)
        page = results[request.offset : request.offset + request.limit]
        labels = ranking.concept_labels(concepts)
        # Sorted (browse) results carry the sort key in ``score``; they have no relevance score.
        hits = [
            make_hit(dict(hit.fields()), hit.score if isinstance(hit.score, int | float) else 0.0, terms, labels)
            for hit in page
        ]
        facets = _facets(results) if request.with_facets else {}
        return SearchResult(
            total=len(results) if total is None else total,
            hits=hits,
            took_ms=elapsed_ms(started),
            facets=facets,
            terms=tuple(c.text for c in concepts),
            relaxed=relaxed,
        )

    def _did_you_mean(self, searcher: Any, concepts: list[QueryConcept], visible: frozenset[int]) -> str | None:
        corrected: list[str] = []
        changed = False
        for concept in concepts:
            replacement = concept.text
            if " " not in concept.text and searcher.doc_frequency("body", concept.text) == 0:
                prefix = 0 if analysis.starts_with_han(concept.text) else 1
                for field in ("title", "body"):
                    options = searcher.suggest(
                        field, concept.text, limit=1, maxdist=1 if prefix == 0 else 2, prefix=prefix
                    )
                    if options:
                        replacement, changed = options[0], True
                        break
            corrected.append(replacement)
        if not changed:
            return None
        fixed = " ".join(corrected)
        probe = [concept_query(c) for c in analysis.query_concepts(fixed)]
        if not probe:
            return None
        check = searcher.search(Or(probe), filter=set(visible), limit=1)
        return fixed if len(check) > 0 else None

    def suggest(self, title: str, description: str, request: SearchRequest) -> SearchResult:
        """Articles for ticket text: extract key terms (error codes first), then rank with them."""
        started = time.perf_counter()
        with self.index.searcher() as searcher:
            key_terms = self.key_terms(searcher, title, description)
            if not key_terms:
                return SearchResult(0, [], elapsed_ms(started))
            visible = visible_documents(searcher, permission_filter(request))
            if not visible:
                return SearchResult(0, [], elapsed_ms(started))
            weighted = [concept_query(concept, weight, ngram=False) for concept, weight in key_terms]
            concepts = [concept for concept, _ in key_terms]
            # Suggestions show a short list and no total, so a top-N collection is enough; collecting every
            # match of a broad key term (limit=None) made the 95th percentile ten times the median at 50k.
            window = request.offset + request.limit
            results = searcher.search(Or(weighted), filter=set(visible), limit=window)
            result = self._result(results, request, concepts, started, relaxed=True, total=results.scored_length())
            return SearchResult(result.total, result.hits, elapsed_ms(started), {}, None, result.terms, True)

    def key_terms(self, searcher: Any, title: str, description: str) -> list[tuple[QueryConcept, float]]:
        """The most distinctive terms of ticket text (see ``ranking.key_terms``)."""
        return ranking.key_terms(title, description, searcher.doc_frequency, searcher.doc_count())
