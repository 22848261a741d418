"""Learned linear models saved as JSON: the section ranker, the unit ranker and the decline classifier.

A weights file holds the feature names and version it was trained with, the standardisation (mean,
scale), the coefficients and intercept, and any threshold chosen on cross-validation. Loading never runs
code (no pickle), and a file from another feature version is refused with a message that says how to
retrain (`python -m eval train`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
SECTION_FILE = "section.json"
UNIT_FILE = "unit.json"
DECLINE_FILE = "decline.json"


class ModelError(RuntimeError):
    """A weights file that cannot be used; the message names the file and the fix."""


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

        def plain(value: object) -> object:
            if isinstance(value, np.ndarray):
                return [round(float(x), 8) for x in value]
            if isinstance(value, float):
                return round(value, 8)
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

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
