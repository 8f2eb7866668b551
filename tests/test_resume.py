"""Resumable training: a killed run continues bit-identically, caches are one unit and never crash.

An interruption is simulated by raising ``KeyboardInterrupt`` from inside training: right after
the resume state of an epoch is written (``resume.save_torch``), or in the middle of a later epoch
(``Run.check``), after which the run must go back to the last state written and replay.
"""
import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from mmae.artifacts import checkpoint_path, latents_path
from mmae.training import (evolve, make_config, encode, latents_match, load_or_train, load_or_train_seeds, resume_path_of,
                           train, train_seeds)
from mmae.models import MODELS
from mmae.training import resume

CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=4, batch_size=32, device="cpu")
REF = evolve(CFG, seed=7)  # one seed: the plain loop on the module itself


def assert_identical(a: tuple[list, list], b: tuple[list, list]) -> None:
    """Same parameters and buffers (torch.equal) and the same history but for the seconds."""
    for ma, mb in zip(*(x[0] for x in (a, b)), strict=True):
        sa, sb = ma.state_dict(), mb.state_dict()
        assert sa.keys() == sb.keys()
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k
    for ha, hb in zip(a[1], b[1], strict=True):
        pd.testing.assert_frame_equal(ha.drop(columns="seconds"), hb.drop(columns="seconds"), check_exact=True)


def kill_after_save(mp, epoch: int) -> None:
    """Interrupt training right after the resume state of ``epoch`` is on disk."""
    real = resume.save_torch

    def save(state, path):
        real(state, path)
        if state["epoch"] == epoch:
            raise KeyboardInterrupt

    mp.setattr(resume, "save_torch", save)


def kill_during(mp, epoch: int) -> None:
    """Interrupt training in ``epoch``, after its steps (so the weights in memory are ahead of the file)."""
    real = resume.Run.check

    def check(self, e, losses):
        if e == epoch:
            raise KeyboardInterrupt
        return real(self, e, losses)

    mp.setattr(resume.Run, "check", check)


@pytest.mark.parametrize("stop", [2, 4])
def test_seeds_together_resume_bit_identically(tiny_std, tmp_path, monkeypatch, capsys, one_thread, stop):
    seeds, path = [0, 1], tmp_path / "run.resume.pt"
    alone = train_seeds(tiny_std, CFG, seeds, progress=False)
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_after_save(mp, stop)
        train_seeds(tiny_std, CFG, seeds, progress=False, resume_path=path, save_every=1)
    saved = torch.load(path, weights_only=True)
    assert saved["epoch"] == stop and saved["format"] == "mmae-resume/2" and len(saved["generators"]) == 4
    resumed = train_seeds(tiny_std, CFG, seeds, progress=False, resume_path=path, save_every=1)
    assert f"Resuming from run.resume.pt: epoch {stop} of 4 done." in capsys.readouterr().out
    assert_identical(alone, resumed)
    # the epochs before the interruption were not trained again: their rows are the saved ones
    assert resumed[1][1].seconds.tolist()[:stop] == [r["seconds"] for r in saved["rows"][1]]


@pytest.mark.parametrize("batch_size", [32, 167])  # 168 rows: with 167, the last row joins the batch before it
def test_one_seed_resumes_bit_identically(tiny_std, tmp_path, monkeypatch, capsys, one_thread, batch_size):
    path, ref = tmp_path / "ref.resume.pt", evolve(REF, batch_size=batch_size)
    model, history = train(tiny_std, ref, progress=False)
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_during(mp, 3)  # state written after epoch 2; epoch 3 is lost and replayed
        train(tiny_std, ref, progress=False, resume_path=path, save_every=2)
    assert torch.load(path, weights_only=True)["epoch"] == 2
    resumed = train(tiny_std, ref, progress=False, resume_path=path, save_every=2)
    assert "epoch 2 of 4 done" in capsys.readouterr().out
    assert_identical(([model], [history]), ([resumed[0]], [resumed[1]]))


