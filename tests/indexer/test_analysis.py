"""Golden tests of the Chinese analysis pipeline on real support phrases."""

from __future__ import annotations

import pytest

from indexer import analysis
from indexer.analysis import INDEX, QUERY, analyze, bigrams, normalize, query_concepts, user_dictionary_path


class TestNormalisation:
    def test_full_width_becomes_half_width_and_lower_case(self) -> None:
        assert normalize("ＶＰＮ　连接失败 ＥＲＲＯＲ　１０４０") == "vpn 连接失败 error 1040"

    def test_traditional_becomes_simplified_with_it_vocabulary(self) -> None:
        assert normalize("資料庫連線逾時，印表機離線") == "数据库连接逾时,打印机脱机"

    def test_index_and_query_paths_agree_on_traditional_text(self) -> None:
        assert analyze("記憶體不足", QUERY) == analyze("内存不足", QUERY)


class TestExactTokens:
    @pytest.mark.parametrize(
        ("text", "token"),
        [
            ("Windows 更新失败 0x80070005", "0x80070005"),
            ("ORA-00942: table or view does not exist", "ora-00942"),
            ("Chrome 报 ERR_CONNECTION_RESET", "err_connection_reset"),
            ("退信 550 5.7.501 Service unavailable", "5.7.501"),
            ("升级到 v6.5.0 之后", "v6.5.0"),
            ("修改 nginx.conf 后 reload 失败", "nginx.conf"),
            ("连不上 db01.prod.example.com", "db01.prod.example.com"),
            ("日志在 /var/log/nginx/error.log", "var/log/nginx/error.log"),
            ("ping 10.20.30.40 不通", "10.20.30.40"),
            ("网关返回 502", "502"),
        ],
    )
    def test_codes_versions_hosts_paths_ips_status_codes_stay_whole(self, text: str, token: str) -> None:
        assert token in analyze(text, INDEX)
        assert token in analyze(text, QUERY)

    def test_compound_parts_are_indexed_beside_the_whole_token(self) -> None:
        tokens = analyze("ERR_CONNECTION_RESET 和 nginx.conf", INDEX)
        assert {"err_connection_reset", "connection", "reset", "nginx.conf", "nginx", "conf"} <= set(tokens)

    def test_queries_keep_compounds_whole(self) -> None:
        assert analyze("nginx.conf", QUERY) == ["nginx.conf"]


class TestChineseSegmentation:
    def test_every_user_word_can_match_after_normalisation(self) -> None:
        # OpenCC tw2sp also rewrites some simplified phrases (文件→文档, 程序→进程); text is segmented after that,
        # so the dictionary must hold the normalised form of every word too.
        words = {line.split()[0] for line in user_dictionary_path().read_text(encoding="utf-8").splitlines() if line}
        assert sorted(w for w in words if normalize(w) not in words) == []
        assert "配置文档" in analyze("修改配置文件后重启", QUERY)

    def test_mixed_chinese_english_phrase(self) -> None:
        assert analyze("MySQL 连接超时：Lost connection to MySQL server", QUERY) == [
            "mysql",
            "连接超时",
            "lost",
            "connection",
            "mysql",
            "server",
        ]

    def test_user_dictionary_keeps_it_terms_whole(self) -> None:
        assert "打印机" in analyze("打印机脱机了怎么办", QUERY)
        assert "单点登录" in analyze("单点登录失败", QUERY)
        assert "主从复制" in analyze("主从复制中断", QUERY)

    def test_index_mode_adds_sub_words(self) -> None:
        tokens = analyze("数据库连接超时", INDEX)
        assert {"数据库", "连接", "超时", "连接超时"} <= set(tokens)

    def test_full_width_text_single_letters_and_rare_characters_survive(self) -> None:
        tokens = analyze("ＶＰＮ 𠮷野家 C 盘 鲲鹏", QUERY)
        assert "vpn" in tokens
        assert "𠮷" in tokens
        assert "c" in tokens
        assert "鲲鹏" in tokens

    def test_stop_words_are_dropped(self) -> None:
        assert analyze("请问打印机脱机了怎么办", QUERY) == ["打印机", "脱机"]
        assert "the" not in analyze("the server is down", QUERY)


class TestSynonyms:
    def test_chinese_slang_expands_to_english_and_formal_terms(self) -> None:
        concept = query_concepts("服务挂了")[-1]
        alternatives = {tokens for tokens, _ in concept.alternatives}
        assert ("宕机",) in alternatives
        assert ("down",) in alternatives

    def test_abbreviations_expand(self) -> None:
        concept = query_concepts("OOM")[0]
        assert ("内存溢出",) in {tokens for tokens, _ in concept.alternatives}
        sso = query_concepts("SSO")[0]
        assert ("单点登录",) in {tokens for tokens, _ in sso.alternatives}

    def test_multi_word_english_synonym_matches_as_a_whole(self) -> None:
        concepts = query_concepts("磁盘满 no space left")
        assert len(concepts) == 1
        assert ("no", "space", "left") in {tokens for tokens, _ in concepts[0].alternatives}

    def test_codes_are_marked_and_offer_their_words(self) -> None:
        concept = query_concepts("ERR_CONNECTION_RESET")[0]
        assert concept.is_code
        assert ("err", "connection", "reset") in {tokens for tokens, _ in concept.alternatives}


class TestBigrams:
    def test_han_runs_become_bigrams(self) -> None:
        assert bigrams("鲲鹏服务器 abc 鲲") == ["鲲鹏", "鹏服", "服务", "务器", "鲲"]

    def test_bigrams_are_normalised(self) -> None:
        assert bigrams("伺服器") == bigrams("服务器")


class TestSchemaFingerprint:
    def test_fingerprint_is_stable_within_a_process(self) -> None:
        assert analysis.dictionary_fingerprint() == analysis.dictionary_fingerprint()
