"""The program catalog: one `Program` record per program of the plan, read from the parsed lines.

Two places of the plan describe programs:

- Ⅳ 전략 및 과제: 27 tasks `(과제 1-1)` … `(과제 4-7)`. Each task gets a record of its own, and every
  `□` block or `【】` sub-program inside it that describes a program gets one more (structural blocks
  such as 추진배경, 기대효과 and 연차별 추진계획 are read into the records, not made into records).
- Ⅲ 분야별 일자리 목표: the per-program tables (직접 일자리사업, 고용서비스, …); one record per row.

Fields are taken as the plan writes them (`FieldValue` with its source line); ages, money amounts,
ratios and income criteria are parsed from those texts. A field the plan does not state stays None.
The same program in both places is linked both ways by name.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ingestion.models import (
    AgeRange,
    Amount,
    DocumentProfile,
    FieldValue,
    ParsedLine,
    Program,
    Ratio,
    SourceRef,
    join_label,
)
from ingestion.parser import task_heading
from knowledge.lexicon import load as load_lexicon
from knowledge.lexicon import squash

logger = logging.getLogger(__name__)

ROW_NUMBER = re.compile(r"^\s*(\d{1,2})\s")
# The record field each slot of a field label fills (knowledge/lexicon/label_slots.tsv says which slot).
ROLE_OF_SLOT = (("target", "target"), ("period", "period"), ("place", "location"), ("hours", "hours"), ("count", "capacity"))
TOP_ITEM = re.compile(r"^[○◦ㅇ□]\s*")
BULLET_MARK = re.compile(r"^(?:[-○◦ㅇ□·･•※]|\d+\))\s*")


def _slots(label: str) -> set[str]:
    return load_lexicon().label_slots(label)


def _role(block: str) -> str | None:
    return load_lexicon().block_role(block) if block else None


def is_staffing(text: str) -> bool:
    flat = squash(text)
    return any(word in flat for word in load_lexicon().block_words("staffing"))


def _is_target_label(word: str) -> bool:
    """`지원대상 …` at the start of a flattened table row states who is served."""
    return _slots(word) == {"target"}


def _is_description(label: str) -> bool:
    slots = _slots(label)
    return "content" in slots and "amount" not in slots


def _is_support(label: str) -> bool:
    return "amount" in _slots(label)


def _skips_support(header: str) -> bool:
    """Items under `○ 추진절차`, `○ 운영방식`, `○ 기대효과` describe procedure or background."""
    return bool(_slots(header) & {"procedure", "agency"}) or _role(header) == "background"


# --- ages ---------------------------------------------------------------------------------------
AGE_SPAN = re.compile(r"(?:만\s*)?(\d{1,3})\s*세?\s*[~∼-]\s*(\d{1,3})\s*세(?:\s*(이하|미만))?")
AGE_LOW = re.compile(r"(?:만\s*)?(\d{1,3})\s*세\s*(이상|초과)")
AGE_HIGH = re.compile(r"(?:만\s*)?(\d{1,3})\s*세\s*(이하|미만)")

# --- money, ratios, income criteria -----------------------------------------------------------
MONEY = re.compile(
    r"(\d[\d,]*(?:\.\d+)?)(?:\s*/\s*(\d[\d,]*(?:\.\d+)?))?\s*(억\s*원|천만\s*원|백만\s*원|만\s*원|천\s*원|원)(?![가-힣])"
)
def _won(unit: str) -> float:
    """What one of a money unit is in won (knowledge/lexicon/value_units.tsv)."""
    return load_lexicon().won_per_unit[unit]



# 천만원 is not one of the catalog's units: `1천만원` is kept as 1,000 만원.
UNIT_REWRITE = {"천만원": ("만원", 1000.0)}
PER_MARKERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d*인당"), "1인당"),
    (re.compile(r"기업\s*당"), "기업당"),
    (re.compile(r"(?<![가-힣\d])연간|(?<![가-힣\d])연(?![가-힣])"), "연간"),
    (re.compile(r"(?<![가-힣\d])매?월(?![가-힣])"), "월"),
    (re.compile(r"(?<!\d)1일"), "1일"),
    (re.compile(r"시급"), "시간당"),
)
RATIO = re.compile(r"(?:([가-힣]+(?:비|부담))\s*)?(\d+(?:\.\d+)?)\s*%")
INCOME = (
    ("소득기준", re.compile(r"(?:기준\s*)?중위소득(?:의)?\s*\d+(?:\.\d+)?\s*%\s*(?:이하|미만|이내)")),
    ("재산기준", re.compile(r"재산(?:이|은)?\s*[\d,.]+\s*(?:억|천만|만)?\s*원\s*(?:이하|미만|이내)")),
)
HEADCOUNT = re.compile(r"\d[\d,]*\s*여?\s*(?:명|개사)(?:\s*내외)?")

# --- names --------------------------------------------------------------------------------------
# `대상` after a word for projects (`5개 사업 대상 기간제 채용`) names projects, not people.
ROW_TARGET = re.compile(r"(?<!사업)(?<!사업\s)대상|\d{2}\s*세")
LINK_COVERAGE = 0.8
KPI_COVERAGE = 0.6


# ================================================================================================
# small parsers
# ================================================================================================
def source_of(line: ParsedLine) -> SourceRef:
    """The line as a citation: the plan's own words at its span (a rebuilt table row is never quoted)."""
    return SourceRef(text=line.text, start=line.start, end=line.end, page=line.page)


