"""The optional LLM answer stage: a chat model answers from numbered context blocks, then is verified.

The reply is kept only if it cites existing blocks and every number in it (amounts, dates, ages, counts,
rates) appears in the cited blocks. Anything else, a failed check, a timeout, a down server, falls back
to the extractive answer with a Korean notice, so the user always gets an answer grounded in the plan.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from guro_jobs.cite import cite
from guro_jobs.models import Answer, Citation
from guro_jobs.settings import PROMPTS_DIR, LLMSettings
from ingestion.models import ParsedLine, join_label
from knowledge.lexicon import load as load_lexicon

logger = logging.getLogger(__name__)

NOTICE_UNVERIFIED = "LLM 답변을 확인할 수 없어 원문 발췌 답변을 보여드립니다."
NOTICE_UNREACHABLE = "LLM 서버에 연결할 수 없어 원문 발췌 답변을 보여드립니다."
NOTICE_TIMEOUT = "LLM 응답이 늦어 원문 발췌 답변을 보여드립니다."
NOTICE_FAILED = "LLM 답변을 받지 못해 원문 발췌 답변을 보여드립니다."

DEFAULT_OLLAMA_URL = "http://localhost:11434"
DEFAULT_OPENAI_URL = "https://api.openai.com/v1"
STATUS_TIMEOUT_S = 2.0
MAX_HISTORY_TURNS = 3
MAX_HISTORY_CHARS = 300

# [1], [1, 2], [1][2] — the block references the system prompt asks for.
_MARKER = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]")
# A number: 9,620 | 80 | 2023. 1 | 1.5 | 09:00 (a chain keeps dates and decimals together).
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\s*[.:]\s*\d+)*"
# Units that make a number a specific claim; money and % may follow a space ("20 만원", "50 %").
_UNIT = r"(?:\s?[억천백만]*\s?원|\s?%|[억천백만]+|개월|년간|년|월|일|세|명|시간|회|개|곳|건|주|차|배|점)"
_CLAIM = re.compile(rf"(?<![\d,.])({_NUMBER})({_UNIT})?")
_LIST_MARKER = re.compile(r"^\s*\d{1,2}[.)]\s+", re.MULTILINE)
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_WORD = re.compile(r"[가-힣A-Za-z]{2,}")
_UNIT_NOTE = re.compile(r"단위\s*[:：]\s*([^)\]|]+)")
# Units a bare table count may be read with; money units must match the table's unit note.
COUNT_UNITS = frozenset(load_lexicon().value_units.get("count", ()))
# "2023년 1월" and "2023. 1월" are the same month; compare them in the plan's own "2023. 1월" form.
_YEAR_MONTH = re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월")
_TAGS = re.compile(r"</?\s*(?:참고자료|질문|이전 질문)\s*>")

Problem = Literal["timeout", "unreachable", "failed"]


@cache
def load_prompt(name: str, prompts_dir: Path = PROMPTS_DIR) -> str:
    """A prompt template by name (``prompts/<name>.md``)."""
    return (prompts_dir / f"{name}.md").read_text(encoding="utf-8").strip("\n")


def _compact(text: str) -> str:
    """Whitespace and thousands separators removed: how numbers are compared."""
    return _THOUSANDS.sub("", re.sub(r"\s+", "", text))


def _year_month(text: str) -> str:
    return _YEAR_MONTH.sub(r"\1. \2월", text)


def _caption(line: ParsedLine) -> str | None:
    """A table row's caption with its unit note, e.g. "연차별 추진계획 (단위: 백만원)"."""
    if line.kind != "table" or not line.context:
        return None
    return line.context.split(" | ", 1)[0].strip() or None


def block_lines(lines: list[ParsedLine]) -> list[str]:
    """The block's lines as displayed; a table's caption (it carries the unit) is shown once above its rows."""
    out: list[str] = []
    shown: str | None = None
    for line in lines:
        caption = _caption(line)
        if caption and caption != shown:
            out.append(f"[표] {caption}")
        shown = caption
        out.append(line.display())
    return out


