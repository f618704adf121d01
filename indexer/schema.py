"""The Whoosh schema and the version that says when an index must be rebuilt."""

from __future__ import annotations

import hashlib
from typing import Any

from whoosh import columns, fields

from indexer import analysis

SCHEMA_REVISION = "1"

# Field weights: title > symptoms > tags > body > n-gram fallback.
FIELD_BOOSTS: dict[str, float] = {
    "title": 6.0,
    "symptoms": 3.0,
    "tags_text": 2.5,
    "body": 1.0,
    "ngram": 0.4,
}
WORD_FIELDS = ("title", "symptoms", "tags_text", "body")
NGRAM_FIELD = "ngram"
NGRAM_SOURCE_LIMIT = 200


class TagsField(fields.KEYWORD):
    """Comma-separated tags whose column holds the list of tags, so facet counting reads a column."""

    def __init__(self) -> None:
        super().__init__(stored=True, commas=True, lowercase=False, scorable=False)
        # KEYWORD ignores a column passed as ``sortable``; set the list column directly.
        self.column_type = columns.VarBytesListColumn()

    def to_column_value(self, value: str) -> list[bytes]:
        return [tag.strip().encode("utf-8") for tag in value.split(",") if tag.strip()]

    def from_column_value(self, value: list[bytes]) -> list[str]:
        return [item.decode("utf-8") for item in value]


def build_schema() -> Any:
    """Whoosh schema of an article."""
    words = analysis.chinese_analyzer()
    return fields.Schema(
        slug=fields.ID(stored=True, unique=True),
        title=fields.TEXT(analyzer=words, stored=True),
        symptoms=fields.TEXT(analyzer=words),
        tags_text=fields.TEXT(analyzer=words),
        body=fields.TEXT(analyzer=words),
        ngram=fields.TEXT(analyzer=analysis.bigram_analyzer(), phrase=False),
        tags=TagsField(),
        category=fields.ID(stored=True, sortable=True),
        status=fields.ID(stored=True, sortable=True),
        author=fields.ID(stored=True),
        snippet_source=fields.STORED(),
        updated_at=fields.ID(stored=True, sortable=True),
    )


def schema_version() -> str:
    """Changes whenever the schema, the analyzer or its dictionaries change."""
    digest = hashlib.sha256()
    digest.update(SCHEMA_REVISION.encode())
    digest.update(analysis.dictionary_fingerprint().encode())
    digest.update(repr(sorted(FIELD_BOOSTS.items())).encode())
    digest.update(str(NGRAM_SOURCE_LIMIT).encode())
    return digest.hexdigest()[:16]