def strip_bullet(text: str) -> str:
    return BULLET_MARK.sub("", text).strip()


def parse_age(text: str) -> AgeRange | None:
    """Ages a target text admits: `만 18세~39세`, `만 50세 이상 70세 미만`, `만 65세 이상`, `만 19~34세`."""
    if m := AGE_SPAN.search(text):
        return AgeRange(
            min=int(m.group(1)),
            max=int(m.group(2)),
            max_inclusive=m.group(3) != "미만",
            text=m.group(0).strip(),
        )
    low = AGE_LOW.search(text)
    if low:
        high = AGE_HIGH.search(text, low.end())
        end = high.end() if high else low.end()
        return AgeRange(
            min=int(low.group(1)),
            min_inclusive=low.group(2) == "이상",
            max=int(high.group(1)) if high else None,
            max_inclusive=bool(high) and high.group(2) == "이하",
            text=text[low.start() : end].strip(),
        )
    if high := AGE_HIGH.search(text):
        return AgeRange(
            max=int(high.group(1)), max_inclusive=high.group(2) == "이하", text=high.group(0).strip()
        )
    return None


def _per(window: str) -> str | None:
    """`1인당 연간`, `월`, `1일` …: the per-markers written before an amount, in the order written."""
    found: list[tuple[int, str]] = []
    for pattern, name in PER_MARKERS:
        for m in pattern.finditer(window):
            if name not in (n for _, n in found):
                found.append((m.start(), name))
    return " ".join(name for _, name in sorted(found)) or None


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def parse_amounts(text: str) -> list[Amount]:
    """Every money amount in a text, with its won value and what it is per (`월 20만원` -> 200,000 per 월)."""
    amounts: list[Amount] = []
    previous_end = 0
    for m in MONEY.finditer(text):
        unit = re.sub(r"\s+", "", m.group(3))
        factor = 1.0
        if unit in UNIT_REWRITE:
            unit, factor = UNIT_REWRITE[unit]
        per = _per(text[previous_end : m.start()])
        for raw in (m.group(1), m.group(2)):
            if raw is None:
                continue
            value = _number(raw) * factor
            amounts.append(
                Amount(text=m.group(0).strip(), value=value, unit=unit, won=value * _won(unit), per=per)
            )
        previous_end = m.end()
    return amounts


