"""One factory builds the assistant from settings; the CLI, the app and eval all use it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from guro_jobs.assistant import Assistant, LLMAnswerer
from guro_jobs.retrieval import HybridRetriever
from guro_jobs.settings import Settings
from ingestion.build import IngestReport, ProgressCallback, ingest
from ingestion.parser import PARSER_VERSION
from knowledge.embeddings import Embedder, create_embedder
from knowledge.keywords import KoreanTokenizer
from knowledge.store import IndexInvalid, KnowledgeBase

logger = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What happened while loading: shown in the app's sidebar and the CLI's log."""

    rebuilt: bool
    reason: str = ""
    reason_ko: str = ""
    ingest: IngestReport | None = None


def create_embedder_from(settings: Settings) -> Embedder:
    e = settings.embedder
    return create_embedder(e.kind, e.model, e.query_prefix, e.passage_prefix)


def load_knowledge_base(
    settings: Settings,
    embedder: Embedder | None = None,
    tokenizer: KoreanTokenizer | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[KnowledgeBase, LoadReport]:
    """Load the index; a missing, corrupt or mismatched one is rebuilt from the bundled plan."""
    embedder = embedder or create_embedder_from(settings)
    tokenizer = tokenizer or KoreanTokenizer()
    try:
        kb = KnowledgeBase.load(settings.index_dir, embedder, tokenizer, PARSER_VERSION)
        return kb, LoadReport(rebuilt=False)
    except IndexInvalid as problem:
        logger.warning("index at %s cannot be used (%s); rebuilding from the bundled plan", settings.index_dir, problem)
        report = ingest(
            [settings.bundled_plan],
            settings.index_dir,
            embedder,
            tokenizer,
            force=True,
            progress=progress,
            batch_size=settings.embedder.batch_size,
        )
        kb = KnowledgeBase.load(settings.index_dir, embedder, tokenizer, PARSER_VERSION)
        return kb, LoadReport(rebuilt=True, reason=str(problem), reason_ko=problem.reason_ko, ingest=report)


def create_llm(settings: Settings) -> LLMAnswerer | None:
    if settings.answer_mode != "llm" or settings.llm.provider == "none":
        return None
    from guro_jobs.llm import create_llm_answerer  # optional stage; imports langchain chat models lazily

    return create_llm_answerer(settings.llm)


def build_assistant(
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    kb: KnowledgeBase | None = None,
) -> tuple[Assistant, LoadReport]:
    settings = settings or Settings()
    report = LoadReport(rebuilt=False)
    if kb is None:
        kb, report = load_knowledge_base(settings, progress=progress)
    r = settings.retrieval
    retriever = HybridRetriever(kb, r.bm25_weight, r.dense_weight, r.candidates)
    assistant = Assistant(
        kb, retriever, top_k=r.top_k, max_question_chars=settings.max_question_chars, llm=create_llm(settings)
    )
    # Kiwi and the C embedder load lazily on first use (about 2 s): pay it at start-up, not on the
    # resident's first question.
    kb.tokenizer.tokens("구로 일자리 도우미")
    kb.embedder.query("구로 일자리 도우미")
    return assistant, report
