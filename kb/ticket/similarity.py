"""Text similarity over the analyzer's tokens: cosine of term-frequency vectors, 0..1."""

from __future__ import annotations

import math
from collections import Counter

from indexer import analysis


def token_counts(text: str) -> Counter[str]:
    """Term frequencies of ``text`` after the search analyzer (query mode: words, not sub-words)."""
    return Counter(analysis.analyze(text, analysis.QUERY))


def cosine(left: Counter[str], right: Counter[str]) -> float:
    """Cosine similarity of two term-frequency vectors."""
    if not left or not right:
        return 0.0
    dot = sum(count * right[token] for token, count in left.items() if token in right)
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


def similarity(left: str, right: str) -> float:
    """How alike two texts are (0 = nothing shared, 1 = same words in the same proportions)."""
    return round(cosine(token_counts(left), token_counts(right)), 4)
