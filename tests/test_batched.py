"""The batched evaluation engine against scikit-learn and the one-problem functions, on small cases.

Tolerances, stated: K-Means on separated blobs finds scikit-learn's partition (ARI 1) and inertia
(relative 1e-5); on overlapping data the best-of-restarts inertia is within 1 % of scikit-learn's
(a different random stream). The probe, converged (tol 1e-6), predicts what scikit-learn's
converged ``LogisticRegression`` predicts, and its weights agree to 1e-3. Retrieval and k-NN tags
agree exactly with the one-problem functions (float32 similarities; the data avoid near-ties)."""
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score

from mmae.evaluation import fit_linear_probe, knn_tag_scores, retrieval_scores
from mmae.evaluation import batched
from mmae.evaluation.batched import fit_linear_probes, kmeans_many
from mmae.evaluation.neighbours import knn_tag_scores_many, retrieval_scores_many, similarity_many


@pytest.fixture(autouse=True)
def _threads(one_thread):
    yield


def blobs(P, n=120, d=5, k=4, std=0.3, seed=0):
    X, y = zip(*(make_blobs(n, d, centers=k, cluster_std=std, random_state=seed + p) for p in range(P)))
    return np.stack(X).astype(np.float32), np.stack(y)


def test_kmeans_finds_sklearns_partition_on_separated_blobs():
    X, y = blobs(3)
    labels, inertia = kmeans_many(X, 4, n_init=3, seeds=[0, 1, 2])
    for p in range(3):
        sk = KMeans(4, n_init=3, random_state=0).fit(X[p])
        assert adjusted_rand_score(y[p], labels[p]) == 1.0
        assert inertia[p] == pytest.approx(sk.inertia_, rel=1e-5)


def test_kmeans_inertia_within_one_percent_of_sklearn_on_overlapping_data():
    X, _ = blobs(6, n=200, d=8, k=6, std=3.0)
    _, inertia = kmeans_many(X, 6, n_init=10, seeds=list(range(6)))
    sk = np.array([KMeans(6, n_init=10, random_state=p).fit(X[p]).inertia_ for p in range(6)])
    assert np.all(np.abs(inertia / sk - 1) < 0.01), inertia / sk


def test_kmeans_result_does_not_depend_on_the_batch(monkeypatch):
    X, _ = blobs(4, std=2.0)
    labels, inertia = kmeans_many(X, 4, n_init=4, seeds=[5, 6, 7, 8])
    alone = kmeans_many(X[2:3], 4, n_init=4, seeds=[7])
    np.testing.assert_array_equal(alone[0][0], labels[2])
    assert alone[1][0] == pytest.approx(inertia[2], rel=1e-6)
    monkeypatch.setattr(batched, "MEMORY", 1)  # one problem per chunk
    np.testing.assert_array_equal(kmeans_many(X, 4, n_init=4, seeds=[5, 6, 7, 8])[0], labels)


