"""mmae.luma.extract on tiny inputs and tiny random models: exact shapes, values and every error path."""
import copy
import urllib.error

import numpy as np
import pytest
import torch

from mmae.luma import extract
from mmae.luma.extract import VGG11BN

SMALL = {"widths": (4, 4, 8, 8, 8, 8, 8, 8), "hidden": 16}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    return extract.tiny_models(seed=0)


def small_vgg(n_classes=4, seed=0):
    torch.manual_seed(seed)
    return extract.replace_head(VGG11BN(**SMALL), n_classes=n_classes, width=8, seed=seed)


def images_labels(n=16, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), np.arange(n) % n_classes


# ------------------------------------------------------------------------------------------ image
def test_vgg11bn_matches_torchvision_vgg11_bn():
    with torch.device("meta"):  # no 500 MB allocation
        model = VGG11BN()
    assert sum(p.numel() for p in model.parameters()) == 132_868_840  # torchvision VGG11_BN_Weights meta
    # torchvision/models/vgg.py: cfg "A" with batch_norm -> conv, bn, relu (+ pool) per entry
    convs, bns = (0, 4, 8, 11, 15, 18, 22, 25), (1, 5, 9, 12, 16, 19, 23, 26)
    expected = []
    for c, b in zip(convs, bns):
        expected += [f"features.{c}.weight", f"features.{c}.bias"]
        expected += [f"features.{b}.{k}" for k in ("weight", "bias", "running_mean", "running_var",
                                                   "num_batches_tracked")]
    expected += [f"classifier.{i}.{k}" for i in (0, 3, 6) for k in ("weight", "bias")]
    state = model.state_dict()
    assert list(state) == expected
    assert state["features.0.weight"].shape == (64, 3, 3, 3)
    assert state["features.25.weight"].shape == (512, 512, 3, 3)
    assert state["classifier.0.weight"].shape == (4096, 512 * 7 * 7)
    assert state["classifier.6.weight"].shape == (1000, 4096)
    pools = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.MaxPool2d)]
    assert pools == [3, 7, 14, 21, 28]


def test_vgg11bn_reduced_forward_and_errors():
    model = VGG11BN(num_classes=5, **SMALL).eval()
    x = torch.randn(2, 3, 32, 32)
    assert model(x).shape == (2, 5)
    assert model.penultimate(x).shape == (2, 16)
    with pytest.raises(ValueError, match="expected 8 convolution widths"):
        VGG11BN(widths=(4, 4))


def test_replace_head_is_lumas_head():
    with torch.device("meta"):
        model = extract.replace_head(VGG11BN())
    head = model.classifier[6]
    assert [type(m).__name__ for m in head] == ["Linear", "ReLU", "Linear"]
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items() if k.startswith("classifier.6.")}
    assert shapes == {"classifier.6.0.weight": (512, 4096), "classifier.6.0.bias": (512,),
                      "classifier.6.2.weight": (50, 512), "classifier.6.2.bias": (50,)}
    again = extract.replace_head(model, n_classes=7, width=3, dropout=0.2)  # in place, reads 4096 again
    assert again is model and [type(m).__name__ for m in model.classifier[6]] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert model.classifier[6][0].in_features == 4096 and model.classifier[6][3].out_features == 7
    a, b = small_vgg(seed=0), small_vgg(seed=0)
    assert torch.equal(a.classifier[6][0].weight, b.classifier[6][0].weight)
    for kw in ({"n_classes": 0}, {"width": 0}, {"dropout": 1.0}):
        with pytest.raises(ValueError, match="expected n_classes >= 1"):
            extract.replace_head(VGG11BN(**SMALL), **kw)


def test_image_batch_constant_image_exact():
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    images[..., :] = (0, 128, 255)
    x = extract.image_batch(images, size=40)
    assert x.shape == (2, 3, 40, 40) and x.dtype == torch.float32
    expected = (torch.tensor([0.0, 128.0, 255.0]).div(255) - torch.tensor(extract.IMAGENET_MEAN)) \
        / torch.tensor(extract.IMAGENET_STD)
    assert torch.equal(x, expected.view(1, 3, 1, 1).expand(2, 3, 40, 40))
    assert x[0, 0, 0, 0].item() == pytest.approx(-0.485 / 0.229)


@pytest.mark.parametrize("bad", [np.zeros((2, 32, 32, 3), np.float32), np.zeros((2, 32, 32), np.uint8),
                                 np.zeros((2, 32, 32, 4), np.uint8), np.zeros((0, 32, 32, 3), np.uint8)])
