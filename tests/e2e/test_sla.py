"""SLA on the pages in headless Chromium: live countdown badges, breaching soon, and the admin pages."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import FilePayload, Page, expect
from sqlalchemy import select

from kb.config import Settings
from kb.db import Database, utcnow
from kb.sla.evaluate import evaluate_due
from kb.ticket.models import Ticket, TicketEvent
from tests.e2e.conftest import REPO, LiveServer, NewContext, login

BREACHED_RED = "rgb(255, 216, 211)"  # .sla-breached in api/static/style.css


@pytest.fixture(scope="module")
def admin_token(live_server: LiveServer) -> str:
    """An admin token from the real CLI (the shared fixtures make none)."""
    command = [sys.executable, "-m", "kb.cli", "token", "create", "--role", "admin", "--name", "管理员丁"]
    done = subprocess.run(command, cwd=REPO, env=live_server.env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


@pytest.fixture(scope="module")
def service_db(live_server: LiveServer) -> Iterator[tuple[Database, Settings]]:
    """The service's own database, opened from the test to set up ticket history and run the SLA evaluation."""
    settings = Settings(data_dir=live_server.data_dir)
    db = Database(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    yield db, settings
    db.dispose()


@pytest.fixture
def engineer_page(new_context: NewContext, live_server: LiveServer) -> Page:
    """A page logged in as the engineer."""
    return login(new_context(), live_server.tokens["engineer"])


@pytest.fixture
def admin_page(new_context: NewContext, admin_token: str) -> Page:
    """A page logged in as the admin."""
    return login(new_context(), admin_token)


def open_p1(server: LiveServer, title: str) -> str:
    """Open a P1 ticket (high impact, high urgency: 30 minutes to respond around the clock) through the API."""
    with server.client("engineer") as client:
        response = client.post("/api/v1/tickets", json={"title": title, "impact": "high", "urgency": "high"})
    assert response.status_code == 201, response.text
    number: str = response.json()["number"]
    return number


def backdate(db: Database, number: str, delta: timedelta) -> None:
    """Move a ticket's history ``delta`` into the past, as if it had been opened then (and mark it changed now)."""
    with db.session() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None
        ticket.created_at -= delta
        ticket.updated_at = utcnow()
        for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)):
            event.at -= delta


