"""Step 1 of the answer path: clean what a user typed into one question the later steps can trust.

Invisible characters never change an answer: format characters (zero-width spaces and joiners, soft
hyphens, word joiners, BOMs, bidi marks) are removed without splitting words, unpaired surrogates are
dropped, control characters become spaces, full-width Latin letters and digits become ASCII (NFKC for
those only: `㎡`, `Ⅱ` and `①` stay as the plan writes them), and runs of spaces collapse. A question is
cut at a fixed length so no stage sees an unbounded input; a paste far longer than a question is not
answered from a random passage but gets a request to ask one question.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

MAX_QUESTION_CHARS = 300  # every later stage (tokenizer, embedder, name matcher) sees at most this much
PASTE_CHARS = 1000  # beyond this it is a pasted document, not a question


@dataclass
class CleanQuestion:
    text: str
    truncated: bool = False
    pasted: bool = False
    notices: list[str] = field(default_factory=list)


def _char(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return ""  # an unpaired surrogate cannot be encoded; it carries nothing
    category = unicodedata.category(ch)
    if category == "Cf":
        return ""
    if category in ("Cc", "Zl", "Zp") or (category == "Zs" and ch != " "):
        return " "
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
        return unicodedata.normalize("NFKC", ch)
    return ch


def normalise(raw: str) -> str:
    """The text with invisible and control characters handled and spaces collapsed (NFC)."""
    text = "".join(_char(ch) for ch in raw)
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def clean_question(raw: str, limit: int = MAX_QUESTION_CHARS) -> CleanQuestion:
    """A cleaned question; raises TypeError for anything that is not a string."""
    if not isinstance(raw, str):
        raise TypeError(f"question must be a str, not {type(raw).__name__}")
    text = normalise(raw)
    if len(text) > PASTE_CHARS:
        return CleanQuestion(text=text[:limit], truncated=True, pasted=True)
    if len(text) > limit:
        return CleanQuestion(text=text[:limit], truncated=True)
    return CleanQuestion(text=text)
