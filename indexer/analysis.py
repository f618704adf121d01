"""Chinese analysis: normalisation, jieba segmentation, exact tokens, stop words, synonyms and bigrams.

One pipeline serves the index and the query path (see the package docstring). The pure functions
(``normalize``, ``analyze``, ``bigrams``, ``query_concepts``) are engine-neutral; ``JiebaTokenizer`` and
``BigramTokenizer`` adapt them to Whoosh. Han runs are segmented by rjieba (jieba's Rust port, same dictionary
and algorithm, much faster) when it is installed, else by jieba; ``KB_SEGMENTER`` (auto, jieba, rjieba) chooses.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import jieba
import opencc
from whoosh.analysis import StopFilter, Token, Tokenizer

try:
    import rjieba
except ImportError:  # an optional speed-up: jieba is the reference and the fallback
    rjieba = None  # type: ignore[assignment]

ANALYZER_VERSION = "2"

INDEX = "index"
QUERY = "query"

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# jieba's own regex only accepts this range; rarer characters are emitted one by one.
_JIEBA_HAN_RE = re.compile("([\u4e00-\u9fd5]+)")
_WORD_CHAR = "0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff\u3040-\u30ff\uac00-\ud7af"
_RUN_RE = re.compile(f"(?P<han>[{_HAN}]+)|(?P<word>[{_WORD_CHAR}](?:[{_WORD_CHAR}_\\-./:@+#]*[{_WORD_CHAR}+#])?)")
_COMPONENT_SPLIT_RE = re.compile(r"[/:@]+")
_ATOM_SPLIT_RE = re.compile(r"[._\-/:@]+")
_HAS_LETTER_RE = re.compile(f"[{_WORD_CHAR}]")
_DIGITS_RE = re.compile(r"^[0-9]+$")

_DATA = resources.files("indexer") / "data"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalyzedToken:
    """A token of normalised text with its character span in that text."""

    text: str
    start: int
    end: int
    exact: bool = False


@dataclass(frozen=True)
class QueryConcept:
    """One thing the user asked for: its term and the alternative token sequences that satisfy it."""

    text: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]
    is_code: bool = False


# --- resources -------------------------------------------------------------------------------------------


def _read_data(name: str) -> str:
    return (_DATA / name).read_text(encoding="utf-8")


def _data_lines(name: str) -> list[str]:
    lines = (raw.strip() for raw in _read_data(name).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def user_dictionary_path() -> Path:
    """Path of the shipped IT-operations jieba user dictionary."""
    return Path(str(_DATA / "userdict.txt"))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Chinese and English stop words, normalised."""
    return frozenset(normalize(w) for w in _data_lines("stopwords.txt"))


def dictionary_fingerprint() -> str:
    """Hash of everything that changes indexed tokens: analyzer version, dictionaries, library versions."""
    digest = hashlib.sha256()
    for part in (
        ANALYZER_VERSION,
        _read_data("userdict.txt"),
        _read_data("stopwords.txt"),
        getattr(jieba, "__version__", "?"),
        getattr(opencc, "__version__", "?"),
        unicodedata.unidata_version,
    ):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


# --- normalisation ---------------------------------------------------------------------------------------

_converters = threading.local()


def _to_simplified(text: str) -> str:
    converter = getattr(_converters, "tw2sp", None)
    if converter is None:
        converter = _converters.tw2sp = opencc.OpenCC("tw2sp")
    return str(converter.convert(text))


def _to_simplified_by_char(text: str) -> str:
    converter = getattr(_converters, "t2s", None)
    if converter is None:
        converter = _converters.t2s = opencc.OpenCC("t2s")
    out = str(converter.convert(text))
    return out if len(out) == len(text) else text


def normalize(text: str) -> str:
    """NFKC, lower case, traditional -> simplified: the form every token is compared in."""
    return _to_simplified(unicodedata.normalize("NFKC", text).lower())


