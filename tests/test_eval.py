"""The eval harness as its users meet it: clear errors on bad QA files, exact metrics, readable reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.formats import QAItem, ResultCitation, ResultItem, ResultRetrieved, read_jsonl, write_jsonl
from eval.metrics import facts_match, score_item, section_matches, summarise
from guro_jobs.settings import PROJECT_ROOT

GOOD = {"id": "q-1", "question": "청년도전지원사업 몇 살까지?", "sections": ["(과제 1-3)"], "facts": [["39세"]]}
TASK_1_3 = "Ⅳ. 전략 및 과제 > (과제1-3) 청년도전지원사업"


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def no_index_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the assistant fails the test: malformed input must be rejected before any index work."""

    def build_assistant(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the index was built for a malformed QA file")

    factory = types.ModuleType("guro_jobs.factory")
    factory.build_assistant = build_assistant  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "guro_jobs.factory", factory)


# -- malformed QA files ---------------------------------------------------------------------------------
def test_bad_json_on_line_3_names_the_line(tmp_path: Path, no_index_build: None, capsys: pytest.CaptureFixture[str]) -> None:
    qa = _write_lines(tmp_path / "qa.jsonl", [json.dumps(GOOD), json.dumps({**GOOD, "id": "q-2"}), '{"id": "q-3", "question": '])
    out = tmp_path / "results.jsonl"

    code = main(["run", str(qa), "--out", str(out)])

    err = capsys.readouterr().err
    assert code != 0
    assert f"{qa}:3:" in err
    assert "not valid JSON" in err
    assert not out.exists()


def test_missing_field_names_the_line_and_the_field(
    tmp_path: Path, no_index_build: None, capsys: pytest.CaptureFixture[str]
) -> None:
    qa = _write_lines(tmp_path / "qa.jsonl", [json.dumps(GOOD), json.dumps({"id": "q-2", "sections": ["(과제 1-3)"]})])

    code = main(["run", str(qa), "--out", str(tmp_path / "results.jsonl")])

    err = capsys.readouterr().err
    assert code != 0
    assert f"{qa}:2:" in err
    assert "question" in err


