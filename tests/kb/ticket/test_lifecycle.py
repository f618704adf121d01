"""Ticket lifecycle on a real database: events, 409s that change nothing, and exactly one draft per ticket."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kb.article import service as article_service
from kb.article.models import Article
from kb.article.schemas import ArticleCreate
from kb.auth.permissions import ENGINEER, REVIEWER, VIEWER, Principal
from kb.context import Services
from kb.exceptions import Conflict, InvalidInput, PermissionDenied
from kb.ticket import drafts, lifecycle
from kb.ticket import service as tickets
from kb.ticket.models import DraftRequest, Ticket, TicketDraft, TicketEvent
from kb.ticket.schemas import LinkCreate, MessageCreate, TicketCreate, TicketTransition, TicketUpdate
from kb.ticket.service import TicketPolicy

ENGINEER_ALICE = Principal("alice", ENGINEER)
POLICY = TicketPolicy()
RESOLVE = TicketTransition(
    action="resolve",
    resolution_code="fixed",
    resolution_notes="重启 Print Spooler 服务并清空打印队列后恢复。联系人电话 13812345678。",
    root_cause="打印队列中有损坏的作业",
)


def open_ticket(services: Services, title: str = "打印机脱机，文档卡在队列", **values: object) -> str:
    """Create a ticket and return its number."""
    data = TicketCreate(
        title=title,
        description="财务部打印机显示脱机，联系 zhang.san@example.com 或 13987654321。",
        reporter_name="张三",
        **values,  # type: ignore[arg-type]
    )
    with services.db.session() as session:
        return tickets.create_ticket(session, data, ENGINEER_ALICE, POLICY).number


def act(services: Services, number: str, transition: TicketTransition) -> None:
    """Apply one transition in its own transaction."""
    with services.db.session() as session:
        tickets.transition(session, number, transition, ENGINEER_ALICE, POLICY)


def state(services: Services, number: str) -> tuple[str, int, int]:
    """(status, version, number of events) of a ticket."""
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        count = session.scalar(select(func.count(TicketEvent.id)).where(TicketEvent.ticket_id == ticket.id))
        return ticket.status, ticket.version, int(count or 0)


def drafts_of(services: Services, number: str) -> list[Article]:
    """Draft articles whose source is this ticket."""
    with services.db.session(write=False) as session:
        return list(session.scalars(select(Article).where(Article.source_ticket == number)))


class TestCreation:
    def test_a_ticket_gets_a_readable_number_a_priority_and_a_created_event(self, services: Services) -> None:
        number = open_ticket(services, impact="high", urgency="high")
        assert number.startswith("INC-") and number.endswith("-0001")
        with services.db.session(write=False) as session:
            ticket = tickets.get_ticket(session, number)
            assert (ticket.priority, ticket.status) == ("P1", "new")
            assert [e.kind for e in tickets.events(session, ticket)] == ["created"]

    def test_the_priority_matrix_is_configurable(self, services: Services) -> None:
        policy = TicketPolicy(priority_matrix={**POLICY.priority_matrix, "low/low": "P2"})
        with services.db.session() as session:
            data = TicketCreate(title="低影响低紧急", impact="low", urgency="low")
            assert tickets.create_ticket(session, data, ENGINEER_ALICE, policy).priority == "P2"

    def test_viewers_cannot_open_or_read_tickets(self, services: Services) -> None:
        with services.db.session() as session, pytest.raises(PermissionDenied):
            tickets.create_ticket(session, TicketCreate(title="x"), Principal("v", VIEWER), POLICY)

    def test_changing_impact_recomputes_priority_and_logs_each_field(self, services: Services) -> None:
        number = open_ticket(services)
        with services.db.session() as session:
            update = TicketUpdate(impact="high", urgency="high", assignee="bob")
            ticket = tickets.update_ticket(session, number, update, ENGINEER_ALICE, POLICY)
            assert ticket.priority == "P1"
            changed = {(e.field, e.old, e.new) for e in tickets.events(session, ticket) if e.kind == "updated"}
        assert ("priority", "P3", "P1") in changed and ("assignee", "", "bob") in changed

    def test_a_stale_version_is_a_conflict(self, services: Services) -> None:
        number = open_ticket(services)
        with services.db.session() as session, pytest.raises(Conflict):
            tickets.update_ticket(
                session, number, TicketUpdate(expected_version=9, title="新标题"), ENGINEER_ALICE, POLICY
            )


class TestTransitions:
    def test_an_invalid_transition_lists_the_allowed_ones_and_changes_nothing(self, services: Services) -> None:
        number = open_ticket(services)
        before = state(services, number)
        with pytest.raises(Conflict) as raised:
            act(services, number, TicketTransition(action="close"))
        assert raised.value.details["allowed_actions"] == lifecycle.allowed_actions("new")
        assert state(services, number) == before

    def test_resolving_needs_notes_and_a_code_and_a_refusal_changes_nothing(self, services: Services) -> None:
        number = open_ticket(services)
        before = state(services, number)
        with pytest.raises(InvalidInput) as raised:
            act(services, number, TicketTransition(action="resolve", resolution_notes="好了"))
        assert raised.value.details == {"fields": ["resolution_code"]}
        assert state(services, number) == before
        with services.db.session(write=False) as session:
            assert session.scalar(select(func.count(DraftRequest.id))) == 0

    def test_reopening_is_refused_after_the_window(self, services: Services) -> None:
        number = open_ticket(services)
        act(services, number, RESOLVE)
        with services.db.session() as session:
            ticket = tickets.get_ticket(session, number)
            ticket.resolved_at = ticket.resolved_at - timedelta(days=POLICY.reopen_days + 1)  # type: ignore[operator]
        with pytest.raises(Conflict, match="报告复发"):
            act(services, number, TicketTransition(action="reopen"))


class TestDraftFromResolution:
    def test_a_resolution_yields_one_masked_draft_and_resolving_again_updates_it(self, services: Services) -> None:
        number = open_ticket(services)
        with services.db.session() as session:
            tickets.add_message(
                session,
                number,
                MessageCreate(body="打印机型号 HP M404，IP 10.1.2.3", from_reporter=True),
                ENGINEER_ALICE,
            )
        act(services, number, RESOLVE)
        assert drafts.process_pending(services.db, services.index) == 1
        [draft] = drafts_of(services, number)
        assert draft.status == "draft" and draft.created_by == "alice"
        assert draft.title == "打印机脱机，文档卡在队列"
        assert "HP M404" in draft.symptoms and "10.1.2.3" in draft.symptoms
        text = draft.symptoms + draft.resolution
        assert "13812345678" not in text and "13987654321" not in text and "zhang.san@example.com" not in text
        assert draft.cause == "打印队列中有损坏的作业"
        act(services, number, TicketTransition(action="reopen"))
        act(services, number, RESOLVE.model_copy(update={"resolution_notes": "更换了打印机驱动"}))
        drafts.process_pending(services.db, services.index)
        [again] = drafts_of(services, number)
        assert again.slug == draft.slug and again.resolution == "更换了打印机驱动" and again.version == 2

    def test_a_crash_before_the_draft_is_repaired_by_the_next_run_exactly_once(self, services: Services) -> None:
        number = open_ticket(services)
        act(services, number, RESOLVE)  # committed; the process "dies" before producing the draft
        assert drafts_of(services, number) == []
        assert drafts.process_pending(services.db, services.index) == 1
        assert drafts.process_pending(services.db, services.index) == 0
        assert len(drafts_of(services, number)) == 1

    def test_linking_the_solving_article_makes_the_draft_a_proposed_revision(self, services: Services) -> None:
        with services.db.session() as session:
            article_service.create_article(
                session,
                ArticleCreate(slug="printer-offline", title="打印机脱机", status="published"),
                Principal("rita", REVIEWER),
            )
        number = open_ticket(services)
        with services.db.session() as session:
            tickets.link_article(
                session, number, LinkCreate(slug="printer-offline", relation="related"), ENGINEER_ALICE
            )
        act(services, number, RESOLVE.model_copy(update={"solved_by_article": "printer-offline"}))
        drafts.process_pending(services.db, services.index)
        with services.db.session(write=False) as session:
            ticket = tickets.get_ticket(session, number)
            draft = session.scalar(select(TicketDraft).where(TicketDraft.ticket_id == ticket.id))
            assert draft is not None and draft.revision_of == "printer-offline"
            assert [(link.article_slug, link.relation) for link in tickets.links(session, ticket)] == [
                ("printer-offline", "solved")
            ]

    def test_resolving_a_master_resolves_its_duplicates_which_share_its_draft(self, services: Services) -> None:
        master, duplicate = open_ticket(services), open_ticket(services)
        with services.db.session() as session:
            tickets.get_ticket(session, duplicate).master_id = tickets.get_ticket(session, master).id
        act(services, master, RESOLVE)
        drafts.process_pending(services.db, services.index)
        with services.db.session(write=False) as session:
            dup = tickets.get_ticket(session, duplicate)
            assert (dup.status, dup.resolution_notes) == ("resolved", RESOLVE.resolution_notes)
            slugs = set(session.scalars(select(TicketDraft.article_slug)))
        assert len(slugs) == 1 and len(drafts_of(services, master)) == 1


ACTIONS = st.sampled_from(["assign", "start", "wait_user", "resolve", "close", "reopen"])


class TestLifecycleProperties:
    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=st.lists(st.tuples(ACTIONS, st.booleans()), min_size=1, max_size=12))
    def test_random_sequences_keep_the_invariants(self, services: Services, steps: list[tuple[str, bool]]) -> None:
        number = open_ticket(services)
        ever_resolved = False
        for action, well_formed in steps:
            values: dict[str, str] = {"action": action}
            if well_formed and action == "assign":
                values["assignee"] = "bob"
            if well_formed and action == "resolve":
                values.update(resolution_code="fixed", resolution_notes="处理完成")
            before = state(services, number)
            try:
                act(services, number, TicketTransition(**values))  # type: ignore[arg-type]
            except (Conflict, InvalidInput):
                assert state(services, number) == before, (action, well_formed)
                continue
            status, version, events = state(services, number)
            assert status == lifecycle.target_status(action)
            # A real change bumps the version and is logged; a no-op (assigning the same person) is neither.
            assert (version > before[1] and events > before[2]) or (status, version, events) == before
            ever_resolved = ever_resolved or action == "resolve"
            if action == "resolve" and well_formed and steps.index((action, well_formed)) % 2 == 0:
                drafts.process_pending(services.db, services.index)
        drafts.process_pending(services.db, services.index)
        assert len(drafts_of(services, number)) == (1 if ever_resolved else 0)
        with services.db.session(write=False) as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number))
            assert ticket is not None
            owed = session.scalar(select(func.count(TicketDraft.id)).where(TicketDraft.ticket_id == ticket.id))
            assert owed == (1 if ever_resolved else 0)
