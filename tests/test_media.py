"""The real media data set (mmae.media): encoders, sources, features and the committed bundle.

Needs ``../shared/data/cifar10-jpeg-subset.tar`` beside the repository (CI has it): tests that read
CIFAR fail, not skip, without it.
"""
import hashlib
import io
import pickle
import re
import tarfile

import numpy as np
import pytest
import torch

from mmae.data import load_bundle
from mmae.media import BUNDLE_DIR, CLASSES, ID_CLASSES, LABEL_NAMES, OOD_CLASSES
from mmae.media import efficientnet as enet
from mmae.media import cifar as cifar_io, make, speech, wordnet


# ImageNet-1k class ids of each CIFAR class's "super-group"
IMAGENET_GROUPS = {
    "airplane": {404, 895, 908, 417},
    "automobile": {407, 436, 468, 511, 609, 627, 656, 661, 717, 751, 817, 864, 867},
    "bird": set(range(7, 25)) | set(range(80, 101)) | set(range(127, 147)),
    "cat": set(range(281, 294)),
    "deer": set(range(345, 356)),
    "dog": set(range(151, 276)),
    "frog": {30, 31, 32},
    "horse": {339, 603},
    "ship": {403, 472, 484, 510, 554, 576, 625, 628, 693, 724, 780, 814, 833, 871, 914},
    "truck": {407, 555, 569, 573, 586, 595, 621, 654, 675, 717, 734, 757, 803, 864, 867},
}


@pytest.fixture(scope="module", autouse=True)
def threads(two_threads):
    """The encoders' batches are large enough for both cores."""


@pytest.fixture(scope="module")
def cifar_tar():
    if not cifar_io.DEFAULT_TAR.is_file():
        pytest.fail(f"CIFAR-10 JPEG subset missing: put cifar10-jpeg-subset.tar at {cifar_io.DEFAULT_TAR} "
                    "(../shared/data/ beside the repository clone)")
    return cifar_io.DEFAULT_TAR


@pytest.fixture(scope="module")
def cifar(cifar_tar):
    return cifar_io.read_cifar(cifar_tar)


@pytest.fixture(scope="module")
def lite0():
    return enet.load_lite0()


@pytest.fixture(scope="module")
def minilm():
    return wordnet.load_minilm()


# ------------------------------------------------------------------------------------------ image
def test_lite0_loads_the_wheel_strictly(lite0):
    state = torch.load(enet.weights_path(), map_location="cpu", weights_only=True)
    assert set(lite0.state_dict()) == set(state)
    assert torch.equal(lite0._fc.weight, state["_fc.weight"])
    del state["_blocks.3._bn1.running_var"]
    with pytest.raises(RuntimeError, match="running_var"):
        enet.EfficientNetLite0().load_state_dict(state, strict=True)
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        enet.load_lite0("/nowhere.pth")


def _supergroup_top5(lite0, cifar, n_per_class):
    ims = np.concatenate([cifar["test", c][:n_per_class] for c in LABEL_NAMES])
    top5 = np.argsort(-enet.imagenet_logits(lite0, ims), 1)[:, :5]
    groups = [IMAGENET_GROUPS[c] for c in LABEL_NAMES for _ in range(n_per_class)]
    return np.mean([bool(set(t) & g) for t, g in zip(top5, groups)])


def test_lite0_imagenet_predictions_are_sensible(lite0, cifar, monkeypatch):
    # chance: a random top-5 hits a class's group with p = 1 - (1 - |group| / 1000)^5, ~0.1 on average
    chance = np.mean([1 - (1 - len(g) / 1000) ** 5 for g in IMAGENET_GROUPS.values()])
    tf_norm = _supergroup_top5(lite0, cifar, 3)
    assert tf_norm >= 0.4 and tf_norm > 3 * chance, (tf_norm, chance)
    monkeypatch.setattr(enet, "MEAN", (0.485, 0.456, 0.406))
    monkeypatch.setattr(enet, "STD", (0.229, 0.224, 0.225))
    assert _supergroup_top5(lite0, cifar, 3) < tf_norm  # why (x - 0.5) / 0.5 is the normalisation


