"""Fault injection: kills and full disks during writes, concurrent writers and readers, a
read-only artifacts_dir, bad notebook parameters and devices. No raw traceback, no hang, no
half-written artifact."""
import errno
import multiprocessing as mp
import os
import time

import numpy as np
import pandas as pd
import pytest
import torch

from mmae import atomic, folders, params
from mmae.artifacts import writable_dir
from mmae.device import pick_device
from mmae.study import load_table, save_table


def test_a_kill_during_a_write_leaves_the_old_artifact(tmp_path):
    path = atomic.save_torch({"w": torch.ones(3)}, tmp_path / "model.pt")
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(path) as tmp:
            tmp.write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt  # the process dies mid-write
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind


def test_a_full_disk_leaves_the_old_artifact(tmp_path, monkeypatch):
    path = atomic.save_npy(tmp_path / "latents.npy", np.arange(4.0))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(OSError, match="No space left"):
        atomic.save_npy(path, np.zeros(10**6))
    monkeypatch.undo()
    np.testing.assert_array_equal(np.load(path), np.arange(4.0))
    assert [p.name for p in tmp_path.iterdir()] == ["latents.npy"]


def _hammer(path, n):
    for i in range(n):
        atomic.save_torch({"i": i, "w": torch.full((20_000,), float(i))}, path)


def test_a_reader_racing_a_writer_never_sees_a_partial_file(tmp_path):
    path = atomic.save_torch({"i": -1, "w": torch.zeros(20_000)}, tmp_path / "zoo.pt")
    writer = mp.get_context("spawn").Process(target=_hammer, args=(path, 200))
    writer.start()
    reads = 0
    while writer.is_alive() or reads == 0:
        ckpt = torch.load(path, weights_only=True)  # must never raise
        assert torch.all(ckpt["w"] == ckpt["w"][0])  # one write's content, never a mix
        reads += 1
    writer.join()
    assert writer.exitcode == 0 and reads > 0


def _hold(folder, seconds, ready):
    with folders.folder_lock(folder):
        ready.set()
        time.sleep(seconds)


def test_a_second_writer_waits_then_fails_clearly(tmp_path):
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path, 5, ready))
    holder.start()
    assert ready.wait(30)
    with pytest.raises(TimeoutError, match=rf"{tmp_path} is locked by pid {holder.pid} .*another run is writing"):
        with folders.folder_lock(tmp_path, timeout=0.5, poll=0.1):
            pass
    holder.join()
    with folders.folder_lock(tmp_path, timeout=1):  # free again
        with folders.folder_lock(tmp_path, timeout=0):  # nested in one process: shared, no deadlock
            pass


def test_an_unreadable_table_is_recomputed_not_a_crash(tmp_path):
    table = pd.DataFrame({"model": ["mmae"], "value": [0.5]})
    save_table(table, tmp_path, "retrieval", "k1")
    (tmp_path / "beyond_retrieval.csv").write_bytes(b"\x00\xff garbage")
    with pytest.raises(ValueError, match="beyond_retrieval.csv is unreadable \\(UnicodeDecodeError\\): run notebooks/08"):
        load_table(tmp_path, "retrieval", "k1")  # callers catch ValueError and recompute
    save_table(table, tmp_path, "retrieval", "k1")
    pd.testing.assert_frame_equal(load_table(tmp_path, "retrieval", "k1"), table)


def test_a_read_only_artifacts_dir_fails_before_any_work(tmp_path, monkeypatch):
    """A file system that refuses writes (patched: chmod does not stop root, who runs CI)."""
    def refuse(self, data):
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(type(tmp_path), "write_bytes", refuse)
    with pytest.raises(PermissionError, match="is not writable \\(Read-only file system\\)"):
        writable_dir(tmp_path)


@pytest.mark.parametrize("given, message", [
    ({"latnet_dim": 8}, "unknown parameter 'latnet_dim' \\(did you mean 'latent_dim'\\?\\)"),
    ({"epochs": 1.5}, "epochs must be an int \\(default 100\\), got float 1.5"),
    ({"lr": float("inf")}, "lr must be a finite number"),
    ({"data": 3}, "data must be a str"),
    ({"engine": "stacked"}, "unknown parameter .engine."),
    ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'tpu'"),
])
def test_bad_parameters_of_the_training_notebook(given, message):
    with pytest.raises(ValueError, match=message):
        params.check(given, "03_train")


@pytest.mark.parametrize("given, message", [
    ({"models": "mmae"}, "models must be a list .*got str 'mmae'"),
    ({"tune": "ture"}, "tune must be a bool \\(default True\\), got str 'ture'"),
    ({"seeds": 3}, "seeds must be a list"),
])
def test_bad_parameters_of_a_comparison_chapter(given, message):
    from mmae.study import ZooParams

    with pytest.raises(ValueError, match=message):
        params.check(given, "07_comparators", ZooParams)


