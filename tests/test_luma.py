"""mmae.luma: LUMA's tables, split files and triplets, the bundle and its manifest, download, CLI.

Everything runs on tiny LUMA-layout copies the tests write (``write_fixture``): the real LUMA and
the pretrained weights cannot be reached from CI.
"""
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmae import luma
from mmae.luma import fetch
from mmae.data import load_bundle, load_features, sha256_file

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN, N_TEST, N_OOD = 2, 2, 2  # write_fixture's defaults (2 test rows a class: the protocol needs 2)
FAST = luma.ExtractConfig(image_size=32, finetune_epochs=2, head_epochs=1, text_max_length=32,
                          batch_size=16, chunk_size=40, device="cpu")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    return luma.write_fixture(tmp_path_factory.mktemp("luma"))


@pytest.fixture(scope="module")
def tables(fixture_dir):
    return luma.read_luma(fixture_dir)


@pytest.fixture(scope="module")
def bundle(fixture_dir, tmp_path_factory):
    from mmae.luma import extract

    return luma.build_bundle(fixture_dir, tmp_path_factory.mktemp("bundle"), FAST,
                             extract.tiny_models(seed=0), progress=False)


def copy_fixture(fixture_dir, tmp_path):
    return Path(shutil.copytree(fixture_dir, tmp_path / "luma"))


# ---------------------------------------------------------------------------------------- tables
def test_classes_are_lumas():
    assert len(luma.LUMA_CLASSES) == 50 and len(set(luma.LUMA_CLASSES)) == 50
    assert luma.LUMA_CLASSES[:3] == ("man", "boy", "house") and luma.LUMA_CLASSES[41] == "ray"
    assert luma.LUMA_CLASSES[luma.N_ID:] == ("bicycle", "truck", "elephant", "roses", "wolf", "telephone",
                                             "bee", "whale")