def parse_ratios(text: str) -> list[Ratio]:
    """Percentages, with the cost they apply to when the plan names it (`학비 90%`, `참가비 50%`)."""
    return [Ratio(text=m.group(0).strip(), percent=float(m.group(2))) for m in RATIO.finditer(text)]


def income_criteria(line: ParsedLine, text: str) -> list[FieldValue]:
    """Income and asset thresholds as written: `기준중위소득의 70% 이하`, `재산이 4억원 이하`."""
    found: list[FieldValue] = []
    for label, pattern in INCOME:
        for m in pattern.finditer(text):
            found.append(FieldValue(label=label, text=m.group(0), source=source_of(line)))
    return found


def age_groups(age: AgeRange | None) -> set[str]:
    """Groups an age range alone implies, by the age bands of knowledge/lexicon/age_groups.tsv."""
    if age is None:
        return set()
    low, high = age.bounds()
    return {
        band.group
        for band in load_lexicon().age_bands
        if (band.open_ended and band.min <= low <= band.max)
        or (not band.open_ended and age.max is not None and band.min <= low and high <= band.max)
    }


def word_groups(text: str) -> set[str]:
    """Groups named in a text. An organisation word (`중소기업`) counts only when no group of people is
    named: a program for 청년 at 중소기업 (`청년 중소기업 체험사업`) is for the 청년, not the firms."""
    lexicon = load_lexicon()
    groups = lexicon.groups(text, side="both")
    organisations = lexicon.groups(text, side="org")
    if organisations and not groups & lexicon.person_groups:
        groups |= organisations
    return groups | {implied for g in groups for implied in lexicon.implied_groups.get(g, ())}


def ordered_groups(groups: Iterable[str]) -> list[str]:
    wanted = set(groups)
    return [g for g in load_lexicon().group_words if g in wanted]


# ================================================================================================
# names: ids, linking and KPI matching
# ================================================================================================
def slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text).strip("-")


def name_cores(name: str) -> list[str]:
    """A name reduced for comparison (spacing, punctuation and generic words dropped), plus the part
    after a slogan (`도전하니깐 청춘이다! 청년도전지원사업` -> `청년도전`)."""
    variants = [name]
    parts = [p for p in name.split("!") if p.strip()]
    if len(parts) > 1:
        variants.append(parts[-1])
    fillers = sorted(load_lexicon().block_words("generic") + load_lexicon().block_words("filler"), key=len, reverse=True)
    cores: list[str] = []
    for variant in variants:
        core = load_lexicon().canonical(re.sub(r"[^0-9a-z가-힣]", "", variant.lower()))
        for word in fillers:
            core = core.replace(word, "")
        if core:
            cores.append(core)
    return cores


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


def name_score(a: str, b: str, ignore: set[str] | None = None, min_grams: int = 3) -> tuple[float, float]:
    """(coverage, dice) of two names' character bigrams: coverage is how much of the smaller name the
    larger one holds, so an abbreviation (`청년도전지원사업`) scores high against the full title.
    Names shorter than `min_grams` bigrams (`기 타`) match nothing."""
    best = (0.0, 0.0)
    for core_a in name_cores(a):
        for core_b in name_cores(b):
            set_a, set_b = bigrams(core_a), bigrams(core_b)
            if ignore:
                set_a, set_b = (set_a - ignore) or set_a, (set_b - ignore) or set_b
            common = len(set_a & set_b)
            coverage = common / min(len(set_a), len(set_b))
            dice = 2 * common / (len(set_a) + len(set_b))
            if min(len(set_a), len(set_b)) >= min_grams:
                best = max(best, (coverage, dice))
    return best


