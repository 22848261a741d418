"""Build the knowledge base: load -> parse -> profile -> units + catalog -> embed + tokenise -> write.

Idempotent: when the documents (by sha256), the parser version and the embedder are what the index
was built from, nothing is done. A new index is written to a temporary folder and renamed into
place, so a failed or interrupted build never leaves half an index and never touches the old one. A
lock file keeps two ingests from writing the same index at once: the second waits, then refuses.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from ingestion.freshness import up_to_date
from ingestion.loaders import DocumentError, expand_paths, load_document
from ingestion.models import DocumentProfile, ParsedLine, Program, Section, Unit
from ingestion.parser import PARSER_VERSION, field_reading, heading_words, parse_document
from ingestion.profile import build_profile
from ingestion.programs import extract_programs
from ingestion.units import build_units
from knowledge.embeddings import Embedder
from knowledge.keywords import KoreanTokenizer
from knowledge.manifest import DocumentRecord, IndexInvalid, Manifest, read_manifest
from knowledge.store import UNITS, VECTORS, StoredUnits, write_index

logger = logging.getLogger(__name__)

# (stage, done, total): stages are "load", "embed", "write".
ProgressCallback = Callable[[str, int, int], None]
VOCABULARY_MAX_LEN = 4
DENSE_MAX_CHARS = 200  # what the embedder reads of a unit: its section title, header and text
LOCK_WAIT_S = 30.0


class IngestBusy(DocumentError):
    """Another ingest holds the lock on this index."""


@dataclass
class IngestReport:
    changed: bool
    manifest: Manifest
    seconds: float
    reason: str


def _unchanged(index_dir: Path, files: list[Path], embedder: Embedder) -> Manifest | None:
    """The current manifest when it was built from exactly these files (cheap: sizes and hashes only)."""
    manifest = up_to_date(files, index_dir, embedder.id)
    if manifest is None or manifest.dimension != embedder.dim:
        return None
    return manifest


@contextmanager
def index_lock(index_dir: Path, wait_s: float | None = None) -> Iterator[None]:
    """An exclusive lock beside the index folder; a second ingest waits up to `wait_s` (default
    LOCK_WAIT_S), then refuses."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    path = index_dir.parent / f".{index_dir.name}.lock"
    handle = path.open("a+")
    deadline = time.monotonic() + (LOCK_WAIT_S if wait_s is None else wait_s)
    try:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise IngestBusy(
                        index_dir, "another ingest is writing this index", "다른 색인 작업이 진행 중입니다. 잠시 후 다시 시도해 주세요"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        handle.close()


def unit_passage(unit: Unit, title: str) -> str:
    """What the embedder reads of a unit: the section's title for context (without its numbering,
    which is layout), its header and its text."""
    title = heading_words(title) if title else ""
    head = f"{title}: " if title else ""
    header = f"{unit.header} " if unit.header else ""
    return (head + header + field_reading(unit.display))[:DENSE_MAX_CHARS]


def unit_keywords(unit: Unit) -> str:
    """What BM25 reads of a unit: its header, label, table context and text."""
    return " ".join(p for p in (unit.header, unit.label, unit.context, field_reading(unit.display)) if p)


def section_keywords(section: Section) -> str:
    return " ".join(heading_words(h) for h in section.path[1:])


def section_passage(section: Section) -> str:
    """What the embedder reads of a section's title: its headings without their numbering."""
    return " > ".join(heading_words(h) for h in section.path[1:]) or section.path[0]


@dataclass
class _Parsed:
    record: DocumentRecord
    lines: list[ParsedLine]
    units: list[Unit]
    sections: list[Section]
    programs: list[Program]


def _parse(path: Path) -> _Parsed:
    document = load_document(path)  # raises DocumentError before anything is written
    lines = parse_document(document)
    profile: DocumentProfile = build_profile(document, lines)
    units, sections = build_units(lines)
    if not units:
        raise DocumentError(path, "no text could be indexed", "색인할 내용이 없습니다")
    programs = extract_programs(lines, profile)
    if profile.tasks and not programs:
        profile.warnings.append("tasks were found but no program could be read from them")
    profile.programs = len(programs)
    if not programs:
        logger.warning("%s: no programs found; the text is indexed for plain retrieval", path.name)
    record = DocumentRecord(
        name=document.name,
        path=str(path),
        sha256=document.sha256,
        lines=len(document.lines),
        units=len(units),
        profile=profile,
    )
    return _Parsed(record, lines, units, sections, programs)


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
    with index_lock(index_dir):
        if not force and (manifest := _unchanged(index_dir, files, embedder)):
            return IngestReport(False, manifest, time.perf_counter() - started, "unchanged")
        return _build(files, index_dir, embedder, tokenizer, progress, batch_size, started)


def _build(
    files: list[Path],
    index_dir: Path,
    embedder: Embedder,
    tokenizer: KoreanTokenizer,
    progress: ProgressCallback | None,
    batch_size: int,
    started: float,
) -> IngestReport:
    parsed: list[_Parsed] = []
    for number, path in enumerate(files, start=1):
        parsed.append(_parse(path))
        if progress:
            progress("load", number, len(files))
    multi = len(parsed) > 1
    lines: list[ParsedLine] = []
    units: list[Unit] = []
    sections: list[Section] = []
    programs: list[Program] = []
    for doc in parsed:
        base = len(units)
        lines.extend(doc.lines)
        for unit in doc.units:
            unit.members = [m + base for m in unit.members]
        for section in doc.sections:
            section.units = [u + base for u in section.units]
        units.extend(doc.units)
        sections.extend(doc.sections)
        for program in doc.programs:
            if multi:
                program.id = f"{Path(doc.record.name).stem}:{program.id}"
            programs.append(program)
    # Units point at their lines by index into the stored lines.
    position = {(ln.document, ln.start, ln.end, ln.kind): i for i, ln in enumerate(lines)}
    line_ids = [[position[(ln.document, ln.start, ln.end, ln.kind)] for ln in unit.lines] for unit in units]

    title_of = {(s.document, tuple(s.path)): s.title for s in sections}
    base_ids = [i for i, u in enumerate(units) if u.kind != "window"]
    passages = [unit_passage(units[i], title_of[(units[i].document, tuple(units[i].path))]) for i in base_ids]
    labels = sorted({u.label for u in units if u.label and u.kind == "field"})
    titles = [section_passage(s) for s in sections]
    vectors_by_text = _embed(passages + titles + labels, embedder, index_dir, batch_size, progress)
    dim = embedder.dim
    vectors = np.zeros((len(units), dim), dtype=np.float32)
    for i, text in zip(base_ids, passages, strict=True):
        vectors[i] = vectors_by_text[text]
    for i, unit in enumerate(units):
        if unit.kind == "window":
            vectors[i] = _normalise(vectors[unit.members].mean(axis=0))
    section_vectors = np.zeros((len(sections), dim), dtype=np.float32)
    title_vectors = np.vstack([vectors_by_text[t] for t in titles]) if titles else np.zeros((0, dim), np.float32)
    for i, (section, title) in enumerate(zip(sections, titles, strict=True)):
        members = vectors[section.units] if section.units else np.zeros((1, dim), np.float32)
        section_vectors[i] = _normalise(vectors_by_text[title] + members.mean(axis=0))
    label_vectors = (
        np.vstack([vectors_by_text[label] for label in labels]) if labels else np.zeros((0, dim), np.float32)
    )

    keyword_texts = [unit_keywords(units[i]) for i in base_ids]
    noun_counts = tokenizer.nouns(keyword_texts + titles)
    vocabulary = sorted(n for n in noun_counts if 2 <= len(n) <= VOCABULARY_MAX_LEN)
    keyed = tokenizer.with_vocabulary(vocabulary)
    unit_tokens: list[list[str]] = [[] for _ in units]
    for i, text in zip(base_ids, keyword_texts, strict=True):
        unit_tokens[i] = keyed.tokens(text)
    for i, unit in enumerate(units):
        if unit.kind == "window":
            unit_tokens[i] = [t for m in unit.members for t in unit_tokens[m]]
    section_tokens = [
        keyed.tokens(section_keywords(s)) + [t for u in s.units for t in unit_tokens[u]] for s in sections
    ]

    records = [doc.record for doc in parsed]
    manifest = Manifest(
        parser_version=PARSER_VERSION,
        embedder_id=embedder.id,
        dimension=dim,
        documents=records,
        unit_count=len(units),
        section_count=len(sections),
        program_count=len(programs),
        build_seconds=round(time.perf_counter() - started, 2),
    )
    stored = StoredUnits(
        units=[u.model_copy(update={"lines": []}) for u in units],
        line_ids=line_ids,
        sections=sections,
        unit_tokens=unit_tokens,
        section_tokens=section_tokens,
        vocabulary=vocabulary,
        labels=labels,
    )
    _write_atomically(
        index_dir,
        lambda folder: write_index(folder, manifest, stored, lines, vectors, section_vectors, title_vectors, label_vectors, programs),
    )
    if progress:
        progress("write", 1, 1)
    seconds = time.perf_counter() - started
    logger.info("built index %s: %d documents, %d units in %.1fs", index_dir, len(files), len(units), seconds)
    return IngestReport(True, manifest, seconds, "built")


def _normalise(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm > 0 else vector.astype(np.float32)


def _previous_vectors(index_dir: Path, embedder: Embedder) -> dict[str, np.ndarray]:
    """Vectors of the current index by passage text, reused when the embedder is the same."""
    try:
        manifest = read_manifest(index_dir)
        if manifest.embedder_id != embedder.id or manifest.dimension != embedder.dim:
            return {}
        stored = StoredUnits.model_validate_json((index_dir / UNITS).read_text(encoding="utf-8"))
        index = faiss.read_index(str(index_dir / VECTORS))
        if index.ntotal != len(stored.units):
            return {}
        matrix = index.reconstruct_n(0, index.ntotal)
        titles = {(s.document, tuple(s.path)): s.title for s in stored.sections}
        return {
            unit_passage(u, titles.get((u.document, tuple(u.path)), "")): matrix[i]
            for i, u in enumerate(stored.units)
            if u.kind != "window"
        }
    except (IndexInvalid, OSError, ValueError, RuntimeError):
        return {}


def _embed(
    texts: list[str], embedder: Embedder, index_dir: Path, batch_size: int, progress: ProgressCallback | None
) -> dict[str, np.ndarray]:
    """Embed each distinct text once, reusing unit vectors the current index already holds."""
    known = _previous_vectors(index_dir, embedder)
    todo = [t for t in dict.fromkeys(texts) if t not in known]
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
    logger.info("embedded %d distinct texts (%d reused)", len(todo), len(set(texts)) - len(todo))
    return known


def _write_atomically(index_dir: Path, write: Callable[[Path], None]) -> None:
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = index_dir.parent / f".{index_dir.name}.building-{os.getpid()}"
    retired = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
    for leftover in index_dir.parent.glob(f".{index_dir.name}.building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if index_dir.exists():
        index_dir.rename(retired)
    staging.rename(index_dir)
    shutil.rmtree(retired, ignore_errors=True)
