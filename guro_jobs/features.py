"""The feature functions of the ranker, used by training and serving alike.

Ranking has two stages. A section model scores each candidate section from what its candidate units
show at best (closeness to the question, program names, asked field and value kind) and from the section
as a whole (its heading path and text); a unit model then orders the units inside a section. No feature
names a word or a plan. The names are logged with the models, and the versions change whenever their
meaning does, so a weights file of another version is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import get_args

import numpy as np

from guro_jobs.retrieve import Candidates
from guro_jobs.understand import Question
from ingestion.models import PartRole, Program, Unit, UnitKind
from knowledge.lexicon import Lexicon, squash
from knowledge.lexicon import load as load_lexicon
from knowledge.names import NameMatch
from knowledge.store import KnowledgeBase

FEATURE_VERSION = "units-8"
SECTION_VERSION = "sections-7"
KINDS: tuple[str, ...] = get_args(UnitKind)
PART_ROLES: tuple[str, ...] = tuple(role for role in get_args(PartRole) if role != "other")
BLOCK_ROLES = ("background", "overview", "yearly", "budget")  # roles of knowledge/lexicon/blocks.tsv a section has
INTERACTION_BLOCKS = ("background", "yearly")


def _slots() -> tuple[str, ...]:
    """The slots a field label can hold (knowledge/lexicon/label_slots.tsv), in the file's order."""
    return tuple(dict.fromkeys(slot for _, slot in load_lexicon().label_words))


SLOTS = _slots()


def names_of(schema: type) -> tuple[str, ...]:
    """Feature names are the field names of a schema dataclass: one typed place that names them."""
    return tuple(f.name for f in fields(schema))


@dataclass(frozen=True)
class UnitScalars:
    """The scalar features of a candidate unit (one column each, in this order)."""

    dense: float
    dense_gap: float
    dense_main: float
    dense_main_gap: float
    dense_asked: float
    dense_asked_gap: float
    bm25: float
    coverage: float
    label_coverage: float
    named_exact: float
    named_fuzzy: float
    named_task: float
    named_same_depth: float
    carried: float
    carried_task: float
    label_slot: float
    value_kind: float
    no_slot: float
    label_dense: float
    length: float
    total_row: float
    total_asked_row: float
    age_value_asker_age: float
    budget_slot_yearly: float
    count_slot_yearly: float
    has_header: float
    column_header: float
    first_in_section: float
    dense_rank: float
    bm25_rank: float


@dataclass(frozen=True)
class SectionBest:
    """Unit features a section is described by at their best (max over its candidate units)."""

    dense: float
    dense_main: float
    bm25: float
    coverage: float
    label_coverage: float
    named_exact: float
    named_fuzzy: float
    named_task: float
    named_same_depth: float
    carried: float
    carried_task: float
    label_slot: float
    value_kind: float
    label_dense: float
    dense_rank: float
    bm25_rank: float
    age_value_asker_age: float
    total_asked_row: float


@dataclass(frozen=True)
class SectionScalars:
    """The section's own features."""

    section_dense: float
    section_main: float
    title_dense: float
    title_main: float
    section_bm25: float
    section_coverage: float
    expansion_coverage: float
    dense_spread: float
    bm25_when_flat: float
    units: float
    depth: float
    no_slot: float
    asker_told: float
    asker_fits: float
    asker_unfit: float
    has_program: float


@dataclass(frozen=True)
class SectionGaps:
    """Features also given as the gap to the best section of the question."""

    dense: float
    dense_main: float
    bm25: float
    coverage: float
    section_dense: float
    section_main: float
    title_dense: float
    title_main: float


FEATURE_NAMES: tuple[str, ...] = (
    *names_of(UnitScalars),
    *(f"kind_{k}" for k in KINDS),
    *(f"block_{b}" for b in BLOCK_ROLES),
    *(f"part_{p}" for p in PART_ROLES),
    *(f"label_{s}" for s in SLOTS),
    *(f"value_{s}" for s in SLOTS),
)
SECTION_MAX: tuple[str, ...] = (*names_of(SectionBest), *(f"label_{s}" for s in SLOTS), *(f"value_{s}" for s in SLOTS))
SECTION_GAPS: tuple[str, ...] = names_of(SectionGaps)
SECTION_FEATURES: tuple[str, ...] = (
    *(f"max_{n}" for n in SECTION_MAX),
    *names_of(SectionScalars),
    *(f"gap_{n}" for n in SECTION_GAPS),
    *(f"block_{b}" for b in BLOCK_ROLES),
    *(f"part_{p}" for p in PART_ROLES),
    *(f"slot_{s}" for s in SLOTS),
    *(f"slot_{s}_{b}" for s in SLOTS for b in INTERACTION_BLOCKS),
)


