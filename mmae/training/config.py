"""The configuration of a training run, in parts that say one thing each.

====================  ============================================================================
:class:`TrainConfig`  the model and its architecture (Sec. IV-C), with one of each part below
knobs                 the model's own loss knobs, declared beside its loss (``MODELS[model].knobs``)
:class:`Optim`        how the weights are fitted: epochs, batch size, Adam's lr, seed (Sec. IV-D)
:class:`Runtime`      where and how the loop runs: device, ``torch.compile``
====================  ============================================================================

Each part is a frozen dataclass whose fields declare their rule (:mod:`mmae.rules`), checked once
at construction: ``TypeError`` for a value of the wrong kind, ``ValueError`` for one out of range.
:func:`make_config` builds a config from flat names (``epochs=5, beta=0.5``), each sent to the part
that declares it, and :func:`evolve` changes some of them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field

from mmae.device import pick_device
from mmae.models import FUSIONS, MODELS
from mmae.rules import BOOL, INT, POSITIVE, POSITIVE_INT, POSITIVE_INTS, TEXT, at_least, is_int, one_of, ruled, validate


@dataclass(frozen=True)
class Optim:
    """How the weights are fitted; the defaults are the paper's (Sec. IV-D)."""

    epochs: int = ruled(100, POSITIVE_INT)
    batch_size: int = ruled(128, at_least(2))  # BatchNorm needs two rows; a last batch of one joins the one before
    lr: float = ruled(1e-3, POSITIVE)  # Adam's learning rate
    seed: int = ruled(42, INT)  # initialisation and data order (and the model's draws)

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class Runtime:
    """Where and how the training loop runs; results differ by device type, not by these otherwise."""

    device: str = ruled("auto", TEXT)  # "auto" picks cuda, then mps, then cpu
    compile: bool = ruled(False, BOOL)  # torch.compile the step (CUDA graphs on a GPU)

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class TrainConfig:
    """One training run: the model and its architecture (Sec. IV-C), its loss's knobs, the
    optimisation and the runtime. Derive another with :func:`dataclasses.replace` or
    :func:`make_config`.

    ``knobs`` is an instance of ``MODELS[model].knobs`` (None: its defaults, which for the MMAE
    are Eq. (3) as the paper writes it).
    """

    model: str = ruled("mmae", one_of(MODELS))
    latent_dim: int = ruled(128, POSITIVE_INT)
    hidden: tuple[int, ...] = ruled((128, 128), POSITIVE_INTS)
    fusion: str = ruled("mean", one_of(FUSIONS))  # how the MMAE's encoder outputs become z (the paper does not say)
    knobs: object = None
    optim: Optim = field(default_factory=Optim)
    runtime: Runtime = field(default_factory=Runtime)

    def __post_init__(self):
        validate(self)
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
        cls = MODELS[self.model].knobs
        if self.knobs is None:
            object.__setattr__(self, "knobs", cls())
        for name, kind in (("knobs", cls), ("optim", Optim), ("runtime", Runtime)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"TrainConfig.{name} must be a {kind.__module__}.{kind.__qualname__} "
                                f"(model={self.model!r}), got {type(getattr(self, name)).__name__}")


PARTS = {"optim": Optim, "runtime": Runtime}
ARCHITECTURE = ("latent_dim", "hidden", "fusion")


def make_config(model: str = "mmae", **values) -> TrainConfig:
    """A :class:`TrainConfig` of ``model`` from flat names: each of ``values`` goes to the part
    that declares it (the architecture, ``MODELS[model].knobs``, :class:`Optim`, :class:`Runtime`).

    Examples
    --------
    >>> make_config("mvae", epochs=5, beta=0.5).knobs.beta
    0.5
    >>> make_config(epochs=5, bta=0.5)
    Traceback (most recent call last):
    ...
    TypeError: make_config: unknown parameter 'bta' for model 'mmae'; ...
    """
    if model not in MODELS:
        raise ValueError(f"TrainConfig.model must be one of {tuple(MODELS)}, got {model!r}")
    names = {"knobs": MODELS[model].knobs, **PARTS}
    parts = {part: {f.name for f in dataclasses.fields(cls)} for part, cls in names.items()}
    unknown = sorted(set(values) - set(ARCHITECTURE) - set().union(*parts.values()))
    if unknown:
        raise TypeError(f"make_config: unknown parameter {unknown[0]!r} for model {model!r}; known: "
                        f"{', '.join([*ARCHITECTURE, *sorted(set().union(*parts.values()))])}")
    built = {part: cls(**{k: v for k, v in values.items() if k in parts[part]}) for part, cls in names.items()}
    return TrainConfig(model, **{k: values[k] for k in ARCHITECTURE if k in values}, **built)


def evolve(cfg: TrainConfig, model: str | None = None, **values) -> TrainConfig:
    """``cfg`` with the flat names ``values`` (those of :func:`make_config`) changed; another
    ``model`` starts from its own default knobs.

    Examples
    --------
    >>> evolve(TrainConfig(), epochs=5).optim.epochs
    5
    """
    model = model or cfg.model
    kept = {k: getattr(cfg, k) for k in ARCHITECTURE} | asdict(cfg.optim) | asdict(cfg.runtime)
    if model == cfg.model:
        kept |= {f.name: getattr(cfg.knobs, f.name) for f in dataclasses.fields(cfg.knobs)}
    return make_config(model, **kept | values)


def flat_names(model: str = "mmae") -> set[str]:
    """Every name :func:`make_config` accepts for ``model``."""
    parts = [MODELS[model].knobs, *PARTS.values()]
    return set(ARCHITECTURE) | {f.name for cls in parts for f in dataclasses.fields(cls)}


def check_modalities(cfg: TrainConfig, modalities) -> None:
    """Raise a ``ValueError`` naming the keys of the knobs' ``loss_weights`` that are not
    ``modalities`` (the data's): a misspelt weight would otherwise be ignored silently."""
    unknown = sorted(set(getattr(cfg.knobs, "loss_weights", None) or {}) - set(modalities))
    if unknown:
        raise ValueError(f"loss_weights names {unknown}, which are not modalities of the data "
                         f"{tuple(modalities)}")


def run_params(cfg: TrainConfig) -> dict:
    """The parameters that define a run (the device type included: results differ by device)."""
    return asdict(cfg) | {"runtime": asdict(cfg.runtime) | {"device": pick_device(cfg.runtime.device).type}}


__all__ = ["Optim", "Runtime", "TrainConfig", "make_config", "evolve", "flat_names", "check_modalities", "run_params", "is_int"]
