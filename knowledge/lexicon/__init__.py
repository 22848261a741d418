"""General knowledge of Korean, read once from the data files in this folder (see README.md).

The engine's code names no Korean word; it asks this lexicon: which slots a question asks for, what a
field label holds, which value kinds a text carries, which groups or places it names, what role a
block heading plays, and which words are everyday paraphrases of the plan's own words.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
_ASCII_WORD = re.compile(r"^[a-z][a-z0-9 \-]*$")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_WORD_CHAR = re.compile(r"[가-힣A-Za-z0-9]")


class LexiconError(ValueError):
    """A lexicon data file that cannot be read: the message names the file and the line."""


def squash(text: str) -> str:
    """Spaces removed, Latin letters lower-cased: how questions and labels are compared."""
    return re.sub(r"\s+", "", text).lower()


def _rows(name: str, columns: int, folder: Path = FOLDER) -> list[list[str]]:
    path = folder / name
    rows: list[list[str]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split("\t")]
        if len(parts) < columns or not all(parts[:columns]):
            raise LexiconError(f"{path}:{number}: expected {columns} tab-separated fields, got {parts!r}")
        rows.append(parts)
    return rows


def _words(path: Path) -> frozenset[str]:
    """A one-word-per-line file (comments and blank lines skipped)."""
    return frozenset(
        line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class PhraseSet:
    """Phrases matched on a text: Hangul ones inside the squashed text, ASCII ones as whole words. A
    Hangul phrase written with a leading `^` must start a word of the text (`^제 신청` is in `제 신청
    내역`, not in `언제 신청해요`)."""

    hangul: tuple[tuple[str, str], ...]  # (squashed phrase, value)
    latin: tuple[tuple[re.Pattern[str], str], ...]
    word_start: frozenset[str] = frozenset()  # the squashed Hangul phrases that must start a word

    @classmethod
    def of(cls, pairs: list[tuple[str, str]]) -> PhraseSet:
        hangul: list[tuple[str, str]] = []
        latin: list[tuple[re.Pattern[str], str]] = []
        word_start: set[str] = set()
        for phrase, value in pairs:
            low = phrase.lower()
            if _ASCII_WORD.match(low) or not re.search(r"[가-힣]", low):
                words = r"\s+".join(re.escape(w) for w in low.split())
                latin.append((re.compile(rf"(?<![a-z]){words}(?![a-z])"), value))
            else:
                flat = squash(low.removeprefix("^"))
                hangul.append((flat, value))
                if low.startswith("^"):
                    word_start.add(flat)
        return cls(tuple(hangul), tuple(latin), frozenset(word_start))

    def find(self, text: str) -> list[tuple[str, str, int]]:
        """(phrase, value, position in the squashed text) of every phrase found."""
        flat = squash(text)
        low = text.lower()
        found: list[tuple[str, str, int]] = []
        starts = _word_starts(text) if self.word_start else set()
        for phrase, value in self.hangul:
            start = flat.find(phrase)
            if phrase in self.word_start:
                while start >= 0 and start not in starts:
                    start = flat.find(phrase, start + 1)
            if start >= 0:
                found.append((phrase, value, start))
        for pattern, value in self.latin:
            if m := pattern.search(low):
                found.append((m.group(0), value, m.start()))
        return found

    def values(self, text: str) -> set[str]:
        return {value for _, value, _ in self.find(text)}


def _word_starts(text: str) -> set[int]:
    """Positions in the squashed text where a word of `text` starts (after a space, a sign or the start)."""
    starts: set[int] = set()
    position = 0
    previous = " "
    for char in text:
        if char.isspace():
            previous = char
            continue
        if not _WORD_CHAR.match(previous):
            starts.add(position)
        position += 1
        previous = char
    return starts


@dataclass(frozen=True)
class AgeBand:
    group: str
    min: int
    max: int
    open_ended: bool


@dataclass(frozen=True)
class Place:
    name: str
    level: str  # province | local
    parent: str


@dataclass
class Lexicon:
    paraphrases: dict[str, tuple[str, ...]]
    english: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    function_words: frozenset[str]  # English: a run of words holding them is a sentence
    stop_morphemes: frozenset[str]
    slot_phrases: PhraseSet
    label_words: tuple[tuple[str, str], ...]  # (word, slot)
    value_units: dict[str, tuple[str, ...]]
    won_per_unit: dict[str, float]  # `만원` -> 10,000
    slot_values: dict[str, tuple[str, ...]]
    specific_slots: frozenset[str]
    group_words: dict[str, tuple[tuple[str, str], ...]]  # group -> ((word, side), ...)
    group_exclusions: dict[str, tuple[str, ...]]
    person_groups: frozenset[str]
    implied_groups: dict[str, tuple[str, ...]]
    age_bands: tuple[AgeBand, ...]
    places: tuple[Place, ...]
    national_programs: tuple[str, ...]
    block_roles: dict[str, str]  # squashed heading -> role
    discourse: dict[str, PhraseSet]
    ordinals: PhraseSet
    relative_years: PhraseSet  # `올해` -> 0, `내년` -> 1: years counted from the plan's own
    _value_patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)
    _place_pattern: re.Pattern[str] | None = field(default=None, repr=False)

    # -- questions --------------------------------------------------------------------------------
    def slots(self, question: str) -> list[str]:
        """Slots the question asks for, in the order its words appear."""
        found = sorted(self.slot_phrases.find(question), key=lambda f: (f[2], -len(f[0])))
        out: list[str] = []
        for _, slot, _ in found:
            if slot not in out:
                out.append(slot)
        return out

    def phrases(self, role: str) -> tuple[str, ...]:
        """The (squashed) Hangul phrases of a discourse role, longest first."""
        found = self.discourse.get(role)
        return tuple(sorted((p for p, _ in found.hangul), key=len, reverse=True)) if found else ()

    def has(self, role: str, text: str) -> bool:
        phrases = self.discourse.get(role)
        return bool(phrases and phrases.find(text))

    def is_sentence(self, text: str) -> bool:
        """Whether the text holds an English sentence: three words or more, a function word among them and
        a word that is not one (`What was the population …`, not `asdfgh` or `the the the`)."""
        words = [w.lower() for w in _LATIN_WORD.findall(text)]
        function = [w in self.function_words for w in words]
        return len(words) >= 3 and any(function) and any(len(w) >= 3 and not f for w, f in zip(words, function, strict=True))

    def ordinal(self, text: str) -> int | None:
        found = self.ordinals.find(text)
        return int(found[0][1]) if found else None

    def year_offsets(self, text: str) -> list[int]:
        """Years the question names relative to the plan's own year (`올해` 0, `내년` 1)."""
        return list(dict.fromkeys(int(value) for _, value, _ in self.relative_years.find(text)))

    def expand(self, word: str) -> tuple[str, ...]:
        """Plan-register words for an everyday or English word (empty when the word is the plan's own)."""
        low = word.lower()
        return self.english.get(low) or self.paraphrases.get(word) or ()

    def phrase_expansions(self, text: str) -> list[str]:
        """Plan-register words for everyday words written inside the text's words (`그만뒀는데` holds
        `그만뒀`): keys of two or more syllables, matched with spaces removed."""
        flat = squash(text)
        out: list[str] = []
        for key, words in self.paraphrases.items():
            if len(key) >= 2 and key in flat:
                out.extend(w for w in words if w not in out)
        return out

    def canonical(self, text: str) -> str:
        """The text with each word that has a mutual synonym in the paraphrases (어르신 ↔ 노인) replaced by
        the first of the two in Korean order, so that two spellings of a name compare equal."""
        for word, other in self._synonyms:
            text = text.replace(word, other)
        return text

    @cached_property
    def _synonyms(self) -> list[tuple[str, str]]:
        pairs = [
            (word, other)
            for word, targets in self.paraphrases.items()
            for other in targets
            if other != word and word in self.paraphrases.get(other, ()) and other < word and len(word) >= 2
        ]
        return sorted(set(pairs), key=lambda p: -len(p[0]))

    def is_stopword(self, word: str) -> bool:
        return word in self.stopwords or word.lower() in self.stopwords

    # -- plans ------------------------------------------------------------------------------------
    def label_slots(self, label: str) -> set[str]:
        flat = squash(label)
        return {slot for word, slot in self.label_words if word in flat}

    def block_role(self, heading: str) -> str | None:
        return self.block_roles.get(squash(heading))

    def block_words(self, role: str) -> tuple[str, ...]:
        return tuple(word for word, r in self.block_roles.items() if r == role)

    def value_kinds(self, text: str) -> set[str]:
        """Kinds of value a text carries: money, age, count, period, date, area, rate, time, phone, url,
        address."""
        return {kind for kind, pattern in self._value_patterns.items() if pattern.search(text)}

    def measure_kinds(self, measure: str) -> set[str]:
        """Kinds of value a table's stated unit makes its numbers (`백만원/명` — money and count)."""
        words = set(re.split(r"[\s/,·]+", measure)) - {""}
        return {kind for kind, units in self.value_units.items() if kind not in ("before", "after") and words & set(units)}

    def value_spans(self, text: str, kinds: set[str] | None = None) -> list[tuple[int, int, str]]:
        """(start, end, kind) of each value of the given kinds in a text, with the words written next to
        it that belong to it (`월 20만원`, `만 18세 이상`)."""
        before = self.value_units.get("before", ())
        after = self.value_units.get("after", ())
        spans: list[tuple[int, int, str]] = []
        for kind, pattern in self._value_patterns.items():
            if kinds is not None and kind not in kinds:
                continue
            for m in pattern.finditer(text):
                start, end = m.start(), m.end()
                head = text[:start].rstrip()
                word = next((w for w in sorted(before, key=len, reverse=True) if head.endswith(w)), None)
                if word and (len(head) == len(word) or not head[-len(word) - 1].isalnum()):
                    start = len(head) - len(word)
                tail = text[end:].lstrip()
                word = next((w for w in sorted(after, key=len, reverse=True) if tail.startswith(w)), None)
                if word:
                    end = len(text) - len(tail) + len(word)
                spans.append((start, end, kind))
        return sorted(spans)

    def groups(self, text: str, side: str = "both") -> set[str]:
        """Groups a text names. `side="both"`: words a plan uses for people; `"question"`: residents'
        words too (엄마, 퇴직, 20대) and organisation words; `"org"`: organisation words only."""
        low = text.lower()
        found: set[str] = set()
        for group, words in self.group_words.items():
            scrubbed = low
            for excluded in self.group_exclusions.get(group, ()):
                scrubbed = scrubbed.replace(excluded, " ")
            flat = squash(scrubbed)
            for word, where in words:
                counts = where == side if side == "org" else (where == "both" or side == "question")
                present = (
                    bool(re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", scrubbed)) if word.isascii() else word in flat
                )
                if counts and present:
                    found.add(group)
                    break
        return found

    def places_in(self, text: str) -> list[Place]:
        """Local governments and provinces a text names (`금천구`, `부산`, `성남시`)."""
        if self._place_pattern is None:
            return []
        names = {m.group(0) for m in self._place_pattern.finditer(text)}
        return [p for p in self.places if p.name in names]

    def place_named(self, name: str) -> list[Place]:
        return [p for p in self.places if p.name == name]


def _value_patterns(units: dict[str, tuple[str, ...]]) -> dict[str, re.Pattern[str]]:
    number = r"(?<![\d.])\d[\d,]*(?:\.\d+)?"
    patterns: dict[str, str] = {}
    for kind, words in units.items():
        if kind in ("before", "after"):
            continue
        alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        if kind == "money":
            patterns[kind] = rf"{number}\s*(?:{alternatives})(?![가-힣])|{number}\s*(?:천|만|백만|천만|억)\s*원"
        elif kind == "date":
            patterns[kind] = rf"{number}\s*(?:{alternatives})(?![가-힣])|\d{{4}}\s*\.\s*\d{{1,2}}"
        else:
            patterns[kind] = rf"{number}\s*(?:{alternatives})(?![가-힣])"
    patterns["time"] = r"\d{1,2}\s*:\s*\d{2}"
    patterns["phone"] = r"(?<!\d)0\d{1,2}\s*[-)]\s*\d{3,4}\s*-\s*\d{4}(?!\d)"
    patterns["url"] = r"(?:https?://|www\.)\S+|\S+@\S+\.\S+"
    patterns["address"] = r"[가-힣\d]+(?:로|길)\s*\d+|\d+\s*층"
    return {kind: re.compile(p) for kind, p in patterns.items()}


@cache
def load(folder: Path = FOLDER) -> Lexicon:
    """The lexicon of this folder, read once per process."""
    paraphrases = {w: tuple(t.split()) for w, t, *_ in _rows("paraphrases.tsv", 2, folder)}
    english = {w.lower(): tuple(t.split()) for w, t, *_ in _rows("english.tsv", 2, folder)}
    stopwords = _words(folder / "stopwords.txt")
    stop_morphemes = _words(folder / "stop_morphemes.txt")
    slot_phrases = PhraseSet.of([(phrase, slot) for slot, phrase, *_ in _rows("slots.tsv", 2, folder)])
    label_words = tuple((squash(word), slot) for slot, word, *_ in _rows("label_slots.tsv", 2, folder))
    value_units: dict[str, list[str]] = defaultdict(list)
    won_per_unit: dict[str, float] = {}
    for kind, unit, *rest in _rows("value_units.tsv", 2, folder):
        value_units[kind].append(unit)
        if kind == "money" and rest:
            won_per_unit[unit] = float(rest[0])
    slot_rows = _rows("slot_values.tsv", 3, folder)
    slot_values = {slot: tuple(k for k in kinds.split() if k != "-") for slot, kinds, *_ in slot_rows}
    specific_slots = frozenset(slot for slot, _, specific, *_ in slot_rows if specific == "yes")
    group_words: dict[str, list[tuple[str, str]]] = defaultdict(list)
    exclusions: dict[str, list[str]] = defaultdict(list)
    for group, word, side, *_ in _rows("groups.tsv", 3, folder):
        if side not in ("both", "question", "org"):
            raise LexiconError(f"groups.tsv: side {side!r} for {word!r} is not 'both', 'question' or 'org'")
        if word.startswith("-"):
            exclusions[group].append(word[1:].lower())
        else:
            group_words[group].append((squash(word) if not word.isascii() else word.lower(), side))
    kinds = _rows("group_kinds.tsv", 3, folder)
    person_groups = frozenset(group for group, kind, *_ in kinds if kind == "person")
    implied = {group: tuple(w for w in implies.split() if w != "-") for group, _, implies, *_ in kinds}
    bands = tuple(
        AgeBand(group, int(low), int(high), flag == "yes") for group, low, high, flag, *_ in _rows("age_groups.tsv", 4, folder)
    )
    places = tuple(Place(name, level, parent) for name, level, parent, *_ in _rows("places.tsv", 3, folder))
    national = tuple(sorted(_words(folder / "national_programs.txt"), key=len, reverse=True))
    block_roles = {squash(heading): role for role, heading, *_ in _rows("blocks.tsv", 2, folder)}
    discourse_pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    numbered: dict[str, list[tuple[str, str]]] = {"ordinal": [], "year": []}
    for row in _rows("discourse.tsv", 2, folder):
        role, phrase = row[0], row[1]
        if role in numbered:
            if len(row) < 3 or not re.fullmatch(r"[+-]?\d+", row[2]):
                raise LexiconError(f"discourse.tsv: {role} {phrase!r} needs its number in a third column")
            numbered[role].append((phrase, row[2]))
        else:
            discourse_pairs[role].append((phrase, role))
    lexicon = Lexicon(
        paraphrases=paraphrases,
        english=english,
        stopwords=stopwords,
        function_words=_words(folder / "function_words.txt"),
        stop_morphemes=stop_morphemes,
        slot_phrases=slot_phrases,
        label_words=label_words,
        value_units={k: tuple(v) for k, v in value_units.items()},
        won_per_unit=won_per_unit,
        slot_values=slot_values,
        specific_slots=specific_slots,
        group_words={k: tuple(v) for k, v in group_words.items()},
        group_exclusions={k: tuple(v) for k, v in exclusions.items()},
        person_groups=person_groups,
        implied_groups={k: v for k, v in implied.items() if v},
        age_bands=bands,
        places=places,
        national_programs=national,
        block_roles=block_roles,
        discourse={role: PhraseSet.of(pairs) for role, pairs in discourse_pairs.items()},
        ordinals=PhraseSet.of(numbered["ordinal"]),
        relative_years=PhraseSet.of(numbered["year"]),
    )
    lexicon._value_patterns.update(_value_patterns(lexicon.value_units))
    names = sorted({p.name for p in places}, key=len, reverse=True)
    # A place name starts a word and is not the start of a road name (`남구로역` is not 남구).
    alternatives = "|".join(re.escape(n) for n in names)
    lexicon._place_pattern = re.compile(rf"(?<![가-힣])(?:{alternatives})(?!로)") if names else None
    return lexicon
