"""Search at archive scale (``python -m mmae.bench --search``): for 1 M and 10 M synthetic 128-D
latents, the indexes of :mod:`mmae.evaluation.index` (exact ``flat``, approximate ``hnsw`` and
``ivfpq``, at their default parameters) beside today's path (:func:`mmae.evaluation.neighbours.similarity_many`
and ``torch.topk`` over the whole archive as one tensor, where it fits: 1 M rows).

Measured per (size, index): build seconds (the chunks' generation left out), the saved index's
bytes, queries per second for one batch of 1,000 queries (k = 10) and 10-recall@10 against the
flat index's exact answer (:func:`recall_at`). The latents are a Gaussian
mixture of 1,024 clusters, each spread along its own 16-D subspace plus a little isotropic noise
(learned latents have few intrinsic dimensions), drawn chunk by chunk from ``[seed, chunk]``
streams: 10 M rows (5 GB as float32) are never held at once, except by the flat and HNSW indexes
themselves (5.1 and 7.7 GB; one index lives at a time). ``--tiny``: 20,000 rows in seconds.
"""
from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
import pandas as pd
import torch

from mmae.bench import results
from mmae.evaluation.index import IndexSpec, build_index, save_index, search
from mmae.evaluation.neighbours import similarity_many
from mmae.report.search import KIND

SIZES, TINY = (1_000_000, 10_000_000), 20_000
DIM, QUERIES, K, CHUNK = 128, 1000, 10, 65_536
CLUSTERS, RANK, SPREAD, NOISE = 1024, 16, 2.0, 0.1  # centres N(0, I); std 2 along 16 directions; noise std 0.1
TORCH_MAX = 2_000_000  # today's path holds the archive as one float32 tensor (512 MB per 1 M rows) plus its similarities


@functools.lru_cache(maxsize=2)  # drawn once per run, not once per chunk
def mixture(seed: int, dim: int = DIM) -> tuple[np.ndarray, np.ndarray]:
    """The mixture's centres (CLUSTERS, dim) and each cluster's directions (CLUSTERS, RANK, dim), of norm about 1."""
    rng = np.random.default_rng([seed, 0])
    centres = rng.standard_normal((CLUSTERS, dim), dtype=np.float32)
    return centres, rng.standard_normal((CLUSTERS, RANK, dim), dtype=np.float32) / np.float32(np.sqrt(dim))


def draw(n: int, stream: int, seed: int, dim: int = DIM) -> np.ndarray:
    """``n`` rows of the mixture from the random stream ``[seed, stream]`` (float32)."""
    centres, spread = mixture(seed, dim)
    rng = np.random.default_rng([seed, stream])
    label = rng.integers(CLUSTERS, size=n)
    u = rng.standard_normal((n, RANK), dtype=np.float32) * np.float32(SPREAD)
    x = centres[label] + NOISE * rng.standard_normal((n, dim), dtype=np.float32)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(CLUSTERS + 1))
    for c in np.flatnonzero(np.diff(bounds)):
        rows = order[bounds[c]:bounds[c + 1]]
        x[rows] += u[rows] @ spread[c]
    return x


class Latents:
    """The archive of ``n`` rows as chunks of ``chunk`` rows (chunk i from stream i + 1: the same
    chunk size gives the same rows on every pass), with the seconds spent drawing them in
    ``seconds``, so that a build can leave them out."""

    def __init__(self, n: int, seed: int = 0, chunk: int = CHUNK):
        self.n, self.seed, self.chunk, self.seconds = n, seed, chunk, 0.0

    def __iter__(self):
        for i, start in enumerate(range(0, self.n, self.chunk)):
            t = time.perf_counter()
            x = draw(min(self.chunk, self.n - start), i + 1, self.seed)
            self.seconds += time.perf_counter() - t
            yield x


def queries(n: int = QUERIES, seed: int = 0) -> np.ndarray:
    """Query rows from the same mixture, a stream the archive never uses."""
    return draw(n, 2**31 - 1, seed)


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """The mean fraction of each row of ``truth`` (exact ids, (n, k)) that the same row of ``found``
    holds: 10-recall@10 when both have 10 columns."""
    found, truth = np.asarray(found), np.asarray(truth)
    if found.ndim != 2 or truth.ndim != 2 or len(found) != len(truth) or len(truth) == 0:
        raise ValueError(f"found and truth must be (n, k) with the same n >= 1, got {found.shape} and {truth.shape}")
    return float((truth[:, :, None] == found[:, None, :]).any(2).mean())


