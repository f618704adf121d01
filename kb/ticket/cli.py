"""`kb ticket ...`: the ticket API's operations from the terminal (acting as the local operator)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from kb.auth.permissions import ADMIN, Principal
from kb.config import Settings
from kb.context import Services, build_services
from kb.ticket import drafts, lifecycle, maintenance, workflow
from kb.ticket import service as tickets
from kb.ticket.schemas import LinkCreate, MessageCreate, TicketCreate, TicketRead, TicketTransition
from kb.ticket.service import TicketFilter, TicketPolicy

ticket_app = typer.Typer(help="工单：创建、查询、处理、解决", no_args_is_help=True)
out = Console()
ActorOption = Annotated[str, typer.Option("--actor", help="记录在事件日志和审计中的操作人")]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _run(actor: str, work: Any) -> Any:
    services = build_services(Settings())
    try:
        return work(services, Principal(actor, ADMIN), TicketPolicy.from_settings(services.settings))
    finally:
        services.close()


def _emit(ticket: TicketRead, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(ticket.model_dump_json() + "\n")
        return
    status = lifecycle.STATUS_LABELS.get(ticket.status, ticket.status)
    out.print(f"[bold]{ticket.number}[/bold] {ticket.title}")
    category = ticket.category or "未分类"
    out.print(f"状态 {status} · 优先级 {ticket.priority} · 分类 {category} · 处理组 {ticket.assignment_group}")
    if ticket.survey_url:
        out.print(f"回访链接（只显示这一次）：{ticket.survey_url}")


@ticket_app.command("create")
def create(
    title: Annotated[str, typer.Argument(help="标题")],
    description: Annotated[str, typer.Option(help="问题描述")] = "",
    reporter: Annotated[str, typer.Option(help="报告人")] = "",
    contact: Annotated[str, typer.Option(help="联系方式")] = "",
    channel: Annotated[str, typer.Option(help="phone/email/im/portal/alert/api")] = "portal",
    impact: Annotated[str, typer.Option(help="high/medium/low")] = "medium",
    urgency: Annotated[str, typer.Option(help="high/medium/low")] = "medium",
    category: Annotated[str, typer.Option(help="分类（留空自动分类）")] = "",
    group: Annotated[str, typer.Option(help="处理组（留空自动分派）")] = "",
    actor: ActorOption = "cli",
    as_json: JsonOption = False,
) -> None:
    """Open a ticket (category and group proposed from the text when left empty)."""
    values = {
        "title": title,
        "description": description,
        "reporter_name": reporter,
        "reporter_contact": contact,
        "channel": channel,
        "impact": impact,
        "urgency": urgency,
        "category": category,
        "assignment_group": group,
    }
    data = tickets.validated(TicketCreate, values)

    def work(services: Services, principal: Principal, policy: TicketPolicy) -> TicketRead:
        proposal = services.router.propose(data.title, data.description)
        with services.db.session() as session:
            return TicketRead.of(tickets.create_ticket(session, data, principal, policy, proposal=proposal))

    _emit(_run(actor, work), as_json)


@ticket_app.command("list")
def list_(
    status: Annotated[str, typer.Option(help="状态")] = "",
    priority: Annotated[str, typer.Option(help="P1–P4")] = "",
    group: Annotated[str, typer.Option(help="处理组")] = "",
    assignee: Annotated[str, typer.Option(help="处理人")] = "",
    category: Annotated[str, typer.Option(help="分类")] = "",
    sort: Annotated[str, typer.Option(help="排序，如 -updated_at、priority")] = "-updated_at",
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List tickets with filters and sorting."""
    where = TicketFilter(status or None, priority or None, group or None, assignee or None, category or None, sort)

    def work(services: Services, principal: Principal, _policy: TicketPolicy) -> tuple[int, list[TicketRead]]:
        with services.db.session(write=False) as session:
            total, rows = tickets.list_tickets(session, principal, where, limit=limit, offset=0)
            return total, [TicketRead.of(row) for row in rows]

    total, rows = _run("cli", work)
    if as_json:
        sys.stdout.write(
            json.dumps({"total": total, "items": [r.model_dump(mode="json") for r in rows]}, ensure_ascii=False) + "\n"
        )
        return
    table = Table(title=f"共 {total} 个工单")
    for column in ("编号", "标题", "优先级", "状态", "分类", "处理组", "处理人"):
        table.add_column(column)
    for r in rows:
        status_label = lifecycle.STATUS_LABELS.get(r.status, r.status)
        table.add_row(r.number, r.title, r.priority, status_label, r.category, r.assignment_group, r.assignee)
    out.print(table)


@ticket_app.command("show")
def show(number: Annotated[str, typer.Argument(help="工单号")], as_json: JsonOption = False) -> None:
    """A ticket with its suggested articles."""

    def work(services: Services, principal: Principal, _policy: TicketPolicy) -> tuple[TicketRead, list[Any]]:
        with services.db.session(write=False) as session:
            read = TicketRead.of(tickets.get_ticket(session, number))
        result = workflow.suggestions(services, principal, number, 5)
        hits = [{"slug": h.slug, "title": h.title, "matched_terms": list(h.matched_terms)} for h in result.hits]
        return read, hits

    read, hits = _run("cli", work)
    if as_json:
        payload = {**read.model_dump(mode="json"), "suggestions": hits}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    _emit(read, False)
    out.print(read.description)
    for hit in hits:
        out.print(f"推荐：{hit['title']}（{hit['slug']}）理由：{'、'.join(hit['matched_terms'])}")


