"""Step 2 of the answer path: read a cleaned question once — its words, what it asks for, who asks,
which program it names, and what it carries over from the conversation.

Everything Korean comes from the lexicon (knowledge/lexicon); everything about a plan (its program names,
its vocabulary, its issuing government and year) from the loaded index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.keywords import TOPIC_TAGS
from knowledge.lexicon import Lexicon, squash
from knowledge.names import NameMatch, match_names
from knowledge.store import KnowledgeBase

AGE = re.compile(r"(?:만\s*)?(\d{1,3})\s*(?:살|세)")
DECADE = re.compile(r"(\d)0\s*대")
YEAR = re.compile(r"(?<!\d)(20\d{2})\s*년?")
LETTER = re.compile(r"[가-힣A-Za-z]")
MAX_TERMS = 40


@dataclass
class Asker:
    """What the asker says of themselves (or of whom they ask for)."""

    age: int | None = None
    age_range: tuple[int, int] | None = None
    groups: set[str] = field(default_factory=set)
    text: str = ""  # what the asker wrote, for criteria such as 기초연금 or 관내 거주

    @property
    def told(self) -> bool:
        return self.age is not None or self.age_range is not None or bool(self.groups)


SENTENCE = re.compile(r"(?<=[.?!。])\s+|\n+")


def main_clause(text: str, lexicon: Lexicon) -> str:
    """The question proper, without the asker's background: the last sentence, after its last
    background clause ("58세인데 작년에 자격증 땄어요. 요양원 취업 연결해 주는 프로그램 있어요?")."""
    sentences = [s for s in SENTENCE.split(text) if re.search(r"[가-힣A-Za-z]{2}", s)]
    last = sentences[-1] if sentences else text
    endings = tuple(p for p, _ in lexicon.discourse["clause_end"].hangul) if "clause_end" in lexicon.discourse else ()
    words = last.split()
    cut = 0
    for i, word in enumerate(words[:-1]):
        if word.rstrip(",.").endswith(endings):
            cut = i + 1
    rest = " ".join(words[cut:])
    return rest if len(rest) >= 4 else last


@dataclass
class Question:
    text: str
    query: str  # what the embedder reads
    main: str  # the question proper (no background clauses)
    asked: str  # … without the program names it gives: the detail asked about a program
    tokens: list[tuple[str, str]]  # Kiwi content words with tags
    terms: list[str]  # BM25 terms: content words and their plan-register expansions
    expansions: list[str]  # the plan-register words the lexicon gave for everyday or English words
    content: list[str]  # content words that carry a topic (no stopwords, no question words)
    unknown: list[str]  # content nouns the plans never use and the lexicon cannot paraphrase
    slots: list[str]
    names: list[NameMatch]
    carried: list[NameMatch] = field(default_factory=list)
    asker: Asker = field(default_factory=Asker)
    places: list[str] = field(default_factory=list)  # local governments or provinces the question names
    other_places: list[str] = field(default_factory=list)  # … that no loaded plan is issued by
    own_places: list[str] = field(default_factory=list)  # places the loaded plans cover
    years: list[int] = field(default_factory=list)
    background: bool = False  # background clauses were cut off: the question proper differs from the text
    documents: list[str] = field(default_factory=list)  # plans the question points at (by year or place)
    national: list[str] = field(default_factory=list)  # national programs named that no plan mentions
    refer: bool = False
    ordinal: int | None = None
    wants_list: bool = False
    wants_total: bool = False
    yesno: bool = False
    injection: bool = False
    noise: bool = False
    has_korean: bool = True
    history: list[str] = field(default_factory=list)

    @property
    def focus(self) -> list[NameMatch]:
        """The programs this turn is about: the ones it names, else the ones carried from earlier turns."""
        return self.names or self.carried

    @property
    def asks_eligibility(self) -> bool:
        """Whether it asks if someone can take part: a yes/no question, or one about the target or age."""
        return self.yesno or bool({"target", "age"} & set(self.slots))

    def embedded_texts(self) -> tuple[str, str, str]:
        """The texts embedded for the query, the question proper and what is asked. The question
        proper is embedded apart only when background clauses were cut off; otherwise the query (the
        whole question) stands for it, and for what is asked when no program name was taken out."""
        main = self.main if self.background else self.query
        asked = self.asked if self.asked != self.main else main
        return self.query, main, asked


def without_names(text: str, names: list[NameMatch]) -> str:
    """The text with the program names it matched taken out (spacing inside a name may differ)."""
    for match in names:
        if match.key:
            text = re.sub(r"\s*".join(re.escape(ch) for ch in match.key), " ", text, flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", text).strip()


def _asker(text: str, lexicon: Lexicon, names: list[NameMatch]) -> Asker:
    """What the asker says of themselves; words of a program's name (`청년도전지원사업`) say nothing."""
    own = without_names(text, names)
    asker = Asker(groups=lexicon.groups(own, side="question"), text=own)
    if m := DECADE.search(text):
        decade = int(m.group(1)) * 10
        asker.age_range = (decade, decade + 9)
    elif m := AGE.search(text):
        age = int(m.group(1))
        if 0 < age < 120:
            after = squash(text[m.end() : m.end() + 4])
            if after.startswith(lexicon.phrases("age_up")):
                asker.age_range = (age, 120)
            elif after.startswith(lexicon.phrases("age_down")):
                # `만 40세 미만` excludes 40; `39세까지`, `39세 이하` include 39.
                asker.age_range = (0, age - 1 if after.startswith("미만") else age)
            else:
                asker.age = age
    return asker


