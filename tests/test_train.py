import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mmae.artifacts import checkpoint_path, latents_path
from mmae.training import (TrainConfig, encode, load_checkpoint, load_or_train, pick_device, save_run,
                        train)

CFG = TrainConfig(latent_dim=4, hidden=(8, 8), epochs=3, batch_size=32, seed=7, device="cpu")


def test_history_columns_and_learning(tiny_std):
    model, history = train(tiny_std, CFG, progress=False)
    assert list(history.columns) == ["epoch", "loss", "loss_image", "loss_audio", "loss_text", "test_loss",
                                     "test_loss_image", "test_loss_audio", "test_loss_text", "seconds"]
    assert history.epoch.tolist() == [1, 2, 3]
    np.testing.assert_allclose(history.loss, history[["loss_image", "loss_audio", "loss_text"]].sum(axis=1), rtol=1e-6)
    assert not model.training
    assert history.loss.is_monotonic_decreasing and history.loss.iloc[-1] < 0.95 * history.loss.iloc[0]  # it learns


def test_same_seed_identical_history(tiny_std):
    _, a = train(tiny_std, CFG, progress=False)
    _, b = train(tiny_std, CFG, progress=False)
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))
    _, c = train(tiny_std, dataclasses.replace(CFG, seed=8), progress=False)
    assert not np.allclose(a.loss, c.loss)


def test_checkpoint_round_trip(tiny_std, tmp_path):
    model, history = train(tiny_std, CFG, progress=False)
    path = save_run(model, CFG, history, tiny_std, tmp_path)
    assert path == checkpoint_path(tmp_path, 4) and path.name == "mmae_z4.pt"
    ckpt = torch.load(path, weights_only=True)  # the paper's artifact loads without pickle
    assert ckpt["format"] == "mmae-checkpoint/2" and ckpt["model"] == "mmae" and ckpt["seeds"] == [CFG.seed]
    assert ckpt["train_config"] == dataclasses.asdict(CFG)
    assert ckpt["model_config"] == {"dims": tiny_std.dims, "latent_dim": 4, "hidden": (8, 8), "fusion": "mean"}
    assert ckpt["data"] == {"name": "tiny synthetic", "fingerprint": tiny_std.fingerprint(), "synthetic": True}
    assert len(ckpt["state_dicts"]) == len(ckpt["histories"]) == 1
    pd.testing.assert_frame_equal(pd.DataFrame(ckpt["histories"][0]), history)
    (loaded,), _ = load_checkpoint(path, "cpu")
    for (k, v), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    z = np.load(latents_path(tmp_path, 4, "test"))
    np.testing.assert_array_equal(z, encode(loaded, tiny_std.x["test"]))
    assert z.shape == (84, 4)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="mmae_z128.pt does not exist"):
        load_checkpoint(tmp_path / "mmae_z128.pt")


def test_load_or_train_reuses_only_the_same_run(tiny_std, tmp_path, capsys):
    _, h1 = load_or_train(tiny_std, CFG, tmp_path, progress=False)
    _, h2 = load_or_train(tiny_std, CFG, tmp_path, progress=False)
    assert "Loaded mmae_z4.pt" in capsys.readouterr().out
    pd.testing.assert_frame_equal(h1, h2)
    _, h3 = load_or_train(tiny_std, dataclasses.replace(CFG, epochs=2), tmp_path, progress=False)
    assert "trained with other code, data or parameters" in capsys.readouterr().out and len(h3) == 2


def test_encode_each_and_subsets(tiny_std):
    model, _ = train(tiny_std, CFG, progress=False)
    each = encode(model, tiny_std.x["test"], each=True)
    assert {m: z.shape for m, z in each.items()} == {m: (84, 4) for m in ("image", "audio", "text")}
    np.testing.assert_allclose(encode(model, tiny_std.x["test"]), sum(each.values()) / 3, atol=1e-6)
    np.testing.assert_allclose(encode(model, {"text": tiny_std.x["test"]["text"]}), each["text"], atol=1e-6)


