"""Liveness and readiness probes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from indexer import analysis
from kb.sla import lease, registry
from kb.sla.registry import calendar_warning
from kb.sla.scheduler import LEASE

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


def _scheduler(services: Any) -> dict[str, Any]:
    # Informational: any ready process takes the lease over within three intervals if its holder dies.
    held = lease.holder_of(services.db, LEASE)
    if held is None:
        return {"ok": True, "holder": None, "detail": "SLA 调度尚未运行"}
    holder, expires_at = held
    alive = expires_at > datetime.now(UTC)
    detail = "运行中" if alive else "租约已过期，等待其他进程接管"
    return {"ok": True, "holder": holder, "lease_expires_at": expires_at.isoformat(), "detail": detail}


@router.get("/readyz")
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when jieba is loaded, the index is open and the database answers; says why not otherwise."""
    index = services.index
    writer = services.writer
    checks: dict[str, Any] = {
        "jieba": {"ok": analysis.is_initialized(), "segmenter": analysis.segmenter_name()},
        "database": {"ok": services.db.ping()},
        "index": {
            "ok": index.is_open and (writer is None or writer.state in ("ok", "reader")),
            "engine": index.name,
            "state": index.health.state,
            "detail": (writer.detail if writer is not None and writer.detail else index.health.detail),
            "writer": writer.state if writer is not None else "none",
        },
    }
    with services.db.session(write=False) as session:
        calendars = registry.calendars(session)
    year = datetime.now(UTC).year
    warnings = [w for w in (calendar_warning(c, year) for c in calendars.values()) if w]
    # Missing holiday data degrades due times but must not take the service out of rotation: warn, stay ready.
    checks["calendars"] = {"ok": True, "warnings": warnings}
    checks["sla_scheduler"] = _scheduler(services)
    if index.is_open:
        try:
            checks["index"]["documents"] = index.doc_count()
        except Exception as exc:
            checks["index"]["ok"], checks["index"]["detail"] = False, f"索引无法读取：{exc}"
    ready = all(check["ok"] for check in checks.values())
    body = {"status": "ready" if ready else "degraded", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)
