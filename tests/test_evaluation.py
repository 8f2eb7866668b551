import doctest

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, top_k_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import importlib
from mmae.data import add_gaussian_noise
from mmae.evaluation import (average_precision, fit_linear_probe, knn_tag_scores, linear_probe_score, ood_auroc_score,
                             prediction_skill_score, retrieval_scores, top_k_accuracy)
from mmae.report.tables import format_mean_std, mean_std


@pytest.mark.parametrize("module", ["mmae.evaluation.clustering", "mmae.evaluation.retrieval", "mmae.evaluation.probe",
                                    "mmae.evaluation.tagging", "mmae.evaluation.ood", "mmae.evaluation.prediction",
                                    "mmae.report.tables", "mmae.report.findings"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0


# --- average precision and retrieval ---------------------------------------------------------

@pytest.mark.parametrize("relevant, expected", [
    ([1, 0, 1, 0], 5 / 6),       # (1/1 + 2/3) / 2
    ([0, 0, 0, 1], 1 / 4),
    ([1, 1, 0, 0], 1.0),
    ([False, True, True, False], 7 / 12),  # (1/2 + 2/3) / 2
])
def test_average_precision_by_hand(relevant, expected):
    assert average_precision(relevant) == pytest.approx(expected)


@pytest.mark.parametrize("relevant, message", [
    ([0, 0, 0], r"at least one relevant item, got shape \(3,\) with 0 relevant"),
    ([[1, 0]], r"1-D with at least one relevant item, got shape \(1, 2\)"),
])
def test_average_precision_errors(relevant, message):
    with pytest.raises(ValueError, match=message):
        average_precision(relevant)


def random_set(n, d=4, n_classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, n_classes, n)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_map_equals_sklearn_average_precision(metric):
    (Q, yq), (G, yg) = random_set(20, seed=1), random_set(30, seed=2)
    if metric == "cosine":
        Qn, Gn = Q / np.linalg.norm(Q, axis=1, keepdims=True), G / np.linalg.norm(G, axis=1, keepdims=True)
        score = Qn @ Gn.T
    else:
        score = -np.linalg.norm(Q[:, None] - G[None], axis=2)
    expected = np.mean([average_precision_score(yg == yq[i], score[i]) for i in range(len(Q))])
    order = np.argsort(-score, axis=1)
    ours = np.mean([average_precision(yg[order[i]] == yq[i]) for i in range(len(Q))])
    assert retrieval_scores(Q, G, yq, yg, ks=(1,), metric=metric)["map"] == pytest.approx(expected)
    assert ours == pytest.approx(expected)


def test_retrieval_by_hand():
    # 1-D, Euclidean. Gallery 0.0 (label 0), 1.0 (1), 2.0 (0), 3.0 (1). Relevance in rank order:
    #   q 0.1 (0): g0 g1 g2 g3 -> 1 0 1 0: AP 5/6,  hits@1,2,4 = 1, 1, 2
    #   q 2.9 (1): g3 g2 g1 g0 -> 1 0 1 0: AP 5/6,  hits 1, 1, 2
    #   q 1.2 (0): g1 g2 g0 g3 -> 0 1 1 0: AP 7/12, hits 0, 1, 2
    #   q 1.9 (1): g2 g1 g3 g0 -> 0 1 1 0: AP 7/12, hits 0, 1, 2
    #   q 0.0 (2): no relevant item: left out of the mAP, a miss for every @k
    # mAP = (5/6 + 5/6 + 7/12 + 7/12) / 4 = 17/24; P@1 = 2/5, P@2 = (4 * 1/2) / 5, P@4 = (4 * 2/4) / 5;
    # recall@1 = 2/5, recall@2 = recall@4 = 4/5
    G, yg = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 1, 0, 1])
    Q, yq = np.array([[0.1], [2.9], [1.2], [1.9], [0.0]]), np.array([0, 1, 0, 1, 2])
    s = retrieval_scores(Q, G, yq, yg, ks=(1, 2, 4), metric="euclidean")
    assert list(s) == ["map", "precision@1", "precision@2", "precision@4", "recall@1", "recall@2", "recall@4"]
    assert s == pytest.approx({"map": 17 / 24, "precision@1": 2 / 5, "precision@2": 2 / 5, "precision@4": 2 / 5,
                               "recall@1": 2 / 5, "recall@2": 4 / 5, "recall@4": 4 / 5})


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("yg, expected", [([0, 1], (0.5, 0.0)), ([1, 0], (1.0, 1.0))])
def test_retrieval_ties_go_to_lower_gallery_index(metric, yg, expected):
    G = np.array([[1.0, 1.0], [1.0, 1.0]])  # identical gallery items: g0 ranks first
    s = retrieval_scores(np.array([[1.0, 1.0]]), G, np.array([1]), np.array(yg), ks=(1,), metric=metric)
    assert (s["map"], s["recall@1"]) == expected


