"""The workload: realistic support-desk queries and ticket texts built from the corpus."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.corpus import SourceArticle

# Mixed Chinese / English / error codes / traditional characters, as typed into a support search box.
QUERIES: tuple[str, ...] = (
    "TiKV 启动报错",
    "Outlook 无法连接",
    "550 5.7.501",
    "Region is Unavailable",
    "慢查询",
    "磁盘空间不足",
    "印表機",
    "ERROR 9003",
    "连接超时",
    "Teams 无法登录",
    "共享邮箱",
    "密码重置",
    "OneDrive 同步失败",
    "SharePoint 外部共享",
    "许可证 分配",
    "AADSTS50011",
    "0x80070005",
    "ERROR 1105",
    "Error 1054: Unknown column",
    "Information schema is changed",
    "GC life time",
    "Write conflict",
    "TiFlash 副本",
    "DDL 卡住",
    "热点 Region",
    "server is busy",
    "OOM 内存不足",
    "TiCDC 同步延迟",
    "PD 调度",
    "多重身份验证 MFA",
    "BitLocker 恢复密钥",
    "Autopilot 设备注册",
    "日历 会议邀请",
    "账单 付款",
    "無法登入 Teams",
    "連線逾時",
    "資料庫 備份",
    "郵件 被退回",
    "Lost connection to MySQL server",
    "Windows 更新失败",
    "Surface 无法启动",
    "DNS 记录",
)

# Ticket noise: what people wrap around the actual problem.
_TICKET_OPENERS: tuple[str, ...] = (
    "您好，",
    "紧急！",
    "用户反馈：",
    "【工单】",
    "Hi team，",
    "",
)
_TICKET_CLOSERS: tuple[str, ...] = (
    "\n\n请尽快处理，谢谢！",
    "\n\n已经重启过电脑，问题依旧。",
    "\n\n截图见附件。",
    "\n\n影响整个部门，麻烦帮忙看一下。",
    "",
)
_NOISE_WORDS: tuple[str, ...] = ("然后", "好像", "一直", "突然", "今天早上", "asap", "附件", "我们这边")


@dataclass(frozen=True)
class Ticket:
    """A suggestion request: ticket title and description."""

    title: str
    description: str


def query_plan(queries: Sequence[str], repetitions: int, seed: int = 7) -> list[str]:
    """Every query ``repetitions`` times, each round in a different (seeded) order."""
    rng = random.Random(seed)
    plan: list[str] = []
    for _ in range(repetitions):
        round_ = list(queries)
        rng.shuffle(round_)
        plan.extend(round_)
    return plan


def _noisy(text: str, rng: random.Random) -> str:
    """Insert a few filler words and drop a character or two, as in hastily written tickets."""
    chars = list(text)
    for _ in range(3):
        if chars:
            chars.insert(rng.randrange(len(chars)), rng.choice(_NOISE_WORDS))
    for _ in range(2):
        if len(chars) > 10:
            del chars[rng.randrange(len(chars))]
    return "".join(chars)


def tickets(articles: Sequence[SourceArticle], count: int, *, body_chars: int = 600, seed: int = 11) -> list[Ticket]:
    """``count`` tickets: a corpus title, and the first ~``body_chars`` of its body with some noise."""
    rng = random.Random(seed)
    chosen = [articles[rng.randrange(len(articles))] for _ in range(count)]
    result: list[Ticket] = []
    for article in chosen:
        description = rng.choice(_TICKET_OPENERS) + _noisy(article.body[:body_chars], rng)
        result.append(Ticket(article.title, description + rng.choice(_TICKET_CLOSERS)))
    return result


def _corpus_text(first: SourceArticle, articles: Sequence[SourceArticle], chars: int, rng: random.Random) -> str:
    """At least ``chars`` characters of body text: ``first``'s body, continued with other bodies if it is short."""
    parts = [first.body.strip()]
    while sum(len(part) + 1 for part in parts) < chars and any(a.body.strip() for a in articles):
        parts.append(articles[rng.randrange(len(articles))].body.strip())
    return "\n".join(part for part in parts if part)


def _exactly(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` characters, edge whitespace (which the API strips) replaced by ``。``."""
    cut = text[:chars].ljust(chars, "。")
    head = len(cut) - len(cut.lstrip())
    tail = len(cut) - len(cut.rstrip())
    return "。" * head + cut[head : len(cut) - tail] + "。" * tail


def sized_tickets(articles: Sequence[SourceArticle], count: int, *, chars: int = 500, seed: int = 17) -> list[Ticket]:
    """``count`` tickets whose description is exactly ``chars`` characters: corpus body text with ticket noise.

    Articles whose body alone is long enough are preferred (the text then describes a single problem); the
    opener, filler words, dropped characters and closer are those of ``tickets``.
    """
    rng = random.Random(seed)
    pool = [a for a in articles if len(a.body.strip()) >= chars] or list(articles)
    result: list[Ticket] = []
    for _ in range(count):
        article = pool[rng.randrange(len(pool))]
        opener = rng.choice(_TICKET_OPENERS)
        closer = rng.choice(_TICKET_CLOSERS)
        room = max(0, chars - len(opener) - len(closer))
        middle = _noisy(_corpus_text(article, articles, room + 20, rng)[: room + 20], rng)
        description = _exactly(opener + middle, chars - len(closer)) + closer
        result.append(Ticket(article.title.strip()[:300] or "工单", _exactly(description, chars)))
    return result


# Appended to a query to give it a new cache key without changing what it means: the analyzer drops
# punctuation, so "慢查询。。" is analysed, matched and highlighted exactly like "慢查询" (the benchmark checks that
# the totals agree). Without it, a result cache would answer every repeated query of the plan.
CACHE_BUSTER = "。"


def padded(query: str, copies: int) -> str:
    """``query`` with ``copies`` trailing cache-busting characters."""
    return query + CACHE_BUSTER * copies


def distinct_plan(queries: Sequence[str], repetitions: int, *, seed: int = 7, start: int = 1) -> list[str]:
    """Like ``query_plan`` but every entry is a distinct string: the n-th use of a query gets ``start + n`` pads."""
    seen: dict[str, int] = {}
    plan: list[str] = []
    for query in query_plan(queries, repetitions, seed):
        copies = seen.get(query, start)
        seen[query] = copies + 1
        plan.append(padded(query, copies))
    return plan


def unpadded(query: str) -> str:
    """The query without cache-busting characters."""
    return query.rstrip(CACHE_BUSTER)


class FreshPlans:
    """Successive plans of ``count`` searches in the same order, never repeating a cache key."""

    def __init__(self, queries: Sequence[str], count: int, *, seed: int = 13) -> None:
        self.queries = list(queries)
        self.count = count
        self.seed = seed
        self.rounds = count // len(self.queries) + 1
        self.start = 1

    def next(self) -> list[str]:
        """The next plan (the same queries in the same order as every other plan, padded differently)."""
        plan = distinct_plan(self.queries, self.rounds, seed=self.seed, start=self.start)[: self.count]
        self.start += self.rounds
        return plan
