"""The grounded, extractive answerer: it selects the plan's own lines and composes them.

It opens with the lines that carry the asked field (amount, eligibility, period, …), adds at most
two supporting lines of the same section, and cites every line it shows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from guro_jobs.models import Citation, QuotedLine
from guro_jobs.retrieval import Ranked, RetrievalResult, squash
from guro_jobs.understanding import AGE_TEXT, DATE, FIGURE, INTENT_FIELDS, MONEY, QuestionInfo
from ingestion.models import CONTEXT_BLOCKS, STRUCTURAL_BLOCKS, ParsedLine, join_label
from knowledge.catalog import Program
from knowledge.store import KnowledgeBase

_BULLET = re.compile(r"^\s*(?:[○◦·･•▸‣※]|-(?!\d))\s*")
MAX_SUPPORTING = 2
TARGET_QUESTION = re.compile(r"목표|target|aim", re.IGNORECASE)
PRIORITY_QUESTION = re.compile(r"우선|먼저|부터\s*(?:뽑|선정|지원)|priority", re.IGNORECASE)
TOTAL_QUESTION = re.compile(r"전체|합계|총액|총\s*예산|모두|다\s*합|통틀어|in total|total", re.IGNORECASE)
TOTAL_LINE = re.compile(r"^\W*(?:총\s*계|합\s*계|소\s*계)\b|등\s*\d+\s*개\s*사업")
RATE_QUESTION = re.compile(r"%|률|비율|비중|퍼센트|percent|rate|share", re.IGNORECASE)
RATE_TEXT = re.compile(r"%|률|비율|비중")
_FACT_INTENTS = frozenset({"amount", "period", "location", "hours", "eligibility"})
_PLACE = re.compile(r"\d+\s*층|[가-힣]+(?:로|길)\s*\d|(?:홍보관|체험관|센터|캠퍼스|빌리지|[가-힣]역)(?:\s|$|[,.)])")
_STEPS = re.compile(r"\S\s*(?:>|▶|→)\s*\S.*(?:>|▶|→)")
_PAPERS = re.compile(r"계약서|증명서|신청서|확인서|등록증|등본|서류")
_ORGANISATION = re.compile(r"진흥원|공단|재단|공사|협회|대학교|센터|조합|위원회|고용노동부|서울시")
_NOTE = re.compile(r"^\s*※")  # a note continues the cell above it
_ARROW = re.compile(r"^\s*[▶►→⇒➡]+\s*$")
# A heading line's block ends at the next line of its own level or above.
_BLOCK_STOPS = {"○": "○□", "-": "-○□"}
_COLUMN_HEADER = re.compile(r"^(?:\S\s){2,}\S(?:\s|$)")  # `구 분 내 용 …`, `유 형 지 원 내 용`
_SUMMARY_FIELDS = frozenset(INTENT_FIELDS["content"] + INTENT_FIELDS["eligibility"])
HEAD_CHARS = 45  # a heading line (`○ 추진절차`, `○ 운영 프로그램 : … 21개 프로그램`) is short
BLOCK_CHARS = 360  # a block shown in an answer stops after about this many characters
LIST_LIMIT = 12
SUMMARY_CHARS = 90  # one program's line in a list answer; the citation holds the rest


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
    scope: tuple[str, ...] = ()


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
        if heading not in STRUCTURAL_BLOCKS:
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


def _marker(line: ParsedLine) -> str:
    return line.text.lstrip()[:1]


def _rows(lines: list[ParsedLine]) -> list[list[ParsedLine]]:
    """Lines of a flattened table grouped back into cells: consecutive source lines belong together,
    a bullet starts a new one, and `▶` joins the steps of a procedure into one row."""
    rows: list[list[ParsedLine]] = []
    for line in lines:
        previous = rows[-1] if rows else None
        if previous and (
            _ARROW.match(line.text)
            or _ARROW.match(previous[-1].text)
            or (not _BULLET.match(line.text) and line.start <= previous[-1].end + 1)
        ):
            previous.append(line)
        else:
            rows.append([line])
    return rows


def row_text(row: list[ParsedLine]) -> str:
    parts = [line.text if i and _NOTE.match(line.text) else line_text(line) for i, line in enumerate(row)]
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


class ExtractiveAnswerer:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._token_cache: dict[str, frozenset[str]] = {}
        # Every line of a section in document order: blocks and enumerations read whole sections.
        sections: dict[tuple[str, tuple[str, ...]], dict[int, ParsedLine]] = defaultdict(dict)
        for chunk in kb.chunks:
            for line in chunk.lines:
                sections[(line.document, tuple(line.path))][line.start] = line
        self._sections = {key: sorted(lines.values(), key=lambda ln: ln.start) for key, lines in sections.items()}
        self._blocks: dict[tuple[str, int], list[list[ParsedLine]]] = {}

    def section_lines(self, line: ParsedLine) -> list[ParsedLine]:
        return self._sections.get((line.document, tuple(line.path)), [])

    def cell(self, line: ParsedLine) -> tuple[list[ParsedLine], list[ParsedLine]]:
        """The cell of a flattened table that a fragment belongs to (`인증사회적기업 1억원 이내, 예비사회적기`
        continues on the next source lines), and the short row label just above it (`사업개발비 지원 …`)."""
        if line.kind != "prose":
            return [line], []
        lines = self.section_lines(line)
        index = next((i for i, ln in enumerate(lines) if ln is line), None)
        if index is None:
            return [line], []

        def joins(upper: ParsedLine, lower: ParsedLine) -> bool:
            return (
                upper.kind == lower.kind == "prose"
                and lower.start == upper.end + 1
                and (not _BULLET.match(lower.text) or _NOTE.match(lower.text))
                and not _ARROW.match(lower.text)
            )

        first = index
        while first > 0 and joins(lines[first - 1], lines[first]):
            first -= 1
        last = index
        while last + 1 < len(lines) and joins(lines[last], lines[last + 1]):
            last += 1
        group = lines[first : last + 1]
        label: list[ParsedLine] = []
        if len(group) > 1 and first > 0:
            above = lines[first - 1]
            if (
                above.kind == "prose"
                and above.end >= group[0].start - 2
                and len(above.text) <= 25
                and not _BULLET.match(above.text)
            ):
                label = [above]
        return group, label

    def block(self, head: ParsedLine) -> list[list[ParsedLine]]:
        """What a heading line heads, as rows: the steps under `○ 추진절차`, the courses of a flattened
        table under `- AIoT(사물지능)기반 기술교육(예시)`, the programs under `○ 운영 프로그램 : …`."""
        key = (head.document, head.start)
        cached = self._blocks.get(key)
        if cached is None:
            cached = self._blocks[key] = self._find_block(head)
        return cached

    def _find_block(self, head: ParsedLine) -> list[list[ParsedLine]]:
        stops = _BLOCK_STOPS.get(_marker(head))
        if stops is None or len(strip_bullet(head.text)) > HEAD_CHARS:
            return []  # a sentence is not a heading, even when a table follows it
        following: list[ParsedLine] = []
        for line in self.section_lines(head):
            if line.start <= head.start:
                continue
            if _marker(line) in stops or (line.kind == "field" and _marker(head) == "-"):
                break
            following.append(line)
        if any(line.field == "세부사업" for line in following):
            return []  # rows of a program table are enumerated by name instead
        return [row for row in _rows(following) if not _COLUMN_HEADER.match(row_text(row))]

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
            if intent in _FACT_INTENTS and line.path[-1] in CONTEXT_BLOCKS:
                continue  # why a program exists is not where its address or amounts are stated
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
            elif intent == "location" and _PLACE.search(line.text):
                score = 0.6  # a named place (`스마트 구로 홍보관`, `지하 1층`, `개봉로23길 10`) answers "어디"
            elif intent == "hours" and re.search(r"\d{1,2}:\d{2}", line.text):
                score = 2.0
            elif intent == "hours" and re.search(r"\d+\s*시간", line.text):
                score = 1.5
            elif intent == "howto" and _STEPS.search(line.display()):
                score = 1.8  # `발굴 > 상담 > 교육 > 취업연계`: the steps themselves
            elif intent == "apply" and _PAPERS.search(line.text):
                score = 1.5
            elif intent == "agency" and _ORGANISATION.search(line.text):
                score = 1.0
            elif intent in ("list", "content", "howto") and self.block(line):
                score = 1.5 if intent == "list" else 1.0  # a heading over the items that were asked for
            if intent == "figure" and TARGET_QUESTION.search(info.text) and "성과지표" in (line.context or ""):
                score = max(score, 2.0)  # "올해 목표가 몇 명?": the task's yearly performance targets
            if intent == "eligibility" and PRIORITY_QUESTION.search(info.text) and "우선" in line.text:
                score = max(score, 2.0)  # "어떤 회사부터 뽑아요?": who is selected first
            if intent in ("budget", "figure") and TOTAL_QUESTION.search(info.text):
                # "전체 예산이 얼마?" wants the table's total row, not one program's row.
                score = 2.5 if TOTAL_LINE.search(line.text) else score * 0.7
            if intent == "figure" and RATE_QUESTION.search(info.text):
                # "고용률 목표는 몇 %?" wants a rate, not a head count.
                score = 2.0 if RATE_TEXT.search(line.display()) else score * 0.5
            best = max(best, weight * score)
        return best

    def _enumerate(self, best: ParsedLine) -> list[ParsedLine]:
        """For 'what programs are there' questions: the items of the best section, in document order."""
        items = [ln for ln in self.section_lines(best) if _is_item(ln)]
        rows = [ln for ln in items if ln.field == "세부사업"]
        return rows or items

    def compose(
        self, info: QuestionInfo, result: RetrievalResult, skip: frozenset[tuple[str, ...]] = frozenset()
    ) -> Composition | None:
        """The answer from the best program's lines; `skip` leaves out programs (scopes) already tried."""
        ranked: list[Ranked] = result.ranked[:CANDIDATE_CHUNKS]
        if not ranked:
            return None
        top = ranked[0]
        terms = [t for t in set(result.terms) if self._idf(t) > 0]
        total_idf = sum(self._idf(t) for t in terms) or 1.0
        rare = [word for word in result.unknown_terms if len(word) >= 2 and not word.isascii()]
        section_named = any(m.path[0].startswith("Ⅳ") for m in result.focus)
        prefers_rows = bool(set(info.intents[:1]) & {"budget", "figure"})
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
                if rare:
                    # Words the index never saw as tokens may still be spelt inside a line (`교육장` in
                    # `IT/일반교육장 4실`): that line names what was asked.
                    flat = squash(line.display())
                    overlap += sum(1 for word in rare if word in flat) / len(rare)
                score = 2.0 * chunk_weight + 2.0 * overlap + 1.5 * chunk_weight * self._intent_score(line, info)
                if item.focused:
                    # A program named both in a Ⅲ summary table and as a Ⅳ task: its own section states who,
                    # what and how; the table row holds its head count and budget.
                    summary_row = section_named and not item.chunk.section[0].startswith("Ⅳ")
                    score += 0.3 if summary_row and not prefers_rows else 1.0
                if len(line.text) < 6:
                    score -= 1.0
                scored.append((score, line))
        scored = [pair for pair in scored if scope_of(pair[1].path) not in skip]
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
        for intent in [i for i in info.intents[1:2] if i not in ("figure", "list", "content")]:
            # A second field asked ("인건비 받으려면 어떤 서류?"): its best line joins the answer.
            asked = QuestionInfo(text=info.text, intents=[intent])
            if not any(self._intent_score(line, asked) > 0 for line in direct):
                extra = next(
                    (
                        line
                        for score, line in scored
                        if score >= 0.6 * best_score and scope_of(line.path) == scope and self._intent_score(line, asked) > 0
                    ),
                    None,
                )
                if extra is not None:
                    direct.append(extra)
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
        listing = "list" in info.intents
        header = title_of(best_line.path)
        expanding = bool(set(info.intents) & {"list", "content", "howto"})
        head = next(
            (
                line
                for score, line in scored
                if expanding and score >= 0.6 * best_score and line.path == best_line.path and self.block(line)
            ),
            None,
        )
        programs = self._sub_programs(best_line, result) if listing else []
        # "지역공동체 일자리는 무슨 사업에서 몇 명?" names one row: answer with it, not the whole table.
        row_named = any(m.row is not None and m.path == tuple(best_line.path) for m in result.focus)
        task_named = any(m.path == tuple(best_line.path[:2]) for m in result.focus)
        if programs and (task_named or head is None):
            header = title_of(best_line.path[:2])
            body = [f"• {title}: {_short(line_text(line))}" for title, line in programs]
            chosen = direct = [line for _, line in programs]
        elif head is not None:
            # `○ 추진절차` or `- AIoT 기반 기술교육(예시)` heads what was asked: show its rows.
            rows = _bounded(self.block(head))
            others = [
                ln
                for ln in direct
                if ln is not head and not _within(ln, rows) and (ln.field or len(strip_bullet(ln.text)) >= 8)
            ][:2]
            body = [f"• {line_text(ln)}" for ln in others] + [f"• {line_text(head)}"]
            body += [f"  - {row_text(row)}" for row in rows]
            chosen = others + [head] + [ln for row in rows for ln in row]
            direct = chosen
        elif listing and not row_named and (items := self._enumerate(best_line)):
            shown, rest = items[:LIST_LIMIT], items[LIST_LIMIT:]
            body = [f"• {list_text(line)}" for line in shown]
            named = [line for line in rest if line.stub]
            if named:
                body.append("• 그 밖에: " + ", ".join(line.stub or "" for line in named))
            chosen = direct = shown + named
        else:
            body, shown = [], []
            for line in chosen:
                group, label = self.cell(line)
                if any(member in shown for member in group):
                    continue
                shown += label + group
                text = row_text(group)
                body.append(f"• {row_text(label)} · {text}" if label else f"• {text}")
            chosen = shown
        used = {(ln.document, ln.start) for ln in chosen}
        return Composition(
            text=header + "\n" + "\n".join(body),
            citations=cite(chosen, used),
            focus=header,
            lines=chosen,
            scope=scope,
            answered={
                intent
                for intent in info.intents
                if any(self._intent_score(line, QuestionInfo(text=info.text, intents=[intent])) > 0 for line in direct)
            },
        )

    def _sub_programs(self, best: ParsedLine, result: RetrievalResult) -> list[tuple[str, ParsedLine]]:
        """A task's named parts (`□ 청년 중소기업 체험사업`, `□ G밸리 의료기기·IT 청년인재 채용지원사업`), each with
        its first line, for 'what is there' questions about the task rather than about one named part."""
        task = tuple(best.path[:2])
        if len(task) < 2 or not task[0].startswith("Ⅳ"):
            return []
        if any(len(m.path) >= 3 and tuple(best.path[:3]) == m.path[:3] for m in result.focus):
            return []  # the question names this part: its own items answer it
        programs: list[tuple[str, ParsedLine]] = []
        for (document, path), lines in self._sections.items():
            if document != best.document or path[:2] != task or len(path) < 3 or path[2] in STRUCTURAL_BLOCKS:
                continue
            if any(title == path[2] for title, _ in programs):
                continue
            items = [ln for ln in lines if _is_item(ln)]
            # What the part does says most in a list; its address or budget says least.
            first = next((ln for ln in items if ln.field in _SUMMARY_FIELDS), items[0] if items else None)
            if first is not None:
                programs.append((path[2], first))
        return programs if len(programs) >= 2 else []


def _within(line: ParsedLine, rows: list[list[ParsedLine]]) -> bool:
    return any(line is member for row in rows for member in row)


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _bounded(rows: list[list[ParsedLine]], limit: int = BLOCK_CHARS) -> list[list[ParsedLine]]:
    """The first rows of a block, up to about `limit` characters (always at least one row)."""
    out: list[list[ParsedLine]] = []
    total = 0
    for row in rows:
        if out and total + len(row_text(row)) > limit:
            break
        out.append(row)
        total += len(row_text(row))
    return out


def compose_program_list(programs: list[Program], kb: KnowledgeBase, limit: int = 8) -> Composition:
    """A list answer from the catalog: each program with a one-line eligibility and support summary."""
    shown = programs[:limit]
    lines_out: list[str] = []
    cited: list[ParsedLine] = []
    for program in shown:
        where = f"과제 {program.task_id}" if program.task_id else (program.table or "")
        summary = _short(program.summary())
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
