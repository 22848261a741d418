"""Personal data a user may type (phone numbers, resident registration numbers, e-mail addresses, a name
given in a self-introduction) is replaced by a placeholder before anything is stored."""

from __future__ import annotations

import re
from functools import cache

from knowledge.lexicon import load as load_lexicon

PHONE = re.compile(r"(?<!\d)(?:\+82[-\s]?|0)\d{1,2}[-\s.)]?\d{3,4}[-\s.]?\d{4}(?!\d)")
RESIDENT_NUMBER = re.compile(r"(?<!\d)\d{6}\s*-\s*[1-8]\d{6}(?!\d)|(?<!\d)\d{2}[01]\d[0-3]\d[1-8]\d{6}(?!\d)")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
NAME_CHARS = r"[가-힣]{2,4}"


@cache
def _name_pattern() -> re.Pattern[str]:
    lexicon = load_lexicon()
    intros = sorted((p for p, _ in lexicon.discourse["name_intro"].hangul), key=len, reverse=True)
    ends = sorted((p for p, _ in lexicon.discourse["name_end"].hangul), key=len, reverse=True)
    intro = "|".join(r"\s*".join(map(re.escape, p)) for p in intros)
    end = "|".join(map(re.escape, ends))
    # `제 이름은 홍길동`, `저는 홍길동입니다`: a name after an introduction (with an ending when it is `저는`).
    return re.compile(rf"((?:{intro})\s*)({NAME_CHARS})(?=\s*(?:{end})|\s*$|\s*[.,!?]|\s+(?!{NAME_CHARS}))")


def redact(text: str) -> str:
    """The text with personal data replaced: [전화번호], [주민등록번호], [이메일], [이름]."""
    if not text:
        return text
    text = RESIDENT_NUMBER.sub("[주민등록번호]", text)
    text = EMAIL.sub("[이메일]", text)
    text = PHONE.sub("[전화번호]", text)
    text = re.sub(r"(?i)(my name is\s+)([A-Za-z][A-Za-z .'-]{1,40}?)(?=[.,!?]|$)", r"\1[이름]", text)
    return _name_pattern().sub(lambda m: m.group(1) + "[이름]" if _is_name(m.group(2)) else m.group(0), text)


def _is_name(word: str) -> bool:
    """A self-introduced word is taken for a name unless it carries a number or is a word the lexicon
    knows as something else (`저는 청년` is a group, `저는 주부` a situation)."""
    lexicon = load_lexicon()
    return not (lexicon.groups(word, side="question") or lexicon.expand(word) or lexicon.is_stopword(word))
