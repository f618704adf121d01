"""SLA evaluation and the scheduler: events once at their real moments, catch-up after downtime, escalation."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from kb.auth.permissions import ADMIN, ENGINEER, Principal
from kb.context import Services
from kb.notify import contacts
from kb.notify.models import Notification
from kb.notify.schemas import ContactIn
from kb.sla import lease, policies
from kb.sla.evaluate import evaluate_due
from kb.sla.models import SlaEvent, TicketSla
from kb.sla.scheduler import LEASE, run_once
from kb.ticket import groups
from kb.ticket import service as tickets
from kb.ticket.models import Ticket
from kb.ticket.schemas import MessageCreate, TicketCreate, TicketTransition
from tests.kb.notify.test_mail import Mailbox
from tests.servers import free_port

ADMIN_ANNA = Principal("anna", ADMIN)
ENGINEER_LI = Principal("li", ENGINEER)
POLICY = tickets.TicketPolicy()


def open_ticket(services: Services, **fields: object) -> tuple[str, datetime]:
    """A new ticket (P1 unless told otherwise) and its creation time."""
    values: dict[str, object] = {"title": "核心交换机宕机，全楼断网", "impact": "high", "urgency": "high"}
    values.update(fields)
    with services.db.session() as session:
        ticket = tickets.create_ticket(session, TicketCreate(**values), ENGINEER_LI, POLICY)  # type: ignore[arg-type]
        return ticket.number, ticket.created_at


def recorded(services: Services, number: str) -> list[tuple[str, str, int, datetime]]:
    """The SLA events of a ticket as (clock, kind, threshold, occurred_at)."""
    with services.db.session(write=False) as session:
        ticket = tickets.get_ticket(session, number)
        rows = session.scalars(select(SlaEvent).where(SlaEvent.ticket_id == ticket.id).order_by(SlaEvent.id))
        return [(e.clock, e.kind, e.threshold, e.occurred_at) for e in rows]


def notification_count(services: Services) -> int:
    """All in-app notifications."""
    with services.db.session(write=False) as session:
        return int(session.scalar(select(func.count(Notification.id))) or 0)


def setup_groups(services: Services) -> None:
    """L1 desk escalating to L2 network, escalating to L3 R&D."""
    with services.db.session() as session:
        groups.put_group(session, "研发组", {"tier": "L3", "lead": "rd-lead", "manager": "cto"}, ADMIN_ANNA)
        groups.put_group(
            session, "网络组", {"tier": "L2", "lead": "net-lead", "manager": "ops-mgr", "escalates_to": "研发组"},
            ADMIN_ANNA,
        )  # fmt: skip
        groups.put_group(
            session, "服务台", {"tier": "L1", "lead": "desk-lead", "manager": "ops-mgr", "escalates_to": "网络组"},
            ADMIN_ANNA,
        )  # fmt: skip


class TestCatchUp:
    def test_a_breach_while_stopped_is_recorded_once_at_its_real_moment(self, services: Services) -> None:
        number, created = open_ticket(services, assignee="li")
        # Running: 10 minutes in, nothing has happened yet.
        before = run_once(services.db, services.settings, "node-a", created + timedelta(minutes=10))
        assert before.leader and before.evaluation is not None and before.evaluation.events == []
        assert recorded(services, number) == []
        # The service was stopped; another process starts 3 hours later (node-a's lease has long expired).
        after = run_once(services.db, services.settings, "node-b", created + timedelta(hours=3))
        assert after.leader
        events = recorded(services, number)
        moments = {(clock, kind, threshold): at for clock, kind, threshold, at in events}
        assert moments[("response", "breach", 100)] == created + timedelta(minutes=30)
        assert moments[("response", "warning", 50)] == created + timedelta(minutes=15)
        assert moments[("resolution", "breach", 100)] == created + timedelta(hours=2)
        assert moments[("resolution", "warning", 90)] == created + timedelta(minutes=108)
        assert len(events) == len(moments) == 10  # 3 warnings + breach + escalation, per clock
        notified = notification_count(services)
        # A restart inside the breach window and more passes record nothing more and notify nobody again.
        for holder, hours in (("node-c", 4), ("node-c", 5), ("node-d", 9)):
            run_once(services.db, services.settings, holder, created + timedelta(hours=hours))
        assert recorded(services, number) == events
        assert notification_count(services) == notified

    def test_a_paused_ticket_does_not_breach_while_waiting_on_the_user(self, services: Services) -> None:
        number, created = open_ticket(services, impact="medium", urgency="high", assignee="li")  # P2: 60/240 min
        with services.db.session() as session:
            tickets.add_message(session, number, MessageCreate(body="请提供截图"), ENGINEER_LI)
            tickets.transition(session, number, TicketTransition(action="start"), ENGINEER_LI, POLICY)
            tickets.transition(session, number, TicketTransition(action="wait_user"), ENGINEER_LI, POLICY)
        evaluate_due(services.db, services.settings, created + timedelta(hours=10))
        assert [e[:3] for e in recorded(services, number)] == []
        with services.db.session(write=False) as session:
            row = session.scalar(select(TicketSla).join(Ticket).where(Ticket.number == number))
            assert row is not None
            assert row.response_met is True and row.resolution_state == "paused" and row.next_check_at is None

    def test_a_policy_change_is_replayed(self, services: Services) -> None:
        number, created = open_ticket(services, impact="low", urgency="low", category="网络")  # P4
        evaluate_due(services.db, services.settings, created + timedelta(minutes=5))
        assert recorded(services, number) == []
        with services.db.session() as session:
            policies.create(
                session,
                policies.PolicyInput("P4", 1, "24x7", 10, "24x7", category="网络"),
                ADMIN_ANNA,
            )
        evaluate_due(services.db, services.settings, created + timedelta(minutes=5))
        kinds = {(clock, kind) for clock, kind, _t, _at in recorded(services, number)}
        assert ("response", "breach") in kinds and ("resolution", "warning") in kinds


class TestEscalation:
    def test_each_breach_moves_the_ticket_up_a_tier_and_tells_the_right_people(self, services: Services) -> None:
        setup_groups(services)
        number, created = open_ticket(services, assignment_group="服务台", assignee="li")
        run_once(services.db, services.settings, "node-a", created + timedelta(minutes=40))
        with services.db.session(write=False) as session:
            ticket = tickets.get_ticket(session, number)
            assert (ticket.tier, ticket.assignment_group) == ("L2", "网络组")
            events = [(e.kind, e.field, e.old, e.new, e.actor) for e in tickets.events(session, ticket)]
            assert ("escalated", "tier", "L1", "L2", "sla") in events
            people = {
                (n.recipient, n.kind)
                for n in session.scalars(select(Notification).where(Notification.ticket_number == number))
            }
        assert {("li", "sla.breach"), ("desk-lead", "sla.breach"), ("ops-mgr", "sla.breach")} <= people
        assert {("li", "sla.escalation"), ("desk-lead", "sla.escalation"), ("net-lead", "sla.escalation")} <= people
        assert ("desk-lead", "sla.warning") not in people  # warnings go to the assignee when there is one
        run_once(services.db, services.settings, "node-a", created + timedelta(hours=3))
        with services.db.session(write=False) as session:
            ticket = tickets.get_ticket(session, number)
            assert (ticket.tier, ticket.assignment_group) == ("L3", "研发组")
            row = session.scalar(select(TicketSla).where(TicketSla.ticket_id == ticket.id))
            assert row is not None and row.escalation_level == 2
            assert row.response_met is False and row.resolution_state == "breached"

    def test_an_escalation_threshold_below_the_breach(self, services: Services) -> None:
        with services.db.session() as session:
            policies.create(session, policies.PolicyInput("P1", 30, "24x7", 120, "24x7", escalate_at=75), ADMIN_ANNA)
        number, created = open_ticket(services)
        evaluate_due(services.db, services.settings, created + timedelta(minutes=23))
        events = {(c, k, t): at for c, k, t, at in recorded(services, number)}
        assert events[("response", "escalation", 75)] == created + timedelta(minutes=22.5)
        assert ("response", "breach", 100) not in events


class TestReportRows:
    def test_a_resolved_ticket_has_its_outcome(self, services: Services) -> None:
        number, _created = open_ticket(services, impact="medium", urgency="high", assignee="li")  # P2
        with services.db.session() as session:
            tickets.add_message(session, number, MessageCreate(body="正在处理"), ENGINEER_LI)
            tickets.transition(
                session, number,
                TicketTransition(action="resolve", resolution_code="fixed", resolution_notes="更换光模块"),
                ENGINEER_LI, POLICY,
            )  # fmt: skip
        evaluate_due(services.db, services.settings)
        with services.db.session(write=False) as session:
            ticket = tickets.get_ticket(session, number)
            row = session.scalar(select(TicketSla).where(TicketSla.ticket_id == ticket.id))
            assert row is not None
            assert row.responded_at is not None and row.resolved_at is not None and ticket.resolved_at is not None
            assert abs(row.resolved_at - ticket.resolved_at) < timedelta(seconds=1)  # the event's own timestamp
            assert row.response_met is True and row.resolution_met is True
            assert row.response_business_minutes is not None and row.response_business_minutes < 5
            assert row.resolution_business_minutes is not None and row.escalation_level == 0
            assert row.next_check_at is None


class TestLease:
    def test_only_one_holder_until_it_expires(self, services: Services) -> None:
        start = datetime(2026, 11, 22, 8, 0, tzinfo=datetime.now().astimezone().tzinfo)
        assert lease.acquire(services.db, LEASE, "a", 90, start)
        assert not lease.acquire(services.db, LEASE, "b", 90, start + timedelta(seconds=30))
        assert lease.acquire(services.db, LEASE, "a", 90, start + timedelta(seconds=30))  # renewal
        assert lease.acquire(services.db, LEASE, "b", 90, start + timedelta(seconds=121))
        assert not run_once(services.db, services.settings, "a", start + timedelta(seconds=130)).leader
        lease.release(services.db, LEASE, "b")
        assert lease.acquire(services.db, LEASE, "a", 90)


class TestEmail:
    def test_a_breach_is_mailed_to_the_people_with_an_address(self, services: Services) -> None:
        mailbox, port = Mailbox(), free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            setup_groups(services)
            with services.db.session() as session:
                contacts.upsert_contact(session, "desk-lead", ContactIn(email="lead@example.cn"), ADMIN_ANNA)
            settings = services.settings.model_copy(
                update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_from": "kb@example.cn"}
            )
            number, created = open_ticket(services, assignment_group="服务台")  # unassigned: the lead hears
            run_once(services.db, settings, "node-a", created + timedelta(minutes=31))
        finally:
            controller.stop()
        subjects = sorted(str(message["Subject"]) for _to, message in mailbox.messages)
        assert all(to == ["lead@example.cn"] for to, _message in mailbox.messages)
        assert subjects == [f"[运维知识库] {number} 响应已超时", f"[运维知识库] {number} 已升级：L1 → L2"]
        assert not any("时限已用" in s for s in subjects)  # the superseded warnings are recorded, not mailed
