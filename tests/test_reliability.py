"""Reliability: the cleaner, bad files, a damaged index, concurrent ingests, and personal data in feedback.

Property-based tests (hypothesis) run a bounded number of examples so the suite stays fast; the fuzz
benchmark (`scripts/fuzz.py`) runs thousands.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guro_jobs.clean import MAX_QUESTION_CHARS, clean_question, normalise
from guro_jobs.feedback import FeedbackStore
from guro_jobs.privacy import redact
from ingestion.build import IngestBusy, index_lock, ingest
from ingestion.loaders import DocumentError, load_document
from ingestion.parser import PARSER_VERSION
from knowledge.manifest import IndexInvalid
from knowledge.store import KnowledgeBase

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u200e", "\u202a"]
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# -- the cleaner ---------------------------------------------------------------------------------------
@FEW
@given(st.text(max_size=120), st.lists(st.sampled_from(INVISIBLE), max_size=6), st.randoms())
def test_invisible_characters_never_change_the_cleaned_question(text: str, marks: list[str], rnd) -> None:
    noisy = list(text)
    for mark in marks:
        noisy.insert(rnd.randint(0, len(noisy)), mark)
    assert clean_question("".join(noisy)).text == clean_question(text).text


@FEW
@given(st.text(max_size=2000))
def test_the_cleaner_takes_any_string_and_bounds_it(text: str) -> None:
    cleaned = clean_question(text)
    assert len(cleaned.text) <= MAX_QUESTION_CHARS
    cleaned.text.encode("utf-8")  # no lone surrogate survives
    assert normalise(cleaned.text) == cleaned.text


def test_the_cleaner_keeps_the_plans_own_characters() -> None:
    assert clean_question("Ⅱ 300㎡ ①  ＡＢＣ１２３").text == "Ⅱ 300㎡ ① ABC123"


@FEW
@given(st.text(max_size=200))
def test_ask_never_raises_on_a_string(tiny_assistant, text: str) -> None:
    answer = tiny_assistant.ask(text, history=[text[:20]])
    assert isinstance(answer.text, str) and answer.text


@pytest.fixture(scope="module")
def tiny_assistant(tiny_kb):
    from eval.train import neutral
    from guro_jobs.assistant import Assistant
    from knowledge.lexicon import load as load_lexicon

    return Assistant(tiny_kb, neutral("section"), neutral("unit"), neutral("decline"), load_lexicon())


# -- odd files -------------------------------------------------------------------------------------------
def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.txt"
    os.mkfifo(fifo)
    with pytest.raises(DocumentError, match="not a regular file"):
        load_document(fifo)


def test_binary_and_huge_text_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nul = tmp_path / "nul.txt"
    nul.write_bytes("○ 대 상 : 청년\n".encode() + b"\x00\x00\x01binary")
    with pytest.raises(DocumentError, match="NUL"):
        load_document(nul)
    import ingestion.loaders as loaders

    monkeypatch.setattr(loaders, "MAX_DOCUMENT_BYTES", 1000)
    big = tmp_path / "big.txt"
    big.write_text("○ 대 상 : 청년\n" * 200, encoding="utf-8")
    with pytest.raises(DocumentError, match="too large"):
        load_document(big)


@FEW
@given(st.binary(max_size=400), st.sampled_from([".txt", ".md", ".pdf", ".hwpx", ".hwp"]))
def test_a_loader_reads_or_refuses_any_bytes(tmp_path_factory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("odd") / f"doc{suffix}"
    path.write_bytes(data)
    try:
        document = load_document(path)
    except DocumentError as error:
        assert error.reason and error.reason_ko and path.name in str(error)
    else:
        assert document.lines


def _encrypted_pdf(tmp_path: Path, user: str, owner: str) -> Path:
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("HYSMyeongJo-Medium"))
    source = tmp_path / "open.pdf"
    pdf = canvas.Canvas(str(source))
    pdf.setFont("HYSMyeongJo-Medium", 11)
    pdf.drawString(60, 780, "○ 대 상 : 만 18세~39세 청년")
    pdf.showPage()
    pdf.save()
    writer = PdfWriter()
    for page in PdfReader(str(source)).pages:
        writer.add_page(page)
    writer.encrypt(user_password=user, owner_password=owner, algorithm="AES-256")
    target = tmp_path / f"enc-{bool(user)}.pdf"
    with target.open("wb") as handle:
        writer.write(handle)
    return target


def test_an_owner_only_encrypted_pdf_is_read_and_a_user_encrypted_one_is_named_encrypted(tmp_path: Path) -> None:
    readable = load_document(_encrypted_pdf(tmp_path, user="", owner="owner-secret"))
    assert any("만 18세~39세" in line.text for line in readable.lines)
    with pytest.raises(DocumentError, match="encrypted"):
        load_document(_encrypted_pdf(tmp_path, user="user-secret", owner="owner-secret"))


def test_hwpx_and_hwp_keep_lines_and_table_rows(tmp_path: Path) -> None:
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    document.add_paragraph("Ⅳ. 전략 및 과제")
    document.add_paragraph("(과제 1-3) 청년도전지원사업")
    document.add_paragraph("○ 대    상 : 만 18세~39세 청년")
    table = document.add_table(2, 3)
    for column, text in enumerate(("사 업 명", "성과지표", "2023년")):
        table.set_cell_text(0, column, text)
    for column, text in enumerate(("청년도전지원사업", "이수자 수", "80")):
        table.set_cell_text(1, column, text)
    for suffix in (".hwpx", ".hwp"):
        path = tmp_path / f"plan{suffix}"
        document.save_to_path(str(path))
        lines = [line.text for line in load_document(path).lines]
        assert "○ 대    상 : 만 18세~39세 청년" in lines
        row = next(line for line in lines if line.startswith("청년도전지원사업"))
        assert row.split() == ["청년도전지원사업", "이수자", "수", "80"]
    broken = tmp_path / "broken.hwp"
    broken.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(600))
    with pytest.raises(DocumentError, match="HWP"):
        load_document(broken)


# -- the index proves itself -------------------------------------------------------------------------------
def _corruptions(folder: Path) -> dict[str, callable]:
    def edit(name: str, change) -> callable:
        def apply() -> None:
            path = folder / name
            path.write_bytes(change(path.read_bytes()))

        return apply

    def flip(offset: int):
        return lambda data: data[:offset] + bytes([data[offset] ^ 0x01]) + data[offset + 1 :]

    def json_edit(name: str, change) -> callable:
        def apply() -> None:
            path = folder / name
            data = json.loads(path.read_text(encoding="utf-8"))
            change(data)
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

        return apply

    cases: dict[str, callable] = {}
    for name in ("vectors.faiss", "dense.npz", "lines.json", "units.json", "catalog.json"):
        cases[f"flip a byte of {name}"] = edit(name, lambda data: flip(len(data) // 2)(data))
        cases[f"truncate {name}"] = edit(name, lambda data: data[: len(data) // 2])
        cases[f"empty {name}"] = edit(name, lambda data: b"")
        cases[f"delete {name}"] = lambda name=name: (folder / name).unlink()
        cases[f"flip the first byte of {name}"] = edit(name, lambda data: flip(0)(data))
        cases[f"append a byte to {name}"] = edit(name, lambda data: data + b"\n")
    cases["edit an amount in units.json"] = edit("units.json", lambda d: d.replace("20만원".encode(), "90만원".encode(), 1))
    cases["edit a quoted line in lines.json"] = edit("lines.json", lambda d: d.replace("80명".encode(), "90명".encode(), 1))
    cases["empty the catalog"] = edit("catalog.json", lambda d: b"[]")
    cases["halve the catalog"] = json_edit("catalog.json", lambda data: data.__delitem__(slice(len(data) // 2, None)))
    cases["shuffle the units"] = json_edit("units.json", lambda data: data["units"].reverse())
    cases["manifest not JSON"] = edit("manifest.json", lambda d: d[:10])
    cases["manifest unit count"] = json_edit("manifest.json", lambda m: m.update(unit_count=m["unit_count"] + 1))
    cases["manifest checksum"] = json_edit("manifest.json", lambda m: m["files"].update({"units.json": "0" * 64}))
    cases["manifest loses its checksums"] = json_edit("manifest.json", lambda m: m.update(files={}))
    cases["manifest program count"] = json_edit("manifest.json", lambda m: m.update(program_count=0))
    cases["manifest format"] = json_edit("manifest.json", lambda m: m.update(format_version=1))
    return cases


def test_every_corruption_of_the_index_is_detected(tiny_kb, fake_embedder, tokenizer, tmp_path: Path) -> None:
    built = tmp_path / "built"
    plan = tmp_path / "plan.txt"
    from tests.conftest import TINY_PLAN

    plan.write_text(TINY_PLAN, encoding="utf-8")
    ingest([plan], built, fake_embedder, tokenizer)
    names = list(_corruptions(built))
    assert len(names) >= 38
    for name in names:
        folder = tmp_path / f"case-{names.index(name)}"
        shutil.copytree(built, folder)
        _corruptions(folder)[name]()
        with pytest.raises(IndexInvalid):
            KnowledgeBase.load(folder, fake_embedder, tokenizer, PARSER_VERSION)
        assert name  # every case above raised


def _tiny_index(tmp_path: Path, embedder, tokenizer) -> tuple[Path, Path, dict[str, bytes]]:
    """The tiny plan, its index, and the index's bytes file by file (to prove it unchanged later)."""
    from tests.conftest import TINY_PLAN

    plan = tmp_path / "plan.txt"
    plan.write_text(TINY_PLAN, encoding="utf-8")
    index = tmp_path / "index"
    ingest([plan], index, embedder, tokenizer)
    return plan, index, {p.name: p.read_bytes() for p in index.iterdir()}


