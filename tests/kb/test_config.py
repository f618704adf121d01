"""Settings: every one documented in the README, read from KB_ environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    assert f"`KB_{name.upper()}`" in README, f"KB_{name.upper()} is not documented in README.md"


def test_the_test_database_setting_is_documented() -> None:
    assert "`KB_TEST_POSTGRES_URL`" in README


def test_settings_come_from_kb_environment_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("KB_MAX_PAGE_SIZE", "20")
    settings = Settings()
    assert settings.data_dir == tmp_path.resolve()
    assert settings.max_page_size == 20
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'kb.sqlite3'}"
