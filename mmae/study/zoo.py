"""The models compared beyond the paper (chapters 07-15): their names, their training configs, and
the *zoo*, every model trained once per seed and cached under a key of code, data and parameters."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae import cluster
from mmae.artifacts import RESULT_CODE, resolve_dir, run_key
from mmae.baselines import FusionPCA
from mmae.data import Features
from mmae.models import MODELS
from mmae.training import TrainConfig, cached, encode, evolve, holds, load_or_train_seeds, run_id, run_params

# What each name in a notebook's `models` list trains (all with the same MLPs, epochs, batch, lr).
MODEL_LABELS = {
    "mmae": "MMAE",                              # the paper's model and loss, Eq. (3)
    "mmae_dimweighted": "MMAE, loss x dim",      # Eq. (3) with term m weighted by d_m / mean(d)
    "mmae_dropout": "MMAE, modality dropout",    # Eq. (3), each modality left out of z with prob. DROPOUT
    "mmae_align": "MMAE + alignment (Eq. 1)",    # Eq. (3) + ALIGN * sum_m ||E_m(x_m) - z||^2
    "mmae_impute": "MMAE, missing imputed",      # the MMAE; a missing modality's encoding = its train mean
    "mvae": "MVAE (PoE)",                        # mmae.models.MVAE, Wu & Goodman's sub-sampled ELBO
    "mvae_cross": "MVAE, cross-modal ELBO",      # the same MVAE; every posterior decodes every modality
    "contrastive": "contrastive (InfoNCE)",      # mmae.models.ContrastiveEncoders
    "fusion_pca": "fusion PCA (baseline)",       # mmae.baselines.FusionPCA, weights (1, 1, 1)
}


# The MMAE variants' strengths when nothing was tuned (mmae.study.tuning).
DROPOUT = 0.5  # probability of leaving a modality out of a training row's fused z (one always stays)
ALIGN = 0.1  # lambda of the alignment penalty; the MSE terms of standardised features are O(1)


def _dim_weights(dims: dict[str, int]) -> dict:
    """Eq. (3) with term m weighted by d_m / mean(d): what summing squared errors over all features would do."""
    return {"loss_weights": {m: len(dims) * d / sum(dims.values()) for m, d in dims.items()}}


# What each name of MODEL_LABELS but "fusion_pca" trains: a model of mmae.models.MODELS, and its
# knobs beyond the model's defaults, given the data's dimensions.
VARIANTS = {
    "mmae": ("mmae", lambda dims: {}),
    "mmae_dimweighted": ("mmae", _dim_weights),
    "mmae_dropout": ("mmae", lambda dims: {"modality_dropout": DROPOUT}),
    "mmae_align": ("mmae", lambda dims: {"align": ALIGN}),
    "mmae_impute": ("mmae", lambda dims: {}),  # the MMAE's training: only the encoding of subsets differs
    "mvae": ("mvae", lambda dims: {}),
    "mvae_cross": ("mvae_cross", lambda dims: {}),
    "contrastive": ("contrastive", lambda dims: {}),
}


def variant_config(name: str, cfg: TrainConfig, dims: dict[str, int], chosen: dict | None = None,
                   knobs: dict | None = None) -> TrainConfig:
    """The training config of model ``name`` (a key of :data:`VARIANTS`): ``cfg``'s architecture,
    optimisation and runtime; the variant's knobs; those of ``knobs`` (a notebook's ``beta``,
    ``temperature``, ...) that its model has; then ``chosen[name]`` (e.g. ``{"beta": 0.5}``, the
    values chosen on validation, :func:`mmae.study.tuning.choices`)."""
    if name not in VARIANTS:
        raise ValueError(f"models: unknown model {name!r}; expected names from {tuple(MODEL_LABELS)}")
    model, own = VARIANTS[name]
    names = {f.name for f in fields(MODELS[model].knobs)}
    settings = own(dims) | {k: v for k, v in (knobs or {}).items() if k in names} | (chosen or {}).get(name, {})
    return evolve(cfg, model=model, **settings)


@dataclass
class Zoo:
    """Trained models: ``models[name][i]`` was trained with ``seeds[i]``; ``key`` identifies them;
    ``chosen`` holds the hyper-parameters chosen on validation (:mod:`mmae.study.tuning`), if any;
    ``device`` is the training config's device, on which the questions run their batched engine."""

    models: dict[str, list]
    histories: dict[str, list[pd.DataFrame]]
    seeds: list[int]
    key: str
    chosen: dict = field(default_factory=dict)
    device: str = "auto"


def zoo_key(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str], chosen: dict | None = None,
            knobs: dict | None = None) -> str:
    """Code + data + every model's config + seeds: the key of a :class:`Zoo` and of its tables."""
    params = {n: run_params(variant_config(n, cfg, features.dims, chosen, knobs)) for n in names if n != "fusion_pca"}
    return run_key(features.fingerprint(), {"models": params, "names": list(names), "seeds": list(seeds)}, RESULT_CODE)


