"""Typed results of the assistant: every answer carries the evidence it was built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

AnswerMode = Literal["extractive", "llm", "catalog", "abstain", "hint"]


class QuotedLine(BaseModel):
    """One line of the plan as quoted in a citation: the plan's own words at the span it names."""

    text: str
    start: int
    end: int
    page: int | None = None
    used: bool = Field(default=True, description="the answer text uses this line (highlighted in the app)")


class Citation(BaseModel):
    """Where an answer comes from: document, heading path, quoted lines, page and line span."""

    document: str
    document_title: str = Field(default="", description="the plan's name from its profile, for people")
    section: str = Field(description="heading path label, e.g. 'Ⅳ. 전략 및 과제 > (과제 1-3) …'")
    section_path: list[str]
    title: str = Field(default="", description="the program or section named in words")
    quote: str = Field(description="the quoted source lines joined by newlines")
    lines: list[QuotedLine]
    page: int | None = None
    start: int
    end: int


class RetrievedSection(BaseModel):
    """A ranked section with the ranker's probability for its best unit."""

    document: str
    section: str
    score: float
    chunk_id: str = Field(description="id of the section's best unit")
    page: int | None = None


class Verdict(BaseModel):
    outcome: Literal["yes", "no", "check"]
    label: str
    reason: str
    unchecked: list[str] = Field(default_factory=list)


class Answer(BaseModel):
    """What the assistant returns for one question."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    retrieved: list[RetrievedSection] = Field(default_factory=list)
    latency_ms: float = 0.0
    mode: AnswerMode = "extractive"
    intent: str | None = Field(default=None, description="the first slot the question asks for")
    notices: list[str] = Field(default_factory=list, description="Korean notices for the user (truncation, fallback)")
    suggestions: list[str] = Field(default_factory=list, description="nearest programs offered when declining")
    followups: list[str] = Field(default_factory=list, description="follow-up questions the plan can answer")
    highlights: list[str] = Field(default_factory=list, description="key values of the answer, to show in bold")
    verdict: Verdict | None = None
    programs: list[str] = Field(default_factory=list, description="catalog ids of a list answer, in order")
    focus: str | None = Field(default=None, description="the program/section the answer is about (for follow-ups)")
    focus_path: list[str] = Field(default_factory=list)
    document: str | None = None
    plan: str = Field(default="", description="the plan the answer comes from, e.g. 구로구 「2023년 …」")
    contact: str | None = Field(default=None, description="the office or operator the plan names for the program")
    decline_probability: float | None = None
