"""One real-browser end-to-end test: `streamlit run app.py` driven by Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from guro_jobs.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "청년도전지원사업 인센티브는 얼마인가요?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s:.0f} s")


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
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
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
            box = page.locator('[data-testid="stChatInputTextArea"]')
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
