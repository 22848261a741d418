"""The built knowledge base on disk and its access: FAISS vectors, BM25 keywords, chunks, catalog.

Layout of an index folder (nothing is pickled; loading never runs code from the folder):
    manifest.json   what was built from what (document sha256s, parser version, embedder, counts)
    vectors.faiss   FAISS's own file format (inner product over L2-normalised vectors)
    chunks.json     chunks with their lines, BM25 tokens and the compound-splitting vocabulary
    catalog.json    the program catalog
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np
from langchain_community.docstore.in_memory import InMemoryDocstore
from langchain_community.vectorstores import FAISS
from langchain_community.vectorstores.utils import DistanceStrategy
from langchain_core.documents import Document
from pydantic import BaseModel, Field, ValidationError

from ingestion.models import Chunk
from knowledge.catalog import Catalog, Program
from knowledge.embeddings import Embedder
from knowledge.keywords import BM25Index, KoreanTokenizer

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.json"
CATALOG = "catalog.json"


class IndexInvalid(Exception):
    """An index folder that cannot be used as it is (missing, corrupt, or built differently)."""

    def __init__(self, reason: str, reason_ko: str) -> None:
        super().__init__(reason)
        self.reason_ko = reason_ko


class DocumentRecord(BaseModel):
    name: str
    path: str
    sha256: str
    lines: int
    chunks: int


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    parser_version: str
    embedder_id: str
    dimension: int
    documents: list[DocumentRecord]
    chunk_count: int
    program_count: int = 0
    built_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    build_seconds: float = 0.0


class StoredChunks(BaseModel):
    chunks: list[Chunk]
    tokens: list[list[str]]
    vocabulary: list[str]


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexInvalid(f"no index at {index_dir}", "아직 색인이 없습니다")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError) as exc:
        raise IndexInvalid(f"manifest unreadable: {exc.__class__.__name__}", "색인 정보 파일이 손상되었습니다") from exc


def check_compatible(manifest: Manifest, parser_version: str, embedder: Embedder) -> None:
    if manifest.format_version != FORMAT_VERSION:
        raise IndexInvalid(f"index format {manifest.format_version} != {FORMAT_VERSION}", "색인 형식이 바뀌었습니다")
    if manifest.parser_version != parser_version:
        raise IndexInvalid(
            f"index built by parser {manifest.parser_version}, this is parser {parser_version}",
            "문서 분석기 버전이 바뀌었습니다",
        )
    if manifest.embedder_id != embedder.id or manifest.dimension != embedder.dim:
        raise IndexInvalid(
            f"index built with embedder {manifest.embedder_id} ({manifest.dimension}d), "
            f"configured embedder is {embedder.id} ({embedder.dim}d)",
            "임베딩 모델이 바뀌었습니다",
        )


def write_index(
    folder: Path,
    manifest: Manifest,
    chunks: list[Chunk],
    vectors: np.ndarray,
    tokens: list[list[str]],
    vocabulary: list[str],
    programs: list[Program],
) -> None:
    """Write a complete index into `folder` (a fresh temporary folder; the caller swaps it in)."""
    folder.mkdir(parents=True, exist_ok=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(folder / VECTORS))
    stored = StoredChunks(chunks=chunks, tokens=tokens, vocabulary=vocabulary)
    (folder / CHUNKS).write_text(stored.model_dump_json(), encoding="utf-8")
    (folder / CATALOG).write_text(
        json.dumps([p.model_dump(mode="json") for p in programs], ensure_ascii=False), encoding="utf-8"
    )
    # The manifest goes last: a folder without one is never taken for an index.
    (folder / MANIFEST).write_text(manifest.model_dump_json(indent=2), encoding="utf-8")


class KnowledgeBase:
    """A loaded index: chunks, a langchain FAISS vector store, BM25 and the program catalog."""

    def __init__(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        vector_store: FAISS,
        bm25: BM25Index,
        tokenizer: KoreanTokenizer,
        embedder: Embedder,
        catalog: Catalog,
    ) -> None:
        self.manifest = manifest
        self.chunks = chunks
        self.vector_store = vector_store
        self.bm25 = bm25
        self.tokenizer = tokenizer
        self.embedder = embedder
        self.catalog = catalog
        self.chunk_index = {chunk.id: i for i, chunk in enumerate(chunks)}

    @classmethod
    def load(cls, index_dir: Path, embedder: Embedder, tokenizer: KoreanTokenizer, parser_version: str) -> KnowledgeBase:
        manifest = read_manifest(index_dir)
        check_compatible(manifest, parser_version, embedder)
        try:
            stored = StoredChunks.model_validate_json((index_dir / CHUNKS).read_text(encoding="utf-8"))
            index = faiss.read_index(str(index_dir / VECTORS))
            programs = [Program.model_validate(p) for p in json.loads((index_dir / CATALOG).read_text(encoding="utf-8"))]
        except (OSError, ValueError, RuntimeError, ValidationError, TypeError) as exc:
            raise IndexInvalid(f"index files unreadable: {exc.__class__.__name__}: {exc}", "색인 파일이 손상되었습니다") from exc
        if index.ntotal != len(stored.chunks) or len(stored.tokens) != len(stored.chunks):
            raise IndexInvalid(
                f"index holds {index.ntotal} vectors for {len(stored.chunks)} chunks", "색인 파일의 개수가 맞지 않습니다"
            )
        if index.d != embedder.dim or len(stored.chunks) != manifest.chunk_count:
            raise IndexInvalid("index dimension or chunk count differs from the manifest", "색인 파일이 손상되었습니다")
        ids = [chunk.id for chunk in stored.chunks]
        docstore = InMemoryDocstore(
            {
                chunk.id: Document(
                    page_content=chunk.text,
                    metadata={"chunk_id": chunk.id, "section": chunk.label, "document": chunk.document, "page": chunk.page},
                )
                for chunk in stored.chunks
            }
        )
        vector_store = FAISS(
            embedding_function=embedder,
            index=index,
            docstore=docstore,
            index_to_docstore_id=dict(enumerate(ids)),
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
        logger.info("loaded index %s: %d chunks, %d programs", index_dir, len(stored.chunks), len(programs))
        return cls(
            manifest=manifest,
            chunks=stored.chunks,
            vector_store=vector_store,
            bm25=BM25Index(stored.tokens),
            tokenizer=tokenizer.with_vocabulary(stored.vocabulary),
            embedder=embedder,
            catalog=Catalog(programs),
        )

    def dense_search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Chunks nearest to the query embedding (e5 `query: ` prefix), as (chunk index, cosine)."""
        vector = self.embedder.query(query)
        hits = self.vector_store.similarity_search_with_score_by_vector(vector.tolist(), k=min(k, len(self.chunks)))
        return [(self.chunk_index[doc.metadata["chunk_id"]], float(score)) for doc, score in hits]

    def keyword_search(self, terms: list[str], k: int) -> list[tuple[int, float]]:
        scores = self.bm25.scores(terms)
        return sorted(scores.items(), key=lambda kv: kv[1], reverse=True)[:k]
