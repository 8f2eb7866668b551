"""S independent models trained together: the project's fast path.

Every weight of :class:`StackedMMAE` carries a leading replica axis, and layers of equal shape
are stacked over the modalities too, so one batched matmul (``baddbmm``) and one batch norm run a
hidden layer of all modalities of all S replicas, and a fused Adam updates 28 stacked tensors
instead of S x 78 small ones. Measured with ``python -m mmae.bench``. Replica ``s`` is initialised
exactly as ``MMAE`` is after ``torch.manual_seed(seeds[s])`` and sees the data in the order of its
own seed, so it follows the same trajectory as :func:`mmae.training.train_reference` with that seed,
up to floating-point reassociation (``tests/test_ensemble.py`` states the tolerance). With one
seed this is the trainer the notebooks use. The comparators of :mod:`mmae.models` (same MLPs,
other objectives) are stacked and trained the same way: :func:`objective` dispatches to each
model's loss computed for all replicas at once, and is tested against the readable single-model
losses (:func:`mmae.models.reconstruction_loss`, :func:`mmae.models.elbo`,
:func:`mmae.models.info_nce_loss`).
"""
from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmae.models import gaussian_kl, info_nce_loss, product_of_experts
from mmae.progress import bar
from mmae.training.config import TrainConfig, check_modalities
from mmae.training.replicas import per_replica, positive, replica_values
from mmae.training.resume import Run

OBJECTIVES = ("mmae", "mvae", "mvae_cross", "contrastive")