def test_cosine_and_euclidean_rank_differently():
    # query (1, 0): g0 = (10, 0) has the same direction (cosine 1) but lies 9 away; g1 = (0.5, 0.5) is
    # at 45 degrees (cosine 0.71) but only 0.71 away. Only g0 is relevant.
    Q, G = np.array([[1.0, 0.0]]), np.array([[10.0, 0.0], [0.5, 0.5]])
    args = (Q, G, np.array([0]), np.array([0, 1]), (1,))
    assert retrieval_scores(*args, metric="cosine") == {"map": 1.0, "precision@1": 1.0, "recall@1": 1.0}
    assert retrieval_scores(*args, metric="euclidean") == {"map": 0.5, "precision@1": 0.0, "recall@1": 0.0}


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_retrieval_batch_size_does_not_matter(metric):
    (Q, yq), (G, yg) = random_set(25, seed=3), random_set(40, seed=4)
    G[10:15] = G[0]  # exact ties, to run the tie-breaking path
    ks = (1, 5, 40)
    assert retrieval_scores(Q, G, yq, yg, ks, metric, batch_size=1) == retrieval_scores(Q, G, yq, yg, ks, metric)


@pytest.mark.parametrize("kwargs, message", [
    ({"queries": np.zeros(4)}, r"queries must be \(n, d\) with n = len\(y_query\) = 4, got shape \(4,\)"),
    ({"y_query": np.zeros(3, int)}, r"queries must be \(n, d\) with n = len\(y_query\) = 3, got shape \(4, 2\)"),
    ({"y_gallery": np.zeros((5, 1), int)}, r"y_gallery must be 1-D, got shape \(5, 1\)"),
    ({"gallery": np.zeros((5, 3))}, r"queries and gallery must have the same d, got 2 and 3"),
    ({"metric": "manhattan"}, r"metric must be one of \('cosine', 'euclidean'\), got 'manhattan'"),
    ({"ks": (0,)}, r"ks must be integers in \[1, n_gallery\] = \[1, 5\], got \(0,\)"),
    ({"ks": (1, 6)}, r"ks must be integers in \[1, n_gallery\] = \[1, 5\], got \(1, 6\)"),
    ({"ks": (1.5,)}, r"ks must be integers in \[1, n_gallery\] = \[1, 5\], got \(1.5,\)"),
    ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
    ({"y_query": np.full(4, 7)}, r"no query has a relevant gallery item"),
])
def test_retrieval_errors(kwargs, message):
    args = {"queries": np.ones((4, 2)), "gallery": np.ones((5, 2)), "y_query": np.zeros(4, int),
            "y_gallery": np.zeros(5, int), "ks": (1,)} | kwargs
    with pytest.raises(ValueError, match=message):
        retrieval_scores(**args)


# --- linear probe ------------------------------------------------------------------------------

def blobs(n_per_class, seed, spread=1.2):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    centres = np.array([[0, 0, 0, 0, 0], [2, 0, 1, 0, 0], [0, 2, 0, 1, 0]], float)
    return centres[y] * 3 + rng.standard_normal((len(y), 5)) * spread * np.arange(1, 6), y


@pytest.mark.parametrize("C", [0.05, 1.0])
def test_linear_probe_agrees_with_sklearn(C):
    (Z_train, y_train), (Z_test, y_test) = blobs(40, 0), blobs(30, 1)
    ref = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000)).fit(Z_train, y_train)
    pred = fit_linear_probe(Z_train, y_train, C=C, max_iter=1000)(Z_test)
    assert (pred == ref.predict(Z_test)).mean() >= 0.95
    assert linear_probe_score(Z_train, y_train, Z_test, y_test, C=C, max_iter=1000) == ref.score(Z_test, y_test)
    assert 0.6 < ref.score(Z_test, y_test) < 1.0  # separable-ish: neither trivial nor chance