def test_a_second_ingest_waits_then_refuses_and_the_index_is_unchanged(fake_embedder, tokenizer, tmp_path: Path) -> None:
    plan, index, before = _tiny_index(tmp_path, fake_embedder, tokenizer)
    held = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with index_lock(index):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        with pytest.raises(IngestBusy), index_lock(index, wait_s=0.5):
            pass
        with pytest.raises(IngestBusy, match="another ingest"):
            import ingestion.build as build

            original = build.LOCK_WAIT_S
            build.LOCK_WAIT_S = 0.5
            try:
                ingest([plan], index, fake_embedder, tokenizer, force=True)
            finally:
                build.LOCK_WAIT_S = original
    finally:
        release.set()
        holder.join()
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


def test_a_bad_document_leaves_the_old_index_byte_identical(fake_embedder, tokenizer, tmp_path: Path) -> None:
    plan, index, before = _tiny_index(tmp_path, fake_embedder, tokenizer)
    for name, content in (("nul.txt", b"\x00\x00"), ("empty.md", b""), ("bad.pdf", b"%PDF-1.4 x"), ("bad.hwpx", b"PK")):
        bad = tmp_path / name
        bad.write_bytes(content)
        with pytest.raises(DocumentError):
            ingest([plan, bad], index, fake_embedder, tokenizer)
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


