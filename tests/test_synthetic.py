"""Tests for mmae.data.synthetic: shapes, determinism, validation and the Table II calibration."""

import numpy as np
import pytest

from mmae.data.synthetic import make_synthetic

SPLITS = ("train", "test", "ood")
MODALITIES = ("image", "audio", "text")
TINY = dict(n_train_per_class=5, n_test_per_class=2, n_ood=19)


@pytest.fixture(scope="module")
def tiny():
    return make_synthetic(seed=0, **TINY)


def test_shapes_dtypes_and_labels(tiny):
    x, y = tiny
    assert set(x) == set(y) == set(SPLITS)
    n = {"train": 42 * 5, "test": 42 * 2, "ood": 19}
    dims = {"image": 50, "audio": 1024, "text": 768}
    for split in SPLITS:
        assert set(x[split]) == set(MODALITIES)
        assert y[split].dtype == np.int64 and y[split].shape == (n[split],)
        for m in MODALITIES:
            assert x[split][m].dtype == np.float32
            assert x[split][m].shape == (n[split], dims[m])
            assert np.isfinite(x[split][m]).all()
    # in-distribution splits: every class 0..41 exactly n_per_class times
    assert np.array_equal(np.bincount(y["train"], minlength=42), np.full(42, 5))
    assert np.array_equal(np.bincount(y["test"], minlength=42), np.full(42, 2))
    # OOD: labels 42..49, 19 rows spread as evenly as possible (3 classes get 3, 5 get 2)
    counts = np.bincount(y["ood"], minlength=50)[42:]
    assert y["ood"].min() >= 42 and y["ood"].max() <= 49
    assert counts.sum() == 19 and counts.max() - counts.min() <= 1


def test_default_sizes_match_luma():
    _, y = make_synthetic(seed=0, n_train_per_class=1, n_test_per_class=1,
                          dims={"image": 2, "audio": 2, "text": 2})
    assert len(y["ood"]) == 3859
    assert np.array_equal(np.bincount(y["ood"])[42:], [483, 483, 483] + [482] * 5)


def test_ood_disjoint_from_train(tiny):
    _, y = tiny
    assert not set(y["ood"].tolist()) & set(y["train"].tolist())
    assert set(y["train"].tolist()) == set(range(42))


def test_rows_are_shuffled(tiny):
    _, y = tiny
    assert not np.all(np.diff(y["train"]) >= 0)


def test_same_seed_identical(tiny):
    x2, y2 = make_synthetic(seed=0, **TINY)
    x, y = tiny
    for split in SPLITS:
        assert np.array_equal(y[split], y2[split])
        for m in MODALITIES:
            assert np.array_equal(x[split][m], x2[split][m])


def test_different_seed_differs(tiny):
    x, _ = tiny
    x2, _ = make_synthetic(seed=1, **TINY)
    for split in SPLITS:
        for m in MODALITIES:
            assert not np.array_equal(x[split][m], x2[split][m])


def test_n_ood_does_not_change_train(tiny):
    x, y = tiny
    x2, y2 = make_synthetic(seed=0, n_train_per_class=5, n_test_per_class=2, n_ood=40)
    assert np.array_equal(y["train"], y2["train"])
    for m in MODALITIES:
        assert np.array_equal(x["train"][m], x2["train"][m])


@pytest.mark.parametrize("dims", [{"image": 7, "audio": 11, "text": 3},
                                  {"image": 50, "audio": 1, "text": 100}])
def test_custom_dims(dims):
    x, _ = make_synthetic(seed=3, dims=dims, **TINY)
    for split in SPLITS:
        for m in MODALITIES:
            assert x[split][m].shape[1] == dims[m]


@pytest.mark.parametrize("kwargs, name, error", [
    ({"seed": -1}, "seed", ValueError),
    ({"seed": 1.5}, "seed", TypeError),
    ({"n_train_per_class": 0}, "n_train_per_class", ValueError),
    ({"n_train_per_class": 2.0}, "n_train_per_class", TypeError),
    ({"n_test_per_class": -3}, "n_test_per_class", ValueError),
    ({"n_test_per_class": True}, "n_test_per_class", TypeError),
    ({"n_ood": 0}, "n_ood", ValueError),
    ({"n_ood": "10"}, "n_ood", TypeError),
    ({"dims": {"image": 5, "audio": 5}}, "dims", ValueError),
    ({"dims": {"image": 5, "audio": 5, "text": 5, "video": 5}}, "dims", ValueError),
    ({"dims": [5, 5, 5]}, "dims", TypeError),
    ({"dims": {"image": 0, "audio": 5, "text": 5}}, "dims['image']", ValueError),
    ({"dims": {"image": 5, "audio": 5.0, "text": 5}}, "dims['audio']", TypeError),
    ({"dims": {"image": 5, "audio": 5, "text": -1}}, "dims['text']", ValueError),
])
def test_invalid_arguments(kwargs, name, error):
    args = {**TINY, **kwargs}
    with pytest.raises(error, match="got") as err:
        make_synthetic(**args)
    assert str(err.value).startswith(name) and type(err.value) is error