@ticket_app.command("transition")
def transition(
    number: Annotated[str, typer.Argument(help="工单号")],
    action: Annotated[str, typer.Argument(help="assign/start/wait_user/resolve/close/reopen")],
    assignee: Annotated[str, typer.Option(help="处理人（assign）")] = "",
    code: Annotated[str, typer.Option(help="解决代码（resolve）")] = "",
    notes: Annotated[str, typer.Option(help="解决方案（resolve）")] = "",
    root_cause: Annotated[str, typer.Option(help="根本原因")] = "",
    article: Annotated[str, typer.Option(help="解决此问题的文章 slug")] = "",
    note: Annotated[str, typer.Option(help="备注")] = "",
    actor: ActorOption = "cli",
    as_json: JsonOption = False,
) -> None:
    """Move a ticket through its lifecycle; resolving produces its draft article and a survey link."""
    values = {
        "action": action,
        "assignee": assignee,
        "resolution_code": code,
        "resolution_notes": notes,
        "root_cause": root_cause,
        "solved_by_article": article or None,
        "note": note,
    }
    data = tickets.validated(TicketTransition, values)

    def work(services: Services, principal: Principal, _policy: TicketPolicy) -> TicketRead:
        return workflow.transition(services, number, data, principal)

    _emit(_run(actor, work), as_json)


@ticket_app.command("message")
def message(
    number: Annotated[str, typer.Argument(help="工单号")],
    body: Annotated[str, typer.Argument(help="内容")],
    internal: Annotated[bool, typer.Option("--internal", help="内部备注")] = False,
    from_reporter: Annotated[bool, typer.Option("--from-reporter", help="报告人的回复")] = False,
    actor: ActorOption = "cli",
) -> None:
    """Add a reply or an internal note."""
    data = tickets.validated(MessageCreate, {"body": body, "internal": internal, "from_reporter": from_reporter})
    _run(actor, lambda s, p, _: _in_session(s, lambda session: tickets.add_message(session, number, data, p)))
    out.print(f"已添加到 {number}")


@ticket_app.command("link")
def link(
    number: Annotated[str, typer.Argument(help="工单号")],
    slug: Annotated[str, typer.Argument(help="文章 slug")],
    relation: Annotated[str, typer.Option(help="solved 或 related")] = "related",
    actor: ActorOption = "cli",
) -> None:
    """Link an article to a ticket (a reuse of that article)."""
    data = tickets.validated(LinkCreate, {"slug": slug, "relation": relation})
    _run(actor, lambda s, p, _: _in_session(s, lambda session: tickets.link_article(session, number, data, p)))
    out.print(f"已关联 {slug} → {number}")


@ticket_app.command("duplicate")
def duplicate(
    number: Annotated[str, typer.Argument(help="工单号")],
    master: Annotated[str, typer.Argument(help="主事件工单号")],
    actor: ActorOption = "cli",
) -> None:
    """Mark a ticket as a duplicate of a master ticket."""
    _run(actor, lambda s, p, _: _in_session(s, lambda session: tickets.mark_duplicate(session, number, master, p)))
    out.print(f"{number} 已标记为 {master} 的重复事件")


@ticket_app.command("recurrence")
def recurrence(number: Annotated[str, typer.Argument(help="工单号")], actor: ActorOption = "cli") -> None:
    """Report that a resolved problem came back (opens a new linked ticket)."""

    def work(services: Services, principal: Principal, policy: TicketPolicy) -> str:
        with services.db.session() as session:
            return tickets.report_recurrence(session, number, principal, policy).number

    out.print(f"已创建复发工单 {_run(actor, work)}")


@ticket_app.command("merge-draft")
def merge_draft(slug: Annotated[str, typer.Argument(help="修订建议草稿的 slug")], actor: ActorOption = "cli") -> None:
    """Fold a ticket's proposed revision into the article it revises (the draft is retired)."""

    def work(services: Services, principal: Principal, _policy: TicketPolicy) -> str:
        with services.db.session() as session:
            return drafts.merge_revision(session, slug, principal).slug

    out.print(f"已合并到 {_run(actor, work)}")


@ticket_app.command("maintenance")
def run_maintenance() -> None:
    """Produce owed drafts and close resolved tickets with unanswered surveys (what the service does periodically)."""

    def work(services: Services, _principal: Principal, _policy: TicketPolicy) -> tuple[int, list[str]]:
        return maintenance.run_once(services.db, services.index, services.settings.ticket_auto_close_days)

    produced, closed = _run("cli", work)
    out.print(f"生成草稿 {produced} 篇；自动关闭 {len(closed)} 个工单 {' '.join(closed)}")


def _in_session(services: Services, action: Any) -> Any:
    with services.db.session() as session:
        return action(session)