# -- personal data -------------------------------------------------------------------------------------------
PERSONAL = [
    ("연락처 010-1234-5678로 연락 주세요", "010-1234-5678"),
    ("제 번호는 01098765432 입니다", "01098765432"),
    ("사무실 02-860-2114", "02-860-2114"),
    ("주민번호 900101-1234567 입니다", "900101-1234567"),
    ("9001011234567 로 조회해 주세요", "9001011234567"),
    ("메일은 hong.gildong@example.co.kr 입니다", "hong.gildong@example.co.kr"),
    ("제 이름은 홍길동이에요", "홍길동"),
    ("저는 김영희입니다. 안심일자리 문의", "김영희"),
]


@pytest.mark.parametrize(("text", "secret"), PERSONAL)
def test_personal_data_is_redacted(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_situations_are_not_taken_for_names() -> None:
    for text in ("저는 52살인데 퇴직했어요", "저는 주부예요", "저는 청년인데요", "청년도전지원사업 인센티브는 얼마인가요?"):
        assert redact(text) == text


def test_fifty_comments_with_personal_data_store_none_of_it(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    secrets: list[str] = []
    for i in range(50):
        phone, rrn, mail = f"010-{1000 + i}-{5000 + i}", f"8{i:05d}-1{i:06d}", f"user{i}@mail.example.com"
        secrets += [phone, rrn, mail]
        store.record(f"제 이름은 홍길동이고 {phone}", "답변", "[]", 1, comment=f"연락 {phone}, {mail}, 주민번호 {rrn}")
    dump = "\n".join(str(row) for row in sqlite3.connect(tmp_path / "feedback.sqlite3").execute("SELECT * FROM feedback"))
    assert store.count() == 50
    assert not any(secret in dump for secret in secrets) and "홍길동" not in dump


def test_feedback_survives_a_foreign_schema_a_folder_and_a_lock(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE feedback (x TEXT)")
        conn.execute("INSERT INTO feedback VALUES ('old')")
    assert FeedbackStore(foreign).record("질문", "답변", "[]", 1) >= 1
    assert list(tmp_path.glob("foreign.sqlite3.corrupt-*"))  # the old file is kept, moved aside

    folder = tmp_path / "folder.sqlite3"
    folder.mkdir()
    assert FeedbackStore(folder).record("질문", "답변", "[]", -1) >= 1

    locked = tmp_path / "locked.sqlite3"
    store = FeedbackStore(locked)
    blocker = sqlite3.connect(locked, timeout=0.1)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert store.record("잠긴 동안의 질문", "답변", "[]", 1) >= 1
    finally:
        blocker.rollback()
        blocker.close()
    assert any(e.question == "잠긴 동안의 질문" for e in store.recent())


# -- quotes ------------------------------------------------------------------------------------------
def test_every_quote_of_every_answer_on_every_qa_set_is_the_plans_text_at_its_span(assistant, plan_path: Path) -> None:
    """Checked against the plan file read again from disk, not against the index the answer came from."""
    import re

    from eval.formats import QAItem, read_jsonl
    from guro_jobs.settings import PROJECT_ROOT

    source = {line.number: line.text for line in load_document(plan_path).lines}

    def squash(text: str) -> str:
        return re.sub(r"\s+", "", text)

    quotes, wrong = 0, []
    for path in sorted((PROJECT_ROOT / "eval" / "qa").glob("*.jsonl")):
        for item in read_jsonl(path, QAItem):
            for citation in assistant.ask(item.question, history=item.history).citations:
                for line in citation.lines:
                    quotes += 1
                    span = squash("".join(source.get(n, "") for n in range(line.start, line.end + 1)))
                    if not squash(line.text) or squash(line.text) not in span:
                        wrong.append((item.id, line.start, line.text[:60]))
    assert quotes > 3000
    assert wrong == []
