"""One typed Settings object, read from the environment with the prefix KB_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Service settings; every field is documented in README.md (a test checks it)."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Data directory: SQLite file, index, jieba cache.")
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means SQLite in the data dir.")
    content_dir: Path = Field(default=REPO_ROOT / "content", description="Markdown imported on first start.")
    import_content_on_first_start: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    env: Literal["development", "production"] = "development"
    allow_anonymous_read: bool = False
    cookie_secure: bool = False
    max_request_bytes: int = 2_000_000
    max_query_length: int = 200
    max_page_size: int = 50
    max_result_window: int = 1000
    max_suggestion_text: int = 20_000
    search_engine: Literal["whoosh", "tantivy"] = "whoosh"
    index_poll_seconds: float = 0.2
    sqlite_busy_timeout_ms: int = 30_000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if self.env == "production":
            self.cookie_secure = True
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'kb.sqlite3'}"
        return self

    @property
    def index_dir(self) -> Path:
        """Where index generations live."""
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        """Where the jieba dictionary cache lives."""
        return self.data_dir / "cache"
