"""How an IndexableDocument becomes Whoosh field values."""

from __future__ import annotations

from typing import Any

from indexer.documents import IndexableDocument
from indexer.highlight import plain_text
from indexer.schema import NGRAM_SOURCE_LIMIT


def document_fields(doc: IndexableDocument) -> dict[str, Any]:
    """The Whoosh field values of one document."""
    tags = ",".join(tag.replace(",", " ") for tag in doc.tags)
    ngram_source = " ".join([doc.title, doc.symptoms, " ".join(doc.tags), doc.body[:NGRAM_SOURCE_LIMIT]])
    snippet_source = plain_text("\n".join(part for part in (doc.symptoms, doc.body) if part))
    return {
        "slug": doc.slug,
        "title": doc.title,
        "symptoms": doc.symptoms,
        "tags_text": " ".join(doc.tags),
        "body": doc.body,
        "ngram": ngram_source,
        "tags": tags,
        "category": doc.category or "",
        "status": doc.status,
        "author": doc.author or "",
        "snippet_source": snippet_source[:6000],
        "updated_at": doc.updated_at.isoformat(),
    }
