"""Propose a ticket's category and assignment group: curated keyword rules plus a naive Bayes model.

Policy of ``Classifier.propose``:

1. The learned model speaks only when it has seen at least ``min_examples`` (20) resolved tickets and its top
   category has probability >= ``min_probability`` (0.6). Then it wins, unless a *strong* rule (weight >=
   ``strong_weight``, 2.0) matched: curated strong rules (ORA- codes, "申请…权限") override statistics.
2. Otherwise the rules decide if any rule matched.
3. Otherwise the default: 其他 / L1 服务台, confidence 0.

Rules score per category: each matched rule adds ``weight`` per distinct keyword or pattern hit (x1.5 when the hit
is in the title); the best category wins, ties go to the rule listed first; the group is that of the category's
best-scoring rule. Learned proposals take the group of the category's heaviest rule. Keywords and patterns are
compared with normalised text (``indexer.analysis.normalize``: NFKC, lower case, traditional -> simplified);
patterns are compiled with ``re.ASCII``, so a word boundary separates "ping" from adjacent Chinese.
``NaiveBayes`` and ``Classifier`` are not thread-safe: callers that learn while others predict hold a lock.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from indexer.analysis import QUERY, analyze, normalize
from kb.exceptions import InvalidInput

DEFAULT_CATEGORY = "其他"
DEFAULT_GROUP = "L1 服务台"
RULES = "rules"
LEARNED = "learned"
DEFAULT = "default"
TITLE_BOOST = 1.5
MODEL_FORMAT = "kb.ticket.naive_bayes"
MODEL_VERSION = 1

_RULE_FIELDS = ("name", "category", "group", "keywords", "pattern", "weight")
_ASCII_WORD = re.compile(r"[0-9a-z]")


@dataclass(frozen=True)
class Rule:
    """A curated rule: any keyword (or the regex ``pattern``) in the ticket text votes for its category."""

    name: str
    category: str
    group: str
    keywords: tuple[str, ...] = ()
    pattern: str | None = None
    weight: float = 1.0


@dataclass(frozen=True)
class Proposal:
    """A proposed category and group, how sure we are (0..1), who decided, and why."""

    category: str
    group: str
    confidence: float
    source: str
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, e.g. for the ticket's "classified" event."""
        return {
            "category": self.category,
            "group": self.group,
            "confidence": self.confidence,
            "source": self.source,
            "reasons": list(self.reasons),
        }


# --- rules file ------------------------------------------------------------------------------------------


def _rule_error(path: Path, index: int, name: object, field_name: str, problem: str) -> InvalidInput:
    label = f"rules[{index}]" + (f"（{name}）" if isinstance(name, str) and name else "")
    return InvalidInput(
        f"分类规则文件 {path} 有误：{label} 的字段 {field_name} {problem}",
        details={"file": str(path), "rule": index, "field": field_name},
    )


def _text_field(raw: Mapping[str, Any], path: Path, index: int, field_name: str) -> str:
    value = raw.get(field_name)
    if not isinstance(value, str) or not value.strip():
        raise _rule_error(path, index, raw.get("name"), field_name, "必须是非空字符串")
    return value.strip()


def _parse_rule(raw: object, path: Path, index: int) -> Rule:
    if not isinstance(raw, dict):
        raise _rule_error(path, index, None, "(rule)", "必须是一个映射（name、category、group、keywords…）")
    unknown = sorted(str(key) for key in raw if key not in _RULE_FIELDS)
    if unknown:
        raise _rule_error(path, index, raw.get("name"), unknown[0], f"不认识（可用字段：{'、'.join(_RULE_FIELDS)}）")
    name = _text_field(raw, path, index, "name")
    category = _text_field(raw, path, index, "category")
    group = _text_field(raw, path, index, "group")
    keywords = raw.get("keywords") or []
    if not isinstance(keywords, list) or not all(isinstance(k, str | int) and str(k).strip() for k in keywords):
        raise _rule_error(path, index, name, "keywords", "必须是非空字符串的列表")
    pattern = raw.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise _rule_error(path, index, name, "pattern", "必须是正则表达式字符串")
        try:
            re.compile(pattern, re.ASCII)
        except re.error as exc:
            raise _rule_error(path, index, name, "pattern", f"不是有效的正则表达式：{exc}") from None
    if not keywords and pattern is None:
        raise _rule_error(path, index, name, "keywords", "与 pattern 至少要有一个")
    weight = raw.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight < math.inf:
        raise _rule_error(path, index, name, "weight", "必须是正数")
    return Rule(name, category, group, tuple(str(k).strip() for k in keywords), pattern, float(weight))


