"""Learned linear models saved as JSON: the section ranker, the unit ranker and the decline classifier.

A weights file holds the feature names and version it was trained with, the standardisation (mean,
scale), the coefficients and intercept, and any threshold chosen on cross-validation. Loading never runs
code (no pickle), and a file from another feature version is refused with a message that says how to
retrain (`python -m eval train`).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SECTION_FILE = "section.json"
UNIT_FILE = "unit.json"
DECLINE_FILE = "decline.json"


class ModelError(RuntimeError):
    """A weights file that cannot be used; the message names the file and the fix."""


def plain(value: object, digits: int = 8) -> object:
    """`value` as JSON can hold it, rounded so that a saved file is stable: an array's entries to
    `digits` places, a number to 8."""
    if isinstance(value, np.ndarray):
        return [round(float(x), digits) for x in value]
    if isinstance(value, float):
        return round(value, 8)
    if isinstance(value, dict):
        return {k: plain(v, digits) for k, v in value.items()}
    return value


@dataclass
class LinearModel:
    kind: str  # "section" | "unit" | "decline"
    feature_version: str
    feature_names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    params: dict[str, float] = field(default_factory=dict)
    meta: dict[str, object] = field(default_factory=dict)

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(positive) for each row of a feature matrix in `feature_names` order."""
        if features.ndim == 1:
            features = features[None, :]
        z = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def to_json(self) -> str:
        """The model as JSON: every field of the dataclass, numbers rounded so the file is stable."""
        return json.dumps({f.name: plain(getattr(self, f.name)) for f in fields(self)}, ensure_ascii=False, indent=1)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path, kind: str, feature_version: str, feature_names: tuple[str, ...]) -> LinearModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: cannot read the {kind} weights ({exc}); run `python -m eval train`") from exc
        if data.get("kind") != kind:
            raise ModelError(f"{path}: holds a {data.get('kind')!r} model, not a {kind!r} model")
        if data.get("feature_version") != feature_version or list(data.get("feature_names", [])) != list(feature_names):
            raise ModelError(
                f"{path}: trained for feature version {data.get('feature_version')!r}, this code computes "
                f"{feature_version!r}; run `python -m eval train` to retrain"
            )
        try:
            model = cls(
                kind=kind,
                feature_version=feature_version,
                feature_names=list(feature_names),
                mean=np.asarray(data["mean"], dtype=np.float64),
                scale=np.asarray(data["scale"], dtype=np.float64),
                coef=np.asarray(data["coef"], dtype=np.float64),
                intercept=float(data["intercept"]),
                params={k: float(v) for k, v in data.get("params", {}).items()},
                meta=dict(data.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{path}: malformed {kind} weights ({exc}); run `python -m eval train`") from exc
        n = len(feature_names)
        if not (len(model.mean) == len(model.scale) == len(model.coef) == n) or np.any(model.scale <= 0):
            raise ModelError(f"{path}: weights do not fit {n} features; run `python -m eval train`")
        return model


MEMORY_FILE = "decline-memory.json"
NEIGHBOURS = 20
PROBE_C = 10.0  # regularisation of the probe (chosen on out-of-fold decline recall, see eval/train.py)
GRAM_SIZES = (1, 2, 3)  # character n-grams of the wording probe, inside words (spacing and typos vary)
GRAM_MIN_COUNT = 2  # an n-gram must occur in this many training questions to be kept
WORDING_C = 4.0  # regularisation of the wording probe


def char_grams(text: str) -> list[str]:
    """The character n-grams of each word of `text`, the word padded with a space on either side (so a
    word's start and end are n-grams of their own); lower-cased."""
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in GRAM_SIZES:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@dataclass
class WordingProbe:
    """A logistic regression over the TF-IDF of a question's character n-grams (sublinear counts, L2
    norm), fitted on the memory's questions: how the questions the plans did not answer were worded —
    what they asked for and how — learned from them, not listed. Scored here with plain arithmetic, so
    serving needs no vectoriser object."""

    grams: list[str] = field(default_factory=list)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    intercept: float = 0.0

    def __post_init__(self) -> None:
        self._index = {g: i for i, g in enumerate(self.grams)}

    def score(self, text: str) -> float:
        """The probe's log-odds that a question worded like `text` went unanswered (0 without a fit)."""
        counts: dict[int, int] = {}
        for gram in char_grams(text):
            i = self._index.get(gram)
            if i is not None:
                counts[i] = counts.get(i, 0) + 1
        if not counts:
            return self.intercept
        idx = np.fromiter(counts, dtype=np.int64)
        x = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64))) * self.idf[idx]
        return float(x @ self.coef[idx] / np.linalg.norm(x) + self.intercept)

    @classmethod
    def fit(cls, texts: list[str], labels: np.ndarray) -> WordingProbe:
        from sklearn.feature_extraction.text import TfidfVectorizer  # training and re-fitting only
        from sklearn.linear_model import LogisticRegression

        if len(set(labels.tolist())) < 2:
            return cls()
        vectoriser = TfidfVectorizer(analyzer=char_grams, min_df=min(GRAM_MIN_COUNT, len(texts)), sublinear_tf=True)
        x = vectoriser.fit_transform(texts)
        model = LogisticRegression(C=WORDING_C, max_iter=5000, class_weight="balanced").fit(x, labels)
        grams = vectoriser.get_feature_names_out().tolist()
        return cls(grams, vectoriser.idf_.astype(np.float64), model.coef_[0].astype(np.float64), float(model.intercept_[0]))

    def to_dict(self) -> dict[str, object]:
        """One key per field, numbers rounded so the file is stable."""
        return {f.name: plain(getattr(self, f.name), 6) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> WordingProbe:
        grams = [str(g) for g in data["grams"]]  # type: ignore[union-attr]
        idf = np.asarray(data["idf"], dtype=np.float64)
        coef = np.asarray(data["coef"], dtype=np.float64)
        if not (len(grams) == len(idf) == len(coef)):
            raise ValueError("wording probe: grams, idf and coef differ in length")
        return cls(grams, idf, coef, float(data["intercept"]))  # type: ignore[arg-type]


@dataclass
class NeighbourMemory:
    """The questions the decline model learned from, by what each asks of a program (its `asked` text,
    embedded), and whether the plan answered it. A new question's nearest neighbours say how often
    questions of its kind — a phone number, a person's name, an exact opening day — went unanswered.
    A linear probe over the same vectors (a logistic regression fitted on the memory) says it as one
    number, and a wording probe over the whole questions' character n-grams says it from their words.

    Saved as JSON (texts, questions, labels, float16 vectors in base64, both probes) with the embedder
    the vectors were made by; with another embedder the texts are embedded again and the vector probe
    refitted on load."""

    texts: list[str]
    labels: np.ndarray  # 1: the plans do not answer it
    vectors: np.ndarray  # (n, dim) float32, L2-normalised
    embedder: str
    version: str
    probe: np.ndarray = field(default_factory=lambda: np.zeros(0))
    probe_intercept: float = 0.0
    questions: list[str] = field(default_factory=list)  # the questions as asked (cleaned), for the wording probe
    wording: WordingProbe = field(default_factory=WordingProbe)

    def features(self, vector: np.ndarray, question: str = "") -> tuple[float, float, float, float]:
        """(share of the nearest questions the plans did not answer, best similarity to an unanswered
        question minus best similarity to an answered one, the probe's score, the wording probe's score
        of `question`)."""
        wording = self.wording.score(question)
        if not len(self.labels) or self.vectors.shape[1] != len(vector):
            return 0.0, 0.0, 0.0, wording
        sims = self.vectors @ vector
        k = min(NEIGHBOURS, len(sims))
        near = np.argsort(-sims, kind="stable")[:k]
        unanswered = sims[self.labels == 1]
        answered = sims[self.labels == 0]
        gap = (float(unanswered.max()) if len(unanswered) else 0.0) - (float(answered.max()) if len(answered) else 0.0)
        probe = float(vector @ self.probe + self.probe_intercept) if len(self.probe) == len(vector) else 0.0
        return float(self.labels[near].mean()), gap, probe, wording

    def fitted(self) -> NeighbourMemory:
        """The memory with both probes fitted on its own questions (needs both kinds of question); a
        wording probe it already holds is kept (it does not depend on the embedder)."""
        from sklearn.linear_model import LogisticRegression  # training and re-embedding only

        if not self.wording.grams and self.questions:
            self.wording = WordingProbe.fit(self.questions, self.labels)
        if len(set(self.labels.tolist())) < 2:
            self.probe, self.probe_intercept = np.zeros(self.vectors.shape[1] if self.vectors.ndim == 2 else 0), 0.0
            return self
        model = LogisticRegression(C=PROBE_C, max_iter=5000, class_weight="balanced").fit(self.vectors, self.labels)
        self.probe, self.probe_intercept = model.coef_[0].astype(np.float64), float(model.intercept_[0])
        return self

    def subset(self, keep: np.ndarray) -> NeighbourMemory:
        return NeighbourMemory(
            [t for t, k in zip(self.texts, keep, strict=True) if k], self.labels[keep], self.vectors[keep], self.embedder, self.version,
            questions=[q for q, k in zip(self.questions, keep, strict=True) if k],
        ).fitted()

    def save(self, path: Path) -> None:
        """The memory as JSON, one key per field (vectors as float16 in base64, numbers rounded so the file
        is stable)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.update(
            labels=[int(x) for x in self.labels],
            vectors=base64.b64encode(self.vectors.astype("<f2").tobytes()).decode("ascii"),
            probe=[round(float(x), 8) for x in self.probe],
            probe_intercept=round(float(self.probe_intercept), 8),
            wording=self.wording.to_dict(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path, version: str, embedder: Embedder) -> NeighbourMemory:
        """The memory at `path`; `embedder` re-embeds the texts when the memory was made by another one."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            texts = [str(t) for t in data["texts"]]
            labels = np.asarray(data["labels"], dtype=np.int8)
            raw = np.frombuffer(base64.b64decode(data["vectors"]), dtype="<f2").astype(np.float32)
            probe = np.asarray(data["probe"], dtype=np.float64)
            intercept = float(data["probe_intercept"])
            made_by = str(data["embedder"])
            questions = [str(q) for q in data["questions"]]
            wording = WordingProbe.from_dict(data["wording"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"{path}: cannot read the decline memory ({exc}); run `python -m eval train`") from exc
        if data.get("version") != version:
            raise ModelError(
                f"{path}: decline memory of version {data.get('version')!r}, this code needs {version!r}; "
                "run `python -m eval train` to retrain"
            )
        n = len(texts)
        dim = raw.size // n if n else 0
        if len(labels) != n or raw.size != n * dim or len(questions) != n:
            raise ModelError(f"{path}: decline memory is inconsistent; run `python -m eval train`")
        if embedder.id and made_by != embedder.id and texts:
            vectors = np.asarray(embedder.queries(texts), dtype=np.float32)
            return cls(texts, labels, vectors, embedder.id, version, questions=questions, wording=wording).fitted()
        if n and not dim:
            raise ModelError(f"{path}: decline memory has no vectors; run `python -m eval train`")
        vectors = raw.reshape(n, dim)
        return cls(texts, labels, vectors, made_by, version, probe, intercept, questions, wording)
