"""Webhook signatures: HMAC-SHA256 over "timestamp." + body, so receivers can check origin and freshness.

The scheme (and a receiver's verification snippet) is documented in docs/webhooks.md.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-KB-Signature value of ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    now: datetime | float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """Whether ``signature`` is ours for this body and timestamp, and the timestamp is within the tolerance."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = now.timestamp() if isinstance(now, datetime) else float(now)
    # Future timestamps are refused too: a replayed request must not gain lifetime from a skewed clock.
    if abs(current - sent) > tolerance_seconds:
        return False
    expected = sign(secret, str(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
