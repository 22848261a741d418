"""Parse the plan's own structure: every logical line gets its heading path, kind and table context.

The plan (a government 세부계획) has a regular shape that generic chunkers ignore:
parts `Ⅰ.`–`Ⅳ.`, numbered headings `1. 인구 규모 및 구조`, tasks `(과제 1-3) …`, `□` blocks, `【…】`
sub-programs, `○ 필드 : 값` fields, and tables flattened into lines. Wrapped lines are joined back into
the logical line they belong to, and every table row keeps its caption and column header.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingestion.models import LineKind, LoadedDocument, ParsedLine, SourceLine
from knowledge.lexicon import load as load_lexicon

PARSER_VERSION = "12"

ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
PART = re.compile(rf"^\s*([{ROMAN}])\.\s*(\S.*?)\s*$")
NUMBERED = re.compile(r"^\s*(\d{1,2})\.\s+(\S.*?)\s*$")
# A numbered task: `(과제 1-3) …`, `(사업 1-3) …`, `과제 1-3. …` (a short word, then n-m).
TASK = re.compile(r"^\s*(\(?)\s*([가-힣]{1,4})\s*(\d{1,2}\s*-\s*\d{1,2})\s*([).])\s*(\S.*?)\s*$")
BLOCK = re.compile(r"^\s*□\s*(\S.*?)\s*$")
SUBPROGRAM = re.compile(r"^\s*【\s*(.+?)\s*】\s*$")
FIELD = re.compile(r"^\s*(?:[○◦ㅇ·･•※]|-)\s*([^:：\s][^:：]{0,13}?)\s*[:：]\s*(\S.*?)\s*$")
BULLET = re.compile(r"^\s*(?:[○◦□■▪▸‣･•·※\-–ⅰ①②③④⑤⑥⑦⑧⑨⑩【]|\d+\)|w\s)")
UNIT = re.compile(r"^\s*\(\s*단위\s*[:：]?\s*(.*?)\s*\)\s*$")
UNIT_INLINE = re.compile(r"\(\s*단위\s*[:：]?\s*([^)]*)\)")
CAPTION = re.compile(r"^\s*[\[<〈](.+?)[\]>〉]\s*$")
PAGE_MARKER = re.compile(r"^\s*-\s*\d{1,4}\s*-\s*$")
VALUE = re.compile(r"^(?:-|[-+]?\d[\d,]*(?:\.\d+)?%?(?:p)?|\d[\d,]*\(\d[\d.]*\))$")
KPI_HEADER = re.compile(r"^\s*사\s*업\s*명\s+성과지표\s+(.+?)\s*$")
BUDGET_HEADER = re.compile(r"^\s*(합\s*계|계)\s+((?:\d{4}년\s*)+)$")
TABLE_HEADER = re.compile(r"^\s*(연번\s|세부사업명\s)")
TABLE_SUMMARY = re.compile(r"등\s*\d+\s*개\s*사업\s+([\d,]+)")
TARGET_FIELD = re.compile(r"^\d{4}년\s*목표$")
ROW_START = re.compile(r"^\s*(\d{1,2})(?:\s+(\S.*?))?\s*$")
GENERIC_HEADER = re.compile(r"^\s*구\s*분\s+(.+?)\s*$")
MEASURE = re.compile(r"단위\s*[:：]\s*([^|)]*)")  # the table's unit as a unit's context writes it


def measure_of(context: str | None) -> str:
    """The unit a table states for its numbers (`백만원/명`), from a unit's context; empty when none."""
    found = MEASURE.search(context or "")
    return found.group(1).strip() if found else ""


def task_heading(text: str) -> tuple[str, str, str] | None:
    """(word, number, title) of a task heading such as `(과제 1-3) 청년도전지원사업` or `과제 1-3. …`;
    None for anything else (a parenthesised number needs its closing parenthesis, a bare one its dot)."""
    m = TASK.match(text)
    if m is None:
        return None
    opened, word, number, closer, title = m.groups()
    if (opened and closer != ")") or (not opened and closer != "."):
        return None
    return word, re.sub(r"\s+", "", number), title


