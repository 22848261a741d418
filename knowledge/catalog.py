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

from ingestion.models import AgeRange, Amount, FieldValue, Program, Ratio, SourceRef  # noqa: F401 - re-exported
from knowledge.lexicon import load as load_lexicon

# The groups a program may serve, in the lexicon's order (knowledge/lexicon/groups.tsv).
TARGET_GROUPS: tuple[str, ...] = tuple(load_lexicon().group_words)


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
