"""Step 4 of the answer path: rank the candidate units and decide — answer, list, or decline.

The ranker scores every candidate from its features (`guro_jobs.features`) with learned weights. The
decline decision is a second learned model over evidence features: how sure and how clear the best
evidence is, how much of the question it covers, words and names the plans never use, places no loaded
plan covers, national programs no plan describes. Its threshold was chosen on cross-validation for few
false declines. An everyday word the plan doesn't use is one feature among many, never a rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from guro_jobs.features import SECTION_FEATURES, UnitTable
from guro_jobs.model import LinearModel, NeighbourMemory
from guro_jobs.retrieve import Candidates
from guro_jobs.understand import Question
from knowledge.lexicon import Lexicon
from knowledge.store import KnowledgeBase

DECLINE_VERSION = "decline-12"


@dataclass
class DeclineEvidence:
    """The evidence features of the decline classifier (only evidence: how a question is worded — its
    length, its politeness — is no reason to decline). The field names are the feature names."""

    top_probability: float = 0.0
    top_unit_probability: float = 0.0
    margin: float = 0.0
    top_dense: float = 0.0
    top_section_dense: float = 0.0
    top_bm25: float = 0.0
    top_coverage: float = 0.0
    top_section_coverage: float = 0.0
    known_share: float = 0.0
    unknown_count: float = 0.0
    unknown_share: float = 0.0
    named: float = 0.0
    named_exact: float = 0.0
    other_place: float = 0.0
    other_place_unnamed: float = 0.0
    other_place_only: float = 0.0
    national: float = 0.0
    slot_asked: float = 0.0
    asked_value_found: float = 0.0
    uncovered_max_idf: float = 0.0
    uncovered_share: float = 0.0
    main_unknown: float = 0.0
    asked_label_found: float = 0.0
    personal: float = 0.0
    top3_section_coverage: float = 0.0
    specific_asked: float = 0.0
    specific_unanswered: float = 0.0
    specific_answered_share: float = 0.0
    asked_kind_in_plan: float = 0.0
    focus_words: float = 0.0
    focus_uncovered: float = 0.0
    focus_uncovered_share: float = 0.0
    year_absent: float = 0.0
    asked_program: float = 0.0
    asked_section: float = 0.0
    asked_gap: float = 0.0
    asked_focus_gap: float = 0.0
    asker_judged: float = 0.0
    neighbour_share: float = 0.0
    neighbour_gap: float = 0.0
    neighbour_probe: float = 0.0
    wording_probe: float = 0.0


DECLINE_FEATURES: tuple[str, ...] = tuple(f.name for f in fields(DeclineEvidence))

Decision = Literal["answer", "list", "decline"]


@dataclass
class Ranking:
    """Candidates in rank order: sections by the section model, units inside each by the unit model.
    `probability` is each unit's probability within its section; `section_probability` its section's."""

    units: np.ndarray
    probability: np.ndarray
    section_probability: np.ndarray
    features: np.ndarray
    section_order: list[tuple[int, float]]

    @property
    def top(self) -> int | None:
        return int(self.units[0]) if len(self.units) else None

    def sections(self, kb: KnowledgeBase, limit: int) -> list[tuple[int, float]]:
        """Distinct sections in rank order with their probability."""
        return self.section_order[:limit]


def rank(
    unit_features: np.ndarray,
    section_ids: np.ndarray,
    section_features: np.ndarray,
    candidates: Candidates,
    kb: KnowledgeBase,
    section_model: LinearModel,
    unit_model: LinearModel,
) -> Ranking:
    units = candidates.units
    if len(units) == 0:
        return Ranking(units, np.zeros(0), np.zeros(0), unit_features, [])
    p_section = section_model.probability(section_features)
    by_section = {int(s): float(p) for s, p in zip(section_ids, p_section, strict=True)}
    p_unit = unit_model.probability(unit_features)
    p_sec_of_unit = np.array([by_section[int(kb.section_of[int(u)])] for u in units])
    order = np.lexsort((-p_unit, -p_sec_of_unit))
    section_order = sorted(by_section.items(), key=lambda sp: -sp[1])
    return Ranking(units[order], p_unit[order], p_sec_of_unit[order], unit_features[order], section_order)


def decline_features(
    question: Question,
    ranking: Ranking,
    candidates: Candidates,
    section_ids: np.ndarray,
    section_features: np.ndarray,
    kb: KnowledgeBase,
    table: UnitTable,
    lexicon: Lexicon,
    memory: NeighbourMemory | None = None,
) -> np.ndarray:
    """The evidence features of the decline classifier, in `DECLINE_FEATURES` order; `memory` (the
    questions the model learned from) gives the neighbour features, which stay 0 without one."""
    scol = {name: i for i, name in enumerate(SECTION_FEATURES)}
    f = dict.fromkeys(DECLINE_FEATURES, 0.0)
    specific_slots = lexicon.specific_slots
    if len(ranking.units):
        order = ranking.sections(kb, 2)
        f["top_probability"] = order[0][1]
        f["top_unit_probability"] = float(ranking.probability[0])
        f["margin"] = order[0][1] - (order[1][1] if len(order) > 1 else 0.0)
        row = section_features[int(np.flatnonzero(section_ids == order[0][0])[0])]
        f["top_dense"] = float(max(row[scol["max_dense"]], row[scol["max_dense_main"]]))
        f["top_section_dense"] = float(max(row[scol["section_dense"]], row[scol["section_main"]]))
        f["top_bm25"] = math.log1p(max(candidates.unit_bm25.values(), default=0.0))
        f["top_coverage"] = float(row[scol["max_coverage"]])
        f["top_section_coverage"] = float(row[scol["section_coverage"]])
        # The asker says who they are, asks whether they can, and the best program states a criterion
        # their age or group is judged by: the plan answers, even with no other word of theirs in it.
        judged = max(row[scol["asker_fits"]], row[scol["asker_unfit"]])
        f["asker_judged"] = float(judged) * float(question.asks_eligibility)
        asked = {kind for slot in question.slots for kind in lexicon.slot_values.get(slot, ())}
        units = kb.sections[order[0][0]].units
        if asked:
            f["asked_value_found"] = float(any(asked & table.value_kinds[u] for u in units))
        if question.slots:
            f["asked_label_found"] = float(any(set(question.slots) & table.label_slots[u] for u in units))
        # The question's most telling word that the best sections never write.
        idf = kb.section_bm25.idf
        ceiling = max(idf.values(), default=1.0)
        top3 = set().union(*(table.section_tokens[s] for s, _ in ranking.sections(kb, 3)))
        terms = list(dict.fromkeys(question.content))
        weights = {t: idf.get(t, ceiling) for t in terms}
        # A word counts as covered when it or one of its plan-register paraphrases is written there.
        missing = [t for t in terms if t not in top3 and not set(lexicon.expand(t)) & top3]
        total = sum(weights.values()) or 1.0
        f["uncovered_max_idf"] = max((weights[t] for t in missing), default=0.0) / ceiling
        f["uncovered_share"] = sum(weights[t] for t in missing) / total
        f["top3_section_coverage"] = 1.0 - f["uncovered_share"]
        # The sections of the best section's task (its program and the program's siblings).
        top = kb.sections[order[0][0]]
        task_sections = [
            i for i, sec in enumerate(kb.sections) if (sec.document, *sec.path[:2]) == (top.document, *top.path[:2])
        ]
        specific = [slot for slot in question.slots if slot in specific_slots]
        if specific:
            # Where the program states its details: its own section, and the task's shared blocks
            # (overview, yearly table); not the sibling programs of the same task.
            own = tuple(top.path[:3])
            program_units = [
                u
                for sec in (kb.sections[i] for i in task_sections)
                if tuple(sec.path[:3]) == own or len(sec.path) < 3 or lexicon.block_role(sec.path[2]) is not None
                for u in sec.units
            ]
            answered = [
                slot
                for slot in specific
                if any(
                    slot in table.label_slots[u] or set(lexicon.slot_values.get(slot, ())) & table.value_kinds[u]
                    for u in program_units
                )
            ]
            f["specific_asked"] = float(len(specific))
            f["specific_unanswered"] = float(len(specific) - len(answered))
            f["specific_answered_share"] = len(answered) / len(specific)
            kinds = {k for slot in specific for k in lexicon.slot_values.get(slot, ())}
            f["asked_kind_in_plan"] = float(not kinds or bool(kinds & table.plan_value_kinds))
        else:
            f["specific_answered_share"] = 1.0
            f["asked_kind_in_plan"] = 1.0
        focus = focus_words(question, kb, lexicon)
        task_tokens = set().union(*(table.section_tokens[i] for i in task_sections))
        uncovered = [w for w in focus if w not in task_tokens and not set(lexicon.expand(w)) & task_tokens]
        # How well the best program's own lines meet what is asked of it (its name left out), against
        # the best line anywhere: a detail the program never states is met better elsewhere, or nowhere.
        asked_dense = candidates.asked_dense
        program = [u for i in task_sections for u in kb.sections[i].units]
        best = float(asked_dense.max()) if len(asked_dense) else 0.0
        f["asked_program"] = float(asked_dense[program].max()) if program else 0.0
        f["asked_section"] = float(asked_dense[top.units].max()) if top.units else 0.0
        f["asked_gap"] = f["asked_program"] - best
        f["asked_focus_gap"] = f["asked_gap"] * float(bool(question.focus))
        f["focus_words"] = float(len(focus))
        f["focus_uncovered"] = float(len(uncovered))
        f["focus_uncovered_share"] = len(uncovered) / len(focus) if focus else 0.0
    content = question.content
    known = [w for w in content if w in kb.vocabulary or lexicon.expand(w)]
    f["known_share"] = len(known) / len(content) if content else 0.0
    f["unknown_count"] = math.log1p(len(question.unknown))
    f["unknown_share"] = len(question.unknown) / len(content) if content else 0.0
    f["named"] = float(bool(question.names))
    f["named_exact"] = float(any(m.exact for m in question.names))
    f["other_place"] = float(bool(question.other_places))
    f["other_place_unnamed"] = float(bool(question.other_places) and not question.focus)
    # "강남구 청년 사업": another place, and none the loaded plans cover (not "금천구 가게인데 구로구 융자").
    f["other_place_only"] = float(bool(question.other_places) and not question.own_places)
    f["national"] = float(bool(question.national))
    f["slot_asked"] = float(bool(question.slots))
    f["year_absent"] = float(any(not kb.mentions(f"{year}") for year in question.years))
    main_words = {w for w, _ in kb.tokenizer.tagged(question.main)}
    f["main_unknown"] = math.log1p(sum(1 for w in question.unknown if w in main_words))
    f["personal"] = float(lexicon.has("personal", question.text))
    if memory is not None:
        f["neighbour_share"], f["neighbour_gap"], f["neighbour_probe"], f["wording_probe"] = memory.features(
            candidates.asked_vector, question.text
        )
    return np.array([f[name] for name in DECLINE_FEATURES], np.float32)


def focus_words(question: Question, kb: KnowledgeBase, lexicon: Lexicon) -> list[str]:
    """The nouns of the question proper that say what is asked about: not a program's name, not a
    question or discourse word, not a stopword."""
    names = "".join(m.key or "" for m in question.names)
    content = set(question.content)
    out: list[str] = []
    for word, tag in kb.tokenizer.tagged(question.main):
        if tag not in ("NNG", "NNP", "SL") or word not in content:
            continue
        if len(word) < 2 or (names and word in names):
            continue
        if word not in out:
            out.append(word)
    return out


def decide(question: Question, ranking: Ranking, decline: LinearModel, decline_x: np.ndarray) -> tuple[Decision, float]:
    """The decision and the decline probability."""
    if not len(ranking.units):
        return "decline", 1.0
    p_decline = float(decline.probability(decline_x)[0])
    if p_decline >= decline.params.get("threshold", 0.5):
        return "decline", p_decline
    return ("list" if lists_programs(question) else "answer"), p_decline


def lists_programs(question: Question) -> bool:
    """ "어떤 사업이 있어요?" gets a list of programs, unless the question names one program (then its own
    lines answer); a named task lists its parts."""
    return question.wants_list and all(len(m.path) == 2 and m.row is None for m in question.names)
