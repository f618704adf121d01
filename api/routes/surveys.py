"""The follow-up survey: answered by the reporter through a secret link, without logging in (JSON and page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from api.deps import ServicesDep
from api.pages import TEMPLATES, check_same_origin
from kb.exceptions import Conflict, InvalidInput
from kb.ticket import survey
from kb.ticket.models import OPEN_STATUSES
from kb.ticket.service import TicketPolicy
from kb.ticket.survey import SCORE_LABELS, SurveyAnswer

router = APIRouter(tags=["surveys"])


class SurveyOut(BaseModel):
    """A survey as the reporter sees it."""

    ticket: str
    title: str
    resolution_notes: str
    answered: bool


class SurveyResult(BaseModel):
    """What answering did to the ticket."""

    ticket: str
    status: str
    reopened: bool


def _answer(services: ServicesDep, token: str, data: SurveyAnswer) -> SurveyResult:
    with services.db.session() as session:
        ticket = survey.answer(session, token, data, TicketPolicy.from_settings(services.settings))
        return SurveyResult(ticket=ticket.number, status=ticket.status, reopened=ticket.status in OPEN_STATUSES)


@router.get("/api/v1/surveys/{token}", response_model=SurveyOut)
def get_survey(token: str, services: ServicesDep) -> Any:
    """The survey behind a link (no login: the link is the credential)."""
    with services.db.session(write=False) as session:
        view = survey.view(session, token)
    return SurveyOut(
        ticket=view.number, title=view.title, resolution_notes=view.resolution_notes, answered=view.answered
    )


@router.post("/api/v1/surveys/{token}", response_model=SurveyResult)
def answer_survey(token: str, body: SurveyAnswer, services: ServicesDep) -> Any:
    """Answer once: score 1–5, comment, solved; "not solved" reopens the ticket."""
    return _answer(services, token, body)


def _page(request: Request, token: str, services: ServicesDep, status_code: int = 200, **context: Any) -> Response:
    with services.db.session(write=False) as session:
        view = survey.view(session, token)
    values = {"principal": None, "view": view, "score_labels": sorted(SCORE_LABELS.items(), reverse=True), **context}
    return TEMPLATES.TemplateResponse(request, "survey.html", values, status_code=status_code)


@router.get("/survey/{token}", response_class=HTMLResponse, include_in_schema=False)
def survey_page(token: str, request: Request, services: ServicesDep) -> Response:
    """The survey form."""
    return _page(request, token, services)


@router.post("/survey/{token}", response_class=HTMLResponse, include_in_schema=False)
def survey_submit(
    token: str,
    request: Request,
    services: ServicesDep,
    score: Annotated[str, Form()] = "",
    solved: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    """Store the form's answer and thank the reporter."""
    check_same_origin(request)
    try:
        data = SurveyAnswer(score=int(score or 0), solved=solved == "yes", comment=comment)
        if solved not in ("yes", "no"):
            raise InvalidInput("请选择问题是否已解决")
    except (ValueError, ValidationError, InvalidInput):
        return _page(request, token, services, 422, error="请选择满意度和问题是否已解决")
    try:
        result = _answer(services, token, data)
    except Conflict:
        return _page(request, token, services, 409)
    return _page(request, token, services, thanks=True, reopened=result.reopened)