def fit(features: Features, job: tuple) -> None:
    """A task: the models ``job = (cfg, seeds, path)`` trained (seeds together) and saved at
    ``path``, unless they are there already (:func:`pending` lists the jobs of a zoo)."""
    cfg, seeds, path = job
    load_or_train_seeds(features, cfg, seeds, path, progress=False)


def _plan(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str], artifacts_dir,
          chosen: dict | None, knobs: dict | None) -> dict[str, tuple]:
    """For every trained model of ``names``: its config, checkpoint path and run key."""
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    plan = {}
    for n in dict.fromkeys("mmae" if n == "mmae_impute" else n for n in names if n != "fusion_pca"):
        c = variant_config(n, cfg, features.dims, chosen, knobs)
        plan[n] = (c, folder / f"{n}_z{c.latent_dim}.pt", run_id(features, c, seeds))
    return plan


def pending(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str], artifacts_dir: str | Path,
            chosen: dict | None = None, knobs: dict | None = None) -> list[tuple]:
    """The trainings :func:`load_or_train_zoo` would start, as :func:`fit` jobs ``(cfg, seeds,
    path)``: one per model of ``names`` whose checkpoint does not hold this run."""
    plan = _plan(features, cfg, seeds, names, artifacts_dir, chosen, knobs)
    return [(c, list(seeds), path) for c, path, key in plan.values() if not holds(path, key)]


def load_or_train_zoo(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str],
                      artifacts_dir: str | Path, progress: bool = True, chosen: dict | None = None,
                      knobs: dict | None = None) -> Zoo:
    """Every model of ``names`` for every seed (configs of :func:`variant_config`): loaded from
    ``artifacts_dir/zoo/`` when trained by this code on these data with these parameters, else
    trained (each model's seeds together, the models as tasks of :func:`mmae.cluster.run`) and
    saved. ``"mmae_impute"`` reuses the MMAE's weights (trained once, as ``"mmae"``). With
    ``progress``, a line says which models were loaded, and a bar counts those trained."""
    plan = _plan(features, cfg, seeds, names, artifacts_dir, chosen, knobs)
    jobs = pending(features, cfg, seeds, names, artifacts_dir, chosen, knobs)
    todo = [path for _, _, path in jobs]
    for c, path, _ in plan.values() if progress else ():
        if path not in todo:
            print(f"Loaded {path.name}: trained by this code on these data with these parameters.")
        elif path.exists():
            print(f"{path.name} was trained with other code, data or parameters (or is unreadable): training again.")
    cluster.run(fit, jobs, shared=features, desc="models of the zoo", progress=progress)
    models, histories = {}, {}
    for n, (c, path, key) in plan.items():
        found = cached(path, cfg.runtime.device, key)
        if found is None:
            raise FileNotFoundError(f"{path} was not written by the task that trained it: the workers of "
                                    f"{cluster.SCHEDULER} must see artifacts_dir (a shared file system)")
        models[n], histories[n] = found[0], [pd.DataFrame(h) for h in found[1]["histories"]]
    for name in names:
        if name == "fusion_pca":
            models[name], histories[name] = [FusionPCA(random_state=s).fit(features.x["train"]) for s in seeds], []
        elif name == "mmae_impute":
            models[name], histories[name] = [ImputedMMAE(m, features.x["train"]) for m in models["mmae"]], []
    return Zoo({n: models[n] for n in names}, {n: histories[n] for n in names}, list(seeds),
               zoo_key(features, cfg, seeds, names, chosen, knobs), dict(chosen or {}), cfg.runtime.device)


class ImputedMMAE:
    """An MMAE that fills a missing modality's encoding with its mean train encoding, instead of
    averaging only the encodings present: z of a subset then lies where the decoders were trained.

    Parameters
    ----------
    model : MMAE
        A trained MMAE with ``fusion="mean"``.
    x_train : dict of str to ndarray
        The train features of every modality, whose encodings' means fill the gaps.
    """

    def __init__(self, model, x_train: dict[str, np.ndarray]):
        self.model, self.decoders, self.decode = model, model.decoders, model.decode
        self.means_ = {m: h.mean(0) for m, h in encode(model, x_train, each=True).items()}

    def encode(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """The fused z (n, latent) of whichever modalities ``x`` holds, the others imputed."""
        each = encode(self.model, x, each=True)
        n = len(next(iter(each.values())))
        return np.mean([each[m] if m in each else np.broadcast_to(mu, (n, len(mu))) for m, mu in self.means_.items()],
                       axis=0)


def embed(model, x: dict[str, np.ndarray]) -> np.ndarray:
    """The shared representation (n, L) of ``model`` from whichever modalities ``x`` holds."""
    return encode(model, x) if isinstance(model, torch.nn.Module) else model.encode(x)