def test_image_batch_rejects_bad_images(bad):
    with pytest.raises(ValueError, match="images: expected"):
        extract.image_batch(bad)


def test_image_batch_rejects_what_is_not_an_array():
    with pytest.raises(TypeError, match="images: expected a uint8 array .*got list"):
        extract.image_batch([[[[0, 0, 0]]]])


def test_finetune_head_phase_freezes_the_backbone():
    model, (images, labels) = small_vgg(), images_labels()
    before = copy.deepcopy(model.state_dict())
    model, history = extract.finetune_vgg(model, images, labels, epochs=2, head_epochs=2, batch_size=8,
                                          image_size=32, seed=1)
    assert list(history.columns) == ["epoch", "phase", "loss", "accuracy"]
    assert history["epoch"].tolist() == [1, 2] and history["phase"].tolist() == ["head", "head"]
    assert ((history["accuracy"] >= 0) & (history["accuracy"] <= 1)).all() and (history["loss"] > 0).all()
    after = model.state_dict()
    params = {k for k, _ in model.named_parameters()}
    for k in params:
        assert torch.equal(before[k], after[k]) != k.startswith("classifier.6."), k  # only the head moved
    # as in LUMA (model.train() throughout), batch-norm running statistics move in the head phase
    assert not torch.equal(before["features.1.running_mean"], after["features.1.running_mean"])
    assert not model.training and all(p.requires_grad for p in model.parameters())


def test_finetune_phases_and_determinism():
    images, labels = images_labels()
    start = small_vgg()
    runs = [extract.finetune_vgg(copy.deepcopy(start), images, labels, epochs=3, head_epochs=1, batch_size=8,
                                 image_size=32, seed=s) for s in (5, 5, 6)]
    assert runs[0][1]["phase"].tolist() == ["head", "all", "all"]
    fingerprints = [extract.model_fingerprint(m) for m, _ in runs]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
    assert runs[0][1].equals(runs[1][1])
    assert not torch.equal(start.features[0].weight, runs[0][0].features[0].weight)  # "all" moved the backbone


def test_finetune_rejects_bad_arguments():
    model, (images, labels) = small_vgg(), images_labels()
    with pytest.raises(ValueError, match="labels: expected 16 integers"):
        extract.finetune_vgg(model, images, labels[:3])
    with pytest.raises(ValueError, match="labels: expected 16 integers"):
        extract.finetune_vgg(model, images, labels.astype(float))
    with pytest.raises(ValueError, match=r"labels: expected values in \[0, 4\), got \[1, 4\]"):
        extract.finetune_vgg(model, images, labels + 1)
    with pytest.raises(ValueError, match="head_epochs=6, epochs=5"):
        extract.finetune_vgg(model, images, labels, epochs=5, head_epochs=6)
    with pytest.raises(ValueError, match="images: expected"):
        extract.finetune_vgg(model, images[..., 0], labels)


def test_image_features_logits_and_penultimate():
    model, (images, _) = small_vgg(), images_labels(n=7)
    logits = extract.image_features(model, images, batch_size=3, image_size=32)
    assert logits.shape == (7, 4) and logits.dtype == np.float32
    np.testing.assert_allclose(logits, extract.image_features(model, images, batch_size=7, image_size=32),
                               atol=1e-5)
    pen = extract.image_features(model, images, kind="penultimate", batch_size=3, image_size=32)
    assert pen.shape == (7, 16) and pen.dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(model.classifier[6](torch.from_numpy(pen)).numpy(), logits, atol=1e-5)
    with pytest.raises(ValueError, match="kind: expected 'logits' or 'penultimate', got 'pca'"):
        extract.image_features(model, images, kind="pca")


# ------------------------------------------------------------------------------------------ audio
def test_read_audio_stereo_8k_to_mono_16k(tmp_path):
    import soundfile
    from scipy.signal import resample_poly

    t = np.arange(800) / 8000
    left = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    soundfile.write(tmp_path / "s.wav", np.stack([left, 0.5 * left], 1), 8000, subtype="FLOAT")
    wave = extract.read_audio(tmp_path / "s.wav")
    assert wave.shape == (1600,) and wave.dtype == np.float32
    np.testing.assert_allclose(wave, resample_poly(0.75 * left, 2, 1), atol=1e-6)
    t16 = np.arange(1600) / 16000  # away from the edges the upsampled tone is the 16 kHz tone
    np.testing.assert_allclose(wave[200:-200], 0.75 * np.sin(2 * np.pi * 440 * t16[200:-200]), atol=5e-3)