def test_image_batch_and_head_validate():
    with pytest.raises(ValueError, match="uint8"):
        enet.image_batch(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(TypeError, match="images: expected a numpy array"):
        enet.image_batch([[[[0, 0, 0]]]])
    with pytest.raises(ValueError, match="1280"):
        enet.train_head(np.zeros((4, 10)), np.zeros(4, int), 8)
    head = enet.train_head(np.random.default_rng(0).normal(size=(16, 1280)), np.arange(16) % 8, 8, epochs=1)
    x = np.random.default_rng(1).normal(size=(3, 1280)).astype(np.float32)
    np.testing.assert_allclose(enet.head_logits(enet.head_to_arrays(head), x),
                               head(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------------------- text
def test_minilm_real_weights_embed_meaning(minilm):
    from mmae.luma.extract import text_features
    model, tok = minilm
    e = text_features(model, tok, ["A man is playing a guitar.", "Someone plays the guitar.",
                                   "The stock market fell sharply today."], pooling="mean")
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    assert e.shape == (3, 384)
    assert e[0] @ e[1] > 0.6 > e[0] @ e[2] + 0.3


def test_wordnet_parser_and_senses():
    line = ("02084071 05 n 03 dog 0 domestic_dog 0 Canis_familiaris 0 002 @ 02083346 n 0000 "
            "~ 01322604 n 0000 | a member of the genus Canis; \"the dog barked all night\"  \n")
    s = wordnet.parse_data_line(line)
    assert s.offset == 2084071 and s.words == ("dog", "domestic_dog", "Canis_familiaris")
    assert s.hyponyms == (1322604,) and s.examples == ("the dog barked all night",)
    assert s.text == "dog, domestic dog, Canis familiaris: a member of the genus Canis; the dog barked all night"
    with pytest.raises(ValueError, match="data.noun"):
        wordnet.parse_data_line("garbage")
    glosses = {c: wordnet.class_synset(c).definition for c in LABEL_NAMES}
    assert "domesticated" in glosses["dog"] and "motor vehicle" in glosses["automobile"]
    assert "aircraft" in glosses["airplane"] and "vessel" in glosses["ship"]
    assert "amphibian" in glosses["frog"] and "feline" in glosses["cat"]


def test_class_texts_counts_pools_and_masking(minilm):
    model, tok = minilm
    for c in LABEL_NAMES:
        texts, pools = wordnet.class_texts(c), wordnet.text_pools(c)
        assert len(texts) >= 24 and len(set(texts)) == len(texts)
        assert not set(pools["train"]) & set(pools["test"])
        assert sorted(pools["train"] + pools["test"]) == texts
    texts = wordnet.class_texts("horse")[:20] + wordnet.class_texts("airplane")[:20]
    names = ["horse"] * 20 + ["airplane"] * 20
    feats, masked = wordnet.embed_texts(model, tok, texts, names, progress=False)
    assert feats.shape == (40, 384) and np.isfinite(feats).all()
    for t, m, c in zip(texts, masked, names):
        assert not re.search(rf"\b{c}s?\b", m), m
    assert sum("[MASK]" in m for m in masked) >= sum(bool(re.search(rf"\b{c}s?\b", t.lower()))
                                                     for t, c in zip(texts, names)) > 5


# ------------------------------------------------------------------------------------------ audio
def test_mel_filterbank_exact_tiny_case_and_coverage():
    fb = speech.mel_filterbank(n_mels=2, n_fft=8, sample_rate=16000)
    hz = speech.mel_to_hz(np.linspace(0, speech.hz_to_mel(8000), 4))  # 0, f1, f2, 8000
    bins = np.arange(5) * 2000.0
    expected = np.array([[np.clip(min(b / hz[1], (hz[2] - b) / (hz[2] - hz[1])), 0, None) for b in bins],
                         [np.clip(min((b - hz[1]) / (hz[2] - hz[1]), (8000 - b) / (8000 - hz[2])), 0, None)
                          for b in bins]])
    np.testing.assert_allclose(fb, expected, atol=1e-12)
    np.testing.assert_allclose(speech.hz_to_mel(speech.mel_to_hz([0.0, 1000.0])), [0.0, 1000.0])
    full = speech.mel_filterbank()
    assert full.shape == (64, 257) and full.min() >= 0
    fine = speech.mel_filterbank(n_fft=1 << 15)
    assert np.all(fine.max(1) > 0.97) and np.all(fine.max(1) <= 1)  # each triangle peaks at 1
    assert np.all(full[:, 1:].sum(0) > 0)  # every bin above 0 Hz is covered
    with pytest.raises(ValueError, match="fmax"):
        speech.mel_filterbank(fmax=9000)


def test_audio_features_deterministic_per_row_and_speaker_dependent():
    a, spk_a = speech.row_clip("cat", 42, "test", 5)
    b, spk_b = speech.row_clip("cat", 42, "test", 5)
    np.testing.assert_array_equal(a, b)
    assert spk_a == spk_b and 0 <= spk_a < len(speech.SPEAKERS) == 32
    f = speech.logmel_stats(a)
    assert f.shape == (192,) and np.isfinite(f).all()
    assert not np.array_equal(f, speech.logmel_stats(speech.row_clip("cat", 42, "test", 6)[0]))
    s0, s1 = (speech.logmel_stats(speech.base_clip("cat", k)) for k in (0, 1))
    assert np.abs(s0 - s1).mean() > 0.1
    assert len(set(s.voice for s in speech.SPEAKERS)) >= 20
    with pytest.raises(ValueError, match="split"):
        speech.row_rng(0, "valid", 0)


# --------------------------------------------------------------------------------------- download
def _fake_archive(path, per_class=2):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        def add(name, obj):
            data = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        add("batches.meta", {"label_names": list(CLASSES)})
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            labels = np.repeat(np.arange(10), per_class).tolist()
            add(name, {"data": rng.integers(0, 256, (10 * per_class, 3072), dtype=np.uint8), "labels": labels})
    path.write_bytes(buf.getvalue())
    return hashlib.md5(buf.getvalue()).hexdigest()


def test_download_checks_md5_and_explains_offline(tmp_path):
    src = tmp_path / "src.tar.gz"
    good = _fake_archive(src)
    dest = cifar_io.download_cifar(tmp_path / "dl" / "cifar.tar.gz", url=src.as_uri(), md5=good)
    assert dest.read_bytes() == src.read_bytes()
    images = cifar_io.read_cifar(dest, pool=2)
    assert images["train", "cat"].shape == (2, 32, 32, 3) and images["test", "truck"].dtype == np.uint8
    with pytest.raises(ValueError, match=f"md5 must be {'0' * 32}"):
        cifar_io.download_cifar(tmp_path / "bad.tar.gz", url=src.as_uri(), md5="0" * 32)
    assert not (tmp_path / "bad.tar.gz").exists() and not (tmp_path / "bad.tar.gz.part").exists()
    with pytest.raises(ConnectionError, match="internet"):
        cifar_io.download_cifar(tmp_path / "x.tar.gz", url=(tmp_path / "missing.tar.gz").as_uri(), md5=good)
    with pytest.raises(FileNotFoundError, match="cifar10-jpeg-subset.tar"):
        cifar_io.read_cifar(tmp_path / "missing.tar")


# ---------------------------------------------------------------------------- draw and the bundle
def test_draw_is_deterministic_and_balanced():
    t1, t2 = make.draw_triplets(), make.draw_triplets()
    for split, n in (("train", 500), ("test", 100), ("ood", 300)):
        for k in t1[split]:
            np.testing.assert_array_equal(t1[split][k], t2[split][k])
        labels = t1[split]["labels"]
        expected = range(8) if split != "ood" else (8, 9)
        assert sorted(set(labels)) == list(expected) and all((labels == c).sum() == n for c in expected)
        for c in expected:  # images drawn without replacement within a class
            assert len(set(t1[split]["image_index"][labels == c])) == n
    with pytest.raises(ValueError, match="image_features"):
        make.MediaConfig(image_features="logits")


def test_committed_bundle_loads_with_counts_dims_and_hashes():
    f = load_bundle(BUNDLE_DIR, dims=None)
    manifest = f.info["manifest"]
    assert {s: len(y) for s, y in f.y.items()} == {"train": 4000, "test": 800, "ood": 600}
    assert f.dims == {"image": 8, "audio": 192, "text": 384} == manifest["dims"]
    assert set(f.y["train"]) == set(f.y["test"]) == set(range(8)) and set(f.y["ood"]) == {8, 9}
    assert manifest["classes"] == list(ID_CLASSES + OOD_CLASSES) and OOD_CLASSES == ("frog", "truck")
    for split, n in (("train", 4000), ("test", 800), ("ood", 600)):
        spk = np.load(BUNDLE_DIR / f"{split}_nuisance_speaker.npy")
        assert spk.shape == (n,) and spk.dtype == np.int64 and 0 <= spk.min() and spk.max() < 32
    assert {f"{s}_{m}.npy" for s in f.y for m in ("image", "audio", "text", "labels")} <= set(manifest["files"])
    assert "image_head.npz" in manifest["files"] and manifest["sources"]["espeak-ng"]["version"]


@pytest.mark.parametrize("split", ["train", "test", "ood"])
def test_rebuilt_rows_equal_the_committed_bundle(split, cifar_tar):
    n = len(np.load(BUNDLE_DIR / f"{split}_labels.npy"))
    rows = np.unique(np.r_[0, n - 1, np.random.default_rng(1).choice(n, 6, replace=False)])
    new = make.rebuild_rows(BUNDLE_DIR, split, rows, cifar_tar)
    for name in ("labels", "nuisance_speaker"):
        np.testing.assert_array_equal(new[name], np.load(BUNDLE_DIR / f"{split}_{name}.npy")[rows])
    for m in ("image", "audio", "text"):
        ref = np.load(BUNDLE_DIR / f"{split}_{m}.npy")[rows].astype(np.float32)
        np.testing.assert_allclose(new[m], ref, rtol=2e-3, atol=2e-3, err_msg=f"{split}_{m}.npy")


def test_cli_reports_a_missing_source(tmp_path):
    from mmae.media.__main__ import main
    with pytest.raises(FileNotFoundError, match="cifar10-jpeg-subset.tar"):
        main(["build", "--set", "cifar10", "--source", str(tmp_path / "none.tar"), "--out", str(tmp_path / "b")])
    with pytest.raises(FileNotFoundError, match="tinyimagenet-subset.tar"):
        main(["build", "--source", str(tmp_path / "none.tar"), "--out", str(tmp_path / "b")])
    assert not (tmp_path / "b").exists()