# ================================================================================================
# reading one program's lines
# ================================================================================================
@dataclass
class _Read:
    """What the lines of one program say, before it becomes a `Program`."""

    target: FieldValue | None = None
    period: FieldValue | None = None
    location: FieldValue | None = None
    hours: FieldValue | None = None
    capacity: FieldValue | None = None
    budget: FieldValue | None = None
    contact: FieldValue | None = None
    description: FieldValue | None = None
    title_value: FieldValue | None = None
    support: list[FieldValue] = field(default_factory=list)
    income: list[FieldValue] = field(default_factory=list)
    context: list[ParsedLine] = field(default_factory=list)
    collected: list[ParsedLine] = field(default_factory=list)
    collected_label: str = ""
    first_prose: ParsedLine | None = None
    kpi_rows: list[ParsedLine] = field(default_factory=list)
    budget_row: ParsedLine | None = None
    content_rows: list[ParsedLine] = field(default_factory=list)
    year_column: str = ""  # `2023년`: the plan year's column of the yearly table


def _block(line: ParsedLine) -> str:
    return line.path[2] if len(line.path) > 2 else ""


def _has_money(text: str) -> bool:
    return bool(MONEY.search(text) or RATIO.search(text))


def _read_plan_line(line: ParsedLine, read: _Read) -> None:
    """A line of 연차별 추진계획: a KPI row (cells keyed by year), the 사업비 row, or misplaced content."""
    if line.field == "세부사업":
        # Parser workaround: 과제 4-3 prints its 사업내용 table (`연번 사업내용 목 표`) after the budget
        # table, and the parser reads it as 세부사업 rows of a program table; it is the task's content.
        read.content_rows.append(line)
        return
    if not line.cells:
        return
    keys = [name for name, _ in line.cells]
    if "budget" in _slots(line.stub or "") and read.year_column in keys:
        read.budget_row = read.budget_row or line
    elif "계" not in keys and keys[0].endswith("년"):
        read.kpi_rows.append(line)


def _set_once(read: _Read, attr: str, value: FieldValue) -> None:
    if getattr(read, attr) is None:
        setattr(read, attr, value)


def _read_field(line: ParsedLine, label: str, value: str, header: str, read: _Read) -> None:
    fv = FieldValue(label=label, text=value, source=source_of(line))
    slots = _slots(label)
    money = _has_money(value)
    for slot, attr in ROLE_OF_SLOT:
        # `지원규모 : 선정기업 당 10,000천원 이내` is an amount of support, not a head count.
        if slot in slots and not (slot == "count" and ("budget" in slots or money)):
            _set_once(read, attr, fv)
            return
    if "budget" in slots and "amount" not in slots:
        _set_once(read, "budget", fv)
        return
    if "agency" in slots:
        # `사업수행기관 : 구청(동주민센터) …`, `운영방법 : 위탁운영(…)`: who runs it, whom to ask.
        _set_once(read, "contact", fv)
    if _is_description(label):
        if read.description is None or (label == "사업내용" and read.description.label != "사업내용"):
            read.description = fv
        return
    if label == re.sub(r"\s+", "", _block(line)):
        read.title_value = read.title_value or fv  # `□ 일자리 거버넌스 활성화 : 30여 개 …`
        return
    if _is_support(label) or (header and _is_support(header)) or (not _skips_support(header) and money):
        read.support.append(fv)


def read_lines(lines: Sequence[ParsedLine], year_column: str = "") -> _Read:
    """Sort one program's lines into its fields, keeping track of the `○ 라벨` each line sits under."""
    read = _Read(year_column=year_column)
    header = ""
    collecting = ""
    for line in lines:
        if line.kind == "heading":
            header, collecting = "", ""
            continue
        block = _block(line)
        role = _role(block)
        if role == "yearly":
            _read_plan_line(line, read)
            continue
        if role == "background":
            read.context.append(line)
            continue
        if role == "budget":
            if line.kind == "field" and line.field and "budget" in _slots(line.field) and line.value:
                _set_once(
                    read, "budget", FieldValue(label=line.field, text=line.value, source=source_of(line))
                )
            continue
        text = line.text
        top = bool(TOP_ITEM.match(text))
        read.income.extend(income_criteria(line, line.value if line.kind == "field" and line.value else text))
        if top:
            label = (
                line.field
                if line.kind == "field" and line.field
                else re.sub(r"\s+", "", TOP_ITEM.sub("", text))
            )
            # `○ (재직자교육) …` items continue the 사업내용 list above them.
            if not (collecting and line.kind != "field" and TOP_ITEM.sub("", text).startswith("(")):
                header = label
                collecting = label if line.kind != "field" and _is_description(label) else ""
                if collecting:
                    read.collected_label = label
                    continue
        if collecting:
            read.collected.append(line)
        if line.kind == "field" and line.field and line.value:
            _read_field(line, line.field, line.value, header, read)
            continue
        _read_text_line(line, top, header, read)
    return read


