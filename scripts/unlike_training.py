"""Decline recall and false declines on the held-out questions unlike any training question.

    python scripts/unlike_training.py eval/qa/natural-final-7.jsonl eval/out/natural-final-7.jsonl [--jaccard 0.5]

A question is "like" a training one when their character trigrams (spaces removed) have a Jaccard
similarity of at least --jaccard with some question of the training sets (`eval.train.training_files`).
Helpers write the held-out and the training sets alike, so this shows how much of a held-out score rests
on near-paraphrases of what was trained on.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eval.formats import QAItem, ResultItem, read_jsonl  # noqa: E402
from eval.train import training_files  # noqa: E402


def trigrams(text: str) -> set[str]:
    text = re.sub(r"\s+", "", text)
    return {text[i : i + 3] for i in range(max(1, len(text) - 2))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("qa")
    parser.add_argument("results")
    parser.add_argument("--jaccard", type=float, default=0.5)
    args = parser.parse_args(argv)
    trained = [trigrams(item.question) for path in training_files() for item in read_jsonl(path, QAItem)]
    items = read_jsonl(Path(args.qa), QAItem)
    results = {r.id: r for r in read_jsonl(Path(args.results), ResultItem)}

    def like(question: str) -> bool:
        grams = trigrams(question)
        return any(len(grams & other) / len(grams | other) >= args.jaccard for other in trained)

    unlike = [item for item in items if not like(item.question)]
    unanswerable = [i for i in unlike if not i.answerable]
    answerable = [i for i in unlike if i.answerable]
    declined = sum(results[i.id].abstained for i in unanswerable)
    false = sum(results[i.id].abstained for i in answerable)
    print(f"{len(items) - len(unlike)} of {len(items)} questions have a training question at Jaccard >= {args.jaccard}")
    print(f"the other {len(unlike)}: decline recall {declined / max(1, len(unanswerable)):.3f} ({declined} of "
          f"{len(unanswerable)}), false declines {false / max(1, len(answerable)):.3f} ({false} of {len(answerable)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
