"""A database made by an earlier release gains the columns added since, at start, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect, text

from kb.auth.permissions import ENGINEER, Principal
from kb.db import Database
from kb.ticket import service as tickets
from kb.ticket.schemas import TicketCreate


def test_a_ticket_table_without_customer_is_upgraded(database_url: str) -> None:
    db = Database(database_url)
    db.create_all()
    with db.write_engine.begin() as connection:  # what the previous release created
        connection.execute(text("DROP INDEX IF EXISTS ix_ticket_customer"))
        connection.execute(text("ALTER TABLE ticket DROP COLUMN customer"))
        connection.execute(text("ALTER TABLE ticket_sla DROP COLUMN next_due_clock"))
    assert "customer" not in {c["name"] for c in inspect(db.write_engine).get_columns("ticket")}
    db.dispose()
    upgraded = Database(database_url)
    upgraded.create_all()
    upgraded.create_all()  # a second start changes nothing
    assert "customer" in {c["name"] for c in inspect(upgraded.write_engine).get_columns("ticket")}
    with upgraded.session() as session:
        ticket = tickets.create_ticket(
            session,
            TicketCreate(title="打印机脱机", customer="财务部"),
            Principal("li", ENGINEER),
            tickets.TicketPolicy(),
        )
        number = ticket.number
    with upgraded.session(write=False) as session:
        assert tickets.get_ticket(session, number).customer == "财务部"
    upgraded.dispose()
