"""The faiss index of mmae.evaluation.index against today's path, on small cases.

Exactness, stated: the flat index's full ranking is today's ranking (ties to the lower gallery
index), so mAP, precision@k and recall@k from it equal ``retrieval_scores`` and
``retrieval_scores_many`` to 1e-12, duplicate gallery rows (pooled clips and texts) included; its
k-NN tags equal ``knn_tag_scores`` and ``knn_tag_scores_many`` exactly. The data avoid near-ties
(float32 against float64 similarities); exact ties come from duplicated rows. Approximate indexes
reach their stated 10-recall@10 on 20,000 rows of the benchmark's mixture."""
import json

import faiss
import numpy as np
import pytest

from mmae.evaluation import average_precision, knn_tag_scores, retrieval_scores
from mmae.evaluation import index as ix
from mmae.evaluation.index import IndexSpec, SearchIndex, build_index, knn_tag_scores_index, load_index, npy_chunks, \
    save_index, search
from mmae.evaluation.neighbours import knn_tag_scores_many, retrieval_scores_many
from mmae.evaluation.retrieval import _prepare, _rank, _similarity

KS = (1, 5, 10)


@pytest.fixture(autouse=True)
def _threads(one_thread):
    old = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(old)


def data(n_q=60, n_g=120, d=8, k=5, seed=0, pooled=False):
    """Queries and gallery with labels; ``pooled``: the gallery repeats 20 distinct rows (and one
    row appears under two labels, so that relevant and irrelevant items tie)."""
    rng = np.random.default_rng(seed)
    Q, yq = rng.normal(size=(n_q, d)), rng.integers(0, k, n_q)
    if not pooled:
        return Q, rng.normal(size=(n_g, d)), yq, rng.integers(0, k, n_g)
    pool, y_pool = rng.normal(size=(20, d)), rng.integers(0, k, 20)
    pool[1], y_pool[1] = pool[0], (y_pool[0] + 1) % k  # the same vector under another label
    entry = rng.integers(0, 20, n_g)
    return Q, pool[entry], yq, y_pool[entry]


def from_ranking(ids, yq, yg, ks=KS) -> dict:
    """mAP, precision@k and recall@k of a ranking (n_q, n_g), by the one-problem average_precision."""
    rel = yg[ids] == yq[:, None]
    hits = rel.cumsum(1)
    return {"map": float(np.mean([average_precision(r) for r in rel if r.any()])),
            **{f"precision@{k}": float((hits[:, k - 1] / k).mean()) for k in ks},
            **{f"recall@{k}": float((hits[:, k - 1] > 0).mean()) for k in ks}}


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("pooled", [False, True], ids=["distinct", "pooled-ties"])
def test_the_flat_index_ranks_as_today_and_gives_chapter_8s_scores(metric, pooled):
    Q, G, yq, yg = data(pooled=pooled)
    index = build_index([G[:50], G[50:]], IndexSpec("flat", metric))
    _, ids = search(index, Q, index.count)
    assert np.array_equal(ids, _rank(_similarity(_prepare(Q, metric), _prepare(G, metric), metric)))  # today's order
    mine = from_ranking(ids, yq, yg)
    for today in (retrieval_scores(Q, G, yq, yg, KS, metric), retrieval_scores_many(Q[None], G[None], yq, yg, KS, metric)[0]):
        assert mine.keys() == today.keys()
        assert all(abs(mine[m] - today[m]) <= 1e-12 for m in mine), (mine, today)


def test_faiss_orders_ties_otherwise_and_search_puts_them_by_id():
    Q, G, yq, yg = data(pooled=True)
    index = build_index([G])
    raw = index.index.search(ix._vectors(Q, "cosine", "Q"), index.count)[1]
    _, ids = search(index, Q, index.count)
    assert not np.array_equal(raw, ids)  # faiss puts tied rows in another order ...
    assert from_ranking(raw, yq, yg)["map"] != pytest.approx(retrieval_scores(Q, G, yq, yg)["map"], abs=1e-12)
    assert from_ranking(ids, yq, yg)["map"] == pytest.approx(retrieval_scores(Q, G, yq, yg)["map"], abs=1e-12)