def block_text(number: int, lines: list[ParsedLine]) -> str:
    """One numbered context block as the model sees it: document, section label and the lines."""
    first = lines[0]
    return load_prompt("context").format(
        number=number,
        document=first.document,
        section=join_label(first.path),
        lines="\n".join(block_lines(lines)),
    )


def build_messages(
    question: str, history: list[str], blocks: list[list[ParsedLine]]
) -> list[tuple[str, str]]:
    """System rules, then one user message: the numbered blocks, earlier questions and the question."""
    context = "\n\n".join(block_text(n, lines) for n, lines in enumerate(blocks, start=1) if lines)
    turns = [_TAGS.sub(" ", h).strip()[:MAX_HISTORY_CHARS] for h in history[-MAX_HISTORY_TURNS:]]
    followup = (
        load_prompt("followup").format(turns="\n".join(f"- {t}" for t in turns)) + "\n\n" if turns else ""
    )
    user = load_prompt("question").format(
        context=context, followup=followup, question=_TAGS.sub(" ", question)
    )
    return [("system", load_prompt("system")), ("human", user)]


@dataclass
class Verification:
    """The outcome of checking a reply against its context blocks."""

    cited: list[int] = field(default_factory=list)
    claims: list[str] = field(default_factory=list)
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def cited_blocks(reply: str) -> list[int]:
    """Block numbers referenced in the reply, in order of first mention."""
    seen: list[int] = []
    for match in _MARKER.finditer(reply):
        for part in match.group(1).split(","):
            number = int(part)
            if number not in seen:
                seen.append(number)
    return seen


def number_claims(reply: str) -> list[tuple[str, str, str]]:
    """Numbers the reply states, compacted: (claim as written, number, unit or "")."""
    text = _year_month(_LIST_MARKER.sub("", _MARKER.sub(" ", reply)))
    return [
        (_compact(m.group(0)), _compact(m.group(1)), _compact(m.group(2) or ""))
        for m in _CLAIM.finditer(text)
    ]


def _numbers_in(text: str) -> set[str]:
    """Every number in a text, whole chains (2023.1) and their parts (2023, 1)."""
    found: set[str] = set()
    for match in _CLAIM.finditer(text):
        chain = _compact(match.group(1))
        found.add(chain)
        found.update(re.split(r"[.:]", chain))
    return found


@dataclass
class Evidence:
    """What the cited blocks state: their text, their numbers, and the numbers and units of their tables."""

    source: str
    numbers: set[str]
    table_numbers: set[str]
    table_units: set[str]

    @classmethod
    def of(cls, blocks: list[tuple[int, list[ParsedLine]]]) -> Evidence:
        text = _year_month("\n".join(block_text(n, lines) for n, lines in blocks))
        rows = [line for _, lines in blocks for line in lines if line.kind == "table"]
        units = {
            _compact(unit)
            for line in rows
            for note in _UNIT_NOTE.findall(line.context or "")
            for unit in re.split(r"[/,·]", note)
            if unit.strip()
        }
        table_numbers = _numbers_in("\n".join(line.display() for line in rows))
        return cls(_compact(text), _numbers_in(text), table_numbers, units)

    def supports(self, claim: str, number: str, unit: str) -> bool:
        if not unit:
            return number in self.numbers
        # Not inside a larger number: "20만원" must not match "120만원".
        if re.search(rf"(?<!\d){re.escape(claim)}", self.source):
            return True
        # Table cells are bare ("이수자 수 80"); their unit is the caption's note or, for counts, obvious.
        return number in self.table_numbers and (unit in self.table_units or unit in COUNT_UNITS)


def verify(reply: str, blocks: list[list[ParsedLine]], system_prompt: str = "") -> Verification:
    """Accept a reply only if it cites existing blocks and every number in it is in the cited blocks."""
    result = Verification(cited=cited_blocks(reply))
    if not reply.strip():
        result.problem = "empty reply"
        return result
    if not result.cited:
        result.problem = "reply cites no context block"
        return result
    missing = [n for n in result.cited if not 1 <= n <= len(blocks) or not blocks[n - 1]]
    if missing:
        result.problem = f"reply cites blocks that do not exist: {missing}"
        return result
    leaked = [ln for ln in system_prompt.splitlines() if len(ln.strip()) >= 30 and ln.strip() in reply]
    if leaked:
        result.problem = "reply repeats the system prompt"
        return result
    evidence = Evidence.of([(n, blocks[n - 1]) for n in result.cited])
    claims = number_claims(reply)
    result.claims = [claim for claim, _, unit in claims if unit]
    unsupported = [claim for claim, number, unit in claims if not evidence.supports(claim, number, unit)]
    if unsupported:
        result.problem = f"numbers not in the cited blocks {result.cited}: {unsupported}"
    return result


