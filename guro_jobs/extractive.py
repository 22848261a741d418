"""The grounded, extractive answerer: it selects the plan's own lines and composes them.

It opens with the lines that carry the asked field (amount, eligibility, period, …), adds at most
two supporting lines of the same section, and cites every line it shows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from guro_jobs.models import Citation, QuotedLine
from guro_jobs.retrieval import Ranked, RetrievalResult
from guro_jobs.understanding import AGE_TEXT, DATE, FIGURE, INTENT_FIELDS, MONEY, QuestionInfo
from ingestion.models import ParsedLine, join_label
from knowledge.catalog import Program
from knowledge.store import KnowledgeBase

_BULLET = re.compile(r"^\s*(?:[○◦·･•▸‣※]|-(?!\d))\s*")
_GENERIC_HEADINGS = frozenset(
    {"추진배경", "추진방향", "사업개요", "사업내용", "기대효과", "연차별 추진계획", "추진배경 및 현황", "소요예산", "사업예산"}
)
MAX_SUPPORTING = 2
LIST_LIMIT = 12


def _is_item(line: ParsedLine) -> bool:
    """Lines that name something: rows, fields, bullet items (not headers, captions or fragments)."""
    if line.field == "세부사업" or (line.kind == "field" and line.field):
        return True
    if line.kind == "table" and line.cells:
        return True
    return bool(_BULLET.match(line.text)) and len(line.text) > 8
CANDIDATE_CHUNKS = 8


@dataclass
class Composition:
    text: str
    citations: list[Citation]
    focus: str
    lines: list[ParsedLine]
    answered: set[str] = field(default_factory=set)


def strip_bullet(text: str) -> str:
    return _BULLET.sub("", text, count=1)


def line_text(line: ParsedLine) -> str:
    """How a line reads in an answer: the plan's words without the bullet; table rows with headers."""
    return strip_bullet(line.display())


def list_text(line: ParsedLine) -> str:
    """A list item: a table row by its name and what it does (its figures stay in the citation)."""
    if line.field == "세부사업" and line.stub:
        content = dict(line.cells or []).get("사업내용")
        return f"{line.stub}: {content}" if content else line.stub
    return line_text(line)


def title_of(path: list[str]) -> str:
    """The name of what a section is about: its deepest heading that names something."""
    for heading in reversed(path[1:]):
        if heading not in _GENERIC_HEADINGS:
            return heading
    return path[-1]


def scope_of(path: list[str]) -> tuple[str, ...]:
    """Lines of one program may be spread over several blocks of its task (사업개요, 연차별 추진계획)."""
    return tuple(path[:2]) if path and path[0].startswith("Ⅳ") else tuple(path[:3])


def cite(lines: list[ParsedLine], used: set[tuple[str, int]]) -> list[Citation]:
    """One citation per section, quoting its lines in document order."""
    by_section: dict[tuple[str, tuple[str, ...]], list[ParsedLine]] = defaultdict(list)
    for line in lines:
        by_section[(line.document, tuple(line.path))].append(line)
    citations: list[Citation] = []
    for (document, path), section_lines in by_section.items():
        section_lines = sorted(section_lines, key=lambda ln: ln.start)
        quoted = [
            QuotedLine(text=ln.text, start=ln.start, end=ln.end, page=ln.page, used=(ln.document, ln.start) in used)
            for ln in section_lines
        ]
        pages = [ln.page for ln in section_lines if ln.page is not None]
        citations.append(
            Citation(
                document=document,
                section=join_label(list(path)),
                section_path=list(path),
                quote="\n".join(q.text for q in quoted),
                lines=quoted,
                page=pages[0] if pages else None,
                start=section_lines[0].start,
                end=section_lines[-1].end,
            )
        )
    return citations