def test_read_luma_counts(tables):
    for split, n in (("train", 42 * N_TRAIN), ("test", 42 * N_TEST)):
        for m in ("image", "audio", "text"):
            assert len(tables[split][m]) == n
            assert tables[split][m]["label"].value_counts().tolist() == [n // 42] * 42
    assert len(tables["ood"]["audio"]) == len(tables["ood"]["text"]) == 8 * N_OOD
    # images of OOD classes: every CIFAR train row (3 per class; truck in CIFAR-10 and as CIFAR-100's
    # pickup_truck) and one EDM image per class
    assert len(tables["ood"]["image"]) == 8 * (N_TRAIN + 2) + (N_TRAIN + 1)
    assert set(tables["ood"]["image"]["label"]) == set(luma.LUMA_CLASSES[luma.N_ID:])


def test_image_tables_rename_and_filter(fixture_dir):
    train, test = luma.image_tables(fixture_dir)
    assert "fish" in set(train["label"]) and "aquarium_fish" not in set(train["label"])
    assert "apple" not in set(train["label"])  # not one of LUMA's classes
    assert (train["label"] == "truck").sum() == 2 * (N_TRAIN + 1) + 1  # CIFAR-10, CIFAR-100, EDM
    assert set(test["label"]) == set(luma.LUMA_CLASSES[:luma.N_ID])  # LUMA keeps ID test rows
    assert train.index.tolist() == list(range(len(train)))
    assert train["image"].iloc[0].shape == (32, 32, 3) and train["image"].iloc[0].dtype == np.uint8
    assert set(train["source"]) == {"cifar10", "cifar100", "synthetic100"}


def test_image_pickles_are_read_as_is(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    train, test = luma.image_tables(root)
    train.to_pickle(root / "image_data.pickle")
    test.to_pickle(root / "image_data_test.pickle")
    shutil.rmtree(root / "cifar-10-batches-py")  # LUMA's pickles replace CIFAR and EDM
    (root / "edm_images.pickle").unlink()
    train2, test2 = luma.image_tables(root)
    pd.testing.assert_frame_equal(train2, train)
    pd.testing.assert_frame_equal(test2, test)


def test_triplets_draw_like_lumas_align_data(tables):
    """LUMA: np.random.seed(42); per class: audio, text, image .sample(frac=1); OOD .sample(k)."""
    trip = luma.make_triplets(tables, seed=42)
    np.random.seed(42)
    for split in ("train", "test", "ood"):
        classes = luma.LUMA_CLASSES[:luma.N_ID] if split != "ood" else luma.LUMA_CLASSES[luma.N_ID:]
        for name in classes:
            frames = {m: tables[split][m][tables[split][m]["label"] == name] for m in ("audio", "text", "image")}
            k = min(len(f) for f in frames.values())
            rows = trip[(trip["split"] == split) & (trip["class"] == name)]
            for m, f in frames.items():
                drawn = f.sample(frac=1) if split != "ood" else f.sample(k)
                assert rows[f"{m}_row"].tolist() == drawn.index.tolist(), (split, name, m)


def test_triplets_share_only_the_class(tables):
    trip = luma.make_triplets(tables, seed=42)
    assert luma.split_counts(trip).to_dict("index") == {
        "train": {"triplets": 84, "classes": 42, "per class (min)": 2, "per class (max)": 2},
        "test": {"triplets": 84, "classes": 42, "per class (min)": 2, "per class (max)": 2},
        "ood": {"triplets": 16, "classes": 8, "per class (min)": 2, "per class (max)": 2}}
    for split in ("train", "test", "ood"):
        rows = trip[trip["split"] == split]
        for m in ("image", "audio", "text"):
            names = tables[split][m].loc[rows[f"{m}_row"], "label"].to_numpy()
            assert (names == rows["class"].to_numpy()).all()
            assert rows[f"{m}_row"].is_unique
    assert (trip["label"] == trip["class"].map(luma.CLASS_ID)).all()
    pd.testing.assert_frame_equal(trip, luma.make_triplets(tables, seed=42))
    assert not trip.equals(luma.make_triplets(tables, seed=1))


# ---------------------------------------------------------------------------------------- errors
def test_missing_table_names_download(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    (root / "text_data.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"text_data.tsv is missing .*mmae.luma download"):
        luma.read_luma(root)


def test_missing_split_file(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    (root / "split_indices" / "audio_test.txt").unlink()
    with pytest.raises(FileNotFoundError, match="audio_test.txt is missing"):
        luma.read_luma(root)


def test_split_file_row_not_in_table(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    np.savetxt(root / "split_indices" / "text_test.txt", [0, 99999], fmt="%d")
    with pytest.raises(ValueError, match=r"text_test.txt: 1 row ids are not in the text table \(first \[99999\]"):
        luma.read_luma(root)


def test_split_file_with_ood_class(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    audio = pd.read_csv(root / "audio" / "datalist.csv")
    whale = audio.index[audio["label"] == "whale"][0]
    np.savetxt(root / "split_indices" / "audio_train_clean.txt", [0, whale], fmt="%d")
    with pytest.raises(ValueError, match=r"audio_train_clean.txt: train rows must be in-distribution, got classes \['whale'\]"):
        luma.read_luma(root)


def test_unknown_label(fixture_dir, tmp_path):
    root = copy_fixture(fixture_dir, tmp_path)
    text = pd.read_csv(root / "text_data.tsv", sep="\t")
    text.loc[0, "label"] = "unicorn"
    text.to_csv(root / "text_data.tsv", sep="\t", index=False)
    with pytest.raises(ValueError, match=r"text_data.tsv: labels must be LUMA's 50 class names, got unknown \['unicorn'\]"):
        luma.read_luma(root)


def test_unequal_counts_cannot_be_paired(tables):
    broken = {s: dict(t) for s, t in tables.items()}
    broken["train"]["text"] = tables["train"]["text"].iloc[1:]  # one 'man' text fewer
    with pytest.raises(ValueError, match=r"split 'train', class 'man': .* got \{'audio': 2, 'text': 1, 'image': 2\}"):
        luma.make_triplets(broken)


@pytest.mark.parametrize("field, value, match", [
    ("image_features", "pixels", "image_features must be one of"),
    ("finetune_on", "test", "finetune_on must be one of"),
    ("text_pooling", "max", "text_pooling must be one of"),
    ("head_epochs", 20, "need 0 <= head_epochs <= finetune_epochs, got 20 and 15"),
    ("chunk_size", 0, "chunk_size must be >= 1, got 0"),
])
def test_config_errors(field, value, match):
    with pytest.raises(ValueError, match=match):
        luma.ExtractConfig(**{field: value})


# -------------------------------------------------------------------------------------- download
def test_download_from_local_mirrors(fixture_dir, tmp_path, monkeypatch):
    """The real download code, fed by file:// URLs and a local stand-in for the Hugging Face hub."""
    mirror = tmp_path / "mirror"
    (mirror / "splits").mkdir(parents=True)
    for f in (fixture_dir / "split_indices").iterdir():
        shutil.copy(f, mirror / "splits" / f.name)
    urls = {}
    for folder in luma.CIFAR_URLS:
        archive = mirror / f"{folder}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            tar.add(fixture_dir / folder, arcname=folder)
        urls[folder] = archive.as_uri()
    monkeypatch.setattr(fetch, "SPLIT_INDEX_URL", (mirror / "splits").as_uri() + "/{}")  # read by download
    monkeypatch.setattr(fetch, "CIFAR_URLS", urls)
    calls = []

    def fake_snapshot(repo_id, repo_type, local_dir):
        calls.append((repo_id, repo_type))
        shutil.copytree(fixture_dir / "audio", Path(local_dir) / "audio")
        for name in ("text_data.tsv", "edm_images.pickle"):
            shutil.copy(fixture_dir / name, Path(local_dir) / name)

    monkeypatch.setattr("huggingface_hub.snapshot_download", fake_snapshot)
    root = luma.download(tmp_path / "copy")
    assert calls == [("bezirganyan/LUMA", "dataset")]
    assert not list(root.glob("*.tar.gz"))  # archives unpacked and removed
    got, want = luma.read_luma(root), luma.read_luma(fixture_dir)
    for split in want:
        for m in want[split]:
            assert got[split][m].drop(columns="image", errors="ignore").equals(
                want[split][m].drop(columns="image", errors="ignore"))
    luma.download(root, dataset=False)  # present files are kept: nothing to fetch again


def test_download_offline_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "SPLIT_INDEX_URL", "http://127.0.0.1:9/{}")  # nothing listens on port 9
    with pytest.raises(ConnectionError, match=r"could not download http://127.0.0.1:9/image_train_clean.txt .* internet"):
        luma.download(tmp_path, dataset=False, cifar=False)
    assert not (tmp_path / "split_indices" / "image_train_clean.txt").exists()  # no half file

    def offline(**kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr("huggingface_hub.snapshot_download", offline)
    with pytest.raises(ConnectionError, match=r"Hugging Face dataset bezirganyan/LUMA .* Network is unreachable"):
        luma.download(tmp_path, splits=False, cifar=False)


# ---------------------------------------------------------------------------------------- bundle
def test_bundle_shapes_labels_and_manifest(bundle, tables):
    f = load_bundle(bundle)  # verifies every sha256 of the manifest
    assert f.dims == {"image": 50, "audio": 1024, "text": 768}
    assert {s: len(f.y[s]) for s in f.splits} == {"train": 84, "test": 84, "ood": 16}
    trip = pd.read_csv(bundle / "triplets.csv")
    pd.testing.assert_frame_equal(trip, luma.make_triplets(tables, seed=42))
    assert (f.y["ood"] >= luma.N_ID).all() and (f.y["train"] < luma.N_ID).all()
    m = json.loads((bundle / "manifest.json").read_text())
    assert m["format"] == luma.BUNDLE_FORMAT and m["seed"] == 42
    assert m["counts"] == {"train": 84, "test": 84, "ood": 16}
    assert m["classes"]["ood"] == list(range(42, 50))
    assert set(m["files"]) == {f"{s}_{k}.npy" for s in ("train", "test", "ood")
                               for k in ("labels", "image", "audio", "text")} | {"triplets.csv", "finetune_history.csv"}
    assert all(v["sha256"] == sha256_file(bundle / k) for k, v in m["files"].items())
    assert m["config"]["image_features"] == "finetuned_logits" and "fine-tuned" in m["preprocessing"]["image"]
    assert set(m["models"]) == {"image", "audio", "text"} and len(m["models"]["image"]["finetuned_fingerprint"]) == 64
    assert f.info["manifest"]["counts"] == m["counts"]
    hist = pd.read_csv(bundle / "finetune_history.csv")
    assert hist["phase"].tolist() == ["head", "all"]


def test_bundle_is_deterministic_and_resumes(fixture_dir, bundle, tmp_path):
    from mmae.luma import extract

    again = luma.build_bundle(fixture_dir, tmp_path / "b", FAST, extract.tiny_models(seed=0), progress=False)
    files = json.loads((bundle / "manifest.json").read_text())["files"]
    assert json.loads((again / "manifest.json").read_text())["files"] == files
    parts = sorted((again / "parts").glob("train_audio_part*.npy"))
    assert len(parts) == 3  # 84 rows in chunks of 40
    parts[1].unlink()  # as if extraction had stopped there: only that chunk is recomputed
    (again / "train_audio.npy").unlink()
    luma.build_bundle(fixture_dir, again, FAST, extract.tiny_models(seed=0), progress=False)
    assert json.loads((again / "manifest.json").read_text())["files"] == files


def test_parts_of_another_config_are_discarded(fixture_dir, bundle, tmp_path):
    from mmae.luma import extract

    out = Path(shutil.copytree(bundle, tmp_path / "b"))
    cls = luma.build_bundle(fixture_dir, out, luma.ExtractConfig(**{**FAST.__dict__, "text_pooling": "cls"}),
                            extract.tiny_models(seed=0), progress=False)
    assert not np.allclose(np.load(cls / "train_text.npy"), np.load(bundle / "train_text.npy"))
    np.testing.assert_array_equal(np.load(cls / "train_audio.npy"), np.load(bundle / "train_audio.npy"))


def test_label_free_image_features(fixture_dir, tmp_path):
    from mmae.luma import extract

    cfg = luma.ExtractConfig(**{**FAST.__dict__, "image_features": "penultimate_pca"})
    out = luma.build_bundle(fixture_dir, tmp_path / "b", cfg, extract.tiny_models(seed=0), progress=False)
    f = load_bundle(out)
    assert f.dims["image"] == 50 and not (out / "finetune_history.csv").exists()
    np.testing.assert_allclose(f.x["train"]["image"].mean(0), 0, atol=1e-4)  # PCA fitted on train
    assert "penultimate" in json.loads((out / "manifest.json").read_text())["preprocessing"]["image"]


def test_tampered_bundle_fails_to_load(bundle, tmp_path):
    out = Path(shutil.copytree(bundle, tmp_path / "b", ignore=shutil.ignore_patterns("parts")))
    a = np.load(out / "test_text.npy")
    a[0, 0] += 1
    np.save(out / "test_text.npy", a)
    want = json.loads((out / "manifest.json").read_text())["files"]["test_text.npy"]["sha256"]
    with pytest.raises(ValueError, match=rf"test_text.npy: sha256 must be {want} \(from manifest.json\), got [0-9a-f]{{64}}"):
        load_bundle(out)
    shutil.copy(bundle / "test_text.npy", out / "test_text.npy")  # intact again: only the missing file fails
    (out / "triplets.csv").unlink()
    with pytest.raises(FileNotFoundError, match="triplets.csv is listed in .*manifest.json but missing"):
        load_bundle(out)


def test_cli_extract_tiny(fixture_dir, tmp_path):
    args = [sys.executable, "-m", "mmae.luma", "extract", str(fixture_dir), str(tmp_path / "b"), "--tiny",
            "--image-size", "32", "--finetune-epochs", "1", "--head-epochs", "1", "--text-max-length", "16",
            "--device", "cpu"]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert load_bundle(tmp_path / "b").dims == {"image": 50, "audio": 1024, "text": 768}
    bad = subprocess.run(args[:6] + ["--text-pooling", "max"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "invalid choice: 'max'" in bad.stderr


def test_importing_luma_loads_neither_torch_nor_the_extractors():
    code = "import sys, mmae.luma; assert not {'torch', 'mmae.luma.extract'} & set(sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


@pytest.mark.notebook
@pytest.mark.slow
def test_bundle_trains_through_notebook_03(bundle, tmp_path):
    """The bundle is what the book reads: notebook 03 trains on it (papermill, 1 epoch)."""
    import papermill as pm

    pm.execute_notebook(str(ROOT / "notebooks" / "03_train.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"data": str(bundle), "epochs": 1, "artifacts_dir": str(tmp_path / "art")},
                        cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False)
    assert (tmp_path / "art" / "mmae_z128.pt").exists()
    assert np.load(tmp_path / "art" / "latents_z128_ood.npy").shape == (16, 128)
    assert load_features(bundle).name == str(bundle)
