"""Knowledge base: loading, the plan's structure, answer units, and the on-disk index lifecycle."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from guro_jobs.factory import load_knowledge_base
from guro_jobs.settings import Settings
from ingestion.build import ingest
from ingestion.loaders import DocumentError, load_document
from ingestion.parser import PARSER_VERSION, heading_words, parse_document
from ingestion.units import build_units
from knowledge.manifest import IndexInvalid, read_manifest
from knowledge.store import KnowledgeBase

EXPECTED_TASKS = [f"{s}-{n}" for s, count in ((1, 7), (2, 7), (3, 6), (4, 7)) for n in range(1, count + 1)]


@pytest.fixture(scope="module")
def plan_lines(plan_path: Path):
    return parse_document(load_document(plan_path))


@pytest.fixture(scope="module")
def plan_units(plan_lines):
    return build_units(plan_lines)


def _task_headings(lines):
    return [ln for ln in lines if ln.kind == "heading" and ln.value and ln.value.startswith("(과제")]


# -- structure ---------------------------------------------------------------------------------------
def test_parser_finds_exactly_the_27_tasks_with_titles(plan_lines):
    tasks = _task_headings(plan_lines)
    ids = [re.match(r"\(과제 (\d-\d)\)", t.value).group(1) for t in tasks]
    assert ids == EXPECTED_TASKS
    titles = {re.match(r"\(과제 (\d-\d)\) (.*)", t.value).groups() for t in tasks}
    assert ("1-3", "도전하니깐 청춘이다! 청년도전지원사업") in titles
    assert ("2-1", "중장년 일자리센터 조성 및 운영") in titles
    assert ("4-7", "일자리창출 우수기업 인증제 운영") in titles
    # Tasks hang directly under part Ⅳ, as citations name them.
    assert all(t.path == ["Ⅳ. 전략 및 과제", t.value] for t in tasks)


@pytest.mark.parametrize(
    ("heading", "words"),
    [
        ("(과제 1-3) 도전하니깐 청춘이다! 청년도전지원사업", "도전하니깐 청춘이다! 청년도전지원사업"),
        ("(사업 2-1) 중장년 일자리센터", "중장년 일자리센터"),
        ("과제 1-3. 청년도전지원사업", "청년도전지원사업"),
        ("Ⅳ. 전략 및 과제", "전략 및 과제"),
        ("2. 산업구조 및 동향", "산업구조 및 동향"),
        ("추진배경", "추진배경"),
    ],
)
def test_heading_numbering_is_layout_not_words(heading: str, words: str):
    assert heading_words(heading) == words


def test_part_three_tables_are_found_by_name_with_all_rows(plan_lines):
    rows: dict[str, int] = {}
    for line in plan_lines:
        if line.field == "세부사업" and line.path[0].startswith("Ⅲ"):
            assert line.path[1] == "3. 분야별 일자리 목표"
            rows[line.path[-1]] = rows.get(line.path[-1], 0) + 1
    assert rows == {
        "직접 일자리사업": 21,
        "직업능력개발훈련 사업": 14,
        "고용서비스": 11,
        "고용장려금": 6,
        "창업지원": 5,
        "중소기업 역량강화": 11,
        "민간․관급 공사장 근로자 채용": 1,
        "민간위탁 사업": 23,
    }


def test_training_rows_printed_under_the_next_heading_are_reattached(plan_lines):
    """The flattened text prints the 직업능력개발훈련 rows after □ 고용서비스; they belong to their own table."""
    row = next(ln for ln in plan_lines if ln.field == "세부사업" and ln.value == "여성취업교실")
    assert row.path[-1] == "직업능력개발훈련 사업"
    assert "연번 세부사업명" in (row.context or "")


def test_field_labels_are_normalised_and_values_kept_verbatim(plan_lines):
    target = next(ln for ln in plan_lines if ln.field == "대상" and "(과제 1-3)" in ln.path[1])
    assert target.value == "만 18세~39세 중 구직단념한 청년 80명"
    wage = next(ln for ln in plan_lines if ln.field == "임금" and ln.path[-1] == "안심 일자리사업")
    assert "9,620" in wage.value
    wrapped = next(ln for ln in plan_lines if ln.field == "참여대상")
    assert wrapped.end > wrapped.start and "재산이 4억원 이하" in wrapped.value  # wrapped lines joined


def test_table_rows_carry_their_header_context(plan_lines):
    kpi = next(ln for ln in plan_lines if ln.kind == "table" and ln.stub == "청년도전지원사업 이수자 수")
    assert kpi.cells == [("2023년", "80"), ("2024년", "80"), ("2025년", "80"), ("2026년", "80")]
    assert "단위: 백만원" in kpi.context
    budget = next(ln for ln in plan_lines if ln.stub == "사업비" and "(과제 1-3)" in ln.path[1])
    assert budget.display().startswith("사업비: 계 1,532 · 2023년 383")
    row = next(ln for ln in plan_lines if ln.field == "세부사업" and ln.value == "청년내일저축계좌")
    assert ("참여인원", "877") in row.cells and "고용장려금 세부사업" in row.context


def test_every_field_line_and_table_row_is_a_unit_with_a_real_heading_path(plan_lines, plan_units):
    units, sections = plan_units
    heading_paths = {tuple(ln.path) for ln in plan_lines if ln.kind == "heading"}
    covered = {(ln.document, ln.start) for u in units if u.kind != "window" for ln in u.lines}
    for line in plan_lines:
        if line.kind in ("field", "table"):
            assert (line.document, line.start) in covered, line.text
    for unit in units:
        assert tuple(unit.path) in heading_paths, unit.section
        # A unit never crosses a section: every line it quotes has the unit's heading path.
        assert all(ln.path == unit.path for ln in unit.lines), unit.id
        assert unit.text == "\n".join(ln.text for ln in unit.lines)
    section_paths = [tuple(s.path) for s in sections]
    assert len(section_paths) == len(set(section_paths))


def test_field_units_carry_their_label_and_table_rows_their_context(plan_units):
    units, _ = plan_units
    incentive = next(u for u in units if u.kind == "field" and u.label == "인센티브" and "(과제 1-3)" in u.section)
    assert "월 20만원" in incentive.text and incentive.start == 1899
    row = next(u for u in units if u.kind == "row" and u.label == "청년도전지원사업이수자수")
    assert "단위: 백만원" in (row.context or "") and "2023년 80" in row.display


def test_windows_join_consecutive_cells_of_one_section(plan_units):
    units, _ = plan_units
    window = next(u for u in units if u.kind == "window" and "온라인마켓" in u.text and "6개월" in u.text)
    members = [units[m] for m in window.members]
    assert all(m.kind != "window" and m.path == window.path for m in members)
    assert window.start == members[0].start and window.end == members[-1].end


def test_page_markers_set_the_page(plan_lines):
    near_marker = next(ln for ln in plan_lines if ln.text.startswith("□ 기대효과") or (ln.value or "") == "기대효과")
    assert near_marker.page == 22  # the lines just after `- 21 -`
    before = next(ln for ln in plan_lines if "권역별 진로센터장" in ln.text)
    assert before.page == 21


# -- loading -------------------------------------------------------------------------------------------
def _korean_pdf(path: Path, pages: list[list[str]]) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    pdf = canvas.Canvas(str(path))
    for lines in pages:
        pdf.setFont("HYSMyeongJo-Medium", 11)
        for number, text in enumerate(lines):
            pdf.drawString(60, 780 - 18 * number, text)
        pdf.showPage()
    pdf.save()
    return path


def test_pdf_keeps_pages_and_finds_a_known_line_on_its_page(tmp_path: Path):
    pdf = _korean_pdf(
        tmp_path / "plan.pdf",
        [
            ["Ⅳ. 전략 및 과제", "(과제 9-1) 시험 사업", "□ 사업개요", "○ 대 상 : 만 18세~39세 청년"],
            ["□ 장소", "○ 위 치 : 구로구 개봉로23길 10"],
        ],
    )
    lines = parse_document(load_document(pdf))
    location = next(ln for ln in lines if ln.field == "위치")
    assert location.value == "구로구 개봉로23길 10" and location.page == 2
    assert location.path == ["Ⅳ. 전략 및 과제", "(과제 9-1) 시험 사업", "장소"]
    target = next(ln for ln in lines if ln.field == "대상")
    assert target.page == 1


def test_cp949_text_is_detected(tmp_path: Path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("□ 사업개요\n○ 대 상 : 만 65세 이상 어르신\n".encode("cp949"))
    lines = parse_document(load_document(path))
    assert any(ln.field == "대상" and ln.value == "만 65세 이상 어르신" for ln in lines)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("random.pdf", os.urandom(2048), "not a readable PDF"),
        ("latin.txt", bytes(range(128, 256)) * 8, "neither UTF-8 nor CP949"),
    ],
)
def test_bad_files_get_a_clear_error_naming_the_file(tmp_path: Path, name: str, content: bytes, reason: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as caught:
        load_document(path)
    assert name in str(caught.value) and reason in str(caught.value)
    assert caught.value.reason_ko  # a Korean message for users


def test_scanned_and_encrypted_pdfs_are_refused(tmp_path: Path):
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    scanned = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(scanned))
    pdf.rect(100, 100, 300, 400, fill=1)  # an image-like page with no text layer
    pdf.showPage()
    pdf.save()
    with pytest.raises(DocumentError, match="no text layer"):
        load_document(scanned)

    source = _korean_pdf(tmp_path / "open.pdf", [["○ 대 상 : 청년"]])
    writer = PdfWriter()
    for page in PdfReader(str(source)).pages:
        writer.add_page(page)
    writer.encrypt("secret")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as handle:
        writer.write(handle)
    with pytest.raises(DocumentError, match="encrypted"):
        load_document(locked)


def test_missing_path_is_an_error(tmp_path: Path):
    with pytest.raises(DocumentError, match="no such file"):
        ingest([tmp_path / "nope.txt"], tmp_path / "index", embedder=None, tokenizer=None)  # type: ignore[arg-type]


# -- the index on disk ---------------------------------------------------------------------------------
def test_round_trip_on_the_real_index(assistant):
    answer = assistant.ask("중장년 일자리센터 위치")
    assert "(과제 2-1)" in answer.retrieved[0].section


def test_manifest_records_what_was_built(index_settings: Settings, assistant):
    manifest = read_manifest(index_settings.index_dir)
    assert manifest.parser_version == PARSER_VERSION
    assert manifest.embedder_id == assistant.kb.embedder.id and manifest.dimension == 384
    assert [d.name for d in manifest.documents] == ["guro_2023_job_plan.txt"]
    assert len(manifest.documents[0].sha256) == 64
    assert manifest.unit_count == len(assistant.kb.units)
    profile = manifest.documents[0].profile
    assert (profile.title, profile.issuer, profile.year) == ("2023년 일자리 대책 세부계획", "구로구", 2023)
    # Nothing in the index folder is a pickle, and the manifest holds every file's checksum.
    names = sorted(p.name for p in index_settings.index_dir.iterdir())
    assert names == ["catalog.json", "dense.npz", "lines.json", "manifest.json", "units.json", "vectors.faiss"]
    assert sorted(manifest.files) == sorted(n for n in names if n != "manifest.json")


def test_unchanged_rerun_is_a_no_op(index_settings: Settings, assistant, plan_path: Path):
    before = (index_settings.index_dir / "manifest.json").read_text(encoding="utf-8")
    report = ingest([plan_path], index_settings.index_dir, assistant.kb.embedder, assistant.kb.tokenizer)
    assert report.changed is False and report.seconds < 2
    assert (index_settings.index_dir / "manifest.json").read_text(encoding="utf-8") == before


def test_failed_ingest_leaves_the_old_index_untouched(index_settings: Settings, assistant, tmp_path: Path):
    snapshot = {p.name: p.read_bytes() for p in index_settings.index_dir.iterdir()}
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n" + os.urandom(4096))
    with pytest.raises(DocumentError):
        ingest([broken], index_settings.index_dir, assistant.kb.embedder, assistant.kb.tokenizer, force=True)
    assert {p.name: p.read_bytes() for p in index_settings.index_dir.iterdir()} == snapshot
    # No half-written folder is left beside it (the lock file stays, empty).
    leftovers = [p.name for p in index_settings.index_dir.parent.iterdir() if p.name.startswith(".") and p.is_dir()]
    assert leftovers == []


def test_mismatched_index_is_detected(index_settings: Settings, assistant, tmp_path: Path):
    copy = tmp_path / "index"
    shutil.copytree(index_settings.index_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["embedder_id"] = "sentence-transformers:some-other-model"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexInvalid, match="embedder"):
        KnowledgeBase.load(copy, assistant.kb.embedder, assistant.kb.tokenizer, PARSER_VERSION)
    manifest["embedder_id"] = assistant.kb.embedder.id
    manifest["parser_version"] = "0"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexInvalid, match="parser"):
        KnowledgeBase.load(copy, assistant.kb.embedder, assistant.kb.tokenizer, PARSER_VERSION)


def test_corrupt_index_is_rebuilt_from_the_bundled_plan(assistant, tmp_path: Path):
    small_plan = tmp_path / "plan.txt"
    small_plan.write_text(
        "Ⅳ. 전략 및 과제\n(과제 1-3) 청년도전지원사업\n□ 사업개요\n○ 대    상 : 만 18세~39세 청년\n"
        "- 인센티브 : 도전프로그램 월 20만원\n",
        encoding="utf-8",
    )
    settings = Settings(index_dir=tmp_path / "index", bundled_plan=small_plan)
    ingest([small_plan], settings.index_dir, assistant.kb.embedder, assistant.kb.tokenizer)
    (settings.index_dir / "vectors.faiss").write_bytes(b"not a faiss index")
    kb, report = load_knowledge_base(settings, embedder=assistant.kb.embedder, tokenizer=assistant.kb.tokenizer)
    assert report.rebuilt and "checksum" in report.reason and report.reason_ko
    assert any("월 20만원" in u.text for u in kb.units)
    (settings.index_dir / "units.json").write_text("{", encoding="utf-8")
    kb, report = load_knowledge_base(settings, embedder=assistant.kb.embedder, tokenizer=assistant.kb.tokenizer)
    assert report.rebuilt and len(kb.units) >= 1


def test_corrupt_index_is_rebuilt_from_its_own_documents(assistant, tmp_path: Path):
    """An index of two uploaded plans comes back with both, not with the bundled plan alone."""
    docs = tmp_path / "docs"
    docs.mkdir()
    a, b = docs / "a_plan.txt", docs / "b_plan.txt"
    a.write_text("Ⅳ. 전략 및 과제\n(과제 1-1) 가나 청년사업\n□ 사업개요\n○ 대    상 : 만 19세~34세 청년\n", encoding="utf-8")
    b.write_text("Ⅳ. 전략 및 과제\n(과제 2-1) 다라 어르신사업\n□ 사업개요\n○ 대    상 : 만 65세 이상 어르신\n", encoding="utf-8")
    bundled = tmp_path / "bundled.txt"
    bundled.write_text("Ⅳ. 전략 및 과제\n(과제 3-1) 번들 사업\n□ 사업개요\n○ 대    상 : 구민 누구나\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", bundled_plan=bundled)
    ingest([a, b], settings.index_dir, assistant.kb.embedder, assistant.kb.tokenizer)
    (settings.index_dir / "vectors.faiss").write_bytes(b"not a faiss index")
    kb, report = load_knowledge_base(settings, embedder=assistant.kb.embedder, tokenizer=assistant.kb.tokenizer)
    assert report.rebuilt
    texts = " ".join(u.text for u in kb.units)
    assert "만 19세~34세" in texts and "만 65세 이상" in texts and "구민 누구나" not in texts
    (settings.index_dir / "manifest.json").write_text("{", encoding="utf-8")  # nothing says what it held
    kb, report = load_knowledge_base(settings, embedder=assistant.kb.embedder, tokenizer=assistant.kb.tokenizer)
    assert report.rebuilt and "구민 누구나" in " ".join(u.text for u in kb.units)


def test_several_documents_are_cited_by_name(assistant, tmp_path: Path):
    a = tmp_path / "docs" / "a_plan.txt"
    b = tmp_path / "docs" / "b_plan.md"
    a.parent.mkdir()
    a.write_text("Ⅳ. 전략 및 과제\n(과제 1-1) 첫째 사업\n□ 사업개요\n○ 위    치 : 구로구 첫째로 1\n", encoding="utf-8")
    b.write_text("Ⅳ. 전략 및 과제\n(과제 1-1) 둘째 사업\n□ 사업개요\n○ 위    치 : 구로구 둘째로 2\n", encoding="utf-8")
    report = ingest([a.parent], tmp_path / "index", assistant.kb.embedder, assistant.kb.tokenizer)
    assert [d.name for d in report.manifest.documents] == ["a_plan.txt", "b_plan.md"]
    kb = KnowledgeBase.load(tmp_path / "index", assistant.kb.embedder, assistant.kb.tokenizer, PARSER_VERSION)
    documents = {u.document for u in kb.units if "둘째로" in u.text}
    assert documents == {"b_plan.md"}
