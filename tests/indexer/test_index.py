"""Index generations: open, detect missing/corrupt/stale, apply changes, rebuild-and-swap, single writer."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from indexer.documents import SearchRequest
from indexer.engine import ENGINES, SearchEngine, create_engine
from indexer.store import IndexChange, IndexUnavailable, WriterBusy
from tests.indexer.conftest import DOCUMENTS, doc


def slugs(index: SearchEngine, query: str, statuses: tuple[str, ...] = ("published",)) -> list[str]:
    """Slugs found for ``query``."""
    result = index.search(SearchRequest(query, statuses=statuses, limit=20))
    return [hit.slug for hit in result.hits]


class TestOpening:
    def test_a_new_root_reports_missing(self, tmp_path: Path, engine_name: str) -> None:
        health = create_engine(engine_name, tmp_path / "empty").open()
        assert health.state == "missing"

    def test_a_built_index_opens_with_its_documents_and_position(self, index: SearchEngine) -> None:
        health = index.open()
        assert (health.state, health.doc_count, health.position) == ("ok", len(DOCUMENTS), len(DOCUMENTS))

    def test_a_schema_version_mismatch_is_reported_as_stale(self, index: SearchEngine) -> None:
        state_path = index.generation_dir() / "state.json"  # type: ignore[operator]
        state = json.loads(state_path.read_text())
        state["schema_version"] = "old-version"
        state_path.write_text(json.dumps(state))
        assert index.open().state == "stale"

    def test_a_corrupt_index_is_detected(self, index: SearchEngine) -> None:
        gen_dir = index.generation_dir()
        assert gen_dir is not None
        for path in gen_dir.iterdir():
            if path.is_file() and path.name != "state.json":
                path.write_bytes(b"garbage")
        assert index.open().state == "corrupt"

    def test_an_index_built_by_the_other_engine_is_stale(self, index: SearchEngine) -> None:
        other = next(name for name in ENGINES if name != index.name)
        switched = create_engine(other, index.root)
        health = switched.open()
        assert health.state == "stale"
        assert index.name in health.detail and other in health.detail

    def test_searching_an_unusable_index_raises_index_unavailable(self, tmp_path: Path, engine_name: str) -> None:
        empty = create_engine(engine_name, tmp_path / "none")
        empty.open()
        with pytest.raises(IndexUnavailable):
            empty.search(SearchRequest("nginx"))


class TestApplyingChanges:
    def test_upsert_and_delete_are_visible_to_the_next_search(self, index: SearchEngine) -> None:
        index.apply([IndexChange("new-doc", doc("new-doc", "Kafka 消费积压 consumer lag"))], position=20)
        assert slugs(index, "Kafka 消费积压") == ["new-doc"]
        index.apply([IndexChange("new-doc", None)], position=21)
        assert slugs(index, "Kafka 消费积压") == []
        assert index.position() == 21

    def test_applying_the_same_change_twice_converges(self, index: SearchEngine) -> None:
        change = IndexChange("nginx-502", doc("nginx-502", "Nginx 502 改过的标题"))
        index.apply([change], position=30)
        index.apply([change], position=30)
        assert index.doc_count() == len(DOCUMENTS)

    def test_only_the_writer_may_apply(self, tmp_path: Path, index: SearchEngine) -> None:
        reader = create_engine(index.name, index.root)
        reader.open()
        with pytest.raises(WriterBusy):
            reader.apply([], position=1)
        with pytest.raises(WriterBusy):
            reader.acquire_writer()


class TestRebuildAndSwap:
    def test_rebuild_swaps_in_a_new_generation_and_readers_follow(self, index: SearchEngine) -> None:
        reader = create_engine(index.name, index.root)
        reader.open()
        old_generation = index.generation_dir()
        index.rebuild([doc("only-one", "唯一的文章 Redis OOM")], position=99)
        assert index.generation_dir() != old_generation
        assert slugs(reader, "Redis") == ["only-one"]
        assert reader.position() == 99

    def test_search_keeps_answering_during_a_rebuild(self, index: SearchEngine) -> None:
        errors: list[BaseException] = []
        stop = threading.Event()

        def search_loop() -> None:
            while not stop.is_set():
                try:
                    assert "nginx-502" in slugs(index, "Nginx 502")
                except BaseException as exc:
                    errors.append(exc)
                    return

        thread = threading.Thread(target=search_loop)
        thread.start()
        try:
            for _ in range(3):
                index.rebuild(DOCUMENTS, position=10)
        finally:
            stop.set()
            thread.join()
        assert errors == []

    def test_old_generations_are_cleaned_up(self, index: SearchEngine) -> None:
        for _ in range(4):
            index.rebuild(DOCUMENTS, position=1)
        generations = [p for p in index.root.iterdir() if p.name.startswith("gen-")]
        assert len(generations) <= 2


class TestSegments:
    def test_incremental_commits_do_not_pile_up_segments(self, index: SearchEngine) -> None:
        for number in range(12):
            index.apply([IndexChange(f"edit-{number}", doc(f"edit-{number}", f"第 {number} 次编辑"))], position=100)
        if index.name == "whoosh":
            assert len(index._ix._segments()) == 1  # type: ignore[attr-defined]
        else:
            searcher, _state = index.reader()  # type: ignore[attr-defined]
            assert searcher.num_segments <= 8  # tantivy's log merge policy keeps at most 8 per level
        assert index.doc_count() == len(DOCUMENTS) + 12
        assert slugs(index, "编辑") != []
