"""`kb ticket ...` as an operator runs it: subprocesses on a real data dir with content/ imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.kb.test_cli import REPO, kb


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the shipped articles."""
    directory = tmp_path_factory.mktemp("ticket-cli") / "data"
    kb(directory, "import", str(REPO / "content"))
    return directory


def test_the_whole_loop_from_the_terminal(data_dir: Path) -> None:
    created = json.loads(
        kb(
            data_dir,
            "ticket",
            "create",
            "打印机脱机，文档卡在队列",
            "--description",
            "财务部打印机一直显示脱机，重启无效",
            "--impact",
            "high",
            "--json",
        ).stdout
    )
    number = created["number"]
    assert created["priority"] == "P2" and created["category"] == "打印机"
    shown = json.loads(kb(data_dir, "ticket", "show", number, "--json").stdout)
    assert shown["suggestions"][0]["slug"] == "printer-offline-spooler-queue-stuck"
    kb(data_dir, "ticket", "message", number, "型号 HP M404", "--from-reporter")
    kb(data_dir, "ticket", "link", number, "printer-offline-spooler-queue-stuck", "--relation", "solved")
    refused = kb(data_dir, "ticket", "transition", number, "close", check=False)
    assert refused.returncode == 1 and "不能执行" in refused.stderr
    resolved = json.loads(
        kb(
            data_dir,
            "ticket",
            "transition",
            number,
            "resolve",
            "--code",
            "fixed",
            "--notes",
            "重启 Print Spooler 并清空队列",
            "--article",
            "printer-offline-spooler-queue-stuck",
            "--json",
        ).stdout
    )
    assert resolved["status"] == "resolved" and resolved["survey_url"].startswith("/survey/")
    listed = json.loads(kb(data_dir, "ticket", "list", "--status", "resolved", "--json").stdout)
    assert [t["number"] for t in listed["items"]] == [number]
    drafts = json.loads(kb(data_dir, "search", "Print Spooler 清空队列", "--all-statuses", "--json").stdout)
    assert any(h["status"] == "draft" for h in drafts["hits"])


def test_bad_input_is_a_clear_error(data_dir: Path) -> None:
    result = kb(data_dir, "ticket", "create", "x", "--impact", "huge", check=False)
    assert result.returncode == 1 and "impact" in result.stderr
    missing = kb(data_dir, "ticket", "show", "INC-00000000-0000", check=False)
    assert missing.returncode == 1 and "不存在" in missing.stderr
