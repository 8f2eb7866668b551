import numpy as np
import pytest

from mmae.data import (DEFAULT_DIMS, REAL_NAME, Features, bundle_modalities, load_bundle, load_features,
                       save_bundle, standardize)
from mmae.report.tables import banner, summary_table
from mmae.study.information import within_class_alignment


@pytest.fixture
def bundle(tiny, tmp_path):
    return save_bundle(tiny, tmp_path / "bundle")


def test_bundle_round_trip(tiny, bundle):
    loaded = load_bundle(bundle, dims=None)
    assert loaded.splits == ("train", "test", "ood") and not loaded.synthetic
    for s in tiny.splits:
        np.testing.assert_array_equal(loaded.y[s], tiny.y[s])
        for m in tiny.modalities:
            np.testing.assert_array_equal(loaded.x[s][m], tiny.x[s][m])
    assert loaded.fingerprint() == tiny.fingerprint()


def test_ood_is_optional(bundle):
    for f in bundle.glob("ood_*.npy"):
        f.unlink()
    assert load_bundle(bundle, dims=None).splits == ("train", "test")


def test_dims_are_enforced_when_given(bundle):
    with pytest.raises(ValueError, match=r"train_image.npy: image features must have 50 columns, got 6"):
        load_bundle(bundle, dims=DEFAULT_DIMS)
    assert load_bundle(bundle).dims == {"image": 6, "audio": 10, "text": 8}  # any dims by default


def test_modalities_are_read_from_the_bundle(tiny, tmp_path):
    x = {s: {"zeta": a["audio"], "image": a["image"], "alpha": a["text"]} for s, a in tiny.x.items()}
    folder = save_bundle(Features(x, tiny.y, "named", False), tmp_path / "named")
    assert bundle_modalities(folder) == ("image", "alpha", "zeta")  # LUMA's first, then by name
    two = load_bundle(folder, modalities=("zeta", "alpha"))
    assert two.modalities == ("zeta", "alpha") and two.dims == {"zeta": 10, "alpha": 8}


def test_fewer_than_two_modalities_or_classes(tiny, tmp_path):
    one = save_bundle(Features({s: {"image": a["image"]} for s, a in tiny.x.items()}, tiny.y, "one", False),
                      tmp_path / "one")
    with pytest.raises(ValueError, match=r"a bundle needs at least 2 modalities .*got 1: \['image'\]"):
        load_bundle(one)
    y = {s: np.zeros_like(v) for s, v in tiny.y.items()}
    single = save_bundle(Features(tiny.x, y, "single", False), tmp_path / "single")
    with pytest.raises(ValueError, match=r"train_labels.npy: labels must hold at least 2 classes, got 1"):
        load_bundle(single)


def test_nuisance_labels_round_trip(tiny, tmp_path):
    nuisance = {s: {"speaker": np.arange(len(v)) % 3} for s, v in tiny.y.items()}
    folder = save_bundle(Features(tiny.x, tiny.y, "n", False, nuisance=nuisance), tmp_path / "n")
    loaded = load_bundle(folder)
    assert loaded.modalities == ("image", "audio", "text")  # nuisance files are not modalities
    np.testing.assert_array_equal(loaded.nuisance["test"]["speaker"], nuisance["test"]["speaker"])
    np.testing.assert_array_equal(standardize(loaded).nuisance["train"]["speaker"], nuisance["train"]["speaker"])
    np.save(folder / "test_nuisance_speaker.npy", np.arange(5))
    with pytest.raises(ValueError, match=r"test_nuisance_speaker.npy: nuisance labels have 5 rows, expected 84"):
        load_bundle(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="feature bundle folder .*nope does not exist"):
        load_bundle(tmp_path / "nope")


def test_missing_labels(bundle):
    (bundle / "test_labels.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_labels.npy is missing \(required for split 'test'\)"):
        load_bundle(bundle, dims=None)


