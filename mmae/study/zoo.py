"""The models compared beyond the paper (chapters 07-15): their names, their training configs, and
the *zoo*, every model trained once per seed and cached under a key of code, data and parameters."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae.artifacts import RESULT_CODE, resolve_dir, run_key
from mmae.baselines import FusionPCA
from mmae.data import Features
from mmae.models import MODELS
from mmae.training import TrainConfig, encode, load_or_train_seeds, run_params

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


# The MMAE variants' strengths when the config leaves them at 0 and nothing was tuned (mmae.study.tuning).
DROPOUT = 0.5  # probability of leaving a modality out of a training row's fused z (one always stays)
ALIGN = 0.1  # lambda of the alignment penalty; the MSE terms of standardised features are O(1)


def variant_config(name: str, cfg: TrainConfig, dims: dict[str, int], chosen: dict | None = None) -> TrainConfig:
    """The training config of model ``name`` (a key of :data:`MODEL_LABELS` but "fusion_pca"),
    with the values ``chosen[name]`` (e.g. ``{"beta": 0.5}``, :func:`mmae.study.tuning.choices`) set."""
    c = _variant(name, cfg, dims)
    return replace(c, **(chosen or {}).get(name, {}))


def _variant(name: str, cfg: TrainConfig, dims: dict[str, int]) -> TrainConfig:
    if name == "mmae_dimweighted":  # what summing squared errors over all features would do
        total = sum(dims.values())
        return replace(cfg, model="mmae", loss_weights={m: len(dims) * d / total for m, d in dims.items()})
    if name == "mmae_dropout":
        return replace(cfg, model="mmae", modality_dropout=cfg.modality_dropout or DROPOUT)
    if name == "mmae_align":
        return replace(cfg, model="mmae", align=cfg.align or ALIGN)
    if name == "mmae_impute":  # the same training as the MMAE: only the encoding of subsets differs
        return replace(cfg, model="mmae")
    if name in MODELS:
        return replace(cfg, model=name)
    raise ValueError(f"unknown model {name!r}; expected one of {tuple(MODEL_LABELS)}")


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


def zoo_key(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str], chosen: dict | None = None) -> str:
    """Code + data + every model's config + seeds: the key of a :class:`Zoo` and of its tables."""
    params = {n: run_params(variant_config(n, cfg, features.dims, chosen)) for n in names if n != "fusion_pca"}
    return run_key(features.fingerprint(), {"models": params, "names": list(names), "seeds": list(seeds)}, RESULT_CODE)


def _load_or_train(name: str, features: Features, cfg: TrainConfig, seeds: list[int], folder: Path,
                   progress: bool, chosen: dict | None = None) -> tuple[list, list[pd.DataFrame]]:
    """The models of one variant for every seed, from ``folder`` when their key matches, else trained."""
    c = variant_config(name, cfg, features.dims, chosen)
    return load_or_train_seeds(features, c, seeds, folder / f"{name}_z{c.latent_dim}.pt", progress)


def load_or_train_zoo(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str],
                      artifacts_dir: str | Path, progress: bool = True, chosen: dict | None = None) -> Zoo:
    """Every model of ``names`` for every seed: loaded from ``artifacts_dir/zoo/`` when trained by
    this code on these data with these parameters, else trained (seeds together) and saved.
    ``"mmae_impute"`` reuses the MMAE's weights (trained once, as ``"mmae"``)."""
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    models, histories = {}, {}
    for name in names:
        if name == "fusion_pca":
            models[name], histories[name] = [FusionPCA(random_state=s).fit(features.x["train"]) for s in seeds], []
        elif name == "mmae_impute":
            base = models.get("mmae") or _load_or_train("mmae", features, cfg, seeds, folder, progress)[0]
            models[name], histories[name] = [ImputedMMAE(m, features.x["train"]) for m in base], []
        else:
            models[name], histories[name] = _load_or_train(name, features, cfg, seeds, folder, progress, chosen)
    return Zoo(models, histories, list(seeds), zoo_key(features, cfg, seeds, names, chosen), dict(chosen or {}),
               cfg.device)


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