def normalize_with_offsets(text: str) -> tuple[str, Sequence[int]]:
    """Normalise like ``normalize`` and map every output character back to its index in ``text``."""
    folded_whole = unicodedata.normalize("NFKC", text).lower()
    if len(folded_whole) == len(text):
        # The common case: folding kept every character in place, so offsets are the identity.
        simplified = _to_simplified(folded_whole)
        if len(simplified) != len(folded_whole):
            simplified = _to_simplified_by_char(folded_whole)
        return simplified, range(len(text))
    pieces: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = unicodedata.normalize("NFKC", char).lower()
        pieces.append(folded)
        offsets.extend([index] * len(folded))
    folded_text = "".join(pieces)
    simplified = _to_simplified(folded_text)
    if len(simplified) != len(folded_text):
        simplified = _to_simplified_by_char(folded_text)
    return simplified, offsets


# --- segmentation ----------------------------------------------------------------------------------------

SEGMENTER_VARIABLE = "KB_SEGMENTER"
SEGMENTERS = ("auto", "jieba", "rjieba")


class Segmenter(Protocol):
    """What the analyzer needs of jieba's ``Tokenizer`` or ``rjieba.Jieba``."""

    def tokenize(self, text: str, mode: str = ...) -> Iterable[tuple[str, int, int]]:
        """(word, start, end) character spans of ``text`` in "default" (precise) or "search" mode."""
        ...


_segmenter_lock = threading.Lock()
_segmenter: Segmenter | None = None
_cache_dir: Path | None = None


def _resolve_segmenter(name: str | None) -> str:
    requested = (os.environ.get(SEGMENTER_VARIABLE, "") if name is None else name).strip().lower() or "auto"
    if requested not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {requested!r} ({SEGMENTER_VARIABLE}): use one of {', '.join(SEGMENTERS)}")
    if requested == "auto":
        return "jieba" if rjieba is None else "rjieba"
    if requested == "rjieba" and rjieba is None:
        raise RuntimeError(
            f"segmenter 'rjieba' ({SEGMENTER_VARIABLE}) requested but rjieba is not installed: "
            "pip install 'rjieba>=0.2.2', or set KB_SEGMENTER=jieba"
        )
    return requested


def _load_jieba(cache_dir: Path | None) -> Any:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    if cache_dir is not None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tokenizer.tmp_dir = str(cache_dir)
        tokenizer.cache_file = "jieba.cache"
    tokenizer.initialize()
    tokenizer.load_userdict(str(user_dictionary_path()))
    return tokenizer


def _rjieba_like(tokenizer: Any) -> Segmenter:
    segmenter = rjieba.Jieba()
    for raw in _read_data("userdict.txt").splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        # Parsed like jieba's load_userdict; the frequency is the one jieba settled on, not rjieba's own
        # suggestion, which is one lower for words already in the main dictionary (容器: 433, jieba 434).
        word, _freq, tag = jieba.re_userdict.match(line).groups()
        segmenter.add_word(word, tokenizer.FREQ[word], tag.strip() if tag else None)
    return segmenter


def load_segmenter(name: str | None = None, cache_dir: Path | None = None) -> Segmenter:
    """A new segmenter with our user dictionary: ``name`` is auto, jieba or rjieba (default: ``KB_SEGMENTER``)."""
    resolved = _resolve_segmenter(name)
    tokenizer = _load_jieba(cache_dir)
    return tokenizer if resolved == "jieba" else _rjieba_like(tokenizer)


def initialize(cache_dir: Path | None = None) -> None:
    """Load the segmenter once per process, with jieba's cache file in ``cache_dir`` and our user dictionary."""
    global _segmenter, _cache_dir
    with _segmenter_lock:
        if _segmenter is not None:
            return
        _cache_dir = cache_dir
        # Published fully built and never mutated afterwards: tokenize only reads (rjieba's releases the GIL),
        # so all threads share one segmenter without locking.
        _segmenter = load_segmenter(None, cache_dir)


def use_segmenter(name: str | None = None) -> None:
    """Replace this process's segmenter by a new one (``name`` as in ``load_segmenter``); for tests."""
    global _segmenter
    segmenter = load_segmenter(name, _cache_dir)
    with _segmenter_lock:
        _segmenter = segmenter


def segmenter_name() -> str:
    """The segmenter this process uses, or will use once initialised: "rjieba" or "jieba"."""
    segmenter = _segmenter
    if segmenter is None:
        return _resolve_segmenter(None)
    return "rjieba" if rjieba is not None and isinstance(segmenter, rjieba.Jieba) else "jieba"