def _read_text_line(line: ParsedLine, top: bool, header: str, read: _Read) -> None:
    """A prose or table line: a flattened `지원대상 …` row, a statement, or support under `○ 지원내용`
    or carrying money."""
    text = line.text
    first, _, rest = text.partition(" ")
    if rest and _is_target_label(first):
        _set_once(read, "target", FieldValue(label=first, text=rest.strip(), source=source_of(line)))
        return
    if line.kind == "prose" and read.first_prose is None and top and len(text.split()) >= 4:
        read.first_prose = line  # `○ 공교육 현장 및 …`: a statement, not a label like `○ 지원내용`
    if not top and header and _is_support(header):
        read.support.append(FieldValue(label=header, text=strip_bullet(text), source=source_of(line)))
    elif not _skips_support(header) and _has_money(text) and not line.cells:
        read.support.append(FieldValue(label="지원내용", text=strip_bullet(text), source=source_of(line)))


def _joined(label: str, lines: Sequence[ParsedLine], sep: str = " / ") -> FieldValue:
    """Several lines as one field: their texts joined, the source spanning them."""
    text = sep.join(strip_bullet(ln.text) for ln in lines)
    first, last = lines[0], lines[-1]
    return FieldValue(
        label=label, text=text, source=SourceRef(text=text, start=first.start, end=last.end, page=first.page)
    )


def first_statement(lines: Sequence[ParsedLine]) -> list[ParsedLine]:
    """The first `○` item with the lines that continue it.

    Parser workaround: a line the plan wraps without a trailing blank or indent (과제 2-7, 4-4, 4-5
    추진배경) comes out as separate prose lines; the pieces up to the next item are one sentence.
    """
    out = [lines[0]]
    for line in lines[1:]:
        if line.kind != "prose" or BULLET_MARK.match(line.text) or _block(line) != _block(lines[0]):
            break
        out.append(line)
    return out


def description_of(read: _Read, task_level: bool) -> FieldValue | None:
    """사업내용 as written; else the lines listed under `○ 사업내용`; else the block's own summary line;
    for a task, its 추진배경; else the first prose line."""
    if read.description is not None and read.description.label == "사업내용":
        return read.description
    if read.collected:
        return _joined(read.collected_label, read.collected)
    if read.description is not None:
        return read.description
    if read.content_rows:
        rows = [
            ln.model_copy(update={"text": re.sub(r"^\d{1,2}\s+", "", ln.text)}) for ln in read.content_rows
        ]
        return _joined("사업내용", rows)
    if read.title_value is not None:
        return read.title_value
    if task_level and read.context:
        return _joined(_block(read.context[0]) or "추진배경", first_statement(read.context), sep=" ")
    if read.first_prose is not None:
        return FieldValue(
            label="사업내용", text=strip_bullet(read.first_prose.text), source=source_of(read.first_prose)
        )
    return None


def capacity_of(read: _Read) -> FieldValue | None:
    """규모 as written; else the head count the target states (`청년 80명`, `중소기업 10개사 내외`)."""
    if read.capacity is not None or read.target is None:
        return read.capacity
    m = HEADCOUNT.search(read.target.text)
    if m is None:
        return None
    return FieldValue(label=read.target.label, text=m.group(0), source=read.target.source)