@pytest.mark.slow
@pytest.mark.parametrize("variant, tol", [("nuisance", 0.10), ("low_snr", 0.03), ("nonlinear", 0.03)])
def test_calibration_table2_seed0(variant, tol):
    """Paper Table II protocol: ARI image 0.545 > text 0.091 > audio 0.053 (within ``tol``)."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    seed = 0
    x, y = make_synthetic(seed=seed, variant=variant)
    n_components = {"image": 50, "audio": 256, "text": 256}
    target = {"image": 0.545, "text": 0.091, "audio": 0.053}
    ari = {}
    for m in MODALITIES:
        scaler = StandardScaler().fit(x["train"][m])
        pca = PCA(n_components[m], random_state=seed).fit(scaler.transform(x["train"][m]))
        z = pca.transform(scaler.transform(x["test"][m]))
        labels = KMeans(n_clusters=42, n_init=10, random_state=0).fit_predict(z)
        ari[m] = adjusted_rand_score(y["test"], labels)
    for m in MODALITIES:
        assert abs(ari[m] - target[m]) <= tol, (m, ari)
    assert ari["image"] > ari["text"] > ari["audio"], ari


def test_the_planted_speaker_is_returned_and_changes_nothing_else():
    x, y = make_synthetic(seed=3, n_train_per_class=3, n_test_per_class=2, n_ood=8)
    x2, y2, nuisance = make_synthetic(seed=3, n_train_per_class=3, n_test_per_class=2, n_ood=8, return_nuisance=True)
    for split in x:
        np.testing.assert_array_equal(y[split], y2[split])
        for m in x[split]:
            np.testing.assert_array_equal(x[split][m], x2[split][m])
        speaker = nuisance[split]["speaker"]
        assert speaker.shape == y[split].shape and speaker.dtype == np.int64 and 0 <= speaker.min() <= speaker.max() < 30
    # the audio of two rows with the same speaker shares the speaker offset: same-speaker rows correlate more
    a, s = x["train"]["audio"], nuisance["train"]["speaker"]
    same = [np.corrcoef(a[i], a[j])[0, 1] for i in range(len(s)) for j in range(i) if s[i] == s[j]]
    other = [np.corrcoef(a[i], a[j])[0, 1] for i in range(len(s)) for j in range(i) if s[i] != s[j]]
    assert np.mean(same) > np.mean(other) + 0.1


def test_variants():
    kw = dict(seed=2, n_train_per_class=3, n_test_per_class=2, n_ood=8)
    x, y = make_synthetic(**kw)
    x0, y0 = make_synthetic(**kw, variant="nuisance")
    np.testing.assert_array_equal(x["train"]["audio"], x0["train"]["audio"])  # the default variant
    for variant in ("low_snr", "nonlinear"):
        xv, yv, nuisance = make_synthetic(**kw, variant=variant, return_nuisance=True)
        assert nuisance == {"train": {}, "test": {}, "ood": {}}  # nothing planted
        for split in x:
            np.testing.assert_array_equal(yv[split], y[split])  # same labels, other features
            assert {m: a.shape for m, a in xv[split].items()} == {m: a.shape for m, a in x[split].items()}
            assert all(a.dtype == np.float32 for a in xv[split].values())
        assert not np.allclose(xv["train"]["image"], x["train"]["image"])
    with pytest.raises(ValueError, match="variant must be one of .*'low_snr'.*got 'noisy'"):
        make_synthetic(**kw, variant="noisy")


def test_nonlinear_variant_lies_near_its_class_code_manifold():
    """Rows of one class share a class code: the network's output (before the 0.1 noise) lies in
    the image of the NL_RANK-D code, so the centred rows have NL_RANK large singular values only."""
    from mmae.data.synthetic import NL_NOISE, NL_RANK

    x, y = make_synthetic(seed=0, n_train_per_class=200, n_test_per_class=1, n_ood=8,
                          dims={"image": 50, "audio": 64, "text": 64}, variant="nonlinear")
    a = x["train"]["audio"][y["train"] == 0]
    s = np.linalg.svd(a - a.mean(0), compute_uv=False) / np.sqrt(len(a))
    assert s[NL_RANK - 1] > 3 * NL_NOISE  # the code's directions
    assert s[-1] < 1.5 * NL_NOISE  # the rest is the isotropic noise (a nonlinear map of 16 dims spreads little further)
