"""Step 5 of the answer path: compose the answer from the chosen units (or programs, for a list).

A single answer shows the best unit and the units of the same section the ranker also rates high (the
share of the best score was chosen on cross-validation), as the plan writes them; a table row is shown
with its column names. A list answer shows the catalog's programs that fit the asker, ordered by the
ranker's evidence for each. The key values the question asks for are marked for the app to bold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from guro_jobs.decide import Ranking
from guro_jobs.eligibility import Verdict, judge
from guro_jobs.features import unit_label_slots
from guro_jobs.messages import message
from guro_jobs.understand import Question
from ingestion.models import ParsedLine, Program
from ingestion.parser import VALUE, heading_words, measure_of
from knowledge.lexicon import Lexicon, squash
from knowledge.lexicon import load as load_lexicon
from knowledge.names import name_core
from knowledge.store import KnowledgeBase

_BULLET = re.compile(r"^\s*(?:[○◦ㅇ□■▪▸‣･•·※]|-(?!\d))\s*")
SUMMARY_CHARS = 80


@dataclass
class Composition:
    text: str
    lines: list[ParsedLine]
    used: set[tuple[str, int]]
    focus: str
    focus_path: list[str]
    document: str
    units: list[int] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    verdict: Verdict | None = None
    contact: str | None = None
    unstated: list[str] = field(default_factory=list)  # slots asked that the shown lines do not state


def strip_bullet(text: str) -> str:
    return _BULLET.sub("", text, count=1)


def _overlaps(a: ParsedLine, lines: list[ParsedLine]) -> bool:
    return any(a.document == b.document and a.start <= b.end and b.start <= a.end for b in lines)


def reading(line: ParsedLine) -> str:
    """A line as the answer shows it: the plan's words, and for a table row its column names and unit."""
    text = strip_bullet(line.text)
    if line.cells:
        columns = "·".join(name for name, _ in line.cells)
        unit = re.search(r"단위\s*[:：]?\s*([^)|]+)", line.context or "")
        text += f" [{columns}" + (f", 단위: {unit.group(1).strip()}" if unit else "") + "]"
    return text


def highlights(lines: list[ParsedLine], question: Question, lexicon: Lexicon) -> list[str]:
    """The values in the shown lines of the kinds the question asks for (amount, age, date, place …)."""
    kinds = {kind for slot in question.slots for kind in lexicon.slot_values.get(slot, ())}
    if question.asker.age is not None or question.asker.age_range is not None:
        kinds.add("age")
    found: list[str] = []
    for line in lines:
        text = line.display()
        for start, end, _kind in lexicon.value_spans(text, kinds or None):
            value = text[start:end].strip()
            if value and value not in found:
                found.append(value)
    return found[:4]


@dataclass(frozen=True)
class Settings:
    """How much an answer shows; training chooses each on cross-validation and saves them with the unit
    ranker's weights (`LinearModel.params`). These defaults serve an untrained ranker."""

    support_ratio: float = 0.6
    broad_below: float = 0.0
    sibling_share: float = 1.01
    max_units: float = 3.0
    room: float = 420.0
    broad_sections: float = 2.0  # an unsure answer to a question naming no program adds this many close programs
    broad_share: float = 0.3  # … each at least this share as likely as the best one
    list_units: float = 6.0  # a question asking "which ones" about one program: units of its section shown
    list_support: float = 0.3  # … each at least this share as likely as the best unit
    list_room: float = 480.0  # … in this many characters
    list_share: float = 0.25  # a list of programs shows those whose evidence is at least this share of the best
    list_limit: float = 8.0  # … and at most this many

    @classmethod
    def of(cls, params: Mapping[str, float]) -> Settings:
        names = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in params.items() if k in names})


