"""One typed Settings object, read from the environment with the prefix KB_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# impact/urgency -> priority; the ITIL-style 3x3 default (high/high is P1, low/low is P4).
DEFAULT_PRIORITY_MATRIX = {
    "high/high": "P1",
    "high/medium": "P2",
    "medium/high": "P2",
    "high/low": "P3",
    "medium/medium": "P3",
    "low/high": "P3",
    "medium/low": "P4",
    "low/medium": "P4",
    "low/low": "P4",
}


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
    ticket_reopen_days: int = 7
    ticket_auto_close_days: int = Field(default=3, ge=1)
    maintenance_seconds: float = Field(default=300.0, gt=0)
    alert_severity_priority: dict[str, str] = Field(
        default_factory=lambda: {"critical": "P1", "error": "P2", "warning": "P3", "info": "P4"}
    )
    alert_auto_resolve: bool = False
    ticket_priority_matrix: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITY_MATRIX))
    sla_pause_statuses: list[str] = Field(default_factory=lambda: ["pending_user"])
    sla_warning_thresholds: list[int] = Field(default_factory=lambda: [50, 75, 90])
    sla_scheduler_seconds: float = Field(default=30.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    webhook_max_attempts: int = Field(default=6, ge=1)
    webhook_backoff_seconds: float = Field(default=30.0, gt=0)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    sqlite_busy_timeout_ms: int = 30_000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _resolve_paths(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if self.env == "production":
            self.cookie_secure = True
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'kb.sqlite3'}"
        self._check_priority_matrix()
        self._check_sla()
        return self

    def _check_sla(self) -> None:
        allowed = ("new", "assigned", "in_progress", "pending_user")
        bad = [status for status in self.sla_pause_statuses if status not in allowed]
        if bad:
            raise ValueError(f"KB_SLA_PAUSE_STATUSES: 未知或不能暂停的状态 {bad}，可选：{list(allowed)}")
        thresholds = self.sla_warning_thresholds
        if any(not 0 < t < 100 for t in thresholds) or sorted(set(thresholds)) != thresholds:
            raise ValueError(f"KB_SLA_WARNING_THRESHOLDS: 必须是 1–99 之间递增且不重复的百分比，收到 {thresholds}")
        if self.smtp_host and not self.smtp_from:
            raise ValueError("KB_SMTP_FROM: 配置了 KB_SMTP_HOST 就必须给出发件人地址")

    def _check_priority_matrix(self) -> None:
        matrix = self.ticket_priority_matrix
        missing = sorted(set(DEFAULT_PRIORITY_MATRIX) - set(matrix))
        unknown = sorted(set(matrix) - set(DEFAULT_PRIORITY_MATRIX))
        if missing or unknown:
            raise ValueError(
                f"KB_TICKET_PRIORITY_MATRIX: 缺少 {missing}，多余 {unknown}（键为 影响/紧急度，如 high/low）"
            )
        bad = {key: value for key, value in matrix.items() if value not in ("P1", "P2", "P3", "P4")}
        if bad:
            raise ValueError(f"KB_TICKET_PRIORITY_MATRIX: 优先级只能是 P1–P4：{bad}")

    @property
    def index_dir(self) -> Path:
        """Where index generations live."""
        return self.data_dir / "index"

    @property
    def cache_dir(self) -> Path:
        """Where the jieba dictionary cache lives."""
        return self.data_dir / "cache"
