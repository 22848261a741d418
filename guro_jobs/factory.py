"""One factory builds the assistant from settings; the CLI, the app and eval all use it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from guro_jobs.assistant import Assistant, LLMAnswerer
from guro_jobs.decide import DECLINE_FEATURES, DECLINE_VERSION
from guro_jobs.features import FEATURE_NAMES, FEATURE_VERSION, SECTION_FEATURES, SECTION_VERSION
from guro_jobs.model import DECLINE_FILE, MEMORY_FILE, SECTION_FILE, UNIT_FILE, LinearModel, NeighbourMemory
from guro_jobs.settings import Settings
from ingestion.build import IngestReport, ProgressCallback, ingest
from ingestion.parser import PARSER_VERSION
from knowledge.embeddings import Embedder, create_embedder
from knowledge.keywords import KoreanTokenizer
from knowledge.lexicon import load as load_lexicon
from knowledge.manifest import IndexInvalid, read_manifest
from knowledge.store import KnowledgeBase

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
    """Load the index; a missing, corrupt or mismatched one is rebuilt from the documents it was built from
    (those still where its manifest says), or from the bundled plan when none of them is."""
    embedder = embedder or create_embedder_from(settings)
    tokenizer = tokenizer or KoreanTokenizer()
    try:
        kb = KnowledgeBase.load(settings.index_dir, embedder, tokenizer, PARSER_VERSION)
        return kb, LoadReport(rebuilt=False)
    except IndexInvalid as problem:
        sources = _index_sources(settings.index_dir) or [settings.bundled_plan]
        logger.warning(
            "index at %s cannot be used (%s); rebuilding from %s", settings.index_dir, problem, ", ".join(p.name for p in sources)
        )
        report = ingest(
            sources,
            settings.index_dir,
            embedder,
            tokenizer,
            force=True,
            progress=progress,
            batch_size=settings.embedder.batch_size,
        )
        kb = KnowledgeBase.load(settings.index_dir, embedder, tokenizer, PARSER_VERSION)
        return kb, LoadReport(rebuilt=True, reason=str(problem), reason_ko=problem.reason_ko, ingest=report)


def _index_sources(index_dir: Path) -> list[Path]:
    """The documents an index was built from that are still on disk (none when its manifest is unreadable)."""
    try:
        manifest = read_manifest(index_dir)
    except IndexInvalid:
        return []
    paths = [Path(d.path) for d in manifest.documents]
    return [p for p in dict.fromkeys(paths) if p.is_file()]


def create_llm(settings: Settings) -> LLMAnswerer | None:
    if settings.answer_mode != "llm" or settings.llm.provider == "none":
        return None
    from guro_jobs.llm import create_llm_answerer  # optional stage; imports langchain chat models lazily

    return create_llm_answerer(settings.llm)


Models = tuple[LinearModel, LinearModel, LinearModel]


def load_models(weights_dir: Path) -> Models:
    """The learned section ranker, unit ranker and decline weights (JSON written by `python -m eval train`)."""
    section = LinearModel.load(weights_dir / SECTION_FILE, "section", SECTION_VERSION, SECTION_FEATURES)
    unit = LinearModel.load(weights_dir / UNIT_FILE, "unit", FEATURE_VERSION, FEATURE_NAMES)
    decline = LinearModel.load(weights_dir / DECLINE_FILE, "decline", DECLINE_VERSION, DECLINE_FEATURES)
    return section, unit, decline


def load_memory(weights_dir: Path, kb: KnowledgeBase) -> NeighbourMemory | None:
    """The decline model's memory of questions; without one (an older weights folder) the neighbour
    features stay 0 and a warning says how to get it."""
    path = weights_dir / MEMORY_FILE
    if not path.exists():
        logger.warning("%s is missing: declines work without question neighbours; run `python -m eval train`", path)
        return None
    return NeighbourMemory.load(path, DECLINE_VERSION, kb.embedder)


def build_assistant(
    settings: Settings | None = None,
    progress: ProgressCallback | None = None,
    kb: KnowledgeBase | None = None,
    models: Models | None = None,
    memory: NeighbourMemory | None = None,
) -> tuple[Assistant, LoadReport]:
    """The assistant over the index of `settings` (built or rebuilt when needed). Without `models`, the
    learned weights and the decline memory come from the weights folder; with them, `memory` goes with
    them (None: no question neighbours, as while training)."""
    settings = settings or Settings()
    report = LoadReport(rebuilt=False)
    if kb is None:
        kb, report = load_knowledge_base(settings, progress=progress)
    section, unit, decline = models or load_models(settings.weights_dir)
    assistant = Assistant(
        kb, section, unit, decline, load_lexicon(), llm=create_llm(settings), max_question_chars=settings.max_question_chars,
        memory=load_memory(settings.weights_dir, kb) if models is None else memory,
    )
    # Kiwi and the C embedder load lazily on first use (about 2 s): pay it at start-up, not on the
    # resident's first question.
    kb.tokenizer.tokens("일자리 도우미")
    kb.embedder.query("일자리 도우미")
    return assistant, report
