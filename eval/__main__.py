"""python -m eval run|report|baseline: evaluate the assistant on a QA set."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from eval.formats import QAFormatError, QAItem, ResultItem, read_jsonl, write_jsonl
from eval.metrics import Summary, score_item, summarise

logger = logging.getLogger("eval")


def format_summary(summary: Summary, title: str = "results") -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    rows = [
        ("questions (answerable / unanswerable)", f"{summary.count} ({summary.answerable} / {summary.unanswerable})"),
        ("hit@1 (section)", pct(summary.hit_at_1)),
        ("hit@5 (section)", pct(summary.hit_at_5)),
        ("MRR (section)", pct(summary.mrr)),
        ("citation accuracy", pct(summary.citation_accuracy)),
        ("fact accuracy", pct(summary.fact_accuracy)),
        ("abstention recall", pct(summary.abstention_recall)),
        ("abstention precision", pct(summary.abstention_precision)),
        ("false abstention", pct(summary.false_abstention)),
        ("latency p50 / p95 (ms)", f"{summary.p50_ms} / {summary.p95_ms}"),
        ("median answer length (chars)", f"{summary.median_answer_chars:.0f}"),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"== {title} =="] + [f"{name.ljust(width)}  {value}" for name, value in rows]
    lines.append("")
    lines.append(f"{'kind'.ljust(14)} {'n':>4} {'hit@1':>6} {'cite':>6} {'facts':>6} {'abst':>6}")
    for kind, m in summary.by_kind.items():
        lines.append(
            f"{kind.ljust(14)} {int(m['n']):>4} {m['hit@1']:>6.2f} {m['citation']:>6.2f} {m['facts']:>6.2f} {m['abstained']:>6.2f}"
        )
    return "\n".join(lines)


def summarise_files(qa: list[QAItem], results: list[ResultItem]) -> Summary:
    by_id = {r.id: r for r in results}
    missing = [item.id for item in qa if item.id not in by_id]
    if missing:
        raise QAFormatError(f"results lack {len(missing)} QA ids, e.g. {missing[:3]}")
    return summarise([score_item(item, by_id[item.id]) for item in qa])


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
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except QAFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
