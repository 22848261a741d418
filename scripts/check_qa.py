"""Check a QA file against the plan text: every fact of an answerable item must be written in a section
the item names, and every item must be well formed.

    python scripts/check_qa.py eval/qa/natural-train-1.jsonl [more.jsonl ...] [--plan data/plans/…txt]

For each answerable item, each fact group needs one alternative that occurs (whitespace ignored) in one
logical line of the plan (wrapped lines joined) whose heading path matches one of the item's `sections`
strings (whitespace ignored, substring of the path). Unanswerable items must have no sections and no facts.
Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingestion.loaders import load_document  # noqa: E402
from ingestion.parser import parse_document  # noqa: E402

KINDS = {
    "eligibility", "amount", "period", "location", "hours", "budget", "figure", "apply", "howto", "content",
    "agency", "list", "followup", "variant", "english", "situation", "unanswerable",
}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--plan", default=str(ROOT / "data/plans/guro_2023_job_plan.txt"))
    args = parser.parse_args(argv)
    lines = parse_document(load_document(Path(args.plan)))
    content = [(squash(line.label), squash(line.text)) for line in lines]
    problems = 0
    seen_ids: set[str] = set()
    total = 0
    for name in args.files:
        for number, raw in enumerate(Path(name).read_text(encoding="utf-8").splitlines(), start=1):
            if not raw.strip():
                continue
            where = f"{name}:{number}"
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                print(f"{where}: not JSON ({exc.msg})")
                problems += 1
                continue
            total += 1
            iid = item.get("id")
            if not iid or iid in seen_ids:
                print(f"{where}: missing or duplicate id {iid!r}")
                problems += 1
            seen_ids.add(iid)
            if not isinstance(item.get("question"), str) or not item["question"].strip():
                print(f"{where}: no question")
                problems += 1
            if item.get("kind") not in KINDS:
                print(f"{where}: kind {item.get('kind')!r} not one of {sorted(KINDS)}")
                problems += 1
            history = item.get("history", [])
            if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
                print(f"{where}: history must be a list of strings")
                problems += 1
            answerable = item.get("answerable", True)
            sections = item.get("sections", [])
            facts = item.get("facts", [])
            if not answerable:
                if sections or facts:
                    print(f"{where}: unanswerable item with sections/facts")
                    problems += 1
                continue
            if not sections or not facts:
                print(f"{where}: answerable item needs sections and facts")
                problems += 1
                continue
            wanted = [squash(s) for s in sections]
            scoped = [text for label, text in content if any(w and w in label for w in wanted)]
            if not scoped:
                print(f"{where}: no section path contains any of {sections}")
                problems += 1
                continue
            for group in facts:
                if not isinstance(group, list) or not group:
                    print(f"{where}: a fact group must be a non-empty list of alternatives")
                    problems += 1
                    continue
                if not any(squash(alt) and any(squash(alt) in text for text in scoped) for alt in group):
                    print(f"{where}: fact {group} is not written in one line of {sections}")
                    problems += 1
    print(f"checked {total} items in {len(args.files)} file(s): {problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
