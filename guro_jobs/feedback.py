"""Answer feedback (👍/👎 and an optional comment) kept in a local SQLite file.

Only what is needed to improve answers is stored: the question, the answer text, its citations,
the rating and the comment, with personal data (phone numbers, resident registration numbers, e-mail
addresses, a name given in a self-introduction) replaced before it is written (`guro_jobs.privacy`).
No IP address, user id or session id is ever written.

A database the store cannot use is moved aside to `<name>.corrupt-<timestamp>` (a corrupt file, a file
that is not a database, a database of another schema, a folder at the path) and a fresh one is created;
a locked database is retried, then moved aside the same way. The user's feedback is never lost to it.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TypeVar

from guro_jobs.privacy import redact

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
_COLUMNS = tuple(re.findall(r"^\s+(\w+) (?:INTEGER|TEXT)", _SCHEMA, re.MULTILINE))
MAX_COMMENT_CHARS = 2000
LOCK_TIMEOUT_S = 1.0
LOCK_RETRIES = 3

T = TypeVar("T")


class _ForeignSchema(sqlite3.DatabaseError):
    """A database whose feedback table is not ours."""


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
            redact(question),
            answer_text,
            citations_json or "[]",
            rating,
            redact((comment or "").strip()[:MAX_COMMENT_CHARS]),
        )

        def insert(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, question, answer_text, citations_json, rating, comment) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
            return int(cursor.lastrowid or 0)

        return self._guarded(insert)

    def add_comment(self, row_id: int, comment: str) -> None:
        """Add a comment to a rating stored earlier (a 👍/👎 is saved on click; the comment may follow)."""
        text = redact((comment or "").strip()[:MAX_COMMENT_CHARS])
        self._guarded(lambda conn: conn.execute("UPDATE feedback SET comment = ? WHERE id = ?", (text, row_id)))

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
        return sqlite3.connect(self.db_path, timeout=LOCK_TIMEOUT_S)

    @staticmethod
    def _create(conn: sqlite3.Connection) -> None:
        conn.execute(_SCHEMA)
        columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(feedback)"))
        if columns != _COLUMNS:
            raise _ForeignSchema(f"feedback table has columns {columns}")

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        with closing(self._connect()) as conn, conn:  # commits, or rolls back on error
            self._create(conn)
            return operation(conn)

    def _guarded(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run an operation; a database it cannot use is moved aside, recreated and the operation retried.
        A lock is waited for a few times first."""
        with self._lock:
            for attempt in range(LOCK_RETRIES):
                try:
                    return self._run(operation)
                except _ForeignSchema as error:
                    self._move_aside(error)
                    break
                except sqlite3.OperationalError as error:
                    if "locked" in str(error) or "busy" in str(error):
                        logger.warning("feedback database is locked (attempt %d of %d)", attempt + 1, LOCK_RETRIES)
                        continue
                    if self.db_path.is_dir() or "unable to open" in str(error):
                        self._move_aside(error)
                        break
                    raise
                except sqlite3.DatabaseError as error:
                    if not is_corruption(error):
                        raise
                    self._move_aside(error)
                    break
            else:
                self._move_aside(sqlite3.OperationalError("database stayed locked"))
            return self._run(operation)

    def _move_aside(self, error: Exception) -> None:
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
