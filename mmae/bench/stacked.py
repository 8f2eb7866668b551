"""The training engine this project used until issue 22, kept only to be measured beside the
trainer (:mod:`mmae.bench.training`): S MMAEs with their layers laid out again for ``baddbmm``,
stacked over seeds and modalities, BatchNorm re-implemented on the flattened stack. Nothing
trains with it; ``tests/test_bench.py`` checks that it still computes what ``MMAE`` does, so the
comparison is of equals.
"""
from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmae.training import TrainConfig


class StackedMMAE(nn.Module):
    """S MMAEs of the same configuration with stacked weights (the former engine, as it was).

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


def train_seconds(x: dict[str, Tensor], models: list[nn.Module], seeds: list[int], cfg: TrainConfig) -> list[float]:
    """Train ``models`` (MMAEs) stacked with Eq. (3) for ``cfg.optim.epochs``: seconds of every epoch."""
    device = next(iter(x.values())).device
    net = StackedMMAE(models).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, fused=device.type in ("cpu", "cuda") or None)
    n, orders, seconds = len(next(iter(x.values()))), [torch.Generator().manual_seed(s) for s in seeds], []
    for _ in range(cfg.optim.epochs):
        t0 = time.perf_counter()
        perms = torch.stack([torch.randperm(n, generator=g) for g in orders]).to(device)
        for i in range(0, n, cfg.optim.batch_size):
            idx = perms[:, i:i + cfg.optim.batch_size]
            xb = {m: a[idx] for m, a in x.items()}
            x_hat = net(xb)[1]
            loss = torch.stack([(x_hat[m] - xb[m]).pow(2).mean((1, 2)) for m in xb], 1).sum()
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds.append(time.perf_counter() - t0)
    return seconds
