"""Markdown + HTML report of one eval run: summary, plots by question kind, latency, every failure.

The HTML is self-contained (plots embedded as base64 PNG); the Markdown links PNG files written
beside it. Plot labels are English because matplotlib may have no Hangul font.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from eval.formats import QAItem, ResultItem
from eval.metrics import ItemScore, Summary, facts_match, score_item
from eval.summary import format_summary, summarise_files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

logger = logging.getLogger(__name__)

TOP_RETRIEVED = 5
QUOTE_CHARS = 240
KIND_METRICS = ("hit@1", "citation", "facts", "abstained")


@dataclass
class Failure:
    """One question that counts against a metric, with what was expected and what came back."""

    item: QAItem
    result: ResultItem
    score: ItemScore
    reasons: list[str] = field(default_factory=list)
    missing_facts: list[list[str]] = field(default_factory=list)


def failure_reasons(score: ItemScore) -> list[str]:
    """Why an item counts against the summary; empty when it passes every metric."""
    if not score.answerable:
        return [] if score.abstained else ["answered a question the plan cannot answer"]
    reasons: list[str] = []
    if score.abstained:
        reasons.append("false abstention")
    else:
        if not score.citation_ok:
            reasons.append("no citation of an expected section")
        if not score.fact_ok:
            reasons.append("expected facts missing from the answer")
    if score.rank != 1:
        reasons.append(
            f"expected section ranked {score.rank}" if score.rank else "expected section not among retrieved"
        )
    return reasons


def find_failures(qa: list[QAItem], results: list[ResultItem]) -> list[Failure]:
    by_id = {r.id: r for r in results}
    failures: list[Failure] = []
    for item in qa:
        result = by_id[item.id]
        score = score_item(item, result)
        reasons = failure_reasons(score)
        if reasons:
            missing = [group for group in item.facts if not facts_match(result.answer, [group])]
            failures.append(Failure(item, result, score, reasons, missing if item.answerable else []))
    return failures


# -- plots ------------------------------------------------------------------------------------------------
def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _new_figure(width: float, height: float) -> Figure:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - matplotlib is a core dependency
        raise RuntimeError("matplotlib is needed for the report plots: pip install matplotlib") from exc
    figure = Figure(figsize=(width, height))
    FigureCanvasAgg(figure)  # Agg, without pyplot's global state
    return figure


def plot_by_kind(summary: Summary) -> bytes:
    """Grouped bars: hit@1, citation, facts and abstention rate for each question kind."""
    kinds = list(summary.by_kind)
    figure = _new_figure(max(6.0, 0.9 * len(kinds) + 2), 4.0)
    axes = figure.add_subplot()
    width = 0.8 / len(KIND_METRICS)
    for offset, metric in enumerate(KIND_METRICS):
        values = [summary.by_kind[k][metric] for k in kinds]
        positions = [i + (offset - (len(KIND_METRICS) - 1) / 2) * width for i in range(len(kinds))]
        axes.bar(positions, [0.0 if math.isnan(v) else v for v in values], width, label=metric)
    axes.set_xticks(range(len(kinds)))
    axes.set_xticklabels([f"{k}\n(n={int(summary.by_kind[k]['n'])})" for k in kinds], fontsize=8)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("rate")
    axes.set_title("Metrics by question kind")
    axes.legend(fontsize=8, ncols=len(KIND_METRICS), loc="upper center", bbox_to_anchor=(0.5, -0.18))
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def plot_latency(results: list[ResultItem], summary: Summary) -> bytes:
    figure = _new_figure(6.0, 3.5)
    axes = figure.add_subplot()
    latencies = [r.latency_ms for r in results]
    axes.hist(latencies, bins=min(40, max(5, len(latencies) // 3)), color="#4c72b0")
    axes.axvline(summary.p50_ms, color="black", linestyle="--", label=f"p50 {summary.p50_ms:.0f} ms")
    axes.axvline(summary.p95_ms, color="#c44e52", linestyle=":", label=f"p95 {summary.p95_ms:.0f} ms")
    axes.set_xlabel("latency per question (ms)")
    axes.set_ylabel("questions")
    axes.set_title("Answer latency")
    axes.legend(fontsize=8)
    return _png(figure)


# -- text pieces ------------------------------------------------------------------------------------------
def _facts_text(facts: list[list[str]]) -> str:
    return "; ".join(" | ".join(group) for group in facts) or "-"


def _clip(text: str, limit: int = QUOTE_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _kind_rows(summary: Summary) -> list[list[str]]:
    def cell(value: float) -> str:
        return "n/a" if math.isnan(value) else f"{value:.2f}"

    return [[kind, str(int(m["n"])), *(cell(m[k]) for k in KIND_METRICS)] for kind, m in summary.by_kind.items()]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_markdown(
    title: str, summary_text: str, summary: Summary, failures: list[Failure], images: dict[str, str], total: int
) -> str:
    out = [f"# {title}", "", "## Summary", "", "```", summary_text, "```", ""]
    out += ["## By question kind", "", f"| kind | n | {' | '.join(KIND_METRICS)} |", "|---|---:|" + "---:|" * len(KIND_METRICS)]
    out += [f"| {' | '.join(row)} |" for row in _kind_rows(summary)]
    out += ["", f"![metrics by kind]({images['kinds']})", "", f"![latency]({images['latency']})", ""]
    out += [f"## Failures ({len(failures)} of {total})", ""]
    if not failures:
        out.append("None: every question passed every metric.")
    for f in failures:
        out += [
            f"### {f.item.id} ({f.score.kind}): {_one_line(f.item.question)}",
            "",
            f"- **why**: {'; '.join(f.reasons)}",
        ]
        if f.item.history:
            out.append(f"- **history**: {' / '.join(f.item.history)}")
        out += [
            f"- **expected**: answerable={f.item.answerable}; sections: {', '.join(f.item.sections) or '-'}; "
            f"facts: {_one_line(_facts_text(f.item.facts))}",
            f"- **got**: abstained={f.result.abstained}; latency {f.result.latency_ms:.0f} ms",
        ]
        if f.missing_facts:
            out.append(f"- **missing facts**: {_one_line(_facts_text(f.missing_facts))}")
        out += ["", "  Answer:", "", *[f"  > {line}" for line in (f.result.answer or "(empty)").splitlines()], ""]
        out.append("  Top retrieved sections:")
        out.append("")
        for rank, r in enumerate(f.result.retrieved[:TOP_RETRIEVED], start=1):
            out.append(f"  {rank}. {_one_line(r.section)} ({r.score:.3f})")
        if not f.result.retrieved:
            out.append("  (none)")
        out += ["", "  Citations:", ""]
        for c in f.result.citations:
            page = f", p.{c.page}" if c.page else ""
            out.append(f"  - {_one_line(c.section)}{page}: “{_one_line(_clip(c.quote))}”")
        if not f.result.citations:
            out.append("  - (none)")
        out.append("")
    return "\n".join(out) + "\n"


HTML_STYLE = """
body{font-family:system-ui,'Noto Sans KR','Malgun Gothic',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}.failure{border-left:4px solid #c44e52;padding:0.2em 1em;margin:1.5em 0}
.answer{white-space:pre-wrap;background:#fafafa;padding:0.5em}.why{color:#c44e52}img{max-width:100%}
"""


def render_html(
    title: str, summary_text: str, summary: Summary, failures: list[Failure], images: dict[str, bytes], total: int
) -> str:
    e = html.escape

    def img(name: str, alt: str) -> str:
        return f'<img alt="{alt}" src="data:image/png;base64,{base64.b64encode(images[name]).decode("ascii")}">'

    head = "".join(f"<th>{e(h)}</th>" for h in ("kind", "n", *KIND_METRICS))
    kind_rows = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in _kind_rows(summary))
    parts = [
        f"<!doctype html><html lang='ko'><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{HTML_STYLE}</style></head><body>",
        f"<h1>{e(title)}</h1><h2>Summary</h2><pre>{e(summary_text)}</pre>",
        f"<h2>By question kind</h2><table><tr>{head}</tr>{kind_rows}</table>",
        img("kinds", "metrics by question kind"),
        img("latency", "latency histogram"),
        f"<h2>Failures ({len(failures)} of {total})</h2>",
    ]
    if not failures:
        parts.append("<p>None: every question passed every metric.</p>")
    for f in failures:
        retrieved = "".join(f"<li>{e(r.section)} ({r.score:.3f})</li>" for r in f.result.retrieved[:TOP_RETRIEVED])
        citations = "".join(
            f"<li>{e(c.section)}{f', p.{c.page}' if c.page else ''}: “{e(_clip(c.quote))}”</li>" for c in f.result.citations
        )
        history = f"<tr><th>history</th><td colspan=2>{e(' / '.join(f.item.history))}</td></tr>" if f.item.history else ""
        missing = f"<p>missing facts: {e(_facts_text(f.missing_facts))}</p>" if f.missing_facts else ""
        parts.append(
            f"<div class='failure' id='{e(f.item.id)}'><h3>{e(f.item.id)} ({e(f.score.kind)}): {e(f.item.question)}</h3>"
            f"<p class='why'>{e('; '.join(f.reasons))}</p><table>{history}"
            "<tr><th></th><th>expected</th><th>got</th></tr>"
            f"<tr><th>answerable / abstained</th><td>answerable={f.item.answerable}</td>"
            f"<td>abstained={f.result.abstained} ({f.result.latency_ms:.0f} ms)</td></tr>"
            f"<tr><th>sections</th><td>{e(', '.join(f.item.sections) or '-')}</td>"
            f"<td><ol>{retrieved or '<li>(none)</li>'}</ol></td></tr>"
            f"<tr><th>facts / answer</th><td>{e(_facts_text(f.item.facts))}</td>"
            f"<td><div class='answer'>{e(f.result.answer or '(empty)')}</div>{missing}</td></tr>"
            f"<tr><th>citations</th><td></td><td><ul>{citations or '<li>(none)</li>'}</ul></td></tr>"
            "</table></div>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


# -- entry point ------------------------------------------------------------------------------------------
def write_report(qa: list[QAItem], results: list[ResultItem], out: Path) -> list[Path]:
    """Write `out`.md and `out`.html (plus the Markdown's PNGs beside them); return [md, html]."""

    summary = summarise_files(qa, results)  # raises QAFormatError when results lack QA ids
    qa_ids = {item.id for item in qa}
    results = [r for r in results if r.id in qa_ids]
    failures = find_failures(qa, results)
    title = f"Eval report: {out.name}"
    summary_text = format_summary(summary, title=out.name)
    kinds_png, latency_png = plot_by_kind(summary), plot_latency(results, summary)

    out.parent.mkdir(parents=True, exist_ok=True)
    image_names = {"kinds": f"{out.name}-by-kind.png", "latency": f"{out.name}-latency.png"}
    (out.parent / image_names["kinds"]).write_bytes(kinds_png)
    (out.parent / image_names["latency"]).write_bytes(latency_png)
    md_path = out.parent / f"{out.name}.md"
    html_path = out.parent / f"{out.name}.html"
    md_path.write_text(render_markdown(title, summary_text, summary, failures, image_names, len(qa)), encoding="utf-8")
    html_path.write_text(
        render_html(title, summary_text, summary, failures, {"kinds": kinds_png, "latency": latency_png}, len(qa)),
        encoding="utf-8",
    )
    logger.info("report: %d failures of %d questions -> %s, %s", len(failures), len(qa), md_path, html_path)
    return [md_path, html_path]