def test_read_audio_16k_mono_passes_through_and_errors(tmp_path):
    import soundfile

    pcm = np.array([0, 1, -2, 16384, -32768, 32767], dtype=np.int16)
    soundfile.write(tmp_path / "m.wav", pcm, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(extract.read_audio(tmp_path / "m.wav"), pcm.astype(np.float32) / 32768)
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(ValueError, match="empty.wav: expected audio samples"):
        extract.read_audio(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="sample_rate: expected a positive integer, got 0"):
        extract.read_audio(tmp_path / "m.wav", sample_rate=0)


def test_audio_features_mean_over_time(tiny):
    model = tiny["audio"]
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(400).astype(np.float32), 0.1 * rng.standard_normal(1000).astype(np.float32)]
    feats = extract.audio_features(model, waves)
    assert feats.shape == (2, 1024) and feats.dtype == np.float32
    with torch.no_grad():
        h = model(torch.from_numpy(waves[1])[None]).last_hidden_state  # (1, frames, 1024)
    assert h.shape[1] > 1
    np.testing.assert_allclose(feats[1], h[0].mean(0).numpy(), atol=1e-5)
    seen = []
    hook = model.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    normed = extract.audio_features(model, [waves[1] + 0.3], normalize=True)
    hook.remove()
    assert seen[0].shape == (1, 1000)
    assert seen[0].mean().item() == pytest.approx(0, abs=1e-6)
    assert seen[0].var(correction=0).item() == pytest.approx(1, abs=1e-4)
    z = (waves[1] + 0.3 - (waves[1] + 0.3).mean()) / np.sqrt((waves[1] + 0.3).var() + 1e-7)
    np.testing.assert_allclose(normed[0], extract.audio_features(model, [z])[0], atol=1e-5)
    # the group norm after the first convolution (feat_extract_norm="group", as wav2vec 2.0 large LS-960)
    # removes each channel's offset and scale (up to its eps): per-clip normalisation changes little
    assert np.abs(normed[0] - feats[1]).max() < 0.02 * np.abs(feats[1]).max()


def test_audio_features_errors(tiny):
    with pytest.raises(ValueError, match="waves: expected at least one waveform"):
        extract.audio_features(tiny["audio"], [])
    with pytest.raises(ValueError, match=r"waves\[1\]: expected a 1-D waveform of >= 15 samples, got shape \(10,\)"):
        extract.audio_features(tiny["audio"], [np.zeros(100), np.zeros(10)])
    with pytest.raises(ValueError, match=r"got shape \(2, 100\)"):
        extract.audio_features(tiny["audio"], [np.zeros((2, 100))])


# ------------------------------------------------------------------------------------------- text
@pytest.mark.parametrize("text, name, expected", [
    ("Two dogs chase a Dog.", "dog", "two [MASK] chase a [MASK]."),  # plural, capitalised
    ("The cat sat by the bird.", "cat", "the [MASK] sat by the bird."),  # other words untouched
    ("A horse runs.", "horse", "a horse runs."),  # LUMA: stem("horse") = "hors" != "horse"
    ("two men", "man", "two men"),  # Lancaster keeps "men"
    ("a man and a woman", "man", "a [MASK] and a wo[MASK]"),  # LUMA's str.replace masks substrings
])
def test_mask_class_word_lumas_rule(text, name, expected):
    assert extract.mask_class_word(text, name) == expected


def test_sixteen_luma_classes_are_never_masked():
    from mmae.luma import LUMA_CLASSES

    unmasked = [c for c in LUMA_CLASSES if extract.mask_class_word(f"one {c} here", c) == f"one {c} here"]
    assert len(unmasked) == 16 and "horse" in unmasked and "woman" in unmasked and "dog" not in unmasked


def test_mask_class_word_options_and_errors(tiny):
    assert extract.mask_class_word("A horse runs.", "horse", stem_label=True) == "a [MASK] runs."
    assert extract.mask_class_word("Cats!", "cat", mask="<m>") == "<m>!"
    tokenizer = tiny["text"][1]  # LUMA's exact route: word pieces, then the tokenizer's decode
    assert extract.mask_class_word("The Dog barks !", "dog", tokenizer=tokenizer) == "the [MASK] barks!"
    for text, name in ((None, "dog"), ("a dog", 3)):
        with pytest.raises(TypeError, match="expected a text and a class name \\(str\\)"):
            extract.mask_class_word(text, name)
    with pytest.raises(ValueError, match="expected a non-empty class name, got ''"):
        extract.mask_class_word("a dog", "")