_NUMBERED = re.compile(rf"^\s*(?:[{ROMAN}]+|\d+)\s*\.\s*")


def heading_words(heading: str) -> str:
    """A heading without its numbering, which is layout, not content: `(과제 1-3) 도전하니깐 …` ->
    `도전하니깐 …`, `Ⅳ. 전략 및 과제` -> `전략 및 과제`, `2. 산업구조 및 동향` -> `산업구조 및 동향`."""
    if parsed := task_heading(heading):
        return parsed[2]
    return _NUMBERED.sub("", heading) or heading


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def field_reading(text: str) -> str:
    """A unit's text as the indexes read it: each field line with its label unspaced (`대    상 :` and
    `대 상 :` are one label, `대상`), and runs of spaces as one. Quotes keep the plan's own spacing."""
    out = []
    for line in text.split("\n"):
        if m := FIELD.match(line):
            label = "".join(m.group(1).split())
            line = f"{label} : {m.group(2)}"
        out.append(normalise_space(line))
    return "\n".join(out)


def normalise_label(label: str) -> str:
    """Field labels are spaced for layout in the plan (`대    상`): compare them without spaces."""
    return re.sub(r"\s+", "", label)


def numeric_tail(tokens: list[str]) -> int:
    """How many tokens at the end of a row are values (numbers, '-', percentages)."""
    count = 0
    for token in reversed(tokens):
        if VALUE.match(token):
            count += 1
        else:
            break
    return count


@dataclass
class _Table:
    """What is known about the table being read: its caption, header and mode."""

    mode: str  # "plan" (연차별 추진계획), "program" (Ⅲ 세부사업), "generic"
    caption: str = ""
    unit: str = ""
    header: list[str] = field(default_factory=list)
    header_text: str = ""
    budget: bool = False
    budget_prefix: str = ""
    path: list[str] | None = None
    expected_row: int = 1
    count_column: str = "인원"
    header_open: bool = False

    def context(self) -> str:
        parts = [p for p in (self.caption, f"단위: {self.unit}" if self.unit else "", self.header_text) if p]
        return " | ".join(parts)


@dataclass
class _Row:
    start: SourceLine
    lines: list[SourceLine]


