"""The batched evaluation engine: many independent problems of one shape at once, as tensor
programs on one device (the training device, when it is given).

The questions of chapters 08-12 evaluate a grid of model x seed x subset (or noise level)
embeddings. Solving them one at a time with scikit-learn pays Python and library overhead per
problem; here each problem is a slice ``p`` of a (P, n, d) tensor:

- :func:`kmeans_many`: K-Means with greedy k-means++ seeding (scikit-learn's algorithm) and Lloyd
  iterations, every problem and restart in one batched program;
- :func:`fit_linear_probes`: the linear probe of :mod:`mmae.evaluation.probe` (scikit-learn's
  multinomial logistic-regression objective), L-BFGS run block by block in lock step, each block
  with its own history, line search and stopping test;
- :mod:`mmae.evaluation.neighbours`: retrieval and k-NN tags by batched matmuls and top-k.

Every problem draws its random numbers from its own generator (``seeds[p]``), so its result does
not depend on what else is in the batch. ``tests/test_batched.py`` states the agreement with
scikit-learn and with the one-problem functions.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from mmae.evaluation.clustering import N_INIT
from mmae.evaluation.probe import PROBE_TOL

MEMORY = 2**28  # bytes of the largest intermediate a chunk of problems may hold (256 MiB)


def _shape(X, name: str) -> tuple[int, int, int]:
    """(P, n, d) of problems given as one (P, n, d) array or tensor, or a list of P (n, d) arrays."""
    if isinstance(X, (list, tuple)):
        shapes = {tuple(np.shape(x)) for x in X}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"{name} must be (P, n, d) or P arrays of one shape (n, d), got shapes {sorted(shapes)}")
        shape = (len(X), *next(iter(shapes)))
    else:
        shape = tuple(X.shape) if hasattr(X, "shape") else np.shape(X)
    if len(shape) != 3 or 0 in shape:
        raise ValueError(f"{name} must be (P, n, d) with P, n, d >= 1, got shape {tuple(shape)}")
    return shape


def _stack(X, name: str, device, dtype=torch.float32, rows: slice = slice(None)) -> torch.Tensor:
    """Problems ``rows`` of ``X`` (see :func:`_shape`) as one (p, n, d) tensor on ``device``:
    the caller stacks one chunk at a time, never the whole grid."""
    _shape(X, name)
    X = X[rows]
    X = torch.as_tensor(np.stack(X) if isinstance(X, (list, tuple)) else np.asarray(X) if not torch.is_tensor(X) else X)
    device = torch.device(device)
    if device.type == "mps" and dtype == torch.float64:
        dtype = torch.float32  # MPS has no float64
    return X.to(device=device, dtype=dtype)


def _seeds(seeds, P: int) -> list[int]:
    seeds = [seeds] * P if isinstance(seeds, (int, np.integer)) else list(seeds)
    if len(seeds) != P:
        raise ValueError(f"seeds must be an int or one per problem ({P}), got {len(seeds)}")
    return [int(s) for s in seeds]


def _chunks(P: int, per_problem: int):
    step = max(1, MEMORY // max(per_problem, 1))
    return [slice(i, min(i + step, P)) for i in range(0, P, step)]


def _sq_dist(X: torch.Tensor, xx: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (P, n, m) of X (P, n, d) with row norms xx (P, n) to C (P, m, d)."""
    return torch.baddbmm(xx[:, :, None] + (C * C).sum(-1)[:, None], X, C.transpose(1, 2), alpha=-2).clamp_min_(0)


def _nearest(X: torch.Tensor, C: torch.Tensor, R: int, k: int) -> torch.Tensor:
    """The closest of each restart's k centres (A, n, R) for X (A, n, d) and C (A, R*k, d): the
    argmin of ||c||^2 - 2 x.c, one fused ``baddbmm`` (||x||^2 and the clamp at 0 of
    :func:`_sq_dist` do not change an argmin)."""
    A, n, _ = X.shape
    return torch.baddbmm((C * C).sum(-1)[:, None], X, C.transpose(1, 2), alpha=-2).view(A, n, R, k).argmin(-1)


