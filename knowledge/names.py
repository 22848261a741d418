"""Program names read from a plan's headings and table rows, and matched in questions.

Names are matched with spacing ignored and one typo allowed, so `청년도전 지원사업` and `안심 일자리` find
their sections. A long title also matches by its distinctive tail (`청년취업사관학교`), and most of a long
name matches too (`경비원취업교육` for `중장년경비원취업교육`). Nothing here knows one plan's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingestion.models import ParsedLine
from ingestion.parser import heading_words, task_heading
from knowledge.lexicon import load as load_lexicon
from knowledge.lexicon import squash

_SPLIT = re.compile(r"[!‘’'\"“”&,·()\[\]]+")


@lru_cache(maxsize=1)
def _generic_suffixes() -> tuple[str, ...]:
    return tuple(sorted(load_lexicon().block_words("generic"), key=len, reverse=True))


@lru_cache(maxsize=1)
def _group_words() -> frozenset[str]:
    lexicon = load_lexicon()
    return frozenset(word for words in lexicon.group_words.values() for word, _ in words if not word.isascii())


def name_core(name: str) -> str:
    """The distinctive part of a name: generic endings (사업, 조성 및 운영, …) stripped repeatedly."""
    stripped = True
    while stripped:
        stripped = False
        for suffix in _generic_suffixes():
            if name.endswith(suffix) and len(name) - len(suffix) >= 4:
                name = name[: -len(suffix)]
                stripped = True
                break
    return name


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance <= 1."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            i += 1
            j += 1
            continue
        edits += 1
        if edits > 1:
            return False
        if len(a) == len(b):
            i += 1
        j += 1
    return edits + (len(b) - j) + (len(a) - i) <= 1


def misspells(word: str, title: str) -> bool:
    """Whether `word` is a part of `title` with one typo (`채험사업` in `청년 중소기업 체험사업`)."""
    flat = squash(title)
    size = len(word)
    return size >= 3 and any(within_one_edit(word, flat[i : i + size]) for i in range(0, max(1, len(flat) - size + 1)))


@lru_cache(maxsize=8192)
def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1))


def _longest_common_substring(a: str, b: str) -> tuple[int, int]:
    """Length of the longest common substring and where it ends in `a`."""
    best, end = 0, 0
    previous = [0] * (len(b) + 1)
    for i, ca in enumerate(a, start=1):
        current = [0] * (len(b) + 1)
        for j, cb in enumerate(b, start=1):
            if ca == cb:
                current[j] = previous[j - 1] + 1
                if current[j] > best:
                    best, end = current[j], i
        previous = current
    return best, end


@lru_cache(maxsize=1)
def _filler_words() -> tuple[str, ...]:
    lexicon = load_lexicon()
    return tuple(sorted(lexicon.block_words("generic") + lexicon.block_words("filler"), key=len, reverse=True))


def _distinctive(part: str) -> bool:
    """Whether a piece of a name says more than its generic words (`교육`, `프로그램`, `지원사업`)."""
    for word in _filler_words():
        part = part.replace(word, "")
    return len(part) >= 3


@dataclass(frozen=True)
class NamedSection:
    """A program-like heading or table row: its squashed name fragments and the section path it heads."""

    title: str
    document: str
    path: tuple[str, ...]
    keys: tuple[str, ...]
    row: int | None = None  # source line of a table row: the name heads that row, not the whole table


@dataclass(frozen=True)
class NameMatch:
    """A program the question names: where it is, how strongly and how exactly it was matched."""

    document: str
    path: tuple[str, ...]
    title: str
    exact: bool
    strength: float  # matched characters
    row: int | None = None
    key: str = ""  # the name as the question spells it (spacing removed), for an exact match

    def covers(self, document: str, path: list[str] | tuple[str, ...], start: int, end: int) -> bool:
        if document != self.document:
            return False
        if self.row is not None:
            return tuple(path) == self.path and start <= self.row <= end
        return tuple(path[: len(self.path)]) == self.path


def _tails(title: str) -> set[str]:
    """Shorter names residents use for a long title: its tails from a word boundary whose distinctive
    part is still long (`청년취업사관학교` for `G밸리 4차 산업형 청년취업사관학교 조성`)."""
    tails: set[str] = set()
    for fragment in _SPLIT.split(title):
        words = fragment.split()
        for start in range(1, len(words)):
            tail = squash("".join(words[start:]))
            if len(name_core(tail)) >= 6:
                tails.add(tail)
    return tails


def _name_keys(keys: set[str]) -> tuple[str, ...]:
    groups = _group_words()
    return tuple(sorted(k for k in keys if len(k) >= 4 and k not in groups))


def build_name_index(lines: list[ParsedLine]) -> list[NamedSection]:
    """Names residents use for programs: task titles and their parts, program blocks, 【】, table rows."""
    lexicon = load_lexicon()
    named: list[NamedSection] = []
    # Where the plan's words appear, by task or table: a shortened name must not be a phrase used elsewhere.
    by_scope: dict[tuple[str, ...], list[str]] = {}
    for line in lines:
        if line.kind != "heading":
            by_scope.setdefault((line.document, *line.path[:2]), []).append(squash(line.text))
    scope_text = {scope: "\n".join(texts) for scope, texts in by_scope.items()}

    def distinctive(tail: str, document: str, path: list[str]) -> bool:
        own = (document, *path[:2])
        return not any(
            tail in text
            for scope, text in scope_text.items()
            if scope != own and len(scope) > 2 and task_heading(scope[2])
        )

    for line in lines:
        if line.kind == "heading" and len(line.path) >= 2:
            title = line.value or ""
            if lexicon.block_role(title) is not None:
                continue
            title = heading_words(title)
            fragments = [squash(f) for f in _SPLIT.split(title)]
            tails = {tail for tail in _tails(title) if distinctive(name_core(tail), line.document, line.path)}
            keys = {squash(title), *fragments, *tails}
            keys |= {name_core(k) for k in list(keys)}
            named.append(NamedSection(title, line.document, tuple(line.path), _name_keys(keys)))
        elif line.kind == "table" and line.field == "세부사업" and line.value:
            name = squash(line.value)
            keys = {name, *(squash(f) for f in _SPLIT.split(line.value))}
            keys |= {name_core(k) for k in list(keys)}
            named.append(NamedSection(line.value, line.document, tuple(line.path), _name_keys(keys), line.start))
    return named


@lru_cache(maxsize=4096)
def _groups_in(key: str) -> frozenset[str]:
    return frozenset(word for word in _group_words() if word in key)


def _other_group(key: str, q_groups: set[str]) -> bool:
    """`장애인 일자리사업` is not a misspelt `노인 일자리사업`: the question names another group."""
    key_groups = _groups_in(key)
    return bool(key_groups - q_groups) and bool(q_groups - key_groups)


def match_names(question: str, names: list[NamedSection]) -> list[NameMatch]:
    """Named sections the question mentions (spacing ignored, one typo allowed for longer names)."""
    q = squash(question)
    q_bigrams = {q[i : i + 2] for i in range(len(q) - 1)}
    q_groups = {word for word in _group_words() if word in q}
    found: dict[tuple[str, tuple[str, ...], int | None], NameMatch] = {}
    for named in names:
        for key in named.keys:
            exact = key in q
            score = float(len(key) + 1) if exact else 0.0
            if not exact and len(key) >= 5 and not _other_group(key, q_groups):
                key_bigrams = _bigrams(key)
                shared = len(key_bigrams & q_bigrams)
                if len(key) >= 6 and shared >= 4 and shared >= 0.6 * len(key_bigrams):
                    # Most of a long name; its generic ending does not count, and neither does a part
                    # made only of generic words (`교육프로그램` is in many names).
                    core = name_core(key)
                    common, where = _longest_common_substring(core, q)
                    if common >= 5 and common / len(core) >= 0.7 and _distinctive(core[where - common : where]):
                        score = float(common)
                if not score and shared >= len(key_bigrams) - 2:
                    fuzzy = any(
                        within_one_edit(key, q[start : start + size])
                        for size in (len(key) - 1, len(key), len(key) + 1)
                        for start in range(0, max(0, len(q) - size) + 1)
                    )
                    score = float(len(key) - 1) if fuzzy else 0.0
            if score:
                slot = (named.document, named.path, named.row)
                current = found.get(slot)
                if current is None or score > current.strength:
                    found[slot] = NameMatch(
                        named.document, named.path, named.title, exact, score, named.row, key if exact else ""
                    )
    if not found:
        return []
    # Keep the most specific matches: drop a match whose name is a part of a longer matched name.
    top = max(m.strength for m in found.values())
    kept = {slot: m for slot, m in found.items() if m.strength >= min(top, 6)}
    return [
        m
        for slot, m in kept.items()
        if not any(
            other.document == m.document
            and other.path[: len(m.path)] == m.path
            and len(other.path) > len(m.path)
            and other.strength >= m.strength
            for o, other in kept.items()
            if o != slot
        )
    ]