def _tokens(text: str, kb: KnowledgeBase) -> list[tuple[str, str]]:
    return kb.tokenizer.tagged(text)


def understand(
    text: str, history: list[str], kb: KnowledgeBase, lexicon: Lexicon, carry: bool = True
) -> Question:
    """Read one cleaned question (and the user's earlier questions of this conversation)."""
    tokens = _tokens(text, kb)
    # Words of the lexicon's question and discourse phrases found here (`목록`, `몇 명`) ask how, not what.
    asked = {phrase for phrase, _, _ in lexicon.slot_phrases.find(text)}
    for phrases in lexicon.discourse.values():
        asked |= {phrase for phrase, _, _ in phrases.find(text)}
    slot_words = {squash(p) for p, _ in lexicon.slot_phrases.hangul}
    terms: list[str] = []
    expansions: list[str] = []
    content: list[str] = []
    unknown: list[str] = []
    for word, tag in tokens:
        stop = lexicon.is_stopword(word)
        expansion = lexicon.expand(word)
        if not stop:
            terms.append(word)
        for extra in expansion:
            found = [t for t, _ in kb.tokenizer.tagged(extra)]
            terms.extend(found)
            expansions.extend(t for t in found if t != word)
        if stop or word in slot_words or any(word in phrase for phrase in asked):
            continue
        content.append(word)
        if (
            tag in TOPIC_TAGS
            and word not in kb.vocabulary
            and not expansion
            and not word.isdigit()
            and (tag == "SL" or len(word) >= 2)
        ):
            unknown.append(word)
    for extra in lexicon.phrase_expansions(text):
        found = [t for t, _ in kb.tokenizer.tagged(extra)]
        terms.extend(t for t in found if t not in terms)
        expansions.extend(t for t in found if t not in expansions and t not in content)
    names = match_names(text, kb.names)
    main = main_clause(text, lexicon)
    rest = without_names(main, names)
    question = Question(
        text=text,
        query=text,
        main=main,
        asked=rest if len(LETTER.findall(rest)) >= 2 else main,
        tokens=tokens,
        terms=terms[:MAX_TERMS],
        expansions=list(dict.fromkeys(expansions)),
        content=content,
        unknown=unknown,
        slots=lexicon.slots(text),
        names=names,
        asker=_asker(text, lexicon, names),
        has_korean=bool(re.search(r"[가-힣]", text)),
        history=list(history),
        background=main != text,
    )
    if question.expansions:
        # The plan's own words for the everyday ones steer the embedding towards how the plan says it.
        question.query = f"{text} ({' '.join(question.expansions[:8])})"
    question.refer = lexicon.has("refer", text)
    question.ordinal = lexicon.ordinal(text)
    question.wants_list = lexicon.has("list", text)
    question.wants_total = lexicon.has("total", text)
    question.yesno = lexicon.has("yesno", text)
    question.injection = lexicon.has("injection", text)
    # Noise: nothing the plans or the lexicon know (`ㅋㅋㅋ`, `?`, `1`, `😀`, bare markup).
    known = [w for w in content if (w in kb.vocabulary or lexicon.expand(w)) and not w.isdigit()]
    # A slot symbol alone (`%`, `?`) is no question either: without a letter there is nothing to ask about.
    # An English sentence is a question even when the lexicon knows none of its words (the embedder reads it).
    # A follow-up that points back (`그 사업 종류는요?`) asks about the earlier question's topic.
    told = known or names or question.slots or question.asker.told or lexicon.is_sentence(text) or (history and question.refer)
    question.noise = not LETTER.search(text) or not told
    _places(question, kb, lexicon)
    _relative_years(question, kb, lexicon)
    question.national = [
        name for name in lexicon.national_programs if name in squash(text) and not kb.describes(name)
    ]
    if carry and not names:
        for previous in reversed(history):
            carried = match_names(previous, kb.names)
            if carried:
                question.carried = carried
                break
    if question.carried:
        # "거기 위치는요?": the earlier program's name makes the follow-up a full question.
        question.query = f"{question.query} {question.carried[0].title}"
        question.main = f"{question.main} {question.carried[0].title}"
        question.terms = (question.terms + kb.tokenizer.tokens(question.carried[0].title))[:MAX_TERMS]
    return question