def test_a_tie_across_the_kth_place_keeps_the_lower_ids():
    G = np.repeat(np.eye(4), [1, 9, 3, 3], axis=0)  # rows 1..9 are one vector
    index = build_index([G])
    scores, ids = search(index, np.array([[0.1, 1.0, 0.0, 0.0]] * 25), 3)  # 25 queries: faiss's BLAS path
    assert ids.tolist() == [[1, 2, 3]] * 25 and np.all(scores == scores[:, :1])
    assert search(index, G[10:11], 2)[1].tolist() == [[10, 11]]  # one query: faiss's other code path


@pytest.mark.parametrize("n_neighbors, n_classes, k", [(10, None, 5), (3, 14, 12), (1, None, 3)])
def test_knn_tags_from_the_flat_index_equal_chapter_11s(n_neighbors, n_classes, k):
    rng = np.random.default_rng(1)
    L, y, Q = rng.normal(size=(400, 8)), rng.integers(0, k, 400), rng.normal(size=(70, 8))
    index = build_index([L[:150], L[150:]])  # 12 classes: most queries search deeper to meet every class
    mine = knn_tag_scores_index(index, y, Q, n_neighbors, n_classes)
    assert np.array_equal(mine, knn_tag_scores(L, y, Q, n_neighbors, n_classes=n_classes))
    assert np.array_equal(mine, knn_tag_scores_many(L[None], y, Q[None], n_neighbors, n_classes=n_classes)[0])


def test_a_chunked_build_from_npy_files_equals_a_one_shot_build(tmp_path):
    X = np.random.default_rng(2).normal(size=(230, 16)).astype(np.float32)
    np.save(tmp_path / "a.npy", X[:100]), np.save(tmp_path / "b.npy", X[100:])
    chunks = list(npy_chunks([tmp_path / "a.npy", tmp_path / "b.npy"], rows=32))
    assert [len(c) for c in chunks] == [32, 32, 32, 4, 32, 32, 32, 32, 2] and isinstance(chunks[0], np.memmap)
    for metric in ("cosine", "euclidean"):
        one, many = build_index([X], IndexSpec("flat", metric)), build_index(chunks, IndexSpec("flat", metric))
        assert np.array_equal(one.index.reconstruct_n(0, 230), many.index.reconstruct_n(0, 230))
        assert all(np.array_equal(a, b) for a, b in zip(search(one, X[:20], 7), search(many, X[:20], 7)))


def test_ivfpq_trains_on_the_first_train_size_rows_only():
    X = np.random.default_rng(3).normal(size=(6000, 16)).astype(np.float32)
    spec = IndexSpec("ivfpq", nlist=16, m=4, nbits=6, nprobe=4, train_size=3000)
    chunked = build_index((X[i:i + 700] for i in range(0, 6000, 700)), spec)
    trained = build_index([X[:3000]], spec)  # the same sample, then the other rows added
    trained.index.add(ix._vectors(X[3000:], "cosine", "X"))
    assert chunked.count == trained.count == 6000
    assert all(np.array_equal(a, b) for a, b in zip(search(chunked, X[:50], 10), search(trained, X[:50], 10)))


def mixture(n=20_000, n_q=200):
    from mmae.bench.search import Latents, queries, recall_at

    return np.concatenate(list(Latents(n, 0, 5_000))), queries(n_q, 0), recall_at


def test_hnsw_reaches_its_stated_recall_on_20000_rows():
    X, Q, recall_at = mixture()
    truth = search(build_index([X]), Q, 10)[1]
    assert recall_at(search(build_index([X], IndexSpec("hnsw")), Q, 10)[1], truth) >= 0.9


def test_ivfpq16_reaches_its_stated_recall_on_20000_rows():
    X, Q, recall_at = mixture()
    truth = search(build_index([X]), Q, 10)[1]
    spec = IndexSpec("ivfpq", nlist=64, nprobe=16, m=16, train_size=20_000)
    assert recall_at(search(build_index([X], spec), Q, 10)[1], truth) >= 0.75  # IndexSpec: PQ16 found 0.79


@pytest.mark.slow
def test_ivfpq_defaults_reach_09_on_20000_rows():
    X, Q, recall_at = mixture()
    truth = search(build_index([X]), Q, 10)[1]
    spec = IndexSpec("ivfpq", nlist=64, nprobe=16, train_size=20_000)  # PQ64 as by default; lists for 20,000 rows
    assert recall_at(search(build_index([X], spec), Q, 10)[1], truth) >= 0.9