def test_kmeans_one_cluster_and_its_inertia():
    X = np.array([[[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]]])
    labels, inertia = kmeans_many(X, 1, n_init=2)
    assert labels.tolist() == [[0, 0, 0, 0]] and inertia[0] == pytest.approx(8.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"X": np.zeros((4, 3))}, r"X must be \(P, n, d\) with P, n, d >= 1, got shape \(4, 3\)"),
    ({"k": 0}, r"k must be in \[1, n\] = \[1, 10\], got 0"),
    ({"k": 11}, r"k must be in \[1, n\] = \[1, 10\], got 11"),
    ({"seeds": [0, 1, 2]}, r"seeds must be an int or one per problem \(2\), got 3"),
    ({"n_init": 0}, "n_init and max_iter must be >= 1, got 0 and 300"),
])
def test_kmeans_errors(kwargs, match):
    args = {"X": np.random.default_rng(0).normal(size=(2, 10, 3)), "k": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        kmeans_many(**args)


def probe_data(P=3, n=150, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    means = rng.normal(size=(P, classes, d))
    Z = means[:, y] + 1.5 * rng.normal(size=(P, n, d))
    return Z, y


def test_probe_agrees_with_sklearns_converged_logistic_regression():
    Z, y = probe_data()
    Zt, _ = probe_data(seed=1)
    predict = fit_linear_probes(Z, y, tol=1e-8, dtype=torch.float64)
    mean, std = Z.mean(1, keepdims=True), Z.std(1, keepdims=True)
    ours = predict(Zt)
    for p in range(3):
        sk = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit((Z[p] - mean[p]) / std[p], y)
        np.testing.assert_array_equal(ours[p], sk.predict((Zt[p] - mean[p]) / std[p]))
    # the weights themselves: the batched objective's minimiser is scikit-learn's
    fit = fit_linear_probes(Z, y, tol=1e-8, dtype=torch.float64)
    assert fit.coef_.shape == (3, 3, 6) and fit.intercept_.shape == (3, 3)
    for p in range(3):
        sk = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit((Z[p] - mean[p]) / std[p], y)
        np.testing.assert_allclose(fit.coef_[p], sk.coef_, atol=1e-3)
        np.testing.assert_allclose(fit.intercept_[p], sk.intercept_, atol=1e-3)


def test_probe_at_its_default_tolerance_predicts_as_the_one_problem_probe():
    Z, y = probe_data(P=4, n=300)
    Zt, _ = probe_data(P=4, n=300, seed=1)
    ours = fit_linear_probes(Z, y)(Zt)  # float32, every gradient entry < PROBE_TOL = 1e-4, as the reference
    for p in range(4):
        assert (ours[p] == fit_linear_probe(Z[p], y)(Zt[p])).mean() >= 0.99


def test_probe_blocks_are_independent_and_constant_columns_are_harmless():
    Z, y = probe_data(P=4)
    Z[:, :, 0] = 1.0  # a constant feature: its weight stays 0
    together = fit_linear_probes(Z, y)(Z)
    alone = fit_linear_probes(Z[3:], y)(Z[3:])
    np.testing.assert_array_equal(together[3], alone[0])
    assert (together == y).mean() > 0.5


@pytest.mark.parametrize("kwargs, match", [
    ({"y_train": np.zeros(150, int)}, r"y_train must hold at least 2 classes, got \[0\]"),
    ({"y_train": np.zeros(7, int)}, r"y_train must be \(150,\), one label per row of Z_train, got shape \(7,\)"),
    ({"C": 0.0}, "C must be > 0, got 0.0"),
    ({"Z_train": np.zeros((150, 6))}, r"Z_train must be \(P, n, d\)"),
])
def test_probe_errors(kwargs, match):
    Z, y = probe_data()
    with pytest.raises(ValueError, match=match):
        fit_linear_probes(**{"Z_train": Z, "y_train": y, **kwargs})


def test_probe_predict_checks_its_input():
    Z, y = probe_data()
    with pytest.raises(ValueError, match=r"Z must be \(P, m, d\) = \(3, m, 6\) as in training, got shape \(2, 5, 6\)"):
        fit_linear_probes(Z, y)(Z[:2, :5])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_agrees_with_the_one_problem_function(metric):
    rng = np.random.default_rng(0)
    Q, G = rng.normal(size=(3, 40, 5)), rng.normal(size=(3, 30, 5))
    G[:, 7] = G[:, 3]  # exact ties: the lower gallery index first, as in retrieval_scores
    yq, yg = rng.integers(0, 4, 40), rng.integers(0, 4, 30)
    many = retrieval_scores_many(Q, G, yq, yg, ks=(1, 5), metric=metric)
    for p in range(3):
        one = retrieval_scores(Q[p], G[p], yq, yg, ks=(1, 5), metric=metric)
        assert many[p].keys() == one.keys()
        assert many[p] == pytest.approx(one, abs=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_scores_repeated_queries_once_with_the_same_scores(metric):
    from mmae.evaluation import neighbours

    rng = np.random.default_rng(1)
    pool = rng.normal(size=(3, 6, 5))  # 6 distinct clips per problem, each query row one of them
    which = rng.integers(0, 6, 60)
    Q, G = pool[:, which], rng.normal(size=(3, 30, 5))
    G[:, 9] = G[:, 2]  # and ties in the gallery
    yq, yg = which % 3, rng.integers(0, 3, 30)  # a clip keeps its label, as in a pooled split
    yq[which == 5] = np.where(np.arange((which == 5).sum()) % 2, 1, 2)  # one clip under two labels
    rows, weight = neighbours._distinct(torch.as_tensor(Q[:1]), torch.as_tensor(yq))
    assert len(rows) == 7 and weight.sum() == 60  # 5 clips with one label, one with two
    many = retrieval_scores_many(Q, G, yq, yg, ks=(1, 5), metric=metric)
    for p in range(3):
        assert many[p] == pytest.approx(retrieval_scores(Q[p], G[p], yq, yg, ks=(1, 5), metric=metric), abs=1e-12)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_ranks_a_pooled_gallery_by_group_with_the_same_scores(metric):
    from mmae.evaluation import neighbours

    rng = np.random.default_rng(2)
    pool = rng.normal(size=(8, 5))  # a pooled gallery: 8 distinct clips, 70 rows
    which = rng.integers(0, 8, 70)
    G, yg = pool[which], which % 4
    Q, yq = rng.normal(size=(25, 5)), rng.integers(0, 4, 25)
    rows, count = neighbours._distinct(torch.as_tensor(G[None]), torch.as_tensor(yg))
    assert rows.tolist() == [int(np.flatnonzero(which == c)[0]) for c in pd.unique(which)]  # first copies, in order
    assert count.tolist() == [float((which == c).sum()) for c in pd.unique(which)]
    grouped = neighbours._scores_grouped(torch.as_tensor(Q[None]), torch.as_tensor(G[None])[:, rows], torch.as_tensor(yq),
                                         torch.as_tensor(yg)[rows], count, (1, 5, 10), metric)
    one = retrieval_scores(Q, G, yq, yg, ks=(1, 5, 10), metric=metric)
    assert grouped[0] == pytest.approx(one, abs=1e-12)
    assert retrieval_scores_many([Q], [G], yq, yg, ks=(1, 5, 10), metric=metric)[0] == pytest.approx(one, abs=1e-12)


def test_retrieval_of_a_pooled_gallery_with_tied_distinct_rows_ranks_every_copy():
    from mmae.evaluation import neighbours

    G = np.repeat(np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), 5, axis=0)  # rows 0 and 1: equal cosines
    yg, Q, yq = np.repeat([0, 1, 2], 5), np.array([[1.0, 0.2], [0.3, 1.0]]), np.array([1, 2])
    rows, count = neighbours._distinct(torch.as_tensor(G[None]), torch.as_tensor(yg))
    assert neighbours._scores_grouped(torch.as_tensor(Q[None]), torch.as_tensor(G[None])[:, rows], torch.as_tensor(yq),
                                      torch.as_tensor(yg)[rows], count, (1,), "cosine") is None
    one = retrieval_scores(Q, G, yq, yg, ks=(1,), metric="cosine")
    assert one["map"] == pytest.approx(((1 / 6 + 2 / 7 + 3 / 8 + 4 / 9 + 5 / 10) / 5 + 1) / 2)  # label 0 ranks first on ties
    assert retrieval_scores_many([Q], [G], yq, yg, ks=(1,))[0] == pytest.approx(one, abs=1e-12)


def test_retrieval_errors():
    Q = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match="no query has a relevant gallery item"):
        retrieval_scores_many(Q, Q, np.zeros(4, int), np.ones(4, int), ks=(1,))
    with pytest.raises(ValueError, match=r"ks must be integers in \[1, n_gallery\] = \[1, 4\], got \(5,\)"):
        retrieval_scores_many(Q, Q, np.zeros(4, int), np.zeros(4, int), ks=(5,))
    with pytest.raises(ValueError, match=r"queries and gallery must be \(P, n, d\) with the same P and d"):
        retrieval_scores_many(Q, Q[:1], np.zeros(4, int), np.zeros(4, int), ks=(1,))
    with pytest.raises(ValueError, match=r"y_query must be \(4,\), one label per row, got shape \(3,\)"):
        retrieval_scores_many(Q, Q, np.zeros(3, int), np.zeros(4, int), ks=(1,))
    with pytest.raises(ValueError, match="metric must be one of"):
        similarity_many(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), "manhattan")


