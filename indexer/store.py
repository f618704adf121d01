"""Engine-neutral index generations: open, detect missing/corrupt/stale, one writer, rebuild-and-swap.

Layout under the index root (shared by every engine)::

    CURRENT            {"generation": "gen-...", "engine": "...", "schema_version": "..."}, replaced atomically
    writer.lock        held (flock) by the one process that applies changes
    gen-<id>/          one engine's index files plus state.json {"engine", "schema_version", "position"}

``position`` is the last change-log position applied to that generation; applying is idempotent (upserts by
slug), so replaying from a lower position after a crash converges on the right state. A generation written by
another engine or schema version is reported as stale, which makes the writer rebuild it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer import analysis
from indexer.documents import IndexableDocument


class IndexUnavailable(Exception):
    """The index cannot answer: missing, corrupt, stale or being rebuilt."""


class WriterBusy(Exception):
    """Another process holds the index writer lock."""


@dataclass(frozen=True)
class IndexChange:
    """Upsert ``document`` under ``slug``, or delete ``slug`` when ``document`` is None."""

    slug: str
    document: IndexableDocument | None


@dataclass(frozen=True)
class IndexHealth:
    """What ``open`` found."""

    state: str  # ok | missing | corrupt | stale
    detail: str
    doc_count: int = 0
    position: int = 0


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never a partial one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class GenerationalIndex:
    """One index root: the current generation, its reader handle and (in one process) its writer.

    Engines subclass this and implement the ``_open_generation``, ``_build_generation``, ``_apply_changes`` and
    ``schema_version`` hooks; everything about files, locks and swapping lives here.
    """

    name = "abstract"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._generation: str | None = None
        self._pointer_stamp: tuple[int, int] | None = None
        self._writer_lock_handle: Any = None
        self.health = IndexHealth("missing", "not opened")

    # --- hooks -------------------------------------------------------------------------------------------

    def schema_version(self) -> str:
        """Changes whenever this engine's schema, the analyzer or its dictionaries change."""
        raise NotImplementedError

    def _open_generation(self, gen_dir: Path) -> int:
        """Open the engine's files in ``gen_dir`` for reading, prove they answer, return the document count."""
        raise NotImplementedError

    def _close_generation(self) -> None:
        """Forget the open generation's handles."""
        raise NotImplementedError

    def _build_generation(
        self,
        gen_dir: Path,
        documents: list[IndexableDocument],
        progress: Callable[[int], None] | None,
        workers: int | None,
    ) -> None:
        """Write a complete index of ``documents`` into the empty directory ``gen_dir``."""
        raise NotImplementedError

    def _apply_changes(self, changes: Iterable[IndexChange]) -> int:
        """Upsert/delete ``changes`` in the open generation and commit; return how many were applied."""
        raise NotImplementedError

    # --- generations -------------------------------------------------------------------------------------

    @property
    def pointer_path(self) -> Path:
        """The CURRENT pointer file."""
        return self.root / "CURRENT"

    def _pointer_signature(self) -> tuple[int, int] | None:
        try:
            stat = self.pointer_path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns)

    def generation_dir(self) -> Path | None:
        """Directory of the generation currently in use, if any."""
        return self.root / self._generation if self._generation else None

    def _state(self) -> dict[str, Any]:
        return {"engine": self.name, "schema_version": self.schema_version()}

    def open(self) -> IndexHealth:
        """Open the current generation and report whether it is usable (never rebuilds by itself)."""
        with self._lock:
            self._close_generation()
            self._generation = None
            stamp = self._pointer_signature()
            pointer = read_json(self.pointer_path)
            if pointer is None or "generation" not in pointer:
                self.health = IndexHealth("missing", "没有索引（尚未构建）")
                return self.health
            generation = str(pointer["generation"])
            gen_dir = self.root / generation
            state = read_json(gen_dir / "state.json")
            if state is None or not gen_dir.is_dir():
                self.health = IndexHealth("missing", f"索引目录 {generation} 不存在或不完整")
                return self.health
            built_by = str(state.get("engine", "whoosh"))
            if built_by != self.name:
                self.health = IndexHealth("stale", f"索引由 {built_by} 引擎构建，当前配置为 {self.name}，需要重建")
                return self.health
            expected = self.schema_version()
            if state.get("schema_version") != expected:
                self.health = IndexHealth(
                    "stale",
                    f"索引结构版本 {state.get('schema_version')} 与当前版本 {expected} 不一致，需要重建",
                )
                return self.health
            try:
                count = self._open_generation(gen_dir)
            except Exception as exc:
                self._close_generation()
                self.health = IndexHealth("corrupt", f"索引已损坏：{type(exc).__name__}: {exc}")
                return self.health
            self._generation = generation
            self._pointer_stamp = stamp
            self.health = IndexHealth("ok", "索引可用", count, int(state.get("position", 0)))
            return self.health

    @property
    def is_open(self) -> bool:
        """Whether a usable generation is open."""
        return self._generation is not None

    def _refresh_if_swapped(self) -> None:
        if self._pointer_signature() != self._pointer_stamp:
            self.open()

    def require_open(self) -> Path:
        """The open generation's directory (following a swap by another process), or IndexUnavailable."""
        self._refresh_if_swapped()
        gen_dir = self.generation_dir()
        if gen_dir is None:
            raise IndexUnavailable(self.health.detail)
        return gen_dir

    def position(self) -> int:
        """Last change-log position applied to the open generation."""
        self._refresh_if_swapped()
        gen_dir = self.generation_dir()
        state = read_json(gen_dir / "state.json") if gen_dir else None
        return int(state.get("position", 0)) if state else 0

    # --- writing -----------------------------------------------------------------------------------------

    def acquire_writer(self) -> None:
        """Become this root's single writer; raises WriterBusy when another process is."""
        if self._writer_lock_handle is not None:
            return
        handle = open(self.root / "writer.lock", "a+")  # noqa: SIM115  (held for the process lifetime)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WriterBusy("另一个进程正在写入索引") from None
        self._writer_lock_handle = handle

    def release_writer(self) -> None:
        """Give up the writer role."""
        if self._writer_lock_handle is not None:
            fcntl.flock(self._writer_lock_handle.fileno(), fcntl.LOCK_UN)
            self._writer_lock_handle.close()
            self._writer_lock_handle = None

    @property
    def is_writer(self) -> bool:
        """Whether this object holds the writer lock."""
        return self._writer_lock_handle is not None

    def apply(self, changes: Iterable[IndexChange], position: int) -> int:
        """Apply changes in order and record ``position``; only the writer may call this."""
        if not self.is_writer:
            raise WriterBusy("只有持有写锁的进程可以写索引")
        with self._lock:
            gen_dir = self.require_open()
            applied = self._apply_changes(changes)
            write_json_atomically(gen_dir / "state.json", {**self._state(), "position": position})
            return applied

    def rebuild(
        self,
        documents: Iterable[IndexableDocument],
        position: int,
        progress: Callable[[int], None] | None = None,
        workers: int | None = None,
    ) -> IndexHealth:
        """Build a fresh generation from ``documents`` and swap it in atomically; searches keep answering."""
        analysis.initialize()
        generation = f"gen-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        gen_dir = self.root / generation
        gen_dir.mkdir(parents=True)
        try:
            self._build_generation(gen_dir, list(documents), progress, workers)
            write_json_atomically(gen_dir / "state.json", {**self._state(), "position": position})
        except BaseException:
            shutil.rmtree(gen_dir, ignore_errors=True)
            raise
        with self._lock:
            previous = read_json(self.pointer_path)
            write_json_atomically(self.pointer_path, {"generation": generation, **self._state()})
            health = self.open()
            self._remove_old_generations(keep={generation, str((previous or {}).get("generation", ""))})
        return health

    def _remove_old_generations(self, keep: set[str]) -> None:
        for entry in self.root.iterdir():
            if entry.is_dir() and entry.name.startswith("gen-") and entry.name not in keep:
                shutil.rmtree(entry, ignore_errors=True)

    def doc_count(self) -> int:
        """Number of documents in the open generation."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the writer lock and forget open readers."""
        self.release_writer()
        with self._lock:
            self._close_generation()
            self._generation = None
