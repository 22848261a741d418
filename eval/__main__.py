"""python -m eval run|report|baseline: evaluate the assistant on a QA set."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from tqdm import tqdm

from eval.formats import QAFormatError, QAItem, ResultItem, read_jsonl, write_jsonl
from eval.summary import format_summary, summarise_files

logger = logging.getLogger("eval")

HASH_SEED = "0"


def cmd_run(args: argparse.Namespace) -> int:
    from eval.runner import run_items
    from guro_jobs.factory import build_assistant

    items: list[QAItem] = read_jsonl(Path(args.qa), QAItem)
    assistant, _ = build_assistant()
    bar = tqdm(total=len(items), desc="questions", unit="q", disable=args.quiet)
    results = run_items(assistant, items, on_item=lambda _: bar.update(1))
    bar.close()
    write_jsonl(Path(args.out), results)
    print(format_summary(summarise_files(items, results), title=f"{args.qa} -> {args.out}"))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        # Sets of strings iterate in hash order, which Python salts per process: fix the salt so that the
        # same data and seed give the same weights files from one run to the next.
        os.execve(sys.executable, [sys.executable, "-m", "eval", *args.argv], {**os.environ, "PYTHONHASHSEED": HASH_SEED})
    from eval.train import neutral, save, train, training_files
    from guro_jobs.factory import build_assistant
    from guro_jobs.settings import Settings

    files = [Path(f) for f in args.qa] if args.qa else training_files()
    settings = Settings()
    assistant, _ = build_assistant(settings, models=(neutral("section"), neutral("unit"), neutral("decline")))
    result = train(assistant, files, quiet=args.quiet)
    for path in save(result, Path(args.out) if args.out else settings.weights_dir):
        print(path)
    print(result.report)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from eval.report import write_report

    qa = read_jsonl(Path(args.qa), QAItem)
    results = read_jsonl(Path(args.results), ResultItem)
    paths = write_report(qa, results, Path(args.out) if args.out else Path(args.results).with_suffix(""))
    for path in paths:
        print(path)
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from eval.baseline import run_baseline

    qa = read_jsonl(Path(args.qa), QAItem)
    print(run_baseline(qa, out_dir=Path(args.out)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description="Evaluate 구로 일자리 도우미 on a QA set.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="answer every question and write RESULTS.jsonl")
    run.add_argument("qa")
    run.add_argument("--out", required=True)
    run.add_argument("--quiet", action="store_true")
    run.set_defaults(func=cmd_run)
    trainer = sub.add_parser("train", help="fit the ranker and decline weights on the QA sets (k-fold CV)")
    trainer.add_argument("qa", nargs="*", help="QA files (default: every eval/qa file except the held-out ones)")
    trainer.add_argument("--out", help="weights folder (default: the package's weights folder)")
    trainer.add_argument("--quiet", action="store_true")
    trainer.set_defaults(func=cmd_train)
    report = sub.add_parser("report", help="Markdown + HTML report with plots and every failure")
    report.add_argument("results")
    report.add_argument("--qa", required=True)
    report.add_argument("--out", help="output path without suffix (default: next to RESULTS)")
    report.set_defaults(func=cmd_report)
    baseline = sub.add_parser("baseline", help="vanilla LangChain RAG and the BM25/dense/hybrid ablation beside ours")
    baseline.add_argument("qa")
    baseline.add_argument("--out", default="eval/out/baseline")
    baseline.set_defaults(func=cmd_baseline)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what a re-run of this command is given
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except QAFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
