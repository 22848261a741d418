"""The Streamlit app, headless with AppTest, over the real session index (tests/conftest.py)."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from guro_jobs.feedback import FeedbackStore
from guro_jobs.settings import Settings

APP = Path(__file__).resolve().parents[1] / "app.py"
INCENTIVE_QUESTION = "청년도전지원사업 인센티브는 얼마인가요?"


@pytest.fixture
def feedback_db(monkeypatch: pytest.MonkeyPatch, index_settings: Settings, assistant, tmp_path: Path) -> Path:
    """Point the app at the session's built index (built by the `assistant` fixture) and a fresh feedback DB."""
    db = tmp_path / "feedback.sqlite3"
    monkeypatch.setenv("GURO_JOBS_INDEX_DIR", str(index_settings.index_dir))
    monkeypatch.setenv("GURO_JOBS_FEEDBACK__DB_PATH", str(db))
    monkeypatch.setenv("GURO_JOBS_FEEDBACK__ENABLED", "true")
    monkeypatch.setenv("GURO_JOBS_ANSWER_MODE", "extractive")
    monkeypatch.setenv("GURO_JOBS_LLM__PROVIDER", "none")
    return db


def start() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def texts(node: Any) -> Iterator[str]:
    """Every label and text value under a node of the element tree (each once)."""
    for attributes in (("label",), ("value", "body")):
        for attribute in attributes:
            try:
                value = getattr(node, attribute)
            except Exception:  # widgets without that attribute or without a value yet
                continue
            if isinstance(value, str):
                yield value
                break
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for child in children.values():
            yield from texts(child)


def page_text(at: AppTest) -> str:
    return "\n".join([*texts(at.main), *texts(at.sidebar)])


def messages(at: AppTest, name: str) -> list[str]:
    return ["\n".join(texts(message)) for message in at.chat_message if message.name == name]


def test_question_shows_answer_with_citation(feedback_db: Path) -> None:
    at = ask(start(), INCENTIVE_QUESTION)
    assert messages(at, "user") == [INCENTIVE_QUESTION]
    answer = messages(at, "assistant")[-1]
    assert "20만원" in answer
    labels = [expander.label for expander in at.expander]
    assert any("과제 1-3" in label for label in labels), labels
    # The quoted source line with the amount is inside the citation, highlighted as used.
    cited = next(e for e in at.expander if "과제 1-3" in e.label)
    quote = "\n".join(texts(cited))
    assert "20만원" in quote and "<mark>" in quote
    # The sidebar tells what is loaded.
    sidebar = "\n".join(texts(at.sidebar))
    assert "guro" in sidebar and "조각" in sidebar and "추출형" in sidebar


def test_follow_up_stays_on_the_program(feedback_db: Path) -> None:
    at = ask(start(), "청년도전지원사업에 대해 알려줘")
    at = ask(at, "인센티브는 얼마야?")
    assert messages(at, "user") == ["청년도전지원사업에 대해 알려줘", "인센티브는 얼마야?"]
    follow_up = messages(at, "assistant")[-1]
    assert "청년도전지원사업" in follow_up
    assert "20만원" in follow_up


def test_abstention_looks_different_and_offers_programs(feedback_db: Path) -> None:
    at = ask(start(), "구로구 청년 월세 지원금은 얼마인가요?")
    assert at.warning, "an abstention is shown as a warning"
    assert "내용이 없습니다" in at.warning[0].value
    suggestions = [b for b in at.button if b.key and b.key.startswith("suggest-")]
    assert suggestions, "nearest programs are offered as buttons"
    suggestions[0].click().run()
    assert not at.exception
    assert len(messages(at, "user")) == 2, "clicking a suggestion asks about that program"


def test_example_question_buttons_and_new_conversation(feedback_db: Path) -> None:
    at = start()
    example = next(b for b in at.button if b.label == INCENTIVE_QUESTION)
    example.click().run()
    assert messages(at, "user") == [INCENTIVE_QUESTION]
    assert "20만원" in messages(at, "assistant")[-1]
    at.button(key="new-chat").click().run()
    assert messages(at, "user") == []
    assert any(b.label == INCENTIVE_QUESTION for b in at.button), (
        "a new conversation shows the examples again"
    )


def test_empty_question_shows_hint(feedback_db: Path) -> None:
    at = ask(start(), "   ")
    assert any("질문을 입력해 주세요" in info.value for info in at.info)
    assert messages(at, "user") == []


