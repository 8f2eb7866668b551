"""The LUMA-shaped real set (mmae.media.make50 / build50): classes, voices, the Whisper encoder,
descriptions, the draw, and the committed bundle against raw media.

Needs ``../shared/data/tinyimagenet-subset.tar`` beside the repository (CI has it) and the voice
engines (``.ci/run`` installs them): tests that use them fail, not skip, without them.
"""
import numpy as np
import pytest

from mmae.data import load_bundle, load_features
from mmae.media import BUNDLE50_DIR, build50, classes50 as cl, descriptions, make50 as mk, tinyimagenet as ti
from mmae.media import voices, whisper


@pytest.fixture(scope="module", autouse=True)
def threads(two_threads):
    """The encoders' batches are large enough for both cores."""


@pytest.fixture(scope="module")
def tiny_tar():
    if not ti.DEFAULT_TAR.is_file():
        pytest.fail(f"Tiny ImageNet subset missing: put tinyimagenet-subset.tar at {ti.DEFAULT_TAR}")
    return ti.DEFAULT_TAR


@pytest.fixture(scope="module")
def model():
    return whisper.load_whisper(threads=2)


# ------------------------------------------------------------------------------------- classes
def test_fifty_classes_42_in_distribution_each_with_a_reason(tiny_tar):
    import tarfile
    assert len(cl.CLASSES) == 50 and len(cl.ID_CLASSES) == cl.N_ID == 42 and len(cl.OOD_CLASSES) == 8
    wnids = [c.wnid for c in cl.CLASSES]
    with tarfile.open(tiny_tar) as tf:
        listed = [line.split("\t")[0] for line in tf.extractfile("tinyimagenet/words.txt").read().decode().splitlines()]
    assert len(set(wnids)) == 50 and set(wnids) | set(cl.DROPPED) == set(listed) and not set(wnids) & set(cl.DROPPED)
    assert all(c.reason and c.group and c.word for c in cl.CLASSES) and all(cl.DROPPED.values())
    assert len({c.group for c in cl.OOD_CLASSES}) == 8  # one OOD class per broad group
    assert len(set(cl.WORDS)) == 50


def test_tiny_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="none.tar"):
        ti.read_tiny(tmp_path / "none.tar", ("n01443537",))
    import tarfile
    with tarfile.open(tmp_path / "x.tar", "w") as tf:
        tf.add(__file__, arcname="other/file.py")
    with pytest.raises(ValueError, match="x.tar.*expected the Tiny ImageNet subset tar"):
        ti.read_tiny(tmp_path / "x.tar", ("n01443537",))


# -------------------------------------------------------------------------------------- voices
def test_every_voice_says_a_word_and_rate_changes_the_length():
    lengths = [len(voices.base_clip("banana", i)) for i in range(len(voices.VOICES))]
    assert len(voices.VOICES) == 15 and len({v.engine for v in voices.VOICES}) == 5
    assert min(lengths) > 0.3 * 16000 and max(lengths) < 2.0 * 16000  # one word: 0.3 to 2 s
    base = voices.base_clip("banana", 13)
    for rate in (0.85, 1.15):
        assert abs(len(voices.rate_pitch(base, rate, 0.0)) - len(base) / rate) < 0.03 * len(base)
    with pytest.raises(ValueError, match="word"):
        voices.base_clip("ban4na", 0)
    with pytest.raises(TypeError, match="word: expected a str, got int 3"):
        voices.base_clip(3, 0)
    with pytest.raises(ValueError, match="voice"):
        voices.base_clip("banana", 15)


def test_a_clip_is_a_function_of_its_rng_alone():
    a = voices.clip("goose", 3, np.random.default_rng([1, 2]))
    b = voices.clip("goose", 3, np.random.default_rng([1, 2]))
    c = voices.clip("goose", 3, np.random.default_rng([1, 3]))
    assert np.array_equal(a, b) and not (len(a) == len(c) and np.array_equal(a, c))


# ------------------------------------------------------------------------------------- whisper
def test_join_parts_checks_the_sha256_and_the_parts(tmp_path):
    p1, p2 = tmp_path / "p1", tmp_path / "p2"
    p1.mkdir(), p2.mkdir()
    (p1 / "model.bin.part1").write_bytes(b"ab"), (p2 / "model.bin.part2").write_bytes(b"cd")
    for n in whisper.EXTRA_FILES:
        (p1 / n).write_text("{}")
    import hashlib
    out = whisper.join_parts(p1, p2, tmp_path / "out", hashlib.sha256(b"abcd").hexdigest())
    assert (out / "model.bin").read_bytes() == b"abcd" and (out / "config.json").read_text() == "{}"
    with pytest.raises(ValueError, match="sha256"):
        whisper.join_parts(p1, p2, tmp_path / "bad", "0" * 64)
    assert not list((tmp_path / "bad").glob("*model.bin*"))
    (p2 / "model.bin.part2").unlink()
    with pytest.raises(FileNotFoundError, match="model.bin.part2"):
        whisper.join_parts(p1, p2, tmp_path / "out2")


def test_the_joined_wheels_are_whisper_base(model):
    assert whisper.sha256_file(whisper.model_dir() / "model.bin") == whisper.MODEL_SHA256
    e = whisper.encode(model, [np.zeros(8000, np.float32), 0.1 * np.ones(3200, np.float32)])
    assert e.shape == (2, 512) and e.dtype == np.float32 and np.isfinite(e).all()
    with pytest.raises(ValueError, match="30 s"):
        whisper.log_mel(np.zeros(31 * 16000, np.float32))


@pytest.mark.slow
def test_a_word_said_by_two_voices_lies_nearer_itself_than_other_words(model):
    words, pair = ["goldfish", "tractor", "teapot", "umbrella", "banana"], (9, 14)  # flite slt, hibari
    waves = [voices.clip(w, v, np.random.default_rng([v, k])) for k, w in enumerate(words) for v in pair]
    e = whisper.encode(model, waves)
    e = e - e.mean(0)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    word = np.repeat(np.arange(len(words)), 2)
    voice = np.tile([0, 1], len(words))
    for r in range(len(e)):
        other = np.flatnonzero(voice != voice[r])  # the other voice's clips only
        assert word[other[np.argmax(sim[r, other])]] == word[r], words[word[r]]


# -------------------------------------------------------------------------------- descriptions
def test_descriptions_count_and_compose():
    assert [descriptions.n_descriptions(n) for n in (1, 2, 3, 4)] == [1, 4, 15, 40]
    facts = ["a.", "b.", "c.", "d."]
    every = descriptions.describe(facts, 100, np.random.default_rng(0))
    assert len(every) == len(set(every)) == 40 and "d. a. c." in every
    some = descriptions.describe(facts, 10, np.random.default_rng(0))
    assert len(set(some)) == 10 and some == descriptions.describe(facts, 10, np.random.default_rng(0))
    f = descriptions.class_facts("n01443537")  # goldfish
    assert f[0].startswith("goldfish, Carassius auratus: small golden or orange-red freshwater fishes")
    assert any(t.startswith("cyprinid, cyprinid fish:") for t in f)  # its hypernym
    pools = descriptions.text_pools("n01443537", 0)
    assert not set(pools["train"]) & set(pools["test"]) and len(pools["all"]) == 60
    with pytest.raises(ValueError, match="wnid"):
        descriptions.class_facts("goldfish")


# ------------------------------------------------------------------------------------ the draw
def test_the_draw_has_luma_counts_and_disjoint_images():
    cfg = mk.Tiny50Config()
    counts = {k: {"train": 40, "test": 20, "all": 60} for k in range(50)}
    t = mk.draw(cfg, counts)
    assert {s: len(d["labels"]) for s, d in t.items()} == {"train": 18900, "test": 4200, "ood": 3840}
    for k in range(42):
        train, test = t["train"]["image"][t["train"]["labels"] == k], t["test"]["image"][t["test"]["labels"] == k]
        assert len(set(train)) == 450 and len(set(test)) == 100 and not set(train) & set(test)
        assert sorted(np.bincount(t["train"]["clip"][t["train"]["labels"] == k])) == [37] * 6 + [38] * 6  # 450 = 37.5 x 12
    assert set(t["ood"]["labels"]) == set(range(42, 50))
    for bad in ({"n_train": 500}, {"audio": "wav2vec"}, {"image_features": "logits"}, {"clips_test": 0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            mk.Tiny50Config(**bad)


# --------------------------------------------------------------------------- the committed set
def test_the_committed_set_is_the_default_with_luma_counts():
    f = load_features("real", environ=False)
    assert {s: len(y) for s, y in f.y.items()} == {"train": 18900, "test": 4200, "ood": 3840}
    assert f.dims == {"image": 42, "audio": 512, "text": 384} and f.n_classes == 42
    assert set(f.y["ood"]) == set(range(42, 50)) and set(f.nuisance["test"]["speaker"]) <= set(range(15))
    m = f.info["manifest"]
    assert m["models"]["audio"]["sha256"] == whisper.MODEL_SHA256 and "ImageNet" in m["sources"]["tinyimagenet"]["licence"]
    assert m["counts"]["train"]["distinct_clips"] == 42 * 12 and m["voices"] == [v.label for v in voices.VOICES]
    assert {r["source_pixels"] for r in m["measured"]["resolution"]} == {32, 64}
    assert load_features("real:cifar10").n_classes == 8
    with pytest.raises(ValueError, match="real:cifar100"):
        load_features("real:cifar100")


@pytest.mark.slow
@pytest.mark.parametrize("split", ["train", "test", "ood"])
def test_rebuilt_rows_equal_the_committed_bundle(split, tiny_tar):
    f = load_bundle(BUNDLE50_DIR)
    n = len(f.y[split])
    rows = np.unique(np.r_[0, n - 1, np.random.default_rng(2).choice(n, 2, replace=False)])
    new = build50.rebuild_rows(BUNDLE50_DIR, split, rows, tiny_tar)
    np.testing.assert_array_equal(new["labels"], f.y[split][rows])
    np.testing.assert_array_equal(new["nuisance_speaker"], f.nuisance[split]["speaker"][rows])
    for m, tol in (("image", 2e-3), ("text", 2e-3), ("audio", 5e-2)):
        np.testing.assert_allclose(new[m], f.x[split][m][rows], rtol=tol, atol=tol, err_msg=f"{split}_{m}")


@pytest.mark.slow
def test_the_whisper_path_on_one_clip_reproduces_its_committed_row(model):
    f = load_bundle(BUNDLE50_DIR)
    cfg = mk.Tiny50Config(**f.info["manifest"]["config"])
    index = np.load(BUNDLE50_DIR / "test_audio.index.npy")
    pool = np.load(BUNDLE50_DIR / "test_audio.pool.npy")
    row = 4200 - 1  # the last class's rows: clip j of label 41
    label, offset = 41, 41 * cfg.clips_test
    wave, voice = mk.clip_of(cfg, "test", label, int(index[row] - offset))
    got = whisper.encode(model, [wave])[0]
    assert voice == f.nuisance["test"]["speaker"][row]
    assert np.linalg.norm(got - pool[index[row]]) < 1e-2 * np.linalg.norm(pool[index[row]])
    np.testing.assert_array_equal(f.x["test"]["audio"][row], pool[index[row]])


def test_the_official_zip_and_the_subset_tar_give_the_same_pictures_in_the_same_order(tmp_path):
    import io
    import tarfile
    import zipfile

    from PIL import Image

    rng = np.random.default_rng(0)
    wnids, pics = ("n01443537", "n02206856"), {}
    for w in wnids:  # 3 train and 2 val JPEGs per class, numbered out of order on purpose
        for kind, numbers in (("train", (10, 2, 0)), ("val", (7, 3))):
            for i in numbers:
                buf = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
                pics[w, kind, i] = buf.getvalue()
    with tarfile.open(tmp_path / "subset.tar", "w") as tf:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        add("tinyimagenet/words.txt", "\n".join(f"{w}\tx" for w in wnids).encode())
        for (w, kind, i), data in pics.items():
            add(f"tinyimagenet/{kind}/{w}/{w}_{i}.JPEG" if kind == "train" else f"tinyimagenet/val/{w}/val_{i}.JPEG", data)
    with zipfile.ZipFile(tmp_path / "official.zip", "w") as zf:
        zf.writestr("tiny-imagenet-200/wnids.txt", "\n".join(wnids))
        notes = []
        for (w, kind, i), data in pics.items():
            if kind == "train":
                zf.writestr(f"tiny-imagenet-200/train/{w}/images/{w}_{i}.JPEG", data)
            else:  # the official val folder is flat; its annotations say which class
                zf.writestr(f"tiny-imagenet-200/val/images/val_{i + 100 * wnids.index(w)}.JPEG", data)
                notes.append(f"val_{i + 100 * wnids.index(w)}.JPEG\t{w}\t0\t0\t63\t63")
        zf.writestr("tiny-imagenet-200/val/val_annotations.txt", "\n".join(notes))
    a = ti.read_tiny(tmp_path / "subset.tar", wnids, per_class=5)
    b = ti.read_tiny(tmp_path / "official.zip", wnids, per_class=5)
    for w in wnids:
        assert a[w].shape == (5, 64, 64, 3) and np.array_equal(a[w], b[w])
        from mmae.media.tinyimagenet import _decode
        expected = [pics[w, "train", i] for i in (0, 2, 10)] + [pics[w, "val", i] for i in (3, 7)]
        assert all(np.array_equal(a[w][j], _decode(d)) for j, d in enumerate(expected))  # train by number, then val
    with pytest.raises(ValueError, match="expected 6 images"):
        ti.read_tiny(tmp_path / "subset.tar", wnids, per_class=6)
    # the download path, from a local mirror: md5 checked, a bad file removed, offline named
    import hashlib
    good = hashlib.md5((tmp_path / "official.zip").read_bytes()).hexdigest()
    dest = ti.download_tiny(tmp_path / "dl" / "t.zip", url=(tmp_path / "official.zip").as_uri(), md5=good)
    assert dest.read_bytes() == (tmp_path / "official.zip").read_bytes()
    with pytest.raises(ValueError, match=f"md5 must be {'0' * 32}"):
        ti.download_tiny(tmp_path / "bad.zip", url=(tmp_path / "official.zip").as_uri(), md5="0" * 32)
    assert not (tmp_path / "bad.zip").exists() and not (tmp_path / "bad.zip.part").exists()
    with pytest.raises(ConnectionError, match="tinyimagenet-subset.tar"):
        ti.download_tiny(tmp_path / "x.zip", url=(tmp_path / "missing.zip").as_uri(), md5=good)
