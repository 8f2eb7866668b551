"""What chapters 7-14 start from: their shared parameters, declared once (:class:`ZooParams`), and
one call that checks a chapter's parameters and gives its standardised features, its zoo and its
artifacts folder (:func:`get_zoo`)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from mmae import params
from mmae.artifacts import writable_dir
from mmae.folders import folder_lock
from mmae.data import Features, load_features, standardize
from mmae.study.tuning import tuned
from mmae.study.zoo import MODEL_LABELS, Zoo, load_or_train_zoo
from mmae.training import TrainConfig


@dataclass(frozen=True)
class ZooParams:
    """The parameters of every chapter 7-14, declared here once. A chapter's ``parameters`` cell
    holds only its own; papermill sets these like any other (``-p epochs 20``): papermill, which
    reads that cell only, calls them unknown, and :func:`mmae.params.check` accepts them."""

    data: str = "real"  # "real" (the LUMA-shaped real set, 42 + 8 classes), "real:cifar10" (8 + 2), "synthetic" or a bundle folder
    data_seed: int = 0  # seed of the synthetic set (ignored for a bundle)
    latent_dim: int = 128  # size of the shared latent of every model (paper: 128)
    fusion: str = "mean"  # how the MMAE fuses its encoders' outputs: "mean" or "max"
    epochs: int = 5  # training epochs of every model (paper: 100; chapter 13 shows what more epochs change)
    batch_size: int = 128  # mini-batch size (paper: 128)
    lr: float = 1e-3  # Adam learning rate (paper: 1e-3)
    beta: float = 1.0  # weight of the MVAE's KL term
    temperature: float = 0.1  # InfoNCE temperature of the contrastive model
    tune: bool = True  # choose beta, temperature and the MMAE variants' strengths on a validation slice of train
    seeds: tuple[int, ...] = (0, 1, 2)  # one model per seed, trained together (mmae.training.train_seeds); chapter 15's count
    models: tuple[str, ...] = tuple(MODEL_LABELS)  # the models compared: keys of mmae.study.MODEL_LABELS
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu
    artifacts_dir: str = "artifacts"  # cached models and tables (relative to the repository root)

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(self.seeds))
        object.__setattr__(self, "models", tuple(self.models))

    @classmethod
    def of(cls, namespace: dict) -> ZooParams:
        """These defaults, with the values ``namespace`` (a kernel's ``globals()``) gives."""
        return cls(**{f.name: namespace[f.name] for f in fields(cls) if f.name in namespace})

    def train_config(self) -> TrainConfig:
        """The training config every model of the zoo starts from (:func:`mmae.params.train_config`)."""
        return params.train_config(vars(self))

    def knobs(self) -> dict:
        """The comparators' knobs as given (each model takes those it has; tuning replaces them)."""
        return {"beta": self.beta, "temperature": self.temperature}


def get_zoo(namespace: dict, notebook: str, progress: bool = True) -> tuple[Features, Zoo, Path]:
    """What chapter ``notebook`` (7-14) starts from.

    Its parameters, ``namespace`` (a kernel's ``globals()``), are checked first
    (:func:`mmae.params.check` with :class:`ZooParams`): an unknown or ill-typed one fails before
    any work, and so does one the data cannot take (:func:`mmae.params.check_data`, once they are
    loaded). Then, with ``p = ZooParams.of(namespace)``: the standardised features of ``p.data``,
    the zoo of ``p.models`` trained with ``p`` (or loaded when this code trained them on these data
    with these parameters; its ``device`` is ``p.device``) and the artifacts folder."""
    params.check(namespace, notebook, ZooParams)
    p = ZooParams.of(namespace)
    features = standardize(load_features(p.data, seed=p.data_seed))
    params.check_data(namespace, notebook, features, ZooParams)  # k, n_init, ... against these data, before training
    return prepare(p.data, p.data_seed, p.train_config(), list(p.seeds), list(p.models), p.artifacts_dir,
                   progress, p.tune, p.knobs(), features)


def prepare(data: str, data_seed: int, cfg: TrainConfig, seeds: list[int], models: list[str],
            artifacts_dir: str | Path, progress: bool = True, tune: bool = False, knobs: dict | None = None,
            features: Features | None = None) -> tuple[Features, Zoo, Path]:
    """Standardised features, the zoo, the artifacts folder (:func:`get_zoo` with a config and the
    comparators' ``knobs``, :func:`mmae.study.zoo.variant_config`).

    With ``tune``, each comparator's own hyper-parameter is first chosen on a validation slice of
    train (:mod:`mmae.study.tuning`; cached in ``zoo/tuning.csv`` under a key of code, data and
    parameters), and the zoo is trained with the chosen values instead of ``cfg``'s."""
    out = writable_dir(artifacts_dir)
    if features is None:
        features = standardize(load_features(data, seed=data_seed))
    with folder_lock(out):  # one writer per artifacts_dir: a concurrent run waits for this one
        chosen = tuned(features, cfg, models, out, progress) if tune else {}
        return features, load_or_train_zoo(features, cfg, seeds, models, out, progress, chosen, knobs), out
