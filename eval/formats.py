"""The QA input and result formats (one JSON object a line); other people's files must run unchanged."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError


class QAFormatError(ValueError):
    """A malformed QA or results file; the message names the file and the line."""


class QAItem(BaseModel):
    id: str
    question: str
    history: list[str] = Field(default_factory=list)
    answerable: bool = True
    sections: list[str] = Field(default_factory=list)
    facts: list[list[str]] = Field(default_factory=list)
    kind: str | None = None


class ResultCitation(BaseModel):
    document: str
    section: str
    quote: str
    page: int | None = None


class ResultRetrieved(BaseModel):
    document: str
    section: str
    score: float


class ResultItem(BaseModel):
    id: str
    question: str
    answer: str
    abstained: bool
    citations: list[ResultCitation]
    retrieved: list[ResultRetrieved]
    latency_ms: float


def read_jsonl(path: Path, model: type[BaseModel]) -> list:
    if not path.is_file():
        raise QAFormatError(f"{path}: no such file")
    items = []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                items.append(model.model_validate(json.loads(raw)))
            except json.JSONDecodeError as exc:
                raise QAFormatError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            except ValidationError as exc:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise QAFormatError(f"{path}:{number}: {problems}") from exc
    ids = [getattr(item, "id", None) for item in items]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise QAFormatError(f"{path}: duplicate ids {sorted(duplicates)[:5]}")
    return items


def write_jsonl(path: Path, items: list[BaseModel]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item.model_dump(mode="json"), ensure_ascii=False) + "\n")