@pytest.mark.browser
class TestBadges:
    def test_a_breached_p1_is_red_on_the_list_and_first_in_breaching_soon(
        self, engineer_page: Page, live_server: LiveServer, service_db: tuple[Database, Settings]
    ) -> None:
        db, settings = service_db
        number = open_p1(live_server, "E2E SLA：机房核心路由器宕机，全部业务中断")
        backdate(db, number, timedelta(days=2))
        report = evaluate_due(db, settings, utcnow())
        assert (number, "response", "breach", 100) in report.events, report.events

        page = engineer_page
        page.goto("/tickets?priority=P1")
        badge = page.locator(f"#ticket-list #sla-{number}")
        expect(badge).to_have_class(re.compile(r"\bsla-breached\b"))
        expect(badge.locator(".sla-countdown")).to_contain_text("已超时")
        assert badge.evaluate("el => getComputedStyle(el).backgroundColor") == BREACHED_RED

        with page.expect_navigation():
            page.locator("header nav a[href='/tickets/breaching']").click()
        first = page.locator("#breaching-list tbody tr").first
        expect(first).to_have_attribute("data-number", number)
        expect(first.locator(".sla-clock")).to_have_text("响应")
        expect(first.locator(".sla-countdown")).to_have_text(re.compile(r"^已超时 1 天 23 小时$"))
        expect(first.locator(".sla-level")).to_have_text(re.compile(r"^[1-9]\d* 级$"))

        page.goto(f"/tickets/{number}")
        expect(page.locator("#sla-response")).to_have_class(re.compile(r"\bsla-breached\b"))
        expect(page.locator("#sla-events")).to_contain_text("超时")
        expect(page.locator("#sla-events")).to_contain_text("升级")
        assert int(page.locator("#sla-escalation-level").inner_text()) >= 1

    def test_the_countdown_ticks_in_the_browser(self, engineer_page: Page, live_server: LiveServer) -> None:
        number = open_p1(live_server, "E2E SLA：VPN 网关全部断开")
        page = engineer_page
        problems: list[str] = []  # script errors and CSP refusals
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.goto(f"/tickets/{number}")
        countdown = page.locator("#sla-response .sla-countdown")
        first = countdown.inner_text()
        assert re.fullmatch(r"剩 (29|30) 分 \d{1,2} 秒", first), first
        expect(page.locator("#sla-response")).to_have_class(re.compile(r"\bsla-ok\b"))
        expect(countdown).not_to_have_text(first, timeout=5_000)
        assert problems == []

    def test_hovering_or_clicking_the_badge_explains_it_in_chinese(
        self, engineer_page: Page, live_server: LiveServer
    ) -> None:
        number = open_p1(live_server, "E2E SLA：数据库主库不可用")
        page = engineer_page
        page.goto("/tickets?priority=P1")
        badge = page.locator(f"#ticket-list #sla-{number}")
        panel = badge.locator(".sla-explanation")
        assert "响应目标 30 分钟" in (badge.get_attribute("title") or "")
        expect(panel).to_be_hidden()
        badge.locator("summary").click()
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("创建于")
        expect(panel).to_contain_text("响应目标 30 分钟，按日历“24x7”计工作时间")
        badge.locator("summary").click()
        expect(panel).to_be_hidden()


