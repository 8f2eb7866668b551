"""Nearest-neighbour search over archives of latents with faiss, built chunk by chunk (an archive
never has to fit in memory), saved atomically with a manifest that :func:`load_index` checks.
``flat`` is exact (``IndexFlatIP`` on unit rows for cosine, or ``IndexFlatL2``), ``hnsw`` and
``ivfpq`` (compressed) approximate. Scores are higher = closer: cosine, or minus the squared
distance. faiss runs an OpenMP thread per core, right for building and searching: left as it is.

**The book keeps today's path** (:mod:`mmae.evaluation.neighbours`) for chapters 8 and 11; the
index is for archives. Measured at the book's sizes (128-D, 42 synthetic clusters, one thread of
the 2-core CI machine): chapter 8's full ranking of 4,200 rows takes the flat index 2.15 s a problem
against 2.13 s for today's whole float64 scoring, and float32 reorders 35 % of the rankings (the
relevant ranks of 2.2 %): mAP would move. Chapter 11's tags (4,200 queries, 18,900 rows) take
0.44-0.62 s against 0.73-1.18 s and agreed, but faiss's and torch's float32 products round apart
(3.3e-7 there), so a near tie may fall the other way; a margin that proves agreement (1e-4, twice
the worst float32 error of a 128-D cosine) holds 59 % of the rows, which takes the gain away.
Without such ties, flat rankings and :func:`knn_tag_scores_index` give today's scores (``tests/test_index.py``).
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np

from mmae.atomic import atomic_dir, atomic_path, write_text
from mmae.evaluation.checks import METRICS

KINDS = ("flat", "hnsw", "ivfpq")
INDEX_FILE, MANIFEST_FILE, FORMAT = "index.faiss", "manifest.json", "mmae-index/1"
PARAMS = {"flat": (), "hnsw": ("M", "ef_construction", "ef_search"), "ivfpq": ("nlist", "m", "nbits", "nprobe", "train_size")}


def _int(name: str, value, low: int = 1, high: int | None = None) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be in [{low}, {high if high is not None else 'inf'}], got {value}")
    return int(value)


def _typed(name: str, value, types, what: str):
    if not isinstance(value, types):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class IndexSpec:
    """What to build: ``kind``, ``metric`` (cosine, euclidean) and the kind's parameters (:meth:`params`).

    Defaults aim at a 10-recall@10 of 0.9 or more on 1 M clustered 128-D rows. HNSW: M 32,
    efConstruction 40 (faiss's default), efSearch 256: on ``mmae.bench.search``'s 1 M rows it found
    0.889 of the 10 nearest at efSearch 128, 0.910 at 192, 0.924 at 256 (5,700 queries/s on 2 cores)
    and 0.938 at 384; rows stay uncompressed (512 B + 256 B of links each). IVF-PQ: 4,096 lists (faiss's 4-16 sqrt(N) for 1-10 M
    rows), 64 of them searched; 64 sub-quantizers of 8 bits (64 B a row, 8x less than float32), since
    on 20,000 rows of ``mmae.bench.search``'s mixture PQ16 found 0.79 of the neighbours, PQ32 0.89, PQ64 0.95.
    ``train_size`` caps its training sample (256 rows a list, what faiss's k-means keeps).
    At 10 M rows the same defaults fall short: 0.652 (HNSW, built in 14 min) and 0.862 (IVF-PQ) of
    the 10 nearest; search deeper there (``ef_search``, ``nprobe``) and measure (the Performance page).
    ``python -m mmae.bench --search`` measures the recall at 1 and 10 M rows."""
    kind: str = "flat"
    metric: str = "cosine"
    M: int = 32
    ef_construction: int = 40
    ef_search: int = 256
    nlist: int = 4096
    m: int = 64
    nbits: int = 8
    nprobe: int = 64
    train_size: int = 256 * 4096

    def __post_init__(self):
        for name, allowed in (("kind", KINDS), ("metric", METRICS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in PARAMS["hnsw"] + PARAMS["ivfpq"]:
            _int(name, getattr(self, name), 1, 16 if name == "nbits" else None)

    def params(self) -> dict:
        """The parameters of this kind (those recorded in the manifest)."""
        return {name: int(getattr(self, name)) for name in PARAMS[self.kind]}


@dataclass(frozen=True)
class SearchIndex:
    """A faiss index, the spec it was built from and, when :func:`load_index` read it, its manifest."""
    index: faiss.Index
    spec: IndexSpec
    manifest: dict = field(default_factory=dict)

    count = property(lambda self: int(self.index.ntotal), doc="rows in the index")
    dim = property(lambda self: int(self.index.d), doc="their dimension")


def npy_chunks(paths, rows: int = 65536) -> Iterator[np.ndarray]:
    """Slices of ``rows`` rows of each ``.npy`` file of ``paths`` (one path or several, in order),
    memory-mapped (``np.load(mmap_mode="r")``): only the slice in use is read from disk."""
    paths, rows = ([paths] if isinstance(paths, (str, Path)) else list(paths)), _int("rows", rows)
    for path in paths:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
        if array.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D (n, d) array of latents, got shape {array.shape}")
        for i in range(0, len(array), rows):
            yield array[i:i + rows]


def _vectors(x, metric: str, name: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x)  # checked, as contiguous float32; cosine: rows of unit norm (norms in float64)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim != 2 or x.shape[1] < 1 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"{name} must be (n, d) with d = {dim or '>= 1'}, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} holds non-finite values (NaN or inf)")
    if metric == "cosine":
        x = x / np.maximum(np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(x, dtype=np.float32)


def _new(spec: IndexSpec, dim: int) -> faiss.Index:
    metric = faiss.METRIC_INNER_PRODUCT if spec.metric == "cosine" else faiss.METRIC_L2
    flat = faiss.IndexFlatIP(dim) if spec.metric == "cosine" else faiss.IndexFlatL2(dim)
    if spec.kind == "flat":
        return flat
    if spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, spec.M, metric)
        index.hnsw.efConstruction = spec.ef_construction
        return index
    if dim % spec.m:
        raise ValueError(f"m (PQ sub-quantizers) must divide the dimension {dim}, got m = {spec.m}")
    index = faiss.IndexIVFPQ(flat, dim, spec.nlist, spec.m, spec.nbits, metric)
    index.do_polysemous_training = False  # polysemous codes are never searched here; training them is slow
    return index


def _tune(index: faiss.Index, spec: IndexSpec) -> faiss.Index:
    if spec.kind == "hnsw":
        index.hnsw.efSearch = spec.ef_search
    elif spec.kind == "ivfpq":
        index.nprobe = spec.nprobe
    return index


def _train(index: faiss.Index, pending: list[np.ndarray], spec: IndexSpec) -> list:
    sample, need = np.concatenate(pending)[:spec.train_size], max(spec.nlist, 2 ** spec.nbits)
    if len(sample) < need:
        raise ValueError(f"ivfpq needs at least max(nlist, 2**nbits) = {need} training rows, got {len(sample)}")
    if len(sample) < 39 * need:
        warnings.warn(f"ivfpq: {len(sample)} training rows for max(nlist, 2**nbits) = {need} centroids (faiss asks "
                      f"for 39 per centroid, {39 * need}); a smaller nlist or nbits would train better", stacklevel=3)
    index.train(sample)
    for x in pending:
        index.add(x)
    return []


def build_index(chunks: Iterable, spec: IndexSpec = IndexSpec()) -> SearchIndex:
    """An index of every row of ``chunks`` (an iterable of (n_i, d) arrays, e.g. :func:`npy_chunks`),
    added one chunk at a time; ids are row numbers in chunk order. ``ivfpq`` is first trained on
    the first ``spec.train_size`` rows (the chunks up to that cap wait), so memory holds at most the
    cap plus one chunk beside the index."""
    _typed("spec", spec, IndexSpec, "an IndexSpec")
    if isinstance(chunks, np.ndarray) or not isinstance(chunks, Iterable):
        raise TypeError(f"chunks must be an iterable of (n, d) arrays ([X], npy_chunks(...)), got {type(chunks).__name__}")
    index, pending = None, []
    for i, chunk in enumerate(chunks):
        x = _vectors(chunk, spec.metric, f"chunk {i}", None if index is None else index.d)
        index = _new(spec, x.shape[1]) if index is None else index
        if index.is_trained:
            index.add(x)
            continue
        pending.append(x)
        if sum(map(len, pending)) >= spec.train_size:
            pending = _train(index, pending, spec)
    if index is None:
        raise ValueError("chunks must yield at least one (n, d) array, got none")
    if pending:
        _train(index, pending, spec)
    if index.ntotal == 0:
        raise ValueError("chunks must hold at least one row, got only empty arrays")
    return SearchIndex(_tune(index, spec), spec)


def _sorted(index: SearchIndex, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:  # best first, ties by id
    d, ids = index.index.search(x, k)
    scores = d if index.spec.metric == "cosine" else -d
    order = np.lexsort((ids, -scores))
    return np.take_along_axis(scores, order, 1), np.take_along_axis(ids, order, 1)


def search(index: SearchIndex, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest rows of the index for each query (cosine: queries normalised as the rows were).

    Ties come by increasing id, as under the stable sort of :func:`mmae.evaluation.retrieval_scores`
    (faiss alone orders them otherwise). The ``flat`` index also keeps the lower ids when a tie
    crosses the k-th place (it searches deeper for those queries): its answer is the first k of
    today's ranking. Approximate indexes order what they found the same way (id -1: not found).

    Returns
    -------
    scores : ndarray of float32, shape (n_queries, k)
        Higher = closer: cosine similarity, or minus the squared Euclidean distance.
    ids : ndarray of int64, shape (n_queries, k)
    """
    index = _typed("index", index, SearchIndex, "a SearchIndex")
    k = _int("k", k, 1, index.count)
    x = _vectors(queries, index.spec.metric, "queries", index.dim)
    extra = int(index.spec.kind == "flat" and k < index.count)  # one more row shows a tie at the k-th place
    scores, ids = _sorted(index, x, k + extra)
    depth, rows = k + extra, np.flatnonzero(extra & (scores[:, k - 1] == scores[:, -1]))
    while len(rows) and depth < index.count:
        depth = min(2 * depth, index.count)
        s, i = _sorted(index, x[rows], depth)
        scores[rows], ids[rows] = s[:, :k + extra], i[:, :k + extra]
        rows = rows[s[:, k - 1] == s[:, -1]]  # the tie still reaches the deepest row: look further
    return scores[:, :k], ids[:, :k]


def knn_tag_scores_index(index: SearchIndex, y_library, queries, n_neighbors: int = 10,
                         n_classes: int | None = None) -> np.ndarray:
    """:func:`mmae.evaluation.knn_tag_scores` with the library in ``index``, (n_queries, n_classes):
    the votes of the ``n_neighbors`` nearest rows plus the tie-breaker that orders the classes by
    their nearest row, which each query finds by searching deeper (k doubling) until it met every class."""
    index, y = _typed("index", index, SearchIndex, "a SearchIndex"), np.asarray(y_library)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y_library must hold integer labels, got dtype {y.dtype}")
    if y.shape != (index.count,) or y.min() < 0:
        raise ValueError(f"y_library must be ({index.count},) labels >= 0, got shape {y.shape}, min {y.min()}")
    n_neighbors = _int("n_neighbors", n_neighbors, 1, index.count)
    C = int(y.max()) + 1 if n_classes is None else _int("n_classes", n_classes, int(y.max()) + 1)
    Q = _vectors(queries, index.spec.metric, "queries", index.dim)
    present, best, votes = np.bincount(y, minlength=C) > 0, np.full((len(Q), C), -np.inf), np.zeros((len(Q), C))
    rows, k = np.arange(len(Q)), (k0 := min(index.count, max(4 * n_neighbors, 2 * C)))
    while len(rows):
        scores, ids = search(index, Q[rows], k)
        found, r = ids >= 0, np.broadcast_to(rows[:, None], ids.shape)  # an approximate index may find fewer than k
        if k == k0:  # the first search: the votes
            near = found[:, :n_neighbors]
            np.add.at(votes, (r[:, :n_neighbors][near], y[ids[:, :n_neighbors][near]]), 1)
        np.maximum.at(best, (r[found], y[ids[found]]), scores[found].astype(np.float64))
        rows = rows[(np.isfinite(best[rows]) != present).any(1)] if k < index.count else rows[:0]
        k = min(2 * k, index.count)  # deeper for the queries that have not met every class
    tie = np.empty_like(best)
    np.put_along_axis(tie, np.argsort(-best, axis=1, kind="stable"), (np.arange(C - 1, -1, -1) / C)[None], 1)
    return votes + tie


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def save_index(index: SearchIndex, folder, manifest: Mapping) -> Path:
    """Write ``index`` to ``folder/index.faiss`` and ``folder/manifest.json`` at once (the folder is
    filled beside its target and renamed into place: :func:`mmae.atomic.atomic_dir`). ``manifest``
    names the ``model`` and the data's ``fingerprint`` (str) and may add any JSON values; the kind,
    metric, parameters, count, dimension, faiss version and the file's sha256 are added here."""
    index, folder = _typed("index", index, SearchIndex, "a SearchIndex"), Path(_typed("folder", folder, (str, Path), "a str or Path"))
    _typed("manifest", manifest, Mapping, "a mapping (dict)")
    if bad := [key for key in ("model", "fingerprint") if not isinstance(manifest.get(key), str)]:
        raise ValueError(f"manifest must name {bad} as str, got {({key: manifest.get(key) for key in bad})}")
    json.dumps(dict(manifest))  # a value JSON cannot hold is a TypeError here, before anything is written
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not (folder / MANIFEST_FILE).is_file())):
        raise ValueError(f"folder {folder}: expected a new folder or a saved index to replace, got "
                         f"{'a file' if not folder.is_dir() else f'a non-empty folder without {MANIFEST_FILE}'}")
    with atomic_dir(folder) as tmp:
        with atomic_path(tmp / INDEX_FILE) as f:
            faiss.write_index(index.index, str(f))
        record = {**manifest, "format": FORMAT, "kind": index.spec.kind, "metric": index.spec.metric,
                  "params": index.spec.params(), "count": index.count, "dim": index.dim,
                  "faiss": faiss.__version__, "file": INDEX_FILE, "sha256": _sha256(tmp / INDEX_FILE)}
        write_text(tmp / MANIFEST_FILE, json.dumps(record, indent=2) + "\n")
    return folder


