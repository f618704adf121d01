"""Every error is JSON with a clear message (API) or a Chinese error page (pages); never a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.pages import render_error
from kb.exceptions import KBError

log = logging.getLogger(__name__)
_HTTP_MESSAGES = {
    404: "找不到该地址",
    405: "不支持该请求方法",
    413: "请求体过大",
}


def _describe_validation(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        location = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "请求"
        parts.append(f"{location}：{error.get('msg', '无效')}")
    return "；".join(parts) or "请求格式不正确"


def error_body(status: int, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON shape of every API error."""
    body: dict[str, Any] = {"error": {"status": status, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return body


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _respond(
    request: Request, status: int, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    if _wants_html(request):
        return render_error(request, status, message)
    return JSONResponse(error_body(status, message, details), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the exception handlers."""

    @app.exception_handler(KBError)
    async def _kb_error(request: Request, exc: KBError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return _respond(request, exc.status_code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        safe = [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in errors]
        return _respond(request, 422, _describe_validation(errors), safe)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
        return _respond(request, exc.status_code, message)

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        # Locked, restarting or unreachable database: transient, so callers (Alertmanager, integrations) retry.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc.orig)
        return _respond(request, 503, "数据库暂时不可用，请稍后重试", None, {"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _respond(request, 500, "服务器内部错误，已记录日志")
