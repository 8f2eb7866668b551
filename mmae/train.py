"""Training the MMAE (paper Sec. IV-D: Adam 1e-3, batch 128, 100 epochs, MSE, seed 42),
checkpoints that round-trip through ``torch.load(weights_only=True)``, and latent extraction."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from mmae.artifacts import checkpoint_path, latents_path, resolve_dir, run_key
from mmae.data import Features
from mmae.comparators import MVAE, ContrastiveEncoders
from mmae.model import MMAE, reconstruction_loss

MODELS = {"mmae": MMAE, "mvae": MVAE, "mvae_cross": MVAE, "contrastive": ContrastiveEncoders}  # objective -> class


def build_model(cfg: "TrainConfig", dims: dict[str, int]) -> torch.nn.Module:
    """A freshly initialised model of ``cfg.model`` (from the global torch seed)."""
    if cfg.model == "mmae":
        return MMAE(dims, cfg.latent_dim, cfg.hidden, cfg.fusion)
    return MODELS[cfg.model](dims, cfg.latent_dim, cfg.hidden)


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run; defaults are the paper's (Sec. IV-C, IV-D)."""

    latent_dim: int = 128
    hidden: tuple[int, ...] = (128, 128)
    fusion: str = "mean"
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 42
    device: str = "auto"
    loss_weights: dict[str, float] | None = field(default=None)
    engine: str = "stacked"  # "stacked" (fast, mmae.ensemble) or "reference" (the plain loop)
    model: str = "mmae"  # or a comparator of mmae.comparators: "mvae", "mvae_cross", "contrastive"
    beta: float = 1.0  # weight of the MVAE's KL term
    temperature: float = 0.1  # InfoNCE temperature of the contrastive model
    modality_dropout: float = 0.0  # MMAE: probability of leaving a modality out of a training row's z
    align: float = 0.0  # MMAE: lambda of the alignment penalty lambda * sum_m ||E_m(x_m) - z||^2 (Eq. 1)

    def __post_init__(self):
        for name in ("latent_dim", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.engine not in ("stacked", "reference"):
            raise ValueError(f"TrainConfig.engine must be 'stacked' or 'reference', got {self.engine!r}")
        if self.model not in MODELS:
            raise ValueError(f"TrainConfig.model must be one of {tuple(MODELS)}, got {self.model!r}")
        if self.engine == "reference" and self.model != "mmae":
            raise ValueError(f"engine='reference' trains the MMAE only, got model={self.model!r}")
        if not 0 <= self.modality_dropout < 1:
            raise ValueError(f"TrainConfig.modality_dropout must be in [0, 1), got {self.modality_dropout!r}")
        if not (np.isfinite(self.align) and self.align >= 0):
            raise ValueError(f"TrainConfig.align must be a finite number >= 0, got {self.align!r}")
        if (self.modality_dropout or self.align) and (self.model != "mmae" or self.engine != "stacked"
                                                      or self.fusion != "mean"):
            raise ValueError("TrainConfig.modality_dropout and align apply to the MMAE with fusion='mean' and "
                             f"engine='stacked', got model={self.model!r}, fusion={self.fusion!r}, engine={self.engine!r}")
        self.hidden = tuple(int(w) for w in self.hidden)


def pick_device(device: str = "auto") -> torch.device:
    """``"auto"`` picks cuda, then mps, then cpu; any other string is passed to ``torch.device``."""
    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def to_tensors(x: dict[str, np.ndarray], device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    """NumPy features of one split -> float32 tensors on ``device``, keyed by modality."""
    return {m: torch.as_tensor(a, dtype=torch.float32, device=device) for m, a in x.items()}


@torch.no_grad()
def evaluate_loss(model: MMAE, x: dict[str, torch.Tensor], batch_size: int = 4096) -> dict[str, float]:
    """Reconstruction loss of ``model`` (eval mode) on a whole split: total and per modality."""
    model.eval()
    n = next(iter(x.values())).shape[0]
    sums = dict.fromkeys(x, 0.0)
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size] for m, a in x.items()}
        _, per = reconstruction_loss(xb, model(xb)[1])
        for m, v in per.items():
            sums[m] += float(v) * len(xb[m])
    per = {m: s / n for m, s in sums.items()}
    return {"loss": sum(per.values()), **{f"loss_{m}": v for m, v in per.items()}}


