"""Edited copies of a plan for metamorphic tests: the same plan with its chapters shifted, its district
renamed, its years moved, its task labels or field-label spacing written differently, two tasks swapped,
or rendered to PDF or HWPX. Each text variant comes with the rename to apply to QA items too."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval.formats import QAItem

ROMAN = "ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ"
PART = re.compile(rf"^(\s*)([{ROMAN}])\.", re.MULTILINE)
TASK = re.compile(r"\(과제 (\d{1,2}-\d{1,2})\)")
YEAR = re.compile(r"(?<!\d)(20[12]\d)(?!\d)")
FIELD_LABEL = re.compile(r"^(\s*(?:○|-)\s*)([^:：\n]{1,14}?)(\s*[:：])", re.MULTILINE)


@dataclass
class Variant:
    name: str
    text: str
    rename: Callable[[str], str]  # what to apply to questions, facts and expected sections


def identity(text: str) -> str:
    return text


def shift_chapters(plan: str) -> Variant:
    """A new first chapter `Ⅰ. 추진 경과`: Ⅰ–Ⅳ become Ⅱ–Ⅴ."""

    def shift(match: re.Match[str]) -> str:
        return f"{match.group(1)}{ROMAN[ROMAN.index(match.group(2)) + 1]}."

    shifted = PART.sub(shift, plan)
    preface = " Ⅰ. 추진 경과\n\n□ 그간의 추진 경과\n\n○ 2022년 계획을 바탕으로 일자리 사업을 점검하고 보완함\n\n"
    return Variant("chapters shifted", preface + shifted, lambda text: PART.sub(shift, text))


def rename_district(plan: str, old: str = "구로", new: str = "금천") -> Variant:
    return Variant(f"district {old}→{new}", plan.replace(old, new), lambda text: text.replace(old, new))


def shift_years(plan: str, delta: int = 1) -> Variant:
    """Next year's plan: every year moves by `delta` (2023 → 2024, and the targets' 2026 → 2027)."""

    def move(text: str) -> str:
        return YEAR.sub(lambda m: str(int(m.group(1)) + delta), text)

    return Variant(f"years +{delta}", move(plan), move)


def task_label(plan: str, style: str) -> Variant:
    """`(과제 1-3)` written as `(사업 1-3)` or as `과제 1-3.`."""

    def write(text: str) -> str:
        if style == "사업":
            return TASK.sub(r"(사업 \1)", text)
        return TASK.sub(r"과제 \1.", text)

    return Variant(f"task label {style}", write(plan), write)


def label_spacing(plan: str) -> Variant:
    """Field labels without their layout spaces (`대    상 :` → `대상 :`) and short ones spaced (`위치` →
    `위 치`)."""

    def respace(match: re.Match[str]) -> str:
        label = re.sub(r"\s+", "", match.group(2))
        if len(label) == 2:
            label = f"{label[0]} {label[1]}"
        return f"{match.group(1)}{label}{match.group(3)}"

    return Variant("label spacing", FIELD_LABEL.sub(respace, plan), identity)


def swap_tasks(plan: str, first: str = "1-3", second: str = "1-4") -> Variant:
    """Two consecutive tasks printed in the other order."""
    start_a = plan.index(f"(과제 {first})")
    start_a = plan.rfind("\n", 0, start_a) + 1
    start_b = plan.index(f"(과제 {second})")
    start_b = plan.rfind("\n", 0, start_b) + 1
    next_task = TASK.search(plan, plan.index(f"(과제 {second})") + 10)
    end_b = plan.rfind("\n", 0, next_task.start()) + 1 if next_task else len(plan)
    swapped = plan[:start_a] + plan[start_b:end_b] + plan[start_a:start_b] + plan[end_b:]
    return Variant(f"tasks {first} and {second} swapped", swapped, identity)


def text_variants(plan: str) -> list[Variant]:
    return [
        shift_chapters(plan),
        rename_district(plan),
        shift_years(plan),
        task_label(plan, "사업"),
        task_label(plan, "dot"),
        label_spacing(plan),
        swap_tasks(plan),
    ]


def renamed(items: list[QAItem], rename: Callable[[str], str]) -> list[QAItem]:
    return [
        item.model_copy(
            update={
                "question": rename(item.question),
                "history": [rename(h) for h in item.history],
                "sections": [rename(s) for s in item.sections],
                "facts": [[rename(a) for a in group] for group in item.facts],
            }
        )
        for item in items
    ]


def render_pdf(plan: str, path: Path, lines_per_page: int = 48) -> Path:
    """The plan as a PDF with a text layer (reportlab's built-in Korean CID font)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    pdf = canvas.Canvas(str(path))
    lines = plan.splitlines()
    for start in range(0, len(lines), lines_per_page):
        pdf.setFont("HYSMyeongJo-Medium", 9)
        for number, text in enumerate(lines[start : start + lines_per_page]):
            pdf.drawString(40, 800 - 16 * number, text)
        pdf.showPage()
    pdf.save()
    return path


def render_hwpx(plan: str, path: Path) -> Path:
    """The plan as an HWPX document, a paragraph per line (python-hwpx writes it)."""
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    for line in plan.splitlines():
        document.add_paragraph(line)
    document.save_to_path(str(path))
    return path


class CachedEmbedder:
    """An embedder that embeds each distinct text once (variants share most of their text)."""

    def __new__(cls, inner):  # built as a subclass of Embedder without importing it at module import
        import numpy as np

        from knowledge.embeddings import Embedder

        class _Cached(Embedder):
            def __init__(self) -> None:
                self.inner = inner
                self.id = inner.id
                self.dim = inner.dim
                self.query_prefix = inner.query_prefix
                self.passage_prefix = inner.passage_prefix
                self.cache: dict[str, np.ndarray] = {}

            def _encode(self, texts: list[str]) -> np.ndarray:
                todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
                if todo:
                    self.cache.update(zip(todo, self.inner._encode(todo), strict=True))
                return np.vstack([self.cache[t] for t in texts])

        return _Cached()


def evaluate_plan(plan_path: Path, index_dir: Path, embedder, tokenizer, models, items: list[QAItem], memory=None):
    """Build an index of one plan and run QA items through the production assistant over it:
    (number of catalog programs, summary, results)."""
    from eval.runner import run_items
    from eval.summary import summarise_files
    from guro_jobs.assistant import Assistant
    from ingestion.build import ingest
    from ingestion.parser import PARSER_VERSION
    from knowledge.lexicon import load as load_lexicon
    from knowledge.store import KnowledgeBase

    ingest([plan_path], index_dir, embedder, tokenizer, force=True)
    kb = KnowledgeBase.load(index_dir, embedder, tokenizer, PARSER_VERSION)
    assistant = Assistant(kb, *models, load_lexicon(), memory=memory)
    results = run_items(assistant, items)
    return len(kb.catalog), summarise_files(items, results), results
