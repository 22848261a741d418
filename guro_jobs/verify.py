"""Step 7 of the answer path: verify that every quoted line is the plan's own text at the span it names.

A quote that does not match the indexed line at its span (a rebuilt row, an edited index) is removed from
the citation and logged; an answer never shows words as the plan's that the plan does not hold there.
"""

from __future__ import annotations

import logging

from guro_jobs.models import Answer
from knowledge.store import KnowledgeBase

logger = logging.getLogger(__name__)


def verbatim_index(kb: KnowledgeBase) -> dict[tuple[str, int, int], str]:
    return {(line.document, line.start, line.end): line.text for line in kb.lines}


def verify_quotes(answer: Answer, plan_lines: dict[tuple[str, int, int], str]) -> Answer:
    """The answer with only verbatim quotes left in its citations (citations left empty are dropped)."""
    kept = []
    for citation in answer.citations:
        lines = [q for q in citation.lines if plan_lines.get((citation.document, q.start, q.end)) == q.text]
        if len(lines) != len(citation.lines):
            logger.warning("dropped %d non-verbatim quoted lines from %s", len(citation.lines) - len(lines), citation.section)
        if lines:
            kept.append(citation.model_copy(update={"lines": lines, "quote": "\n".join(q.text for q in lines)}))
    answer.citations = kept
    return answer
