"""Step 6 of the answer path: cite the plan — one citation per section, its lines quoted verbatim."""

from __future__ import annotations

from collections import defaultdict

from guro_jobs.models import Citation, QuotedLine
from ingestion.models import ParsedLine, join_label
from ingestion.parser import heading_words
from knowledge.store import KnowledgeBase


def cite(lines: list[ParsedLine], used: set[tuple[str, int]], kb: KnowledgeBase | None = None) -> list[Citation]:
    """Citations in the order their sections first appear in `lines`; quotes are the plan's text."""
    by_section: dict[tuple[str, tuple[str, ...]], list[ParsedLine]] = defaultdict(list)
    for line in lines:
        by_section[(line.document, tuple(line.path))].append(line)
    titles = {(s.document, tuple(s.path)): s.title for s in kb.sections} if kb is not None else {}
    citations: list[Citation] = []
    for (document, path), section_lines in by_section.items():
        unique = {(ln.start, ln.end): ln for ln in section_lines}
        ordered = sorted(unique.values(), key=lambda ln: ln.start)
        quoted = [
            QuotedLine(text=ln.text, start=ln.start, end=ln.end, page=ln.page, used=(ln.document, ln.start) in used)
            for ln in ordered
        ]
        pages = [ln.page for ln in ordered if ln.page is not None]
        profile = kb.profile_of(document) if kb is not None else None
        citations.append(
            Citation(
                document=document,
                document_title=profile.display_title if profile else document,
                section=join_label(list(path)),
                section_path=list(path),
                title=heading_words(titles.get((document, path), path[-1] if path else "")),
                quote="\n".join(q.text for q in quoted),
                lines=quoted,
                page=pages[0] if pages else None,
                start=ordered[0].start,
                end=ordered[-1].end,
            )
        )
    return citations
