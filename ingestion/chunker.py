"""Group parsed lines into chunks that never cross a section boundary."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

from ingestion.models import Chunk, ChunkKind, ParsedLine, join_label

# Characters of line text per chunk before a section is split; tables split finer because a row
# names one program and a short chunk keeps its keywords dense.
MAX_CHARS: dict[str, int] = {"table": 360, "field": 520, "prose": 520}


def _starts_piece(line: ParsedLine) -> bool:
    """Places where a long section may be cut: a `○` item, a table row, a bracketed caption."""
    head = line.text[:1]
    return head in ("○", "[", "<", "※") or line.kind == "table"


def _split(lines: list[ParsedLine]) -> list[list[ParsedLine]]:
    pieces: list[list[ParsedLine]] = []
    current: list[ParsedLine] = []
    size = 0
    for line in lines:
        limit = MAX_CHARS[line.kind] if line.kind in MAX_CHARS else MAX_CHARS["prose"]
        if current and size + len(line.text) > limit and (_starts_piece(line) or size > 2 * limit):
            pieces.append(current)
            current, size = [], 0
        current.append(line)
        size += len(line.text)
    if current:
        pieces.append(current)
    return pieces


def _kind(lines: list[ParsedLine]) -> ChunkKind:
    counts = Counter(line.kind for line in lines if line.kind != "heading")
    kind = counts.most_common(1)[0][0] if counts else "prose"
    return kind if kind in ("prose", "field", "table") else "prose"  # type: ignore[return-value]


def chunk_text(label: str, lines: list[ParsedLine]) -> str:
    """What gets indexed: the heading path, each table context once, then the lines as displayed."""
    out = [label]
    seen_context: set[str] = set()
    for line in lines:
        if line.context and line.context not in seen_context:
            seen_context.add(line.context)
            out.append(f"[{line.context}]")
        out.append(line.display())
    return "\n".join(out)


def build_chunks(lines: list[ParsedLine]) -> list[Chunk]:
    """Chunks in document order: consecutive content lines sharing one heading path, split when long."""
    chunks: list[Chunk] = []
    content = [line for line in lines if line.kind != "heading"]
    for _, group in groupby(content, key=lambda line: (line.document, tuple(line.path))):
        section_lines = list(group)
        for piece in _split(section_lines):
            first, last = piece[0], piece[-1]
            label = join_label(first.path)
            pages = [line.page for line in piece if line.page is not None]
            chunks.append(
                Chunk(
                    id=f"{first.document}#{first.start}-{last.end}",
                    document=first.document,
                    section=list(first.path),
                    label=label,
                    text=chunk_text(label, piece),
                    page=pages[0] if pages else None,
                    start=first.start,
                    end=last.end,
                    kind=_kind(piece),
                    lines=piece,
                )
            )
    return chunks
