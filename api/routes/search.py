"""Search and ticket suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import ApiPrincipal, ServicesDep
from indexer.documents import SearchHit, SearchResult
from kb.article.schemas import Status
from kb.search import service

router = APIRouter(prefix="/api/v1", tags=["search"])


class HitOut(BaseModel):
    """One search hit; ``snippet`` is HTML-escaped text with matches wrapped in <mark>."""

    slug: str
    title: str
    score: float
    snippet: str
    tags: list[str]
    status: str
    updated_at: datetime
    category: str = ""
    matched_terms: list[str] = Field(default_factory=list)


class FacetCount(BaseModel):
    """A facet value and how many matching articles have it."""

    value: str
    count: int


class SearchOut(BaseModel):
    """A page of search results."""

    total: int
    took_ms: float
    hits: list[HitOut]
    facets: dict[str, list[FacetCount]] = Field(default_factory=dict)
    did_you_mean: str | None = None
    relaxed: bool = False


class SuggestionIn(BaseModel):
    """Ticket text to suggest articles for."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(default="", max_length=500)
    description: str = Field(default="", max_length=20_000)
    limit: int = Field(default=5, ge=1, le=50)


class SuggestionOut(BaseModel):
    """Suggested articles, best first; ``matched_terms`` says why each was suggested."""

    hits: list[HitOut]
    key_terms: list[str]
    took_ms: float


def hit_out(hit: SearchHit) -> HitOut:
    """API view of a SearchHit."""
    return HitOut(
        slug=hit.slug,
        title=hit.title,
        score=hit.score,
        snippet=hit.snippet,
        tags=list(hit.tags),
        status=hit.status,
        updated_at=hit.updated_at,
        category=hit.category,
        matched_terms=list(hit.matched_terms),
    )


def search_out(result: SearchResult) -> SearchOut:
    """API view of a SearchResult."""
    return SearchOut(
        total=result.total,
        took_ms=result.took_ms,
        hits=[hit_out(h) for h in result.hits],
        facets={name: [FacetCount(value=v, count=c) for v, c in facet.counts] for name, facet in result.facets.items()},
        did_you_mean=result.did_you_mean,
        relaxed=result.relaxed,
    )


@router.get("/search", response_model=SearchOut)
def search(
    services: ServicesDep,
    principal: ApiPrincipal,
    q: Annotated[str, Query(description="查询词：中文、英文、错误码均可")] = "",
    limit: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    tag: Annotated[list[str] | None, Query(description="按标签筛选，可重复")] = None,
    category: str | None = None,
    status: Status | None = None,
    facets: Annotated[bool, Query(description="同时返回分面计数（标签、分类、状态）；约占搜索时间的四分之一")] = False,
) -> Any:
    """Full-text search over the articles the caller may see."""
    request = service.build_request(
        services.settings,
        principal,
        q,
        limit=limit,
        offset=offset,
        tags=tuple(tag or ()),
        category=category,
        status=status,
        with_facets=facets,
    )
    return search_out(service.search(services.index, services.db, request, principal))


@router.post("/suggestions", response_model=SuggestionOut)
def suggestions(body: SuggestionIn, services: ServicesDep, principal: ApiPrincipal) -> Any:
    """Articles most likely to solve a ticket, from its title and description."""
    result = service.suggest(services.settings, services.index, principal, body.title, body.description, body.limit)
    return SuggestionOut(hits=[hit_out(h) for h in result.hits], key_terms=list(result.terms), took_ms=result.took_ms)
