"""The assistant: question -> understanding -> hybrid retrieval -> grounded answer with citations.

`Assistant.ask` is stateless per call (history comes in as earlier user turns) and thread-safe:
shared parts are read-only after loading, and the embedder and tokenizer guard their engines.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol

from guro_jobs.extractive import Composition, ExtractiveAnswerer, compose_program_list, title_of
from guro_jobs.models import Answer, RetrievedSection
from guro_jobs.retrieval import (
    FocusMatch,
    HybridRetriever,
    RetrievalResult,
    match_names,
    misspells,
    name_core,
    squash,
)
from guro_jobs.understanding import OTHER_DISTRICTS, QuestionInfo, analyse, is_list_question
from ingestion.models import ParsedLine
from knowledge.catalog import Program
from knowledge.store import KnowledgeBase

logger = logging.getLogger(__name__)

EMPTY_HINT = (
    "질문을 입력해 주세요. 예: \"청년도전지원사업 인센티브는 얼마인가요?\", \"50세 이상은 어떤 지원을 받을 수 있나요?\""
)
TRUNCATED_NOTICE = "질문이 너무 길어 앞부분 {limit}자만 사용했습니다."
NOT_IN_PLAN = "죄송합니다. 「2023년 일자리 대책 세부계획」에는 이 질문에 대한 내용이 없습니다."
INJECTION_REPLY = (
    "이 도우미는 「2023년 일자리 대책 세부계획」에 나온 구로구 일자리 사업만 안내합니다. "
    "설정이나 지시문은 알려드릴 수 없습니다."
)
FIELD_NOT_STATED = "「2023년 일자리 대책 세부계획」에는 {program}의 {field}이(가) 나와 있지 않습니다."
SPECIFIC_INTENTS = frozenset({"hours", "location", "amount", "period", "apply"})
FIELD_NAMES = {"hours": "운영시간", "location": "위치", "amount": "지원 금액", "period": "기간", "apply": "신청 방법"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")
# Question words that are not in the plan but ask nothing the plan lacks.
GENERIC_NOUNS = frozenset(
    ["얼마", "무엇", "뭐", "어디", "언제", "누구", "어떻", "신청", "가능", "혹시", "나이", "살", "돈", "월급", "알바", "경단녀", "요즘", "정도", "궁금", "질문", "내용", "설명", "정보", "자세", "혜택", "조건", "자격", "사람", "우리", "저", "제", "나", "거", "것", "때", "곳", "분", "번", "개", "명", "알", "말씀", "문의", "부탁", "요약", "정리", "종류", "목록", "참여", "지원금", "사업비", "how", "much", "what", "which", "who", "where", "when", "is", "are", "the", "a", "an", "of", "for", "in", "on", "to", "do", "does", "can", "i", "my", "me", "you", "your", "about", "tell", "please", "program", "programs", "support", "there", "any", "get", "receive", "much", "many", "올해", "작년", "내년", "순서", "과목", "단계", "절차", "방식", "과정", "로", "경우", "부분", "관련",
     "대해", "뭐뭐", "어디어디", "가지", "들", "쪽", "편", "일", "달", "주", "년", "월", "시", "예약"]
)
# Everyday words that say how or when something is asked, not what about (a stopword list for topics).
EVERYDAY_NOUNS = frozenset(
    ["다음", "이전", "처음", "마지막", "최근", "현재", "지금", "나중", "하루", "매일", "평소", "구경", "연결", "항목", "총액",
     "합계", "전체", "구체", "정확", "대략", "평균", "차이", "비교", "변화", "순위", "여부", "해당", "직접", "안내", "소개",
     "추천", "확인", "참고", "예시", "사례", "상황", "사정", "형편", "걱정", "고민", "문제", "도움", "답변", "리스트", "전원",
     "집", "남녀", "본인", "가족", "친구", "동네", "근처", "주변", "마무리", "시작", "끝", "꼭대기", "요청", "날짜", "조직",
     "단체", "직군", "직종", "방면"]
)
# Guro-gu's own neighbourhoods: a question naming one is about Guro, whatever the plan spells.
GURO_PLACES = frozenset(
    ["개봉동", "고척동", "구로동", "신도림동", "오류동", "가리봉동", "수궁동", "항동", "천왕동", "궁동", "온수동", "개봉", "고척",
     "신도림", "오류", "가리봉", "천왕", "온수", "대림역", "구로역", "신도림역", "천왕역", "개봉역", "오류동역", "구일역"]
)
ENGLISH_STOP = frozenset(["how", "what", "which", "who", "where", "when", "is", "are", "was", "the", "a", "an", "of", "for", "in", "on", "to", "do", "does", "can", "i", "my", "me", "you"])


class LLMAnswerer(Protocol):
    """An optional LLM stage: answers from numbered context blocks, verified, else returns the fallback."""

    name: str

    def answer(self, question: str, history: list[str], blocks: list[list[ParsedLine]], fallback: Answer) -> Answer: ...

    def status(self) -> str: ...


@dataclass
class Turn:
    question: str
    info: QuestionInfo
    focus: list[FocusMatch]
    carried: bool


def clean_question(question: str, limit: int) -> tuple[str, list[str]]:
    text = _CONTROL.sub(" ", question or "")
    text = re.sub(r"\s+", " ", text).strip()
    notices: list[str] = []
    if len(text) > limit:
        text = text[:limit]
        notices.append(TRUNCATED_NOTICE.format(limit=limit))
    return text, notices


def by_relevance(programs: list[Program], result: RetrievalResult) -> list[Program]:
    """Programs in the order of the question's best matching chunk of each (document order on ties)."""

    def score(program: Program) -> float:
        depth = len(program.section_path)
        return max(
            (
                item.score
                for item in result.ranked
                if item.chunk.document == program.document
                and item.chunk.section[:depth] == program.section_path
                and (program.origin == "task" or item.chunk.start <= program.span.start <= item.chunk.end)
            ),
            default=0.0,
        )

    return sorted(programs, key=score, reverse=True)