class PlanParser:
    """Reads one loaded document line by line and keeps the heading path as it goes."""

    def __init__(self, document: LoadedDocument) -> None:
        self.document = document
        self.part: str | None = None
        self.level2: str | None = None
        self.block: str | None = None
        self.sub: str | None = None
        self.table: _Table | None = None
        self.row: _Row | None = None
        self.out: list[ParsedLine] = []
        self.block_targets: dict[str, list[str]] = {}
        self.pending_caption = ""
        self.pending_unit = ""
        self.generic_header: list[str] = []
        self.generic_header_text = ""
        self._prev_raw: SourceLine | None = None

    # -- the heading path -------------------------------------------------------------------------
    @property
    def path(self) -> list[str]:
        # Lines before any heading (a title page, or a document without headings) sit under the document.
        return [p for p in (self.part, self.level2, self.block, self.sub) if p] or [self.document.name]

    def _heading(self, line: SourceLine, title: str) -> None:
        self.out.append(
            ParsedLine(
                document=self.document.name,
                start=line.number,
                end=line.number,
                page=line.page,
                text=normalise_space(line.text),
                kind="heading",
                path=self.path,
                value=title,
            )
        )

    def _reset_tables(self) -> None:
        self._close_row()
        self.table = None
        self.pending_caption = ""
        self.pending_unit = ""
        self.generic_header = []
        self.generic_header_text = ""

    # -- emitting lines ---------------------------------------------------------------------------
    def _emit(self, line: SourceLine, kind: LineKind, **extra: object) -> ParsedLine:
        parsed = ParsedLine(
            document=self.document.name,
            start=line.number,
            end=line.number,
            page=line.page,
            text=normalise_space(line.text),
            kind=kind,
            path=list(extra.pop("path", None) or self.path),
            **extra,
        )
        self.out.append(parsed)
        return parsed

    def _continue(self, line: SourceLine) -> bool:
        """Join a wrapped source line to the logical line above it when the layout says it wraps."""
        if not self.out or self.table is not None:
            return False
        last = self.out[-1]
        if last.kind not in ("prose", "field") or self._prev_raw is None:
            return False
        text = line.text
        if any(p.match(text) for p in (BULLET, UNIT, CAPTION, TABLE_HEADER, GENERIC_HEADER)):
            return False
        if numeric_tail(text.split()) >= 2:
            return False
        previous = self._prev_raw.text
        # The plan wraps long lines with trailing blanks, an indent or a comma at the break.
        comma = previous.rstrip().endswith(",")
        wrapped = previous != previous.rstrip() or text.startswith("  ") or comma
        # A bulleted line wraps; so does a table cell that breaks after a comma (`현장실습표준계약서,`).
        if not wrapped or not (comma or BULLET.match(self._source_text(last.start))):
            return False
        last.text = normalise_space(f"{last.text} {line.text}")
        last.end = line.number
        if last.kind == "field" and last.value is not None:
            last.value = normalise_space(f"{last.value} {line.text}")
        return True

    def _source_text(self, number: int) -> str:
        return self.document.lines[number - 1].text

    # -- main loop -------------------------------------------------------------------------------
    def parse(self) -> list[ParsedLine]:
        for line in self.document.lines:
            text = line.text
            if not text.strip():
                continue
            if PAGE_MARKER.match(text):
                continue
            self._line(line)
            self._prev_raw = line
        self._close_row()
        return self.out

    def _line(self, line: SourceLine) -> None:
        text = line.text
        if m := PART.match(text):
            self._reset_tables()
            self.part = f"{m.group(1)}. {normalise_space(m.group(2))}"
            self.level2 = self.block = self.sub = None
            self._heading(line, self.part)
            return
        if (m := TASK.match(text)) and task_heading(text) and self.part:
            self._reset_tables()
            opened, word, number, closer, title = m.groups()
            # The heading as written, spaced the same way everywhere: `(과제 2-6)사회…` -> `(과제 2-6) 사회…`.
            self.level2 = f"{opened}{word} {normalise_label(number)}{closer} {normalise_space(title)}"
            self.block = self.sub = None
            self._heading(line, self.level2)
            return
        if (m := NUMBERED.match(text)) and self.part and not self._in_row_table():
            self._reset_tables()
            self.level2 = f"{m.group(1)}. {normalise_space(m.group(2))}"
            self.block = self.sub = None
            self._heading(line, self.level2)
            return
        if m := BLOCK.match(text):
            self._block(line, m.group(1))
            return
        if m := SUBPROGRAM.match(text):
            self._close_row()
            self.table = None
            self.sub = normalise_space(m.group(1))
            self._heading(line, self.sub)
            return
        if self.table is not None and self.table.mode in ("plan", "program") and self._table_line(line):
            return
        if self._continue(line):
            return
        self._plain(line)

    def _in_row_table(self) -> bool:
        return self.table is not None and self.table.mode == "program"

    def _block(self, line: SourceLine, raw_title: str) -> None:
        self._reset_tables()
        title = raw_title
        unit = ""
        if u := UNIT_INLINE.search(title):
            unit = u.group(1).strip()
            title = title[: u.start()] + title[u.end() :]
        label, value = title, None
        if ":" in title or "：" in title:
            label, value = re.split(r"\s*[:：]\s*", title, maxsplit=1)
        self.block = normalise_space(label)
        self.sub = None
        self._heading(line, self.block)
        if value:
            self._emit(line, "field", field=normalise_label(label), value=normalise_space(value))
        if load_lexicon().block_role(self.block) == "yearly":
            self.table = _Table(mode="plan", caption=self.block, unit=unit)

    # -- tables ----------------------------------------------------------------------------------
    def _table_line(self, line: SourceLine) -> bool:
        """Handle a line inside a plan or program table; False hands it back to the prose rules."""
        table = self.table
        assert table is not None
        text = line.text
        if table.mode == "program":
            return self._program_line(line)
        if u := UNIT.match(text):
            table.unit = u.group(1)
            return True
        if m := KPI_HEADER.match(text):
            table.header = m.group(1).split()
            table.header_text = f"사업명 성과지표 {' '.join(table.header)}"
            table.budget = False
            return True
        stripped = text.strip()
        if len(stripped) == 1 and "\uac00" <= stripped <= "\ud7a3":
            return True  # the vertical label 사/업/비/내/역 of the budget rows
        if normalise_label(stripped) == "연도별예산":
            table.budget = True
            return True
        if m := BUDGET_HEADER.match(text):
            table.budget = True
            table.header = ["계", *m.group(2).split()]
            table.header_text = f"사업비 연도별 예산 {' '.join(table.header)}"
            return True
        if normalise_label(stripped) == "지방비":
            table.budget_prefix = "지방비 "
            return True
        if TABLE_HEADER.match(text):
            self.table = _Table(mode="program", header_open=True, header_text=normalise_space(text))
            self.table.path = self.path
            return True
        tokens = text.split()
        tail = numeric_tail(tokens)
        stub = " ".join(tokens[: len(tokens) - tail])
        if table.header and tail == len(table.header):
            if table.budget:
                stub = normalise_label(stub) if stub else "사업비"
                if stub in ("시비", "구비"):
                    stub = table.budget_prefix + stub
            self._emit(
                line,
                "table",
                context=f"{table.caption} (단위: {table.unit})" + (f" | {table.header_text}" if table.header_text else ""),
                stub=stub,
                cells=list(zip(table.header, tokens[len(tokens) - tail :], strict=True)),
            )
            return True
        self._emit(line, "table", context=table.context() or table.caption)
        return True

    def _program_line(self, line: SourceLine) -> bool:
        table = self.table
        assert table is not None
        text = line.text
        if BULLET.match(text):
            self._close_row()
            self.table = None
            return False
        if table.header_open:
            summary = TABLE_SUMMARY.search(text)
            row = ROW_START.match(text)
            single = table.header_text.startswith("세부사업명") and numeric_tail(text.split()) >= 1
            if summary or single or (row and int(row.group(1)) == 1):
                table.header_open = False
                self._configure_program_table(summary.group(1) if summary else None)
                if summary:
                    # `… 등 81개 사업 5,701 39,185 …`: the table's total row.
                    self._emit(line, "table", context=table.context(), path=table.path, stub="계")
                    return True
            else:
                table.header_text = normalise_space(f"{table.header_text} {text}")
                return True
        if u := UNIT.match(text):
            table.unit = u.group(1)
            return True
        row = ROW_START.match(text)
        starts_row = bool(row) and int(row.group(1)) == table.expected_row
        if starts_row and row and row.group(2) is None:
            starts_row = True
        elif starts_row and row and row.group(2) and VALUE.match(row.group(2).split()[0]):
            starts_row = False  # a value line such as `20 327 - - 327` is not a new 연번
        if table.header_text.startswith("세부사업명") and self.row is None:
            starts_row = True  # a table without 연번 holds a single row
        if starts_row:
            self._close_row()
            table.expected_row += 1
            self.row = _Row(start=line, lines=[line])
            return True
        if self.row is not None:
            self.row.lines.append(line)
            return True
        self._emit(line, "table", context=table.context(), path=table.path)
        return True

    def _configure_program_table(self, target: str | None) -> None:
        """Place the rows under the □ block whose `2023년 목표` the table's summary line repeats.

        The flattened layout sometimes prints a block's table after the next block's heading
        (직업능력개발훈련 rows appear under □ 고용서비스); the target figure ties them back.
        """
        table = self.table
        assert table is not None
        if target:
            for block_path, values in self.block_targets.items():
                if target in values:
                    table.path = list(block_path.split("\x1f"))
        block = table.path[-1] if table.path else ""
        table.caption = f"{block} 세부사업" if block else "세부사업"
        header = table.header_text
        m = re.search(r"사업내용\s+(.*?)\s*(?:예\s*산|목\s*표\s*$|$)", header)
        column = normalise_label(m.group(1)) if m and m.group(1) else ""
        table.count_column = column or "인원"
        if u := UNIT_INLINE.search(header):
            table.unit = u.group(1)

    def _close_row(self) -> None:
        row, self.row = self.row, None
        table = self.table
        if row is None or table is None:
            return
        numbered = ROW_START.match(row.start.text)
        raw = [normalise_space(x.text) for x in row.lines]
        text = " ".join(raw)
        name_parts: list[str] = []
        content_parts: list[str] = []
        first_rest = numbered.group(2) if numbered and not table.header_text.startswith("세부사업명") else row.start.text
        pieces = re.split(r"\s{2,}", (first_rest or "").strip(), maxsplit=1)
        if pieces and pieces[0]:
            name_parts.append(pieces[0])
        if len(pieces) > 1:
            content_parts.append(pieces[1])
        for source in row.lines[1:]:
            body = source.text
            if not content_parts and not body.startswith(" ") and not VALUE.match(body.split()[0]):
                name_parts.append(body.strip())
            else:
                content_parts.append(body.strip())
        content = normalise_space(" ".join(content_parts))
        tokens = content.split()
        tail = numeric_tail(tokens)
        values = tokens[len(tokens) - tail :] if tail else []
        content = " ".join(tokens[: len(tokens) - tail]) if tail else content
        if not name_parts and content:
            name_parts, content = [content], ""
        name = normalise_space(" ".join(name_parts))
        tail_name = name.split()
        name_tail = numeric_tail(tail_name)
        if name_tail and not values:
            values = tail_name[len(tail_name) - name_tail :]
            name = " ".join(tail_name[: len(tail_name) - name_tail])
        cells: list[tuple[str, str]] = []
        if content:
            cells.append(("사업내용", content))
        if values:
            cells.append((table.count_column, values[0]))
        if len(values) > 1:
            cells.append(("예산 계(백만원)", values[1]))
        self.out.append(
            ParsedLine(
                document=self.document.name,
                start=row.start.number,
                end=row.lines[-1].number,
                page=row.start.page,
                text=text,
                kind="table",
                path=list(table.path or self.path),
                field="세부사업",
                value=name,
                context=table.context(),
                stub=name,
                cells=cells or None,
            )
        )

    # -- everything else -------------------------------------------------------------------------
    def _plain(self, line: SourceLine) -> None:
        text = line.text
        if TABLE_HEADER.match(text):
            self._close_row()
            self.table = _Table(mode="program", header_open=True, header_text=normalise_space(text), path=self.path)
            return
        if m := UNIT.match(text):
            self.pending_unit = m.group(1)
            return
        if m := CAPTION.match(text):
            self.pending_caption = normalise_space(m.group(1))
            self.generic_header = []
            self.generic_header_text = ""
            self._emit(line, "prose")
            return
        if m := FIELD.match(text):
            label = normalise_label(m.group(1))
            value = normalise_space(m.group(2))
            if TARGET_FIELD.match(label):
                self.block_targets.setdefault("\x1f".join(self.path), []).append(
                    re.sub(r"[^\d,]", "", value.split()[0]).strip(",")
                )
            self._emit(line, "field", field=label, value=value)
            return
        if m := GENERIC_HEADER.match(text):
            self.generic_header = m.group(1).split()
            self.generic_header_text = normalise_space(text)
            self._emit(line, "table", context=self._generic_context())
            return
        tokens = text.split()
        tail = numeric_tail(tokens)
        if tail >= 2 and not BULLET.match(text):
            stub = " ".join(tokens[: len(tokens) - tail])
            cells = None
            if self.generic_header and tail == len(self.generic_header):
                cells = list(zip(self.generic_header, tokens[len(tokens) - tail :], strict=True))
            self._emit(line, "table", context=self._generic_context(), stub=stub if cells else None, cells=cells)
            return
        self._emit(line, "prose")

    def _generic_context(self) -> str:
        parts = [
            self.pending_caption,
            f"단위: {self.pending_unit}" if self.pending_unit else "",
            self.generic_header_text,
        ]
        return " | ".join(p for p in parts if p)


def parse_document(document: LoadedDocument) -> list[ParsedLine]:
    """All logical lines of a document, headings included, in document order."""
    return PlanParser(document).parse()
