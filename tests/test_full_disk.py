"""Issue 23, item 5: a full disk is "no space left on device writing FILE", whichever library was
writing, and the previous artifact stays whole with no temporary file left beside it."""
import errno
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

from mmae import atomic

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def no_space(path, why="No space left on device"):
    """The message :mod:`mmae.atomic` gives for ``path``."""
    return rf"^no space left on device writing {re.escape(str(path))} \({why}\)$"


class FullFile:
    """A file that takes ``room`` bytes, then fails as a full disk does (buffered writes of torch)."""

    def __init__(self, f, room):
        self.f, self.room = f, room

    def write(self, data):
        self.room -= len(data)
        if self.room < 0:
            full()
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def test_torch_on_a_full_disk_names_the_file_not_a_stream_position(tmp_path, monkeypatch):
    """The real torch.save, its writes failing after 1 kB: before, torch's "unexpected pos"."""
    path = atomic.save_torch({"w": torch.ones(3)}, tmp_path / "model.pt")
    monkeypatch.setattr(atomic, "open", lambda p, mode="r", *a, **k: (
        FullFile(open(p, mode, *a, **k), 1024) if mode == "wb" else open(p, mode, *a, **k)), raising=False)
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path)) as err:
        atomic.save_torch({"w": torch.zeros(10**5)}, path)
    assert err.value.errno == errno.ENOSPC and isinstance(err.value, OSError)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))  # the previous checkpoint, whole
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left


def test_torchs_runtime_error_from_a_full_disk_is_recognised(tmp_path, monkeypatch):
    def torch_save(obj, f):
        try:
            full()
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2092672 vs 2092564")

    path = atomic.save_torch({"w": torch.ones(3)}, tmp_path / "resume.pt")
    monkeypatch.setattr(torch, "save", torch_save)
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path)):
        atomic.save_torch({"w": torch.zeros(3)}, path)
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["resume.pt"]


def _figure():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    return fig


WRITERS = {  # writer(path), the function a full disk breaks, the file's first content
    "save_npy": (lambda p: atomic.save_npy(p, np.zeros(10)), (np, "save"), "a.npy"),
    "write_text": (lambda p: atomic.write_text(p, "new"), (Path, "write_text"), "a.txt"),
    "save_csv": (lambda p: atomic.save_csv(pd.DataFrame({"a": [2]}), p), (Path, "write_text"),
                 "a.csv"),
    "save_csv checksum": (lambda p: atomic.save_csv(pd.DataFrame({"a": [2]}), p, checksum=True),
                          (Path, "write_bytes"), "a.csv"),
    "save_figure": (lambda p: atomic.save_figure(_figure(), p), (plt.Figure, "savefig"), "a.png"),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_every_writer_reports_a_full_disk_and_keeps_the_old_file(tmp_path, monkeypatch, writer):
    write, (owner, name), file = WRITERS[writer]
    path = tmp_path / file
    path.write_bytes(b"old")
    monkeypatch.setattr(owner, name, full)
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path)):
        write(path)
    monkeypatch.undo()
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == [file]
    plt.close("all")


def test_a_full_quota_and_a_full_disk_before_the_first_byte(tmp_path, monkeypatch):
    path = atomic.write_text(tmp_path / "a.txt", "old")
    monkeypatch.setattr(type(path), "write_text", lambda *a: (_ for _ in ()).throw(
        OSError(errno.EDQUOT, "Disk quota exceeded")))
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path, "Disk quota exceeded")) as err:
        atomic.write_text(path, "new")
    assert err.value.errno == errno.EDQUOT
    monkeypatch.undo()
    monkeypatch.setattr(atomic.tempfile, "mkstemp", full)  # no room for even the temporary file
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path)):
        atomic.write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_other_errors_pass_unchanged(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(np, "save", refuse)
    with pytest.raises(PermissionError, match="Permission denied") as err:
        atomic.save_npy(tmp_path / "a.npy", np.zeros(3))
    assert not isinstance(err.value, atomic.NoSpaceLeft)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_path(tmp_path / "b.txt"):
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_folder_written_at_once_on_a_full_disk(tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    with atomic.atomic_dir(out) as tmp:
        (tmp / "a.npy").write_bytes(b"old")
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(out)):  # a write of the caller's: names the folder
        with atomic.atomic_dir(out) as tmp:
            (tmp / "a.npy").write_bytes(b"new")
            full()
    monkeypatch.setattr(np, "save", full)
    with pytest.raises(atomic.NoSpaceLeft, match=r"writing .*/\.bundle\.tmp-\w+/b\.npy "):  # an atomic writer's: its file
        with atomic.atomic_dir(out) as tmp:
            atomic.save_npy(tmp / "b.npy", np.zeros(3))
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"] and (out / "a.npy").read_bytes() == b"old"
    assert [p.name for p in out.iterdir()] == ["a.npy"]


def test_a_runs_latents_and_checkpoint_are_committed_together(tiny_std, tmp_path, monkeypatch, one_thread):
    """A full disk while the checkpoint is written, after the new latents: before, the new latents
    had replaced the previous run's beside its checkpoint; now every file of the previous run stays."""
    from mmae.training import checkpoint as ck
    from mmae.training import latents_match, load_checkpoint, make_config, save_run, train

    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=1, batch_size=32, device="cpu")
    model, history = train(tiny_std, cfg, progress=False)
    path = save_run(model, cfg, history, tiny_std, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    other, other_history = train(tiny_std, ck.evolve(cfg, seed=7), progress=False)

    def save(obj, f):
        f.write(b"partial")
        full()
    monkeypatch.setattr(ck.torch, "save", save)
    with pytest.raises(atomic.NoSpaceLeft, match=no_space(path)):
        save_run(other, ck.evolve(cfg, seed=7), other_history, tiny_std, tmp_path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # every file whole, no temporary one
    assert latents_match(load_checkpoint(path, "cpu")[1], tmp_path)