def _line_used(line: ParsedLine, reply_compact: str, claims: Iterable[str]) -> bool:
    """Whether the reply draws on a line: it repeats one of the line's numbers or most of its words."""
    text = _compact(line.display())
    if any(re.search(rf"(?<!\d){re.escape(claim)}", text) for claim in claims):
        return True
    words = {w for w in _WORD.findall(line.display())}
    hits = sum(1 for w in words if w in reply_compact)
    return hits >= 2 and hits >= 0.5 * len(words)


def citations_for(
    reply: str, blocks: list[list[ParsedLine]], verification: Verification
) -> tuple[list[Citation], str]:
    """Citations of the cited blocks (used lines marked) and the reply with [n] renumbered to match them."""
    reply_compact = _compact(reply)
    lines: list[ParsedLine] = []
    seen: set[tuple[str, int]] = set()
    for number in verification.cited:
        for line in blocks[number - 1]:
            if (line.document, line.start) not in seen:
                seen.add((line.document, line.start))
                lines.append(line)
    used = {(ln.document, ln.start) for ln in lines if _line_used(ln, reply_compact, verification.claims)}
    for number in verification.cited:  # a cited block with no recognisable use: highlight all of it
        block = blocks[number - 1]
        if not any((ln.document, ln.start) in used for ln in block):
            used.update((ln.document, ln.start) for ln in block)
    citations = cite(lines, used)
    index = {(c.document, c.section): i for i, c in enumerate(citations, start=1)}
    renumber = {
        n: index[(blocks[n - 1][0].document, join_label(blocks[n - 1][0].path))] for n in verification.cited
    }

    def replace(match: re.Match[str]) -> str:
        targets = dict.fromkeys(renumber[int(p)] for p in match.group(1).split(","))
        return "[" + ", ".join(str(t) for t in targets) + "]"

    return citations, _MARKER.sub(replace, reply)


def classify_error(error: BaseException) -> Problem:
    """Timeout, unreachable server or anything else, across the openai, ollama and httpx errors."""
    timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
    unreachable: tuple[type[BaseException], ...] = (ConnectionError,)
    try:
        import httpx

        timeouts += (httpx.TimeoutException,)
        unreachable += (httpx.NetworkError,)
    except ImportError:  # pragma: no cover - httpx comes with both providers
        pass
    try:
        import openai

        timeouts += (openai.APITimeoutError,)
        unreachable += (openai.APIConnectionError,)
    except ImportError:
        pass
    current: BaseException | None = error
    while current is not None:
        if isinstance(current, timeouts):
            return "timeout"
        if isinstance(current, unreachable):
            return "unreachable"
        current = current.__cause__ or current.__context__
    return "failed"


NOTICES: dict[Problem, str] = {
    "timeout": NOTICE_TIMEOUT,
    "unreachable": NOTICE_UNREACHABLE,
    "failed": NOTICE_FAILED,
}


def _with_notice(fallback: Answer, notice: str) -> Answer:
    return fallback.model_copy(update={"notices": [*fallback.notices, notice]})


