"""Follow-up (回访) and satisfaction: a tokenised survey per resolution, and closing unanswered tickets.

The link's token is random (256 bits) and only its hash is stored, like API tokens; it is shown once, in the
resolution's response, for the ticket system to send to the reporter.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from pydantic import ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.article.schemas import InputModel
from kb.auth.permissions import ENGINEER, Principal
from kb.auth.service import hash_token
from kb.db import utcnow
from kb.exceptions import Conflict, NotFound
from kb.ticket import service as tickets
from kb.ticket.models import CLOSED, RESOLVED, Survey, Ticket
from kb.ticket.schemas import TicketTransition
from kb.ticket.service import TicketPolicy

SCORE_LABELS = {5: "满意", 4: "比较满意", 3: "一般", 2: "比较不满意", 1: "不满意"}
REPORTER = "reporter"


class SurveyAnswer(InputModel):
    """The reporter's answer."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    score: int = Field(ge=1, le=5, description="5 满意, 4 比较满意, 3 一般, 2 比较不满意, 1 不满意")
    comment: str = Field(default="", max_length=2000)
    solved: bool = Field(description="问题是否真正解决；否则工单重新打开")


@dataclass(frozen=True)
class SurveyView:
    """What the survey page shows (no personal data beyond the ticket's title)."""

    number: str
    title: str
    resolution_notes: str
    answered: bool


def open_survey(session: Session, ticket: Ticket) -> str:
    """A new survey for the ticket's latest resolution; returns the secret for the link."""
    secret = secrets.token_urlsafe(32)
    session.add(Survey(ticket_id=ticket.id, token_hash=hash_token(secret), created_at=utcnow()))
    return secret


def _survey(session: Session, secret: str, *, for_update: bool = False) -> tuple[Survey, Ticket]:
    query = select(Survey).where(Survey.token_hash == hash_token(secret))
    survey = session.scalar(query.with_for_update() if for_update else query)
    ticket = session.get(Ticket, survey.ticket_id) if survey is not None else None
    if survey is None or ticket is None:
        raise NotFound("回访链接无效或已失效")
    return survey, ticket


def view(session: Session, secret: str) -> SurveyView:
    """The survey behind a link."""
    survey, ticket = _survey(session, secret)
    return SurveyView(ticket.number, ticket.title, ticket.resolution_notes, survey.answered_at is not None)


def answer(session: Session, secret: str, data: SurveyAnswer, policy: TicketPolicy) -> Ticket:
    """Record the answer once; "not solved" reopens the ticket (or, past the window, opens a recurrence)."""
    survey, ticket = _survey(session, secret, for_update=True)
    if survey.answered_at is not None:
        raise Conflict("这份回访已经提交过了，谢谢")
    survey.answered_at, survey.score, survey.comment, survey.solved = utcnow(), data.score, data.comment, data.solved
    label = SCORE_LABELS[data.score]
    result = {"score": data.score, "label": label, "solved": data.solved}
    tickets.record_event(session, ticket, REPORTER, "survey", "satisfaction", None, result)
    actor = Principal(REPORTER, ENGINEER)
    if data.solved:
        if ticket.status == RESOLVED:
            confirm = TicketTransition(action="close", note=f"回访：用户确认已解决（{label}）")
            return tickets.transition(session, ticket.number, confirm, actor, policy)
        return ticket
    if ticket.status not in (RESOLVED, CLOSED):
        return ticket
    note = f"回访：用户表示问题未解决（{label}）{'：' + data.comment if data.comment else ''}"
    try:
        return tickets.transition(session, ticket.number, TicketTransition(action="reopen", note=note), actor, policy)
    except Conflict:
        return tickets.report_recurrence(session, ticket.number, actor, policy)


def close_unanswered(session: Session, days: int, actor: str = "system") -> list[str]:
    """Close resolved tickets whose follow-up has waited ``days`` days unanswered; returns their numbers.

    (An answered survey already closed or reopened its ticket, so whatever is still resolved is unanswered.)
    """
    cutoff = utcnow() - timedelta(days=days)
    stale = session.scalars(
        select(Ticket).where(Ticket.status == RESOLVED, Ticket.resolved_at <= cutoff).with_for_update()
    ).all()
    closed = []
    for ticket in stale:
        transition = TicketTransition(action="close", note=f"已解决 {days} 天未收到回访答复，自动关闭")
        tickets.transition(session, ticket.number, transition, Principal(actor, ENGINEER), TicketPolicy())
        closed.append(ticket.number)
    return closed
