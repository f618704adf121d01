"""`kb sla run|status|load-days` as an operator runs them: real subprocesses on a real data dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers import REPO, service_env


def kb(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``kb ARGS`` on ``data_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "kb.cli", *args],
        cwd=REPO,
        env={**service_env(data_dir), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_load_days_run_and_status(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    days = tmp_path / "2027.csv"
    days.write_text("date,kind,name\n2027-01-01,holiday,元旦\n2027-01-09,workday,元旦调休\n", encoding="utf-8")
    loaded = kb(data_dir, "sla", "load-days", "cn-business", str(days))
    assert loaded.returncode == 0, loaded.stderr
    assert "导入 2 天" in loaded.stdout and "2027" in loaded.stdout
    broken = tmp_path / "2028.csv"
    broken.write_text("date,kind,name\n2028-01-01,holiday,元旦\n2028-02-30,holiday,坏日期\n", encoding="utf-8")
    refused = kb(data_dir, "sla", "load-days", "cn-business", str(broken))
    assert refused.returncode == 1 and "2028.csv" in refused.stdout and "3" in refused.stdout
    opened = kb(data_dir, "ticket", "create", "核心交换机宕机", "--impact", "high", "--urgency", "high")
    assert opened.returncode == 0, opened.stderr
    ran = kb(data_dir, "sla", "run")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "评估了 1 个工单" in ran.stdout
    status = kb(data_dir, "sla", "status", "--within", "60")
    assert status.returncode == 0, status.stderr
    assert "SLA 调度" in status.stdout and "INC-" in status.stdout and "响应" in status.stdout