def test_load_or_train_seeds_resumes_then_removes_the_resume_state(tiny_std, tmp_path, monkeypatch, capsys, one_thread):
    path, seeds = tmp_path / "mmae_z4.pt", [0, 1]
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_during(mp, 4)
        load_or_train_seeds(tiny_std, CFG, seeds, path, progress=False, save_every=3)
    assert resume_path_of(path) == tmp_path / "mmae_z4.resume.pt" and resume_path_of(path).exists()
    assert not path.exists()
    resumed = load_or_train_seeds(tiny_std, CFG, seeds, path, progress=False, save_every=3)
    assert "epoch 3 of 4 done" in capsys.readouterr().out
    assert path.exists() and not resume_path_of(path).exists()
    assert_identical(train_seeds(tiny_std, CFG, seeds, progress=False), resumed)


def test_load_or_train_resumes_then_removes_the_resume_state(tiny_std, tmp_path, monkeypatch, capsys, one_thread):
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_after_save(mp, 1)
        load_or_train(tiny_std, REF, tmp_path, progress=False, save_every=1)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".lock") == ["mmae_z4.resume.pt"]
    model, history = load_or_train(tiny_std, REF, tmp_path, progress=False)
    assert "epoch 1 of 4 done" in capsys.readouterr().out
    assert not resume_path_of(checkpoint_path(tmp_path, 4)).exists()
    again = train(tiny_std, REF, progress=False)
    assert_identical(([model], [history]), ([again[0]], [again[1]]))


def truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def test_truncated_checkpoint_is_trained_again(tiny_std, tmp_path, capsys, one_thread):
    first = load_or_train_seeds(tiny_std, CFG, [0], tmp_path / "m.pt", progress=False)
    truncate(tmp_path / "m.pt")
    with pytest.warns(UserWarning) as warned:
        again = load_or_train_seeds(tiny_std, CFG, [0], tmp_path / "m.pt", progress=False)
    assert len(warned) == 1 and str(warned[0].message).startswith(f"{tmp_path / 'm.pt'} is unreadable (")
    assert str(warned[0].message).endswith("): training again.") and capsys.readouterr().out == ""
    assert_identical(first, again)
    assert torch.load(tmp_path / "m.pt", weights_only=True)["key"]  # rewritten whole

    model, _ = load_or_train(tiny_std, REF, tmp_path, progress=False)
    truncate(checkpoint_path(tmp_path, 4))
    with pytest.warns(UserWarning, match=f"{checkpoint_path(tmp_path, 4)} is unreadable"):
        again, _ = load_or_train(tiny_std, REF, tmp_path, progress=False)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())


def test_unreadable_or_foreign_resume_state_is_ignored(tiny_std, tmp_path, monkeypatch, capsys, one_thread):
    path = tmp_path / "m.pt"
    alone = train_seeds(tiny_std, CFG, [0], progress=False)
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_after_save(mp, 2)
        load_or_train_seeds(tiny_std, CFG, [0], path, progress=False, save_every=1)
    truncate(resume_path_of(path))
    with pytest.warns(UserWarning, match=f"{resume_path_of(path)} is unreadable"):
        assert_identical(alone, load_or_train_seeds(tiny_std, CFG, [0], path, progress=False))
    assert not resume_path_of(path).exists()

    # the state of another run (here: 3 epochs) filed under the same name is never resumed
    path.unlink()
    with monkeypatch.context() as mp, pytest.raises(KeyboardInterrupt):
        kill_after_save(mp, 2)
        load_or_train_seeds(tiny_std, evolve(CFG, epochs=3), [0], path, progress=False, save_every=1)
    with pytest.warns(UserWarning, match="m.resume.pt belongs to another run"):
        assert_identical(alone, load_or_train_seeds(tiny_std, CFG, [0], path, progress=False))


