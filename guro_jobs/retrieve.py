"""Step 3 of the answer path: gather candidate units with their raw evidence scores.

Candidates are the units nearest to the question (FAISS over unit vectors), the units BM25 ranks
highest, every unit of the sections that match best as a whole, and the units of the programs the
question names or carries over. The ranker decides between them; this step only gathers and measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guro_jobs.understand import Question
from knowledge.store import KnowledgeBase

DENSE_CANDIDATES = 40
BM25_CANDIDATES = 40
SECTION_CANDIDATES = 6
FOCUS_UNITS = 160
MIN_SECTIONS = 10  # the ranking always shows at least this many sections (for counselors and hit@k)


@dataclass
class Candidates:
    """Candidate units (indexes into kb.units) and the raw scores the features are made from."""

    units: np.ndarray
    query_vector: np.ndarray
    unit_dense: np.ndarray  # cosine of every unit of the index (features read the candidates' rows)
    main_dense: np.ndarray  # … with the question proper (its background clauses left out)
    section_dense: np.ndarray  # cosine of every section
    section_main_dense: np.ndarray
    title_dense: np.ndarray  # cosine of every section's heading path alone
    title_main_dense: np.ndarray
    asked_vector: np.ndarray  # what is asked, program names left out (embedded)
    asked_dense: np.ndarray  # cosine of every unit with it
    unit_bm25: dict[int, float]
    section_bm25: dict[int, float]
    label_dense: np.ndarray  # cosine of every field label

    @property
    def empty(self) -> bool:
        return len(self.units) == 0


def _normalised(scores: dict[int, float]) -> dict[int, float]:
    top = max(scores.values(), default=0.0)
    return {k: v / top for k, v in scores.items()} if top > 0 else {}


def retrieve(question: Question, kb: KnowledgeBase, documents: list[str] | None = None) -> Candidates:
    """Candidates for one question; `documents` limits them to some plans (None: every plan)."""
    query_text, main_text, asked_text = question.embedded_texts()
    vector = kb.embedder.query(query_text)
    main = kb.embedder.query(main_text) if main_text != query_text else vector
    asked = kb.embedder.query(asked_text) if asked_text != main_text else main
    unit_dense = kb.vectors @ vector
    # The same text gives the same vector: its cosines are computed once.
    main_dense = kb.vectors @ main if main is not vector else unit_dense
    asked_dense = kb.vectors @ asked if asked is not main else main_dense
    section_dense = kb.section_vectors @ vector
    label_dense = kb.label_vectors @ vector if len(kb.label_vectors) else np.zeros(0, np.float32)
    unit_bm25 = kb.unit_bm25.scores(question.terms)
    section_bm25 = kb.section_bm25.scores(question.terms)
    allowed = set(documents) if documents else None

    def admitted(index: int) -> bool:
        return allowed is None or kb.units[index].document in allowed

    chosen: dict[int, None] = {}
    for index, _score in kb.dense_search(vector, DENSE_CANDIDATES * (3 if allowed else 1)):
        if admitted(index):
            chosen[index] = None
    for index, _score in sorted(unit_bm25.items(), key=lambda kv: -kv[1])[: BM25_CANDIDATES * (3 if allowed else 1)]:
        if admitted(index):
            chosen[index] = None
    bm25_norm = _normalised(section_bm25)
    dense_top = float(section_dense.max()) if len(section_dense) else 0.0
    fused = {
        i: 0.5 * bm25_norm.get(i, 0.0) + 0.5 * (1.0 - (dense_top - float(section_dense[i])) * 5.0)
        for i in range(len(kb.sections))
        if allowed is None or kb.sections[i].document in allowed
    }
    by_fused = sorted(fused, key=lambda i: -fused[i])
    for section_index in by_fused[:SECTION_CANDIDATES]:
        for unit_index in kb.sections[section_index].units:
            chosen[unit_index] = None
    focus = question.focus
    if focus:
        added = 0
        for index, unit in enumerate(kb.units):
            if added >= FOCUS_UNITS:
                break
            if (
                index not in chosen
                and admitted(index)
                and any(m.covers(unit.document, unit.path, unit.start, unit.end) for m in focus)
            ):
                chosen[index] = None
                added += 1
    # A narrow question can find all its candidates in a few sections: the next sections as a whole join.
    present = {int(kb.section_of[i]) for i in chosen}
    for section_index in by_fused[SECTION_CANDIDATES:]:
        if len(present) >= MIN_SECTIONS:
            break
        if section_index not in present and kb.sections[section_index].units:
            present.add(section_index)
            for unit_index in kb.sections[section_index].units:
                chosen[unit_index] = None
    units = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
    return Candidates(
        units=units,
        query_vector=vector,
        unit_dense=unit_dense,
        main_dense=main_dense,
        section_dense=section_dense,
        section_main_dense=kb.section_vectors @ main,
        title_dense=kb.title_vectors @ vector,
        title_main_dense=kb.title_vectors @ main,
        asked_vector=asked,
        asked_dense=asked_dense,
        unit_bm25=unit_bm25,
        section_bm25=section_bm25,
        label_dense=label_dense,
    )