def test_pick_device():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in {"cpu", "cuda", "mps"}


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "TrainConfig.epochs must be a positive int, got 0"),
    ("epochs", True, "TrainConfig.epochs must be a positive int, got True"),
    ("batch_size", 1.5, "TrainConfig.batch_size must be a positive int, got 1.5"),
    ("latent_dim", -1, "TrainConfig.latent_dim must be a positive int, got -1"),
    ("seed", False, "TrainConfig.seed must be an int, got False"),
    ("hidden", (8, 0), r"TrainConfig.hidden must be a sequence of positive ints, got \(8, 0\)"),
    ("lr", 0.0, "TrainConfig.lr must be a finite number > 0, got 0.0"),
    ("lr", float("inf"), "TrainConfig.lr must be a finite number > 0, got inf"),
    ("lr", 1e308 * 10, "TrainConfig.lr must be a finite number > 0, got inf"),
    ("lr", float("nan"), "TrainConfig.lr must be a finite number > 0, got nan"),
    ("lr", True, "TrainConfig.lr must be a finite number > 0, got True"),
    ("lr", "1e-3", "TrainConfig.lr must be a finite number > 0, got '1e-3'"),
    ("beta", -1, "TrainConfig.beta must be a finite number >= 0, got -1"),
    ("beta", float("nan"), "TrainConfig.beta must be a finite number >= 0, got nan"),
    ("temperature", 0, "TrainConfig.temperature must be a finite number > 0, got 0"),
    ("temperature", float("inf"), "TrainConfig.temperature must be a finite number > 0, got inf"),
    ("modality_dropout", float("nan"), r"TrainConfig.modality_dropout must be in \[0, 1\), got nan"),
    ("loss_weights", {"audio": float("nan")}, r"TrainConfig.loss_weights\['audio'\] must be a finite number >= 0, got nan"),
    ("loss_weights", {"audio": -0.5}, r"TrainConfig.loss_weights\['audio'\] must be a finite number >= 0, got -0.5"),
    ("loss_weights", [1.0], r"TrainConfig.loss_weights must be None or a dict of modality to weight, got \[1.0\]"),
])
def test_config_validation(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_loss_weights_must_name_modalities_of_the_data(tiny_std):
    cfg = dataclasses.replace(CFG, loss_weights={"audio": 0.5, "vision": 1.0})
    with pytest.raises(ValueError, match=r"TrainConfig.loss_weights names \['vision'\], which are not modalities "
                                         r"of the data \('image', 'audio', 'text'\)"):
        train(tiny_std, cfg, progress=False)


def with_nan(features, split="train", modality="audio", row=5):
    x = {s: dict(v) for s, v in features.x.items()}
    x[split][modality] = x[split][modality].copy()
    x[split][modality][row, 0] = np.nan
    return dataclasses.replace(features, x=x)


def test_nan_in_the_features_stops_training(tiny_std, tmp_path, one_thread):
    cfg = CFG
    with pytest.raises(FloatingPointError, match=r"mmae training loss is nan at epoch 1, batch \d of 6 \(seed 7\): "
                                                 r".*non-finite values \(audio: 1\): remove or impute them"):
        load_or_train(with_nan(tiny_std), cfg, tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []  # no checkpoint, no latents, no resume state


def test_divergence_stops_training_and_caches_nothing(tiny_std, tmp_path, one_thread):
    cfg = dataclasses.replace(CFG, lr=1e10)  # Adam's first step makes the weights ~1e10
    with pytest.raises(FloatingPointError, match=r"mmae training loss is (nan|inf) at epoch 1, batch \d of 6 "
                                                 r"\(seed 7\): training stopped and nothing is saved. "
                                                 r"Try a lower lr \(now 1e\+10\)."):
        load_or_train(tiny_std, cfg, tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []
