"""The Streamlit app, headless with AppTest, over the real session index (tests/conftest.py)."""

from __future__ import annotations

import socket
import time
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
    monkeypatch.setenv("GURO_JOBS_HISTORY__DB_PATH", str(tmp_path / "conversations.sqlite3"))
    monkeypatch.setenv("GURO_JOBS_ANSWER_MODE", "extractive")
    monkeypatch.setenv("GURO_JOBS_LLM__PROVIDER", "none")
    return db


def start(query: dict[str, str] | None = None) -> AppTest:
    """A session of the app, run until the shared assistant is ready (its first load is in a thread)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    for name, value in (query or {}).items():
        at.query_params[name] = value
    at.run()
    deadline = time.monotonic() + 180
    while at.status and time.monotonic() < deadline:  # the loading status is shown until it is ready
        time.sleep(0.5)
        at.run()
    assert not at.exception, at.exception
    assert not at.status, "the assistant did not get ready"
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
    assert "**월 20만원**" in answer, "the key amount is in bold"
    assert "「2023년 일자리 대책 세부계획」 기준" in answer
    labels = [expander.label for expander in at.expander]
    # Source cards name the program and the plan in words, not the file and its line numbers.
    card = next(label for label in labels if "청년도전지원사업" in label)
    assert "2023년 일자리 대책 세부계획" in card and ".txt" not in card and "행" not in card
    quote = "\n".join(texts(next(e for e in at.expander if e.label == card)))
    assert "20만원" in quote and "<mark>" in quote and "1899행" not in quote
    # Counselors see the line numbers and the raw path.
    at.toggle(key="details").set_value(True).run()
    quote = "\n".join(texts(next(e for e in at.expander if "청년도전지원사업" in e.label)))
    assert "1899행" in quote and "guro_2023_job_plan.txt" in quote
    # Build details are not in the resident's first view: they sit in the counselor/about panel.
    sidebar = "\n".join(texts(at.sidebar))
    assert "구로구 「2023년 일자리 대책 세부계획」" in sidebar and "관리자 정보" in sidebar


def test_follow_up_stays_on_the_program_and_chips_ask_more(feedback_db: Path) -> None:
    at = ask(start(), "청년도전지원사업에 대해 알려줘")
    at = ask(at, "인센티브는 얼마야?")
    assert messages(at, "user") == ["청년도전지원사업에 대해 알려줘", "인센티브는 얼마야?"]
    follow_up = messages(at, "assistant")[-1]
    assert "청년도전지원사업" in follow_up and "20만원" in follow_up
    chips = [b for b in at.button if b.key and b.key.startswith("follow-")]
    assert chips, "follow-up questions are offered"
    chips[0].click().run()
    assert not at.exception and len(messages(at, "user")) == 3


def test_a_verdict_opens_an_eligibility_answer(feedback_db: Path) -> None:
    at = ask(start(), "고3인데 만 17살이에요. 안심일자리 알바 할 수 있나요?")
    assert at.error and "해당되지 않습니다" in at.error[0].value and "만 18세 이상" in at.error[0].value


def test_abstention_looks_different_and_offers_programs(feedback_db: Path) -> None:
    at = ask(start(), "강남구 청년 일자리 지원사업 알려줘")
    assert at.warning, "an abstention is shown as a warning"
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
    assert any(b.label == INCENTIVE_QUESTION for b in at.button), "a new conversation shows the examples again"


def test_empty_question_asks_for_one(feedback_db: Path) -> None:
    at = ask(start(), "   ")
    assert messages(at, "user") == []


def test_the_conversation_survives_a_reload(feedback_db: Path) -> None:
    at = ask(start(), INCENTIVE_QUESTION)
    conversation = at.query_params["c"]
    conversation = conversation[0] if isinstance(conversation, list) else conversation
    again = start({"c": conversation})  # the same browser reloads the same address
    assert messages(again, "user") == [INCENTIVE_QUESTION]
    assert "20만원" in messages(again, "assistant")[-1]


def _finder(at: AppTest) -> AppTest:
    at.segmented_control(key="page").set_value("사업 찾기").run()
    assert not at.exception
    return at


def _card_names(at: AppTest) -> list[str]:
    names = []
    for block in at.main.children.values():
        for text in texts(block):
            if text.startswith("**") and "**" in text[2:]:
                names.append(text[2 : text.index("**", 2)])
    return names


def test_finder_filters_by_age_and_lists_each_program_once(feedback_db: Path) -> None:
    at = _finder(start())
    at.text_input(key="finder-age").set_value("67").run()
    text = page_text(at)
    assert "노인 일자리사업" in text and "청년도전지원사업" not in text
    assert len(at.get("download_button")) == 1
    at.text_input(key="finder-age").set_value("").run()
    names = _card_names(at)
    while any(b.key == "finder-more" for b in at.button):
        at.button(key="finder-more").click().run()
        names = _card_names(at)
    assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
    # 안심 일자리사업 is a task's part and a summary-table row (`안심일자리 사업`) of the same program: once.
    assert sum(1 for n in names if n.replace(" ", "") == "안심일자리사업") == 1


def test_finder_age_must_be_a_number(feedback_db: Path) -> None:
    at = _finder(start())
    at.text_input(key="finder-age").set_value("예순").run()
    assert any("숫자로 적어 주세요" in c.value for c in at.caption)


def test_a_thumb_alone_lands_in_sqlite_and_a_comment_may_follow(feedback_db: Path) -> None:
    at = ask(start(), INCENTIVE_QUESTION)
    at.feedback[0].set_value(0).run()  # 👎, no comment
    assert not at.exception
    store = FeedbackStore(feedback_db)
    assert store.count() == 1
    entry = store.recent()[0]
    assert entry.question == INCENTIVE_QUESTION and entry.rating == -1 and entry.comment == ""
    assert "20만원" in entry.answer_text and "과제 1-3" in entry.citations_json
    key = next(t.key for t in at.text_input if t.key and t.key.startswith("comment-"))
    at.text_input(key=key).set_value("연락처 010-1234-5678 로 알려주세요").run()
    next(b for b in at.button if b.label == "의견 보내기").click().run()
    entry = FeedbackStore(feedback_db).recent()[0]
    assert FeedbackStore(feedback_db).count() == 1 and "010-1234-5678" not in entry.comment and "[전화번호]" in entry.comment


def test_corrupt_feedback_db_is_moved_aside(feedback_db: Path) -> None:
    feedback_db.write_bytes(b"this is not a database" * 100)
    at = ask(start(), INCENTIVE_QUESTION)
    at.feedback[0].set_value(1).run()
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
    the same isolation (history is kept in each session's state and under its own id).
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
