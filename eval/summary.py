"""Summaries of a results file against its QA set, as the CLI and the report print them."""

from __future__ import annotations

from eval.formats import QAFormatError, QAItem, ResultItem
from eval.metrics import Summary, score_item, summarise


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
