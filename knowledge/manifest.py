"""The index manifest: what an index was built from, read without loading anything heavy (a no-change
ingest checks it in a fraction of a second)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, Field, ValidationError

from ingestion.models import DocumentProfile

FORMAT_VERSION = 3
MANIFEST = "manifest.json"


class EmbedderLike(Protocol):
    id: str
    dim: int


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
    units: int
    profile: DocumentProfile


class Manifest(BaseModel):
    format_version: int = FORMAT_VERSION
    parser_version: str
    embedder_id: str
    dimension: int
    documents: list[DocumentRecord]
    unit_count: int
    section_count: int
    program_count: int = 0
    files: dict[str, str] = Field(default_factory=dict, description="sha256 of every data file")
    built_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    build_seconds: float = 0.0


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexInvalid(f"no index at {index_dir}", "아직 색인이 없습니다")
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, ValueError, OSError) as exc:
        raise IndexInvalid(f"manifest unreadable: {exc.__class__.__name__}", "색인 정보 파일이 손상되었습니다") from exc


def check_compatible(manifest: Manifest, parser_version: str, embedder: EmbedderLike) -> None:
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


