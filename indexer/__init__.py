"""Chinese-aware full-text search engine, built like a small library.

The analysis pipeline (``indexer.analysis``), applied identically on the index and query paths:

1. normalise: NFKC (full-width -> half-width), case folding, traditional -> simplified Chinese (OpenCC
   ``tw2sp``, which also maps Taiwanese IT vocabulary such as 資料庫 -> 数据库);
2. split the text into runs of Han characters and everything else;
3. Han runs go to the segmenter — rjieba, jieba's Rust port, or jieba itself as reference and fallback — with the
   shipped IT-operations user dictionary: search mode when indexing (words and their dictionary sub-words),
   precise mode for queries;
4. other runs go through our own exact-token rules: error codes, versions, hostnames, paths, IPs and status codes
   stay whole (``0x80070005``, ``ora-00942``, ``nginx.conf``) and their meaningful parts are indexed beside them;
5. Chinese and English stop words are dropped;
6. at query time each term is expanded with the synonym table (zh<->zh, zh<->en, abbreviations);
7. a separate character-bigram field catches words jieba segments differently or does not know.

Everything a caller needs is plain dataclasses in (``IndexableDocument``) and out (``SearchHit``,
``SearchResult``) behind the ``SearchEngine`` protocol (``indexer.engine``), implemented by Whoosh
(``indexer.index``) and tantivy (``indexer.tantivy_index``) over the same tokens; this package knows nothing of
the database or web layer.
"""

from indexer.documents import (
    Facet,
    IndexableDocument,
    SearchHit,
    SearchRequest,
    SearchResult,
)

__all__ = ["Facet", "IndexableDocument", "SearchHit", "SearchRequest", "SearchResult"]
