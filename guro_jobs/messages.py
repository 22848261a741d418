"""Korean messages for users, read once from `messages.toml` (one place for every user-facing text)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.toml"


@cache
def _messages() -> dict[str, str]:
    with MESSAGES_FILE.open("rb") as handle:
        return {k: str(v) for k, v in tomllib.load(handle).items()}


def message(key: str, **values: object) -> str:
    """The message `key` with its `{placeholders}` filled."""
    return _messages()[key].format(**values)