class ChatModelAnswerer:
    """An `LLMAnswerer` over any langchain chat model; replies are verified against the blocks."""

    def __init__(self, chat_model: Any, settings: LLMSettings, probe_url: str) -> None:
        self.chat_model = chat_model
        self.settings = settings
        self.probe_url = probe_url
        self.name = f"{settings.provider}:{settings.model}"

    def answer(
        self, question: str, history: list[str], blocks: list[list[ParsedLine]], fallback: Answer
    ) -> Answer:
        """The verified LLM answer, or the extractive `fallback` with a notice saying why."""
        blocks = [b for b in blocks if b]
        if not blocks:
            logger.warning("LLM stage skipped: no context blocks")
            return _with_notice(fallback, NOTICE_UNVERIFIED)
        messages = build_messages(question, history, blocks)
        try:
            reply = self.chat_model.invoke(messages)
        except Exception as error:
            problem = classify_error(error)
            logger.warning(
                "LLM call to %s failed (%s): %s: %s", self.name, problem, type(error).__name__, error
            )
            return _with_notice(fallback, NOTICES[problem])
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        text = text.strip()
        verification = verify(text, blocks, system_prompt=messages[0][1])
        if not verification.ok:
            logger.warning("LLM reply rejected: %s; reply was %r", verification.problem, text[:500])
            return _with_notice(fallback, NOTICE_UNVERIFIED)
        citations, text = citations_for(text, blocks, verification)
        return fallback.model_copy(update={"text": text, "mode": "llm", "citations": citations})

    def status(self) -> str:
        """A short Korean status for the sidebar; probes the server with a short timeout, never raises."""
        headers = {"Accept": "application/json"}
        if self.settings.provider == "openai" and self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        request = urllib.request.Request(self.probe_url, headers=headers)
        timeout = min(STATUS_TIMEOUT_S, self.settings.timeout_s)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = json.loads(response.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as error:
            logger.info("LLM status probe %s: HTTP %s", self.probe_url, error.code)
            return f"연결 안 됨: 서버 오류 (HTTP {error.code})"
        except Exception as error:
            logger.info("LLM status probe %s failed: %s", self.probe_url, error)
            return f"연결 안 됨: {self.probe_url} 에 연결할 수 없습니다"
        models = _served_models(body)
        if models and not _model_listed(self.settings.model, models):
            return f"연결 안 됨: 서버에 '{self.settings.model}' 모델이 없습니다"
        return f"연결됨 ({self.settings.model})"


def _served_models(body: Any) -> list[str]:
    """Model names from an OpenAI `/models` ({"data": [{"id"}]}) or Ollama `/api/tags` ({"models": [{"name"}]})."""
    if not isinstance(body, dict):
        return []
    entries = body.get("data") or body.get("models") or []
    names = [e.get("id") or e.get("name") or e.get("model") for e in entries if isinstance(e, dict)]
    return [n for n in names if isinstance(n, str)]


def _model_listed(model: str, served: list[str]) -> bool:
    return any(model in (name, name.removesuffix(":latest")) for name in served)


def _missing(package: str) -> ImportError:
    return ImportError(
        f"The LLM answer stage needs the '{package}' package: install it with "
        f"`pip install -e '.[llm]'` (or `pip install {package}`), or set GURO_JOBS_LLM__PROVIDER=none."
    )


def create_llm_answerer(settings: LLMSettings) -> ChatModelAnswerer:
    """Build the LLM stage for `settings.provider` ("openai"-compatible server or "ollama")."""
    if not settings.model:
        raise ValueError(f"LLM provider '{settings.provider}' needs a model name: set GURO_JOBS_LLM__MODEL.")
    if settings.provider == "openai":
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as error:
            raise _missing("langchain-openai") from error
        base_url = settings.base_url.rstrip("/") or None
        chat_model: Any = ChatOpenAI(
            base_url=base_url,
            api_key=settings.api_key,  # type: ignore[arg-type]
            model=settings.model,
            timeout=settings.timeout_s,
            max_retries=0,
            temperature=settings.temperature,
        )
        return ChatModelAnswerer(chat_model, settings, f"{base_url or DEFAULT_OPENAI_URL}/models")
    if settings.provider == "ollama":
        try:
            from langchain_ollama import ChatOllama
        except ImportError as error:
            raise _missing("langchain-ollama") from error
        base_url = settings.base_url.rstrip("/") or DEFAULT_OLLAMA_URL
        chat_model = ChatOllama(
            base_url=base_url,
            model=settings.model,
            temperature=settings.temperature,
            client_kwargs={"timeout": settings.timeout_s},
        )
        return ChatModelAnswerer(chat_model, settings, f"{base_url}/api/tags")
    raise ValueError(f"Unknown LLM provider {settings.provider!r}: use 'openai', 'ollama' or 'none'.")
