"""The tantivy schema and how an IndexableDocument becomes a tantivy document of pre-analysed text.

Word fields hold our analyzer's tokens joined by spaces and indexed with tantivy's whitespace tokenizer, so
tantivy sees exactly the tokens Whoosh sees; the display fields travel as one stored JSON payload.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import tantivy

from indexer import analysis
from indexer.documents import IndexableDocument
from indexer.fields import document_fields
from indexer.schema import FIELD_BOOSTS, NGRAM_FIELD, WORD_FIELDS

SCHEMA_REVISION = "1"
PAYLOAD_FIELDS = ("slug", "title", "tags", "category", "status", "updated_at", "snippet_source")
KEYWORD_FIELDS = ("category", "status", "author")
# tantivy rejects terms over 65,530 bytes; no real word is anywhere near this.
MAX_TOKEN_CHARS = 256


def build_schema() -> Any:
    """The tantivy schema of an article."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("slug", tokenizer_name="raw", index_option="basic")
    for name in (*WORD_FIELDS, NGRAM_FIELD):
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("tags", tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_text_field("category", tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_text_field("status", tokenizer_name="raw", index_option="basic", fast=True)
    builder.add_text_field("author", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("updated", fast=True)
    builder.add_bytes_field("payload", stored=True)
    return builder.build()


def schema_version() -> str:
    """Changes whenever this schema, the analyzer or its dictionaries change."""
    digest = hashlib.sha256()
    for part in ("tantivy", SCHEMA_REVISION, analysis.dictionary_fingerprint(), repr(sorted(FIELD_BOOSTS.items()))):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(getattr(tantivy, "__version__", "?").encode())
    return digest.hexdigest()[:16]


def _joined(tokens: list[str]) -> str:
    return " ".join(token for token in tokens if len(token) <= MAX_TOKEN_CHARS)


def analysed_fields(doc: IndexableDocument) -> dict[str, Any]:
    """Everything tantivy stores for ``doc``, analysed (runs in bulk-build worker processes too)."""
    values = document_fields(doc)
    fields: dict[str, Any] = {name: _joined(analysis.analyze(values[name])) for name in WORD_FIELDS}
    fields[NGRAM_FIELD] = _joined(analysis.bigrams(values[NGRAM_FIELD]))
    fields["slug"] = doc.slug
    fields["tag_list"] = [tag for tag in (t.strip() for t in values["tags"].split(",")) if tag]
    for name in KEYWORD_FIELDS:
        fields[name] = values[name]
    fields["updated"] = int(doc.updated_at.timestamp() * 1_000_000)
    fields["payload"] = json.dumps({name: values[name] for name in PAYLOAD_FIELDS}, ensure_ascii=False).encode()
    return fields


def to_tantivy(fields: dict[str, Any]) -> Any:
    """A tantivy Document from ``analysed_fields`` output."""
    document = tantivy.Document()
    document.add_text("slug", fields["slug"])
    for name in (*WORD_FIELDS, NGRAM_FIELD):
        if fields[name]:
            document.add_text(name, fields[name])
    for tag in fields["tag_list"]:
        document.add_text("tags", tag)
    for name in KEYWORD_FIELDS:
        if fields[name]:
            document.add_text(name, fields[name])
    document.add_integer("updated", fields["updated"])
    document.add_bytes("payload", fields["payload"])
    return document