@dataclass
class UnitTable:
    """Per-unit attributes that do not depend on the question, computed once per knowledge base."""

    kind: np.ndarray  # (n, len(KINDS)) one-hot
    block: np.ndarray  # (n, len(BLOCK_ROLES))
    part: np.ndarray  # (n, len(PART_ROLES))
    length: np.ndarray
    label_slots: list[frozenset[str]]
    value_kinds: list[frozenset[str]]
    label_vector: np.ndarray  # index into kb.label_vectors, -1 for none
    total_row: np.ndarray
    has_header: np.ndarray
    column_header: np.ndarray  # the row is its table's column header (`구 분 5인 미만 5~9명 …`), not a row of values
    first_in_section: np.ndarray
    tokens: list[frozenset[str]]
    label_tokens: list[frozenset[str]]
    section_tokens: list[frozenset[str]]
    task_of: list[tuple[str, ...]]
    section_program: list[Program | None]
    plan_value_kinds: frozenset[str]  # every value kind some unit of the loaded plans carries

    @classmethod
    def build(cls, kb: KnowledgeBase, lexicon: Lexicon) -> UnitTable:
        n = len(kb.units)
        kind = np.zeros((n, len(KINDS)), np.float32)
        block = np.zeros((n, len(BLOCK_ROLES)), np.float32)
        part = np.zeros((n, len(PART_ROLES)), np.float32)
        length = np.zeros(n, np.float32)
        total = np.zeros(n, np.float32)
        header = np.zeros(n, np.float32)
        column = np.zeros(n, np.float32)
        first = np.zeros(n, np.float32)
        label_vector = np.full(n, -1, np.int64)
        label_slots: list[frozenset[str]] = []
        value_kinds: list[frozenset[str]] = []
        tokens: list[frozenset[str]] = []
        label_tokens: list[frozenset[str]] = []
        task_of: list[tuple[str, ...]] = []
        total_words = {w for w, _ in lexicon.discourse["total_row"].hangul} if "total_row" in lexicon.discourse else set()
        firsts = {s.units[0] for s in kb.sections if s.units}
        for i, unit in enumerate(kb.units):
            kind[i, KINDS.index(unit.kind)] = 1.0
            for heading in unit.path[1:]:
                role = lexicon.block_role(heading)
                if role in BLOCK_ROLES:
                    block[i, BLOCK_ROLES.index(role)] = 1.0
            profile = kb.profile_of(unit.document)
            role = profile.part_role(unit.path[0]) if profile and unit.path else "other"
            if role in PART_ROLES:
                part[i, PART_ROLES.index(role)] = 1.0
            length[i] = math.log1p(len(unit.display))
            label_slots.append(unit_label_slots(unit, lexicon))
            value_kinds.append(frozenset(lexicon.value_kinds(unit.display)))
            if unit.label and unit.label in kb.label_index:
                label_vector[i] = kb.label_index[unit.label]
            total[i] = float(bool(unit.label) and unit.label in total_words)
            header[i] = float(bool(unit.header))
            # a table's rows carry its column header in their context; the header row carries itself
            column[i] = float(unit.kind == "row" and squash(unit.context or "").endswith(squash(unit.text)))
            first[i] = float(i in firsts or (unit.kind == "window" and bool(unit.members) and unit.members[0] in firsts))
            tokens.append(frozenset(kb.unit_tokens[i]))
            label_tokens.append(frozenset(kb.tokenizer.tokens(f"{unit.label or ''} {unit.header or ''}")))
            task_of.append((unit.document, *unit.path[:2]))
        section_tokens = [frozenset(t) for t in kb.section_tokens]
        programs = [_section_program(kb, s.document, s.path) for s in kb.sections]
        return cls(
            kind, block, part, length, label_slots, value_kinds, label_vector, total, header, column, first, tokens,
            label_tokens, section_tokens, task_of, programs, frozenset().union(*value_kinds),
        )


def unit_label_slots(unit: Unit, lexicon: Lexicon) -> frozenset[str]:
    """The slots a unit states under a label of its own: its field label or its `○` heading item."""
    return frozenset(lexicon.label_slots(unit.label or "") | lexicon.label_slots(unit.header or ""))


def _section_program(kb: KnowledgeBase, document: str, path: list[str]) -> Program | None:
    """The deepest catalog record (of a task or its parts) whose section holds this section."""
    best: Program | None = None
    for program in kb.catalog.programs:
        if program.origin != "task" or program.document != document:
            continue
        if path[: len(program.section_path)] == program.section_path and (
            best is None or len(program.section_path) > len(best.section_path)
        ):
            best = program
    return best


