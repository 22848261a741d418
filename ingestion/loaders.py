"""Read plan documents (.txt, .md, .pdf, .hwpx, .hwp) into numbered source lines with pages where known."""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import stat
from pathlib import Path

from ingestion.models import LoadedDocument, SourceLine

logger = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".hwpx", ".hwp")
MAX_DOCUMENT_BYTES = 30 * 1024 * 1024  # a plan is a few MB; anything far larger is refused, not read
PAGE_MARKER = re.compile(r"^\s*-\s*(\d{1,4})\s*-\s*$")
# Korean legacy encodings tried after UTF-8, in order.
LEGACY_ENCODINGS = ("cp949", "euc-kr")


class DocumentError(Exception):
    """A document that cannot be ingested. `reason_ko` is shown to users, str(self) goes to logs."""

    def __init__(self, path: Path | str, reason: str, reason_ko: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.reason_ko = reason_ko


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files as given plus the supported files inside given folders, sorted; missing paths raise."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise DocumentError(path, "no such file or folder", "파일이나 폴더가 없습니다")
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            if not inside:
                raise DocumentError(
                    path, "folder holds no .txt, .md, .pdf, .hwpx or .hwp file", "폴더에 읽을 문서(.txt, .md, .pdf, .hwpx, .hwp)가 없습니다"
                )
            found.extend(inside)
        else:
            found.append(path)
    return found


def load_document(path: Path) -> LoadedDocument:
    """Load one document; raise DocumentError naming the file and the reason when it cannot be read."""
    suffix = path.suffix.lower()
    try:
        info = path.stat()
    except OSError:
        raise DocumentError(path, "no such file", "파일이 없습니다") from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO, a device or a socket would block or never end.
        raise DocumentError(path, "not a regular file", "일반 파일이 아닙니다")
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(path, f"unsupported file type {suffix!r}", f"지원하지 않는 형식입니다({suffix})")
    if info.st_size == 0:
        raise DocumentError(path, "file is empty", "빈 파일입니다")
    if info.st_size > MAX_DOCUMENT_BYTES:
        raise DocumentError(
            path,
            f"file is too large ({info.st_size / 1e6:.0f} MB > {MAX_DOCUMENT_BYTES / 1e6:.0f} MB)",
            f"파일이 너무 큽니다({MAX_DOCUMENT_BYTES // (1024 * 1024)}MB 이하만 읽습니다)",
        )
    if suffix == ".pdf":
        lines = _load_pdf(path)
    elif suffix in (".hwpx", ".hwp"):
        from ingestion.hwp import load_hwp

        lines = assign_pages(load_hwp(path))
    else:
        lines = _load_text(path)
    if not any(line.text.strip() for line in lines):
        raise DocumentError(path, "file holds no text", "내용이 없는 파일입니다")
    return LoadedDocument(name=path.name, path=str(path), sha256=sha256_of(path), lines=lines)


def decode_text(raw: bytes, path: Path) -> str:
    """UTF-8 first (BOM allowed), then CP949/EUC-KR; anything else is a clear error."""
    if b"\x00" in raw:
        raise DocumentError(path, "binary file (NUL bytes), not text", "텍스트 파일이 아닙니다(이진 파일)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for encoding in LEGACY_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_korean(text):
            logger.info("%s decoded as %s", path, encoding)
            return text
    raise DocumentError(
        path,
        "text is neither UTF-8 nor CP949/EUC-KR",
        "문서의 문자 인코딩을 알 수 없습니다(UTF-8 또는 CP949/EUC-KR만 지원)",
    )


def _looks_korean(text: str) -> bool:
    letters = [c for c in text if not c.isspace()]
    if not letters:
        return False
    hangul = sum(1 for c in letters if "\uac00" <= c <= "\ud7a3")
    return hangul / len(letters) > 0.2


def _load_text(path: Path) -> list[SourceLine]:
    text = decode_text(path.read_bytes(), path)
    return assign_pages(text.splitlines())


def assign_pages(raw_lines: list[str]) -> list[SourceLine]:
    """Give lines a page from footer markers such as `- 21 -` where the page is known.

    A marker ends its page: the lines just above `- n -` are on page n and the lines just below are on
    page n + 1. How far a page reaches is estimated from the spacing of the markers; lines farther
    from any marker keep no page rather than a guessed one.
    """
    markers = [(i, int(m.group(1))) for i, t in enumerate(raw_lines) if (m := PAGE_MARKER.match(t))]
    pages: list[int | None] = [None] * len(raw_lines)
    if markers:
        spans = [
            (b_line - a_line) / (b_page - a_page)
            for (a_line, a_page), (b_line, b_page) in itertools.pairwise(markers)
            if b_page > a_page
        ]
        reach = int(min(spans)) if spans else 60
        for line_index, page in markers:
            for i in range(max(0, line_index - reach), line_index):
                if pages[i] is None:
                    pages[i] = page
            for i in range(line_index + 1, min(len(raw_lines), line_index + 1 + reach)):
                pages[i] = page + 1
    return [SourceLine(number=i + 1, text=t, page=pages[i]) for i, t in enumerate(raw_lines)]


def _load_pdf(path: Path) -> list[SourceLine]:
    try:
        from pypdf import PdfReader
    except ImportError as exc:  # pragma: no cover - pypdf is a core dependency
        raise DocumentError(path, "pypdf is not installed", "PDF를 읽을 구성요소(pypdf)가 없습니다") from exc
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            # An owner password only restricts editing: the empty user password opens the file.
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                raise DocumentError(
                    path, f"PDF is encrypted and cannot be opened ({exc.__class__.__name__})", "암호가 걸린 PDF입니다"
                ) from exc
            if not opened:
                raise DocumentError(path, "PDF is encrypted with a user password", "암호가 걸린 PDF입니다(열기 암호)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except Exception as exc:
        raise DocumentError(path, f"not a readable PDF ({exc.__class__.__name__}: {exc})", "PDF 파일이 손상되었거나 PDF가 아닙니다") from exc
    if not any(text.strip() for text in pages):
        raise DocumentError(
            path,
            "PDF has no text layer (scanned image?)",
            "PDF에 글자 정보가 없습니다(스캔 이미지로 보입니다). 텍스트가 있는 PDF나 .txt로 변환해 주세요",
        )
    lines: list[SourceLine] = []
    for page_number, text in enumerate(pages, start=1):
        for raw in text.splitlines():
            lines.append(SourceLine(number=len(lines) + 1, text=raw, page=page_number))
    return lines