def test_good_parameters_and_every_notebook_declares_its_parameters():
    from mmae.artifacts import project_root

    params.check({"latent_dim": 16, "lr": 1, "data": "synthetic", "device": "cpu", "In": [], "np": np}, "03_train")
    for source in sorted((project_root() / "notebooks").glob("[0-9]*.py")):
        text = source.read_text()
        params.declared(source.stem)  # every chapter has a parameters cell of plain values
        assert f'provenance.start("{source.stem}")' in text  # its clock starts with an explicit call
        assert (f'params.check(globals(), "{source.stem}"' in text  # its parameters are checked first
                or f'study.get_zoo(globals(), "{source.stem}")' in text)


@pytest.mark.parametrize("cell, message", [
    ("x = 1\ny = compute()\n", "plain assignments of literal values \\(name = value\\), got 'y = compute\\(\\)'"),
    ("x, y = 1, 2\n", "got 'x, y = \\(1, 2\\)'"),
    ("print(1)\n", "got 'print\\(1\\)'"),
])
def test_a_parameters_cell_that_is_not_plain_values_is_refused(tmp_path, cell, message):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "x.py").write_text(f'# %% [markdown]\n# X\n\n# %% tags=["parameters"]\n{cell}\n# %%\n')
    with pytest.raises(ValueError, match=message):
        params.declared("x", tmp_path)
    (tmp_path / "notebooks" / "y.py").write_text("# %%\nx = 1\n")
    with pytest.raises(ValueError, match="has no cell tagged parameters"):
        params.declared("y", tmp_path)


def test_shared_parameters_are_checked_and_declared_once():
    from mmae.study import ZooParams

    params.check({"epochs": 1, "seeds": [0], "metric": "cosine"}, "08_retrieval", ZooParams)
    with pytest.raises(ValueError, match="unknown parameter 'epochs'"):  # not without the shared declaration
        params.check({"epochs": 1}, "08_retrieval")
    with pytest.raises(ValueError, match="epochs must be an int \\(default 5\\), got str 'five'"):
        params.check({"epochs": "five"}, "08_retrieval", ZooParams)
    with pytest.raises(ValueError, match="'latent_dim'.*\\] declared in its parameters cell and in 03_train: declare each parameter once"):
        params.check({}, "13_sweeps", "03_train")
    with pytest.raises(TypeError, match="shared must be a dataclass of parameters"):
        params.check({}, "08_retrieval", {"epochs": 5})
    params.check({"latent_dim": 8, "ks": [5]}, "04_evaluate", "03_train")  # chapter 3's parameters, set in 4
    assert params.values({"latent_dim": 8}, "03_train").latent_dim == 8
    assert params.values({}, "03_train").epochs == params.declared("03_train")["epochs"]
    assert params.train_config(params.values({"latent_dim": 8}, "03_train")).latent_dim == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_an_absent_gpu_is_named_before_any_work():
    with pytest.raises(ValueError, match="device 'cuda': torch.cuda.is_available\\(\\) is False"):
        pick_device("cuda")
    with pytest.raises(TypeError, match="device must be a string .*got int 42"):
        pick_device(42)


def test_the_luma_cli_refuses_a_misspelt_boolean(capsys):
    from mmae.luma.__main__ import main

    with pytest.raises(SystemExit):
        main(["extract", "in", "out", "--audio-normalize", "ture"])
    assert "expected true or false, got 'ture'" in capsys.readouterr().err


def test_a_missing_luma_file_names_the_luma_folder(tmp_path):
    from mmae.luma import read_luma

    (tmp_path / "audio").mkdir()
    with pytest.raises(FileNotFoundError, match=rf"`python -m mmae.luma download {tmp_path}`"):
        read_luma(tmp_path)


def test_a_sigkill_mid_write_leaves_a_loadable_checkpoint(tmp_path):
    """A real kill -9 of a process that keeps rewriting a checkpoint: the file always loads whole
    (the old or the new one); at most a hidden temporary file is left behind."""
    import signal

    path = atomic.save_torch({"i": -1, "w": torch.zeros(20_000)}, tmp_path / "mmae_z128.pt")
    writer = mp.get_context("spawn").Process(target=_hammer, args=(path, 10_000))
    writer.start()
    time.sleep(3.0)  # the child is importing torch, then writing in a loop
    os.kill(writer.pid, signal.SIGKILL)
    writer.join()
    ckpt = torch.load(path, weights_only=True)
    assert torch.all(ckpt["w"] == ckpt["w"][0])
    assert all(p.name.startswith(".mmae_z128.pt.") for p in tmp_path.iterdir() if p != path)
