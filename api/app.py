"""The FastAPI application factory and its lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors, notification_pages, pages, sla_pages, ticket_pages
from api.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from api.routes import articles, health, integrations, notifications, search, sla, sla_admin, surveys, tickets
from kb import flows
from kb.config import Settings
from kb.context import build_services
from kb.sla.scheduler import SlaScheduler
from kb.ticket import drafts
from kb.ticket.maintenance import MaintenanceLoop

log = logging.getLogger("kb")
STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; heavy work (jieba, DB, index) happens in the lifespan, not at import."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings, start_writer=True)
        app.state.services = services
        with flows.first_start_lock(settings.data_dir):
            report = flows.import_default_content(services)
            secret = flows.bootstrap_admin(services)
        repaired = drafts.process_pending(services.db, services.index)
        if repaired:
            log.warning("补做了 %d 个已解决工单的知识草稿（上次在解决后、生成草稿前中断）", repaired)
        if report is not None:
            log.warning(
                "首次启动：已从 %s 导入 %d 篇文章（%d 个问题）",
                settings.content_dir,
                report.imported,
                len(report.problems),
            )
        if secret is not None:
            log.warning(
                "首次启动：已生成初始管理员令牌（只显示这一次，数据库中只保存其哈希）：\n    %s\n"
                "在浏览器打开 http://%s:%d/login 粘贴该令牌登录；"
                "更多令牌：kb token create --role ROLE --name NAME",
                secret,
                settings.host,
                settings.port,
            )
        housekeeping = MaintenanceLoop(
            services.db, services.index, settings.ticket_auto_close_days, settings.maintenance_seconds
        )
        housekeeping.start()
        sla_scheduler = SlaScheduler(services.db, settings)
        sla_scheduler.start()
        try:
            yield
        finally:
            sla_scheduler.stop()
            housekeeping.stop()
            services.close()

    app = FastAPI(
        title="知识库搜索服务 KB Search",
        version="0.1.0",
        description="面向 IT 运维与技术支持的中文知识库搜索服务",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(search.router)
    app.include_router(articles.router)
    app.include_router(tickets.router)
    app.include_router(tickets.drafts_router)
    app.include_router(integrations.router)
    app.include_router(surveys.router)
    app.include_router(sla.router)
    app.include_router(sla_admin.router)
    app.include_router(sla_admin.groups_router)
    app.include_router(notifications.router)
    app.include_router(notifications.webhooks_router)
    app.include_router(notifications.contacts_router)
    app.include_router(ticket_pages.router)
    app.include_router(sla_pages.router)
    app.include_router(notification_pages.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    return app