class StackedMMAE(nn.Module):
    """S models of the same configuration with stacked weights (built from S ``MMAE``, ``MVAE``
    or ``ContrastiveEncoders`` modules: anything with ``encoders``/``decoders`` of :func:`mlp`).

    ``forward`` takes ``x[m]`` of shape (S, B, d_m) and returns z (S, B, latent) and the
    reconstructions (S, B, d_m): replica s computes exactly what ``models[s]`` would.
    Layers of equal shape are stacked over modalities too (axis R = M * S, modality-major), so
    a hidden layer of all modalities and all replicas is one ``baddbmm`` and one batch norm:
    on a CPU the cost of a step is mostly the number of operations, not their size.
    """

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        first = models[0]
        self.cls, self.config = type(first), first.config
        self.dims, self.latent_dim, self.hidden = first.dims, first.latent_dim, first.hidden
        self.fusion = getattr(first, "fusion", "mean")
        if not self.hidden:
            raise ValueError("the stacked engine needs at least one hidden layer; use engine='reference'")
        self.S, self.M, H = len(models), len(self.dims), len(self.hidden)
        self.p, self._layout = nn.ParameterDict(), []
        enc = [(m, s, model.encoders[m]) for m in self.dims for s, model in enumerate(models)]  # R entries
        dec = [(m, s, model.decoders[m]) for m in first.decoders for s, model in enumerate(models)]
        for m in self.dims:  # first encoder layers differ by input size: one stack per modality
            self._add(f"enc_in_{m}", "encoders", [(m_, s, net, 0) for m_, s, net in enc if m_ == m])
        parts = (("encoders", enc, "enc"), ("decoders", dec, "dec")) if len(first.decoders) else (("encoders", enc, "enc"),)
        for part, nets, name in parts:
            if part == "decoders":
                self._add("dec_in", part, [(m, s, net, 0) for m, s, net in nets])
            for j in range(H):  # Sequential indices: Linear 3j, BatchNorm 3j+1, ReLU 3j+2; last Linear 3H
                self._add(f"{name}_bn{j}", part, [(m, s, net, 3 * j + 1) for m, s, net in nets])
                if j + 1 < H:
                    self._add(f"{name}_h{j + 1}", part, [(m, s, net, 3 * j + 3) for m, s, net in nets])
        self._add("enc_out", "encoders", [(m, s, net, 3 * H) for m, s, net in enc])
        for m in self.dims if len(first.decoders) else ():  # last decoder layers differ by output size
            self._add(f"dec_out_{m}", "decoders", [(m_, s, net, 3 * H) for m_, s, net in dec if m_ == m])

    def _add(self, name: str, part: str, entries: list) -> None:
        """Stack layer ``entries[r] = (modality, replica, Sequential, index)`` of the source models."""
        layers = [net[i] for _, _, net, i in entries]
        if isinstance(layers[0], nn.Linear):
            self.p[name + "_W"] = nn.Parameter(torch.stack([l.weight.detach().t() for l in layers]).contiguous())
            self.p[name + "_b"] = nn.Parameter(torch.stack([l.bias.detach()[None] for l in layers]).contiguous())
        else:  # BatchNorm1d: affine and running statistics flattened to (R * F,)
            self.p[name + "_g"] = nn.Parameter(torch.cat([l.weight.detach() for l in layers]))
            self.p[name + "_b"] = nn.Parameter(torch.cat([l.bias.detach() for l in layers]))
            self.register_buffer(name + "_mean", torch.cat([l.running_mean for l in layers]))
            self.register_buffer(name + "_var", torch.cat([l.running_var for l in layers]))
        self._layout.append((name, part, [(m, s, i) for m, s, _, i in entries]))

    def _linear(self, name: str, h: Tensor) -> Tensor:
        return torch.baddbmm(self.p[name + "_b"], h, self.p[name + "_W"])        # (R, B, out)

    def _bn_relu(self, name: str, h: Tensor) -> Tensor:
        R, B, F_ = h.shape
        flat = h.transpose(0, 1).reshape(B, R * F_)                              # (B, R*F): one BN for all
        flat = F.batch_norm(flat, getattr(self, name + "_mean"), getattr(self, name + "_var"),
                            self.p[name + "_g"], self.p[name + "_b"], self.training, 0.1, 1e-5)
        return flat.relu().view(B, R, F_).transpose(0, 1)

    def encode_each(self, x: dict[str, Tensor]) -> Tensor:
        """Every encoder's output, (M, S, B, out), from ``x[m]`` of shape (S, B, d_m)."""
        H = len(self.hidden)
        h = torch.cat([self._linear(f"enc_in_{m}", x[m]) for m in self.dims])   # (M*S, B, hidden[0])
        for j in range(H):
            h = self._bn_relu(f"enc_bn{j}", h)
            h = self._linear(f"enc_h{j + 1}" if j + 1 < H else "enc_out", h)
        return h.view(self.M, self.S, *h.shape[1:])

    def decode(self, z: Tensor) -> dict[str, Tensor]:
        """Every decoder applied to z (S, B, latent): reconstructions (S, B, d_m)."""
        H = len(self.hidden)
        h = self._linear("dec_in", z.repeat(self.M, 1, 1))                      # (M*S, B, hidden[-1])
        for j in range(H):
            h = self._bn_relu(f"dec_bn{j}", h)
            if j + 1 < H:
                h = self._linear(f"dec_h{j + 1}", h)
        h = h.reshape(self.M, self.S, *h.shape[1:])
        return {m: self._linear(f"dec_out_{m}", h[i]) for i, m in enumerate(self.dims)}

    def forward(self, x: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """The MMAE: fused z (S, B, latent) and its reconstructions (S, B, d_m)."""
        hs = self.encode_each(x)                                                 # (M, S, B, latent)
        z = hs.mean(0) if self.fusion == "mean" else hs.amax(0)
        return z, self.decode(z)

    @torch.no_grad()
    def unstack(self) -> list[nn.Module]:
        """The S trained replicas as ordinary modules of the source class (eval mode, on the CPU)."""
        models = [self.cls(**self.config) for _ in range(self.S)]
        for name, part, entries in self._layout:
            for r, (m, s, i) in enumerate(entries):
                layer = getattr(models[s], part)[m][i]
                if isinstance(layer, nn.Linear):
                    layer.weight.copy_(self.p[name + "_W"][r].t())
                    layer.bias.copy_(self.p[name + "_b"][r, 0])
                else:
                    rows = slice(r * layer.num_features, (r + 1) * layer.num_features)
                    layer.weight.copy_(self.p[name + "_g"][rows])
                    layer.bias.copy_(self.p[name + "_b"][rows])
                    layer.running_mean.copy_(getattr(self, name + "_mean")[rows])
                    layer.running_var.copy_(getattr(self, name + "_var")[rows])
        return [model.eval() for model in models]


def replica_mse(x_hat: dict[str, Tensor], x: dict[str, Tensor]) -> Tensor:
    """MSE of every replica and modality, (S, M): the terms of Eq. (3) for each replica."""
    return torch.stack([(x_hat[m] - x[m]).pow(2).mean((1, 2)) for m in x], 1)


def objective(net: StackedMMAE, x: dict[str, Tensor], model: str = "mmae", weights: Tensor | None = None,
              beta=1.0, temperature=0.1, noise: torch.Generator | None = None,
              dropout=0.0, align=0.0) -> tuple[Tensor, dict[str, Tensor]]:
    """The loss of every replica (S,) on a batch ``x[m]`` (S, B, d_m), and what to log (each (S,)).
    ``beta``, ``temperature``, ``dropout`` and ``align`` are floats, or one value per replica
    (:func:`replica_values`).

    - ``"mmae"``: Eq. (3), the per-modality MSEs (times ``weights`` (M,), default 1) summed. In
      training, ``dropout`` leaves each modality's encoding out of a row's fused mean with that
      probability (one modality always stays), so the decoders learn from the z of any subset;
      ``align`` > 0 adds the literal reading of Eq. (1), z = E_m(x_m) for every m, as the penalty
      ``align * sum_m ||E_m(x_m) - z||^2`` (mean over rows), logged as ``align``.
    - ``"mvae"``: Wu & Goodman's (2018) sub-sampled training: the negative ELBO of the joint
      posterior and of each single modality's, each reconstructing only the modalities it
      observed, with a unit-variance Gaussian likelihood (half the squared error summed over
      features) and ``beta`` times the KL; logged MSEs are those of the joint reconstruction.
    - ``"mvae_cross"``: the same ELBOs, but every posterior (each single modality's too) decodes
      *every* modality: a cross-modal objective in the manner of JMVAE / MMVAE, which hands the
      model a signal for predicting one modality from another that Eq. (3) never gives the MMAE.
    - ``"contrastive"``: :func:`mmae.models.info_nce_loss` at ``temperature``.
    """
    names = list(x)
    if model == "contrastive":
        loss = info_nce_loss(dict(zip(names, F.normalize(net.encode_each(x), dim=-1))), temperature)
        return loss, {"infonce": loss}
    w = weights if weights is not None else torch.ones(len(names), device=x[names[0]].device)
    if model == "mmae" and (positive(align) or (positive(dropout) and net.training)):
        hs = net.encode_each(x)                                                   # (M, S, B, L)
        keep = torch.ones(hs.shape[:3], dtype=torch.bool, device=hs.device)
        if positive(dropout) and net.training:
            r = torch.rand(hs.shape[:3], generator=noise).to(hs.device)           # (M, S, B)
            keep = (r >= per_replica(dropout, r[0])) | (r == r.amax(0, keepdim=True))  # the largest draw stays
        k = keep[..., None].to(hs.dtype)
        z = (hs * k).sum(0) / k.sum(0)                                            # mean of the kept (S, B, L)
        per = replica_mse(net.decode(z), x)                                       # (S, M)
        logs = {"loss": per.sum(1), **{f"loss_{m}": per[:, i] for i, m in enumerate(names)}}
        loss = per @ w
        if positive(align):
            penalty = (hs - z).pow(2).sum(-1).mean(-1).sum(0)                     # (S,)
            loss, logs["align"] = loss + per_replica(align, penalty) * penalty, penalty
        return loss, logs
    if model == "mmae":
        per = replica_mse(net(x)[1], x)                                           # (S, M)
        return per @ w, {"loss": per.sum(1), **{f"loss_{m}": per[:, i] for i, m in enumerate(names)}}
    if model not in ("mvae", "mvae_cross"):
        raise ValueError(f"model must be one of {OBJECTIVES}, got {model!r}")
    M, S, B = len(names), net.S, x[names[0]].shape[1]
    subsets = torch.cat([torch.ones(1, M), torch.eye(M)]).bool().to(w.device)     # (K, M): joint, each one
    mu, logvar = net.encode_each(x).chunk(2, -1)                                  # (M, S, B, L) each
    mu_k, logvar_k = product_of_experts(mu[:, None], logvar[:, None], subsets.T[:, :, None, None])  # (K, S, B, L)
    z = mu_k
    if net.training:
        eps = torch.randn(mu_k.shape, generator=noise, device="cpu" if noise is None else noise.device)
        z = mu_k + torch.exp(0.5 * logvar_k) * eps.to(mu_k.device)
    K = len(subsets)
    x_hat = net.decode(z.transpose(0, 1).reshape(S, K * B, -1))                   # (S, K*B, d_m)
    sq = torch.stack([(x_hat[m].view(S, K, B, -1) - x[m][:, None]).pow(2).sum(-1).mean(-1)
                      for m in names], -1)                                         # (S, K, M)
    kl = gaussian_kl(mu_k, logvar_k).mean(-1).T                                   # (S, K)
    observed = subsets.to(sq.dtype) if model == "mvae" else torch.ones_like(subsets, dtype=sq.dtype)  # (K, M)
    loss = (0.5 * (sq * observed) @ w + per_replica(beta, kl) * kl).sum(1)
    dims = torch.tensor([x[m].shape[-1] for m in names], device=sq.device)
    per = sq[:, 0] / dims                                                          # joint MSE (S, M)
    return loss, {"loss": per.sum(1), **{f"loss_{m}": per[:, i] for i, m in enumerate(names)}, "kl": kl[:, 0]}


def compiled(fn, device: torch.device):
    """``torch.compile(fn)``: CUDA graphs (``mode="reduce-overhead"``) on a GPU, inductor's default
    elsewhere; static shapes, so the last partial batch gets a graph of its own and stays exact."""
    return torch.compile(fn, mode="reduce-overhead" if device.type == "cuda" else "default", dynamic=False)


@torch.no_grad()
def stacked_loss(net: StackedMMAE, x: dict[str, Tensor], model: str = "mmae", batch_size: int = 4096) -> Tensor:
    """Eval-mode MSE of every replica reconstructing every modality from all of them, on a whole
    split: (S, M), ``x[m]`` (n, d_m). The MVAE decodes its posterior mean."""
    net.eval()
    n = len(next(iter(x.values())))
    sums = 0
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size].expand(net.S, -1, -1) for m, a in x.items()}  # (S, B, d), no copy
        logs = objective(net, xb, model)[1]
        sums = sums + torch.stack([logs[f"loss_{m}"] for m in x], 1) * min(batch_size, n - i)
    return sums / n


