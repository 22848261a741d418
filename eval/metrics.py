"""Metrics over results: section hit@k and MRR, citation and fact accuracy, abstention, latency, length."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from eval.formats import QAItem, ResultItem


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def section_matches(label: str, expected: list[str]) -> bool:
    """A section is correct when any expected string occurs in its label, whitespace ignored."""
    flat = squash(label)
    return any(squash(e) and squash(e) in flat for e in expected)


def facts_match(answer: str, facts: list[list[str]]) -> bool:
    flat = squash(answer)
    return all(any(squash(alt) in flat for alt in group) for group in facts)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class ItemScore:
    id: str
    kind: str
    answerable: bool
    rank: int | None  # 1-based rank of the first correct retrieved section
    citation_ok: bool | None
    fact_ok: bool | None
    abstained: bool
    latency_ms: float
    answer_chars: int


@dataclass
class Summary:
    count: int
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_5: float
    mrr: float
    citation_accuracy: float
    fact_accuracy: float
    abstention_recall: float | None
    abstention_precision: float | None
    false_abstention: float
    p50_ms: float
    p95_ms: float
    median_answer_chars: float
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)


def score_item(item: QAItem, result: ResultItem) -> ItemScore:
    rank = None
    citation_ok = fact_ok = None
    if item.answerable:
        for position, retrieved in enumerate(result.retrieved, start=1):
            if section_matches(retrieved.section, item.sections):
                rank = position
                break
        citation_ok = (not result.abstained) and any(section_matches(c.section, item.sections) for c in result.citations)
        fact_ok = (not result.abstained) and facts_match(result.answer, item.facts)
    return ItemScore(
        id=item.id,
        kind=item.kind or ("unanswerable" if not item.answerable else "other"),
        answerable=item.answerable,
        rank=rank,
        citation_ok=citation_ok,
        fact_ok=fact_ok,
        abstained=result.abstained,
        latency_ms=result.latency_ms,
        answer_chars=len(result.answer),
    )


def _rate(values: list[bool]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def summarise(scores: list[ItemScore]) -> Summary:
    answerable = [s for s in scores if s.answerable]
    unanswerable = [s for s in scores if not s.answerable]
    abstained = [s for s in scores if s.abstained]
    answered_chars = [s.answer_chars for s in answerable if not s.abstained]
    summary = Summary(
        count=len(scores),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        hit_at_1=_rate([s.rank == 1 for s in answerable]),
        hit_at_5=_rate([s.rank is not None and s.rank <= 5 for s in answerable]),
        mrr=round(sum(1 / s.rank for s in answerable if s.rank) / len(answerable), 4) if answerable else 0.0,
        citation_accuracy=_rate([bool(s.citation_ok) for s in answerable]),
        fact_accuracy=_rate([bool(s.fact_ok) for s in answerable]),
        abstention_recall=_rate([s.abstained for s in unanswerable]) if unanswerable else None,
        abstention_precision=_rate([not s.answerable for s in abstained]) if abstained else None,
        false_abstention=_rate([s.abstained for s in answerable]),
        p50_ms=round(percentile([s.latency_ms for s in scores], 0.5), 1),
        p95_ms=round(percentile([s.latency_ms for s in scores], 0.95), 1),
        median_answer_chars=float(statistics.median(answered_chars)) if answered_chars else 0.0,
    )
    groups: dict[str, list[ItemScore]] = defaultdict(list)
    for s in scores:
        groups[s.kind].append(s)
    for kind, members in sorted(groups.items()):
        ans = [m for m in members if m.answerable]
        summary.by_kind[kind] = {
            "n": len(members),
            "hit@1": _rate([m.rank == 1 for m in ans]) if ans else float("nan"),
            "citation": _rate([bool(m.citation_ok) for m in ans]) if ans else float("nan"),
            "facts": _rate([bool(m.fact_ok) for m in ans]) if ans else float("nan"),
            "abstained": _rate([m.abstained for m in members]),
        }
    return summary
