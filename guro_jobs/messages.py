"""Korean messages for users, read once from `messages.toml` (one place for every user-facing text)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.toml"


@cache
def _file() -> dict[str, object]:
    with MESSAGES_FILE.open("rb") as handle:
        return tomllib.load(handle)


def message(key: str, **values: object) -> str:
    """The message `key` with its `{placeholders}` filled."""
    return str(_file()[key]).format(**values)


def keys(prefix: str) -> list[str]:
    """The message keys that start with `prefix`, in the file's order (`followup_` -> the follow-ups)."""
    return [k for k, v in _file().items() if k.startswith(prefix) and isinstance(v, str)]


def table(name: str) -> dict[str, str]:
    """A [table] of messages, e.g. `status`: role -> what a verdict calls it."""
    found = _file().get(name, {})
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}
