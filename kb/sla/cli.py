"""`kb sla ...`: run an SLA pass now, see who runs the scheduler and what is about to breach, load holidays."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kb.auth.permissions import ADMIN, Principal
from kb.config import Settings
from kb.db import Database, utcnow
from kb.exceptions import KBError
from kb.sla import lease, queries, registry
from kb.sla.daysfile import FORMATS, read_days
from kb.sla.scheduler import LEASE, new_holder, run_once

sla_app = typer.Typer(help="SLA：立即评估、查看调度与即将超时的工单、导入节假日", no_args_is_help=True)
out = Console()


def _database() -> tuple[Settings, Database]:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    db.create_all()
    return settings, db


@sla_app.command("run")
def run() -> None:
    """Run one SLA pass now (only if no running service holds the scheduler lease)."""
    settings, db = _database()
    try:
        report = run_once(db, settings, new_holder())
        if not report.leader:
            held = lease.holder_of(db, LEASE)
            out.print(f"[yellow]SLA 调度正由 {held[0] if held else '?'} 运行，本次未评估[/yellow]")
            raise typer.Exit(1)
        assert report.evaluation is not None
        out.print(f"评估了 {report.evaluation.evaluated} 个工单，记录 {len(report.evaluation.events)} 个 SLA 事件，"
                  f"发送 {report.delivered} 条通知")  # fmt: skip
        for number, clock, kind, threshold in report.evaluation.events:
            out.print(f"  {number} {clock} {kind} {threshold}%")
    finally:
        db.dispose()


@sla_app.command("status")
def status(
    within: Annotated[int, typer.Option("--within", help="显示多少分钟内到期的工单")] = 240,
) -> None:
    """Who holds the scheduler lease, and the open tickets closest to breaching."""
    _settings, db = _database()
    try:
        held = lease.holder_of(db, LEASE)
        if held is None:
            out.print("SLA 调度尚未运行")
        else:
            state = "运行中" if held[1] > utcnow() else "租约已过期"
            out.print(f"SLA 调度：{held[0]}（{state}，租约到 {held[1]:%Y-%m-%d %H:%M:%S} UTC）")
        with db.session(write=False) as session:
            risks = queries.breaching_soon(session, utcnow(), within, 50)
        table = Table("工单", "优先级", "计时", "剩余分钟", "处理组", "处理人", "升级")
        for risk in risks:
            table.add_row(
                risk.ticket.number, risk.ticket.priority, "响应" if risk.clock == "response" else "解决",
                f"{risk.minutes_left:.0f}", risk.ticket.assignment_group, risk.ticket.assignee,
                str(risk.escalation_level),
            )  # fmt: skip
        out.print(table)
    finally:
        db.dispose()


@sla_app.command("load-days")
def load_days(
    calendar: Annotated[str, typer.Argument(help="日历名称，如 cn-business")],
    path: Annotated[Path, typer.Argument(help="节假日文件：.yaml/.yml、.csv 或 .ics")],
    actor: Annotated[str, typer.Option("--actor", help="记录在审计中的操作人")] = "local-admin",
) -> None:
    """Load a year's holidays and make-up workdays from a file (replaces that year's loaded days)."""
    suffix = path.suffix.lower().lstrip(".")
    fmt = "yaml" if suffix == "yml" else suffix
    if fmt not in FORMATS:
        out.print(f"[red]{path}：不支持的格式，可选：{', '.join(FORMATS)}[/red]")
        raise typer.Exit(2)
    _settings, db = _database()
    try:
        entries = read_days(path.read_text(encoding="utf-8"), fmt, str(path))
        with db.session() as session:
            years = registry.load_days(session, calendar, entries, Principal(actor, ADMIN))
        out.print(f"已为日历“{calendar}”导入 {len(entries)} 天（{'、'.join(str(y) for y in years)} 年）")
    except KBError as exc:
        out.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
