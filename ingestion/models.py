"""Typed records that flow out of ingestion: source lines, parsed lines and chunks."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

LineKind = Literal["heading", "prose", "field", "table"]
ChunkKind = Literal["prose", "field", "table"]

LABEL_SEPARATOR = " > "
# Block headings that structure a task (`□ 사업개요`, `□ 연차별 추진계획`) rather than name a program of it.
STRUCTURAL_BLOCKS = frozenset(
    {"추진방향", "추진배경", "추진배경 및 현황", "사업개요", "사업내용", "기대효과", "연차별 추진계획", "소요예산", "사업예산"}
)
# Why a task exists, not what it gives: never where its support, eligibility or address is stated.
CONTEXT_BLOCKS = frozenset({"추진방향", "추진배경", "추진배경 및 현황", "기대효과"})


def join_label(path: list[str]) -> str:
    """The section label used everywhere a section is named: the heading path joined with ` > `."""
    return LABEL_SEPARATOR.join(path)


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
        """The line as an answer shows it: a table row with its column names, anything else as written."""
        if self.cells:
            pairs = " · ".join(f"{name} {value}" for name, value in self.cells)
            return f"{self.stub}: {pairs}" if self.stub else pairs
        return self.text


class Chunk(BaseModel):
    """The unit of retrieval: consecutive lines of one section, never crossing a section boundary."""

    id: str
    document: str
    section: list[str]
    label: str
    text: str = Field(description="text that is indexed: the label, table context and the lines")
    page: int | None = None
    start: int
    end: int
    kind: ChunkKind
    lines: list[ParsedLine]