def train(features: Features, cfg: TrainConfig = TrainConfig(), progress: bool = True
          ) -> tuple[MMAE, pd.DataFrame]:
    """Train an MMAE on ``features.x["train"]`` (standardise the features first).

    ``cfg.engine`` picks the implementation: ``"stacked"`` (default, :mod:`mmae.ensemble`, fast)
    or ``"reference"`` (:func:`train_reference`, the plain loop); both follow the same trajectory.

    Returns
    -------
    model : MMAE
        The trained model, in eval mode, on the chosen device.
    history : pandas.DataFrame
        One row per epoch: train loss (total and per modality, averaged over rows), the same on
        the test split when present (``test_`` prefix), and seconds per epoch.
    """
    if cfg.engine == "reference":
        return train_reference(features, cfg, progress)
    models, histories = train_seeds(features, cfg, [cfg.seed], progress)
    return models[0], histories[0]


def train_seeds(features: Features, cfg: TrainConfig, seeds: list[int], progress: bool = True
                ) -> tuple[list[torch.nn.Module], list[pd.DataFrame]]:
    """Train one model of ``cfg.model`` per seed, all together in one vectorised model
    (:mod:`mmae.ensemble`).

    For the MMAE, model ``s`` is what ``train(features, replace(cfg, seed=seeds[s]))`` gives, up
    to floating-point reassociation. ``cfg.seed`` is ignored.
    """
    from mmae.ensemble import train_stacked

    if len(seeds) < 1:
        raise ValueError(f"seeds must hold at least one seed, got {seeds!r}")
    device = pick_device(cfg.device)
    models = []
    for seed in seeds:  # the same initialisation as the reference trainer, seed by seed
        torch.manual_seed(seed)
        models.append(build_model(cfg, features.dims))
    x_test = to_tensors(features.x["test"], device) if "test" in features.x else None
    return train_stacked(to_tensors(features.x["train"], device), models, list(seeds), cfg.epochs,
                         cfg.batch_size, cfg.lr, cfg.loss_weights, x_test, progress, cfg.model,
                         cfg.beta, cfg.temperature, cfg.modality_dropout, cfg.align)


def train_reference(features: Features, cfg: TrainConfig = TrainConfig(), progress: bool = True
                    ) -> tuple[MMAE, pd.DataFrame]:
    """The plain PyTorch loop: the readable specification the fast engine is tested against.

    The data stay on the device as tensors; each epoch visits them in the order of a
    ``torch.randperm`` drawn from a CPU generator seeded with ``cfg.seed`` (so the order is the
    same on every device), in batches of ``cfg.batch_size`` with the last partial batch kept, as
    a ``DataLoader(shuffle=True)`` would. Returns what :func:`train` returns.
    """
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    model = MMAE(features.dims, cfg.latent_dim, cfg.hidden, cfg.fusion).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    x = to_tensors(features.x["train"], device)
    x_test = to_tensors(features.x["test"], device) if "test" in features.x else None
    n = len(features.y["train"])
    order = torch.Generator().manual_seed(cfg.seed)
    rows = []
    for epoch in tqdm(range(1, cfg.epochs + 1), desc="epochs", disable=not progress, mininterval=2):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n, generator=order).to(device)
        sums = torch.zeros(len(x), device=device)  # per-modality sums of batch MSE x rows
        for i in range(0, n, cfg.batch_size):
            idx = perm[i:i + cfg.batch_size]
            xb = {m: a[idx] for m, a in x.items()}
            loss, per = reconstruction_loss(xb, model(xb)[1], cfg.loss_weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += torch.stack([v.detach() for v in per.values()]) * len(idx)
        per_epoch = dict(zip(x, (sums / n).tolist()))
        row = {"epoch": epoch, "loss": sum(per_epoch.values()),
               **{f"loss_{m}": v for m, v in per_epoch.items()}}
        if x_test is not None:
            row |= {f"test_{k}": v for k, v in evaluate_loss(model, x_test).items()}
        rows.append(row | {"seconds": time.perf_counter() - t0})
    model.eval()
    return model, pd.DataFrame(rows)


@torch.no_grad()
def encode(model: MMAE, x: dict[str, np.ndarray], each: bool = False, batch_size: int = 4096):
    """Latents of a split: fused z (n, latent_dim), or with ``each=True`` a dict of per-modality
    encodings E_m(x_m) (the points of the paper's Fig. 5). Any subset of modalities may be given."""
    model.eval()
    device = next(model.parameters()).device
    t = to_tensors(x, device)
    n = next(iter(t.values())).shape[0]
    chunks = []
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size] for m, a in t.items()}
        chunks.append(model.encode_each(xb) if each else model.encode(xb))
    if each:
        return {m: torch.cat([c[m] for c in chunks]).cpu().numpy() for m in t}
    return torch.cat(chunks).cpu().numpy()


