"""Search behaviour: ranking intent, AND-then-relax, permissions before ranking, facets, snippets, suggestions."""

from __future__ import annotations

from indexer.documents import SearchRequest
from indexer.engine import SearchEngine, create_engine

ALL = ("draft", "in_review", "published", "retired")


def search(index: SearchEngine, query: str, **kwargs: object) -> object:
    """Run a search with defaults."""
    return index.search(SearchRequest(query, **kwargs))  # type: ignore[arg-type]


def top(index: SearchEngine, query: str, **kwargs: object) -> str | None:
    """Slug of the best hit."""
    result = search(index, query, **kwargs)
    return result.hits[0].slug if result.hits else None  # type: ignore[attr-defined]


class TestRanking:
    def test_title_match_ranks_first(self, index: SearchEngine) -> None:
        assert top(index, "Nginx 502") == "nginx-502"
        assert top(index, "网关超时") == "nginx-504"

    def test_error_codes_find_their_article(self, index: SearchEngine) -> None:
        assert top(index, "0x80070005") == "win-update"
        assert top(index, "ORA-00942") == "oracle-942"
        assert top(index, "ora-00942 报错") == "oracle-942"

    def test_traditional_and_full_width_queries_match_simplified_articles(self, index: SearchEngine) -> None:
        assert top(index, "印表機離線") == "printer-offline"
        assert top(index, "ＮＧＩＮＸ　５０２") == "nginx-502"

    def test_synonyms_bridge_chinese_and_english(self, index: SearchEngine) -> None:
        assert top(index, "磁盘空间不足") == "disk-full"
        assert top(index, "SSO 登录失败") == "sso-saml"

    def test_ngram_fallback_matches_words_segmented_differently(self, index: SearchEngine) -> None:
        # "接池" is not a jieba word; only the character bigram field can match it.
        assert top(index, "接池") == "mysql-timeout"


class TestAndThenRelax:
    def test_all_terms_present_is_not_relaxed(self, index: SearchEngine) -> None:
        result = search(index, "Nginx 502")
        assert not result.relaxed  # type: ignore[attr-defined]

    def test_a_query_with_an_unmatched_term_relaxes_instead_of_returning_nothing(self, index: SearchEngine) -> None:
        result = search(index, "Nginx 502 完全不相干的词语 卡夫卡")
        assert result.relaxed  # type: ignore[attr-defined]
        assert result.hits[0].slug == "nginx-502"  # type: ignore[attr-defined]

    def test_minimum_should_match_drops_documents_matching_too_few_terms(self, index: SearchEngine) -> None:
        # 4 concepts, at least 3 must match: only the 502 article has nginx, 502 and upstream.
        result = search(index, "nginx 502 upstream 火星文")
        assert [h.slug for h in result.hits] == ["nginx-502"]  # type: ignore[attr-defined]


class TestPermissionsBeforeRanking:
    def test_drafts_are_invisible_in_hits_totals_facets_and_snippets(self, index: SearchEngine) -> None:
        result = search(index, "qzxsecret")
        assert result.total == 0  # type: ignore[attr-defined]
        assert result.hits == []  # type: ignore[attr-defined]
        tag_values = [value for value, _ in result.facets.get("tags", ()).counts] if result.facets.get("tags") else []  # type: ignore[attr-defined]
        assert "secret-tag" not in tag_values

    def test_browsing_without_a_query_counts_only_visible_documents(self, index: SearchEngine) -> None:
        result = search(index, "", limit=50)
        assert result.total == 8  # type: ignore[attr-defined]
        assert {"draft-vpn", "retired-oom"}.isdisjoint(h.slug for h in result.hits)  # type: ignore[attr-defined]

    def test_reviewers_see_every_status(self, index: SearchEngine) -> None:
        assert top(index, "qzxsecret", statuses=ALL) == "draft-vpn"
        assert top(index, "OutOfMemoryError", statuses=ALL) == "retired-oom"

    def test_authors_see_their_own_drafts(self, index: SearchEngine) -> None:
        assert top(index, "qzxsecret", also_visible_authored_by="bob") == "draft-vpn"
        assert top(index, "qzxsecret", also_visible_authored_by="alice") is None