@pytest.fixture
def saved(tmp_path):
    X = np.random.default_rng(4).normal(size=(300, 8))
    index = build_index([X], IndexSpec("hnsw", M=8))
    return save_index(index, tmp_path / "idx", {"model": "mmae_z8", "fingerprint": "abc", "note": [1, 2]}), index, X


def test_save_load_round_trip(saved):
    folder, index, X = saved
    rec = json.loads((folder / "manifest.json").read_text())
    assert rec | {"sha256": None} == {"model": "mmae_z8", "fingerprint": "abc", "note": [1, 2], "format": "mmae-index/1",
                                      "kind": "hnsw", "metric": "cosine", "params": {"M": 8, "ef_construction": 40,
                                      "ef_search": 256}, "count": 300, "dim": 8, "faiss": faiss.__version__,
                                      "file": "index.faiss", "sha256": None}
    back = load_index(folder, expect={"model": "mmae_z8", "fingerprint": "abc", "params": index.spec.params()})
    assert back.spec == index.spec and back.manifest == rec and back.index.hnsw.efSearch == 256
    assert all(np.array_equal(a, b) for a, b in zip(search(back, X[:30], 5), search(index, X[:30], 5)))
    save_index(build_index([X[:10]]), folder, {"model": "m2", "fingerprint": "f2"})  # replaces the saved index
    assert load_index(folder).count == 10 and not list(folder.parent.glob(".idx*"))


def test_a_failed_save_leaves_the_previous_index(saved, monkeypatch):
    folder, index, _ = saved
    before = (folder / "index.faiss").read_bytes()
    monkeypatch.setattr(faiss, "write_index", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        save_index(index, folder, {"model": "m", "fingerprint": "f"})
    assert (folder / "index.faiss").read_bytes() == before and load_index(folder).count == 300


def test_a_tampered_file_or_another_manifest_is_refused(saved):
    folder, _, _ = saved
    with pytest.raises(ValueError, match=r"model is 'mmae_z8', expected 'other'"):
        load_index(folder, expect={"model": "other"})
    with pytest.raises(ValueError, match=r"params is .*, expected \{'M': 16"):
        load_index(folder, expect={"params": {"M": 16, "ef_construction": 40, "ef_search": 128}})
    data = bytearray((folder / "index.faiss").read_bytes())
    data[-5] ^= 0xFF
    (folder / "index.faiss").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"index.faiss: sha256 [0-9a-f]{64} differs from the manifest's"):
        load_index(folder)


def edit_manifest(folder, **changes):
    rec = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({k: v for k, v in (rec | changes).items() if v is not None}))


@pytest.mark.parametrize("change, error, match", [
    ({"count": 301}, ValueError, r"300 rows of 8 dimensions, .*manifest.json says 301 of 8"),
    ({"params": {"M": 8, "bogus": 1}}, ValueError, "kind, metric or params not valid"),
    ({"kind": "lsh"}, ValueError, "kind, metric or params not valid"),
    ({"sha256": None}, ValueError, "expected a manifest of format 'mmae-index/1' with keys"),
    ({"format": "other/1"}, ValueError, "expected a manifest of format"),
])
def test_a_wrong_manifest_is_refused(saved, change, error, match):
    edit_manifest(saved[0], **change)
    with pytest.raises(error, match=match):
        load_index(saved[0])


def test_missing_or_unreadable_files_and_another_faiss_version(saved, tmp_path):
    folder = saved[0]
    edit_manifest(folder, faiss="0.0.1")
    with pytest.warns(UserWarning, match="written by faiss 0.0.1"):
        assert load_index(folder).count == 300
    (folder / "index.faiss").unlink()
    with pytest.raises(FileNotFoundError, match="index.faiss: the index file that .* describes is missing"):
        load_index(folder)
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ValueError, match="manifest.json: not valid JSON"):
        load_index(folder)
    with pytest.raises(FileNotFoundError, match="no index manifest"):
        load_index(tmp_path / "nowhere")


