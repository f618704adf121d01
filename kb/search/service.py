"""Permission-aware search and suggestions over the index; zero-result searches are logged."""

from __future__ import annotations

from indexer.documents import SearchRequest, SearchResult
from indexer.engine import SearchEngine
from indexer.store import IndexUnavailable
from kb.auth import permissions
from kb.auth.permissions import Principal
from kb.config import Settings
from kb.db import Database
from kb.exceptions import InvalidInput, ServiceUnavailable
from kb.search.models import ZeroResultSearch


def _check_window(settings: Settings, limit: int, offset: int) -> None:
    if not 1 <= limit <= settings.max_page_size:
        raise InvalidInput(f"limit 必须在 1 到 {settings.max_page_size} 之间")
    if offset < 0:
        raise InvalidInput("offset 不能为负数")
    if offset + limit > settings.max_result_window:
        raise InvalidInput(f"最多只能翻到第 {settings.max_result_window} 条结果，请缩小搜索范围")


def build_request(
    settings: Settings,
    principal: Principal,
    query: str,
    *,
    limit: int = 10,
    offset: int = 0,
    tags: tuple[str, ...] = (),
    category: str | None = None,
    status: str | None = None,
    with_facets: bool = True,
) -> SearchRequest:
    """A SearchRequest limited to what ``principal`` may see (applied before ranking)."""
    # Control characters carry no meaning in a query (and PostgreSQL cannot store NUL in the zero-result log).
    query = "".join(ch if ch.isprintable() else " " for ch in query)
    if len(query) > settings.max_query_length:
        raise InvalidInput(f"查询过长（最多 {settings.max_query_length} 个字符）")
    _check_window(settings, limit, offset)
    visible = permissions.visible_statuses(principal)
    if status and status not in visible and not permissions.authored_drafts_visible_to(principal):
        raise InvalidInput(f"无权按状态“{status}”筛选")
    return SearchRequest(
        query=query.strip(),
        limit=limit,
        offset=offset,
        tags=tags,
        category=category or None,
        statuses=visible,
        status_filter=status or None,
        also_visible_authored_by=permissions.authored_drafts_visible_to(principal),
        with_facets=with_facets,
    )


def search(searcher: SearchEngine, db: Database, request: SearchRequest, principal: Principal) -> SearchResult:
    """Runs a search; a search with a query and no results is recorded for the knowledge-gap report."""
    try:
        result = searcher.search(request)
    except IndexUnavailable as exc:
        raise ServiceUnavailable(f"搜索索引暂不可用：{exc}") from None
    if result.total == 0 and request.query and request.offset == 0:
        with db.session() as session:
            session.add(ZeroResultSearch(query=request.query[:500], actor=principal.name))
    return result


def suggest(
    settings: Settings, searcher: SearchEngine, principal: Principal, title: str, description: str, limit: int
) -> SearchResult:
    """Articles for a ticket: key terms of its title and description, ranked, visible ones only."""
    if len(title) + len(description) > settings.max_suggestion_text:
        raise InvalidInput(f"工单文本过长（最多 {settings.max_suggestion_text} 个字符）")
    title, description = (text.replace("\x00", " ") for text in (title, description))
    if not (title.strip() or description.strip()):
        raise InvalidInput("title 和 description 不能都为空")
    request = build_request(settings, principal, "", limit=limit, with_facets=False)
    try:
        return searcher.suggest(title, description, request)
    except IndexUnavailable as exc:
        raise ServiceUnavailable(f"搜索索引暂不可用：{exc}") from None