def _places(question: Question, kb: KnowledgeBase, lexicon: Lexicon) -> None:
    """Places the question names, the plans they point at, and the places no loaded plan covers."""
    named = lexicon.places_in(question.text)
    question.places = list(dict.fromkeys(p.name for p in named))
    covered: set[str] = set()
    for name, profile in kb.profiles.items():
        areas = {a for a in (profile.issuer, profile.province) if a}
        # A plan's own area: its issuing government, and the province it belongs to.
        areas |= {p.name for p in lexicon.places if p.parent == profile.province and p.level == "province"}
        if areas & set(question.places):
            question.documents.append(name)
        covered |= areas
    question.other_places = [p for p in question.places if p not in covered]
    question.own_places = [p for p in question.places if p in covered]
    question.years = [int(y) for y in YEAR.findall(question.text)]
    for name, profile in kb.profiles.items():
        if profile.year is not None and profile.year in question.years and name not in question.documents:
            question.documents.append(name)


def _relative_years(question: Question, kb: KnowledgeBase, lexicon: Lexicon) -> None:
    """`올해`, `내년`: years counted from the plan's own year, written into the query the way the plan
    writes them (`2023년`), when the plans the question may mean share one year."""
    offsets = lexicon.year_offsets(question.text)
    if not offsets or question.years:
        return
    names = question.documents or list(kb.profiles)
    years = {kb.profiles[n].year for n in names if n in kb.profiles}
    if len(years) != 1 or None in years:
        return
    (base,) = years
    written = [f"{base + offset}년" for offset in offsets]
    question.query = f"{question.query} {' '.join(written)}"
    question.main = f"{question.main} {' '.join(written)}"
    for year in written:
        question.terms = (question.terms + [t for t in kb.tokenizer.tokens(year) if t not in question.terms])[:MAX_TERMS]