def budget_of(read: _Read) -> tuple[FieldValue | None, Amount | None]:
    """The plan year's 사업비 from the task's yearly table; else a 소요예산/사업예산 line as written."""
    row = read.budget_row
    if row is not None and row.cells:
        value = dict(row.cells)[read.year_column]
        unit_match = re.search(r"단위\s*:\s*([^/|)\s]+)", row.context or "")
        unit = unit_match.group(1) if unit_match else "백만원"
        fv = FieldValue(label=f"{read.year_column} {row.stub}({unit})", text=value, source=source_of(row))
        return fv, _plain_amount(value, unit)
    if read.budget is not None:
        amounts = parse_amounts(read.budget.text)
        return read.budget, amounts[0] if amounts else None
    return None, None


def _plain_amount(value: str, unit: str) -> Amount | None:
    """A table cell in the table's unit (`1,538.5` 백만원); '-' and malformed cells give None."""
    if unit not in load_lexicon().won_per_unit:
        return None
    try:
        number = _number(value)
    except ValueError:
        return None
    return Amount(text=f"{value}{unit}", value=number, unit=unit, won=number * _won(unit))


def kpi_field(row: ParsedLine) -> FieldValue:
    return FieldValue(label="성과지표", text=row.display(), source=source_of(row))


# ================================================================================================
# building records
# ================================================================================================
def _groups_for(
    name: str, target: FieldValue | None, age: AgeRange | None, others: Iterable[str]
) -> set[str]:
    """Who a program serves: from its target text when the plan states one, else from its name and
    what it offers; plus what its age range implies."""
    words = target.text if target is not None else " ".join([name, *others])
    return word_groups(words) | age_groups(age)


def program_from_read(
    read: _Read,
    *,
    ident: str,
    name: str,
    heading: ParsedLine,
    end: int,
    task_id: str,
    task_title: str,
    task_level: bool,
) -> Program:
    description = description_of(read, task_level)
    budget, budget_amount = budget_of(read)
    age = parse_age(read.target.text) if read.target else None
    amounts = [a for fv in read.support for a in parse_amounts(fv.text)]
    ratios = [r for fv in read.support for r in parse_ratios(fv.text)]
    others = [description.text if description else "", *(f"{fv.label} {fv.text}" for fv in read.support)]
    return Program(
        id=ident,
        name=name,
        document=heading.document,
        origin="task",
        task_id=task_id,
        task_title=task_title,
        section=join_label(heading.path),
        section_path=list(heading.path),
        span=SourceRef(text=heading.text, start=heading.start, end=end, page=heading.page),
        target=read.target,
        age=age,
        groups=ordered_groups(_groups_for(name, read.target, age, others)),
        support=read.support,
        amounts=amounts,
        ratios=ratios,
        income_criteria=_unique(read.income),
        period=read.period,
        location=read.location,
        hours=read.hours,
        capacity=capacity_of(read),
        contact=read.contact,
        kpi=[kpi_field(row) for row in read.kpi_rows],
        budget=budget,
        budget_amount=budget_amount,
        description=description,
    )


def _unique(values: list[FieldValue]) -> list[FieldValue]:
    seen: set[tuple[str, int]] = set()
    out: list[FieldValue] = []
    for fv in values:
        key = (fv.text, fv.source.start)
        if key not in seen:
            seen.add(key)
            out.append(fv)
    return out


@dataclass
class _Unit:
    """One program's lines in Ⅳ: a task's own lines, or a □/【】 sub-program block."""

    key: tuple[str, ...]
    heading: ParsedLine
    lines: list[ParsedLine] = field(default_factory=list)


def _owner(line: ParsedLine) -> tuple[str, ...]:
    """Which unit of its task a line belongs to: () for the task itself, else the block (and 【】)."""
    path = line.path
    if len(path) >= 4:
        return (path[2], path[3])
    if len(path) == 3 and _role(path[2]) is None:
        return (path[2],)
    return ()


