"""Real-browser end-to-end tests: `streamlit run app.py` driven by Debian's headless Chromium (Playwright).

Screenshots are kept in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.app_server import CHAT_INPUT, CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app, wait_healthy
from guro_jobs.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.browser
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "청년도전지원사업 인센티브는 얼마인가요?"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Visible text outside the plan's own words (answers, quotes, program cards hold plan text with English).
UI_TEXT_JS = """() => {
  const skip = ['[data-testid="stChatMessage"] [data-testid="stMarkdownContainer"] p', '[data-testid="stExpander"]',
    '[class*="st-key-plan-"]', 'code'].join(',');
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(skip) || el.closest('script,style,noscript,[aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    // Hidden, or replaced by Korean text drawn in CSS (the skip link's ::after).
    if (style.display === 'none' || style.visibility === 'hidden' || parseFloat(style.fontSize) === 0) continue;
    const text = node.textContent.trim();
    if (text) out.push(text);
  }
  return out;
}"""
ALLOWED_LATIN = {"CSV"}


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) for the browser test"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; in CI the browser test must run")
        pytest.skip(reason)
    return CHROMIUM


def _serve(tmp_path: Path, index_dir: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "GURO_JOBS_INDEX_DIR": str(index_dir),
        "GURO_JOBS_FEEDBACK__DB_PATH": str(tmp_path / "feedback.sqlite3"),
        "GURO_JOBS_HISTORY__DB_PATH": str(tmp_path / "conversations.sqlite3"),
        "GURO_JOBS_ANSWER_MODE": "extractive",
    }
    log = (tmp_path / "streamlit.log").open("wb")
    process = start_app(port, env, output=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, deadline=time.monotonic() + 60)
        yield url
    finally:
        stop_app(process)
        log.close()


@pytest.fixture
def app_url(index_settings: Settings, assistant, tmp_path: Path) -> Iterator[str]:
    """The app over the session's built index."""
    yield from _serve(tmp_path, index_settings.index_dir)


@pytest.fixture
def browser(chromium: Path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _ask(page, question: str, expect: str, turn: int = 0, timeout: int = 120_000):
    """Ask the `turn`-th question of this page (0 first) and wait for its answer to show `expect`.
    Messages alternate user, assistant: the answer is message 2 * turn + 1."""
    box = page.locator(CHAT_INPUT)
    box.wait_for(timeout=60_000)
    box.fill(question)
    box.press("Enter")
    answer = page.locator('[data-testid="stChatMessage"]').nth(2 * turn + 1)
    answer.locator('[data-testid="stExpander"], [data-testid="stAlert"]').first.wait_for(timeout=timeout)
    if expect:
        page.locator('[data-testid="stChatMessage"]').nth(2 * turn + 1).filter(has_text=expect).wait_for(timeout=timeout)
    return answer


def _english_ui_words(page) -> list[str]:
    import re

    words = [w for text in page.evaluate(UI_TEXT_JS) for w in re.findall(r"[A-Za-z]{3,}", text)]
    return [w for w in words if w not in ALLOWED_LATIN]


def test_chat_answer_with_citation(browser, app_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="ko-KR")
    page.goto(app_url)
    answer = _ask(page, QUESTION, "20만원")
    cited = answer.locator('[data-testid="stExpander"]').filter(has_text="청년도전지원사업")
    cited.first.wait_for(timeout=30_000)
    answer.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "desktop-answer.png"))
    body = page.inner_text("body")
    assert QUESTION in body and "20만원" in body and "2023년 일자리 대책 세부계획" in body


def test_on_a_phone_the_input_is_on_the_first_screen_and_the_ui_is_korean(browser, app_url: str) -> None:
    page = browser.new_page(viewport=PHONE, locale="ko-KR", is_mobile=True, has_touch=True)
    page.goto(app_url)
    box = page.locator(CHAT_INPUT)
    box.wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    where = box.bounding_box()
    assert where is not None and where["y"] >= 0 and where["y"] + where["height"] <= PHONE["height"]
    title = page.locator("h1").first.bounding_box()
    assert title is not None and title["height"] < 60, "the title fits on one line"
    page.screenshot(path=str(ARTIFACTS / "phone-start.png"))
    assert _english_ui_words(page) == []
    _ask(page, QUESTION, "20만원")
    page.screenshot(path=str(ARTIFACTS / "phone-answer.png"), full_page=True)
    assert _english_ui_words(page) == []
    page.get_by_text("사업 찾기", exact=True).click()
    page.get_by_text("나에게 맞는 사업 찾기").wait_for(timeout=30_000)
    age = page.get_by_label("나이 (만)")
    age.fill("abc")
    age.press("Enter")
    page.get_by_text("숫자로 적어 주세요").wait_for(timeout=30_000)
    age.fill("67")
    age.press("Enter")
    page.get_by_text("노인 일자리사업").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "phone-finder.png"), full_page=True)
    assert _english_ui_words(page) == []


def test_a_follow_up_chip_answers(browser, app_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="ko-KR")
    page.goto(app_url)
    _ask(page, "중장년 일자리센터는 어디에 있나요?", "개봉로23길 10")
    chips = page.locator('[data-testid="stButton"] button').filter(has_text="중장년 일자리센터")
    chips.first.wait_for(timeout=30_000)
    label = chips.first.inner_text()
    chips.first.click()
    answer = page.locator('[data-testid="stChatMessage"]').nth(3)
    answer.locator('[data-testid="stExpander"], [data-testid="stAlert"]').first.wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "follow-up-chip.png"), full_page=True)
    assert label.strip().splitlines()[-1] in page.inner_text("body")


def test_among_them_after_a_list_cites_a_program_from_the_list(browser, app_url: str) -> None:
    page = browser.new_page(viewport=DESKTOP, locale="ko-KR")
    page.goto(app_url)
    listing = _ask(page, "저 52살인데 퇴직했어요. 구에서 받을 수 있는 지원이 뭐가 있나요?", "사업")
    listed = listing.inner_text()
    answer = _ask(page, "그 중에 교육 프로그램은?", "", turn=1)
    cards = answer.locator('[data-testid="stExpander"] summary')
    cards.first.wait_for(timeout=30_000)
    titles = [t.split(" · ")[0].split(" — ")[0].strip() for t in cards.all_inner_texts()]
    page.screenshot(path=str(ARTIFACTS / "among-them.png"), full_page=True)
    assert any(title and title in listed for title in titles), (titles, listed)


def test_a_question_asked_while_the_first_build_runs_is_answered(browser, tmp_path: Path) -> None:
    """No index yet: the app builds it in a thread; a question typed meanwhile shows at once and is
    answered when the build is done."""
    for url in _serve(tmp_path, tmp_path / "fresh-index"):
        page = browser.new_page(viewport=PHONE, locale="ko-KR", is_mobile=True)
        page.goto(url)
        page.get_by_text("처음 실행이면 몇 분 걸릴 수 있습니다", exact=False).first.wait_for(timeout=60_000)
        box = page.locator(CHAT_INPUT)
        box.fill(QUESTION)
        box.press("Enter")
        page.get_by_text(QUESTION).first.wait_for(timeout=10_000)  # shown at once, not dropped
        page.get_by_text("준비되는 대로 답해 드립니다").first.wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "asked-while-loading.png"), full_page=True)
        page.locator('[data-testid="stChatMessage"]').filter(has_text="20만원").first.wait_for(timeout=300_000)
        page.screenshot(path=str(ARTIFACTS / "answered-after-loading.png"), full_page=True)
