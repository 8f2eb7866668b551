"""What the trainer does between epochs: stop at the first non-finite loss, and keep a resume state.

A resume state is a dict written atomically (:func:`mmae.atomic.save_torch`) and loadable with
``torch.load(path, weights_only=True)``::

    format      "mmae-resume/2"
    key         the run key of the run it belongs to (mmae.training.checkpoint.run_id)
    seeds       the seeds trained
    epoch       the epochs completed
    net, opt    the state dicts of the model (or ensemble) and of its optimizer
    generators  the states of every torch.Generator the run draws from (data orders, noise)
    torch_rng   the global torch RNG state
    rows        the history rows so far, one list per seed

Restoring all of it continues the run on the trajectory it was on: on a CPU the resumed model and
history are bit-identical to an uninterrupted run's (``tests/test_resume.py``).
"""
from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from mmae.artifacts import display_path
from mmae.atomic import save_torch
from mmae.rules import is_int
from mmae.training.config import TrainConfig

FORMAT = "mmae-resume/2"


def one_line(error: BaseException, width: int = 160) -> str:
    """``Type: message`` of an exception on one line, shortened to ``width`` characters."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= width else text[:width - 3] + "..."


class Run:
    """The bookkeeping of one training run between its epochs.

    Parameters
    ----------
    cfg : TrainConfig
        The run's configuration (its objective, budget and hyper-parameters, named in errors).
    seeds : list of int
        The seeds trained, one per model.
    net, opt : torch.nn.Module, torch.optim.Optimizer
        The model being trained and its optimizer.
    generators : list of torch.Generator
        Every generator the run draws from, in a fixed order.
    x : dict of str to Tensor
        The training features, inspected only to explain a non-finite loss.
    path : Path, optional
        Where to keep the resume state; None keeps none (the guard still runs).
    key : str, optional
        The run key; required with ``path``. A state with another key is never resumed.
    save_every : int
        Write the state every ``save_every`` epochs, and after the last one.
    """

    def __init__(self, cfg: TrainConfig, seeds: list[int], net: nn.Module, opt: torch.optim.Optimizer,
                 generators: list[torch.Generator], x: dict[str, Tensor], path: str | Path | None = None,
                 key: str | None = None, save_every: int = 10):
        if not is_int(save_every) or save_every < 1:
            raise ValueError(f"save_every must be a positive int (epochs), got {save_every!r}")
        if path is not None and not (isinstance(key, str) and key):
            raise ValueError(f"resume_path={str(path)!r} needs the run key (key=...), got {key!r}")
        self.cfg, self.seeds, self.net, self.opt = cfg, [int(s) for s in seeds], net, opt
        self.generators, self.x, self.key, self.save_every = generators, x, key, save_every
        self.path = Path(path) if path is not None else None
        self.owned = False  # True once the file at path is this run's (loaded or written by it)

    def start(self, rows):
        """Restore the state at ``path`` when it is this run's: (epochs completed, history rows);
        else (0, ``rows``). An unreadable file or another run's is reported in one line and ignored."""
        state = self._read()
        if state is None:
            return 0, rows
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
        torch.set_rng_state(state["torch_rng"])
        self.owned = True
        print(f"Resuming from {self.path.name}: epoch {state['epoch']} of {self.cfg.optim.epochs} done.")
        return state["epoch"], state["rows"]

    def _read(self) -> dict | None:
        if self.path is None or not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, EOFError, ValueError, pickle.UnpicklingError) as e:  # truncated or garbled
            warnings.warn(f"{display_path(self.path)} is unreadable ({one_line(e)}): training from scratch.", stacklevel=2)
            return None
        fields = ("net", "opt", "generators", "torch_rng", "rows")
        if not (isinstance(state, dict) and state.get("format") == FORMAT and all(f in state for f in fields)):
            warnings.warn(f"{display_path(self.path)} is not a resume state of {FORMAT}: training from scratch.",
                          stacklevel=2)
            return None
        if (state.get("key"), state.get("seeds")) != (self.key, self.seeds) \
                or not (is_int(state.get("epoch")) and 0 <= state["epoch"] <= self.cfg.optim.epochs):
            warnings.warn(f"{display_path(self.path)} belongs to another run (other code, data or parameters): "
                          "training from scratch.", stacklevel=2)
            return None
        return state

    def check(self, epoch: int, losses: Tensor) -> None:
        """After the steps of ``epoch``: raise a ``FloatingPointError`` naming the first non-finite
        batch loss (``losses``, (batches,) or (batches, replicas)), else the first non-finite
        weight or running statistic (a step can break them while every loss was finite). Two
        device syncs per epoch, none per step."""
        losses = losses.reshape(len(losses), -1)
        if bool(torch.isfinite(losses).all()):
            return self._check_weights(epoch)
        b, s = (int(i) for i in (~torch.isfinite(losses)).nonzero()[0])
        where = f"replica {s + 1} of {len(self.seeds)}, " * (len(self.seeds) > 1) + f"seed {self.seeds[s]}"
        self._fail(f"{self.cfg.model} training loss is {losses[b, s].item()} at epoch {epoch}, batch {b + 1} of "
                   f"{len(losses)} ({where})")

    def _check_weights(self, epoch: int) -> None:
        state = {k: v for k, v in self.net.state_dict().items() if v.is_floating_point()}
        if bool(torch.stack([torch.isfinite(v).all() for v in state.values()]).all()):
            return
        bad = [k for k, v in state.items() if not bool(torch.isfinite(v).all())]
        self._fail(f"{self.cfg.model} weights are not finite after epoch {epoch} ({', '.join(bad[:3])}"
                   f"{', ...' * (len(bad) > 3)})")

    def _fail(self, what: str) -> None:
        if self.owned:  # a state on this trajectory would only lead here again
            self.path.unlink(missing_ok=True)
        raise FloatingPointError(f"{what}: training stopped and nothing is saved. {self._advice()}")

    def _advice(self) -> str:
        bad = {m: int((~torch.isfinite(a)).sum()) for m, a in self.x.items()}
        bad = {m: k for m, k in bad.items() if k}
        if bad:
            counts = ", ".join(f"{m}: {k}" for m, k in bad.items())
            return f"The training features hold non-finite values ({counts}): remove or impute them first."
        k = self.cfg.knobs
        tips = [f"a lower lr (now {self.cfg.optim.lr:g})"]
        if hasattr(k, "beta"):
            tips.append(f"a lower beta (now {k.beta:g})")
        if hasattr(k, "temperature"):
            tips.append(f"a higher temperature (now {k.temperature:g}; the logits are similarities / temperature)")
        if getattr(k, "align", 0):
            tips.append(f"a lower align (now {k.align:g})")
        return "Try " + " or ".join(tips) + "."

    def save(self, epoch: int, rows) -> None:
        """Write the resume state after ``epoch`` (checked by :meth:`check`) when one is due: every
        ``save_every`` epochs and after the last."""
        if self.path is None or (epoch % self.save_every and epoch != self.cfg.optim.epochs):
            return
        save_torch({"format": FORMAT, "key": self.key, "seeds": self.seeds, "epoch": epoch,
                    "net": self.net.state_dict(), "opt": self.opt.state_dict(),
                    "generators": [g.get_state() for g in self.generators], "torch_rng": torch.get_rng_state(),
                    "rows": rows}, self.path)
        self.owned = True
