"""S independent MMAEs trained together: the project's fast path.

Every weight of :class:`StackedMMAE` carries a leading replica axis, and layers of equal shape
are stacked over the modalities too, so one batched matmul (``baddbmm``) and one batch norm run a
hidden layer of all modalities of all S replicas, and a fused Adam updates 28 stacked tensors
instead of S x 78 small ones. Measured with ``python -m mmae.bench``. Replica ``s`` is initialised exactly as ``MMAE`` is after
``torch.manual_seed(seeds[s])`` and sees the data in the order of its own seed, so it follows the
same trajectory as :func:`mmae.train.train_reference` with that seed, up to floating-point
reassociation (``tests/test_ensemble.py`` states the tolerance). With one seed this is the
trainer the notebooks use.
"""
from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from mmae.model import MMAE


class StackedMMAE(nn.Module):
    """S MMAEs of the same configuration with stacked weights (built from S ``MMAE`` modules).

    ``forward`` takes ``x[m]`` of shape (S, B, d_m) and returns z (S, B, latent) and the
    reconstructions (S, B, d_m): replica s computes exactly what ``models[s]`` would.
    Layers of equal shape are stacked over modalities too (axis R = M * S, modality-major), so
    a hidden layer of all modalities and all replicas is one ``baddbmm`` and one batch norm:
    on a CPU the cost of a step is mostly the number of operations, not their size.
    """

    def __init__(self, models: list[MMAE]):
        super().__init__()
        first = models[0]
        self.dims, self.latent_dim, self.hidden, self.fusion = first.dims, first.latent_dim, first.hidden, first.fusion
        if not self.hidden:
            raise ValueError("the stacked engine needs at least one hidden layer; use engine='reference'")
        self.S, self.M, H = len(models), len(self.dims), len(self.hidden)
        self.p, self._layout = nn.ParameterDict(), []
        enc = [(m, s, model.encoders[m]) for m in self.dims for s, model in enumerate(models)]  # R entries
        dec = [(m, s, model.decoders[m]) for m in self.dims for s, model in enumerate(models)]
        for m in self.dims:  # first encoder layers differ by input size: one stack per modality
            self._add(f"enc_in_{m}", "encoders", [(m_, s, net, 0) for m_, s, net in enc if m_ == m])
        for part, nets, name in (("encoders", enc, "enc"), ("decoders", dec, "dec")):
            if part == "decoders":
                self._add("dec_in", part, [(m, s, net, 0) for m, s, net in nets])
            for j in range(H):  # Sequential indices: Linear 3j, BatchNorm 3j+1, ReLU 3j+2; last Linear 3H
                self._add(f"{name}_bn{j}", part, [(m, s, net, 3 * j + 1) for m, s, net in nets])
                if j + 1 < H:
                    self._add(f"{name}_h{j + 1}", part, [(m, s, net, 3 * j + 3) for m, s, net in nets])
        self._add("enc_out", "encoders", [(m, s, net, 3 * H) for m, s, net in enc])
        for m in self.dims:  # last decoder layers differ by output size
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

    def forward(self, x: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        M, S, H = self.M, self.S, len(self.hidden)
        h = torch.cat([self._linear(f"enc_in_{m}", x[m]) for m in self.dims])   # (M*S, B, hidden[0])
        for j in range(H):
            h = self._bn_relu(f"enc_bn{j}", h)
            h = self._linear(f"enc_h{j + 1}" if j + 1 < H else "enc_out", h)
        hs = h.view(M, S, *h.shape[1:])                                          # (M, S, B, latent)
        z = hs.mean(0) if self.fusion == "mean" else hs.amax(0)
        h = self._linear("dec_in", z.repeat(M, 1, 1))                            # (M*S, B, hidden[-1])
        for j in range(H):
            h = self._bn_relu(f"dec_bn{j}", h)
            if j + 1 < H:
                h = self._linear(f"dec_h{j + 1}", h)
        h = h.reshape(M, S, *h.shape[1:])
        return z, {m: self._linear(f"dec_out_{m}", h[i]) for i, m in enumerate(self.dims)}

    @torch.no_grad()
    def unstack(self) -> list[MMAE]:
        """The S trained replicas as ordinary ``MMAE`` modules (eval mode, on the CPU)."""
        models = [MMAE(self.dims, self.latent_dim, self.hidden, self.fusion) for _ in range(self.S)]
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


@torch.no_grad()
def stacked_loss(net: StackedMMAE, x: dict[str, Tensor], batch_size: int = 4096) -> Tensor:
    """Eval-mode reconstruction MSE of every replica on a whole split: (S, M), x[m] (n, d_m)."""
    net.eval()
    n = len(next(iter(x.values())))
    sums = 0
    for i in range(0, n, batch_size):
        xb = {m: a[i:i + batch_size].expand(net.S, -1, -1) for m, a in x.items()}  # (S, B, d), no copy
        x_hat = net(xb)[1]
        rows = min(batch_size, n - i)
        sums = sums + replica_mse(x_hat, xb) * rows
    return sums / n


def train_stacked(x_train: dict[str, Tensor], models: list[MMAE], seeds: list[int], epochs: int,
                  batch_size: int, lr: float, loss_weights: dict[str, float] | None = None,
                  x_test: dict[str, Tensor] | None = None, progress: bool = True
                  ) -> tuple[list[MMAE], list[pd.DataFrame]]:
    """Train ``models`` (freshly initialised, one per seed) together; see the module docstring.

    ``x_train[m]``, ``x_test[m]`` are (n, d_m) tensors on the training device. Returns the trained
    replicas and one history per replica (train and, with ``x_test``, test MSE per epoch).
    """
    device = x_train[next(iter(x_train))].device
    net = StackedMMAE(models).to(device)
    fused = device.type in ("cpu", "cuda")
    opt = torch.optim.Adam(net.parameters(), lr=lr, fused=fused or None)
    n, S = len(next(iter(x_train.values()))), len(seeds)
    orders = [torch.Generator().manual_seed(s) for s in seeds]  # one data order per replica
    w = torch.tensor([(loss_weights or {}).get(m, 1.0) for m in x_train], device=device)
    rows: list[list[dict]] = [[] for _ in seeds]
    for epoch in tqdm(range(1, epochs + 1), desc=f"epochs ({S} seed{'s' * (S > 1)})", disable=not progress,
                      mininterval=2):
        t0 = time.perf_counter()
        net.train()
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)  # (S, n)
        sums = torch.zeros(S, len(x_train), device=device)
        for i in range(0, n, batch_size):
            idx = perms[:, i:i + batch_size]                                     # (S, B)
            xb = {m: a[idx] for m, a in x_train.items()}                         # (S, B, d_m)
            _, x_hat = net(xb)
            per = replica_mse(x_hat, xb)                                           # (S, M)
            # replicas are independent: summing their losses gives each its own gradient
            (per * w).sum().backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sums += per.detach() * idx.shape[1]
        per_epoch = (sums / n).tolist()
        test = stacked_loss(net, x_test).tolist() if x_test is not None else None
        seconds = time.perf_counter() - t0
        for s in range(S):
            row = {"epoch": epoch, "loss": sum(per_epoch[s]), **{f"loss_{m}": v for m, v in zip(x_train, per_epoch[s])}}
            if test is not None:
                row |= {"test_loss": sum(test[s]), **{f"test_loss_{m}": v for m, v in zip(x_test, test[s])}}
            rows[s].append(row | {"seconds": seconds})
    return [m.to(device) for m in net.unstack()], [pd.DataFrame(r) for r in rows]
