"""Eligibility verdicts: from what the asker says of themselves and a program's stated criteria.

A verdict is 해당됩니다 only when every criterion the plan states is met by what the asker said;
해당되지 않습니다 when a stated criterion fails (an age outside the range); otherwise 확인이 필요합니다,
naming the criteria the plan states that the asker did not speak to (소득 기준, 수급 여부, 거주 …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from guro_jobs.messages import message, table
from guro_jobs.understand import Asker
from ingestion.models import Program
from knowledge.lexicon import Lexicon, squash

Outcome = Literal["yes", "no", "check"]
REASON_CHARS = 70



@dataclass
class Verdict:
    outcome: Outcome
    reason: str  # the stated criterion, in the plan's words
    unchecked: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return message(f"verdict_{self.outcome}")

    def sentence(self) -> str:
        parts = [f"{self.label} — 대상: {self.reason}" if self.reason else self.label]
        if self.unchecked:
            parts.append(message("still_to_check", items=", ".join(self.unchecked)))
        return " ".join(parts)


def _short(text: str) -> str:
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS].rstrip() + "…"


def _conditions(text: str, lexicon: Lexicon) -> list[tuple[str, str]]:
    """(kind, word) criteria a target text states beside an age: groups, national benefits, residency."""
    flat = squash(text)
    found: list[tuple[str, str]] = []
    for name in lexicon.national_programs:
        if name in flat:
            found.append(("benefit", name))
    for group, words in lexicon.group_words.items():
        for word, side in words:
            if side == "both" and not word.isascii() and word in flat:
                found.append(("group", group))
                break
    for role in table("status"):
        if lexicon.has(role, text):
            found.append((role, role))
    return found


def judge(asker: Asker, program: Program, lexicon: Lexicon) -> Verdict | None:
    """The verdict for one program, or None when the plan states no criterion to judge by."""
    target = program.target.text if program.target else ""
    age = program.age
    if not target and age is None:
        return None
    reason = _short(target or (age.text if age else ""))
    if age is not None:
        if asker.age is not None and not age.admits(asker.age):
            return Verdict("no", reason)
        if asker.age_range is not None and not age.overlaps(*asker.age_range):
            return Verdict("no", reason)
    unchecked: list[str] = []
    if age is not None and asker.age is None and (asker.age_range is None or not _inside(asker.age_range, age.bounds())):
        unchecked.append("나이")
    said = squash(asker.text)
    # A person's status a target may require, and how a verdict names it when the asker did not say.
    statuses = table("status")
    for kind, word in _conditions(target, lexicon):
        if (kind == "benefit" and word not in said) or (kind == "group" and word not in asker.groups and not _age_implies(word, asker, lexicon)):
            unchecked.append(word)
        elif kind in statuses and not lexicon.has(kind, asker.text):
            unchecked.append(statuses[kind])
    if program.income_criteria:
        # An income or asset limit is a number the asker would have to compare: always left to check.
        unchecked.append("소득·재산 기준")
    unchecked = list(dict.fromkeys(unchecked))
    return Verdict("check" if unchecked else "yes", reason, unchecked)


def _inside(span: tuple[int, int], bounds: tuple[int, int]) -> bool:
    return bounds[0] <= span[0] and span[1] <= bounds[1]


def _age_implies(group: str, asker: Asker, lexicon: Lexicon) -> bool:
    if asker.age is None:
        return False
    return any(b.group == group and b.min <= asker.age <= b.max for b in lexicon.age_bands)
