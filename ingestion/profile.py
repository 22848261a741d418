"""The document profile: what a plan is and how it is laid out, read from its own headings and text.

Nothing here knows one plan. The issuing government is the local government the text names most, the
year the one its headings and opening name most, the title its first line that names a plan (or the first
part heading cut after the word for a plan), and each part's role follows from what it holds: the part
with the numbered tasks, the part with the per-program tables, the part that is mostly figures.
"""

from __future__ import annotations

import logging
import re
from collections import Counter

from ingestion.models import DocumentProfile, LoadedDocument, ParsedLine, PartProfile
from ingestion.parser import ROMAN, task_heading
from knowledge.lexicon import load as load_lexicon

logger = logging.getLogger(__name__)

YEAR = re.compile(r"(?<!\d)(20\d{2})\s*(?:년|\.)")
PART_NUMBER = re.compile(rf"^\s*[{ROMAN}]\.\s*")
STATISTICS_SHARE = 0.3  # a part whose lines are mostly numeric rows holds the statistics
OPENING_SHARE = 0.1  # the opening tenth of a plan states its period and scope


def _title(document: LoadedDocument, lines: list[ParsedLine], year: int | None) -> str:
    words = load_lexicon().block_words("title")
    first_part = next((ln for ln in lines if ln.kind == "heading" and len(ln.path) == 1), None)
    before = [s.text.strip() for s in document.lines if first_part is None or s.number < first_part.start]
    for text in before:
        if text and any(w in text for w in words):
            return re.sub(r"\s+", " ", text.strip("「」『』 "))
    source = PART_NUMBER.sub("", first_part.text) if first_part else document.name
    tokens = source.split()
    last = max((i for i, tok in enumerate(tokens) if any(w in tok for w in words)), default=None)
    name = " ".join(tokens[: last + 1]) if last is not None else source
    if year is not None and str(year) not in name:
        name = f"{year}년 {name}"
    return name


def _year(document: LoadedDocument, lines: list[ParsedLine]) -> int | None:
    """The plan year: where yearly target tables start (their first year column); else the year the
    headings name most; else the one the opening names most (statistics name earlier years)."""
    columns: Counter[int] = Counter()
    for line in lines:
        years = [int(m.group(1)) for name, _ in line.cells or [] if (m := YEAR.match(name))]
        if years:
            columns[min(years)] += 1
    if columns:
        return columns.most_common(1)[0][0]
    counts: Counter[int] = Counter()
    for line in lines:
        if line.kind == "heading":
            counts.update({int(y): 3 for y in YEAR.findall(line.text)})
    opening = document.lines[: max(1, int(len(document.lines) * OPENING_SHARE))]
    for source in opening:
        counts.update(int(y) for y in YEAR.findall(source.text))
    return counts.most_common(1)[0][0] if counts else None


def _issuer(lines: list[ParsedLine]) -> tuple[str | None, str | None]:
    lexicon = load_lexicon()
    local: Counter[str] = Counter()
    provinces: Counter[str] = Counter()
    for line in lines:
        for place in lexicon.places_in(line.text):
            if place.level == "local":
                local[place.name] += 1
                provinces[place.parent] += 1
            else:
                provinces[place.parent] += 1
    if local:
        name = local.most_common(1)[0][0]
        parents = [p.parent for p in lexicon.place_named(name) if p.level == "local"]
        province = max(parents, key=lambda p: provinces[p]) if parents else None
        return name, province
    if provinces:
        return provinces.most_common(1)[0][0], provinces.most_common(1)[0][0]
    return None, None


def build_profile(document: LoadedDocument, lines: list[ParsedLine]) -> DocumentProfile:
    """The profile of one parsed document; what could not be found is named in `warnings`."""
    parts: dict[str, PartProfile] = {}
    totals: Counter[str] = Counter()
    numeric: Counter[str] = Counter()
    for line in lines:
        if not line.path:
            continue
        head = line.path[0]
        part = parts.setdefault(head, PartProfile(heading=head, role="other"))
        if line.kind == "heading" and len(line.path) == 2 and task_heading(line.path[1]):
            part.tasks += 1
        if line.kind == "table" and line.field == "세부사업":
            part.table_rows += 1
        if line.kind != "heading":
            totals[head] += 1
            if line.kind == "table":
                numeric[head] += 1
    ordered = list(parts.values())
    if ordered:
        tasks = max(ordered, key=lambda p: p.tasks)
        if tasks.tasks:
            tasks.role = "tasks"
        tables = max((p for p in ordered if p.role == "other"), key=lambda p: p.table_rows, default=None)
        if tables is not None and tables.table_rows:
            tables.role = "tables"
        stats = max(
            (p for p in ordered if p.role == "other"),
            key=lambda p: numeric[p.heading] / (totals[p.heading] or 1),
            default=None,
        )
        if stats is not None and numeric[stats.heading] / (totals[stats.heading] or 1) >= STATISTICS_SHARE:
            stats.role = "statistics"
        if ordered[0].role == "other":
            ordered[0].role = "overview"
    year = _year(document, lines)
    issuer, province = _issuer(lines)
    warnings: list[str] = []
    if not any(line.kind == "heading" for line in lines):
        warnings.append("no headings found (looked for parts 'Ⅰ. …', numbered headings '1. …' and '□' blocks)")
    if not any(p.tasks for p in ordered):
        warnings.append("no numbered tasks found (looked for headings such as '(과제 1-1) …' or '과제 1-1. …')")
    if issuer is None:
        warnings.append("no issuing local government found in the text")
    profile = DocumentProfile(
        document=document.name,
        title=_title(document, lines, year),
        issuer=issuer,
        province=province,
        year=year,
        parts=ordered,
        tasks=sum(p.tasks for p in ordered),
        warnings=warnings,
    )
    for warning in warnings:
        logger.warning("%s: %s", document.name, warning)
    return profile