class TestFiltersFacetsPagination:
    def test_category_and_tag_filters(self, index: SearchEngine) -> None:
        result = search(index, "", category="数据库", limit=50)
        assert {h.slug for h in result.hits} == {"mysql-timeout", "oracle-942"}  # type: ignore[attr-defined]
        result = search(index, "", tags=("nginx", "504"), limit=50)
        assert [h.slug for h in result.hits] == ["nginx-504"]  # type: ignore[attr-defined]

    def test_facet_counts_cover_all_matches(self, index: SearchEngine) -> None:
        result = search(index, "nginx")
        facets = result.facets  # type: ignore[attr-defined]
        assert dict(facets["tags"].counts)["nginx"] == 2
        assert dict(facets["category"].counts) == {"Web服务器": 2}

    def test_pagination_returns_disjoint_pages_with_the_same_total(self, index: SearchEngine) -> None:
        first = search(index, "", limit=3, offset=0)
        second = search(index, "", limit=3, offset=3)
        assert first.total == second.total == 8  # type: ignore[attr-defined]
        assert {h.slug for h in first.hits}.isdisjoint(h.slug for h in second.hits)  # type: ignore[attr-defined]


class TestSnippets:
    def test_matches_are_marked_and_text_is_escaped(self, index: SearchEngine) -> None:
        hit = search(index, "connect 502").hits[0]  # type: ignore[attr-defined]
        assert "<mark>502</mark>" in hit.snippet
        assert "<mark>connect</mark>" in hit.snippet
        assert "<" not in hit.snippet.replace("<mark>", "").replace("</mark>", "")

    def test_traditional_query_marks_the_simplified_text(self, index: SearchEngine) -> None:
        hit = search(index, "印表機").hits[0]  # type: ignore[attr-defined]
        assert "<mark>打印机</mark>" in hit.title_html


class TestDidYouMean:
    def test_a_misspelt_english_word_gets_a_suggestion(self, index: SearchEngine) -> None:
        result = search(index, "ngnix")
        assert result.total == 0  # type: ignore[attr-defined]
        assert result.did_you_mean == "nginx"  # type: ignore[attr-defined]

    def test_gibberish_gets_no_suggestion(self, index: SearchEngine) -> None:
        assert search(index, "zzqqxxyy").did_you_mean is None  # type: ignore[attr-defined]


class TestSuggestions:
    def test_ticket_text_is_reduced_to_key_terms_and_codes(self, index: SearchEngine) -> None:
        title = "用户电脑更新失败"
        description = (
            "您好，今天上午财务部的同事反馈说电脑一直提示更新，然后点了以后报错 0x80070005，"
            "重启了好几次还是不行，麻烦尽快帮忙看一下，谢谢！联系电话在工单里。"
        )
        result = index.suggest(title, description, SearchRequest("", limit=3))
        assert result.hits[0].slug == "win-update"
        assert "0x80070005" in result.terms
        assert len(result.terms) <= 8
        assert "0x80070005" in result.hits[0].matched_terms

    def test_suggestions_respect_permissions(self, index: SearchEngine) -> None:
        result = index.suggest("VPN 报错 qzxsecret", "", SearchRequest("", limit=5))
        assert "draft-vpn" not in [h.slug for h in result.hits]


class TestRelaxedTiersNeverWidenPermissions:
    def test_a_relaxed_search_with_no_visible_partial_match_does_not_fall_back_to_all_documents(
        self, index: SearchEngine
    ) -> None:
        # Only the draft has all of these words; the minimum-should-match tier finds no visible document,
        # and an empty allow-set must not turn into "no filter".
        result = search(index, "VPN 草稿机密词 qzxsecret 泄露")
        assert "draft-vpn" not in [h.slug for h in result.hits]  # type: ignore[attr-defined]


class TestExactTotals:
    def test_totals_count_every_visible_match_and_no_invisible_one(self, tmp_path: object, engine_name: str) -> None:
        from pathlib import Path

        from tests.indexer.conftest import doc

        documents = [doc(f"pub-{n}", f"密码重置 失败 案例 {n}", body="重置 密码") for n in range(40)]
        documents += [doc(f"draft-{n}", f"密码重置 草稿 {n}", status="draft") for n in range(60)]
        index = create_engine(engine_name, Path(str(tmp_path)) / "totals")
        index.acquire_writer()
        index.rebuild(documents, position=1)
        for with_facets in (True, False):
            for query in ("密码重置", "密码重置 失败", "密码重置 失败 火星文 案例"):
                result = search(index, query, limit=5, with_facets=with_facets)
                assert result.total == 40, (query, with_facets)  # type: ignore[attr-defined]
                assert all(h.slug.startswith("pub-") for h in result.hits)  # type: ignore[attr-defined]
        index.close()
