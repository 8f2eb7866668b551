"""A modality may be stored pooled, as its distinct rows plus a per-row index: it loads back to
exactly the array the plain form gives, and every malformed pair is refused naming the file."""
import numpy as np
import pytest

from mmae.data import Features, bundle_modalities, load_bundle, save_bundle


@pytest.fixture
def repeated(tiny):
    """``tiny`` whose audio rows repeat 3 distinct vectors per split (one with -0.0, one with +0.0)."""
    x = {}
    for s, a in tiny.x.items():
        pool = a["audio"][:3].copy()
        pool[0, 0], pool[1, 0] = -0.0, 0.0
        x[s] = {**a, "audio": pool[np.arange(len(tiny.y[s])) % 3]}
    return Features(x, tiny.y, "repeated", False)


@pytest.fixture
def pooled(repeated, tmp_path):
    return save_bundle(repeated, tmp_path / "pooled", pooled=("audio",))


def test_pooled_round_trip(repeated, pooled):
    loaded = load_bundle(pooled)
    assert loaded.modalities == ("image", "audio", "text")
    for s in repeated.splits:
        for m in repeated.modalities:
            assert np.array_equal(loaded.x[s][m], repeated.x[s][m]) and loaded.x[s][m].dtype == np.float32
        assert not (pooled / f"{s}_audio.npy").exists()
        pool, index = np.load(pooled / f"{s}_audio.pool.npy"), np.load(pooled / f"{s}_audio.index.npy")
        assert pool.shape == (3, 10) and pool.dtype == np.float32  # -0.0 and 0.0 rows stay distinct
        assert index.shape == (len(repeated.y[s]),) and index.dtype == np.int64
    assert loaded.fingerprint() == repeated.fingerprint()  # bit for bit, signed zeros included


def test_pooled_and_plain_load_identically(tiny, tmp_path):
    plain = load_bundle(save_bundle(tiny, tmp_path / "plain"))
    pooled = load_bundle(save_bundle(tiny, tmp_path / "pooled", pooled=("image", "text")))
    assert np.load(tmp_path / "pooled" / "train_image.pool.npy").shape == (168, 6)  # all rows distinct
    assert pooled.fingerprint() == plain.fingerprint()
    for s in tiny.splits:
        for m in tiny.modalities:
            assert np.array_equal(pooled.x[s][m], plain.x[s][m])


def test_bundle_modalities_lists_a_pooled_only_modality(repeated, tmp_path):
    x = {s: {"image": a["image"], "clips": a["audio"]} for s, a in repeated.x.items()}
    folder = save_bundle(Features(x, repeated.y, "clips", False), tmp_path / "clips", pooled=("clips",))
    assert not list(folder.glob("train_clips.npy"))
    assert bundle_modalities(folder) == ("image", "clips")
    assert load_bundle(folder).modalities == ("image", "clips")


def test_save_bundle_manifest_lists_the_pooled_files_and_switching_form_removes_the_other(repeated, tmp_path):
    folder = save_bundle(repeated, tmp_path / "b", pooled=("audio",), manifest=True)
    assert {"test_audio.pool.npy", "test_audio.index.npy"} <= set(load_bundle(folder).info["manifest"]["files"])
    save_bundle(repeated, folder, manifest=True)  # plain again: the pooled pair goes
    assert not list(folder.glob("*.pool.npy")) + list(folder.glob("*.index.npy"))
    assert np.array_equal(load_bundle(folder).x["ood"]["audio"], repeated.x["ood"]["audio"])


def test_unknown_pooled_modality(tiny, tmp_path):
    with pytest.raises(ValueError, match=r"pooled must name modalities of the features \(\['image', 'audio', "
                                         r"'text'\]\), got \['video'\]"):
        save_bundle(tiny, tmp_path / "b", pooled=("audio", "video"))
    assert not (tmp_path / "b").exists()


