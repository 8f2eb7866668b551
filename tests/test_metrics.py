import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score

from mmae.evaluation import K_GRID, cluster_scores, clustering_accuracy_score, kmeans_grid


@pytest.mark.parametrize("y_true, y_pred, expected", [
    ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),            # relabelled perfect partition
    ([0, 0, 1, 1], [0, 1, 0, 1], 0.5),
    ([0, 0, 0, 1, 1, 2], [5, 5, 7, 7, 7, 9], 5 / 6),  # 5->0 (2 right), 7->1 (2), 9->2 (1)
    ([0, 0, 1, 1], [0, 1, 2, 3], 0.5),            # more clusters than classes
    ([0, 1, 2, 3], [0, 0, 0, 0], 0.25),           # fewer clusters than classes
])
def test_clustering_accuracy_by_hand(y_true, y_pred, expected):
    assert clustering_accuracy_score(y_true, y_pred) == pytest.approx(expected)


def test_clustering_accuracy_shape_error():
    with pytest.raises(ValueError, match=r"1-D of the same length, got shapes \(3,\) and \(2,\)"):
        clustering_accuracy_score([0, 1, 2], [0, 1])


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), 20)
    return rng.standard_normal((60, 2)) * 0.1 + np.array([[0, 0], [5, 0], [0, 5]])[y], y


def test_cluster_scores_match_sklearn():
    X, y = blobs()
    s = cluster_scores(X, y, 4, n_init=3, random_state=1)
    pred = KMeans(4, n_init=3, random_state=1).fit_predict(X)
    assert s == {"k": 4, "silhouette": silhouette_score(X, pred), "ari": adjusted_rand_score(y, pred),
                 "nmi": normalized_mutual_info_score(y, pred), "accuracy": clustering_accuracy_score(y, pred)}


def test_separated_blobs_score_perfectly():
    X, y = blobs()
    s = cluster_scores(X, y, 3)
    assert s["ari"] == 1.0 and s["nmi"] == pytest.approx(1.0) and s["accuracy"] == 1.0 and s["silhouette"] > 0.9


def test_kmeans_grid_rows():
    X, y = blobs()
    t = kmeans_grid(X, y, ks=(2, 3, 5))
    assert t.k.tolist() == [2, 3, 5] and list(t.columns) == ["k", "silhouette", "ari", "nmi", "accuracy"]
    assert K_GRID == (30, 40, 42, 50, 60)


@pytest.mark.parametrize("X, k, message", [
    (np.zeros(60), 3, r"X must be \(n, d\) with n = len\(y\) = 60, got shape \(60,\)"),
    (np.zeros((60, 2)), 1, r"k must be in \[2, n_samples - 1\] = \[2, 59\], got 1"),
    (np.zeros((60, 2)), 60, r"k must be in \[2, n_samples - 1\] = \[2, 59\], got 60"),
])
def test_cluster_scores_errors(X, k, message):
    with pytest.raises(ValueError, match=message):
        cluster_scores(X, np.zeros(60), k)


def test_knn_agreement_by_hand():
    from mmae.evaluation import knn_agreement

    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
    assert knn_agreement(X, np.array([0, 0, 0, 1, 1, 1]), k=2) == 1.0
    # alternating labels along a line: each point's 2 neighbours hold 0, 1 or 2 of its label
    labels = np.array([0, 1, 0, 1, 0, 1])
    # neighbours: 0->{1,2}: 1/2; 1->{0,2}: 0; 2->{1,0}: 1/2; 3->{4,5}: 1/2; 4->{3,5}: 0; 5->{4,3}: 1/2
    assert knn_agreement(X, labels, k=2) == pytest.approx((0.5 + 0 + 0.5 + 0.5 + 0 + 0.5) / 6)
    with pytest.raises(ValueError, match=r"k must be in \[1, n_samples - 1\] = \[1, 5\], got 6"):
        knn_agreement(X, labels, k=6)
    with pytest.raises(ValueError, match=r"X must be \(n, d\) with n = len\(labels\) = 5, got shape \(6, 1\)"):
        knn_agreement(X, labels[:5])