def load_index(folder, expect: Mapping | None = None) -> SearchIndex:
    """The index that :func:`save_index` wrote to ``folder``, after checking the sha256 of its file
    and, for every key of ``expect`` (e.g. ``{"model": ..., "fingerprint": ..., "params": {...}}``),
    that the manifest holds that value. A different faiss version is a warning."""
    folder = Path(_typed("folder", folder, (str, Path), "a str or Path"))
    _typed("expect", expect, (Mapping, type(None)), "a mapping (dict) or None")
    path, file = folder / MANIFEST_FILE, folder / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no index manifest (save_index writes it)")
    try:
        rec = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    keys = ("format", "kind", "metric", "params", "count", "dim", "faiss", "sha256")
    if not isinstance(rec, dict) or rec.get("format") != FORMAT or any(k not in rec for k in keys):
        raise ValueError(f"{path}: expected a manifest of format {FORMAT!r} with keys {keys}, got "
                         f"{sorted(rec) if isinstance(rec, dict) else type(rec).__name__}")
    for key, value in (expect or {}).items():
        if rec.get(key) != value:
            raise ValueError(f"{path}: {key} is {rec.get(key)!r}, expected {value!r}")
    if not file.is_file():
        raise FileNotFoundError(f"{file}: the index file that {path} describes is missing")
    if (digest := _sha256(file)) != rec["sha256"]:
        raise ValueError(f"{file}: sha256 {digest} differs from the manifest's {rec['sha256']}: "
                         "the file changed after save_index (damaged or replaced); rebuild it")
    if rec["faiss"] != faiss.__version__:
        warnings.warn(f"{path}: written by faiss {rec['faiss']}, read by faiss {faiss.__version__}", stacklevel=2)
    try:
        spec = IndexSpec(rec["kind"], rec["metric"], **rec["params"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: kind, metric or params not valid ({e})") from None
    index = faiss.read_index(str(file))
    if (index.ntotal, index.d) != (rec["count"], rec["dim"]):
        raise ValueError(f"{file}: {index.ntotal} rows of {index.d} dimensions, {path} says {rec['count']} of {rec['dim']}")
    return SearchIndex(_tune(index, spec), spec, rec)
