"""Run a QA set through the production assistant (history turns asked first, as a conversation)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from eval.formats import QAItem, ResultCitation, ResultItem, ResultRetrieved
from guro_jobs.assistant import Assistant
from guro_jobs.models import Answer

logger = logging.getLogger(__name__)


def to_result(item: QAItem, answer: Answer) -> ResultItem:
    return ResultItem(
        id=item.id,
        question=item.question,
        answer=answer.text,
        abstained=answer.abstained,
        citations=[
            ResultCitation(document=c.document, section=c.section, quote=c.quote, page=c.page) for c in answer.citations
        ],
        retrieved=[ResultRetrieved(document=r.document, section=r.section, score=r.score) for r in answer.retrieved],
        latency_ms=answer.latency_ms,
    )


def run_items(
    assistant: Assistant, items: list[QAItem], on_item: Callable[[ResultItem], None] | None = None
) -> list[ResultItem]:
    results: list[ResultItem] = []
    for item in items:
        asked: list[str] = []
        for turn in item.history:
            assistant.ask(turn, history=list(asked))  # the conversation as a user would have it
            asked.append(turn)
        answer = assistant.ask(item.question, history=asked)
        result = to_result(item, answer)
        results.append(result)
        if on_item:
            on_item(result)
    return results