# ------------------------------------------------------------------------------------------ errors
def test_both_forms_present(pooled):
    np.save(pooled / "test_audio.npy", np.zeros((84, 10), dtype=np.float32))
    with pytest.raises(ValueError, match=r"pooled/test_audio.npy and test_audio.pool.npy and test_audio.index.npy: "
                                         r"modality 'audio' of split 'test' must be stored in one form, plain "
                                         r"\(test_audio.npy\) or pooled \(test_audio.pool.npy \+ test_audio.index.npy\), "
                                         r"got both"):
        load_bundle(pooled)


@pytest.mark.parametrize("gone, kept", [("pool", "index"), ("index", "pool")])
def test_half_a_pooled_pair(pooled, gone, kept):
    (pooled / f"ood_audio.{gone}.npy").unlink()
    with pytest.raises(FileNotFoundError, match=rf"pooled/ood_audio.{gone}.npy is missing \(the pooled form of modality "
                                                rf"'audio', split 'ood', needs it beside ood_audio.{kept}.npy\)"):
        load_bundle(pooled)


@pytest.mark.parametrize("name, array, message", [
    ("train_audio.pool.npy", np.ones((3, 10), dtype=np.int32),
     r"train_audio.pool.npy: audio pool must have a float dtype, got int32"),
    ("train_audio.pool.npy", np.ones(10, dtype=np.float32), r"train_audio.pool.npy: audio pool must be 2-D, got shape \(10,\)"),
    ("train_audio.pool.npy", np.ones((0, 10), dtype=np.float32),
     r"train_audio.pool.npy: audio pool must have at least 1 row, got shape \(0, 10\)"),
    ("train_audio.pool.npy", np.ones((3, 0), dtype=np.float32),
     r"train_audio.pool.npy: audio pool must have at least 1 column, got shape \(3, 0\)"),
    ("train_audio.pool.npy", np.array([[1.0, np.nan], [np.inf, 0.0]], dtype=np.float32),
     r"train_audio.pool.npy: audio pool must be finite, got 2 NaN/inf values"),
    ("test_audio.pool.npy", np.ones((3, 9), dtype=np.float32), r"test_audio.pool.npy: audio pool must have 10 columns, got 9"),
    ("train_audio.index.npy", np.zeros(168, dtype=np.float64),
     r"train_audio.index.npy: audio pool index must have an integer dtype, got float64"),
    ("train_audio.index.npy", np.zeros((168, 1), dtype=np.int64),
     r"train_audio.index.npy: audio pool index must be 1-D, got shape \(168, 1\)"),
    ("train_audio.index.npy", np.zeros(167, dtype=np.int64),
     r"train_audio.index.npy: audio pool index has 167 rows, expected 168 \(the rows of train_labels.npy\)"),
    ("test_audio.index.npy", np.r_[0, 1, 2, 3, -1, 7, np.zeros(78)].astype(np.int64),
     r"test_audio.index.npy: audio pool index must be rows of test_audio.pool.npy \(0..2\), got 3 at row 3"),
    ("test_audio.index.npy", np.r_[np.zeros(5), -1, np.zeros(78)].astype(np.int16),
     r"test_audio.index.npy: audio pool index must be rows of test_audio.pool.npy \(0..2\), got -1 at row 5"),
    ("ood_audio.index.npy", np.where(np.arange(16) == 10, np.iinfo(np.uint64).max, 0).astype(np.uint64),  # not -1
     r"ood_audio.index.npy: audio pool index must be rows of ood_audio.pool.npy \(0..2\), got 18446744073709551615 at row 10"),
], ids=["int-pool", "1d-pool", "no-rows", "no-columns", "non-finite", "wrong-dim", "float-index", "2d-index",
        "short-index", "index-too-big", "negative-index", "uint64-index"])
def test_invalid_pooled_arrays(pooled, name, array, message):
    np.save(pooled / name, array)
    with pytest.raises(ValueError, match=message):
        load_bundle(pooled)


def test_dims_apply_to_the_pool_columns(pooled):
    with pytest.raises(ValueError, match=r"pooled/train_audio.pool.npy: audio pool must have 1024 columns, got 10"):
        load_bundle(pooled, dims={"audio": 1024})
    assert load_bundle(pooled, dims={"audio": 10}).dims["audio"] == 10
