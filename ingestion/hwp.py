"""HWPX and HWP 5.0 documents, read with python-hwpx (a maintained, Apache-2.0 library that opens both
formats into one document model). A table comes out a row per line, its cells separated by tabs, so
the parser sees its rows. A password-protected, DRM or damaged file is refused like a broken PDF."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from ingestion.loaders import DocumentError

logger = logging.getLogger(__name__)

ENCRYPTED_CODES = frozenset({"hwp5-password", "hwp5-distribution", "hwp5-drm"})
EMPTY_MARK = "\u2063"  # an invisible separator stands for an empty paragraph while the text is exported


def load_hwp(path: Path) -> list[str]:
    """The text lines of an .hwpx or .hwp file."""
    try:
        from hwpx import HwpxDocument
        from hwpx.errors import HwpxError
    except ImportError as exc:  # pragma: no cover - python-hwpx is a core dependency
        raise DocumentError(path, "python-hwpx is not installed", "한글 문서를 읽을 구성요소(python-hwpx)가 없습니다") from exc
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # conversion notes about drawings and the like
            document = HwpxDocument.open(str(path))
            try:
                # Empty paragraphs stay (marked, then emptied): like the blank lines of a text file they
                # separate the cells of a table that was flattened into paragraphs.
                text = document.export_text(masking_policy=lambda piece: piece or EMPTY_MARK)
            finally:
                document.close()
    except HwpxError as exc:
        code = getattr(exc, "code", "")
        if code in ENCRYPTED_CODES or "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise DocumentError(path, f"document is encrypted ({code or exc.__class__.__name__})", "암호가 걸렸거나 보호된 한글 문서입니다") from exc
        raise DocumentError(path, f"not a readable HWP/HWPX ({code or exc.__class__.__name__}: {exc})", "한글 문서가 손상되었거나 형식이 맞지 않습니다") from exc
    except Exception as exc:  # a zip or XML error from a broken package
        if "encrypt" in str(exc).lower():
            raise DocumentError(path, "document is encrypted", "암호가 걸렸거나 보호된 한글 문서입니다") from exc
        raise DocumentError(path, f"not a readable HWP/HWPX ({exc.__class__.__name__}: {exc})", "한글 문서가 손상되었거나 형식이 맞지 않습니다") from exc
    lines = [line.replace(EMPTY_MARK, "").replace("\t", "   ") for line in text.splitlines()]
    if not any(line.strip() for line in lines):
        raise DocumentError(path, "document holds no text", "내용이 없는 문서입니다")
    logger.info("%s: %d lines read with python-hwpx", path.name, len(lines))
    return lines