def compose_answer(
    question: Question, ranking: Ranking, kb: KnowledgeBase, lexicon: Lexicon, params: Mapping[str, float]
) -> Composition:
    """The answer from the best unit's section: its best unit and the others rated close to it
    (`support_ratio` of its probability). A sibling section of the same task at least `sibling_share` as
    likely adds its best unit (a program's details spread over 사업개요 and 연차별 추진계획). When the
    question names no program and the best section is less sure than `broad_below`, the best unit of up
    to `broad_sections` more programs follows (each at least `broad_share` as likely). An answer shows at
    most `max_units` units of its section in `room` characters. All were chosen on cross-validation
    (`python -m eval train`, see `Settings`)."""
    settings = Settings.of(params)
    top = int(ranking.units[0])
    best = float(ranking.probability[0])
    section = int(kb.section_of[top])
    chosen = [top]
    lines: list[ParsedLine] = list(kb.units[top].lines)
    if question.wants_list:
        most, ratio, room = int(settings.list_units), settings.list_support, settings.list_room
    else:
        most, ratio, room = int(settings.max_units), settings.support_ratio, settings.room
    for unit, p in zip(ranking.units[1:], ranking.probability[1:], strict=True):
        if len(chosen) >= most:
            break
        index = int(unit)
        if int(kb.section_of[index]) != section or float(p) < ratio * best:
            continue
        extra = [ln for ln in kb.units[index].lines if not _overlaps(ln, lines)]
        if not extra or sum(len(ln.text) for ln in lines + extra) > room or all(_states_nothing(ln.text) for ln in extra):
            continue
        chosen.append(index)
        lines.extend(extra)
    top_section = kb.sections[section]
    siblings = [
        other
        for other, p in ranking.section_order[1:3]
        if p >= settings.sibling_share * ranking.section_order[0][1]
        and (kb.sections[other].document, *kb.sections[other].path[:2]) == (top_section.document, *top_section.path[:2])
    ][:1]
    # "노인일자리랑 안심일자리는 대상이 어떻게 달라요?": a second program named gets its own best unit.
    for other in [*siblings, *_other_named_sections(question, ranking, kb, section)]:
        index = next(int(u) for u in ranking.units if int(kb.section_of[int(u)]) == other)
        extra = [ln for ln in kb.units[index].lines if not _overlaps(ln, lines)]
        if extra:
            chosen.append(index)
            lines.extend(extra)
    # The best section's lines first, each section in the plan's order.
    lines.sort(key=lambda ln: (tuple(ln.path) != tuple(kb.sections[section].path), ln.document, ln.start))
    more: list[tuple[str, ParsedLine]] = []
    if not question.focus and ranking.section_order and ranking.section_order[0][1] < settings.broad_below:
        tasks = {(kb.sections[section].document, *kb.sections[section].path[:2])}
        top_p = ranking.section_order[0][1]
        added = 0
        for other, p in ranking.section_order[1:]:
            if added >= settings.broad_sections or p < settings.broad_share * top_p:
                break
            sec = kb.sections[other]
            task = (sec.document, *sec.path[:2])
            if task in tasks:
                continue
            index = next(int(u) for u in ranking.units if int(kb.section_of[int(u)]) == other)
            unit_lines = [ln for ln in kb.units[index].lines if not _overlaps(ln, lines)][:2]
            if unit_lines:
                tasks.add(task)
                added += 1
                chosen.append(index)
                more.extend((heading_words(sec.title), ln) for ln in unit_lines)
    path = kb.sections[section].path
    title = heading_words(kb.sections[section].title)
    # The verdict is about the program whose criteria the plan states (a summary row states none): the
    # one the question names when it names one, else the first shown.
    stated = [
        p
        for p in (program_for(kb, kb.units[u].document, kb.units[u].path, kb.units[u].start) for u in chosen)
        if p is not None and (p.target is not None or p.age is not None)
    ]
    named = [p for p in stated if any(m.covers(p.document, p.section_path, p.span.start, p.span.end) for m in question.focus)]
    program = next(iter(named or stated), None)
    owners = [program_for(kb, kb.units[u].document, kb.units[u].path, kb.units[u].start) for u in chosen]
    contact = next((f"{p.contact.label} : {p.contact.text}" for p in owners if p is not None and p.contact), None)
    verdict = (
        judge(question.asker, program, lexicon)
        if program is not None and question.asker.told and question.asks_eligibility
        else None
    )
    body = [f"• {reading(line)}" for line in lines]
    for other_title, line in more:
        body.append(f"▸ {other_title}: {reading(line)}")
    lines = lines + [ln for _, ln in more]
    head = title
    if verdict is not None:
        head = f"{verdict.label} — {verdict.reason}" if verdict.reason else verdict.label
        head = f"{heading_words(program.name) if program is not None and program.name else title}: {head}"
    return Composition(
        text="\n".join([head, *body]),
        lines=lines,
        used={(ln.document, ln.start) for ln in lines},
        focus=title,
        focus_path=list(path),
        document=kb.units[top].document,
        units=chosen,
        highlights=highlights(lines, question, lexicon),
        verdict=verdict,
        contact=contact,
        unstated=unstated(question, chosen, lines, kb, lexicon),
    )