class ExtractiveAnswerer:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._token_cache: dict[str, frozenset[str]] = {}

    def _tokens(self, text: str) -> frozenset[str]:
        cached = self._token_cache.get(text)
        if cached is None:
            cached = frozenset(self.kb.tokenizer.tokens(text))
            if len(self._token_cache) < 20000:
                self._token_cache[text] = cached
        return cached

    def _idf(self, term: str) -> float:
        return self.kb.bm25.idf.get(term, 0.0)

    def _intent_score(self, line: ParsedLine, info: QuestionInfo) -> float:
        best = 0.0
        for rank, intent in enumerate(info.intents[:2]):
            weight = 1.0 if rank == 0 else 0.6
            score = 0.0
            fields = INTENT_FIELDS.get(intent, ())
            head = line.text.lstrip("○-·※ ").split(" ", 1)[0]
            if line.field and (line.field in fields or any(line.field.endswith(f) for f in fields if len(f) >= 2)):
                score = 2.0
            elif line.kind != "field" and head in fields:
                score = 1.5  # a flattened table row that starts with the field's name (`지원시기 연 4회 …`)
            elif intent == "amount" and MONEY.search(line.text):
                score = 1.6
            elif intent == "period" and DATE.search(line.text):
                score = 1.0
            elif intent == "eligibility" and AGE_TEXT.search(line.text):
                score = 1.2
            elif intent == "budget" and line.kind == "table" and line.context and "사업비" in (line.context or ""):
                score = 2.0 if line.stub == "사업비" else 1.2
            elif intent == "budget" and line.field == "세부사업":
                score = 1.4
            elif intent == "figure" and (line.kind == "table" or FIGURE.search(line.text)):
                score = 1.0
            elif intent == "hours" and re.search(r"\d{1,2}:\d{2}", line.text):
                score = 2.0
            elif intent == "hours" and re.search(r"\d+\s*시간", line.text):
                score = 1.5
            best = max(best, weight * score)
        return best

    def _enumerate(self, best: ParsedLine, ranked: list[Ranked], limit: int = LIST_LIMIT) -> list[ParsedLine]:
        """For 'what programs are there' questions: the items of the best section, in document order."""
        lines: dict[int, ParsedLine] = {}
        for chunk in self.kb.chunks:
            if chunk.document == best.document and chunk.section == best.path:
                for line in chunk.lines:
                    lines[line.start] = line
        items = [ln for ln in sorted(lines.values(), key=lambda ln: ln.start) if _is_item(ln)]
        rows = [ln for ln in items if ln.field == "세부사업"]
        return (rows or items)[:limit]

    def _sub_items(self, head: ParsedLine, limit: int = 6) -> list[ParsedLine]:
        """The `-` items under a bare `○ 제목` line of the same section."""
        if not head.text.startswith("○") or head.field or len(head.text) > 20:
            return []
        following = sorted(
            (ln for c in self.kb.chunks if c.document == head.document and c.section == head.path for ln in c.lines),
            key=lambda ln: ln.start,
        )
        items: list[ParsedLine] = []
        for line in following:
            if line.start <= head.start:
                continue
            if line.text.startswith("○") or len(items) >= limit:
                break
            items.append(line)
        return items

    def compose(self, info: QuestionInfo, result: RetrievalResult) -> Composition | None:
        ranked: list[Ranked] = result.ranked[:CANDIDATE_CHUNKS]
        if not ranked:
            return None
        top = ranked[0]
        terms = [t for t in set(result.terms) if self._idf(t) > 0]
        total_idf = sum(self._idf(t) for t in terms) or 1.0
        scored: list[tuple[float, ParsedLine]] = []
        for item in ranked:
            chunk_weight = item.score / top.score if top.score > 0 else 0.0
            # Words of the question found in the line count fully; in the line's heading path, half.
            label_tokens = self._tokens(" ".join(item.chunk.section[1:]))
            for line in item.chunk.lines:
                tokens = self._tokens(line.display())
                overlap = sum(
                    self._idf(t) * (1.0 if t in tokens else 0.5 if t in label_tokens else 0.0) for t in terms
                ) / total_idf
                # The asked field counts in proportion to how relevant the line's chunk is: an amount
                # line of an unrelated program must not outrank the right program's lines.
                score = 2.0 * chunk_weight + 2.0 * overlap + 1.5 * chunk_weight * self._intent_score(line, info)
                if item.focused:
                    score += 1.0
                if len(line.text) < 6:
                    score -= 1.0
                scored.append((score, line))
        if not scored:
            return None
        scored.sort(key=lambda pair: (-pair[0], pair[1].start))
        # The best line decides the program; everything shown comes from that program's sections.
        scope = scope_of(scored[0][1].path)
        scored = [pair for pair in scored if scope_of(pair[1].path) == scope]
        best_score, best_line = scored[0]
        direct = [best_line]
        for score, line in scored[1:]:
            if len(direct) >= 2:
                break
            if score >= 0.85 * best_score and self._intent_score(line, info) > 0 and line.path == best_line.path:
                direct.append(line)
        supporting: list[ParsedLine] = []
        # "What does it offer" answers list the block's items; other answers stay short.
        room = 4 if "content" in info.intents[:1] else MAX_SUPPORTING
        for score, line in scored:
            if len(supporting) >= room:
                break
            if line in direct or line.path != best_line.path or score < 0.6 * best_score:
                continue
            if not line.field and len(strip_bullet(line.text)) < 8:
                continue  # a bare item heading such as `○ 지원내용` says nothing by itself
            if any(line_text(line) == line_text(d) for d in direct):
                continue
            supporting.append(line)
        direct.sort(key=lambda ln: ln.start)
        supporting.sort(key=lambda ln: ln.start)
        chosen = direct + supporting
        if "list" in info.intents:
            chosen = self._enumerate(best_line, ranked) or chosen
            direct = chosen
        elif (items := self._sub_items(best_line)) and set(info.intents[:1]) & {"content", "howto", "list"}:
            # `○ 추진내용` heads the items below it: show them, not the bare heading.
            direct = chosen = items
        header = title_of(best_line.path)
        listing = "list" in info.intents
        body = "\n".join(f"• {list_text(line) if listing else line_text(line)}" for line in chosen)
        used = {(ln.document, ln.start) for ln in chosen}
        return Composition(
            text=f"{header}\n{body}",
            citations=cite(chosen, used),
            focus=header,
            lines=chosen,
            answered={
                intent
                for intent in info.intents
                if any(self._intent_score(line, QuestionInfo(text=info.text, intents=[intent])) > 0 for line in direct)
            },
        )