def test_save_refuses_what_it_should_not_write(saved, tmp_path):
    _, index, _ = saved
    (tmp_path / "data").mkdir(), (tmp_path / "data" / "x.npy").write_bytes(b"")
    (tmp_path / "file").write_text("")
    for folder, what in [(tmp_path / "data", "a non-empty folder without manifest.json"), (tmp_path / "file", "a file")]:
        with pytest.raises(ValueError, match=f"expected a new folder or a saved index to replace, got {what}"):
            save_index(index, folder, {"model": "m", "fingerprint": "f"})
    assert (tmp_path / "data" / "x.npy").exists()
    cases = [({"model": "m"}, ValueError, r"manifest must name \['fingerprint'\] as str"),
             ({"model": 3, "fingerprint": "f"}, ValueError, r"manifest must name \['model'\]"),
             ({"model": "m", "fingerprint": "f", "x": np.zeros(2)}, TypeError, "not JSON serializable"),
             ([("model", "m")], TypeError, "manifest must be a mapping")]
    for manifest, error, match in cases:
        with pytest.raises(error, match=match):
            save_index(index, tmp_path / "new", manifest)
    with pytest.raises(TypeError, match="folder must be a str or Path, got int"):
        save_index(index, 3, {"model": "m", "fingerprint": "f"})
    with pytest.raises(TypeError, match="index must be a SearchIndex, got Index"):
        save_index(index.index, tmp_path / "new", {"model": "m", "fingerprint": "f"})
    with pytest.raises(TypeError, match="expect must be a mapping"):
        load_index(tmp_path, expect=["model"])
    with pytest.raises(TypeError, match="folder must be a str or Path"):
        load_index(None)


X8 = np.random.default_rng(5).normal(size=(50, 8))


