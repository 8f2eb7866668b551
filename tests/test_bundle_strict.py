"""Hostile bundles are refused early: every error a ValueError (or FileNotFoundError) naming the
file, what was expected and what was found; nothing outside the folder or not a regular file is read."""
import json
import os
import threading

import numpy as np
import pytest

from mmae.data import Features, load_bundle, load_features, save_bundle, sha256_file, verify_manifest
from mmae.data.sets import REAL_NAME
from mmae.media import BUNDLE50_DIR


@pytest.fixture
def bundle(tiny, tmp_path):
    return save_bundle(tiny, tmp_path / "bundle")


def write_manifest(folder, files=None):
    """A manifest listing ``files`` (default: every .npy of the folder with its real sha256)."""
    (folder / "manifest.json").write_text(json.dumps({"files": listing(folder) if files is None else files}))


def listing(folder, **more):
    """Every .npy of ``folder`` with its sha256, and ``more``."""
    return {**{f.name: {"sha256": sha256_file(f)} for f in sorted(folder.glob("*.npy"))}, **more}


ZEROS = {"sha256": "0" * 64}


# ---------------------------------------------------------------------------------------- manifests
def run_with_timeout(call, seconds=10):
    """The exception ``call()`` raises, failing the test if it is still running after ``seconds``."""
    outcome = {}

    def target():
        try:
            call()
        except Exception as e:  # noqa: BLE001 (returned to the test)
            outcome["error"] = e

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{call} still running after {seconds} s"
    return outcome.get("error")


def test_dev_zero_listed_in_the_manifest_is_refused_without_reading_it(bundle):
    write_manifest(bundle, listing(bundle, **{"/dev/zero": ZEROS}))
    error = run_with_timeout(lambda: load_bundle(bundle))
    assert isinstance(error, ValueError) and str(error) == (
        f"'/dev/zero' (listed in {bundle / 'manifest.json'}): must be a path relative to the bundle folder, "
        "got an absolute path")
    (bundle / "zero").symlink_to("/dev/zero")  # a relative name for it: resolves outside the folder
    write_manifest(bundle, listing(bundle, zero=ZEROS))
    error = run_with_timeout(lambda: load_bundle(bundle))
    assert isinstance(error, ValueError) and "zero (listed in" in str(error) and "must resolve inside" in str(error)
    error = run_with_timeout(lambda: sha256_file("/dev/zero"))
    assert isinstance(error, ValueError) and str(error) == "/dev/zero: must be a regular file, got a character device"


def test_a_device_reached_by_a_relative_name_is_not_a_regular_file(bundle, tmp_path):
    os.mkfifo(bundle / "pipe")  # a FIFO would block an open() forever
    write_manifest(bundle, listing(bundle, pipe=ZEROS))
    with pytest.raises(ValueError, match=r"bundle/pipe \(listed in .*manifest.json\): must be a regular file, got a FIFO"):
        load_bundle(bundle)


def test_parent_path_is_refused(bundle, tmp_path):
    np.save(tmp_path / "outside.npy", np.zeros(3))
    write_manifest(bundle, listing(bundle, **{"../outside.npy": ZEROS}))
    with pytest.raises(ValueError, match=r"'\.\./outside\.npy' \(listed in .*manifest.json\): must be a path inside "
                                         r"the bundle folder, got one that leaves it"):
        load_bundle(bundle)


def test_absolute_path_is_refused(bundle, tmp_path):
    np.save(tmp_path / "outside.npy", np.zeros(3))
    write_manifest(bundle, listing(bundle, **{str(tmp_path / "outside.npy"): ZEROS}))
    with pytest.raises(ValueError, match=r"outside.npy' \(listed in .*manifest.json\): must be a path relative to "
                                         r"the bundle folder, got an absolute path"):
        load_bundle(bundle)


def test_symlink_to_outside_is_refused(bundle, tmp_path):
    np.save(tmp_path / "outside.npy", np.zeros(3))
    (bundle / "link.csv").symlink_to(tmp_path / "outside.npy")
    write_manifest(bundle, listing(bundle, **{"link.csv": ZEROS}))
    with pytest.raises(ValueError, match=r"bundle/link.csv \(listed in .*manifest.json\): must resolve inside the "
                                         r"bundle folder .*bundle, got .*outside.npy"):
        load_bundle(bundle)


def test_symlink_inside_is_not_a_regular_file(bundle):
    (bundle / "link.csv").symlink_to(bundle / "train_labels.npy")
    write_manifest(bundle, listing(bundle, **{"link.csv": ZEROS}))
    with pytest.raises(ValueError, match=r"bundle/link.csv \(listed in .*\): must be a regular file, got a symbolic link"):
        load_bundle(bundle)


