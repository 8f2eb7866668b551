"""Benchmarks, measured side by side in one run and written as JSON for the Performance page.

    python -m mmae.bench            # training: plain loops, torch.compile, the stacked engine
    python -m mmae.bench --eval     # evaluation: chapters 08-12, today's path against the batched engine
    python -m mmae.bench --tiny     # seconds: proves it runs

``training`` and ``evaluation`` hold the measurements; ``results`` the JSON record (machine,
versions, date, every number) that ``book/benchmarks/`` keeps and the Performance page renders.
"""
from mmae.bench.training import epoch_gflop, matmul_peak

__all__ = ["epoch_gflop", "matmul_peak"]