@pytest.mark.parametrize("call, error, match", [
    (lambda: IndexSpec(kind="lsh"), ValueError, r"kind must be one of \('flat', 'hnsw', 'ivfpq'\), got 'lsh'"),
    (lambda: IndexSpec(metric="dot"), ValueError, r"metric must be one of \('cosine', 'euclidean'\), got 'dot'"),
    (lambda: IndexSpec(nlist=0), ValueError, r"nlist must be in \[1, inf\], got 0"),
    (lambda: IndexSpec(nbits=17), ValueError, r"nbits must be in \[1, 16\], got 17"),
    (lambda: IndexSpec(nprobe=1.5), TypeError, "nprobe must be an int, got float 1.5"),
    (lambda: IndexSpec(M=True), TypeError, "M must be an int, got bool True"),
    (lambda: build_index(X8), TypeError, r"chunks must be an iterable of \(n, d\) arrays"),
    (lambda: build_index(5), TypeError, "chunks must be an iterable"),
    (lambda: build_index([X8], "flat"), TypeError, "spec must be an IndexSpec, got str"),
    (lambda: build_index([]), ValueError, "chunks must yield at least one"),
    (lambda: build_index([np.zeros((0, 8))]), ValueError, "chunks must hold at least one row"),
    (lambda: build_index([X8, X8[:, :4]]), ValueError, r"chunk 1 must be \(n, d\) with d = 8, got shape \(50, 4\)"),
    (lambda: build_index([X8[0]]), ValueError, r"chunk 0 must be \(n, d\) with d = >= 1, got shape \(8,\)"),
    (lambda: build_index([np.full((2, 8), np.nan)]), ValueError, "chunk 0 holds non-finite values"),
    (lambda: build_index([np.array([["a"] * 8])]), TypeError, "chunk 0 must be a numeric array, got dtype <U1"),
    (lambda: build_index([X8], IndexSpec("ivfpq", m=3)), ValueError, "m .PQ sub-quantizers. must divide the dimension 8"),
    (lambda: build_index([X8], IndexSpec("ivfpq", nlist=64, m=4)), ValueError,
     r"ivfpq needs at least max\(nlist, 2\*\*nbits\) = 256 training rows, got 50"),
    (lambda: list(npy_chunks([], rows=0)), ValueError, r"rows must be in \[1, inf\], got 0"),
    (lambda: list(npy_chunks([], rows="10")), TypeError, "rows must be an int, got str"),
    (lambda: search(X8, X8, 3), TypeError, "index must be a SearchIndex, got ndarray"),
    (lambda: search(build_index([X8]), X8, 0), ValueError, r"k must be in \[1, 50\], got 0"),
    (lambda: search(build_index([X8]), X8, 51), ValueError, r"k must be in \[1, 50\], got 51"),
    (lambda: search(build_index([X8]), X8, 2.0), TypeError, "k must be an int, got float"),
    (lambda: search(build_index([X8]), X8[:, :3], 2), ValueError, r"queries must be \(n, d\) with d = 8, got shape \(50, 3\)"),
    (lambda: knn_tag_scores_index(build_index([X8]), np.zeros(50), X8), TypeError, "y_library must hold integer labels"),
    (lambda: knn_tag_scores_index(build_index([X8]), np.zeros(49, int), X8), ValueError, r"y_library must be \(50,\)"),
    (lambda: knn_tag_scores_index(build_index([X8]), -np.ones(50, int), X8), ValueError, "labels >= 0, got shape .*min -1"),
    (lambda: knn_tag_scores_index(build_index([X8]), np.ones(50, int), X8, 0), ValueError, r"n_neighbors must be in \[1, 50\]"),
    (lambda: knn_tag_scores_index(build_index([X8]), np.ones(50, int), X8, 5, 1), ValueError, r"n_classes must be in \[2, inf\]"),
])
def test_every_error_names_its_parameter(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_too_few_training_rows_is_a_warning_and_a_1d_npy_an_error(tmp_path):
    X = np.random.default_rng(6).normal(size=(300, 8))
    with pytest.warns(UserWarning, match=r"ivfpq: 300 training rows for max\(nlist, 2\*\*nbits\) = 16 centroids"):
        assert build_index([X], IndexSpec("ivfpq", nlist=16, m=4, nbits=4, nprobe=4)).count == 300
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(ValueError, match=r"flat.npy: expected a 2-D \(n, d\) array of latents, got shape \(5,\)"):
        list(npy_chunks(tmp_path / "flat.npy"))


def test_search_benchmark_tiny_run_and_its_page(tmp_path):
    from mmae.bench.__main__ import main
    from mmae.report import search as page

    main(["--search", "--tiny", "--out", str(tmp_path / "s.json")])
    rec = page.load(tmp_path / "s.json")
    assert rec["kind"] == "search" and page.load(tmp_path / "none.json") is None
    table = page.table(rec)
    assert list(table.index.get_level_values("index")) == ["flat (exact)", "HNSW", "IVF-PQ", "today's path (torch)"]
    assert table.loc[("20,000", "flat (exact)"), "10-recall@10"] == "1.000"
    text = page.findings(rec)
    assert text.startswith("On 20,000 latents, 200 queries of k = 10 take the exact flat index") and "HNSW answers" in text
    (tmp_path / "s.json").write_text(json.dumps(rec | {"kind": "eval"}))
    with pytest.raises(ValueError, match="s.json: expected a benchmark result of schema 'mmae-bench/1' and kind 'search'"):
        page.load(tmp_path / "s.json")


def test_search_findings_are_computed_from_the_numbers():
    from mmae.report.search import findings

    row = lambda i, qps, r, b: {"n": 1_000_000, "index": i, "params": {}, "build_s": 90.0, "bytes": b * 10**6,  # noqa: E731
                                "qps": qps, "recall@10": r, "bytes_per_vector": b}
    rec = {"info": {"queries": 1000, "k": 10, "torch_max": 2_000_000},
           "results": [row("flat", 500.0, 1.0, 512), row("hnsw", 10_000.0, 0.95, 768), row("ivfpq", 20_000.0, 0.85, 72),
                       row("today (torch)", 400.0, 1.0, 512), {**row("flat", 50.0, 1.0, 512), "n": 10_000_000}]}
    text = findings(rec)
    assert "take the exact flat index 2.00 s (500 queries/s, 512 B a row)" in text
    assert "HNSW answers 20.0x as fast with 768 B a row and finds 0.950 of the exact 10 nearest (target 0.9: **reached**)" in text
    assert "IVF-PQ answers 40.0x as fast with 72 B a row and finds 0.850" in text and "**missed**" in text
    assert "today's path (the archive as one torch tensor, similarities and top-k) answers 400 queries/s" in text
    assert "not measured on 10,000,000 latents" in text


def test_searchindex_is_frozen():
    index = build_index([X8])
    with pytest.raises(AttributeError):
        index.spec = IndexSpec("hnsw")
    assert isinstance(index, SearchIndex) and (index.count, index.dim) == (50, 8)
