"""The assistant: clean -> understand -> retrieve -> decide -> compose -> cite -> verify.

Each step is a module entered once per question (`guro_jobs.clean`, `.understand`, `.retrieve`, `.features`
and `.decide`, `.compose`, `.cite`, `.verify`). `Assistant.ask` is stateless per call (the user's earlier
questions come in as `history`) and thread-safe: everything shared is read-only after loading, and the
embedder and tokenizer guard their engines. `ask` never raises on a string question.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from guro_jobs.cite import cite
from guro_jobs.clean import MAX_QUESTION_CHARS, clean_question
from guro_jobs.compose import Composition, compose_answer, compose_list, line_lookup
from guro_jobs.decide import Ranking, decide, decline_features, rank
from guro_jobs.features import UnitTable, feature_matrix, section_matrix
from guro_jobs.messages import keys, message, table
from guro_jobs.model import LinearModel, NeighbourMemory
from guro_jobs.models import Answer, RetrievedSection
from guro_jobs.models import Verdict as VerdictModel
from guro_jobs.retrieve import MIN_SECTIONS, Candidates, retrieve
from guro_jobs.understand import Question, understand
from guro_jobs.verify import verbatim_index, verify_quotes
from ingestion.models import ParsedLine
from knowledge.lexicon import Lexicon
from knowledge.names import NameMatch
from knowledge.store import KnowledgeBase

logger = logging.getLogger(__name__)
SUGGESTIONS = 3


class LLMAnswerer(Protocol):
    """An optional LLM stage: answers from numbered context blocks, verified, else returns the fallback."""

    name: str

    def answer(self, question: str, history: list[str], blocks: list[list[ParsedLine]], fallback: Answer) -> Answer: ...

    def status(self) -> str: ...


@dataclass
class Evidence:
    """What the path computed for one question (training reads the same objects the answer is made from)."""

    question: Question
    candidates: Candidates
    features: np.ndarray  # unit features, in candidate order
    section_ids: np.ndarray
    section_features: np.ndarray
    ranking: Ranking
    decline_x: np.ndarray


class Assistant:
    def __init__(
        self,
        kb: KnowledgeBase,
        section_model: LinearModel,
        unit_model: LinearModel,
        decline: LinearModel,
        lexicon: Lexicon,
        llm: LLMAnswerer | None = None,
        max_question_chars: int = MAX_QUESTION_CHARS,
        memory: NeighbourMemory | None = None,
    ) -> None:
        self.kb = kb
        self.memory = memory
        self.section_model = section_model
        self.unit_model = unit_model
        self.decline = decline
        self.lexicon = lexicon
        self.llm = llm
        self.max_question_chars = max_question_chars
        self.table = UnitTable.build(kb, lexicon)
        self.lookup = line_lookup(kb)
        self._verbatim = verbatim_index(kb)

    # -- public -------------------------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None, documents: list[str] | None = None) -> Answer:
        """Answer one question. `history`: the user's earlier questions, oldest first; `documents`: limit
        the answer to some of the loaded plans (None: all, or the ones the question names)."""
        started = time.perf_counter()
        if history is not None and (not isinstance(history, list) or not all(isinstance(h, str) for h in history)):
            raise TypeError("history must be a list of str")
        cleaned = clean_question(question, self.max_question_chars)  # TypeError for a non-string
        turns = [h for h in (clean_question(h, self.max_question_chars).text for h in history or []) if h]
        try:
            answer = self._ask(cleaned.text, turns, documents, pasted=cleaned.pasted)
        except Exception:  # a bug must not take the resident's question with it
            logger.exception("answering failed for a question of %d characters", len(cleaned.text))
            answer = Answer(question=cleaned.text, text=message("not_in_plan", plan=self.plan_name()), abstained=True, mode="abstain")
        if cleaned.truncated and not cleaned.pasted:
            answer.notices.insert(0, message("truncated", limit=self.max_question_chars))
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    def plan_name(self, document: str | None = None) -> str:
        """The plan as messages name it: one plan by its title, several by all of theirs."""
        profiles = self.kb.profiles
        if document and document in profiles:
            return profiles[document].display_title
        return "·".join(p.display_title for p in profiles.values())

    # -- the path -----------------------------------------------------------------------------------
    def evidence(self, text: str, history: list[str], documents: list[str] | None = None, depth: int = 0) -> Evidence:
        """understand -> retrieve -> rank -> decline features, for one cleaned question."""
        question = understand(text, history, self.kb, self.lexicon)
        previous = self._previous(history, documents) if history and depth == 0 else None
        restrict: list[NameMatch] = []
        if previous is not None and not previous.abstained and (not question.names or (question.refer and previous.programs)):
            restrict = self._carry(question, previous)
        scope = documents or question.documents or None
        candidates = retrieve(question, self.kb, scope)
        if restrict:
            keep = [
                i
                for i, u in enumerate(candidates.units)
                if any(m.covers(self.kb.units[int(u)].document, self.kb.units[int(u)].path, self.kb.units[int(u)].start, self.kb.units[int(u)].end) for m in restrict)
            ]
            if keep:
                candidates.units = candidates.units[keep]
        features = feature_matrix(question, candidates, self.kb, self.table, self.lexicon)
        section_ids, section_features = section_matrix(question, candidates, features, self.kb, self.table)
        ranking = rank(features, section_ids, section_features, candidates, self.kb, self.section_model, self.unit_model)
        decline_x = decline_features(
            question, ranking, candidates, section_ids, section_features, self.kb, self.table, self.lexicon, self.memory
        )
        return Evidence(question, candidates, features, section_ids, section_features, ranking, decline_x)

    def _previous(self, history: list[str], documents: list[str] | None) -> Answer | None:
        """The answer the last earlier question got (recomputed: `ask` keeps no state)."""
        try:
            evidence = self.evidence(history[-1], history[:-1], documents, depth=1)
            return self._respond(history[-1], evidence, documents)
        except Exception:
            logger.exception("could not recompute the previous answer")
            return None

    def _carry(self, question: Question, previous: Answer) -> list[NameMatch]:
        """What a follow-up carries: the previous list's programs ("그 중에 …", "첫 번째 거"), or the previous
        answer's program. Returns the programs a "그 중에" question is limited to."""
        kb = self.kb
        listed = [kb.catalog.by_id[p] for p in previous.programs if p in kb.catalog.by_id]
        matches = [
            NameMatch(p.document, tuple(p.section_path), p.name, True, float(len(p.name)), (p.table_row and p.span.start) or None)
            for p in listed
        ]
        if question.ordinal and matches:
            index = min(question.ordinal, len(matches)) - 1
            question.carried = [matches[index]]
            question.query = f"{question.text} {matches[index].title}"
            question.terms += kb.tokenizer.tokens(matches[index].title)
            return []
        if matches and (question.refer or question.wants_list):
            question.carried = []
            question.names = [m for m in question.names if any(m.path[: len(p.path)] == p.path for p in matches)]
            return matches
        if previous.focus_path and previous.document and not matches and not question.carried:
            question.carried = [
                NameMatch(previous.document, tuple(previous.focus_path), previous.focus or "", True, 10.0)
            ]
            question.query = f"{question.text} {previous.focus or ''}"
        return []

    def _ask(self, text: str, history: list[str], documents: list[str] | None, pasted: bool = False) -> Answer:
        if not text:
            return Answer(question=text, text=message("empty"), mode="hint")
        if pasted:
            return Answer(question=text, text=message("pasted"), mode="hint", abstained=True)
        evidence = self.evidence(text, history, documents)
        return self._respond(text, evidence, documents, history)

    def _respond(self, text: str, evidence: Evidence, documents: list[str] | None, history: list[str] | None = None) -> Answer:
        question, ranking = evidence.question, evidence.ranking
        plan = self.plan_name(documents[0] if documents and len(documents) == 1 else None)
        if question.injection:
            return Answer(question=text, text=message("injection", plan=plan), abstained=True, mode="abstain", intent="injection")
        if question.noise:
            return Answer(question=text, text=message("noise"), abstained=True, mode="hint")
        decision, p_decline = decide(question, ranking, self.decline, evidence.decline_x)
        retrieved = self._retrieved(ranking)
        intent = question.slots[0] if question.slots else None
        if decision == "decline":
            return self._decline(question, ranking, retrieved, plan, p_decline)
        composition: Composition | None = None
        mode = "extractive"
        if decision == "list":
            composition = compose_list(question, ranking, self.kb, self.lexicon, plan, self.lookup, self.unit_model.params)
            mode = "catalog"
        if composition is None:
            composition = compose_answer(question, ranking, self.kb, self.lexicon, self.unit_model.params)
            if len(self.kb.profiles) > 1:
                # Several plans are loaded: say which one the answer comes from.
                composition.text = f"[{self.plan_name(composition.document)}] {composition.text}"
            mode = "extractive"
        answer = self._finish(question, composition, retrieved, mode, intent, p_decline)
        if self.llm is not None and mode == "extractive":
            blocks = self._context_blocks(ranking)
            answer = self.llm.answer(text, history or [], blocks, answer)
        return verify_quotes(answer, self._verbatim)

    def _finish(
        self, question: Question, composition: Composition, retrieved: list[RetrievedSection], mode: str, intent: str | None, p_decline: float
    ) -> Answer:
        profile = self.kb.profile_of(composition.document)
        verdict = composition.verdict
        names = table("field")
        unstated = list(dict.fromkeys(names[s] for s in composition.unstated if s in names)) if mode == "extractive" else []
        notices = [message("unstated", fields=", ".join(unstated))] if unstated else []
        return Answer(
            question=question.text,
            text=composition.text,
            citations=cite(composition.lines, composition.used, self.kb),
            retrieved=retrieved,
            mode=mode,  # type: ignore[arg-type]
            intent=intent,
            highlights=composition.highlights,
            verdict=VerdictModel(outcome=verdict.outcome, label=verdict.label, reason=verdict.reason, unchecked=verdict.unchecked)
            if verdict is not None
            else None,
            programs=composition.programs,
            focus=composition.focus or None,
            focus_path=composition.focus_path,
            document=composition.document,
            plan=profile.display_title if profile else "",
            followups=self._followups(composition) if mode == "extractive" else [],
            contact=composition.contact,
            decline_probability=round(p_decline, 4),
            notices=notices,
        )

    def _decline(self, question: Question, ranking: Ranking, retrieved: list[RetrievedSection], plan: str, p: float) -> Answer:
        if question.other_places:
            issuers = ", ".join(sorted({pr.issuer for pr in self.kb.profiles.values() if pr.issuer}))
            text = message("other_place", plan=plan, issuer=issuers or plan, place=question.other_places[0])
        elif question.national:
            text = message("national", name=question.national[0], plan=plan)
        else:
            text = message("not_in_plan", plan=plan)
        names = [self.kb.sections[s].title for s, _ in ranking.sections(self.kb, SUGGESTIONS)] if ranking.top is not None else []
        suggestions = [n for n in dict.fromkeys(names) if n]
        if suggestions and (question.names or question.asker.told or len(question.content) >= 2):
            text += "\n" + message("suggest", names=", ".join(suggestions))
        else:
            suggestions = []
        logger.info("declined (p=%.2f)", p)
        return Answer(
            question=question.text,
            text=text,
            abstained=True,
            retrieved=retrieved,
            mode="abstain",
            intent=question.slots[0] if question.slots else None,
            suggestions=suggestions,
            decline_probability=round(p, 4),
        )

    def _retrieved(self, ranking: Ranking) -> list[RetrievedSection]:
        out: list[RetrievedSection] = []
        best_unit: dict[int, int] = {}
        for unit in ranking.units:
            best_unit.setdefault(int(self.kb.section_of[int(unit)]), int(unit))
        for section, p in ranking.sections(self.kb, MIN_SECTIONS):
            s = self.kb.sections[section]
            unit = self.kb.units[best_unit[section]]
            out.append(RetrievedSection(document=s.document, section=s.label, score=round(p, 4), chunk_id=unit.id, page=unit.page))
        return out

    def _followups(self, composition: Composition) -> list[str]:
        """Questions about the same program that its section states an answer to (never one it can't)."""
        kb = self.kb
        if not composition.units:
            return []
        task = tuple(composition.focus_path[:2])
        present: set[str] = set()
        for section in kb.sections:
            if section.document == composition.document and tuple(section.path[:2]) == task:
                for u in section.units:
                    present |= self.table.label_slots[u]
        shown = {slot for u in composition.units for slot in self.table.label_slots[u]}
        title = composition.focus
        # One follow-up message per slot (messages.toml `followup_<slot>`), for the slots the plan states.
        slots = [key.removeprefix("followup_") for key in keys("followup_")]
        out = [f"{title} {message('followup_' + slot)}" for slot in slots if slot in present and slot not in shown]
        return out[:3]

    def _context_blocks(self, ranking: Ranking, limit: int = 4) -> list[list[ParsedLine]]:
        blocks: list[list[ParsedLine]] = []
        seen: set[int] = set()
        for unit in ranking.units:
            section = int(self.kb.section_of[int(unit)])
            if section in seen:
                continue
            seen.add(section)
            lines = [ln for u in self.kb.sections[section].units[:12] for ln in self.kb.units[u].lines]
            blocks.append(lines)
            if len(blocks) >= limit:
                break
        return blocks