def cache_dir() -> Path | None:
    """Where this process keeps the jieba cache (worker processes reuse it)."""
    return _cache_dir


def is_initialized() -> bool:
    """Whether the segmenter and the user dictionary are loaded."""
    return _segmenter is not None


def _jieba() -> Segmenter:
    segmenter = _segmenter
    if segmenter is None:
        initialize()
        segmenter = _segmenter
        assert segmenter is not None
    return segmenter


def segmenter_inputs(text: str) -> list[str]:
    """The Han runs of normalised ``text`` that are handed to the segmenter, in order."""
    return _JIEBA_HAN_RE.findall(text)


def _segment_han(run: str, mode: str) -> Iterator[tuple[str, int, int]]:
    """Yield (word, start, end) for a run of Han characters."""
    segmenter = _jieba()
    position = 0
    for piece in _JIEBA_HAN_RE.split(run):
        if not piece:
            continue
        if _JIEBA_HAN_RE.fullmatch(piece):
            mode_name = "search" if mode == INDEX else "default"
            for word, start, end in segmenter.tokenize(piece, mode=mode_name):
                yield word, position + start, position + end
        else:
            for offset, char in enumerate(piece):
                yield char, position + offset, position + offset + 1
        position += len(piece)


def _useful_part(part: str) -> bool:
    if _DIGITS_RE.match(part):
        return len(part) >= 3
    return len(part) >= 2 and bool(_HAS_LETTER_RE.search(part))


def compound_parts(word: str) -> list[str]:
    """Meaningful pieces of a compound token: path components, then atoms (``nginx.conf`` -> nginx, conf)."""
    parts: list[str] = []
    components = [c for c in _COMPONENT_SPLIT_RE.split(word) if c]
    if len(components) > 1:
        parts.extend(c for c in components if _useful_part(c) or _ATOM_SPLIT_RE.search(c))
    atoms = [a for a in _ATOM_SPLIT_RE.split(word) if a]
    if len(atoms) > 1:
        parts.extend(a for a in atoms if _useful_part(a))
    seen = {word}
    unique = []
    for part in parts:
        if part not in seen:
            seen.add(part)
            unique.append(part)
    return unique


_HAN_START_RE = re.compile(f"[{_HAN}]")


def starts_with_han(token: str) -> bool:
    """Whether a token is Chinese (starts with a Han character)."""
    return bool(_HAN_START_RE.match(token))


def is_code(word: str) -> bool:
    """Whether a token looks like an error code, version, host, path or status code."""
    if _RUN_RE.fullmatch(word) is None or re.search(f"[{_HAN}]", word):
        return False
    has_digit = any(ch.isdigit() for ch in word)
    return bool(_ATOM_SPLIT_RE.search(word)) or (has_digit and len(word) >= 3)


def tokens_of_normalized(text: str, mode: str = INDEX, *, keep_stops: bool = False) -> Iterator[AnalyzedToken]:
    """Tokenise already-normalised text; index mode adds jieba sub-words and compound parts."""
    stops = stop_words()
    for match in _RUN_RE.finditer(text):
        han = match.group("han")
        if han is not None:
            base = match.start()
            for word, start, end in _segment_han(han, mode):
                if keep_stops or word not in stops:
                    yield AnalyzedToken(word, base + start, base + end)
            continue
        word = match.group("word")
        start, end = match.start(), match.end()
        if not keep_stops and word in stops:
            continue
        yield AnalyzedToken(word, start, end, exact=True)
        if mode == INDEX:
            for part in compound_parts(word):
                if part not in stops:
                    yield AnalyzedToken(part, start, end)


def analyze(text: str, mode: str = INDEX) -> list[str]:
    """Token texts of ``text`` after the full pipeline."""
    return [token.text for token in tokens_of_normalized(normalize(text), mode)]


def bigrams(text: str, *, normalized: bool = False) -> list[str]:
    """Character bigrams of every Han run (single characters for one-character runs)."""
    source = text if normalized else normalize(text)
    grams: list[str] = []
    for match in re.finditer(f"[{_HAN}]+", source):
        run = match.group(0)
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


