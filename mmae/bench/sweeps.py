"""Studies on the task engine, side by side in one run: the models of chapter 7's zoo trained one
task after another in this process (``MMAE_SCHEDULER=serial``: every task on all the cores'
threads) and as tasks of a LocalCluster (one worker process per core, one thread each,
:mod:`mmae.cluster`), the same tasks.

From the task times measured in the cluster's workers the benchmark models the wall time on N
such workers: the tasks scheduled longest first on N workers (LPT), plus the overhead the
measured cluster run showed beyond that schedule (starting the workers, sending the data). The
model assumes workers as fast as this machine's were side by side and no other load; the
longest task bounds it whatever N.
"""
from __future__ import annotations

import heapq
import tempfile
import time
from pathlib import Path

import pandas as pd

from mmae import cluster
from mmae.data import Features, load_features, standardize
from mmae.data.synthetic import make_synthetic
from mmae.study.zoo import VARIANTS, fit, variant_config
from mmae.training import make_config

WORKERS = (1, 2, 4, 8, 16, 32)  # the worker counts the model predicts


def makespan(durations: list[float], workers: int) -> float:
    """The wall time of ``durations`` scheduled longest first, each on the least busy of ``workers``.

    Examples
    --------
    >>> makespan([4, 3, 3, 2], 2)
    6
    """
    load = [0] * workers
    for d in sorted(durations, reverse=True):
        heapq.heapreplace(load, load[0] + d)
    return max(load)


def _timed(features: Features, job: tuple) -> float:
    """A task: one model of the zoo trained (:func:`mmae.study.zoo.fit`), its seconds."""
    start = time.perf_counter()
    fit(features, job)
    return time.perf_counter() - start


def _jobs(features: Features, epochs: int, seeds: int, folder: Path) -> list[tuple]:
    cfg = make_config(epochs=epochs, device="cpu")
    trained = [n for n in VARIANTS if n != "mmae_impute"]
    return [(variant_config(n, cfg, features.dims), list(range(seeds)), folder / f"{n}.pt") for n in trained]


def _run(scheduler: str, features: Features, epochs: int, seeds: int) -> tuple[float, list[float], int]:
    """Wall seconds of the zoo's tasks where ``scheduler`` sends them (the cluster started first,
    its start not counted), each task's own seconds, and the threads each computed with."""
    with cluster.scheduler(scheduler):
        cluster.workers()  # the cluster up before the clock starts
        with tempfile.TemporaryDirectory() as tmp:
            jobs = _jobs(features, epochs, seeds, Path(tmp))
            start = time.perf_counter()
            seconds = cluster.run(_timed, jobs, shared=features, progress=False)
            return time.perf_counter() - start, seconds, cluster.task_threads()


def run(data: str = "real", epochs: int = 2, seeds: int = 5, tiny: bool = False) -> tuple[pd.DataFrame, dict]:
    """The zoo trained serially and on the local cluster, and the model of N workers.

    Returns
    -------
    table : pandas.DataFrame
        One row per way of running (``serial (...)``, ``local cluster, W workers``, ``model, N workers``):
        ``workers``, ``wall_s`` (measured or modelled), ``speedup`` against serial, ``measured``.
    info : dict
        The data, epochs, seeds, tasks, each task's serial seconds, the cluster's overhead.
    """
    if tiny:
        x, y = make_synthetic(0, 6, 2, 20, dims={"image": 8, "audio": 12, "text": 10})
        features, epochs, seeds = standardize(Features(x, y, "tiny synthetic", True)), 1, 2
    else:
        features = standardize(load_features(data))
    serial_s, _, serial_threads = _run("serial", features, epochs, seeds)
    local_s, durations, _ = _run("local", features, epochs, seeds)
    with cluster.scheduler("local"):
        W = cluster.workers()
    overhead = max(0.0, local_s - makespan(durations, W))
    rows = [{"way": f"serial (this process, {serial_threads} threads)", "workers": 1, "wall_s": serial_s, "measured": True},
            {"way": f"local cluster, {W} workers", "workers": W, "wall_s": local_s, "measured": True}]
    rows += [{"way": f"model, {n} workers", "workers": n, "wall_s": makespan(durations, n) + overhead, "measured": False}
             for n in WORKERS]
    table = pd.DataFrame(rows).set_index("way")
    table["speedup"] = serial_s / table["wall_s"]
    info = {"data": features.name, "device": "cpu", "epochs": epochs, "seeds": seeds, "tasks": len(durations),
            "task_s": durations, "longest_task_s": max(durations), "overhead_s": overhead, "workers": W,
            "cores": cluster.cores(), "serial_threads": serial_threads, "default": cluster.default()}
    return table, info


def report(table: pd.DataFrame, info: dict) -> str:
    """The table and its context as text."""
    return (f"{info['tasks']} tasks (the zoo of chapter 7: each model's {info['seeds']} seeds together, "
            f"{info['epochs']} epochs) on {info['data']}; the longest task {info['longest_task_s']:.1f} s, the "
            f"cluster's overhead beyond its schedule {info['overhead_s']:.1f} s\n\n"
            + table.to_string(formatters={"wall_s": "{:.1f}".format, "speedup": "{:.2f}x".format})
            + "\n\nmodel: longest-first schedule of the task times measured in the workers on N workers + the "
              f"measured overhead; MMAE_SCHEDULER's default here: {info['default']}")