class Assistant:
    def __init__(
        self,
        kb: KnowledgeBase,
        retriever: HybridRetriever,
        top_k: int = 10,
        max_question_chars: int = 1000,
        llm: LLMAnswerer | None = None,
        dense_floor: float = 0.80,
    ) -> None:
        self.kb = kb
        self.retriever = retriever
        self.extractive = ExtractiveAnswerer(kb)
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        self.llm = llm
        self.dense_floor = dense_floor

    # -- public -------------------------------------------------------------------------------------
    def ask(self, question: str, history: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        text, notices = clean_question(question, self.max_question_chars)
        if not text:
            return Answer(question=question or "", text=EMPTY_HINT, mode="hint", notices=notices, latency_ms=0.0)
        answer = self._answer(text, [h for h in (history or []) if h and h.strip()])
        answer.notices = notices + answer.notices
        answer.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        return answer

    # -- steps --------------------------------------------------------------------------------------
    def _understand(self, text: str, history: list[str]) -> Turn:
        focus = match_names(text, self.retriever.names)
        info = analyse(text, names=[m.key for m in focus if m.key])
        carried = False
        if not focus:
            for previous in reversed(history):
                previous_focus = match_names(previous, self.retriever.names)
                if previous_focus:
                    focus, carried = previous_focus, True
                    break
        return Turn(text, info, focus, carried)

    def _answer(self, text: str, history: list[str]) -> Answer:
        turn = self._understand(text, history)
        info = turn.info
        if info.injection:
            return Answer(question=text, text=INJECTION_REPLY, abstained=True, mode="abstain", intent="injection")
        query = text
        if turn.carried:
            # "거기는 누가 운영해요?": the earlier program's own section (Ⅳ) says more than its summary row (Ⅲ).
            named = next((m for m in turn.focus if m.path[0].startswith("Ⅳ")), turn.focus[0])
            query = f"{text} {named.title}"
        result = self.retriever.retrieve(query, focus=turn.focus)
        retrieved = self._sections(result)
        own_focus = bool(turn.focus) and not turn.carried
        reason = self._abstain_reason(turn, result)
        if not reason and is_list_question(info, own_focus) and len(self.kb.catalog):
            programs = self.kb.catalog.filter(age=info.age, age_range=info.age_range, groups=info.groups or None)
            if programs:
                programs = by_relevance(programs, result)
                listing = compose_program_list(programs, self.kb)
                return self._finish(text, listing, retrieved, info, mode="catalog")
        if reason:
            logger.info("abstained on %r: %s", text, reason)
            return Answer(
                question=text,
                text=NOT_IN_PLAN + self._suggestion_text(result, turn),
                abstained=True,
                retrieved=retrieved,
                mode="abstain",
                intent=info.primary_intent,
                suggestions=self._suggestions(result) if self._related(turn, result) else [],
            )
        composition = self.extractive.compose(info, result)
        if composition is None:
            return Answer(question=text, text=NOT_IN_PLAN, abstained=True, retrieved=retrieved, mode="abstain")
        missing = next(
            (
                i
                for i in info.intents
                if i in SPECIFIC_INTENTS
                and i not in composition.answered
                and (
                    i == "apply"
                    # Without a named program, only a program's own section (Ⅳ) is expected to state the
                    # field; "어디" about statistics asks which area, not an address.
                    or (i == info.primary_intent and (bool(turn.focus) or composition.scope[0].startswith("Ⅳ")))
                )
            ),
            None,
        )
        if missing and turn.focus:
            # A summary row (Ⅲ tables) may lack what the program's own section states: try the next program
            # that carries the same name before saying the plan does not state it.
            alternative = self.extractive.compose(info, result, skip=frozenset({composition.scope}))
            if alternative is not None and missing in alternative.answered and self._names_focus(alternative, turn):
                composition, missing = alternative, None
        if missing:
            # A specific field asked (hours, address, amount, dates, how to apply) and no line of the best
            # matching program states it: say so instead of showing other lines as the answer.
            logger.info("abstained on %r: %s not stated for %s", text, missing, composition.focus)
            return Answer(
                question=text,
                text=FIELD_NOT_STATED.format(program=composition.focus, field=FIELD_NAMES[missing]),
                abstained=True,
                retrieved=retrieved,
                mode="abstain",
                intent=info.primary_intent,
                suggestions=[composition.focus],
                focus=composition.focus,
            )
        answer = self._finish(text, composition, retrieved, info, mode="extractive")
        if self.llm is not None:
            blocks = self._context_blocks(result)
            answer = self.llm.answer(text, history, blocks, answer)
        return answer

    def _names_focus(self, composition: Composition, turn: Turn) -> bool:
        """Whether the sections quoted spell the name of the program the question names."""
        names = [name_core(squash(m.title)) for m in turn.focus]
        text = squash(" ".join(ln.text for line in composition.lines for ln in self.extractive.section_lines(line)))
        return any(name and name in text for name in names)

    def _finish(self, text: str, composition: Composition, retrieved: list[RetrievedSection], info: QuestionInfo, mode: str) -> Answer:
        return Answer(
            question=text,
            text=composition.text,
            citations=composition.citations,
            retrieved=retrieved,
            mode=mode,  # type: ignore[arg-type]
            intent=info.primary_intent,
            focus=composition.focus or None,
        )

    def _sections(self, result: RetrievalResult) -> list[RetrievedSection]:
        return [
            RetrievedSection(
                document=item.chunk.document,
                section=item.chunk.label,
                score=round(item.score, 4),
                chunk_id=item.chunk.id,
                page=item.chunk.page,
            )
            for item in result.sections(max(self.top_k, 10))
        ]

    def _abstain_reason(self, turn: Turn, result: RetrievalResult) -> str | None:
        if not result.ranked:
            return "nothing retrieved"
        unknown = [
            t
            for t in result.unknown_terms
            if t not in GENERIC_NOUNS and t not in EVERYDAY_NOUNS and t not in GURO_PLACES and not t.isdigit()
            and not any(misspells(t, m.title) for m in turn.focus if not m.exact)
        ]
        if not turn.info.has_korean:
            # English: the plan has no English words, so unknown words say little; the glossary and
            # the dense side decide whether the question is about the plan at all.
            unknown = []
        if (
            OTHER_DISTRICTS.search(turn.question)
            and "구로" not in turn.question
            and not any(m.exact for m in turn.focus)  # a Guro program named outright is still asked about
            and "figure" not in turn.info.intents
        ):
            return "asks about another district"
        if unknown and not turn.focus:
            return f"question words the plan never uses: {unknown}"
        if unknown and turn.focus and not turn.info.intents:
            return f"asks about {unknown} of a named program; the plan does not state it"
        known = [t for t in result.terms if self.kb.bm25.known(t) and t.lower() not in ENGLISH_STOP]
        if not turn.focus and not known and result.dense_top < self.dense_floor:
            return f"no plan vocabulary and low similarity ({result.dense_top:.3f})"
        return None

    def _related(self, turn: Turn, result: RetrievalResult) -> bool:
        """Offer nearest programs only when the question shares real vocabulary with the plan."""
        return bool(turn.info.groups or turn.focus) or len([t for t in result.terms if self.kb.bm25.known(t)]) >= 2

    def _suggestions(self, result: RetrievalResult, limit: int = 3) -> list[str]:
        names: list[str] = []
        for item in result.ranked:
            name = title_of(item.chunk.section)
            if name not in names:
                names.append(name)
            if len(names) >= limit:
                break
        return names

    def _suggestion_text(self, result: RetrievalResult, turn: Turn) -> str:
        if not self._related(turn, result):
            return ""
        names = self._suggestions(result)
        return "\n대신 계획에 있는 가까운 사업을 안내해 드릴 수 있습니다: " + ", ".join(names) if names else ""

    def _context_blocks(self, result: RetrievalResult, limit: int = 4) -> list[list[ParsedLine]]:
        return [item.chunk.lines for item in result.ranked[:limit]]