def load_rules(path: str | Path) -> list[Rule]:
    """Rules from a YAML file with a top-level ``rules:`` list; InvalidInput names the file, rule and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"无法读取分类规则文件 {path}：{exc}", details={"file": str(path)}) from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"分类规则文件 {path} 不是有效的 YAML：{exc}", details={"file": str(path)}) from None
    raw_rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(raw_rules, list):
        raise InvalidInput(
            f"分类规则文件 {path} 有误：顶层必须有字段 rules（规则列表）", details={"file": str(path), "field": "rules"}
        )
    rules = [_parse_rule(raw, path, index) for index, raw in enumerate(raw_rules)]
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name in seen:
            raise _rule_error(path, index, rule.name, "name", "与前面的规则重名")
        seen.add(rule.name)
    return rules


@lru_cache(maxsize=1)
def _default_rules() -> tuple[Rule, ...]:
    source = resources.files("kb.ticket") / "data" / "classification_rules.yaml"
    with resources.as_file(source) as path:
        return tuple(load_rules(path))


def default_rules() -> list[Rule]:
    """The shipped rules (``kb/ticket/data/classification_rules.yaml``)."""
    return list(_default_rules())


class _Matcher:
    """A rule compiled against normalised text."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.keywords: list[tuple[str, re.Pattern[str]]] = []
        for keyword in dict.fromkeys(normalize(k) for k in rule.keywords):
            # ASCII keywords match whole words only: "ip" must not fire inside "zip".
            left = r"(?<![0-9a-z])" if _ASCII_WORD.match(keyword[0]) else ""
            right = r"(?![0-9a-z])" if _ASCII_WORD.match(keyword[-1]) else ""
            self.keywords.append((keyword, re.compile(left + re.escape(keyword) + right)))
        self.pattern = re.compile(rule.pattern, re.ASCII) if rule.pattern else None

    def hits(self, title: str, description: str) -> dict[str, float]:
        """Matched keyword (or pattern text) -> its score before the rule's weight."""
        found: dict[str, float] = {}
        for keyword, regex in self.keywords:
            if regex.search(title):
                found[keyword] = TITLE_BOOST
            elif regex.search(description):
                found[keyword] = 1.0
        if self.pattern is not None:
            match = self.pattern.search(title) or self.pattern.search(description)
            if match is not None:
                in_title = self.pattern.search(title) is not None
                found.setdefault(match.group(0), TITLE_BOOST if in_title else 1.0)
        return found


@dataclass(frozen=True)
class RuleVerdict:
    """What the rules alone say: the winning category, its group and confidence, and the matched rules."""

    category: str
    group: str
    confidence: float
    strong: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)


# --- naive Bayes -----------------------------------------------------------------------------------------