def test_cli_exits_non_zero_on_malformed_qa(tmp_path: Path) -> None:
    qa = _write_lines(tmp_path / "qa.jsonl", [json.dumps(GOOD), json.dumps(GOOD | {"id": "q-2"}), "not json at all"])
    # Should the check ever regress, the index would be built in tmp, never in the developer's var/index.
    env = {**os.environ, "GURO_JOBS_INDEX_DIR": str(tmp_path / "index")}

    done = subprocess.run(
        [sys.executable, "-m", "eval", "run", str(qa), "--out", str(tmp_path / "r.jsonl"), "--quiet"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )

    assert done.returncode != 0
    assert ":3:" in done.stderr and "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "index").exists()


# -- metrics --------------------------------------------------------------------------------------------
def _result(
    item_id: str, sections: list[str], answer: str = "", abstained: bool = False, cited: list[str] | None = None
) -> ResultItem:
    return ResultItem(
        id=item_id,
        question="q",
        answer=answer,
        abstained=abstained,
        citations=[ResultCitation(document="plan.txt", section=s, quote=answer) for s in (cited or [])],
        retrieved=[ResultRetrieved(document="plan.txt", section=s, score=1.0 - i / 10) for i, s in enumerate(sections)],
        latency_ms=10.0,
    )


def _qa(item_id: str, sections: list[str], facts: list[list[str]], answerable: bool = True) -> QAItem:
    return QAItem(id=item_id, question="q", sections=sections, facts=facts, answerable=answerable)


def test_section_match_ignores_whitespace() -> None:
    assert section_matches(TASK_1_3, ["(과제 1-3)"])
    assert section_matches("Ⅳ. 전략 및 과제 > (과제 1 - 3) 청년도전지원사업", ["(과제1-3)"])
    assert not section_matches(TASK_1_3, ["(과제 1-4)"])
    assert not section_matches(TASK_1_3, [""])  # an empty expectation matches nothing


def test_fact_groups_need_one_alternative_each() -> None:
    facts = [["월 50만원", "50만 원"], ["39세"]]
    assert facts_match("인센티브는 최대 50만 원, 대상은 만 18~39세", facts)
    assert facts_match("월50만원, 39 세", facts)  # spacing ignored on both sides
    assert not facts_match("인센티브는 월 50만원입니다", facts)  # the age group is missing
    assert facts_match("anything", [])


def test_ranks_and_summary_are_exact() -> None:
    other = "Ⅱ. 일자리 여건 > 인구"
    qa = [
        _qa("a1", ["(과제 1-3)"], [["39세"]]),
        _qa("a2", ["(과제 1-7)"], [["만 18세 이상", "18세 이상"]]),
        _qa("a3", ["(과제 2-1)"], [["300㎡"]]),
        _qa("a4", ["(과제 1-5)"], [["40명"]]),
        _qa("u1", [], [], answerable=False),
        _qa("u2", [], [], answerable=False),
    ]
    results = [
        _result("a1", [TASK_1_3, other], answer="만 39세 이하", cited=[TASK_1_3]),
        _result("a2", [other, other, "Ⅳ > (과제 1-7) 안심일자리"], answer="18세 이상 구민", cited=[other]),
        _result("a3", [other] * 6 + ["Ⅳ > (과제2-1) 중장년"], answer="규모 300㎡", cited=["Ⅳ > (과제2-1) 중장년"]),
        _result("a4", [other], answer="계획에 없습니다", abstained=True),
        _result("u1", [other], answer="계획에 없습니다", abstained=True),
        _result("u2", [other], answer="강남구 청년수당은 …"),
    ]
    scores = [score_item(q, r) for q, r in zip(qa, results, strict=True)]

    assert [s.rank for s in scores[:4]] == [1, 3, 7, None]
    assert [s.citation_ok for s in scores[:4]] == [True, False, True, False]
    assert [s.fact_ok for s in scores[:4]] == [True, True, True, False]  # abstaining never counts as a fact
    summary = summarise(scores)
    assert (summary.answerable, summary.unanswerable) == (4, 2)
    assert summary.hit_at_1 == 0.25
    assert summary.hit_at_5 == 0.5
    assert summary.mrr == round((1 + 1 / 3 + 1 / 7) / 4, 4)
    assert summary.citation_accuracy == 0.5
    assert summary.fact_accuracy == 0.75
    assert summary.abstention_recall == 0.5
    assert summary.abstention_precision == 0.5  # a4 and u1 abstained; only u1 should have
    assert summary.false_abstention == 0.25


# -- report ---------------------------------------------------------------------------------------------
def test_report_lists_a_failure_with_its_expected_facts(tmp_path: Path) -> None:
    from eval.report import write_report

    qa = [
        QAItem(id="pass-1", question="청년도전지원사업 대상 나이?", sections=["(과제 1-3)"], facts=[["39세"]], kind="eligibility"),
        QAItem(id="fail-1", question="안심일자리 시급은?", sections=["(과제 1-7)"], facts=[["9,860원", "9860원"]], kind="amount"),
        QAItem(id="fail-2", question="강남구 청년수당?", answerable=False, kind="unanswerable"),
    ]
    results = [
        _result("pass-1", [TASK_1_3], answer="만 18~39세", cited=[TASK_1_3]),
        _result("fail-1", ["Ⅳ > (과제 1-7) 안심일자리"], answer="안심일자리는 구민을 돕습니다", cited=["Ⅳ > (과제 1-7) 안심일자리"]),
        _result("fail-2", [TASK_1_3], answer="청년도전지원사업을 보세요"),
    ]

    md_path, html_path = write_report(qa, results, tmp_path / "dev-report")

    assert (md_path.name, html_path.name) == ("dev-report.md", "dev-report.html")
    md, page = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    for text in (md, page):
        assert "Failures (2 of 3)" in text
        assert "fail-1" in text and "9,860원 | 9860원" in text  # expected facts with their alternatives
        assert "안심일자리는 구민을 돕습니다" in text  # what came back
        assert "fail-2" in text and "answered a question the plan cannot answer" in text
        assert "pass-1" not in text
    assert "data:image/png;base64," in page  # self-contained: plots embedded
    for name in ("dev-report-by-kind.png", "dev-report-latency.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")
        assert f"({name})" in md


# -- one real run (session index from conftest) ---------------------------------------------------------
@pytest.mark.slow
def test_five_dev_items_round_trip_through_the_results_file(assistant, tmp_path: Path) -> None:
    from eval.runner import run_items

    items = read_jsonl(PROJECT_ROOT / "eval" / "qa" / "dev.jsonl", QAItem)[:5]
    results = run_items(assistant, items)
    path = tmp_path / "results.jsonl"
    write_jsonl(path, results)

    again = read_jsonl(path, ResultItem)
    assert again == results
    assert [r.id for r in again] == [i.id for i in items]
    assert all(r.citations or r.abstained for r in again)
    assert all(r.retrieved and r.latency_ms > 0 for r in again)


def test_the_ranking_ablation_scores_bm25_dense_and_the_learned_ranker(assistant) -> None:
    from eval.baseline import ablation_table, ranking_ablation

    items = [i for i in read_jsonl(PROJECT_ROOT / "eval" / "qa" / "dev.jsonl", QAItem) if i.answerable][:8]
    rows = ranking_ablation(assistant, items)
    assert [r.name for r in rows] == ["BM25 only (section)", "dense only (section)", "learned ranker"]
    assert all(r.summary.answerable == len(items) and 0.0 <= r.summary.hit_at_1 <= r.summary.hit_at_5 <= 1.0 for r in rows)
    assert "learned ranker" in ablation_table(rows)