def split_tasks(lines: Sequence[ParsedLine]) -> list[tuple[ParsedLine, list[ParsedLine]]]:
    """Each task heading with every line under it."""
    tasks: list[tuple[ParsedLine, list[ParsedLine]]] = []
    for line in lines:
        if len(line.path) < 2 or not task_heading(line.path[1]):
            continue
        if line.kind == "heading" and len(line.path) == 2:
            tasks.append((line, []))
        elif tasks and tasks[-1][0].path[1] == line.path[1] and tasks[-1][0].document == line.document:
            tasks[-1][1].append(line)
    return tasks


def task_programs(heading: ParsedLine, lines: list[ParsedLine], year_column: str = "") -> list[Program]:
    """The task's own record first, then one per sub-program, KPIs matched to sub-programs by name."""
    parsed = task_heading(heading.path[1])
    assert parsed is not None
    _word, task_id, title = parsed
    title = title.strip()
    own = _Unit(key=(), heading=heading)
    subs: dict[tuple[str, ...], _Unit] = {}
    for line in lines:
        key = _owner(line)
        if not key:
            own.lines.append(line)
        elif key not in subs:
            if line.kind != "heading":
                logger.warning("sub-program %s starts without a heading at line %d", key, line.start)
            subs[key] = _Unit(key=key, heading=line, lines=[line])
        else:
            subs[key].lines.append(line)
    end = max((ln.end for ln in lines), default=heading.end)
    own_read = read_lines(own.lines, year_column)
    task_record = program_from_read(
        own_read,
        ident=f"task-{task_id}",
        name=title,
        heading=heading,
        end=end,
        task_id=task_id,
        task_title=title,
        task_level=True,
    )
    sub_units = list(subs.values())
    matched = match_kpis(own_read.kpi_rows, [u.key[-1] for u in sub_units])
    records = [task_record]
    for index, unit in enumerate(sub_units):
        read = read_lines(unit.lines, year_column)
        read.kpi_rows = matched.get(index, [])
        name = unit.key[-1]
        records.append(
            program_from_read(
                read,
                ident=f"task-{task_id}-{slug(name)}",
                name=name,
                heading=unit.heading,
                end=max(ln.end for ln in unit.lines),
                task_id=task_id,
                task_title=title,
                task_level=False,
            )
        )
    # The task as a whole serves everyone its sub-programs serve.
    union = set(task_record.groups).union(*(r.groups for r in records[1:]))
    task_record.groups = ordered_groups(union)
    return records


def match_kpis(rows: list[ParsedLine], names: list[str]) -> dict[int, list[ParsedLine]]:
    """KPI rows of a task per sub-program, by name similarity; a row that fits none stays with the task.

    Bigrams shared by several sub-program names (`사회적경제` in 과제 4-6) say nothing about which one a
    row is about, so they are ignored when comparing.
    """
    counts: dict[str, int] = {}
    for name in names:
        for gram in set().union(*(bigrams(c) for c in name_cores(name))):
            counts[gram] = counts.get(gram, 0) + 1
    shared = {gram for gram, n in counts.items() if n > 1}
    assigned: dict[int, list[ParsedLine]] = {}
    for row in rows:
        words = (row.stub or "").split()
        endings = load_lexicon().block_words("metric")
        while len(words) > 1 and words[-1].endswith(endings) and len(words[-1]) <= 4:
            words.pop()
        kpi_name = " ".join(words)
        # Within one task a single distinctive bigram (`노인` vs `안심`) is enough to tell rows apart.
        scored = [(name_score(kpi_name, name, ignore=shared, min_grams=1), i) for i, name in enumerate(names)]
        if not scored:
            continue
        (coverage, _dice), best = max(scored)
        if coverage >= KPI_COVERAGE:
            assigned.setdefault(best, []).append(row)
    return assigned


def table_row_number(line: ParsedLine) -> int:
    m = ROW_NUMBER.match(line.text)
    return int(m.group(1)) if m else 1