def _centres(X: torch.Tensor, lab: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Lloyd's update: the mean of the rows of X (A, n, d) given to each centre by ``lab`` (A, n, R)
    (indices into C's R*k rows); an empty cluster keeps its centre C (A, R*k, d). Row sums by
    ``index_add_``, one restart at a time: d adds per row and restart, where a one-hot matmul
    costs R*k*d (measured 2026-12-03 on 2 cores, 12 problems of 4,200 x 128, k = 42, 10 restarts:
    K-Means 4.20 s against 5.95 s with the one-hot matmul, the same labels)."""
    A, n, R = lab.shape
    m, d = C.shape[1], C.shape[2]
    flat = (lab + (torch.arange(A, device=X.device) * m)[:, None, None]).reshape(A * n, R)
    rows = X.reshape(A * n, d)
    sums = torch.zeros(A * m, d, dtype=X.dtype, device=X.device)
    for r in range(R):
        sums.index_add_(0, flat[:, r], rows)
    count = torch.bincount(flat.reshape(-1), minlength=A * m).to(X.dtype).view(A, m, 1)
    return torch.where(count > 0, sums.view(A, m, d) / count.clamp_min(1), C)


def kmeans_many(X, k: int, n_init: int = N_INIT, seeds=0, max_iter: int = 300, tol: float = 1e-4,
                device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """K-Means on every problem ``X[p]`` (n, d); the best of ``n_init`` restarts by inertia.

    Each restart is seeded by greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's
    2 + ln k candidates per centre) and refined by Lloyd iterations until the labels stop changing
    or the centres move by less than ``tol`` times the mean feature variance (scikit-learn's
    criteria), at most ``max_iter``. Unlike scikit-learn, an empty cluster keeps its centre.

    Parameters
    ----------
    X : array_like or Tensor, shape (P, n, d)
    k : int
        Clusters, in [1, n].
    n_init : int
    seeds : int or list of int
        The seed of every problem's own generator (one int: the same for all).
    max_iter : int
    tol : float
    device : str or torch.device

    Returns
    -------
    labels : ndarray of int64, shape (P, n)
    inertia : ndarray of float64, shape (P,)
        Sum of squared distances to the closest centre, of the restart kept.
    """
    P, n, d = _shape(X, "X")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n] = [1, {n}], got {k}")
    if n_init < 1 or max_iter < 1:
        raise ValueError(f"n_init and max_iter must be >= 1, got {n_init} and {max_iter}")
    seeds = _seeds(seeds, P)
    trials = 2 + int(math.log(k))
    draws = torch.stack([torch.rand(n_init, 1 + (k - 1) * trials, generator=torch.Generator().manual_seed(s),
                                    dtype=torch.float64) for s in seeds]).to(device)   # (P, R, draws)
    labels, inertia = [], []
    for c in _chunks(P, 4 * n * n_init * max(k, trials) * 3):
        lab, ine = _kmeans_chunk(_stack(X, "X", device, rows=c), k, n_init, draws[c], trials, max_iter, tol)
        labels.append(lab), inertia.append(ine)
    return torch.cat(labels).cpu().numpy(), torch.cat(inertia).double().cpu().numpy()


def _kmeans_chunk(X, k, R, draws, trials, max_iter, tol):
    P, n, d = X.shape
    xx, rows = (X * X).sum(-1), torch.arange(P, device=X.device)[:, None]
    # k-means++: the first centre uniformly, then the best of `trials` candidates drawn by D^2
    first = (draws[:, :, 0] * n).long().clamp_max(n - 1)                          # (P, R)
    C = X[rows, first]                                                            # (P, R, d)
    closest = _sq_dist(X, xx, C).transpose(1, 2)                                  # (P, R, n)
    centres = [C]
    for j in range(1, k):
        u = draws[:, :, 1 + (j - 1) * trials: 1 + j * trials]                     # (P, R, t)
        cdf = closest.double().cumsum(-1)
        cand = torch.searchsorted(cdf, (u * cdf[..., -1:]).contiguous()).clamp_max(n - 1)  # (P, R, t)
        Cc = X[rows, cand.view(P, -1)]                                            # (P, R*t, d)
        new = torch.minimum(closest.repeat_interleave(trials, 1), _sq_dist(X, xx, Cc).transpose(1, 2))
        pick = new.sum(-1).view(P, R, trials).argmin(-1)                          # (P, R)
        sel = torch.arange(R, device=X.device) * trials + pick
        closest = new[rows, sel]                                                  # (P, R, n)
        centres.append(Cc[rows, sel])
    C = torch.stack(centres, 2).reshape(P, R * k, d)                              # restart r: rows r*k..
    # Lloyd, every restart of every problem at once; problems leave when all their restarts converged
    offset = (torch.arange(R, device=X.device) * k)[None, None]                   # (1, 1, R)
    var = X.var(1, unbiased=False).mean(-1)                                       # (P,)
    last = torch.full((P, n, R), -1, device=X.device)
    active = torch.arange(P, device=X.device)
    for _ in range(max_iter):
        Xa, Ca = X[active], C[active]
        lab = _nearest(Xa, Ca, R, k) + offset                                     # (A, n, R)
        new = _centres(Xa, lab, Ca)
        shift = (new - Ca).pow(2).sum(-1).view(len(active), R, k).sum(-1)        # (A, R)
        done = ((lab == last[active]).all(1) | (shift <= tol * var[active, None])).all(1)
        C[active], last[active] = new, lab
        active = active[~done]
        if len(active) == 0:
            break
    best = _sq_dist(X, xx, C).view(P, n, R, k).min(-1)                            # final E-step
    inertia = best.values.sum(1)                                                  # (P, R)
    r = inertia.argmin(1)
    return best.indices[rows[:, 0], :, r], inertia[rows[:, 0], r]


def fit_linear_probes(Z_train, y_train, C: float = 1.0, max_iter: int = 200, tol: float = PROBE_TOL,
                      history: int = 10, device="cpu", dtype=torch.float32):
    """The linear probe of :func:`mmae.evaluation.fit_linear_probe` for every problem ``Z_train[p]``.

    Each problem's features are standardised with its own train mean and standard deviation; its
    objective (scikit-learn's ``LogisticRegression``, L2, intercept unpenalised, divided by
    ``C * n``) is minimised from zero weights by L-BFGS with ``history`` pairs and a backtracking
    (Armijo) line search, until every gradient entry of that problem is below ``tol``, or
    ``max_iter``. The problems are separate blocks: their steps, histories and stopping never mix.

    Returns
    -------
    callable
        ``predict(Z)``: labels (P, m) of ``Z`` (P, m, d), standardised as each problem's train set;
        its attributes ``coef_`` (P, n_classes, d) and ``intercept_`` (P, n_classes) are the weights
        on the standardised features, as scikit-learn's.
    """
    P, n, d = _shape(Z_train, "Z_train")
    y_train = np.asarray(y_train)
    if y_train.shape != (n,):
        raise ValueError(f"y_train must be ({n},), one label per row of Z_train, got shape {y_train.shape}")
    classes, y = np.unique(y_train, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"y_train must hold at least 2 classes, got {classes}")
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C}")
    fits = [_fit_probes(_stack(Z_train, "Z_train", device, dtype, c), torch.as_tensor(y, device=device), len(classes),
                        C, max_iter, tol, history) for c in _chunks(P, 2 * n * d * dtype.itemsize)]
    W, b, mean, std = (torch.cat(t) for t in zip(*fits))

    def predict(Zq) -> np.ndarray:
        Zq = _stack(Zq, "Z", W.device, W.dtype)
        if Zq.shape[0] != P or Zq.shape[2] != d:
            raise ValueError(f"Z must be (P, m, d) = ({P}, m, {d}) as in training, got shape {tuple(Zq.shape)}")
        return classes[torch.baddbmm(b, (Zq - mean) / std, W).argmax(-1).cpu().numpy()]

    predict.coef_ = W.transpose(1, 2).cpu().numpy()          # (P, n_classes, d), on standardised features
    predict.intercept_ = b[:, 0].cpu().numpy()               # (P, n_classes)
    return predict


def _fit_probes(Z, y, K, C, max_iter, tol, history):
    """:func:`fit_linear_probes` of one chunk: weights W (P, d, K), b (P, 1, K), mean and std (P, 1, d)."""
    P, n, d = Z.shape
    mean, std = Z.mean(1, keepdim=True), Z.std(1, unbiased=False, keepdim=True)
    std = torch.where(std == 0, torch.ones_like(std), std)
    X = (Z - mean) / std
    rows = {"idx": torch.arange(P, device=Z.device), "X": X}  # the rows of X last used: gathered once

    onehot = F.one_hot(y, K).to(X.dtype)                                       # (n, K)

    def loss_grad(theta, idx):  # theta (A, d*K + K) of the problems idx -> loss (A,), gradient (A, D)
        if not (len(idx) == len(rows["idx"]) and torch.equal(idx, rows["idx"])):
            rows.update(idx=idx, X=X[idx])
        W, b = theta[:, :d * K].view(-1, d, K), theta[:, None, d * K:]
        logits = torch.baddbmm(b, rows["X"], W)                                # (A, n, K)
        lse = logits.logsumexp(2, keepdim=True)
        loss = (lse[..., 0] - (logits * onehot).sum(2)).mean(1) + (W * W).sum((1, 2)) / (2 * C * n)
        err = (logits - lse).exp_().sub_(onehot)                               # softmax - onehot, (A, n, K)
        grad_W = torch.baddbmm(W, rows["X"].transpose(1, 2), err, beta=1 / (C * n), alpha=1 / n)
        return loss, torch.cat([grad_W.reshape(len(idx), -1), err.mean(1)], 1)

    theta = _lbfgs(loss_grad, Z.new_zeros(P, d * K + K), max_iter, tol, history)
    return theta[:, :d * K].view(P, d, K), theta[:, None, d * K:], mean, std


@torch.no_grad()
def _lbfgs(loss_grad, theta, max_iter, tol, m, c1=1e-4):
    """Block-wise L-BFGS (Nocedal & Wright 2006, Alg. 7.4 and 7.5) on rows of ``theta`` (P, D)."""
    P, D = theta.shape
    f, g = loss_grad(theta, torch.arange(P, device=theta.device))
    S, Y = theta.new_zeros(P, m, D), theta.new_zeros(P, m, D)
    rho = theta.new_zeros(P, m)                                     # 0: an empty or skipped history slot
    gamma = 1 / g.abs().sum(1).clamp_min(1)                         # first step, as torch.optim.LBFGS
    active = torch.arange(P, device=theta.device)[g.abs().amax(1) > tol]
    for it in range(max_iter):
        if len(active) == 0:
            break
        a, q = active, g[active].clone()
        alphas = []
        for j in range(it - 1, max(it - m, 0) - 1, -1):            # newest pair first
            s = j % m
            alpha = rho[a, s] * (S[a, s] * q).sum(1)
            q -= alpha[:, None] * Y[a, s]
            alphas.append((s, alpha))
        r = gamma[a, None] * q
        for s, alpha in reversed(alphas):
            r += S[a, s] * (alpha - rho[a, s] * (Y[a, s] * r).sum(1))[:, None]
        direction, slope = -r, -(g[a] * r).sum(1)                   # slope = g . direction < 0
        step = theta.new_ones(len(a))
        todo = torch.arange(len(a), device=theta.device)
        f_new, g_new = f[a].clone(), g[a].clone()
        for _ in range(40):                                         # backtracking on the blocks not done
            idx = a[todo]
            fn, gn = loss_grad(theta[idx] + step[todo, None] * direction[todo], idx)
            ok = fn <= f[idx] + c1 * step[todo] * slope[todo]
            f_new[todo[ok]], g_new[todo[ok]] = fn[ok], gn[ok]
            todo = todo[~ok]
            if len(todo) == 0:
                break
            step[todo] /= 2
        step[todo] = 0                                              # no decrease found: stay
        s_new, y_new = step[:, None] * direction, g_new - g[a]
        sy = (s_new * y_new).sum(1)
        good = sy > 1e-10 * (y_new * y_new).sum(1).clamp_min(1e-30)  # curvature: else skip the pair
        slot = it % m
        S[a, slot], Y[a, slot] = s_new, y_new
        rho[a, slot] = torch.where(good, 1 / sy.clamp_min(1e-30), torch.zeros_like(sy))
        gamma[a] = torch.where(good, sy / (y_new * y_new).sum(1).clamp_min(1e-30), gamma[a])
        theta[a] += s_new
        f[a], g[a] = f_new, g_new
        active = a[(g_new.abs().amax(1) > tol) & (step > 0)]
    return theta
