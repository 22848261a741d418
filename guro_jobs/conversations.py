"""Conversations kept on the server by an id the browser holds in its address (`?c=…`), so a reload in
the same browser shows the conversation again. Questions are stored with personal data redacted, like
feedback; answers are stored as the assistant gave them. Old conversations are forgotten."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path

from guro_jobs.models import Answer
from guro_jobs.privacy import redact

logger = logging.getLogger(__name__)

KEEP_SECONDS = 7 * 24 * 3600
_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL,
    number INTEGER NOT NULL,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    PRIMARY KEY (conversation, number)
)
"""


def new_id() -> str:
    return uuid.uuid4().hex


class ConversationStore:
    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._run(lambda conn: conn.execute("DELETE FROM turns WHERE created < ?", (time.time() - KEEP_SECONDS,)))

    def _run(self, operation):
        with self._lock:
            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(self.db_path, timeout=2.0)) as conn, conn:
                    conn.execute(_SCHEMA)
                    return operation(conn)
            except (sqlite3.Error, OSError) as error:
                # The conversation on screen does not depend on this store: log and carry on.
                logger.warning("conversation store unavailable at %s: %s", self.db_path, error)
                return None

    def append(self, conversation: str, number: int, question: str, answer: Answer) -> None:
        stored = answer.model_copy(update={"question": redact(answer.question)})
        row = (conversation, number, time.time(), redact(question), stored.model_dump_json())
        self._run(lambda conn: conn.execute("INSERT OR REPLACE INTO turns VALUES (?, ?, ?, ?, ?)", row))

    def load(self, conversation: str) -> list[tuple[str, Answer]]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT question, answer_json FROM turns WHERE conversation = ? ORDER BY number", (conversation,)
            ).fetchall()
        )
        turns: list[tuple[str, Answer]] = []
        for question, answer_json in rows or []:
            try:
                turns.append((question, Answer.model_validate(json.loads(answer_json))))
            except (ValueError, TypeError):
                logger.warning("skipped an unreadable stored turn")
        return turns

    def clear(self, conversation: str) -> None:
        self._run(lambda conn: conn.execute("DELETE FROM turns WHERE conversation = ?", (conversation,)))