def train_stacked(x_train: dict[str, Tensor], models: list[nn.Module], seeds: list[int], cfg: TrainConfig,
                  x_test: dict[str, Tensor] | None = None, progress: bool = True, *, resume_path=None,
                  save_every: int = 10, key: str | None = None, values: dict[str, list[float]] | None = None
                  ) -> tuple[list[nn.Module], list[pd.DataFrame]]:
    """Train ``models`` (freshly initialised, one per seed) together on ``objective(cfg.model)``
    with ``cfg``'s budget, optimiser and objective parameters (``cfg.seed`` is not used).

    Parameters
    ----------
    x_train, x_test : dict of str to Tensor
        (n, d_m) features on the training device; ``x_test`` (optional) is evaluated every epoch.
    models, seeds : list
        One freshly initialised model per seed; replica ``s`` sees the data in the order of ``seeds[s]``.
    cfg : TrainConfig
    progress : bool
    resume_path : Path, optional
        Keep a resume state there (:mod:`mmae.training.resume`) every ``save_every`` epochs and
        after the last, and continue from it when it holds this run (same ``key``).
    save_every : int
    key : str, optional
        The run key (:func:`mmae.training.checkpoint.run_id`); required with ``resume_path``.
    values : dict of str to list of float, optional
        Objective parameters that differ between replicas, one value per replica, in place of
        ``cfg``'s: any of :data:`mmae.training.replicas.PER_REPLICA` (a tuning grid trained together; each value is
        checked as a ``TrainConfig`` field).

    Returns
    -------
    models : list of torch.nn.Module
        The trained replicas.
    histories : list of pandas.DataFrame
        One per replica: per epoch what :func:`objective` logs (averaged over rows), the test
        reconstruction MSEs (``test_`` prefix; not for ``"contrastive"``), seconds.

    Raises
    ------
    FloatingPointError
        At the end of the first epoch with a non-finite training loss (naming it), or when the
        weights are not finite; the resume state of this run is then removed.
    """
    model, batch_size, epochs = cfg.model, cfg.batch_size, cfg.epochs
    if model not in OBJECTIVES:
        raise ValueError(f"model must be one of {OBJECTIVES}, got {model!r}")
    check_modalities(cfg, x_train)
    device = next(iter(x_train.values())).device
    net = StackedMMAE(models).to(device)
    fused = device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, fused=fused or None)
    n, S = len(next(iter(x_train.values()))), len(seeds)
    orders = [torch.Generator().manual_seed(s) for s in seeds]  # one data order per replica
    noise = torch.Generator().manual_seed(seeds[0])              # MVAE reparameterisation, modality dropout
    w = torch.tensor([(cfg.loss_weights or {}).get(m, 1.0) for m in x_train], device=device)
    knobs = replica_values(cfg, S, values, device)
    run = Run(cfg, seeds, "stacked", net, opt, [*orders, noise], x_train, resume_path, key, save_every)
    step = compiled(objective, device) if cfg.compile else objective
    draws = model in ("mvae", "mvae_cross") or positive(knobs["dropout"])   # the objective uses `noise`
    start, rows = run.start([[] for _ in seeds])
    for epoch in bar(range(start + 1, epochs + 1), desc=f"{model} epochs ({S} seed{'s' * (S > 1)})",
                     show=progress, mininterval=2, initial=start, total=epochs):
        t0 = time.perf_counter()
        net.train()
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)  # (S, n)
        sums: dict[str, Tensor] = {}
        losses = []  # each batch's (S,) loss, checked once per epoch: no device sync per step
        for i in range(0, n, batch_size):
            idx = perms[:, i:i + batch_size]                                     # (S, B)
            xb = {m: a[idx] for m, a in x_train.items()}                         # (S, B, d_m)
            if cfg.compile and device.type == "cuda":
                torch.compiler.cudagraph_mark_step_begin()                       # a new step: graph outputs may be reused
            loss, logs = step(net, xb, model, w, knobs["beta"], knobs["temperature"], noise if draws else None,
                              knobs["dropout"], knobs["align"])
            # replicas are independent: summing their losses gives each its own gradient
            loss.sum().backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            losses.append(loss.detach().clone())
            for k, v in logs.items():
                sums[k] = sums.get(k, 0) + v.detach() * idx.shape[1]
        run.check(epoch, torch.stack(losses))
        per_epoch = {k: (v / n).tolist() for k, v in sums.items()}
        test = stacked_loss(net, x_test, model).tolist() if x_test is not None and model != "contrastive" else None
        seconds = time.perf_counter() - t0
        for s in range(S):
            row = {"epoch": epoch, **{k: v[s] for k, v in per_epoch.items()}}
            if test is not None:
                row |= {"test_loss": sum(test[s]), **{f"test_loss_{m}": v for m, v in zip(x_test, test[s])}}
            rows[s].append(row | {"seconds": seconds})
        run.save(epoch, rows)
    return [m.to(device) for m in net.unstack()], [pd.DataFrame(r) for r in rows]