def run_params(cfg: TrainConfig) -> dict:
    """The parameters that define a run (the device type included: results differ by device)."""
    return asdict(cfg) | {"device": pick_device(cfg.device).type}


def save_run(model: MMAE, cfg: TrainConfig, history: pd.DataFrame, features: Features,
             artifacts_dir: str | Path) -> Path:
    """Write ``mmae_z{latent_dim}.pt`` and ``latents_z{latent_dim}_{split}.npy`` for every split."""
    folder = resolve_dir(artifacts_dir)
    fingerprint = features.fingerprint()
    path = checkpoint_path(folder, cfg.latent_dim)
    torch.save({
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "model_config": {"dims": model.dims, "latent_dim": model.latent_dim,
                         "hidden": model.hidden, "fusion": model.fusion},
        "train_config": asdict(cfg),
        "history": history.to_dict(orient="list"),
        "key": run_key(fingerprint, run_params(cfg)),
        "data": {"name": features.name, "fingerprint": fingerprint, "synthetic": features.synthetic},
        "torch_version": str(torch.__version__),
    }, path)
    for split in features.splits:
        np.save(latents_path(folder, cfg.latent_dim, split), encode(model, features.x[split]))
    return path


def load_checkpoint(path: str | Path, device: str = "auto") -> tuple[MMAE, dict]:
    """Rebuild the MMAE from a checkpoint (loaded with ``weights_only=True``).

    Returns the model (eval mode, on ``device``) and the whole checkpoint dict.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist (run notebooks/03_train first)")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    model = MMAE(**ckpt["model_config"])
    model.load_state_dict(ckpt["state_dict"])
    return model.to(pick_device(device)).eval(), ckpt


def load_or_train(features: Features, cfg: TrainConfig, artifacts_dir: str | Path,
                  progress: bool = True) -> tuple[MMAE, pd.DataFrame]:
    """The checkpoint 03_train wrote for exactly this code, data and config; else train and save it.

    A checkpoint whose run key differs (other code, data or parameters) is never reused.
    """
    path = checkpoint_path(resolve_dir(artifacts_dir), cfg.latent_dim)
    if path.exists():
        model, ckpt = load_checkpoint(path, cfg.device)
        if ckpt["key"] == run_key(features.fingerprint(), run_params(cfg)):
            print(f"Loaded {path.name}: trained by this code on these data with this config.")
            return model, pd.DataFrame(ckpt["history"])
        print(f"{path.name} was trained with other code, data or parameters: training again.")
    model, history = train(features, cfg, progress)
    save_run(model, cfg, history, features, artifacts_dir)
    return model, history