# --- synonyms --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _synonym_table() -> dict[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    table: dict[tuple[str, ...], tuple[tuple[str, ...], ...]] = {}
    for line in _data_lines("synonyms.txt"):
        members = []
        for raw in re.split(r"[,，]", line):
            tokens = tuple(analyze(raw, QUERY)) if raw.strip() else ()
            if tokens and tokens not in members:
                members.append(tokens)
        if len(members) < 2:
            continue
        group = tuple(members)
        for member in members:
            merged = table.get(member, ())
            table[member] = merged + tuple(m for m in group if m not in merged)
    return table


def _max_synonym_length() -> int:
    return max((len(key) for key in _synonym_table()), default=1)


def query_concepts(text: str, *, synonyms: bool = True, max_concepts: int = 12) -> list[QueryConcept]:
    """Turn a user query into concepts: one per term, synonyms and compound parts as alternatives."""
    tokens = [t.text for t in tokens_of_normalized(normalize(text), QUERY)]
    table = _synonym_table() if synonyms else {}
    longest = _max_synonym_length() if synonyms else 1
    concepts: list[QueryConcept] = []
    seen: set[str] = set()
    index = 0
    while index < len(tokens):
        matched = False
        for size in range(min(longest, len(tokens) - index), 0, -1):
            key = tuple(tokens[index : index + size])
            group = table.get(key)
            if group is None:
                continue
            label = "".join(key) if all(re.match(f"[{_HAN}]", k) for k in key) else " ".join(key)
            alternatives = [(key, 1.0)] + [(member, 0.8) for member in group if member != key]
            group_key = "\x1f".join(sorted(" ".join(member) for member in group))
            if group_key not in seen:
                seen.add(group_key)
                concepts.append(QueryConcept(label, tuple(alternatives)))
            index += size
            matched = True
            break
        if matched:
            continue
        token = tokens[index]
        index += 1
        if token in seen:
            continue
        seen.add(token)
        alternatives = [((token,), 1.0)]
        # Codes such as err_connection_reset or ora-00942 also match their words; hosts, paths and URLs don't.
        parts = [p for p in re.split(r"[_\-]+", token) if p and _useful_part(p)]
        if len(parts) > 1 and not re.search(r"[./:@]", token):
            alternatives.append((tuple(parts), 0.5))
        concepts.append(QueryConcept(token, tuple(alternatives), is_code=is_code(token)))
    return concepts[:max_concepts]


# --- Whoosh adapters -------------------------------------------------------------------------------------


class _PipelineTokenizer(Tokenizer):
    """Adapts one of our token streams to Whoosh's tokenizer protocol."""

    def spans(self, value: str, mode: str) -> Iterator[AnalyzedToken]:
        """The tokens of ``value`` (``mode`` is Whoosh's: "index" or "query")."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.__dict__.items()))))

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for position, analyzed in enumerate(self.spans(value, mode), start=start_pos):
            token.text = analyzed.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = analyzed.text
            if positions:
                token.pos = position
            if chars:
                token.startchar = start_char + analyzed.start
                token.endchar = start_char + analyzed.end
            yield token


class JiebaTokenizer(_PipelineTokenizer):
    """Whoosh tokenizer over our pipeline; stop words are removed by the StopFilter composed after it."""

    def __init__(self, mode: str = INDEX) -> None:
        self.mode = mode

    def spans(self, value: str, mode: str) -> Iterator[AnalyzedToken]:
        """Tokens of the normalised text, in search mode for documents and precise mode for queries."""
        segment_mode = QUERY if mode == "query" else self.mode
        return tokens_of_normalized(normalize(value), segment_mode, keep_stops=True)


class BigramTokenizer(_PipelineTokenizer):
    """Whoosh tokenizer emitting Han character bigrams: the fallback for words jieba does not know."""

    def spans(self, value: str, mode: str) -> Iterator[AnalyzedToken]:
        """Bigrams of the normalised text (without character offsets)."""
        return (AnalyzedToken(gram, 0, 0) for gram in bigrams(value))


def chinese_analyzer() -> Any:
    """The Whoosh analyzer for word fields."""
    return JiebaTokenizer(INDEX) | StopFilter(stoplist=stop_words(), minsize=1, renumber=False)


def bigram_analyzer() -> Any:
    """The Whoosh analyzer for the n-gram fallback field."""
    return BigramTokenizer()