def _size(index) -> int:
    """Bytes of the index as :func:`mmae.evaluation.index.save_index` writes it."""
    with tempfile.TemporaryDirectory() as tmp:
        save_index(index, Path(tmp) / "index", {"model": "synthetic", "fingerprint": "benchmark"})
        return (Path(tmp) / "index" / "index.faiss").stat().st_size


def _today(archive: Latents, Q: np.ndarray, k: int) -> tuple[float, int, float, np.ndarray]:
    """Today's path: the archive as one tensor, cosine similarities of the queries in batches, top-k."""
    t = time.perf_counter()
    G = torch.from_numpy(np.concatenate(list(archive)))[None]
    build = time.perf_counter() - t - archive.seconds
    t, ids = time.perf_counter(), []
    for i in range(0, len(Q), 250):  # 250 x 1 M similarities: 1 GB at a time
        ids.append(similarity_many(torch.from_numpy(Q[i:i + 250])[None], G).topk(k, dim=2).indices[0])
    return build, G.numel() * G.element_size(), len(Q) / (time.perf_counter() - t), torch.cat(ids).numpy()


def specs(tiny: bool = False) -> dict[str, IndexSpec]:
    """The indexes measured: the defaults; for ``tiny`` an IVF of 64 lists (what 20,000 rows train)
    with PQ16 (PQ64's training takes half a minute there)."""
    small = {"nlist": 64, "nprobe": 8, "m": 16, "train_size": TINY} if tiny else {}
    return {"flat": IndexSpec("flat"), "hnsw": IndexSpec("hnsw"), "ivfpq": IndexSpec("ivfpq", **small)}


def run(sizes=SIZES, tiny: bool = False, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Measure every index at every size (``tiny``: 20,000 rows, 200 queries).

    Returns
    -------
    table : pandas.DataFrame
        One row per (n, index): ``params``, ``build_s``, ``bytes``, ``bytes_per_vector``, ``qps``, ``recall@10``.
    info : dict
    """
    sizes, n_q, chunk = ((TINY,), 200, 5_000) if tiny else (tuple(sizes), QUERIES, CHUNK)
    Q, rows = queries(n_q, seed), []
    for n in sizes:
        truth = None
        for name, spec in specs(tiny).items():
            archive = Latents(n, seed, chunk)
            t = time.perf_counter()
            index = build_index(archive, spec)
            build = time.perf_counter() - t - archive.seconds
            t = time.perf_counter()
            _, ids = search(index, Q, K)
            qps = n_q / (time.perf_counter() - t)
            truth = ids if name == "flat" else truth
            rows.append({"n": n, "index": name, "params": spec.params(), "build_s": build, "bytes": _size(index),
                         "qps": qps, "recall@10": recall_at(ids, truth)})
            del index
        if n <= TORCH_MAX:
            build, size, qps, ids = _today(Latents(n, seed, chunk), Q, K)
            rows.append({"n": n, "index": "today (torch)", "params": {}, "build_s": build, "bytes": size, "qps": qps,
                         "recall@10": recall_at(ids, truth)})
    table = pd.DataFrame(rows).assign(bytes_per_vector=lambda t: t["bytes"] / t["n"])
    info = {"device": "cpu", "dim": DIM, "queries": n_q, "k": K, "chunk": chunk, "seed": seed, "metric": "cosine",
            "mixture": {"clusters": CLUSTERS, "rank": RANK, "spread": SPREAD, "noise": NOISE},
            "faiss": faiss.__version__, "faiss_threads": faiss.omp_get_max_threads(), "torch_max": TORCH_MAX,
            "tiny": tiny}
    return table, info


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    shown = table.drop(columns=["params", "bytes"]).set_index(["n", "index"])
    return (f"{info['queries']} queries, k = {info['k']}, {info['dim']}-D cosine; faiss {info['faiss']} on "
            f"{info['faiss_threads']} threads\n\n" + shown.to_string(float_format=lambda v: f"{v:,.3f}"))


def record(table: pd.DataFrame, info: dict, command: str) -> dict:
    """The JSON record of one run (:func:`mmae.bench.results.record`, kind ``"search"``)."""
    return results.record(KIND, table, info, command)
