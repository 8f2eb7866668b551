import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from mmae.artifacts import checkpoint_path, latents_path
from mmae.models import MMAEKnobs
from mmae.training.loop import batches
from mmae.training import (TrainConfig, evolve, make_config, train_seeds, encode, load_checkpoint, load_or_train,
                            pick_device, save_run, train)

CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=3, batch_size=32, seed=7, device="cpu")


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
    _, c = train(tiny_std, evolve(CFG, seed=8), progress=False)
    assert not np.allclose(a.loss, c.loss)


def test_checkpoint_round_trip(tiny_std, tmp_path):
    model, history = train(tiny_std, CFG, progress=False)
    path = save_run(model, CFG, history, tiny_std, tmp_path)
    assert path == checkpoint_path(tmp_path, 4) and path.name == "mmae_z4.pt"
    ckpt = torch.load(path, weights_only=True)  # the paper's artifact loads without pickle
    assert ckpt["format"] == "mmae-checkpoint/3" and ckpt["model"] == "mmae" and ckpt["seeds"] == [CFG.optim.seed]
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
    _, h3 = load_or_train(tiny_std, evolve(CFG, epochs=2), tmp_path, progress=False)
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


@pytest.mark.parametrize("model, field, value, error, message", [
    ("mmae", "epochs", 0, ValueError, "Optim.epochs must be a positive int, got 0"),
    ("mmae", "epochs", True, TypeError, "Optim.epochs must be an int, got bool True"),
    ("mmae", "batch_size", 1.5, TypeError, "Optim.batch_size must be an int, got float 1.5"),
    ("mmae", "batch_size", 1, ValueError, "Optim.batch_size must be an int >= 2, got 1"),
    ("mmae", "latent_dim", -1, ValueError, "TrainConfig.latent_dim must be a positive int, got -1"),
    ("mmae", "seed", False, TypeError, "Optim.seed must be an int, got bool False"),
    ("mmae", "hidden", (8, 0), ValueError, r"TrainConfig.hidden must be a list of positive ints, got \(8, 0\)"),
    ("mmae", "hidden", "88", TypeError, r"TrainConfig.hidden must be a list of ints, got str '88'"),
    ("mmae", "fusion", "sum", ValueError, r"TrainConfig.fusion must be one of \('mean', 'max'\), got 'sum'"),
    ("mmae", "lr", 0.0, ValueError, "Optim.lr must be a finite number > 0, got 0.0"),
    ("mmae", "lr", float("inf"), ValueError, "Optim.lr must be a finite number > 0, got inf"),
    ("mmae", "lr", 1e308 * 10, ValueError, "Optim.lr must be a finite number > 0, got inf"),
    ("mmae", "lr", float("nan"), ValueError, "Optim.lr must be a finite number > 0, got nan"),
    ("mmae", "lr", True, TypeError, "Optim.lr must be a number, got bool True"),
    ("mmae", "lr", "1e-3", TypeError, "Optim.lr must be a number, got str '1e-3'"),
    ("mmae", "device", 0, TypeError, "Runtime.device must be a str, got int 0"),
    ("mvae", "beta", -1, ValueError, "MVAEKnobs.beta must be a finite number >= 0, got -1"),
    ("mvae", "beta", float("nan"), ValueError, "MVAEKnobs.beta must be a finite number >= 0, got nan"),
    ("contrastive", "temperature", 0, ValueError, "ContrastiveKnobs.temperature must be a finite number > 0, got 0"),
    ("contrastive", "temperature", float("inf"), ValueError, "ContrastiveKnobs.temperature must be a finite number > 0, got inf"),
    ("mmae", "modality_dropout", float("nan"), ValueError, r"MMAEKnobs.modality_dropout must be a number in \[0, 1\), got nan"),
    ("mmae", "loss_weights", {"audio": float("nan")}, ValueError, r"MMAEKnobs.loss_weights must be None or a dict of "
                                                                  r"modality to a finite weight >= 0, got \{'audio': nan\}"),
    ("mmae", "loss_weights", {"audio": -0.5}, ValueError, r"MMAEKnobs.loss_weights .* got \{'audio': -0.5\}"),
    ("mmae", "loss_weights", [1.0], TypeError, r"MMAEKnobs.loss_weights must be None or a dict of modality to weight, "
                                              r"got list \[1.0\]"),
    ("mmae", "beta", 0.5, TypeError, "make_config: unknown parameter 'beta' for model 'mmae'"),
])
def test_config_validation(model, field, value, error, message):
    """One rule per field, declared beside it: TypeError for a value of the wrong kind, ValueError
    for one out of range, each naming the part and the field."""
    with pytest.raises(error, match=message):
        make_config(model, **{field: value})