def test_text_features_mean_and_cls(tiny):
    bert, tokenizer = tiny["text"]
    texts = ["the dog", "a cat sat on the mat, and a dog", "dog"]
    mean = extract.text_features(bert, tokenizer, texts, batch_size=2)
    cls = extract.text_features(bert, tokenizer, texts, pooling="cls", batch_size=2)
    assert mean.shape == cls.shape == (3, 768) and mean.dtype == cls.dtype == np.float32
    assert not np.allclose(mean, cls, atol=1e-3)
    for i, text in enumerate(texts):  # LUMA: one text at a time, no padding, mean over all tokens
        with torch.no_grad():
            h = bert(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]
        np.testing.assert_allclose(mean[i], h.mean(0).numpy(), atol=1e-5)
        np.testing.assert_allclose(cls[i], h[0].numpy(), atol=1e-5)
    enc = tokenizer(texts[:2], padding=True, return_tensors="pt")
    assert enc["attention_mask"][0].sum() < enc["attention_mask"].shape[1]  # the batch really was padded


def test_text_features_errors(tiny):
    bert, tokenizer = tiny["text"]
    with pytest.raises(ValueError, match="pooling: expected 'mean' or 'cls', got 'max'"):
        extract.text_features(bert, tokenizer, ["a"], pooling="max")
    with pytest.raises(ValueError, match="texts: expected a non-empty list of strings, got 0 items"):
        extract.text_features(bert, tokenizer, [])
    with pytest.raises(TypeError, match="texts: expected strings, got a int 3 among 2 items"):
        extract.text_features(bert, tokenizer, ["a", 3])


# ---------------------------------------------------------------------------------------- helpers
def test_run_in_chunks_resumes(tmp_path):
    calls = []

    def fn(chunk):
        calls.append(list(chunk))
        return np.asarray(chunk, dtype=np.float32)[:, None] * 2

    items = list(range(10))
    out = extract.run_in_chunks(fn, items, tmp_path, "x", chunk_size=4)
    np.testing.assert_array_equal(out, np.arange(10, dtype=np.float32)[:, None] * 2)
    assert calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x_part00000.npy", "x_part00001.npy", "x_part00002.npy"]
    calls.clear()
    np.testing.assert_array_equal(extract.run_in_chunks(fn, items, tmp_path, "x", chunk_size=4), out)
    assert calls == []  # every part on disk: fn is not called
    (tmp_path / "x_part00001.npy").unlink()
    np.testing.assert_array_equal(extract.run_in_chunks(fn, np.array(items), tmp_path, "x", chunk_size=4), out)
    assert calls == [[4, 5, 6, 7]]  # only the missing part is recomputed
    with pytest.raises(ValueError, match=r"x_part00000.npy: expected 5 rows .* got 4"):
        extract.run_in_chunks(fn, items, tmp_path, "x", chunk_size=5)  # parts of another chunk size


def test_an_unreadable_part_is_recomputed_with_a_warning_naming_it(tmp_path):
    items = list(range(6))
    out = extract.run_in_chunks(lambda c: np.asarray(c, np.float32)[:, None], items, tmp_path, "x", chunk_size=3)
    (tmp_path / "x_part00001.npy").write_bytes(b"not a npy file")
    with pytest.warns(UserWarning, match=r"x_part00001.npy is unreadable \(ValueError\): computing it again"):
        again = extract.run_in_chunks(lambda c: np.asarray(c, np.float32)[:, None], items, tmp_path, "x", chunk_size=3)
    np.testing.assert_array_equal(again, out)


def test_run_in_chunks_errors(tmp_path):
    with pytest.raises(ValueError, match="expected items and chunk_size >= 1, got 0 items"):
        extract.run_in_chunks(len, [], tmp_path, "x")
    with pytest.raises(ValueError, match="chunk_size=0"):
        extract.run_in_chunks(len, [1], tmp_path, "x", chunk_size=0)
    with pytest.raises(ValueError, match="y_part00000.npy: expected 3 rows"):
        extract.run_in_chunks(lambda c: np.zeros((1, 2)), [1, 2, 3], tmp_path, "y")
    assert not list(tmp_path.iterdir())  # a wrong result is never saved


def test_model_fingerprint_and_tiny_models_are_deterministic(tiny):
    rng_state = torch.get_rng_state()
    same, other = extract.tiny_models(seed=0), extract.tiny_models(seed=1)
    assert torch.equal(rng_state, torch.get_rng_state())  # the global stream is left alone
    for kind in extract.KINDS:
        a, b, c = (m[kind][0] if kind == "text" else m[kind] for m in (tiny, same, other))
        fa = extract.model_fingerprint(a)
        assert len(fa) == 64 and fa == extract.model_fingerprint(b) != extract.model_fingerprint(c)
    model = copy.deepcopy(tiny["image"])
    before = extract.model_fingerprint(model)
    with torch.no_grad():
        model.classifier[6][2].bias[0] += 1e-6
    assert extract.model_fingerprint(model) != before
    with torch.device("meta"):
        meta = VGG11BN(**SMALL)
    with pytest.raises(ValueError, match="features.0.weight is on the meta device"):
        extract.model_fingerprint(meta)
    with pytest.raises(TypeError, match="expected a torch.nn.Module, got dict"):
        extract.model_fingerprint({})


def test_tiny_models_dims(tiny):
    images, _ = images_labels(n=2)
    assert extract.image_features(tiny["image"], images, image_size=32).shape == (2, 50)
    assert extract.image_features(tiny["image"], images, kind="penultimate", image_size=32).shape == (2, 64)
    assert tiny["audio"].config.hidden_size == 1024 and tiny["text"][0].config.hidden_size == 768
    small = extract.tiny_models(seed=0, dims={"image": 6, "audio": 12, "text": 10})
    assert extract.image_features(small["image"], images, image_size=32).shape == (2, 6)
    assert extract.audio_features(small["audio"], [np.zeros(40)]).shape == (1, 12)
    assert extract.text_features(*small["text"], ["a dog"]).shape == (1, 10)
    for dims in ({"video": 3}, {"image": 0}):
        with pytest.raises(ValueError, match="dims: expected positive integers"):
            extract.tiny_models(dims=dims)


# ------------------------------------------------------------------------------------- pretrained
def test_load_pretrained_offline_raises_connection_error(monkeypatch, tmp_path):
    import transformers

    def offline_url(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    def offline_hub(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline_url)
    with pytest.raises(ConnectionError) as err:
        extract.load_pretrained("image", cache_dir=tmp_path)
    msg = str(err.value)
    assert extract.IMAGE_WEIGHTS_URL in msg and "internet" in msg
    assert f"copy vgg11_bn-6002323d.pth into {tmp_path}" in msg
    assert "name resolution" in msg
    monkeypatch.setattr(transformers.Wav2Vec2Model, "from_pretrained", offline_hub)
    monkeypatch.setattr(transformers.BertModel, "from_pretrained", offline_hub)
    for kind, model_id in (("audio", extract.AUDIO_MODEL_ID), ("text", extract.TEXT_MODEL_ID)):
        with pytest.raises(ConnectionError, match=f"could not download the pretrained {kind} model {model_id} "
                                                  f"from https://huggingface.co/{model_id}") as err:
            extract.load_pretrained(kind)
        assert all(w in str(err.value) for w in ("internet", "HF_HOME", "HF_HUB_OFFLINE=1"))
    with pytest.raises(ValueError, match="kind: expected one of .* got 'video'"):
        extract.load_pretrained("video")


def test_load_pretrained_image_loads_the_downloaded_state(monkeypatch, tmp_path):
    source = VGG11BN(**SMALL)
    seen = {}

    def fake_download(url, **kwargs):
        seen.update(url=url, **kwargs)
        return copy.deepcopy(source.state_dict())

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    monkeypatch.setattr(extract.models, "VGG11BN", lambda: VGG11BN(**SMALL))  # the full one is 500 MB
    model, info = extract.load_pretrained("image", cache_dir=tmp_path)
    assert seen["url"] == extract.IMAGE_WEIGHTS_URL and seen["model_dir"] == tmp_path and seen["check_hash"]
    assert extract.model_fingerprint(model) == extract.model_fingerprint(source) and not model.training
    assert info["kind"] == "image" and info["source"] == extract.IMAGE_WEIGHTS_URL
    assert set(info["versions"]) == {"torch", "transformers"}
