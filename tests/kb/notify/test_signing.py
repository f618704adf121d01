"""Webhook signatures: HMAC-SHA256 over "timestamp." + body, checked in constant time with a freshness window."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.notify.signing import sign, verify

SECRET = "s3cr3t-令牌"
BODY = '{"event":"sla.breach","title":"INC-20261121-0042 解决已超时"}'.encode()
NOW = 1_800_000_000


class TestSign:
    def test_the_signature_is_hex_hmac_sha256_of_timestamp_dot_body(self) -> None:
        expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert sign(SECRET, NOW, BODY) == "sha256=" + expected
        assert sign(SECRET, str(NOW), BODY) == sign(SECRET, NOW, BODY)


class TestVerify:
    def test_a_good_signature_verifies(self) -> None:
        signature = sign(SECRET, NOW, BODY)
        assert verify(SECRET, str(NOW), BODY, signature, now=NOW + 10)
        assert verify(SECRET, NOW, BODY, signature, now=datetime.fromtimestamp(NOW + 299, UTC))

    def test_a_tampered_body_fails(self) -> None:
        signature = sign(SECRET, NOW, BODY)
        assert not verify(SECRET, NOW, BODY.replace(b"0042", b"0043"), signature, now=NOW)

    def test_a_wrong_secret_fails(self) -> None:
        assert not verify("another-secret", NOW, BODY, sign(SECRET, NOW, BODY), now=NOW)

    def test_a_changed_timestamp_fails(self) -> None:
        assert not verify(SECRET, NOW + 1, BODY, sign(SECRET, NOW, BODY), now=NOW)

    def test_a_stale_or_future_timestamp_fails_even_when_correctly_signed(self) -> None:
        signature = sign(SECRET, NOW, BODY)
        assert not verify(SECRET, NOW, BODY, signature, now=NOW + 301)
        assert not verify(SECRET, NOW, BODY, signature, now=NOW - 301)
        assert verify(SECRET, NOW, BODY, signature, now=NOW + 1000, tolerance_seconds=1200)

    def test_garbage_is_refused_not_raised(self) -> None:
        assert not verify(SECRET, "yesterday", BODY, sign(SECRET, NOW, BODY), now=NOW)
        assert not verify(SECRET, NOW, BODY, "sha256=签名", now=NOW)
        assert not verify(SECRET, NOW, BODY, "", now=NOW)


class TestDocumentedReceiver:
    def test_the_python_snippet_in_docs_webhooks_md_accepts_our_signatures(self) -> None:
        text = (Path(__file__).resolve().parents[3] / "docs" / "webhooks.md").read_text(encoding="utf-8")
        snippet = text.split("```python\n", 1)[1].split("```", 1)[0]
        namespace: dict[str, Any] = {}
        exec(snippet, namespace)
        now = int(time.time())
        assert namespace["verify"](SECRET, str(now), BODY, sign(SECRET, now, BODY))
        assert not namespace["verify"](SECRET, str(now), BODY + b" ", sign(SECRET, now, BODY))
        assert not namespace["verify"](SECRET, str(now - 301), BODY, sign(SECRET, now - 301, BODY))