def test_config_parts_say_one_thing_each():
    cfg = make_config("mvae", epochs=5, beta=0.5, device="cpu", latent_dim=8)
    assert (cfg.knobs.beta, cfg.optim.epochs, cfg.runtime.device, cfg.latent_dim) == (0.5, 5, "cpu", 8)
    assert evolve(cfg, lr=0.1).knobs.beta == 0.5 and evolve(cfg, lr=0.1).optim.lr == 0.1
    assert evolve(cfg, model="mmae").knobs == MMAEKnobs()  # another model starts from its own knobs
    with pytest.raises(TypeError, match=r"TrainConfig.knobs must be a mmae.models.mmae.MMAEKnobs \(model='mmae'\), "
                                        r"got MVAEKnobs"):
        TrainConfig(knobs=cfg.knobs)
    with pytest.raises(TypeError, match="TrainConfig.optim must be a mmae.training.config.Optim"):
        TrainConfig(optim={"epochs": 5})


def test_loss_weights_must_name_modalities_of_the_data(tiny_std):
    cfg = evolve(CFG, loss_weights={"audio": 0.5, "vision": 1.0})
    with pytest.raises(ValueError, match=r"loss_weights names \['vision'\], which are not modalities "
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
    cfg = evolve(CFG, lr=1e10)  # Adam's first step makes the weights ~1e10
    with pytest.raises(FloatingPointError, match=r"mmae training loss is (nan|inf) at epoch 1, batch \d of 6 "
                                                 r"\(seed 7\): training stopped and nothing is saved. "
                                                 r"Try a lower lr \(now 1e\+10\)."):
        load_or_train(tiny_std, cfg, tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []


def test_batches_never_leave_one_row_alone():
    """BatchNorm cannot normalise one row: a last batch of one joins the batch before it."""
    assert batches(129, 128) == [slice(0, 129)]
    assert batches(80, 79) == [slice(0, 80)]
    assert batches(130, 128) == [slice(0, 128), slice(128, 130)]
    assert batches(256, 128) == [slice(0, 128), slice(128, 256)]
    assert batches(2, 128) == [slice(0, 2)]
    assert [s.stop - s.start for s in batches(18_900, 128)][-2:] == [128, 84]
    with pytest.raises(ValueError, match="the train split must hold at least 2 rows .*, got 1"):
        batches(1, 128)


@pytest.mark.parametrize("seeds", [[0], [0, 1]])
def test_a_remainder_of_one_row_trains(tiny_std, seeds, one_thread):
    """129 rows at batch 128 died in BatchNorm ("Expected more than 1 value per channel"), with one
    seed and with several; every row is still seen once an epoch."""
    x = {m: np.concatenate([a, a])[:129] for m, a in tiny_std.x["train"].items()}
    f = dataclasses.replace(tiny_std, x={**tiny_std.x, "train": x},
                            y={**tiny_std.y, "train": np.concatenate([tiny_std.y["train"]] * 2)[:129]})
    models, histories = train_seeds(f, evolve(CFG, batch_size=128, epochs=2), seeds, progress=False)
    assert len(models) == len(seeds) and all(np.isfinite(h["loss"]).all() for h in histories)


@pytest.mark.parametrize("model, evaluated", [("mmae", 2), ("mvae", 2), ("contrastive", 0)])
@pytest.mark.parametrize("seeds", [[0], [0, 1]])
def test_the_test_loss_is_computed_only_for_a_model_that_reconstructs(tiny_std, monkeypatch, model, evaluated, seeds):
    """A model with decoders logs its test reconstruction every epoch; the contrastive model has
    none to log, so its full-split loss is never computed (issue 21: it cost 0.7 s an epoch)."""
    from mmae.training import loop

    calls = []
    real = loop.evaluate
    monkeypatch.setattr(loop, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    _, histories = train_seeds(tiny_std, make_config(model, epochs=2, batch_size=32), seeds, progress=False)
    assert len(calls) == evaluated
    tests = [c for c in histories[0].columns if c.startswith("test_")]
    assert (len(tests) > 0) == (evaluated > 0) and len(histories) == len(seeds)
