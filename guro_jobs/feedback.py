"""Answer feedback (👍/👎 and an optional comment) kept in a local SQLite file.

Only what is needed to improve answers is stored: the question, the answer text, its citations,
the rating and the comment. No IP address, user id or session id is ever written.

A database file that SQLite cannot read (corrupt, or not a database at all) is moved aside to
`<name>.corrupt-<timestamp>` and a fresh one is created, so feedback never takes the app down.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

logger = logging.getLogger(__name__)

Rating = Literal[1, -1]
RATING_UP: Rating = 1
RATING_DOWN: Rating = -1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer_text TEXT NOT NULL,
    citations_json TEXT NOT NULL DEFAULT '[]',
    rating INTEGER NOT NULL CHECK (rating IN (1, -1)),
    comment TEXT NOT NULL DEFAULT ''
)
"""
# Error codes SQLite uses for a damaged file or a file that is not a database at all.
_CORRUPT_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_SIDE_FILES = ("-journal", "-wal", "-shm")
MAX_COMMENT_CHARS = 2000

T = TypeVar("T")


@dataclass(frozen=True)
class FeedbackEntry:
    """One stored feedback row."""

    id: int
    created_at: str
    question: str
    answer_text: str
    citations_json: str
    rating: int
    comment: str


def is_corruption(error: sqlite3.DatabaseError) -> bool:
    """True for a damaged or foreign file; False for locks, constraint or usage errors."""
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code in _CORRUPT_CODES
    return type(error) is sqlite3.DatabaseError


class FeedbackStore:
    """A small SQLite-backed feedback log; safe to share between Streamlit sessions (threads)."""

    def __init__(self, db_path: Path | str) -> None:
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._guarded(self._create)

    # -- public -------------------------------------------------------------------------------------
    def record(
        self, question: str, answer_text: str, citations_json: str, rating: int, comment: str = ""
    ) -> int:
        """Store one rating (1 = 👍, -1 = 👎) with an optional comment; returns the row id."""
        if rating not in (RATING_UP, RATING_DOWN):
            raise ValueError(f"rating must be 1 or -1, not {rating!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            question,
            answer_text,
            citations_json or "[]",
            rating,
            (comment or "").strip()[:MAX_COMMENT_CHARS],
        )

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, question, answer_text, citations_json, rating, comment) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

        return self._guarded(insert)

    def count(self) -> int:
        return self._guarded(lambda conn: int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0]))

    def recent(self, limit: int = 20) -> list[FeedbackEntry]:
        """The newest entries first."""

        def select(conn: sqlite3.Connection) -> list[FeedbackEntry]:
            rows = conn.execute(
                "SELECT id, created_at, question, answer_text, citations_json, rating, comment "
                "FROM feedback ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
            return [FeedbackEntry(*row) for row in rows]

        return self._guarded(select)

    # -- internals ----------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        # One short-lived connection per call: nothing is shared between threads.
        return sqlite3.connect(self.db_path, timeout=5.0)

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute(_SCHEMA)

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        with closing(self._connect()) as conn, conn:  # commits, or rolls back on error
            self._create(conn)
            return operation(conn)

    def _guarded(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run an operation; on a corrupt file move it aside, recreate the database and retry once."""
        with self._lock:
            try:
                return self._run(operation)
            except sqlite3.DatabaseError as error:
                if not is_corruption(error):
                    raise
                self._move_aside(error)
            return self._run(operation)

    def _move_aside(self, error: sqlite3.DatabaseError) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.db_path.with_name(f"{self.db_path.name}.corrupt-{stamp}")
        logger.error(
            "feedback database %s is unreadable (%s); moved it to %s and created a new one",
            self.db_path,
            error,
            target,
        )
        if self.db_path.exists():
            self.db_path.replace(target)
        for suffix in _SIDE_FILES:
            side = self.db_path.with_name(self.db_path.name + suffix)
            if side.exists():
                side.replace(target.with_name(target.name + suffix))
