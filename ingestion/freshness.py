"""Whether an index is up to date with its documents, checked with light imports only (a no-change
`guro-jobs ingest` from a script or cron costs well under a second)."""

from __future__ import annotations

from pathlib import Path

from ingestion.loaders import expand_paths, sha256_of
from ingestion.parser import PARSER_VERSION
from knowledge.manifest import IndexInvalid, Manifest, read_manifest


def up_to_date(paths: list[Path], index_dir: Path, embedder_id: str) -> Manifest | None:
    """The index's manifest when it was built from exactly these files, by this parser and embedder."""
    try:
        manifest = read_manifest(index_dir)
    except IndexInvalid:
        return None
    if manifest.parser_version != PARSER_VERSION or manifest.embedder_id != embedder_id:
        return None
    if not manifest.files or not all((index_dir / name).is_file() for name in manifest.files):
        return None
    have = sorted((d.name, d.sha256) for d in manifest.documents)
    want = sorted((f.name, sha256_of(f)) for f in expand_paths(paths))
    return manifest if have == want else None
