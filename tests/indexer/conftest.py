"""Indexer fixtures: plain documents in a real index of each engine under tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from indexer.documents import IndexableDocument
from indexer.engine import ENGINES, SearchEngine, create_engine

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def doc(
    slug: str,
    title: str,
    *,
    symptoms: str = "",
    body: str = "",
    tags: tuple[str, ...] = (),
    status: str = "published",
    category: str = "",
    author: str = "alice",
) -> IndexableDocument:
    """A document with sensible defaults."""
    return IndexableDocument(
        slug=slug,
        title=title,
        status=status,
        updated_at=NOW,
        symptoms=symptoms,
        body=body,
        tags=tags,
        category=category,
        author=author,
    )


DOCUMENTS = [
    doc(
        "nginx-502",
        "Nginx 返回 502 Bad Gateway",
        symptoms="访问网站报 502，error.log 中 connect() failed (111: Connection refused)",
        body="检查 upstream 服务是否存活，systemctl status php-fpm。",
        tags=("nginx", "502"),
        category="Web服务器",
    ),
    doc(
        "nginx-504",
        "Nginx 504 Gateway Time-out 网关超时",
        symptoms="upstream timed out (110: Connection timed out)",
        body="调大 proxy_read_timeout，排查慢接口。",
        tags=("nginx", "504"),
        category="Web服务器",
    ),
    doc(
        "mysql-timeout",
        "MySQL 连接超时：Lost connection to MySQL server",
        symptoms="应用日志报 Communications link failure",
        body="检查 wait_timeout 与连接池 maxLifetime。",
        tags=("mysql", "连接超时"),
        category="数据库",
    ),
    doc(
        "disk-full",
        "磁盘写满：No space left on device",
        symptoms="写文件失败 No space left on device",
        body="df -h 查看，du 定位大文件，lsof +L1 找已删除未释放的文件。",
        tags=("磁盘满", "linux"),
        category="存储与磁盘",
    ),
    doc(
        "printer-offline",
        "打印机脱机，文档卡在队列",
        symptoms="打印机状态显示脱机（Offline）",
        body="重启 Print Spooler 服务，清空 C:\\Windows\\System32\\spool\\PRINTERS。",
        tags=("打印机", "windows"),
        category="打印机",
    ),
    doc(
        "win-update",
        "Windows 更新失败 0x80070005 拒绝访问",
        symptoms="Windows Update 报错 0x80070005",
        body="运行 sfc /scannow 与 DISM /Online /Cleanup-Image /RestoreHealth。",
        tags=("windows", "0x80070005"),
        category="Windows客户端",
    ),
    doc(
        "oracle-942",
        "ORA-00942: table or view does not exist",
        symptoms="SQL 报 ORA-00942",
        body="确认 schema 前缀与授权 GRANT SELECT。",
        tags=("oracle",),
        category="数据库",
    ),
    doc(
        "sso-saml",
        "单点登录失败：Invalid SAML response",
        symptoms="SSO 登录跳转后报签名无效",
        body="检查 IdP 证书与时钟偏差。",
        tags=("sso", "saml"),
        category="账号与认证",
    ),
    doc(
        "draft-vpn",
        "VPN 草稿机密词 qzxsecret",
        symptoms="草稿内容 qzxsecret 不应泄露",
        status="draft",
        tags=("vpn", "secret-tag"),
        category="VPN与远程访问",
        author="bob",
    ),
    doc(
        "retired-oom",
        "旧文：Java 内存溢出 OutOfMemoryError",
        symptoms="java.lang.OutOfMemoryError: Java heap space",
        status="retired",
        tags=("java",),
        category="内存与性能",
    ),
]


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    """Each search engine in turn."""
    return str(request.param)


@pytest.fixture
def index(tmp_path: Path, engine_name: str) -> Iterator[SearchEngine]:
    """A real index holding DOCUMENTS, with this test as its writer."""
    search_index = create_engine(engine_name, tmp_path / "index")
    search_index.acquire_writer()
    search_index.rebuild(DOCUMENTS, position=len(DOCUMENTS))
    yield search_index
    search_index.close()