def test_linear_probe_separable_is_perfect():
    (Z_train, y_train), (Z_test, y_test) = blobs(20, 0, spread=0.05), blobs(10, 1, spread=0.05)
    Z_train[:, 4] = Z_test[:, 4] = 3.0  # a constant column is harmless
    assert linear_probe_score(Z_train, y_train, Z_test, y_test) == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"Z_train": np.zeros(6)}, r"Z_train must be \(n, d\) with n = len\(y_train\) = 6, got shape \(6,\)"),
    ({"y_test": np.zeros(3, int)}, r"Z_test must be \(n, d\) with n = len\(y_test\) = 3, got shape \(4, 2\)"),
    ({"Z_test": np.zeros((4, 3))}, r"Z_train and Z_test must have the same d, got 2 and 3"),
    ({"y_train": np.zeros(6, int)}, r"y_train must hold at least 2 classes, got \[0\]"),
    ({"C": 0.0}, r"C must be > 0, got 0.0"),
])
def test_linear_probe_errors(kwargs, message):
    args = {"Z_train": np.zeros((6, 2)), "y_train": np.array([0, 1] * 3), "Z_test": np.zeros((4, 2)),
            "y_test": np.zeros(4, int)} | kwargs
    with pytest.raises(ValueError, match=message):
        linear_probe_score(**args)


def test_fit_linear_probe_predict_checks_d():
    probe = fit_linear_probe(*blobs(5, 0))
    assert probe(blobs(2, 1)[0]).shape == (6,)
    with pytest.raises(ValueError, match=r"Z must be \(n, d\) with d = 5 as in training, got shape \(6, 4\)"):
        probe(np.zeros((6, 4)))


# --- k-NN tag suggestion and top-k accuracy ----------------------------------------------------

LIBRARY, Y_LIBRARY = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [20.0]]), np.array([0, 0, 1, 1, 2, 3])


def test_knn_tag_scores_by_hand():
    # Query 0.9: 3-NN are 1.0 (c0), 0.0 (c0), 2.0 (c1) -> votes c0 2, c1 1. Nearest member per class:
    #   c0 0.1, c1 1.1, c2 10.1, c3 19.1, c4 none -> tie-breakers 4/5, 3/5, 2/5, 1/5, 0.
    # Query 10.4: 3-NN are 10 (c1), 11 (c2), 2 (c1) -> votes c1 2, c2 1. Nearest member per class:
    #   c1 0.4, c2 0.6, c0 9.4, c3 9.6, c4 none -> c0 (no vote) is suggested before c3 (no vote).
    s = knn_tag_scores(LIBRARY, Y_LIBRARY, np.array([[0.9], [10.4]]), n_neighbors=3, metric="euclidean", n_classes=5)
    np.testing.assert_allclose(s, [[2.8, 1.6, 0.4, 0.2, 0.0], [0.4, 2.8, 1.6, 0.2, 0.0]])
    assert np.argsort(-s, axis=1).tolist() == [[0, 1, 2, 3, 4], [1, 2, 0, 3, 4]]
    default = knn_tag_scores(LIBRARY, Y_LIBRARY, np.array([[10.4]]), n_neighbors=3, metric="euclidean")
    np.testing.assert_allclose(default, [[0.25, 2.75, 1.5, 0.0]])  # n_classes = 4; places 3/4, 2/4, 1/4, 0


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("n_neighbors, n_classes", [(1, 4), (3, 2), (7, 2)])
def test_knn_top1_equals_sklearn_classifier(metric, n_neighbors, n_classes):
    (L, yl), (Q, _) = random_set(50, d=3, n_classes=n_classes, seed=5), random_set(30, d=3, seed=6)
    s = knn_tag_scores(L, yl, Q, n_neighbors=n_neighbors, metric=metric)
    ref = KNeighborsClassifier(n_neighbors=n_neighbors, metric=metric, algorithm="brute").fit(L, yl).predict(Q)
    assert np.array_equal(s.argmax(1), ref)  # odd k with 2 classes (or k = 1): no tied votes
    assert all(len(np.unique(row)) == n_classes for row in s) and np.isfinite(s).all()
    assert np.array_equal(knn_tag_scores(L, yl, Q, n_neighbors, metric, batch_size=1), s)