def unstated(question: Question, units: list[int], lines: list[ParsedLine], kb: KnowledgeBase, lexicon: Lexicon) -> list[str]:
    """The specific slots asked (an amount, a date, a phone number) that the shown lines state neither as a
    value of their kind (a table's numbers in the unit its caption states) nor under a label of theirs:
    the answer says so instead of implying it."""
    if not question.slots:
        return []
    shown = set().union(*(unit_label_slots(kb.units[u], lexicon) for u in units))
    text = "\n".join(line.display() for line in lines)
    # a table's numbers are values of the unit its caption states (`단위: 백만원` — money)
    measured = set().union(
        *(lexicon.measure_kinds(measure_of(kb.units[u].context)) for u in units if not _states_nothing(kb.units[u].text))
    )
    missing: list[str] = []
    for slot in question.slots:
        kinds = set(lexicon.slot_values.get(slot, ()))
        if slot in shown or not kinds or kinds & measured or lexicon.value_spans(text, kinds) or slot in missing:
            continue
        missing.append(slot)
    return missing


def _other_named_sections(question: Question, ranking: Ranking, kb: KnowledgeBase, section: int) -> list[int]:
    """The best section of another program the question names exactly (`A랑 B는 어떻게 달라요?`); a
    program's summary row elsewhere in the plan (same name) is the same program, not another."""
    exact = [m for m in question.names if m.exact]
    top = kb.sections[section]
    canonical = load_lexicon().canonical
    top_text = canonical(squash(" ".join(top.path)))
    others = [
        m
        for m in exact
        if not m.covers(top.document, top.path, top.start, top.end)
        and canonical(name_core(squash(m.title))) not in top_text
    ]
    if not others:
        return []
    for other, _p in ranking.section_order:
        s = kb.sections[other]
        if other != section and any(m.covers(s.document, s.path, s.start, s.end) for m in others):
            return [other]
    return []


def program_for(kb: KnowledgeBase, document: str, path: list[str], line: int) -> Program | None:
    """The catalog record that owns a line: the deepest program whose section holds it."""
    best: Program | None = None
    for program in kb.catalog.programs:
        if program.document != document or path[: len(program.section_path)] != program.section_path:
            continue
        if program.origin == "table" and not (program.span.start <= line <= program.span.end):
            continue
        if best is None or len(program.section_path) > len(best.section_path):
            best = program
    return best


LineLookup = dict[tuple[str, int], ParsedLine]


def line_lookup(kb: KnowledgeBase) -> LineLookup:
    """Content lines by (document, first line number), for citing a catalog record's sources."""
    return {(ln.document, ln.start): ln for ln in kb.lines if ln.kind != "heading"}


def _program_lines(program: Program, lookup: LineLookup) -> list[ParsedLine]:
    """The plan's lines a list entry stands on: the program's target and first support line."""
    sources = [f.source for f in (program.target, *program.support[:1]) if f is not None] or [program.span]
    out: list[ParsedLine] = []
    for source in sources:
        for number in range(source.start, source.end + 1):
            line = lookup.get((program.document, number))
            if line is not None and line not in out:
                out.append(line)
    return out