def _log_sum_exp(values: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


class NaiveBayes:
    """Multinomial naive Bayes over ``analyze(text, "query")`` tokens, Laplace smoothing, incremental."""

    def __init__(self, alpha: float = 1.0) -> None:
        if not alpha > 0:
            raise InvalidInput("alpha 必须是正数")
        self.alpha = alpha
        self._documents: Counter[str] = Counter()
        self._tokens: dict[str, Counter[str]] = {}
        self._label_totals: Counter[str] = Counter()
        self._vocabulary: Counter[str] = Counter()

    @staticmethod
    def tokens(text: str) -> list[str]:
        """The tokens the model counts."""
        return analyze(text, QUERY)

    @property
    def n_examples(self) -> int:
        """How many texts the model has learned (minus those forgotten)."""
        return sum(self._documents.values())

    @property
    def labels(self) -> list[str]:
        """Labels with at least one example, most frequent first."""
        return [label for label, _ in self._documents.most_common()]

    def learn(self, text: str, label: str) -> None:
        """Count one labelled text."""
        counts = Counter(self.tokens(text))
        self._documents[label] += 1
        self._tokens.setdefault(label, Counter()).update(counts)
        self._label_totals[label] += sum(counts.values())
        self._vocabulary.update(counts)

    def forget(self, text: str, label: str) -> None:
        """Undo ``learn(text, label)``, e.g. when a resolved ticket is reopened or relabelled."""
        counts = Counter(self.tokens(text))
        label_counts = self._tokens.get(label, Counter())
        if self._documents[label] < 1 or any(label_counts[t] < n for t, n in counts.items()):
            raise InvalidInput(f"模型没有以类别“{label}”学过这段文本，无法撤销")
        self._documents[label] -= 1
        label_counts.subtract(counts)
        self._label_totals[label] -= sum(counts.values())
        self._vocabulary.subtract(counts)
        for store in (label_counts, self._vocabulary, self._documents, self._label_totals):
            for key in [k for k, n in store.items() if n <= 0]:
                del store[key]
        if label not in self._documents:
            self._tokens.pop(label, None)

    def _log_likelihood(self, token: str, label: str, vocabulary_size: int) -> float:
        count = self._tokens[label][token]
        return math.log((count + self.alpha) / (self._label_totals[label] + self.alpha * vocabulary_size))

    def _joint(self, counts: Mapping[str, int]) -> dict[str, float]:
        total = self.n_examples
        size = len(self._vocabulary)
        scores: dict[str, float] = {}
        for label, documents in self._documents.items():
            score = math.log(documents / total)
            for token, n in counts.items():
                score += n * self._log_likelihood(token, label, size)
            scores[label] = score
        return scores

    def predict(self, text: str) -> list[tuple[str, float]]:
        """(label, probability) for every known label, most probable first; [] before any learning."""
        if not self._documents:
            return []
        # Tokens never seen in training carry no evidence for any label.
        counts = Counter(t for t in self.tokens(text) if t in self._vocabulary)
        scores = self._joint(counts)
        norm = _log_sum_exp(list(scores.values()))
        ranked = [(label, math.exp(score - norm)) for label, score in scores.items()]
        ranked.sort(key=lambda item: (-item[1], item[0]))
        return ranked

    def evidence(self, text: str, label: str, limit: int = 3) -> list[str]:
        """Tokens of ``text`` that most favour ``label`` over the best other label (for "why")."""
        if label not in self._documents:
            return []
        size = len(self._vocabulary)
        others = [other for other in self._documents if other != label]
        weights: dict[str, float] = {}
        for token in dict.fromkeys(self.tokens(text)):
            if token not in self._vocabulary:
                continue
            own = self._log_likelihood(token, label, size)
            rival = max((self._log_likelihood(token, o, size) for o in others), default=own - 1.0)
            if own > rival:
                weights[token] = own - rival
        return [token for token, _ in sorted(weights.items(), key=lambda item: -item[1])[:limit]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; ``from_dict`` restores it."""
        return {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            "alpha": self.alpha,
            "documents": dict(sorted(self._documents.items())),
            "tokens": {label: dict(sorted(self._tokens[label].items())) for label in sorted(self._tokens)},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NaiveBayes:
        """A model from ``to_dict`` output; InvalidInput when it is not one."""
        if not isinstance(data, Mapping) or data.get("format") != MODEL_FORMAT or data.get("version") != MODEL_VERSION:
            raise InvalidInput(f"不是可识别的分类模型（需要 format={MODEL_FORMAT}, version={MODEL_VERSION}）")
        documents, tokens, alpha = data.get("documents"), data.get("tokens"), data.get("alpha")
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not isinstance(documents, Mapping):
            raise InvalidInput("分类模型的 alpha 或 documents 字段无效")
        if not isinstance(tokens, Mapping) or set(tokens) != set(documents):
            raise InvalidInput("分类模型的 tokens 字段与 documents 不一致")
        model = cls(float(alpha))
        for label, n in documents.items():
            counts = tokens[label]
            valid = isinstance(counts, Mapping) and all(isinstance(c, int) and c > 0 for c in counts.values())
            if not isinstance(n, int) or n < 1 or not valid:
                raise InvalidInput(f"分类模型中类别“{label}”的计数无效")
            model._documents[label] = n
            model._tokens[label] = Counter(counts)
            model._label_totals[label] = sum(counts.values())
            model._vocabulary.update(counts)
        return model


# --- the classifier --------------------------------------------------------------------------------------


def ticket_text(title: str, description: str) -> str:
    """The text the model learns from and predicts on."""
    return f"{title}\n{description}"


class Classifier:
    """Rules plus a learned model, combined by the policy in the module docstring."""

    def __init__(
        self,
        rules: Iterable[Rule] | None = None,
        model: NaiveBayes | None = None,
        *,
        min_examples: int = 20,
        min_probability: float = 0.6,
        strong_weight: float = 2.0,
        default_category: str = DEFAULT_CATEGORY,
        default_group: str = DEFAULT_GROUP,
    ) -> None:
        self.rules = list(default_rules() if rules is None else rules)
        self.model = NaiveBayes() if model is None else model
        self.min_examples = min_examples
        self.min_probability = min_probability
        self.strong_weight = strong_weight
        self.default_category = default_category
        self.default_group = default_group
        self._matchers = [_Matcher(rule) for rule in self.rules]
        self._groups: dict[str, str] = {}
        for rule in sorted(self.rules, key=lambda r: -r.weight):
            self._groups.setdefault(rule.category, rule.group)

    def group_for(self, category: str) -> str:
        """The group that handles ``category``: that of its heaviest rule, else the default group."""
        return self._groups.get(category, self.default_group)

    def learn(self, title: str, description: str, category: str) -> None:
        """Teach the model a resolved ticket's final category."""
        self.model.learn(ticket_text(title, description), category)

    def forget(self, title: str, description: str, category: str) -> None:
        """Undo ``learn`` for a reopened or relabelled ticket."""
        self.model.forget(ticket_text(title, description), category)

    def by_rules(self, title: str, description: str) -> RuleVerdict | None:
        """The rules' verdict, or None when no rule matched."""
        norm_title, norm_description = normalize(title), normalize(description)
        scores: dict[str, float] = {}
        best_rule: dict[str, tuple[float, Rule]] = {}
        reasons: dict[str, list[str]] = {}
        strong: set[str] = set()
        for matcher in self._matchers:
            hits = matcher.hits(norm_title, norm_description)
            if not hits:
                continue
            rule = matcher.rule
            score = rule.weight * sum(hits.values())
            scores[rule.category] = scores.get(rule.category, 0.0) + score
            if rule.category not in best_rule or score > best_rule[rule.category][0]:
                best_rule[rule.category] = (score, rule)
            reasons.setdefault(rule.category, []).append(f"规则“{rule.name}”：{'、'.join(hits)}")
            if rule.weight >= self.strong_weight:
                strong.add(rule.category)
        if not scores:
            return None
        # max() keeps the first of equal scores, and dicts keep rule order: ties go to the rule listed first.
        category = max(scores, key=lambda c: scores[c])
        top = scores[category]
        confidence = top / sum(scores.values()) * (1.0 - math.exp(-top / 2.0))
        return RuleVerdict(
            category,
            best_rule[category][1].group,
            round(confidence, 3),
            category in strong,
            tuple(reasons[category]),
        )

    def by_model(self, title: str, description: str) -> tuple[str, float] | None:
        """The model's top (category, probability) once it has enough examples, else None."""
        if self.model.n_examples < self.min_examples:
            return None
        ranked = self.model.predict(ticket_text(title, description))
        return ranked[0] if ranked else None

    def propose(self, title: str, description: str) -> Proposal:
        """Category, group, confidence, source and reasons for a new ticket."""
        rules = self.by_rules(title, description)
        learned = self.by_model(title, description)
        if learned is not None and learned[1] >= self.min_probability and not (rules is not None and rules.strong):
            category, probability = learned
            words = self.model.evidence(ticket_text(title, description), category)
            reasons = (f"相似工单常见词：{'、'.join(words)}",) if words else ()
            return Proposal(category, self.group_for(category), round(probability, 3), LEARNED, reasons)
        if rules is not None:
            confidence = rules.confidence
            if learned is not None and learned[0] == rules.category:
                confidence = max(confidence, round(learned[1], 3))
            return Proposal(rules.category, rules.group, confidence, RULES, rules.reasons)
        return Proposal(self.default_category, self.default_group, 0.0, DEFAULT, ("没有匹配的规则，模型也没有把握",))