def test_knn_tags_agree_with_the_one_problem_function():
    rng = np.random.default_rng(1)
    L, Q = rng.normal(size=(2, 50, 4)), rng.normal(size=(2, 20, 4))
    y = rng.integers(0, 5, 50)
    y[y == 3] = 0  # class 3 has no library item: it ranks last among the classes without votes
    many = knn_tag_scores_many(L, y, Q, n_neighbors=7, n_classes=6)
    for p in range(2):
        np.testing.assert_allclose(many[p], knn_tag_scores(L[p], y, Q[p], n_neighbors=7, n_classes=6), atol=1e-12)


def test_knn_tag_errors():
    L = np.zeros((1, 5, 2))
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, n_library\] = \[1, 5\], got 6"):
        knn_tag_scores_many(L, np.zeros(5, int), L, n_neighbors=6)
    with pytest.raises(ValueError, match="y_library must be >= 0, got min -1"):
        knn_tag_scores_many(L, -np.ones(5, int), L, n_neighbors=1)
    with pytest.raises(ValueError, match=r"n_classes must be > y_library.max\(\) = 2, got 2"):
        knn_tag_scores_many(L, np.full(5, 2), L, n_neighbors=1, n_classes=2)


def test_problems_may_come_as_a_list_and_are_stacked_chunk_by_chunk(monkeypatch):
    X, _ = blobs(3)
    labels, inertia = kmeans_many(X, 4, n_init=2, seeds=0)
    monkeypatch.setattr(batched, "MEMORY", 1)  # one problem per chunk
    as_list = kmeans_many(list(X), 4, n_init=2, seeds=0)
    np.testing.assert_array_equal(as_list[0], labels)
    np.testing.assert_allclose(as_list[1], inertia, rtol=1e-6)
    with pytest.raises(ValueError, match=r"X must be \(P, n, d\) or P arrays of one shape \(n, d\), got shapes \[\(4, 2\), \(5, 2\)\]"):
        kmeans_many([np.zeros((4, 2)), np.zeros((5, 2))], 2)


def test_cluster_many_solves_equal_problems_once(monkeypatch):
    from mmae.study import questions

    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(3), 10)
    a, b = rng.normal(size=(30, 4)) + y[:, None], rng.normal(size=(30, 4))
    calls = []
    real = questions.kmeans_many
    monkeypatch.setattr(questions, "kmeans_many", lambda X, *args, **kw: calls.append(len(X)) or real(X, *args, **kw))
    out = questions.cluster_many([a, b, a.copy(), a], y, 3, 2, [0, 0, 0, 1], device="cpu")
    assert calls == [3]  # a with seed 0 twice: once; a with seed 1 is another problem
    assert out[0] == out[2] and out[0] is not out[2]
    alone = questions.cluster_many([a], y, 3, 2, [1], device="cpu")
    assert out[3] == alone[0]
