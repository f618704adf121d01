"""Article lifecycle, versions, diffs, optimistic locking and audit, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from kb.article import service
from kb.article.schemas import ArticleCreate, ArticleUpdate
from kb.auth import audit
from kb.auth.permissions import Principal
from kb.context import Services
from kb.exceptions import Conflict, NotFound, PermissionDenied
from kb.search import outbox

REVIEWER = Principal("审核员", "reviewer")
ENGINEER = Principal("工程师甲", "engineer")
OTHER_ENGINEER = Principal("工程师乙", "engineer")
VIEWER = Principal("读者", "viewer")


def create(services: Services, principal: Principal = REVIEWER, **fields: object) -> str:
    """Create an article and return its slug."""
    data = {"title": "Redis 内存满：OOM command not allowed", "symptoms": "写入报 OOM", "tags": ["redis"]}
    data.update(fields)
    with services.db.session() as session:
        return service.create_article(session, ArticleCreate.model_validate(data), principal).slug


class TestLifecycle:
    def test_a_new_article_is_a_draft_with_version_one(self, services: Services) -> None:
        slug = create(services)
        with services.db.session(write=False) as session:
            article = service.get_visible(session, slug, REVIEWER)
            assert (article.status, article.version) == ("draft", 1)

    def test_the_full_lifecycle_and_back_to_draft(self, services: Services) -> None:
        slug = create(services)
        for action, expected in [
            ("submit", "in_review"),
            ("publish", "published"),
            ("retire", "retired"),
            ("restore", "published"),
            ("to_draft", "draft"),
        ]:
            with services.db.session() as session:
                assert service.transition(session, slug, action, REVIEWER).status == expected

    def test_an_invalid_transition_is_a_409_listing_the_allowed_ones(self, services: Services) -> None:
        slug = create(services)
        with pytest.raises(Conflict) as error, services.db.session() as session:
            service.transition(session, slug, "restore", REVIEWER)
        assert error.value.details["allowed"] == ["submit", "publish", "retire"]
        with services.db.session(write=False) as session:
            assert service.get_visible(session, slug, REVIEWER).version == 1

    def test_engineers_submit_their_own_drafts_but_cannot_publish(self, services: Services) -> None:
        slug = create(services, ENGINEER)
        with services.db.session() as session:
            service.transition(session, slug, "submit", ENGINEER)
        with pytest.raises(PermissionDenied), services.db.session() as session:
            service.transition(session, slug, "publish", ENGINEER)

    def test_engineers_cannot_see_or_edit_other_peoples_drafts(self, services: Services) -> None:
        slug = create(services, ENGINEER)
        with pytest.raises(NotFound), services.db.session() as session:
            service.update_article(session, slug, ArticleUpdate(title="改"), OTHER_ENGINEER)
        with pytest.raises(NotFound), services.db.session(write=False) as session:
            service.get_visible(session, slug, VIEWER)


class TestVersions:
    def test_every_saved_change_is_a_version_with_author_and_diff(self, services: Services) -> None:
        slug = create(services)
        with services.db.session() as session:
            service.update_article(
                session,
                slug,
                ArticleUpdate(resolution="执行 `redis-cli config set maxmemory 4gb`", change_note="补充解决方案"),
                ENGINEER_REVIEWER,
            )
        with services.db.session(write=False) as session:
            article = service.get_visible(session, slug, REVIEWER)
            versions = service.list_versions(session, article)
            assert [(v.version, v.author, v.change_note) for v in versions] == [
                (2, "审核员乙", "补充解决方案"),
                (1, "审核员", "创建"),
            ]
            diff = service.diff_versions(session, article, 1, 2)
        assert "+## 解决方案" in diff
        assert "+执行 `redis-cli config set maxmemory 4gb`" in diff

    def test_saving_without_changes_creates_no_version(self, services: Services) -> None:
        slug = create(services)
        with services.db.session() as session:
            article = service.update_article(session, slug, ArticleUpdate(tags=["redis"]), REVIEWER)
            assert article.version == 1

    def test_a_stale_expected_version_is_refused_and_nothing_changes(self, services: Services) -> None:
        slug = create(services)
        with services.db.session() as session:
            service.update_article(session, slug, ArticleUpdate(title="第二版", expected_version=1), REVIEWER)
        with pytest.raises(Conflict), services.db.session() as session:
            service.update_article(session, slug, ArticleUpdate(title="基于旧版的修改", expected_version=1), REVIEWER)
        with services.db.session(write=False) as session:
            assert service.get_visible(session, slug, REVIEWER).title == "第二版"


ENGINEER_REVIEWER = Principal("审核员乙", "reviewer")


class TestAuditAndOutbox:
    def test_every_state_change_is_audited_with_before_and_after(self, services: Services) -> None:
        slug = create(services)
        with services.db.session() as session:
            service.transition(session, slug, "publish", REVIEWER)
        with services.db.session(write=False) as session:
            entries = audit.entries_for(session, "article", slug)
        assert [e.action for e in entries] == ["article.create", "article.publish"]
        assert entries[1].before["status"] == "draft"
        assert entries[1].after["status"] == "published"
        assert entries[1].actor == "审核员"

    def test_a_failed_change_leaves_no_version_audit_or_outbox_row(self, services: Services) -> None:
        slug = create(services)
        with services.db.session(write=False) as session:
            before = outbox.latest_position(session)
        with pytest.raises(Conflict), services.db.session() as session:
            service.update_article(session, slug, ArticleUpdate(title="x", expected_version=7), REVIEWER)
        with services.db.session(write=False) as session:
            assert outbox.latest_position(session) == before
            assert len(audit.entries_for(session, "article", slug)) == 1

    def test_a_duplicate_slug_is_a_conflict(self, services: Services) -> None:
        create(services, slug="redis-oom")
        with pytest.raises(Conflict):
            create(services, slug="redis-oom")

    def test_admins_delete_and_the_deletion_is_audited(self, services: Services) -> None:
        slug = create(services)
        with pytest.raises(PermissionDenied), services.db.session() as session:
            service.delete_article(session, slug, REVIEWER)
        with services.db.session() as session:
            service.delete_article(session, slug, Principal("root", "admin"))
        with services.db.session(write=False) as session:
            assert audit.entries_for(session, "article", slug)[-1].action == "article.delete"
