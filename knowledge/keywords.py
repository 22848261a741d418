"""Korean keyword search: Kiwi content words and a BM25 index over them."""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

# Content words: nouns (one-syllable ones such as 구, 시 included), verb/adjective stems, roots,
# numbers, foreign words and hanja. Particles and endings are dropped.
CONTENT_TAGS = ("NNG", "NNP", "NNB", "NR", "VV", "VA", "XR", "SN", "SL", "SH")
NOUN_TAGS = ("NNG", "NNP")
TOPIC_TAGS = (*NOUN_TAGS, "SL", "SH")  # nouns, foreign words and hanja: what a question is about
_LATIN = re.compile(r"[A-Za-z]+")


class KoreanTokenizer:
    """Kiwi content-word tokenizer. Long compound nouns also yield their known parts.

    Kiwi reads `안심일자리` as one proper noun but `안심 일자리` as two nouns; splitting compounds into
    nouns the corpus uses elsewhere makes both spellings meet in the index.
    """

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        from kiwipiepy import Kiwi

        self._kiwi = Kiwi()
        self._lock = threading.Lock()
        self.vocabulary: frozenset[str] = frozenset(vocabulary)
        self.stop = _stop_morphemes()

    def with_vocabulary(self, vocabulary: Iterable[str]) -> KoreanTokenizer:
        clone = object.__new__(KoreanTokenizer)
        clone._kiwi, clone._lock, clone.vocabulary = self._kiwi, self._lock, frozenset(vocabulary)
        clone.stop = self.stop
        return clone

    def morphemes(self, text: str) -> list[tuple[str, str]]:
        with self._lock:
            tokens = self._kiwi.tokenize(text)
        return [(t.form, t.tag) for t in tokens]

    def nouns(self, texts: Iterable[str]) -> Counter[str]:
        """Noun counts over texts; the index keeps the short ones as its compound-splitting vocabulary."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(form for form, tag in self.morphemes(text) if tag in NOUN_TAGS)
        return counts

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """Content words with their Kiwi tags (compound parts carry the compound's tag)."""
        out: list[tuple[str, str]] = []
        for form, tag in self.morphemes(text):
            tag = tag.split("-")[0]
            if tag not in CONTENT_TAGS:
                continue
            word = form.lower() if tag == "SL" else form
            if word in self.stop:
                continue
            out.append((word, tag))
            if tag in NOUN_TAGS and len(word) >= 4:
                out.extend((part, tag) for part in split_compound(word, self.vocabulary))
        return out

    def tokens(self, text: str) -> list[str]:
        return [word for word, _ in self.tagged(text)]


def _stop_morphemes() -> frozenset[str]:
    """Stems and particles that carry no topic (knowledge/lexicon/stop_morphemes.txt)."""
    from knowledge.lexicon import load as load_lexicon

    return load_lexicon().stop_morphemes


def split_compound(word: str, vocabulary: frozenset[str]) -> list[str]:
    """Cover a compound noun with vocabulary nouns (two or more syllables each), or return nothing."""
    if not vocabulary:
        return []
    return list(_cover(word, vocabulary))


@lru_cache(maxsize=4096)
def _cover(word: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for end in range(2, n + 1):
        for start in range(max(0, end - 6), end - 1):
            piece = word[start:end]
            prefix = best[start]
            if prefix is not None and piece in vocabulary and piece != word:
                candidate = (*prefix, piece)
                current = best[end]
                if current is None or len(candidate) < len(current):
                    best[end] = candidate
    result = best[n]
    return result if result and len(result) >= 2 else ()


class BM25Index:
    """Okapi BM25 over pre-tokenised documents (inverted index; scores only touched documents)."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.size = len(documents)
        self.lengths = [len(doc) for doc in documents]
        self.avg_length = (sum(self.lengths) / self.size) if self.size else 0.0
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for index, doc in enumerate(documents):
            for term, freq in Counter(doc).items():
                postings[term].append((index, freq))
        self.postings = dict(postings)
        self.idf = {
            term: math.log(1 + (self.size - len(posts) + 0.5) / (len(posts) + 0.5)) for term, posts in self.postings.items()
        }

    def known(self, term: str) -> bool:
        return term in self.postings

    def scores(self, query_terms: Sequence[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(query_terms):
            posts = self.postings.get(term)
            if not posts:
                continue
            idf = self.idf[term]
            for index, freq in posts:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[index] / (self.avg_length or 1))
                scores[index] += idf * freq * (self.k1 + 1) / (freq + norm)
        return dict(scores)
