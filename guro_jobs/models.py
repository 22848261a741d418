"""Typed results of the assistant: every answer carries the evidence it was built from."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

AnswerMode = Literal["extractive", "llm", "catalog", "abstain", "hint"]


class QuotedLine(BaseModel):
    """One line of the plan as quoted in a citation."""

    text: str
    start: int
    end: int
    page: int | None = None
    used: bool = Field(default=True, description="the answer text uses this line (highlighted in the app)")


class Citation(BaseModel):
    """Where an answer comes from: document, heading path, quoted lines, page and line span."""

    document: str
    section: str = Field(description="heading path label, e.g. 'Ⅳ. 전략 및 과제 > (과제 1-3) …'")
    section_path: list[str]
    quote: str = Field(description="the quoted source lines joined by newlines")
    lines: list[QuotedLine]
    page: int | None = None
    start: int
    end: int


class RetrievedSection(BaseModel):
    """A ranked section of the hybrid retrieval with its fused score."""

    document: str
    section: str
    score: float
    chunk_id: str
    page: int | None = None


class Answer(BaseModel):
    """What the assistant returns for one question."""

    question: str
    text: str
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    retrieved: list[RetrievedSection] = Field(default_factory=list)
    latency_ms: float = 0.0
    mode: AnswerMode = "extractive"
    intent: str | None = None
    notices: list[str] = Field(default_factory=list, description="Korean notices for the user (truncation, fallback)")
    suggestions: list[str] = Field(default_factory=list, description="nearest programs offered when abstaining")
    focus: str | None = Field(default=None, description="the program/section the answer is about (for follow-ups)")
