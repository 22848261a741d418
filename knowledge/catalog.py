"""The program catalog: one record per program of the plan, with eligibility and support parsed.

Records are extracted at ingestion (`ingestion.programs`) and stored as JSON in the index. This
module holds the record types and the queries residents and counselors run over them.
"""

from __future__ import annotations

import re
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

    def overlaps(self, low: int, high: int) -> bool:
        """True when some age in [low, high] is admitted."""
        lo = self.min if self.min is not None else 0
        if self.min is not None and not self.min_inclusive:
            lo += 1
        hi = self.max if self.max is not None else 200
        if self.max is not None and not self.max_inclusive:
            hi -= 1
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
        elif self.description:
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