def test_latents_of_another_run_are_detected_and_rewritten(tiny_std, tmp_path, capsys, one_thread):
    a, b = tmp_path / "a", tmp_path / "b"
    model, _ = load_or_train(tiny_std, REF, a, progress=False)
    load_or_train(tiny_std, evolve(REF, seed=8), b, progress=False)
    ckpt = torch.load(checkpoint_path(a, 4), weights_only=True)
    assert set(ckpt["latents"]) == {latents_path(a, 4, s).name for s in tiny_std.splits} and latents_match(ckpt, a)
    shutil.copy(latents_path(b, 4, "test"), latents_path(a, 4, "test"))  # b's latents beside a's checkpoint
    assert not latents_match(ckpt, a)
    assert not latents_match({k: v for k, v in ckpt.items() if k != "latents"}, a)  # names none: cannot tell
    capsys.readouterr()
    load_or_train(tiny_std, REF, a, progress=False)
    assert "the latents beside it are not its own: writing them again" in capsys.readouterr().out
    assert latents_match(torch.load(checkpoint_path(a, 4), weights_only=True), a)
    np.testing.assert_array_equal(np.load(latents_path(a, 4, "test")), encode(model, tiny_std.x["test"]))
    latents_path(a, 4, "train").unlink()
    assert not latents_match(ckpt, a)


def test_failures_cache_nothing(tiny_std, tmp_path, monkeypatch, one_thread):
    """A loss that turns NaN in epoch 3 removes the resume states of epochs 1-2: they lead only there."""
    real, calls = MODELS["mmae"].loss, [0]

    def loss(model, x, *args, **kwargs):
        total, parts = real(model, x, *args, **kwargs)
        calls[0] += model.training
        return (total * float("nan") if calls[0] > 2 * 6 else total), parts  # once per step for both seeds (vmap)

    monkeypatch.setitem(MODELS, "mmae", dataclasses.replace(MODELS["mmae"], loss=loss))
    with pytest.raises(FloatingPointError, match="at epoch 3, batch 1 of 6 "):
        load_or_train_seeds(tiny_std, CFG, [0, 1], tmp_path / "m.pt", progress=False, save_every=1)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []
    nan = dataclasses.replace(tiny_std, x={**tiny_std.x, "train": {**tiny_std.x["train"]}})
    nan.x["train"]["text"] = np.full_like(tiny_std.x["train"]["text"], np.nan)
    with pytest.raises(FloatingPointError, match=r"non-finite values \(text: 1344\)"):
        load_or_train_seeds(nan, CFG, [0, 1], tmp_path / "m.pt", progress=False)
    with pytest.raises(ValueError, match="loss_weights names"):
        load_or_train(tiny_std, evolve(REF, loss_weights={"txt": 1.0}), tmp_path, progress=False)
    assert [p.name for p in tmp_path.iterdir() if p.name != ".lock"] == []


def test_resume_arguments_are_checked(tiny_std, tmp_path):
    with pytest.raises(ValueError, match="save_every must be a positive int"):
        train_seeds(tiny_std, CFG, [0], progress=False, resume_path=tmp_path / "r.pt", save_every=0)
    from mmae.models import MMAE
    from mmae.training.loop import fit

    with pytest.raises(ValueError, match=r"resume_path='.*r.pt' needs the run key \(key=...\), got None"):
        fit([MMAE({"a": 2}, 2, (4,))], [0], CFG, {"a": torch.zeros(4, 2)}, resume_path=tmp_path / "r.pt")


def test_several_seeds_of_the_training_notebook_are_written_and_loaded(tiny_std, tmp_path, capsys, one_thread):
    """n_seeds > 1: the seeds train together, each run lands in seed{s}/ and the first also in the
    folder itself; a second call loads them all."""
    model, history = load_or_train(tiny_std, REF, tmp_path, progress=False, n_seeds=2)
    for s in (7, 8):
        ckpt = torch.load(checkpoint_path(tmp_path / f"seed{s}", 4), weights_only=True)
        assert ckpt["seeds"] == [s] and latents_match(ckpt, tmp_path / f"seed{s}")
    assert torch.load(checkpoint_path(tmp_path, 4), weights_only=True)["seeds"] == [7]
    capsys.readouterr()
    again, history2 = load_or_train(tiny_std, REF, tmp_path, progress=False, n_seeds=2)
    assert "Loaded the runs of seeds [7, 8]" in capsys.readouterr().out
    pd.testing.assert_frame_equal(history, history2)
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="n_seeds must be a positive int, got 0"):
        load_or_train(tiny_std, REF, tmp_path, progress=False, n_seeds=0)
