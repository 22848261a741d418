"""`guro-jobs`: ingest documents, ask questions, list programs. A thin client of the core."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from guro_jobs.settings import Settings

if TYPE_CHECKING:
    from guro_jobs.models import Answer

logger = logging.getLogger("guro_jobs")


class _Bars:
    """tqdm bars fed by the ingestion progress callback (stage, done, total)."""

    def __init__(self) -> None:
        self.bars: dict[str, tqdm] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            from guro_jobs.messages import message

            bar = self.bars[stage] = tqdm(total=total, desc=message(f"stage_{stage}"), unit="개", file=sys.stderr)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "index_dir", None):
        settings.index_dir = Path(args.index_dir)
    return settings


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingestion.freshness import up_to_date
    from knowledge.embeddings import embedder_id

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or [settings.bundled_plan]
    identity = embedder_id(settings.embedder.kind, settings.embedder.model)
    if not args.force and identity and (fresh := up_to_date(paths, settings.index_dir, identity)):
        # Nothing heavy is loaded for a no-change run (scripts and cron call this often).
        print(f"변경 없음: 색인이 최신입니다 (문서 {len(fresh.documents)}개, 근거 단위 {fresh.unit_count}개)")
        print(f"색인 위치: {settings.index_dir}")
        return 0
    from guro_jobs.factory import create_embedder_from
    from ingestion.build import ingest
    from knowledge.keywords import KoreanTokenizer

    bars = _Bars()
    try:
        report = ingest(
            paths,
            settings.index_dir,
            create_embedder_from(settings),
            KoreanTokenizer(),
            force=args.force,
            progress=bars,
            batch_size=settings.embedder.batch_size,
        )
    finally:
        bars.close()
    m = report.manifest
    if report.changed:
        print(f"색인 완료: 문서 {len(m.documents)}개, 근거 단위 {m.unit_count}개, 사업 {m.program_count}개 ({report.seconds:.1f}초)")
    else:
        print(f"변경 없음: 색인이 최신입니다 (문서 {len(m.documents)}개, 근거 단위 {m.unit_count}개)")
    for document in m.documents:
        profile = document.profile
        print(f"- {document.name}: {profile.display_title} (과제 {profile.tasks}개, 사업 {profile.programs}개)")
        for warning in profile.warnings:
            print(f"  경고: {warning}", file=sys.stderr)
    print(f"색인 위치: {settings.index_dir}")
    return 0


def format_answer(answer: Answer) -> str:
    out = [answer.text]
    for notice in answer.notices:
        out.append(f"※ {notice}")
    for number, citation in enumerate(answer.citations, start=1):
        page = f", {citation.page}쪽" if citation.page else ""
        out.append(f"\n[{number}] {citation.document_title or citation.document} · {citation.section}{page} (줄 {citation.start}–{citation.end})")
        out.extend(f"    {'▶' if line.used else ' '} {line.text}" for line in citation.lines)
    out.append(f"\n({answer.latency_ms:.0f} ms)")
    return "\n".join(out)


def cmd_ask(args: argparse.Namespace) -> int:
    from guro_jobs.factory import build_assistant

    bars = _Bars()
    assistant, report = build_assistant(_settings(args), progress=bars)
    bars.close()
    if report.rebuilt:
        logger.warning("index was rebuilt: %s", report.reason)
    answer = assistant.ask(_argument(args.question), history=[_argument(h) for h in args.history or []])
    output = answer.model_dump_json(indent=2) if args.json else format_answer(answer)
    sys.stdout.write(output.encode("utf-8", errors="replace").decode("utf-8") + "\n")
    return 0


def cmd_programs(args: argparse.Namespace) -> int:
    from guro_jobs.factory import load_knowledge_base
    from knowledge.catalog import TARGET_GROUPS, render_programs

    kb, _ = load_knowledge_base(_settings(args))
    # `--group 노인` picks the catalog group `노인·어르신`.
    groups = [g for g in TARGET_GROUPS if any(asked in g for asked in args.group)] if args.group else None
    programs = kb.catalog.filter(age=args.age, groups=groups, keyword=args.keyword)
    print(render_programs(programs, args.format))
    return 0


def _argument(text: str) -> str:
    """An argument as the user typed it: bytes the locale could not decode (a CP949 terminal) are
    decoded as CP949, anything still undecodable is replaced."""
    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raw = os.fsencode(text)
        for encoding in ("utf-8", "cp949"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        return raw.decode("utf-8", errors="replace")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="guro-jobs", description="구로 일자리 도우미 (Guro-gu 2023 job plan assistant)")
    parser.add_argument("--index-dir", help="index folder (default: settings / GURO_JOBS_INDEX_DIR)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="build the index from documents (default: the bundled plan)")
    ingest.add_argument("paths", nargs="*", help=".txt/.md/.pdf files or folders; several documents allowed")
    ingest.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    ingest.set_defaults(func=cmd_ingest)

    ask = sub.add_parser("ask", help="ask a question and print the answer with its citations")
    ask.add_argument("question", help="the question (put `--` before one that starts with '-')")
    ask.add_argument("--history", action="append", help="an earlier user turn (repeat, oldest first)")
    ask.add_argument("--json", action="store_true", help="print the Answer model as JSON")
    ask.set_defaults(func=cmd_ask)

    programs = sub.add_parser("programs", help="list programs from the catalog")
    programs.add_argument("--age", type=int)
    programs.add_argument("--group", action="append", help="target group, e.g. 청년, 중장년, 장애인 (repeatable)")
    programs.add_argument("--keyword")
    programs.add_argument("--format", choices=["table", "csv", "json"], default="table")
    programs.set_defaults(func=cmd_programs)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from ingestion.loaders import DocumentError
    from knowledge.embeddings import EmbedderUnavailable

    try:
        return args.func(args)
    except DocumentError as exc:
        logger.error("ingest failed: %s", exc)
        print(f"오류: {exc.path}: {exc.reason_ko}. 기존 색인은 그대로 유지됩니다.", file=sys.stderr)
        return 2
    except EmbedderUnavailable as exc:
        logger.error("%s", exc)
        print(f"오류: 임베딩 모델을 불러올 수 없습니다. {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