@pytest.mark.parametrize("content, message", [
    ("{not json", r"manifest.json: must be a JSON object, got text that is not valid JSON \(Expecting property name"),
    ("[1, 2]", r"manifest.json: must be a JSON object, got a JSON list"),
    ('{"name": "x"}', r"manifest.json: 'files' must be an object mapping each file's relative path to "
                      r"\{\"sha256\": <64 hex digits>\}, got nothing"),
])
def test_manifest_of_the_wrong_shape(bundle, content, message):
    (bundle / "manifest.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        verify_manifest(bundle)
    with pytest.raises(ValueError, match=message):
        load_bundle(bundle)


def test_manifest_entry_without_sha256(bundle):
    write_manifest(bundle, listing(bundle, **{"train_labels.npy": {"bytes": 10}}))
    with pytest.raises(ValueError, match=r"manifest.json: files\['train_labels.npy'\] must be an object with a "
                                         r"'sha256' of 64 hex digits, got \{'bytes': 10\}"):
        load_bundle(bundle)


def test_unlisted_npy_file(bundle):
    files = listing(bundle)
    del files["ood_text.npy"]
    write_manifest(bundle, files)
    with pytest.raises(ValueError, match=r"bundle/ood_text.npy: not listed in manifest.json: a bundle with a "
                                         r"manifest must list every .npy file"):
        load_bundle(bundle)


def test_hash_mismatch_keeps_its_message(bundle):
    write_manifest(bundle)
    np.save(bundle / "test_labels.npy", np.load(bundle / "test_labels.npy")[::-1])
    want = json.loads((bundle / "manifest.json").read_text())["files"]["test_labels.npy"]["sha256"]
    with pytest.raises(ValueError, match=rf"test_labels.npy: sha256 must be {want} \(from manifest.json\), got "
                                         r"[0-9a-f]{64}: the file changed after the bundle was written"):
        load_bundle(bundle)


# ------------------------------------------------------------------------------------------- labels
def _set_labels(bundle, split: str, rows, values, dtype=None) -> None:
    y = np.load(bundle / f"{split}_labels.npy")
    y = y.astype(dtype) if dtype else y
    y[rows] = values
    np.save(bundle / f"{split}_labels.npy", y)


@pytest.mark.parametrize("split, rows, values, dtype, message", [
    # uint64's largest value: int64 would read it as -1
    ("train", 3, np.iinfo(np.uint64).max, np.uint64,
     r"train_labels.npy: labels must be below 2\*\*31 = 2147483648 \(a class id, not a corrupt value\), got "
     r"18446744073709551615 at row 3"),
    ("ood", 0, 10 ** 12, None, r"ood_labels.npy: labels must be below 2\*\*31 = 2147483648 .*got 1000000000000 at row 0"),
    ("test", 5, -1, None, r"test_labels.npy: labels must be non-negative integers, got -1 at row 5"),
    ("test", 0, 45, None, r"test_labels.npy: labels must be classes of train_labels.npy \(0..41\), got 1 others: \[45\]"),
    ("ood", slice(0, 2), [3, 7], None, r"ood_labels.npy: out-of-distribution labels must not be in-distribution "
                                       r"classes \(0..41\), got 2 that are: \[3, 7\]"),
], ids=["uint64-wrap", "absurd", "negative", "test-not-in-train", "ood-overlaps-id"])
def test_bad_labels(bundle, split, rows, values, dtype, message):
    _set_labels(bundle, split, rows, values, dtype)
    with pytest.raises(ValueError, match=message):
        load_bundle(bundle)


def test_non_contiguous_id_labels(tiny, tmp_path):
    y = {s: 2 * (v % 2) for s, v in tiny.y.items() if s != "ood"}  # classes {0, 2}
    x = {s: a for s, a in tiny.x.items() if s != "ood"}
    folder = save_bundle(Features(x, y, "gap", False), tmp_path / "gap")
    with pytest.raises(ValueError, match=r"train_labels.npy: in-distribution labels must be exactly 0..k-1 \(every "
                                         r"class present\), got 2 classes from 0 to 2 \(label 1 is missing\)"):
        load_bundle(folder)


def test_negative_nuisance_label(tiny, tmp_path):
    nuisance = {s: {"speaker": np.arange(len(v)) % 3 - (s == "test")} for s, v in tiny.y.items()}
    folder = save_bundle(Features(tiny.x, tiny.y, "n", False, nuisance=nuisance), tmp_path / "n")
    with pytest.raises(ValueError, match=r"test_nuisance_speaker.npy: nuisance labels must be non-negative integers, "
                                         r"got -1 at row 0"):
        load_bundle(folder)


# --------------------------------------------------------------------------------- splits, features
def test_empty_split(bundle):
    np.save(bundle / "test_labels.npy", np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match=r"test_labels.npy: split 'test' must have at least 1 row, got 0 \(an empty split\)"):
        load_bundle(bundle)


def test_float64_beyond_float32(bundle):
    a = np.load(bundle / "test_audio.npy").astype(np.float64)
    a[2, 3] = 1e39
    np.save(bundle / "test_audio.npy", a)
    with pytest.raises(ValueError, match=r"test_audio.npy: audio features must fit in float32 \(\|x\| <= 3.402823e\+38\), "
                                         r"got 1 values beyond it \(largest \|x\| 1e\+39\)"):
        load_bundle(bundle)


def test_nan(bundle):
    a = np.load(bundle / "train_text.npy")
    a[0, 0] = np.nan
    np.save(bundle / "train_text.npy", a)
    with pytest.raises(ValueError, match=r"train_text.npy: text features must be finite, got 1 NaN/inf values"):
        load_bundle(bundle)


def test_truncated_npy_is_named(bundle):
    f = bundle / "train_image.npy"
    f.write_bytes(f.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"bundle/train_image.npy: not a readable .npy array \(its header says "
                                         r"\(168, 6\) float32, 4032 bytes of data, but only 72 follow: the file is truncated\)"):
        load_bundle(bundle)


def test_corrupt_npy_is_named(bundle):
    (bundle / "test_text.npy").write_bytes(b"not an array at all")
    with pytest.raises(ValueError, match=r"bundle/test_text.npy: not a readable .npy array \(the magic string is not correct"):
        load_bundle(bundle)


# ------------------------------------------------------------------------------------ what still loads
def test_committed_real_bundle_still_loads():
    f = load_features("real", environ=False)
    assert f.name == REAL_NAME and f.splits == ("train", "test", "ood") and f.n_classes == 42
    assert verify_manifest(BUNDLE50_DIR) == f.info["manifest"]


def test_save_bundle_round_trips_with_its_manifest(tiny, tmp_path):
    nuisance = {s: {"speaker": np.arange(len(v)) % 3} for s, v in tiny.y.items()}
    folder = save_bundle(Features(tiny.x, tiny.y, "tiny", False, nuisance=nuisance), tmp_path / "b", manifest=True)
    assert not list(folder.glob(".*.tmp"))  # atomic writes leave no temporary files
    loaded = load_bundle(folder)
    assert loaded.name == "tiny" and loaded.fingerprint() == tiny.fingerprint()
    assert set(loaded.info["manifest"]["files"]) == {f.name for f in folder.glob("*.npy")}
    np.testing.assert_array_equal(loaded.nuisance["ood"]["speaker"], nuisance["ood"]["speaker"])
    with pytest.raises(ValueError, match=r"b/manifest.json: would no longer match the files written; remove it, "
                                         r"or pass manifest=True to rewrite it"):
        save_bundle(tiny, folder)


# ------------------------------------------------------------------- data the protocol cannot use
def small_bundle(tmp_path, per_class=(4, 2), classes=3, constant=None, nuisance=("train", "test")):
    """A bundle of ``classes`` classes with ``per_class`` (train, test) rows each; ``constant``: a
    modality whose every row is the same; ``nuisance``: the splits given speaker labels."""
    rng = np.random.default_rng(0)
    x, y, nu = {}, {}, {}
    for split, n in zip(("train", "test"), per_class):
        y[split] = np.repeat(np.arange(classes), n)
        x[split] = {"image": rng.normal(size=(len(y[split]), 3)).astype(np.float32),
                    "text": rng.normal(size=(len(y[split]), 2)).astype(np.float32)}
        if constant:
            x[split][constant] = np.ones_like(x[split][constant])
        if split in nuisance:
            nu[split] = {"speaker": np.arange(len(y[split])) % 2}
    return save_bundle(Features(x, y, "small", False, nuisance=nu), tmp_path / "b")


def test_a_class_with_one_row_is_refused(tmp_path):
    """One row per class ran to the end with ARI 0 everywhere and a NaN paper table."""
    with pytest.raises(ValueError, match=r"b/test_labels.npy: every class needs at least 2 rows in test .* got "
                                         r"class 0: 1, class 1: 1, class 2: 1$"):
        load_bundle(small_bundle(tmp_path, per_class=(4, 1)))


def test_a_test_split_without_a_class_of_train_is_refused(tmp_path):
    folder = small_bundle(tmp_path)
    y = np.load(folder / "test_labels.npy")
    np.save(folder / "test_labels.npy", np.where(y == 2, 1, y))  # class 2 gone from test
    with pytest.raises(ValueError, match=r"b/test_labels.npy: the test split must hold every class of "
                                         r"train_labels.npy, got none of classes \[2\]"):
        load_bundle(folder)


def test_a_constant_modality_is_named_loudly(tmp_path):
    """A dead extractor (every row the same) made chapter 1 call that modality the best."""
    with pytest.warns(UserWarning, match=r"b/train_image.npy: the image features are constant \(every row the same\): "
                                         "this modality carries no information"):
        f = load_bundle(small_bundle(tmp_path, constant="image"))
    assert f.modalities == ("image", "text")


def test_nuisance_labels_of_some_splits_only_are_named(tmp_path):
    with pytest.warns(UserWarning, match=r"nuisance labels 'speaker' are given for \['train'\] but not for \['test'\] "
                                         r"\(no test_nuisance_speaker.npy\): the chapters that use them skip them"):
        load_bundle(small_bundle(tmp_path, nuisance=("train",)))