@pytest.mark.browser
class TestAdminPages:
    def test_an_admin_narrows_a_policy_and_adds_a_calendar(self, admin_page: Page) -> None:
        page = admin_page
        with page.expect_navigation():
            page.locator("header nav a[href='/admin/sla/policies']").click()
        expect(page.locator("#policy-list tr[data-policy='default-P3']")).to_contain_text("内置默认")
        page.locator("#policy-priority").select_option("P3")
        page.locator("#policy-category").fill("网络")
        page.locator("#policy-response-minutes").fill("60")
        page.locator("#policy-response-calendar").select_option("cn-business")
        page.locator("#policy-resolution-minutes").fill("900")
        page.locator("#policy-resolution-calendar").select_option("cn-business")
        with page.expect_navigation():
            page.locator("#policy-submit").click()
        expect(page.locator("#sla-notice")).to_have_text("已新建")
        row = page.locator("#policy-list tbody tr", has_text="网络")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("P3")
        expect(row).to_contain_text("1 小时 · cn-business")

        with page.expect_navigation():
            page.locator("#sla-tabs a[href='/admin/sla/calendars']").click()
        expect(page.locator(".sla-warning[data-calendar='cn-business']")).to_contain_text("缺少")
        page.locator("#calendar-name").fill("e2e-night")
        page.locator("#calendar-description").fill("夜班值守")
        for day in range(5):
            page.locator(f"#calendar-week-{day}").fill("20:00-24:00")
        page.locator("#calendar-week-5").fill("09:00-12:00，13:30-18:00")
        with page.expect_navigation():
            page.locator("#calendar-submit").click()
        expect(page.locator("#sla-notice")).to_have_text("已新建")
        row = page.locator("#calendar-list tr[data-calendar='e2e-night']")
        expect(row).to_contain_text("周一至周五 20:00-24:00；周六 09:00-12:00,13:30-18:00；周日 休息")
        expect(row).to_contain_text("夜班值守")

    def test_a_bad_weekly_block_is_refused_precisely_and_saves_nothing(
        self, admin_page: Page, live_server: LiveServer
    ) -> None:
        page = admin_page
        page.goto("/admin/sla/calendars")
        page.locator("#calendar-name").fill("e2e-backwards")
        page.locator("#calendar-week-0").fill("18:00-09:00")
        with page.expect_navigation():
            page.locator("#calendar-submit").click()
        expect(page.locator("#sla-error")).to_have_text("周一第 1 个时段：18:00–09:00 结束早于开始")
        expect(page.locator("#calendar-name")).to_have_value("e2e-backwards")
        expect(page.locator("#calendar-list tr[data-calendar='e2e-backwards']")).to_have_count(0)
        with live_server.client("engineer") as client:
            names = [c["name"] for c in client.get("/api/v1/sla/calendars").json()]
        assert "e2e-backwards" not in names

        page.goto("/admin/sla/policies")
        page.locator("#policy-response-minutes").fill("一小时")
        page.locator("#policy-resolution-minutes").fill("900")
        with page.expect_navigation():
            page.locator("#policy-submit").click()
        expect(page.locator("#sla-error")).to_have_text("响应目标（分钟）：“一小时”不是整数")

    def test_holidays_upload_clears_the_missing_year_warning(self, admin_page: Page) -> None:
        page = admin_page
        page.goto("/admin/sla/calendars")
        page.locator("#calendar-name").fill("e2e-office")
        page.locator("#calendar-holidays").select_option("cn")
        page.locator("#calendar-week-0").fill("09:00-17:00")
        with page.expect_navigation():
            page.locator("#calendar-submit").click()
        # The warning covers this year and the next; the shipped holiday data ends before at least the next one.
        this_year = utcnow().year
        warning = page.locator(".sla-warning[data-calendar='e2e-office']")
        expect(warning).to_contain_text(str(this_year + 1))
        upload = page.locator("#calendar-list tr[data-calendar='e2e-office'] form.sla-upload")
        content = "".join(f"{y}-01-01,holiday,元旦\n" for y in (this_year, this_year + 1))
        upload.locator("input[type=file]").set_input_files(
            files=[FilePayload(name="holidays.csv", mimeType="text/csv", buffer=f"date,kind,name\n{content}".encode())]
        )
        with page.expect_navigation():
            upload.locator("button[type=submit]").click()
        expect(page.locator("#sla-notice")).to_have_text(f"已导入节假日文件：{this_year}、{this_year + 1} 年")
        row = page.locator("#calendar-list tr[data-calendar='e2e-office']")
        expect(row).to_contain_text(f"管理员导入：{this_year}–{this_year + 1}")
        expect(warning).to_have_count(0)

    def test_an_admin_maintains_support_groups(self, admin_page: Page) -> None:
        page = admin_page
        page.goto("/admin/sla/groups")
        for name, tier, target in (("e2e-二线", "L2", ""), ("e2e-一线", "L1", "e2e-二线")):
            page.locator("#group-name").fill(name)
            page.locator("#group-tier").select_option(tier)
            page.locator("#group-lead").fill("张组长")
            if target:
                page.locator("#group-escalates-to").select_option(target)
            with page.expect_navigation():
                page.locator("#group-submit").click()
            expect(page.locator("#sla-notice")).to_have_text("已新建")
        expect(page.locator("#group-list tr[data-group='e2e-一线']")).to_contain_text("e2e-二线")
        page.locator("#group-list tr[data-group='e2e-二线'] button.danger").click()
        expect(page.locator("#sla-error")).to_contain_text("升级到“e2e-二线”")
        expect(page.locator("#group-list tr[data-group='e2e-二线']")).to_have_count(1)

    def test_others_get_403(self, engineer_page: Page) -> None:
        page = engineer_page
        expect(page.locator("header nav a[href='/admin/sla/policies']")).to_have_count(0)
        for path in ("/admin/sla/policies", "/admin/sla/calendars", "/admin/sla/groups"):
            response = page.goto(path)
            assert response is not None and response.status == 403, path
            expect(page.locator(".error-page")).to_contain_text("只有管理员")