def test_missing_modality(bundle):
    (bundle / "test_audio.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"test_audio.npy is missing \(modality 'audio', split 'test'\)"):
        load_bundle(bundle, dims=None)


@pytest.mark.parametrize("name, array, message", [
    ("train_text.npy", np.ones((168, 8), dtype=np.int32), r"train_text.npy: text features must have a float dtype, got int32"),
    ("train_text.npy", np.ones(168, dtype=np.float32), r"train_text.npy: text features must be 2-D, got shape \(168,\)"),
    ("train_text.npy", np.ones((167, 8), dtype=np.float32), r"train_text.npy: text features have 167 rows, expected 168 \(the rows of train_labels.npy\)"),
    ("test_text.npy", np.ones((84, 9), dtype=np.float32), r"test_text.npy: text features must have 8 columns, got 9"),
    ("train_labels.npy", np.zeros(168, dtype=np.float64), r"train_labels.npy: labels must have an integer dtype, got float64"),
    ("train_labels.npy", np.zeros((168, 1), dtype=np.int64), r"train_labels.npy: labels must be 1-D, got shape \(168, 1\)"),
])
def test_invalid_arrays(bundle, name, array, message):
    np.save(bundle / name, array)
    with pytest.raises(ValueError, match=message):
        load_bundle(bundle, dims=None)


def test_non_finite_values(bundle):
    a = np.load(bundle / "test_image.npy")
    a[0, 0], a[1, 1] = np.nan, np.inf
    np.save(bundle / "test_image.npy", a)
    with pytest.raises(ValueError, match=r"test_image.npy: image features must be finite, got 2 NaN/inf values"):
        load_bundle(bundle, dims=None)


def test_pickled_objects_are_refused(bundle):
    np.save(bundle / "train_image.npy", np.array([{"a": 1}] * 168, dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle=False"):
        load_bundle(bundle, dims=None)


def test_standardize_fits_on_train_only(tiny):
    s = standardize(tiny)
    a = s.x["train"]["audio"]
    np.testing.assert_allclose(a.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(a.std(0), 1, atol=1e-4)
    raw = tiny.x["train"]["audio"].astype(np.float64)
    expected = (tiny.x["test"]["audio"] - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(s.x["test"]["audio"], expected, rtol=1e-4, atol=1e-5)
    assert s.standardized and standardize(s) is s and s.fingerprint() != tiny.fingerprint()


def test_standardize_constant_column():
    x = {s: {"image": np.c_[np.ones(4), np.arange(4.0)].astype(np.float32)} for s in ("train", "test")}
    y = {s: np.arange(4) for s in ("train", "test")}
    out = standardize(Features(x, y, "const", False))
    np.testing.assert_array_equal(out.x["test"]["image"][:, 0], 0)


def test_load_features_entry_point(bundle):
    synthetic = load_features("synthetic", seed=1)
    assert synthetic.synthetic and synthetic.name == "synthetic LUMA-shaped (seed 1)"
    assert synthetic.dims == {"image": 50, "audio": 1024, "text": 768}
    assert {s: len(v) for s, v in synthetic.y.items()} == {"train": 21000, "test": 4200, "ood": 3859}
    real = load_features(bundle, dims=None)
    assert not real.synthetic and real.name == str(bundle)
    low = load_features("synthetic:low_snr", seed=1)
    assert low.name == "synthetic LUMA-shaped, low_snr variant (seed 1)" and low.nuisance["test"] == {}
    np.testing.assert_array_equal(low.y["test"], synthetic.y["test"])
    assert load_features("synthetic:nuisance", seed=1).fingerprint() == synthetic.fingerprint()
    with pytest.raises(ValueError, match="data: unknown synthetic variant 'loud'; expected one of 'synthetic:nuisance', "
                                         "'synthetic:low_snr', 'synthetic:nonlinear'"):
        load_features("synthetic:loud")


def test_banner_and_summary_table(tiny, bundle):
    assert "not** a reproduction of the paper" in banner(tiny)
    assert banner(load_bundle(bundle, dims=None)) == (
        f"**Data: {bundle}** (42 in-distribution classes, modalities image 6-D, audio 10-D, text 8-D, "
        "8 OOD classes). These are not LUMA: numbers computed on them test whether the paper's claims "
        "hold on other media, and are never a reproduction of its tables.")
    t = summary_table(tiny)
    assert list(t.columns) == ["split", "modality", "rows", "dim", "classes", "mean", "std"]
    assert t.set_index(["split", "modality"]).loc[("train", "audio"), "rows"] == 168


def test_within_class_alignment_detects_instance_pairing():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 200)
    shared = 3 * rng.standard_normal((800, 3))  # a strong instance-level factor both modalities carry
    x = {"train": {"image": np.c_[shared, rng.standard_normal((800, 3))].astype(np.float32),
                   "text": np.c_[shared @ rng.standard_normal((3, 3)), rng.standard_normal((800, 5))].astype(np.float32)}}
    t = within_class_alignment(Features(x, {"train": y}, "paired", False), n_components=3)
    assert t.loc[0, "pair"] == "image-text"
    assert t.loc[0, "as paired"] > 0.99 and t.loc[0, "re-paired within class"] < 0.3


def test_mmae_data_env_replaces_only_the_default(bundle, monkeypatch):
    monkeypatch.setenv("MMAE_DATA", str(bundle))
    assert load_features(dims=None).name == str(bundle) == load_features("real").name
    assert load_features("synthetic").synthetic  # an explicit choice wins
    assert load_features("real", environ=False).name == REAL_NAME  # the committed set, whatever MMAE_DATA says
    other = save_bundle(load_bundle(bundle, dims=None), bundle.parent / "other")
    assert load_features(other, dims=None).name == str(other)  # an explicit path wins
