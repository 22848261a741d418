"""The record types every layer shares: source lines, parsed lines, answer units, sections, program
records and the document profile. This module is the bottom floor: it imports nothing of the project."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

LineKind = Literal["heading", "prose", "field", "table"]
UnitKind = Literal["field", "row", "item", "prose", "cell", "window"]
PartRole = Literal["tasks", "tables", "statistics", "overview", "other"]

LABEL_SEPARATOR = " > "


def join_label(path: list[str]) -> str:
    """The section label used everywhere a section is named: the heading path joined with ` > `."""
    return LABEL_SEPARATOR.join(path)


# -- reading ---------------------------------------------------------------------------------------
class SourceLine(BaseModel):
    """One physical line of a loaded document (1-based number, page where known)."""

    number: int
    text: str
    page: int | None = None


class LoadedDocument(BaseModel):
    """A document as read from disk, before any structure is parsed."""

    name: str
    path: str
    sha256: str
    lines: list[SourceLine]


class ParsedLine(BaseModel):
    """A logical line of the plan: wrapped source lines joined, with its place in the structure."""

    document: str
    start: int = Field(description="first source line number (1-based)")
    end: int = Field(description="last source line number (inclusive)")
    page: int | None = None
    text: str = Field(description="the plan's own words, wrapped lines joined by a space")
    kind: LineKind
    path: list[str]
    field: str | None = Field(default=None, description="normalised field label, e.g. 대상, 지원내용")
    value: str | None = None
    context: str | None = Field(default=None, description="table caption and column header of a table row")
    stub: str | None = Field(default=None, description="row name of an aligned table row")
    cells: list[tuple[str, str]] | None = Field(
        default=None, description="header/value pairs where a table row aligns with its header"
    )

    @property
    def label(self) -> str:
        return join_label(self.path)

    def display(self) -> str:
        """The line as rebuilt for reading: a table row with its column names, anything else as written."""
        if self.cells:
            pairs = " · ".join(f"{name} {value}" for name, value in self.cells)
            return f"{self.stub}: {pairs}" if self.stub else pairs
        return self.text


# -- answer units ----------------------------------------------------------------------------------
class Unit(BaseModel):
    """The unit of evidence: a field line, a table row, a list item, a sentence, a table cell, or a short
    window of consecutive units. It never crosses a section; it quotes the plan's lines verbatim."""

    id: str
    document: str
    path: list[str]
    kind: UnitKind
    label: str | None = Field(default=None, description="field label or row name, spaces removed")
    header: str | None = Field(default=None, description="the `○` heading item the unit sits under")
    context: str | None = Field(default=None, description="table caption, unit and column header")
    text: str = Field(description="the unit's lines as the plan writes them, joined by newlines")
    display: str = Field(description="how an answer shows it (table rows with their column names)")
    start: int
    end: int
    page: int | None = None
    members: list[int] = Field(default_factory=list, description="indexes of the base units of a window")
    lines: list[ParsedLine] = Field(default_factory=list)

    @property
    def section(self) -> str:
        return join_label(self.path)


class Section(BaseModel):
    """A heading path with the units under it (a section is retrievable as a whole)."""

    document: str
    path: list[str]
    title: str = Field(description="the deepest heading that names something (not a structural block)")
    start: int
    end: int
    units: list[int] = Field(default_factory=list, description="indexes of its base units")

    @property
    def label(self) -> str:
        return join_label(self.path)


# -- document profile ------------------------------------------------------------------------------
class PartProfile(BaseModel):
    heading: str
    role: PartRole
    tasks: int = 0
    table_rows: int = 0


class DocumentProfile(BaseModel):
    """What a plan is, read from the document itself: title, issuing government, year and the role of
    each part. Every message names the plan by this profile."""

    document: str
    title: str
    issuer: str | None = Field(default=None, description="issuing local government, e.g. 구로구")
    province: str | None = None
    year: int | None = None
    parts: list[PartProfile] = Field(default_factory=list)
    tasks: int = 0
    programs: int = 0
    warnings: list[str] = Field(default_factory=list, description="structure the parser looked for and missed")

    def part_role(self, heading: str) -> PartRole:
        for part in self.parts:
            if part.heading == heading:
                return part.role
        return "other"

    @property
    def display_title(self) -> str:
        """`구로구 「2023년 일자리 대책 세부계획」`."""
        return f"{self.issuer} 「{self.title}」" if self.issuer and self.issuer not in self.title else f"「{self.title}」"


# -- program records -------------------------------------------------------------------------------
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
    conditions: list[FieldValue] = Field(
        default_factory=list, description="other stated criteria: 수급, 거주, 소득, 재산, 미취업 …"
    )
    support: list[FieldValue] = Field(default_factory=list)
    amounts: list[Amount] = Field(default_factory=list)
    ratios: list[Ratio] = Field(default_factory=list)
    income_criteria: list[FieldValue] = Field(default_factory=list)
    period: FieldValue | None = None
    location: FieldValue | None = None
    hours: FieldValue | None = None
    capacity: FieldValue | None = None
    contact: FieldValue | None = Field(default=None, description="the office or agency the plan names for it")
    kpi: list[FieldValue] = Field(default_factory=list)
    budget: FieldValue | None = Field(default=None, description="budget line (단위: 백만원)")
    budget_amount: Amount | None = Field(default=None, description="the budget of the plan year, as its table states it")
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