def table_program(line: ParsedLine) -> Program:
    """One row of a Ⅲ per-program table: name, 사업내용, the count column and 예산 계."""
    table = line.path[-1]
    row = table_row_number(line)
    cells = dict(line.cells or [])
    content = cells.get("사업내용")
    description = FieldValue(label="사업내용", text=content, source=source_of(line)) if content else None
    count_label = next(
        (name for name, _ in (line.cells or []) if name not in ("사업내용", "예산 계(백만원)")), None
    )
    capacity = (
        FieldValue(label=count_label, text=cells[count_label], source=source_of(line))
        if count_label
        else None
    )
    budget_text = cells.get("예산 계(백만원)")
    budget = (
        FieldValue(label="예산 계(백만원)", text=budget_text, source=source_of(line)) if budget_text else None
    )
    # A row states who it serves inside 사업내용 (`… 신중년 대상 …`, `만 19~34세 대상`), or its name and
    # content name them. A row that hires a program's staff (`어르신일자리 전담인력`) is not a program for
    # the group it serves.
    target = None
    if description and ROW_TARGET.search(description.text):
        target = description
    age = parse_age(target.text) if target else None
    support = [description] if description and _has_money(description.text) else []
    name = line.value or line.stub or ""
    if is_staffing(f"{name} {content or ''}"):
        groups = (word_groups(target.text) if target else set()) | age_groups(age)
    else:
        groups = _groups_for(name, target, age, [content or ""])
    return Program(
        id=f"table-{slug(table)}-{row}",
        name=name,
        document=line.document,
        origin="table",
        table=table,
        table_row=row,
        section=join_label(line.path),
        section_path=list(line.path),
        span=SourceRef(text=line.text, start=line.start, end=line.end, page=line.page),
        target=target,
        age=age,
        groups=ordered_groups(groups),
        support=support,
        amounts=[a for fv in support for a in parse_amounts(fv.text)],
        ratios=[r for fv in support for r in parse_ratios(fv.text)],
        income_criteria=income_criteria(line, content) if content else [],
        capacity=capacity,
        budget=budget,
        budget_amount=_plain_amount(budget_text, "백만원") if budget_text else None,
        description=description,
    )


def link_programs(programs: list[Program]) -> None:
    """Link each Ⅲ row to the Ⅳ record of the same program (best name match), both ways."""
    task_records = [p for p in programs if p.origin == "task"]
    for row in (p for p in programs if p.origin == "table"):
        if is_staffing(row.name):
            continue
        # Only within one plan: another document's program of the same name is another program.
        scored = [
            (name_score(row.name, p.name), i)
            for i, p in enumerate(task_records)
            if p.document == row.document
        ]
        if not scored:
            continue
        (coverage, _dice), best = max(scored)
        if coverage < LINK_COVERAGE:
            continue
        other = task_records[best]
        row.linked.append(other.id)
        other.linked.append(row.id)


def _dedupe_ids(programs: list[Program]) -> None:
    seen: dict[str, int] = {}
    for program in programs:
        if program.id in seen:
            seen[program.id] += 1
            program.id = f"{program.id}-{seen[program.id]}"
        else:
            seen[program.id] = 1


def extract_programs(lines: list[ParsedLine], profile: DocumentProfile | None = None) -> list[Program]:
    """All program records of a parsed plan: its tasks and their sub-programs, then the rows of its
    per-program tables (in the part the profile found to hold them)."""
    year_column = f"{profile.year}년" if profile and profile.year else ""
    tables_part = {p.heading for p in profile.parts if p.role == "tables"} if profile else set()
    programs: list[Program] = []
    for heading, task_lines in split_tasks(lines):
        programs.extend(task_programs(heading, task_lines, year_column))
    for line in lines:
        if line.kind == "table" and line.field == "세부사업" and line.path and line.path[0] in tables_part:
            programs.append(table_program(line))
    _dedupe_ids(programs)
    link_programs(programs)
    tasks = sum(1 for p in programs if p.origin == "task")
    logger.info(
        "program catalog: %d records (%d from tasks, %d from tables)",
        len(programs),
        tasks,
        len(programs) - tasks,
    )
    return programs
