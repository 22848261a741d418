"""The program catalog: one record per program of the plan, with eligibility and support parsed.

Records are extracted at ingestion (`ingestion.programs`) and stored as JSON in the index. This
module holds the record types and the queries residents and counselors run over them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from typing import Literal

from pydantic import BaseModel, Field

TARGET_GROUPS = (
    "청년",
    "중장년",
    "신중년",
    "노인·어르신",
    "여성·경력단절여성",
    "장애인",
    "저소득·수급자·차상위",
    "특성화고·학생",
    "중소기업·재직자",
    "사회적기업",
    "외국인",
)


class SourceRef(BaseModel):
    """A quoted line of the plan with where it stands."""

    text: str
    start: int
    end: int
    page: int | None = None


class FieldValue(BaseModel):
    """A field as the plan writes it (`대 상 : …`), with its source line."""

    label: str
    text: str
    source: SourceRef


class AgeRange(BaseModel):
    """Ages a program admits; a missing bound is open. `만 50세 이상 70세 미만` -> 50 <= age < 70."""

    min: int | None = None
    min_inclusive: bool = True
    max: int | None = None
    max_inclusive: bool = True
    text: str

    def admits(self, age: int) -> bool:
        if self.min is not None and (age < self.min or (age == self.min and not self.min_inclusive)):
            return False
        return not (self.max is not None and (age > self.max or (age == self.max and not self.max_inclusive)))

    def bounds(self) -> tuple[int, int]:
        """The inclusive whole-year range admitted (0 and 200 stand for open ends)."""
        lo = self.min if self.min is not None else 0
        if self.min is not None and not self.min_inclusive:
            lo += 1
        hi = self.max if self.max is not None else 200
        if self.max is not None and not self.max_inclusive:
            hi -= 1
        return lo, hi

    def overlaps(self, low: int, high: int) -> bool:
        """True when some age in [low, high] is admitted."""
        lo, hi = self.bounds()
        return lo <= high and low <= hi


class Amount(BaseModel):
    """A money amount as written, with its value parsed: `월 20만원` -> 200,000 won per month."""

    text: str
    value: float
    unit: str
    won: float | None = None
    per: str | None = Field(default=None, description="1인당, 월, 1일, 연간, 기업당 …")


class Ratio(BaseModel):
    text: str
    percent: float


class Program(BaseModel):
    id: str
    name: str
    document: str
    origin: Literal["task", "table"]
    task_id: str | None = None
    task_title: str | None = None
    table: str | None = None
    table_row: int | None = None
    section: str
    section_path: list[str]
    span: SourceRef
    target: FieldValue | None = None
    age: AgeRange | None = None
    groups: list[str] = Field(default_factory=list)
    support: list[FieldValue] = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    ratios: list[Ratio] = Field(default_factory=list)
    income_criteria: list[FieldValue] = Field(default_factory=list)
    period: FieldValue | None = None
    location: FieldValue | None = None
    hours: FieldValue | None = None
    capacity: FieldValue | None = None
    kpi: list[FieldValue] = Field(default_factory=list)
    budget: FieldValue | None = Field(default=None, description="budget line (단위: 백만원)")
    budget_amount: Amount | None = Field(default=None, description="the budget parsed (2023, as its table states it)")
    description: FieldValue | None = None
    linked: list[str] = Field(default_factory=list, description="ids of records of the same program elsewhere")

    def summary(self) -> str:
        """One line for lists: who, and what support."""
        parts: list[str] = []
        if self.target:
            parts.append(f"대상: {self.target.text}")
        elif self.age:
            parts.append(f"대상: {self.age.text}")
        if self.support:
            parts.append(f"지원: {self.support[0].text}")
        elif self.description and not (self.target and self.description.text == self.target.text):
            parts.append(self.description.text)
        return " / ".join(parts)

    def fields(self) -> list[FieldValue]:
        """Every field with a source, in a stable order (for citations)."""
        singles = [self.target, self.period, self.location, self.hours, self.capacity, self.budget, self.description]
        out = [f for f in singles if f is not None]
        out.extend(self.support)
        out.extend(self.income_criteria)
        out.extend(self.kpi)
        return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


class Catalog:
    """Queries over the program records."""

    def __init__(self, programs: list[Program]) -> None:
        self.programs = programs
        self.by_id = {p.id: p for p in programs}

    def __len__(self) -> int:
        return len(self.programs)

    def filter(
        self,
        age: int | None = None,
        age_range: tuple[int, int] | None = None,
        groups: list[str] | None = None,
        keyword: str | None = None,
        origin: str | None = None,
    ) -> list[Program]:
        """Programs that admit the age (or overlap the range), serve one of the groups and mention the keyword.

        A program whose plan text states no age is kept by an age filter only when it serves one of
        the groups asked for; with no group asked it is left out (nothing is guessed).
        """
        result: list[Program] = []
        wanted = set(groups or [])
        needle = _squash(keyword) if keyword else ""
        for program in self.programs:
            if origin and program.origin != origin:
                continue
            if wanted and not wanted.intersection(program.groups):
                continue
            if age is not None or age_range is not None:
                if program.age is None:
                    if not wanted:
                        continue
                elif (age is not None and not program.age.admits(age)) or (age_range is not None and not program.age.overlaps(*age_range)):
                    continue
            if needle and needle not in _squash(" ".join([program.name, program.section, program.summary()])):
                continue
            result.append(program)
        return result

    def find_by_name(self, text: str) -> list[Program]:
        """Programs whose name occurs in the text, spacing ignored, longest names first."""
        squashed = _squash(text)
        hits = [p for p in self.programs if len(_squash(p.name)) >= 3 and _squash(p.name) in squashed]
        return sorted(hits, key=lambda p: len(p.name), reverse=True)


# ------------------------------------------------------------------------------------------------
# rendering for the counselor CLI
# ------------------------------------------------------------------------------------------------
RenderFormat = Literal["table", "csv", "json"]
COLUMNS = ("사업명", "대상", "지원", "기간", "위치", "출처")
# Widest a table cell may be, in terminal columns (a Hangul syllable takes two); 출처 is the citation
# and is never cut.
COLUMN_WIDTHS = (30, 32, 40, 22, 26, 60)
EMPTY_CELL = "-"


def source_label(program: Program) -> str:
    """Where a record stands in the plan: `과제 1-5 (2075-2081행)` or `고용서비스 7번 (1296행)`."""
    where = f"과제 {program.task_id}" if program.origin == "task" else f"{program.table} {program.table_row}번"
    span = program.span
    lines = f"{span.start}행" if span.start == span.end else f"{span.start}-{span.end}행"
    page = f", p.{span.page}" if span.page is not None else ""
    return f"{where} ({lines}{page})"


def program_cells(program: Program) -> list[str]:
    """The columns of one record, untruncated; 지원 falls back to 사업내용 when no support line is stated."""
    target = program.target.text if program.target else (program.age.text if program.age else "")
    if program.support:
        support = " / ".join(fv.text for fv in program.support)
    else:
        support = program.description.text if program.description else ""
    return [
        program.name,
        target,
        support,
        program.period.text if program.period else "",
        program.location.text if program.location else "",
        source_label(program),
    ]


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def fit(text: str, width: int) -> str:
    """Cut to a display width with `…`, then pad, so Hangul and ASCII columns line up."""
    text = " ".join(text.split()) or EMPTY_CELL
    if display_width(text) > width:
        out = ""
        for ch in text:
            if display_width(out + ch) > width - 1:
                break
            out += ch
        text = out + "…"
    return text + " " * (width - display_width(text))


def _render_table(programs: list[Program]) -> str:
    rows = [program_cells(p) for p in programs]
    widths = [
        min(cap, max([display_width(header), *(display_width(" ".join(r[i].split()) or EMPTY_CELL) for r in rows)]))
        for i, (header, cap) in enumerate(zip(COLUMNS, COLUMN_WIDTHS, strict=True))
    ]
    lines = ["  ".join(fit(h, w) for h, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(fit(c, w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines) + "\n"


def _render_csv(programs: list[Program]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", *COLUMNS])
    for program in programs:
        writer.writerow([program.id, *program_cells(program)])
    return buffer.getvalue()


def render_programs(programs: list[Program], fmt: RenderFormat) -> str:
    """Records for a counselor: `table` (aligned columns 사업명/대상/지원/기간/위치/출처), `csv` with a
    header row, or `json` (the full records)."""
    if fmt == "table":
        return _render_table(programs)
    if fmt == "csv":
        return _render_csv(programs)
    if fmt == "json":
        return json.dumps([p.model_dump(mode="json") for p in programs], ensure_ascii=False, indent=2) + "\n"
    raise ValueError(f"unknown format {fmt!r}: use table, csv or json")
