"""The built knowledge base on disk and its access: FAISS vectors, BM25 keywords, units, catalog.

Layout of an index folder (nothing is pickled; loading never runs code from the folder):
    manifest.json   what was built from what (documents with their profiles, parser, embedder, counts) and
                    the sha256 of every other file, checked on load
    vectors.faiss   FAISS's own file format: one vector per unit (inner product over L2-normalised vectors)
    dense.npz       section vectors and field-label vectors (numpy, loaded with allow_pickle=False)
    lines.json      the parsed lines of every document
    units.json      units, sections, BM25 tokens and the compound-splitting vocabulary
    catalog.json    the program catalog
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import faiss
import numpy as np
from pydantic import BaseModel, ValidationError

from ingestion.loaders import sha256_of
from ingestion.models import DocumentProfile, ParsedLine, Program, Section, Unit
from knowledge.catalog import Catalog
from knowledge.embeddings import Embedder
from knowledge.keywords import BM25Index, KoreanTokenizer
from knowledge.manifest import (
    MANIFEST,
    IndexInvalid,
    Manifest,
    check_compatible,
    read_manifest,
)
from knowledge.names import NamedSection, build_name_index

logger = logging.getLogger(__name__)

VECTORS = "vectors.faiss"
DENSE = "dense.npz"
LINES = "lines.json"
UNITS = "units.json"
CATALOG = "catalog.json"
DATA_FILES = (VECTORS, DENSE, LINES, UNITS, CATALOG)


class StoredUnits(BaseModel):
    units: list[Unit]
    line_ids: list[list[int]]
    sections: list[Section]
    unit_tokens: list[list[str]]
    section_tokens: list[list[str]]
    vocabulary: list[str]
    labels: list[str]


class StoredLines(BaseModel):
    lines: list[ParsedLine]


def check_files(index_dir: Path, manifest: Manifest) -> None:
    """Every data file is there and is the file the manifest recorded (sha256)."""
    for name in DATA_FILES:
        path = index_dir / name
        if not path.is_file():
            raise IndexInvalid(f"index file {name} is missing", "색인 파일 일부가 없습니다")
        expected = manifest.files.get(name)
        if expected is None or sha256_of(path) != expected:
            raise IndexInvalid(f"index file {name} does not match its checksum", "색인 파일이 손상되었습니다")


def write_index(
    folder: Path,
    manifest: Manifest,
    stored: StoredUnits,
    lines: list[ParsedLine],
    vectors: np.ndarray,
    section_vectors: np.ndarray,
    title_vectors: np.ndarray,
    label_vectors: np.ndarray,
    programs: list[Program],
) -> None:
    """Write a complete index into `folder` (a fresh temporary folder; the caller swaps it in)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(folder / VECTORS))
    with (folder / DENSE).open("wb") as handle:
        np.savez(
            handle,
            sections=section_vectors.astype(np.float32),
            titles=title_vectors.astype(np.float32),
            labels=label_vectors.astype(np.float32),
        )
    (folder / LINES).write_text(StoredLines(lines=lines).model_dump_json(), encoding="utf-8")
    (folder / UNITS).write_text(stored.model_dump_json(), encoding="utf-8")
    (folder / CATALOG).write_text(
        json.dumps([p.model_dump(mode="json") for p in programs], ensure_ascii=False), encoding="utf-8"
    )
    manifest.files = {name: sha256_of(folder / name) for name in DATA_FILES}
    # The manifest goes last: a folder without one is never taken for an index.
    (folder / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")


class KnowledgeBase:
    """A loaded index: units and sections with their vectors and BM25 indexes, the catalog, profiles."""

    def __init__(
        self,
        manifest: Manifest,
        units: list[Unit],
        sections: list[Section],
        vectors: np.ndarray,
        section_vectors: np.ndarray,
        title_vectors: np.ndarray,
        labels: list[str],
        label_vectors: np.ndarray,
        unit_tokens: list[list[str]],
        section_tokens: list[list[str]],
        tokenizer: KoreanTokenizer,
        embedder: Embedder,
        catalog: Catalog,
        lines: list[ParsedLine],
    ) -> None:
        self.manifest = manifest
        self.units = units
        self.sections = sections
        self.vectors = vectors
        self.section_vectors = section_vectors
        self.title_vectors = title_vectors
        self.labels = labels
        self.label_vectors = label_vectors
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.unit_tokens = unit_tokens
        self.section_tokens = section_tokens
        self.unit_bm25 = BM25Index(unit_tokens)
        self.section_bm25 = BM25Index(section_tokens)
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.catalog = catalog
        self.lines = lines
        self.profiles = {d.name: d.profile for d in manifest.documents}
        self.section_of = np.zeros(len(units), dtype=np.int32)
        by_path = {(s.document, tuple(s.path)): i for i, s in enumerate(sections)}
        for i, unit in enumerate(units):
            self.section_of[i] = by_path[(unit.document, tuple(unit.path))]
        self.names: list[NamedSection] = build_name_index(lines)
        self.vocabulary = {t for tokens in unit_tokens for t in tokens}
        self._flat = re.sub(r"\s+", "", " ".join(line.text for line in lines))
        self._store = self._vector_store()

    def _vector_store(self) -> faiss.Index:
        """The FAISS index searched for the units nearest to a question (inner product = cosine)."""
        index = faiss.IndexFlatIP(self.vectors.shape[1])
        index.add(np.ascontiguousarray(self.vectors, dtype=np.float32))
        return index

    @classmethod
    def load(cls, index_dir: Path, embedder: Embedder, tokenizer: KoreanTokenizer, parser_version: str) -> KnowledgeBase:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, parser_version, embedder)
        check_files(index_dir, manifest)
        try:
            stored = StoredUnits.model_validate_json((index_dir / UNITS).read_text(encoding="utf-8"))
            lines = StoredLines.model_validate_json((index_dir / LINES).read_text(encoding="utf-8")).lines
            index = faiss.read_index(str(index_dir / VECTORS))
            with np.load(index_dir / DENSE, allow_pickle=False) as dense:
                section_vectors = np.asarray(dense["sections"], dtype=np.float32)
                title_vectors = np.asarray(dense["titles"], dtype=np.float32)
                label_vectors = np.asarray(dense["labels"], dtype=np.float32)
            programs = [Program.model_validate(p) for p in json.loads((index_dir / CATALOG).read_text(encoding="utf-8"))]
        except (OSError, ValueError, RuntimeError, ValidationError, TypeError, KeyError) as exc:
            raise IndexInvalid(f"index files unreadable: {exc.__class__.__name__}: {exc}", "색인 파일이 손상되었습니다") from exc
        units = stored.units
        counts_ok = (
            index.ntotal == len(units) == len(stored.line_ids) == len(stored.unit_tokens) == manifest.unit_count
            and len(stored.sections) == len(stored.section_tokens) == len(section_vectors) == manifest.section_count
            and len(stored.labels) == len(label_vectors)
            and len(title_vectors) == len(section_vectors)
            and len(programs) == manifest.program_count
            and index.d == embedder.dim
        )
        if not counts_ok:
            raise IndexInvalid("index files disagree with each other or with the manifest", "색인 파일의 개수가 맞지 않습니다")
        if any(p.tasks for d in manifest.documents for p in d.profile.parts) and not programs:
            raise IndexInvalid("the plan has tasks but the catalog holds no program", "사업 목록이 비어 있습니다")
        try:
            for unit, ids in zip(units, stored.line_ids, strict=True):
                unit.lines = [lines[i] for i in ids]
        except IndexError as exc:
            raise IndexInvalid("a unit points at a line the index does not hold", "색인 파일이 손상되었습니다") from exc
        logger.info("loaded index %s: %d units, %d programs", index_dir, len(units), len(programs))
        return cls(
            manifest=manifest,
            units=units,
            sections=stored.sections,
            vectors=index.reconstruct_n(0, index.ntotal),
            section_vectors=section_vectors,
            title_vectors=title_vectors,
            labels=stored.labels,
            label_vectors=label_vectors,
            unit_tokens=stored.unit_tokens,
            section_tokens=stored.section_tokens,
            tokenizer=tokenizer.with_vocabulary(stored.vocabulary),
            embedder=embedder,
            catalog=Catalog(programs),
            lines=lines,
        )

    # -- search ---------------------------------------------------------------------------------------
    def dense_search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Units nearest to a query vector, as (unit index, cosine), from the FAISS index."""
        scores, ids = self._store.search(np.ascontiguousarray(vector[None, :], dtype=np.float32), min(k, len(self.units)))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def mentions(self, word: str) -> bool:
        """Whether any loaded plan writes this word (spaces ignored)."""
        return re.sub(r"\s+", "", word) in self._flat

    def describes(self, word: str) -> bool:
        """Whether a plan writes the word outside its statistics (a program it runs or links to)."""
        flat = re.sub(r"\s+", "", word)
        for unit in self.units:
            if unit.kind == "window" or flat not in re.sub(r"\s+", "", unit.text):
                continue
            profile = self.profiles.get(unit.document)
            if profile is None or profile.part_role(unit.path[0]) != "statistics":
                return True
        return False

    def profile_of(self, document: str) -> DocumentProfile | None:
        return self.profiles.get(document)