def _coverage(terms: list[str], tokens: frozenset[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(t, 0.0) for t in terms)
    if total <= 0:
        return 0.0
    return sum(idf.get(t, 0.0) for t in terms if t in tokens) / total


def _covers(matches: list[NameMatch], kb: KnowledgeBase, index: int) -> float:
    unit = kb.units[index]
    return float(any(m.covers(unit.document, unit.path, unit.start, unit.end) for m in matches))


def _in_task(matches: list[NameMatch], table: UnitTable, index: int) -> float:
    task = table.task_of[index]
    return float(any((m.document, *m.path[:2]) == task for m in matches))


def _ranks(values: np.ndarray) -> np.ndarray:
    """0-based rank of each value, highest first."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), np.float32)
    ranks[order] = np.arange(len(values), dtype=np.float32)
    return ranks


def feature_matrix(
    question: Question, candidates: Candidates, kb: KnowledgeBase, table: UnitTable, lexicon: Lexicon
) -> np.ndarray:
    """The features of every candidate unit, one row each, in `FEATURE_NAMES` order."""
    units = candidates.units
    n = len(units)
    out = np.zeros((n, len(FEATURE_NAMES)), np.float32)
    if n == 0:
        return out
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    dense = candidates.unit_dense[units]
    main = candidates.main_dense[units]
    bm25 = np.array([candidates.unit_bm25.get(int(u), 0.0) for u in units], np.float32)
    out[:, col["dense"]] = dense
    out[:, col["dense_gap"]] = dense - dense.max()
    out[:, col["dense_main"]] = main
    out[:, col["dense_main_gap"]] = main - main.max()
    asked = candidates.asked_dense[units]
    out[:, col["dense_asked"]] = asked
    out[:, col["dense_asked_gap"]] = asked - asked.max()
    out[:, col["bm25"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    idf = kb.unit_bm25.idf
    terms = list(dict.fromkeys(question.terms))
    asked_kinds = {kind for slot in question.slots for kind in lexicon.slot_values.get(slot, ())}
    slots = set(question.slots)
    named_exact = [m for m in question.names if m.exact]
    named_fuzzy = [m for m in question.names if not m.exact]
    asker_age = question.asker.age is not None or question.asker.age_range is not None
    slot_kinds = {slot: set(lexicon.slot_values.get(slot, ())) for slot in SLOTS}
    for row, index in enumerate(units):
        i = int(index)
        unit = kb.units[i]
        out[row, col["coverage"]] = _coverage(terms, table.tokens[i], idf)
        out[row, col["label_coverage"]] = _coverage(terms, table.label_tokens[i], idf)
        if question.names:
            out[row, col["named_exact"]] = _covers(named_exact, kb, i)
            out[row, col["named_fuzzy"]] = _covers(named_fuzzy, kb, i)
            out[row, col["named_task"]] = _in_task(question.names, table, i)
        if question.carried:
            out[row, col["carried"]] = _covers(question.carried, kb, i)
            out[row, col["carried_task"]] = _in_task(question.carried, table, i)
        depth = len(unit.path)
        out[row, col["named_same_depth"]] = float(
            any(len(m.path) == depth and m.covers(unit.document, unit.path, unit.start, unit.end) for m in question.focus)
        )
        labels = table.label_slots[i]
        kinds = table.value_kinds[i]
        out[row, col["label_slot"]] = float(bool(slots & labels))
        out[row, col["value_kind"]] = float(bool(asked_kinds & kinds))
        label = table.label_vector[i]
        if label >= 0 and len(candidates.label_dense):
            out[row, col["label_dense"]] = candidates.label_dense[label]
        out[row, col["age_value_asker_age"]] = float(asker_age and "age" in kinds)
        for slot in slots & set(SLOTS):
            out[row, col[f"label_{slot}"]] = float(slot in labels)
            out[row, col[f"value_{slot}"]] = float(bool(kinds & slot_kinds[slot]))
    out[:, col["no_slot"]] = float(not slots)
    start = col["kind_field"]
    out[:, start : start + len(KINDS)] = table.kind[units]
    start = col[f"block_{BLOCK_ROLES[0]}"]
    out[:, start : start + len(BLOCK_ROLES)] = table.block[units]
    start = col[f"part_{PART_ROLES[0]}"]
    out[:, start : start + len(PART_ROLES)] = table.part[units]
    out[:, col["length"]] = table.length[units]
    out[:, col["total_row"]] = table.total_row[units]
    out[:, col["total_asked_row"]] = table.total_row[units] * float(question.wants_total)
    yearly = table.block[units, BLOCK_ROLES.index("yearly")]
    out[:, col["budget_slot_yearly"]] = yearly * float("budget" in slots)
    out[:, col["count_slot_yearly"]] = yearly * float("count" in slots)
    out[:, col["has_header"]] = table.has_header[units]
    out[:, col["column_header"]] = table.column_header[units]
    out[:, col["first_in_section"]] = table.first_in_section[units]
    out[:, col["dense_rank"]] = 1.0 / (1.0 + _ranks(np.maximum(dense, main)))
    out[:, col["bm25_rank"]] = 1.0 / (1.0 + _ranks(bm25))
    return out


def _fits(program: Program, question: Question) -> tuple[bool, bool]:
    """(fits, rules out): the program's stated age and groups against what the asker says."""
    asker = question.asker
    age = program.age
    unfit = False
    if age is not None:
        if asker.age is not None and not age.admits(asker.age):
            unfit = True
        if asker.age_range is not None and not age.overlaps(*asker.age_range):
            unfit = True
    shared = bool(asker.groups & set(program.groups))
    fits = not unfit and (shared or (age is not None and asker.age is not None))
    return fits, unfit


def section_matrix(
    question: Question, candidates: Candidates, unit_features: np.ndarray, kb: KnowledgeBase, table: UnitTable
) -> tuple[np.ndarray, np.ndarray]:
    """(section indexes, features): one row per section among the candidates, in `SECTION_FEATURES` order."""
    units = candidates.units
    sections_of = kb.section_of[units] if len(units) else np.zeros(0, np.int32)
    sections = np.array(list(dict.fromkeys(sections_of.tolist())), dtype=np.int64)
    out = np.zeros((len(sections), len(SECTION_FEATURES)), np.float32)
    if not len(sections):
        return sections, out
    ucol = {name: i for i, name in enumerate(FEATURE_NAMES)}
    col = {name: i for i, name in enumerate(SECTION_FEATURES)}
    max_cols = [ucol[n] for n in SECTION_MAX]
    terms = list(dict.fromkeys(question.terms))
    expansions = question.expansions
    section_idf = kb.section_bm25.idf
    bm25 = np.array([candidates.section_bm25.get(int(s), 0.0) for s in sections], np.float32)
    dense = candidates.unit_dense[units]
    spread = float(dense.max() - dense.mean()) if len(dense) else 0.0
    slots = set(question.slots)
    for row, section in enumerate(sections):
        members = sections_of == section
        best = unit_features[members][:, max_cols].max(axis=0)
        out[row, : len(max_cols)] = best
        s = int(section)
        out[row, col["section_dense"]] = candidates.section_dense[s]
        out[row, col["section_main"]] = candidates.section_main_dense[s]
        out[row, col["title_dense"]] = candidates.title_dense[s]
        out[row, col["title_main"]] = candidates.title_main_dense[s]
        out[row, col["section_coverage"]] = _coverage(terms, table.section_tokens[s], section_idf)
        if expansions:
            out[row, col["expansion_coverage"]] = _coverage(expansions, table.section_tokens[s], section_idf)
        out[row, col["units"]] = math.log1p(len(kb.sections[s].units))
        out[row, col["depth"]] = len(kb.sections[s].path)
        first = kb.sections[s].units[0] if kb.sections[s].units else int(units[members][0])
        for i, b in enumerate(BLOCK_ROLES):
            out[row, col[f"block_{b}"]] = table.block[first, i]
        for i, p in enumerate(PART_ROLES):
            out[row, col[f"part_{p}"]] = table.part[first, i]
        program = table.section_program[s]
        out[row, col["has_program"]] = float(program is not None)
        if program is not None and question.asker.told:
            fits, unfit = _fits(program, question)
            out[row, col["asker_fits"]] = float(fits)
            out[row, col["asker_unfit"]] = float(unfit)
    out[:, col["section_bm25"]] = bm25 / bm25.max() if bm25.max() > 0 else 0.0
    # When no unit stands out by meaning (a vague question), the words have to decide.
    out[:, col["dense_spread"]] = spread
    out[:, col["bm25_when_flat"]] = out[:, col["section_bm25"]] * max(0.0, 0.1 - spread) * 10
    for name in SECTION_GAPS:
        source = f"max_{name}" if f"max_{name}" in col else name
        values = out[:, col[source]]
        out[:, col[f"gap_{name}"]] = values - values.max()
    for slot in SLOTS:
        out[:, col[f"slot_{slot}"]] = float(slot in slots)
        for block in INTERACTION_BLOCKS:
            out[:, col[f"slot_{slot}_{block}"]] = out[:, col[f"block_{block}"]] * float(slot in slots)
    out[:, col["no_slot"]] = float(not slots)
    out[:, col["asker_told"]] = float(question.asker.told)
    return sections, out
