"""Hybrid retrieval: Kiwi BM25 + e5 dense, fused by normalised weighted scores, with name focus.

Program names are matched against the question with spacing ignored and one typo allowed, so
`청년도전 지원사업` and `안심 일자리` find their sections; a matched (or, for a follow-up, carried)
program boosts the chunks under its heading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from guro_jobs.understanding import GROUP_CUES, SYNONYMS, main_clause, mostly_latin
from ingestion.models import STRUCTURAL_BLOCKS, Chunk, ParsedLine
from knowledge.store import KnowledgeBase

# Generic endings that do not identify a program: `청년도전지원사업` should match `청년도전지원`.
_GENERIC_SUFFIXES = ("조성및운영", "및운영", "지원사업", "창출사업", "사업", "운영", "프로그램", "과정", "조성", "추진", "및")
_SPLIT = re.compile(r"[!‘’'\"“”&,·()\[\]]+")
# Words that name who a program serves (`중소기업`, `사회적경제`) are not the name of one program.
_GROUP_WORDS = frozenset(cue.replace(" ", "") for cues in GROUP_CUES.values() for cue in cues)

# English words residents may use, mapped to the plan's own words (the dense side carries the rest).
GLOSSARY: dict[str, str] = {
    "youth": "청년", "young": "청년", "middle-aged": "중장년", "middle": "중장년", "senior": "어르신", "seniors": "어르신",
    "elderly": "노인", "older": "노인", "women": "여성", "woman": "여성", "female": "여성", "disabled": "장애인",
    "disability": "장애인", "disabilities": "장애인", "startup": "창업", "start-up": "창업", "startups": "창업",
    "incentive": "인센티브", "incentives": "인센티브", "allowance": "수당", "wage": "임금", "wages": "임금",
    "salary": "보수", "pay": "보수", "hourly": "시급", "budget": "예산", "location": "위치", "located": "위치",
    "address": "위치", "where": "위치", "hours": "운영시간", "open": "운영시간", "period": "기간", "duration": "기간",
    "when": "기간", "eligible": "대상", "eligibility": "대상", "who": "대상", "target": "대상", "age": "세",
    "challenge": "도전", "employment": "고용", "job": "일자리", "jobs": "일자리", "center": "센터", "centre": "센터",
    "support": "지원", "program": "프로그램", "programs": "프로그램", "training": "교육", "education": "교육",
    "company": "기업", "companies": "기업", "sme": "중소기업", "smes": "중소기업", "small": "중소기업",
    "social": "사회적경제", "enterprise": "기업", "enterprises": "기업", "population": "인구", "rate": "률",
    "safe": "안심", "safety": "안심", "workcation": "워케이션", "welfare": "복지", "export": "수출", "loan": "융자",
    "loans": "융자", "fund": "자금", "funds": "자금", "interest": "금리", "intern": "인턴", "internship": "인턴",
    "career": "경력", "reemployment": "재취업", "re-employment": "재취업", "security": "경비원", "guard": "경비원",
    "guards": "경비원", "vocational": "직업", "school": "학교", "students": "학생", "student": "학생",
    "certification": "인증", "certified": "인증", "marketing": "마케팅", "overseas": "해외", "academy": "사관학교",
    "participants": "참여자", "people": "명", "many": "수", "number": "수", "target-number": "목표",
    "goal": "목표", "goals": "목표", "employed": "취업자", "unemployment": "실업",
    "guro": "구로구", "district": "구로구", "space": "공간", "g-valley": "G밸리", "valley": "G밸리",
    "households": "세대수", "household": "세대수", "insurance": "고용보험 피보험자", "insured": "피보험자",
    "businesses": "사업체", "business": "사업체", "employees": "종사자", "workers": "근로자", "worker": "근로자",
    "medical": "의료기기", "device": "의료기기", "devices": "의료기기", "labor": "인건비", "costs": "인건비",
    "cost": "인건비", "percent": "%", "users": "이용자", "user": "이용자", "eroom": "청년이룸", "iroom": "청년이룸",
    "mandatory": "법정", "hours-of": "시간", "marketing-support": "마케팅", "financing": "자금", "finance": "자금",
    "unemployed": "미취업", "employment-rate": "고용률", "create": "창출", "created": "창출", "aim": "목표",
    "residents": "구민", "foreign": "외국인", "foreigners": "외국인", "export-consultation": "수출상담회",
    "consultation": "상담", "counseling": "상담", "mentoring": "멘토링", "fair": "박람회", "fairs": "박람회",
    "subsidy": "지원금", "subsidies": "지원금", "savings": "저축", "account": "계좌", "accounts": "계좌",
    "construction": "공사장", "childcare": "어린이집", "daycare": "어린이집", "vision": "비전", "strategy": "전략",
    "strategies": "전략", "tasks": "과제", "task": "과제",
}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


_STRUCTURAL_KEYS = frozenset(squash(block) for block in STRUCTURAL_BLOCKS)


def name_core(name: str) -> str:
    """The distinctive part of a name: generic endings (사업, 조성 및 운영, …) stripped repeatedly."""
    stripped = True
    while stripped:
        stripped = False
        for suffix in _GENERIC_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 4:
                name = name[: -len(suffix)]
                stripped = True
                break
    return name


def _within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        edits += 1
        if edits > 1:
            return False
        if len(a) == len(b):
            i += 1
        j += 1
    return edits + (len(b) - j) + (len(a) - i) <= 1


def misspells(word: str, title: str) -> bool:
    """Whether `word` is a part of `title` with one typo (`채험사업` in `청년 중소기업 체험사업`)."""
    flat = squash(title)
    size = len(word)
    return size >= 3 and any(_within_one_edit(word, flat[i : i + size]) for i in range(0, max(1, len(flat) - size + 1)))


@lru_cache(maxsize=8192)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def _longest_common_substring(a: str, b: str) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0] * (len(b) + 1)
        for j, cb in enumerate(b, start=1):
            if ca == cb:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


@dataclass(frozen=True)
class NamedSection:
    """A program-like heading: its squashed name fragments and the section path it heads."""

    title: str
    path: tuple[str, ...]
    keys: tuple[str, ...]
    row: int | None = None  # source line of a table row: the name heads that row, not the whole table


@dataclass
class FocusMatch:
    path: tuple[str, ...]
    title: str
    exact: bool
    row: int | None = None
    key: str = ""  # the name as the question spells it (spacing removed), for an exact match

    def covers(self, chunk: Chunk) -> bool:
        if self.row is not None:
            return tuple(chunk.section) == self.path and chunk.start <= self.row <= chunk.end
        return tuple(chunk.section[: len(self.path)]) == self.path


def _tails(title: str) -> set[str]:
    """Shorter names residents use for a long title: its tails from a word boundary whose distinctive
    part is still long (`청년취업사관학교` for `G밸리 4차 산업형 청년취업사관학교 조성`)."""
    tails: set[str] = set()
    for fragment in _SPLIT.split(title):
        words = fragment.split()
        for start in range(1, len(words)):
            tail = squash("".join(words[start:]))
            if len(name_core(tail)) >= 6:
                tails.add(tail)
    return tails


def _name_keys(keys: set[str]) -> tuple[str, ...]:
    return tuple(sorted(k for k in keys if len(k) >= 4 and k not in _GROUP_WORDS))


def build_name_index(lines: list[ParsedLine]) -> list[NamedSection]:
    """Names residents use for programs: task titles and their parts, program blocks, 【】, table rows."""
    named: list[NamedSection] = []
    # Where the plan's words appear, by task or table: a shortened name must not be a phrase used elsewhere.
    by_scope: dict[tuple[str, ...], list[str]] = {}
    for line in lines:
        if line.kind != "heading":
            by_scope.setdefault(tuple(line.path[:2]), []).append(squash(line.text))
    scope_text = {scope: "\n".join(texts) for scope, texts in by_scope.items()}

    def distinctive(tail: str, path: list[str]) -> bool:
        # Overviews repeat program names; another task using the phrase makes it generic.
        return not any(
            tail in text
            for scope, text in scope_text.items()
            if scope != tuple(path[:2]) and len(scope) > 1 and scope[1].startswith("(과제")
        )

    for line in lines:
        if line.kind == "heading" and len(line.path) >= 2:
            title = line.value or ""
            if squash(title) in _STRUCTURAL_KEYS or title.startswith(("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ")):
                continue
            title = re.sub(r"^\(\s*과제\s*[\d-]+\s*\)\s*", "", title)
            title = re.sub(r"^\d+\.\s*", "", title)
            fragments = [squash(f) for f in _SPLIT.split(title)]
            tails = {tail for tail in _tails(title) if distinctive(name_core(tail), line.path)}
            keys = {squash(title), *fragments, *tails}
            keys |= {name_core(k) for k in list(keys)}
            named.append(NamedSection(title, tuple(line.path), _name_keys(keys)))
        elif line.kind == "table" and line.field == "세부사업" and line.value:
            name = squash(line.value)
            keys = {name, *(squash(f) for f in _SPLIT.split(line.value))}
            keys |= {name_core(k) for k in list(keys)}
            named.append(NamedSection(line.value, tuple(line.path), _name_keys(keys), line.start))
    return named


@lru_cache(maxsize=4096)
def _groups_in(key: str) -> frozenset[str]:
    return frozenset(word for word in _GROUP_WORDS if word in key)


def _other_group(key: str, q_groups: set[str]) -> bool:
    """`장애인 일자리사업` is not a misspelt `노인 일자리사업`: the question names another group."""
    key_groups = _groups_in(key)
    return bool(key_groups - q_groups) and bool(q_groups - key_groups)


def match_names(question: str, names: list[NamedSection]) -> list[FocusMatch]:
    """Named sections the question mentions (spacing ignored, one typo allowed for longer names)."""
    q = squash(question)
    q_bigrams = {q[i : i + 2] for i in range(len(q) - 1)}
    q_groups = {word for word in _GROUP_WORDS if word in q}
    found: dict[tuple[tuple[str, ...], int | None], FocusMatch] = {}
    best_len: dict[tuple[tuple[str, ...], int | None], int] = {}
    for named in names:
        for key in named.keys:
            exact = key in q
            score = len(key) + 1 if exact else 0
            if not exact and len(key) >= 5 and not _other_group(key, q_groups):
                key_bigrams = _bigrams(key)
                shared = len(key_bigrams & q_bigrams)
                if len(key) >= 6 and shared >= 4 and shared >= 0.6 * len(key_bigrams):
                    # Most of a long name, e.g. `경비원취업교육` for `중장년경비원취업교육`; its generic
                    # ending does not count (`장애인일자리사업` shares only `일자리사업` with `안심일자리사업`).
                    core = name_core(key)
                    common = _longest_common_substring(core, q)
                    if common >= 5 and common / len(core) >= 0.7:
                        score = common
                if not score and shared >= len(key_bigrams) - 2:
                    fuzzy = any(
                        _within_one_edit(key, q[start : start + size])
                        for size in (len(key) - 1, len(key), len(key) + 1)
                        for start in range(0, max(0, len(q) - size) + 1)
                    )
                    score = len(key) - 1 if fuzzy else 0
            if score:
                slot = (named.path, named.row)
                if score > best_len.get(slot, 0):
                    best_len[slot] = score
                    found[slot] = FocusMatch(named.path, named.title, exact, named.row, key if exact else "")
    if not found:
        return []
    # Keep the most specific matches: drop a match whose name is a part of a longer matched name.
    top = max(best_len.values())
    kept = {slot: m for slot, m in found.items() if best_len[slot] >= min(top, 6)}
    # A named part (`중소기업 마케팅 지원`) is more specific than its task matched by a shorter name.
    return [
        m
        for slot, m in kept.items()
        if not any(
            other.path[: len(m.path)] == m.path and len(other.path) > len(m.path) and best_len[o] >= best_len[slot]
            for o, other in kept.items()
            if o != slot
        )
    ]


@dataclass
class Ranked:
    chunk: Chunk
    index: int
    score: float
    bm25: float
    dense: float
    focused: bool = False


@dataclass
class RetrievalResult:
    ranked: list[Ranked]
    terms: list[str]
    unknown_terms: list[str]
    focus: list[FocusMatch] = field(default_factory=list)
    dense_top: float = 0.0
    bm25_top: float = 0.0

    def sections(self, limit: int) -> list[Ranked]:
        """The best-ranked chunk of each distinct section, in rank order (a section counts once)."""
        seen: set[tuple[str, str]] = set()
        out: list[Ranked] = []
        for item in self.ranked:
            key = (item.chunk.document, item.chunk.label)
            if key not in seen:
                seen.add(key)
                out.append(item)
                if len(out) >= limit:
                    break
        return out


class HybridRetriever:
    def __init__(self, kb: KnowledgeBase, bm25_weight: float, dense_weight: float, candidates: int) -> None:
        self.kb = kb
        self.bm25_weight = bm25_weight
        self.dense_weight = dense_weight
        self.candidates = candidates
        all_lines = [line for chunk in kb.chunks for line in chunk.lines]
        self.names = build_name_index(all_lines + kb_headings(kb))

    def terms(self, question: str) -> list[str]:
        """BM25 terms: Kiwi content words plus the plan's words for English and colloquial ones."""
        tokens = self.kb.tokenizer.tokens(question)
        out: list[str] = []
        for token in tokens:
            out.append(token)
            expansion = GLOSSARY.get(token.lower()) if token.isascii() else SYNONYMS.get(token)
            if expansion:
                out.extend(self.kb.tokenizer.tokens(expansion))
        return out

    def unknown_nouns(self, question: str) -> list[str]:
        """Nouns and foreign words of the question that the indexed documents never use."""
        unknown: list[str] = []
        english = mostly_latin(question)
        for word, tag in self.kb.tokenizer.tagged(main_clause(question)):
            if tag not in ("NNG", "NNP", "SL", "SH") or self.kb.bm25.known(word):
                continue
            if (tag == "SL" and (english or word in GLOSSARY)) or word in SYNONYMS:
                continue  # an English question is carried by the glossary and the dense side
            if tag != "SL" and len(word) < 2:
                continue  # a one-syllable remnant (`소` of `개소`) names nothing
            unknown.append(word)
        return unknown

    def retrieve(
        self,
        question: str,
        focus: list[FocusMatch] | None = None,
        weights: tuple[float, float] | None = None,
        limit: int | None = None,
    ) -> RetrievalResult:
        bm25_weight, dense_weight = weights or (self.bm25_weight, self.dense_weight)
        terms = self.terms(question)
        unknown = self.unknown_nouns(question)
        keyword_hits = self.kb.keyword_search(terms, self.candidates) if bm25_weight > 0 else []
        dense_hits = self.kb.dense_search(question, self.candidates) if dense_weight > 0 else []
        bm25_max = max((s for _, s in keyword_hits), default=0.0)
        dense_scores = [s for _, s in dense_hits]
        dense_max = max(dense_scores, default=0.0)
        dense_min = min(dense_scores, default=0.0)
        combined: dict[int, list[float]] = {}
        for index, score in keyword_hits:
            combined.setdefault(index, [0.0, 0.0])[0] = score / bm25_max if bm25_max > 0 else 0.0
        for index, score in dense_hits:
            spread = dense_max - dense_min
            combined.setdefault(index, [0.0, 0.0])[1] = (score - dense_min) / spread if spread > 1e-9 else 1.0
        focus = focus or []
        if focus:
            # Chunks of a named program are candidates even when neither retriever ranked them.
            for index, chunk in enumerate(self.kb.chunks):
                if index not in combined and any(m.covers(chunk) for m in focus):
                    combined[index] = [0.0, 0.0]
        ranked: list[Ranked] = []
        for index, (b, d) in combined.items():
            chunk = self.kb.chunks[index]
            focused = any(m.covers(chunk) for m in focus)
            score = bm25_weight * b + dense_weight * d + (0.5 if focused else 0.0)
            ranked.append(Ranked(chunk, index, score, b, d, focused))
        ranked.sort(key=lambda r: r.score, reverse=True)
        return RetrievalResult(
            ranked=ranked[: limit or len(ranked)],
            terms=terms,
            unknown_terms=unknown,
            focus=focus,
            dense_top=dense_max,
            bm25_top=bm25_max,
        )


def kb_headings(kb: KnowledgeBase) -> list[ParsedLine]:
    """Heading lines are not stored in chunks; rebuild one per distinct section path for the name index."""
    seen: set[tuple[str, ...]] = set()
    out: list[ParsedLine] = []
    for chunk in kb.chunks:
        for depth in range(1, len(chunk.section) + 1):
            path = tuple(chunk.section[:depth])
            if path in seen:
                continue
            seen.add(path)
            out.append(
                ParsedLine(
                    document=chunk.document,
                    start=chunk.start,
                    end=chunk.start,
                    text=path[-1],
                    kind="heading",
                    path=list(path),
                    value=path[-1],
                )
            )
    return out
