"""The `kb` command: serve, import, export, reindex, search, token, ticket."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexer.store import WriterBusy
from kb.article import importer
from kb.auth import service as auth_service
from kb.auth.permissions import CLI_OPERATOR, REVIEWER, VIEWER, Principal
from kb.config import Settings
from kb.context import Services, build_services
from kb.exceptions import KBError
from kb.search import indexing
from kb.search import service as search_service
from kb.sla.cli import sla_app
from kb.ticket.cli import ticket_app

app = typer.Typer(help="运维知识库：中文全文检索服务", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="管理 API 令牌", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(ticket_app, name="ticket")
app.add_typer(sla_app, name="sla")
out = Console()
err = Console(stderr=True)


def _services() -> Services:
    return build_services(Settings())


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _sync_index(services: Services, *, quiet: bool = False) -> None:
    """Apply pending changes now if no running service owns the index writer."""
    try:
        services.index.acquire_writer()
    except WriterBusy:
        if not quiet:
            err.print("服务正在运行：索引将由服务进程在一秒内更新。")
        return
    try:
        health = services.index.open()
        if health.state != "ok":
            err.print(f"{health.detail}，正在重建…")
            _rebuild(services)
        indexing.apply_pending(services.db, services.index)
    finally:
        services.index.release_writer()


def _rebuild(services: Services) -> None:
    total = indexing.article_count(services.db)
    with _progress() as progress:
        task = progress.add_task("构建索引", total=total)
        indexing.rebuild(services.db, services.index, lambda n: progress.advance(task, n))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址（默认 KB_HOST）")] = None,
    port: Annotated[int | None, typer.Option(help="监听端口（默认 KB_PORT）")] = None,
) -> None:
    """Start the web service; an empty data dir is initialised and content/ imported."""
    import os

    import uvicorn

    settings = Settings()
    if host:
        os.environ["KB_HOST"] = host
    if port:
        os.environ["KB_PORT"] = str(port)
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    err.print(f"数据目录：{settings.data_dir}；服务地址：http://{settings.host}:{settings.port}/")
    # The app is named by import path: the CLI (kb) must not import the HTTP layer (api).
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


@app.command("import")
def import_(
    paths: Annotated[list[Path], typer.Argument(help="Markdown 文件/目录或 .jsonl 文件")],
    actor: Annotated[str, typer.Option(help="记录在版本与审计日志中的操作人")] = "cli",
) -> None:
    """Import articles (upsert by slug); broken files or lines are reported and skipped."""
    services = _services()
    try:
        files, problems = importer.expand_paths(paths)
        total = importer.count_items(files)
        with _progress() as progress:
            task = progress.add_task("导入文章", total=total)
            report = importer.import_files(
                services.db, files, actor=actor, progress=lambda n: progress.advance(task, n)
            )
        report.problems[:0] = problems
        _sync_index(services)
    finally:
        services.close()
    out.print(
        f"新增 {report.created} 篇，更新 {report.updated} 篇，未变化 {report.unchanged} 篇，"
        f"问题 {len(report.problems)} 个"
    )
    for problem in report.problems:
        err.print(f"[red]错误[/red] {problem}", highlight=False, markup=True)
    if report.problems:
        raise typer.Exit(1)


@app.command()
def export(directory: Annotated[Path, typer.Argument(help="导出目录")]) -> None:
    """Write every article as Markdown with front matter (re-imports to the same state)."""
    services = _services()
    try:
        count = importer.export_all(services.db, directory)
    finally:
        services.close()
    out.print(f"已导出 {count} 篇文章到 {directory}")


@app.command()
def reindex() -> None:
    """Build a new index from the database and swap it in atomically (search keeps answering)."""
    services = _services()
    try:
        _rebuild(services)
        out.print(f"索引已重建：{services.index.doc_count()} 篇文章")
    finally:
        services.close()


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="查询")],
    limit: Annotated[int, typer.Option(min=1, max=50)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    all_statuses: Annotated[bool, typer.Option("--all-statuses", help="包含草稿、审核中、已下线")] = False,
) -> None:
    """Search from the terminal (published articles unless --all-statuses)."""
    services = _services()
    try:
        _sync_index(services, quiet=True)
        principal = Principal("cli", REVIEWER if all_statuses else VIEWER)
        request = search_service.build_request(services.settings, principal, query, limit=limit, with_facets=False)
        result = search_service.search(services.index, services.db, request, principal)
    finally:
        services.close()
    if as_json:
        payload = {
            "total": result.total,
            "took_ms": result.took_ms,
            "hits": [
                {
                    "slug": h.slug,
                    "title": h.title,
                    "score": h.score,
                    "snippet": h.snippet,
                    "tags": list(h.tags),
                    "status": h.status,
                    "updated_at": h.updated_at.isoformat(),
                }
                for h in result.hits
            ],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"“{query}”：共 {result.total} 篇（{result.took_ms:.1f} 毫秒）")
    table.add_column("#", justify="right")
    table.add_column("标题")
    table.add_column("slug")
    table.add_column("得分", justify="right")
    for number, hit in enumerate(result.hits, start=1):
        table.add_row(str(number), hit.title, hit.slug, f"{hit.score:.2f}")
    out.print(table)
    if result.did_you_mean:
        out.print(f"您是不是要找：{result.did_you_mean}")


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="viewer | engineer | reviewer | admin | integration")],
    name: Annotated[str, typer.Option(help="令牌名称（也是操作人名称）")],
) -> None:
    """Create a token; the token itself is printed on the last line and never shown again."""
    services = _services()
    try:
        with services.db.session() as session:
            token, secret = auth_service.create_token(session, name=name, role=role, actor=CLI_OPERATOR.name)
            token_id = token.id
    finally:
        services.close()
    err.print(f"已创建令牌 #{token_id}（{name}，角色 {role}）。请妥善保存，它不会再次显示：")
    print(secret)


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    services = _services()
    try:
        with services.db.session(write=False) as session:
            tokens = auth_service.list_tokens(session)
            table = Table(title="API 令牌")
            for column in ("ID", "名称", "角色", "前缀", "创建时间", "状态"):
                table.add_column(column)
            for t in tokens:
                table.add_row(
                    str(t.id),
                    t.name,
                    t.role,
                    t.prefix + "…",
                    f"{t.created_at:%Y-%m-%d %H:%M}",
                    "已吊销" if t.revoked_at else "有效",
                )
    finally:
        services.close()
    out.print(table)


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="令牌 ID（见 kb token list）")]) -> None:
    """Revoke a token."""
    services = _services()
    try:
        with services.db.session() as session:
            auth_service.revoke_token(session, token_id=token_id, actor=CLI_OPERATOR.name)
    finally:
        services.close()
    out.print(f"令牌 #{token_id} 已吊销")


def main() -> None:
    """Entry point of the `kb` command: expected errors become a message and exit code 1, not a traceback."""
    try:
        app()
    except KBError as exc:
        err.print(f"[red]错误：[/red]{exc.message}")
        sys.exit(1)


if __name__ == "__main__":
    main()
