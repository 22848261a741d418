"""Answer units: the pieces of evidence the ranker chooses between.

Every field line (`○ 대상 : …`), table row (with its column header and unit), list item, sentence and
flattened table cell of the plan becomes a base unit that carries its heading path and line span. A
flattened table spreads one row over several cells, so short windows of two or three consecutive units
of one section are units too (their lines are still quoted one by one, as written). No unit crosses a
section.
"""

from __future__ import annotations

import re
from itertools import groupby

from ingestion.models import ParsedLine, Section, Unit
from knowledge.lexicon import load as load_lexicon
from knowledge.lexicon import squash

# A line starting with one of these is an item of a list; the first two open a block of items.
_ITEM = re.compile(r"^\s*(?:[○◦ㅇ□■▪▸‣･•·※\-–]|\d+\)|[①-⑩])")
_TOP = re.compile(r"^\s*[○◦ㅇ□]\s*")
HEADER_CHARS = 24  # `○ 지원내용`, `○ 추진절차`: a short item without a value heads the items below it
CELL_CHARS = 40  # a line this short that is no item is a cell of a flattened table
WINDOW_SIZES = (2, 3)
CELL_WINDOW_SIZES = (4, 5)  # a flattened table's row spreads over up to five cells
WINDOW_CHARS = 260  # a window is a few cells or lines, never a whole section


def section_title(path: list[str]) -> str:
    """The deepest heading of a path that names something (not 추진배경, 사업개요 or another block role)."""
    lexicon = load_lexicon()
    for heading in reversed(path[1:]):
        if lexicon.block_role(heading) is None:
            return heading
    return path[-1] if path else ""


def _kind(line: ParsedLine) -> str:
    if line.kind == "field":
        return "field"
    if line.kind == "table":
        return "row"
    if _ITEM.match(line.text):
        return "item"
    return "cell" if len(line.text) < CELL_CHARS else "prose"


def _unit(index: int, lines: list[ParsedLine], kind: str, header: str | None) -> Unit:
    first, last = lines[0], lines[-1]
    label = None
    if kind == "field" and first.field:
        label = first.field
    elif kind == "row" and first.stub:
        label = squash(first.stub)
    pages = [ln.page for ln in lines if ln.page is not None]
    return Unit(
        id=f"{first.document}#{first.start}-{last.end}",
        document=first.document,
        path=list(first.path),
        kind=kind,  # type: ignore[arg-type]
        label=label,
        header=header,
        context=first.context,
        text="\n".join(ln.text for ln in lines),
        display=" ".join(ln.display() for ln in lines),
        start=first.start,
        end=last.end,
        page=pages[0] if pages else None,
        lines=lines,
    )


def _section_units(lines: list[ParsedLine], offset: int) -> list[Unit]:
    """Base units of one section's content lines, in document order."""
    units: list[Unit] = []
    header: str | None = None
    pending: list[ParsedLine] = []

    def flush() -> None:
        if pending:
            kind = "cell" if sum(len(ln.text) for ln in pending) < CELL_CHARS or len(pending) > 1 else _kind(pending[0])
            units.append(_unit(offset + len(units), list(pending), kind, header))
            pending.clear()

    for line in lines:
        kind = _kind(line)
        if kind in ("cell", "prose"):
            # Consecutive source lines of a flattened table cell belong together.
            if pending and line.start != pending[-1].end + 1:
                flush()
            pending.append(line)
            continue
        flush()
        if _TOP.match(line.text):
            bare = _TOP.sub("", line.text).strip()
            header = squash(bare) if kind != "field" and len(bare) <= HEADER_CHARS else None
            if header is not None:
                units.append(_unit(offset + len(units), [line], kind, None))
                continue
        units.append(_unit(offset + len(units), [line], kind, header))
    flush()
    return units


def _windows(base: list[Unit], offset: int) -> list[Unit]:
    windows: list[Unit] = []
    for size in WINDOW_SIZES + CELL_WINDOW_SIZES:
        for start in range(0, len(base) - size + 1):
            members = base[start : start + size]
            if sum(len(u.display) for u in members) > WINDOW_CHARS:
                continue
            if size in CELL_WINDOW_SIZES and any(u.kind != "cell" for u in members):
                continue
            lines = [ln for u in members for ln in u.lines]
            first = members[0]
            windows.append(
                Unit(
                    id=f"{first.document}#w{members[0].start}-{members[-1].end}",
                    document=first.document,
                    path=first.path,
                    kind="window",
                    label=first.label,
                    header=first.header,
                    context=next((u.context for u in members if u.context), None),
                    text="\n".join(u.text for u in members),
                    display=" ".join(u.display for u in members),
                    start=members[0].start,
                    end=members[-1].end,
                    page=first.page,
                    members=[offset + start + i for i in range(size)],
                    lines=lines,
                )
            )
    return windows


_WORDS = re.compile(r"[가-힣A-Za-z0-9]{2}")


def build_units(lines: list[ParsedLine]) -> tuple[list[Unit], list[Section]]:
    """Base units first (index = position), then windows; and every section with its base units. A line
    with no word in it (`è`, `▶`) is no evidence and makes no unit."""
    base: list[Unit] = []
    sections: list[Section] = []
    content = [line for line in lines if line.kind != "heading" and _WORDS.search(squash(line.text))]
    per_section: list[tuple[tuple[str, tuple[str, ...]], list[ParsedLine]]] = []
    for key, group in groupby(content, key=lambda line: (line.document, tuple(line.path))):
        per_section.append((key, list(group)))
    # A section may be interrupted (a table printed after the next heading): merge its pieces.
    merged: dict[tuple[str, tuple[str, ...]], list[ParsedLine]] = {}
    for key, group in per_section:
        merged.setdefault(key, []).extend(group)
    spans: list[tuple[int, int]] = []
    for (document, path), group in merged.items():
        group.sort(key=lambda ln: ln.start)
        units = _section_units(group, len(base))
        spans.append((len(base), len(base) + len(units)))
        base.extend(units)
        sections.append(
            Section(
                document=document,
                path=list(path),
                title=section_title(list(path)),
                start=group[0].start,
                end=group[-1].end,
                units=list(range(spans[-1][0], spans[-1][1])),
            )
        )
    windows: list[Unit] = []
    for first, stop in spans:
        windows.extend(_windows(base[first:stop], first))
    # Window indexes come after every base unit; members point at base units.
    return base + windows, sections
