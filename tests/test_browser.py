"""One real-browser end-to-end test: `streamlit run app.py` driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eval.app_server import CHAT_INPUT, CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app, wait_healthy
from guro_jobs.settings import PROJECT_ROOT, Settings

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
QUESTION = "청년도전지원사업 인센티브는 얼마인가요?"


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium) for the browser test"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; in CI the browser test must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def app_url(index_settings: Settings, assistant, tmp_path: Path) -> Iterator[str]:
    """The app served on a free localhost port over the session's built index."""
    port = free_port()
    env = {
        **os.environ,
        "GURO_JOBS_INDEX_DIR": str(index_settings.index_dir),
        "GURO_JOBS_FEEDBACK__DB_PATH": str(tmp_path / "feedback.sqlite3"),
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


@pytest.mark.browser
def test_chat_answer_with_citation_in_chromium(chromium: Path, app_url: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, locale="ko-KR")
            page.goto(app_url)
            box = page.locator(CHAT_INPUT)
            box.wait_for(timeout=60_000)
            box.fill(QUESTION)
            box.press("Enter")
            answer = page.locator('[data-testid="stChatMessage"]').filter(has_text="20만원").last
            answer.wait_for(timeout=120_000)
            cited = answer.locator('[data-testid="stExpander"]').filter(has_text="과제 1-3")
            cited.first.wait_for(timeout=30_000)
            answer.scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # let fonts and the expander animation settle
            page.screenshot(path=str(ARTIFACTS / "browser-answer.png"))
            body = page.inner_text("body")
        finally:
            browser.close()
    assert QUESTION in body
    assert "20만원" in body
    assert "과제 1-3" in body