def test_finder_filters_by_age(feedback_db: Path) -> None:
    at = start()
    at.number_input(key="finder-age").set_value(67).run()
    assert not at.exception
    names = list(at.dataframe[0].value["사업명"])
    assert "노인 일자리사업" in names
    assert not any("청년도전지원사업" in name for name in names)
    assert len(at.get("download_button")) == 1
    at.multiselect(key="finder-groups").set_value(["노인·어르신"]).run()
    assert not at.exception
    assert "노인 일자리사업" in list(at.dataframe[0].value["사업명"])


def test_finder_keyword_and_detail_citation(feedback_db: Path) -> None:
    at = start()
    at.text_input(key="finder-keyword").set_value("청년도전").run()
    names = list(at.dataframe[0].value["사업명"])
    assert names and all("청년도전" in name.replace(" ", "") for name in names)
    detail = page_text(at)
    assert "과제 1-3" in detail  # the detail's citation label
    assert "구직단념" in detail  # a quoted source line


def test_feedback_lands_in_sqlite(feedback_db: Path) -> None:
    at = ask(start(), INCENTIVE_QUESTION)
    at.feedback[0].set_value(0)  # 👎
    at.text_input(key="comment-0-0").set_value("도약프로그램 금액도 궁금해요")
    next(b for b in at.button if b.label == "의견 보내기").click().run()
    assert not at.exception
    assert any("감사합니다" in caption.value for caption in at.caption)
    store = FeedbackStore(feedback_db)
    assert store.count() == 1
    entry = store.recent()[0]
    assert entry.question == INCENTIVE_QUESTION
    assert entry.rating == -1
    assert entry.comment == "도약프로그램 금액도 궁금해요"
    assert "20만원" in entry.answer_text and "과제 1-3" in entry.citations_json
    with sqlite3.connect(feedback_db) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    assert columns == {"id", "created_at", "question", "answer_text", "citations_json", "rating", "comment"}


def test_corrupt_feedback_db_is_moved_aside(feedback_db: Path) -> None:
    feedback_db.write_bytes(b"this is not a database" * 100)
    at = ask(start(), INCENTIVE_QUESTION)
    at.feedback[0].set_value(1)
    next(b for b in at.button if b.label == "의견 보내기").click().run()
    assert not at.exception
    assert FeedbackStore(feedback_db).count() == 1
    assert list(feedback_db.parent.glob("feedback.sqlite3.corrupt-*"))


def test_feedback_can_be_turned_off(feedback_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GURO_JOBS_FEEDBACK__ENABLED", "false")
    at = ask(start(), INCENTIVE_QUESTION)
    assert not at.feedback
    assert not feedback_db.exists()


def test_llm_server_down_shows_notice(feedback_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("GURO_JOBS_ANSWER_MODE", "llm")
    monkeypatch.setenv("GURO_JOBS_LLM__PROVIDER", "openai")
    monkeypatch.setenv("GURO_JOBS_LLM__MODEL", "test-model")
    monkeypatch.setenv("GURO_JOBS_LLM__BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("GURO_JOBS_LLM__TIMEOUT_S", "2")
    at = ask(start(), INCENTIVE_QUESTION)
    assert "20만원" in messages(at, "assistant")[-1], "the extractive answer still comes back"
    assert any("LLM" in info.value for info in at.info), [info.value for info in at.info]


QUESTIONS = (
    "청년도전지원사업 인센티브는 얼마인가요?",
    "노인 일자리사업 보수는 얼마인가요?",
    "중장년 일자리센터는 어디에 있나요?",
    "50세 이상은 어떤 지원을 받을 수 있나요?",
    "청년도전지원사업 대상은 누구인가요?",
    "안심 일자리사업 임금은 얼마인가요?",
    "신중년 경력형 일자리는 누가 참여하나요?",
    "여성 창업 교육 지원금은 얼마인가요?",
    "특성화고 현장실습 지원사업 인건비는 얼마인가요?",
    "서울형 청년뉴딜일자리 사업 대상은 누구인가요?",
)


def test_ten_concurrent_sessions_keep_their_own_history(feedback_db: Path) -> None:
    """Ten sessions open at once, their turns interleaved, each sees only its own conversation.

    AppTest swaps a process-wide mock Runtime in and out around every run, so two AppTest runs
    cannot execute in parallel threads; interleaving the turns of ten live sessions exercises
    the same isolation (history is kept in each session's `st.session_state` only).
    """
    sessions = {question: start() for question in QUESTIONS}
    for turn in (None, "더 자세히 알려줘"):
        for question, at in sessions.items():
            ask(at, turn or question)
    for question, at in sessions.items():
        assert messages(at, "user") == [question, "더 자세히 알려줘"]
        text = page_text(at)
        assert question in text
        seen = [other for other in QUESTIONS if other != question and other in text]
        assert not seen, f"the session of {question!r} shows other sessions' questions: {seen}"
