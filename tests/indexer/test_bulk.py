"""Full builds on several processes give the same index as one process, even when writers spill to disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from whoosh import index as whoosh_index
from whoosh.query import Term

from indexer import bulk
from indexer.documents import IndexableDocument
from tests.indexer.conftest import doc

TOPICS = ["Nginx 502 网关错误", "MySQL 死锁 1213", "磁盘满 No space left", "VPN 连接失败 809", "打印机脱机"]


def documents(count: int) -> list[IndexableDocument]:
    """Varied documents with enough text to make small writers spill their postings to disk."""
    return [
        doc(
            f"d{number:05d}",
            f"{TOPICS[number % len(TOPICS)]} 案例{number}",
            body=f"第{number}号案例 错误码 E{number:05d} " + "排查步骤与解决方案，检查日志、配置和依赖服务。" * 20,
        )
        for number in range(count)
    ]


def build(tmp_path: Path, name: str, workers: int) -> object:
    """Build ``documents(1200)`` with ``workers`` processes and 1 MB writers; return the opened index."""
    gen_dir = tmp_path / name
    gen_dir.mkdir()
    bulk.build(gen_dir, documents(1200), workers=workers, parallel_threshold=100, memory_mb=1)
    assert not (gen_dir / "MAIN.tmp").exists()
    return whoosh_index.open_dir(str(gen_dir))


@pytest.mark.slow
class TestParallelBuild:
    def test_parallel_and_single_process_builds_hold_the_same_postings(self, tmp_path: Path) -> None:
        single = build(tmp_path, "single", workers=1)
        parallel = build(tmp_path, "parallel", workers=2)
        with single.searcher() as one, parallel.searcher() as two:  # type: ignore[attr-defined]
            assert one.doc_count() == two.doc_count() == 1200
            assert len(parallel._segments()) == 2  # type: ignore[attr-defined]
            for term in ("e00042", "死锁", "网关", "案例"):
                assert one.doc_frequency("body", term) == two.doc_frequency("body", term)
            hits = [[h["slug"] for h in s.search(Term("body", "e00042"))] for s in (one, two)]
            assert hits == [["d00042"], ["d00042"]]
            assert one.doc_frequency("title", "死锁") == two.doc_frequency("title", "死锁") == 240