def _short(text: str, limit: int = SUMMARY_CHARS) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def relevant_programs(question: Question, ranking: Ranking, kb: KnowledgeBase) -> list[tuple[Program, float]]:
    """Programs with the ranker's best evidence for each (programs without candidate units score 0)."""
    scores: dict[str, float] = {}
    for unit_index, p in zip(ranking.units, ranking.section_probability, strict=True):
        unit = kb.units[int(unit_index)]
        program = program_for(kb, unit.document, unit.path, unit.start)
        if program is not None and float(p) > scores.get(program.id, 0.0):
            scores[program.id] = float(p)
    return [(program, scores.get(program.id, 0.0)) for program in kb.catalog.programs]


def compose_list(
    question: Question,
    ranking: Ranking,
    kb: KnowledgeBase,
    lexicon: Lexicon,
    plan: str,
    lookup: LineLookup,
    params: Mapping[str, float],
) -> Composition | None:
    """A list of programs: a named task's parts, else the catalog's programs that fit the asker, those
    whose evidence is at least `list_share` of the best one's, at most `list_limit` (both chosen on
    cross-validation, see `Settings`)."""
    settings = Settings.of(params)
    scored = relevant_programs(question, ranking, kb)
    asker = question.asker
    named_tasks = [m for m in question.focus if len(m.path) == 2 and m.row is None]
    if named_tasks:
        wanted = {(m.document, m.path) for m in named_tasks}
        chosen = [
            (p, s)
            for p, s in scored
            if len(p.section_path) > 2 and (p.document, tuple(p.section_path[:2])) in wanted
        ]
    else:
        top_score = max((s for _, s in scored), default=0.0)
        chosen = [(p, s) for p, s in scored if s > 0 and s >= settings.list_share * top_score]
        if asker.told:
            chosen = [(p, s) for p, s in chosen if fits(p, question)]
    # Each program once: a table row linked to a task record is the same program.
    shown_ids: set[str] = set()
    unique: list[tuple[Program, float]] = []
    for program, score in sorted(chosen, key=lambda ps: (-ps[1], ps[0].span.start)):
        if program.id in shown_ids or any(link in shown_ids for link in program.linked):
            continue
        shown_ids.add(program.id)
        unique.append((program, score))
    if not unique:
        return None
    shown = unique[: int(settings.list_limit)]
    several = len(kb.profiles) > 1
    if several:
        # Several plans: each program under the plan it comes from.
        shown.sort(key=lambda ps: list(kb.profiles).index(ps[0].document))
    lines_out: list[str] = []
    cited: list[ParsedLine] = []
    current = ""
    for program, _ in shown:
        if several and program.document != current:
            current = program.document
            profile = kb.profiles[current]
            lines_out.append(f"▸ {profile.display_title}")
        verdict = judge(asker, program, lexicon) if asker.told else None
        summary = _short(program.summary())
        mark = f" [{verdict.label}]" if verdict is not None else ""
        lines_out.append(f"• {program.name}{mark}" + (f" — {summary}" if summary else ""))
        cited.extend(_program_lines(program, lookup))
    head = message("list_head", plan=plan, count=len(unique))
    tail = [message("list_more", count=len(unique) - len(shown))] if len(unique) > len(shown) else []
    first = shown[0][0]
    return Composition(
        text="\n".join([head, *lines_out, *tail]),
        lines=cited,
        used={(ln.document, ln.start) for ln in cited},
        focus="",
        focus_path=first.section_path,
        document=first.document,
        programs=[p.id for p, _ in shown],
    )


def _states_nothing(text: str) -> bool:
    """A table row whose value cells are all empty marks (`국 비 - - - - -`) adds nothing to an answer."""
    cells = [word for word in _BULLET.sub("", text, count=1).split() if VALUE.match(word)]
    return len(cells) > 1 and all(word == "-" for word in cells)


def fits(program: Program, question: Question) -> bool:
    """Whether a program can serve the asker as far as the plan states: age inside its range, and one of
    the asker's groups among the program's (a program that states no age or group is not ruled out)."""
    asker = question.asker
    if program.age is not None:
        if asker.age is not None and not program.age.admits(asker.age):
            return False
        if asker.age_range is not None and not program.age.overlaps(*asker.age_range):
            return False
    return not (asker.groups and program.groups and not asker.groups & set(program.groups))