@pytest.mark.parametrize("kwargs, message", [
    ({"Z_library": np.zeros(6)}, r"Z_library must be \(n, d\) with n = len\(y_library\) = 6, got shape \(6,\)"),
    ({"Z_query": np.zeros(2)}, r"Z_query must be \(n, d\), got shape \(2,\)"),
    ({"Z_query": np.zeros((2, 2))}, r"Z_library and Z_query must have the same d, got 1 and 2"),
    ({"metric": "l1"}, r"metric must be one of \('cosine', 'euclidean'\), got 'l1'"),
    ({"y_library": np.array([0, 0, 1, 1, 2, -1])}, r"y_library must be >= 0, got min -1"),
    ({"n_classes": 3}, r"n_classes must be > y_library.max\(\) = 3, got 3"),
    ({"n_neighbors": 0}, r"n_neighbors must be in \[1, n_library\] = \[1, 6\], got 0"),
    ({"n_neighbors": 7}, r"n_neighbors must be in \[1, n_library\] = \[1, 6\], got 7"),
    ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
])
def test_knn_tag_scores_errors(kwargs, message):
    args = {"Z_library": LIBRARY, "y_library": Y_LIBRARY, "Z_query": np.zeros((2, 1)), "n_neighbors": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        knn_tag_scores(**args)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_top_k_accuracy_equals_sklearn(k):
    rng = np.random.default_rng(7)
    y, scores = rng.integers(0, 5, 40), rng.random((40, 5))
    assert top_k_accuracy(y, scores, k) == top_k_accuracy_score(y, scores, k=k, labels=range(5))


def test_top_k_accuracy_ties_count_against_the_true_label():
    scores = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    assert top_k_accuracy(np.array([0, 1]), scores, 1) == 0.0
    assert top_k_accuracy(np.array([0, 1]), scores, 2) == 1.0


@pytest.mark.parametrize("y, scores, k, message", [
    ([0, 1], np.zeros((2, 3)), 0, r"k must be in \[1, n_classes\] = \[1, 3\], got 0"),
    ([0, 1], np.zeros((2, 3)), 4, r"k must be in \[1, n_classes\] = \[1, 3\], got 4"),
    ([0, 3], np.zeros((2, 3)), 1, r"y_true must be in \[0, n_classes - 1\] = \[0, 2\], got \[0 3\]"),
    ([0, 1, 2], np.zeros((2, 3)), 1, r"scores must be \(n, d\) with n = len\(y_true\) = 3, got shape \(2, 3\)"),
])
def test_top_k_accuracy_errors(y, scores, k, message):
    with pytest.raises(ValueError, match=message):
        top_k_accuracy(np.array(y), scores, k)


# --- OOD detection -----------------------------------------------------------------------------

Z_TRAIN, Y_TRAIN = np.array([[-1.0], [1.0], [9.0], [11.0]]), np.array([0, 0, 1, 1])  # centroids 0 and 10


def test_ood_far_away_is_perfect():
    assert ood_auroc_score(Z_TRAIN, Y_TRAIN, np.array([[0.5], [9.0]]), np.array([[100.0], [-50.0]])) == 1.0


def test_ood_auroc_by_hand():
    # distances to the nearest centroid: ID 0.5, 2.0; OOD 5.0, 0.2, 3.0. OOD beats ID in 4 of 6 pairs.
    s = ood_auroc_score(Z_TRAIN, Y_TRAIN, np.array([[0.5], [2.0]]), np.array([[5.0], [10.2], [13.0]]))
    assert s == pytest.approx(4 / 6)


def test_ood_auroc_equals_roc_auc_of_centroid_distances():
    (Z, y), (Z_id, _), (Z_ood, _) = random_set(60, seed=8), random_set(20, seed=9), random_set(15, seed=10)
    Z_ood = Z_ood * 1.5
    centroids = np.stack([Z[y == c].mean(0) for c in np.unique(y)])
    dist = [np.linalg.norm(A[:, None] - centroids[None], axis=2).min(1) for A in (Z_id, Z_ood)]
    expected = roc_auc_score([0] * 20 + [1] * 15, np.concatenate(dist))
    assert ood_auroc_score(Z, y, Z_id, Z_ood) == pytest.approx(expected) and 0.5 < expected < 1


@pytest.mark.parametrize("Z_id, Z_ood, message", [
    (np.zeros((2, 2)), np.zeros((1, 1)), r"Z_id must be \(n, d\) with n >= 1 and d = 1, got shape \(2, 2\)"),
    (np.zeros((2, 1)), np.zeros((0, 1)), r"Z_ood must be \(n, d\) with n >= 1 and d = 1, got shape \(0, 1\)"),
])
def test_ood_errors(Z_id, Z_ood, message):
    with pytest.raises(ValueError, match=message):
        ood_auroc_score(Z_TRAIN, Y_TRAIN, Z_id, Z_ood)
    with pytest.raises(ValueError, match=r"Z_train must be \(n, d\) with n = len\(y_train\) = 3"):
        ood_auroc_score(Z_TRAIN, Y_TRAIN[:3], np.zeros((1, 1)), np.zeros((1, 1)))


# --- noise robustness and prediction skill -----------------------------------------------------

def modalities():
    return {"image": np.arange(6, dtype=np.float32).reshape(3, 2), "audio": np.ones((3, 4), np.float32)}


def test_add_gaussian_noise():
    x = modalities()
    same = add_gaussian_noise(x, "image", 0.0)
    assert same is not x and np.array_equal(same["image"], x["image"]) and same["audio"] is x["audio"]
    a, b, c = (add_gaussian_noise(x, "audio", 0.5, random_state=s) for s in (1, 1, 2))
    assert a["audio"].dtype == np.float32 and a["audio"].shape == (3, 4) and a["image"] is x["image"]
    assert np.array_equal(a["audio"], b["audio"]) and not np.array_equal(a["audio"], c["audio"])
    assert np.array_equal(x["audio"], np.ones((3, 4)))  # the input is not modified
    big = add_gaussian_noise({"text": np.zeros((200, 500), np.float32)}, "text", 0.3)["text"]
    assert big.std() == pytest.approx(0.3, rel=0.01) and abs(big.mean()) < 0.003


@pytest.mark.parametrize("modality, sigma, message", [
    ("text", 0.1, r"modality must be one of \['audio', 'image'\], got 'text'"),
    ("image", -0.1, r"sigma must be >= 0, got -0.1"),
])
def test_add_gaussian_noise_errors(modality, sigma, message):
    with pytest.raises(ValueError, match=message):
        add_gaussian_noise(modalities(), modality, sigma)


def test_prediction_skill_score():
    x = np.array([[0.0, 1.0], [2.0, 3.0]])
    mean = x.mean(0)  # (1, 2)
    assert prediction_skill_score(x, x, mean) == 1.0
    assert prediction_skill_score(x, np.tile(mean, (2, 1)), mean) == 0.0
    # MSE(x, pred) = (0 + 0 + 1 + 1) / 4 = 0.5; MSE(x, mean) = 1 -> skill 0.5
    assert prediction_skill_score(x, np.array([[0.0, 1.0], [1.0, 2.0]]), mean) == 0.5
    # MSE(x, x[::-1]) = 4 -> skill -3: worse than predicting the mean
    assert prediction_skill_score(x, x[::-1], mean) == -3.0


@pytest.mark.parametrize("x_true, x_pred, baseline, message", [
    (np.zeros((2, 2)), np.zeros((2, 3)), np.zeros(2), r"same shape, got \(2, 2\) and \(2, 3\)"),
    (np.zeros(2), np.zeros(2), np.zeros(2), r"x_true and x_pred must be \(n, d\) of the same shape"),
    (np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(3), r"baseline must be \(d,\) = \(2,\), got shape \(3,\)"),
    (np.ones((2, 2)), np.zeros((2, 2)), np.ones(2), r"MSE\(x_true, baseline\) is 0"),
])
def test_prediction_skill_errors(x_true, x_pred, baseline, message):
    with pytest.raises(ValueError, match=message):
        prediction_skill_score(x_true, x_pred, baseline)


# --- mean ± std tables -------------------------------------------------------------------------

def test_mean_std():
    df = pd.DataFrame({"model": ["pca", "mmae", "pca", "mmae", "pca", "raw"], "k": 42,
                       "value": [0.1, 0.5, 0.2, 0.7, 0.6, 0.3], "seed": range(6)})
    t = mean_std(df, ["model", "k"])
    assert list(t.columns) == ["model", "k", "mean", "std", "n"] and t.model.tolist() == ["pca", "mmae", "raw"]
    np.testing.assert_allclose(t["mean"], [0.3, 0.6, 0.3])
    np.testing.assert_allclose(t["std"], [np.sqrt(0.07), np.sqrt(0.02), np.nan])  # ddof = 1
    assert t.n.tolist() == [3, 2, 1]
    assert mean_std(df, ["model"], value="seed")["mean"].tolist() == [2.0, 2.0, 5.0]
    with pytest.raises(ValueError, match=r"df has no column\(s\) \['dim'\]; it has \['model', 'k', 'value', 'seed'\]"):
        mean_std(df, ["dim"])


def test_format_mean_std():
    assert format_mean_std(0.54123, 0.0121) == "0.541 ± 0.012"
    assert format_mean_std(0.54123, float("nan")) == "0.541"
    assert format_mean_std(12.345, 0.26, digits=1) == "12.3 ± 0.3"


def test_rank_breaks_ties_by_index_on_tie_heavy_rows():
    from mmae.evaluation.retrieval import _rank

    rng = np.random.default_rng(0)
    sim = rng.integers(0, 4, size=(50, 30)).astype(float)  # every row full of ties
    sim[::7] = rng.normal(size=(8, 30))  # and some rows without any
    expected = np.array([sorted(range(30), key=lambda j: (-row[j], j)) for row in sim])
    np.testing.assert_array_equal(_rank(sim), expected)