def compose_program_list(programs: list[Program], kb: KnowledgeBase, limit: int = 8) -> Composition:
    """A list answer from the catalog: each program with a one-line eligibility and support summary."""
    shown = programs[:limit]
    lines_out: list[str] = []
    cited: list[ParsedLine] = []
    for program in shown:
        where = f"과제 {program.task_id}" if program.task_id else (program.table or "")
        summary = program.summary()
        lines_out.append(f"• {program.name} ({where})" + (f" — {summary}" if summary else ""))
        sources = [f.source for f in (program.target, *program.support[:1]) if f is not None] or [program.span]
        for source in sources:
            cited.append(
                ParsedLine(
                    document=program.document,
                    start=source.start,
                    end=source.end,
                    page=source.page,
                    text=source.text,
                    kind="field",
                    path=program.section_path,
                )
            )
    more = len(programs) - len(shown)
    tail = f"\n외 {more}개 사업이 더 있습니다. '나에게 맞는 사업 찾기'에서 전체 목록을 볼 수 있습니다." if more > 0 else ""
    text = f"조건에 맞는 사업 {len(programs)}개를 찾았습니다.\n" + "\n".join(lines_out) + tail
    used = {(ln.document, ln.start) for ln in cited}
    return Composition(text=text, citations=cite(cited, used), focus="", lines=cited)
