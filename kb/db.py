"""Engines and sessions. SQLite gets WAL + BEGIN IMMEDIATE + busy timeout so concurrent writers lose nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    """Declarative base of every ORM model."""


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """A write engine and a read engine (the same engine except on SQLite) with their session factories."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            args = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
            self.write_engine = create_engine(url, connect_args=args)
            _configure_sqlite(self.write_engine, busy_timeout_ms, immediate=True)
            self.read_engine = create_engine(url, connect_args=args)
            _configure_sqlite(self.read_engine, busy_timeout_ms, immediate=False)
        else:
            self.write_engine = create_engine(url, pool_pre_ping=True)
            self.read_engine = self.write_engine
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(self.read_engine, expire_on_commit=False)

    def create_all(self) -> None:
        """Create missing tables."""
        import kb.models  # noqa: F401  (registers every model)

        Base.metadata.create_all(self.write_engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        # A column added to an existing table in a later release (it must be nullable or have a server default).
        inspector = inspect(self.write_engine)
        for table in Base.metadata.sorted_tables:
            present = {column["name"] for column in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                kind = column.type.compile(dialect=self.write_engine.dialect)
                default = f" DEFAULT '{column.server_default.arg}'" if column.server_default is not None else ""  # type: ignore[attr-defined]
                ddl = f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{default}'
                try:
                    with self.write_engine.begin() as connection:
                        connection.exec_driver_sql(ddl)
                except (OperationalError, ProgrammingError):
                    # Another process added it first.
                    if column.name not in {c["name"] for c in inspect(self.write_engine).get_columns(table.name)}:
                        raise

    @contextlib.contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        factory = self._write_sessions if write else self._read_sessions
        session = factory()
        try:
            yield session
            if write:
                session.commit()
            # A read session just closes: loaded objects stay readable after the block.
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> bool:
        """Whether the database answers."""
        try:
            with self.read_engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        """Close pooled connections."""
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
