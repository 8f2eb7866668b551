"""Sweeps of the training notebook with papermill (chapter 13), and the table of their runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmae import cluster
from mmae.artifacts import project_root, resolve_dir, run_key
from mmae.atomic import write_text
from mmae.data import Features
from mmae.evaluation import N_INIT
from mmae.study.questions import cluster_many
from mmae.training import load_checkpoint


# The swept kernels log "Kernel is running over TCP without encryption" (a WARNING of ipykernel) to the
# stderr they inherit from chapter 13's kernel, which shows it on the page: they log errors only.
QUIET_KERNEL = ["--IPKernelApp.log_level=ERROR"]


def run_sweep(notebook: str | Path, grid: dict[str, list], params: dict, folder: str | Path,
              fingerprint: str) -> pd.DataFrame:
    """Execute the training ``notebook`` with papermill once per (parameter, value) of ``grid``,
    on top of ``params`` (which holds a base value of every swept parameter), each run in its own
    folder under ``folder``; equal parameter sets run once. A run already done by this
    code on these data (``fingerprint``) with the same parameters is not repeated; the others run
    as tasks of :func:`mmae.cluster.run`, side by side.

    Returns one row per run: parameter, value, folder, whether it was executed now, and the
    run's latent size and seeds (which files :func:`sweep_table` reads).
    """
    missing = [name for name in grid if name not in params]
    if missing:  # without a base value, "latent_dim=128" and "epochs=2" could not be seen as one run
        raise ValueError(f"params must hold a base value for every swept parameter; missing {missing}")
    runs, folders = [], {}  # (name, value, key, parameters); the folder of every distinct key
    for name, values in grid.items():
        for value in values:
            p = params | {name: value}
            key = run_key(fingerprint, p)
            folders.setdefault(key, resolve_dir(Path(folder) / f"{name}={value}"))
            runs.append((name, value, key, p))
    todo = {key: (str(notebook), str(folders[key]), p, key) for _, _, key, p in runs if not _done(folders[key], key)}
    cluster.run(_execute, list(todo.values()), desc="sweep runs")
    rows = []
    for name, value, key, p in runs:
        seeds = list(range(p.get("seed", 42), p.get("seed", 42) + p.get("n_seeds", 1)))
        rows.append({"parameter": name, "value": value, "folder": folders[key], "executed": key in todo,
                     "latent_dim": p.get("latent_dim", 128), "seeds": seeds})
        todo.pop(key, None)  # a repeated parameter set counts as executed once
    return pd.DataFrame(rows)


def _done(run_dir: Path, key: str) -> bool:
    """Whether ``run_dir`` holds the finished run ``key`` (its ``run.key`` is written last)."""
    marker = run_dir / "run.key"
    return marker.exists() and marker.read_text() == key


def _execute(job: tuple) -> None:
    """A task of :func:`run_sweep`: papermill runs ``notebook`` with ``parameters`` into ``run_dir``,
    then marks the run done with its key."""
    import papermill as pm

    notebook, run_dir, parameters, key = job
    pm.execute_notebook(notebook, str(Path(run_dir) / Path(notebook).name), cwd=str(project_root()),
                        parameters=parameters | {"artifacts_dir": run_dir}, kernel_name="python3",
                        progress_bar=False, extra_arguments=QUIET_KERNEL)
    write_text(Path(run_dir) / "run.key", key)


def sweep_table(runs: pd.DataFrame, features: Features, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Score every seed of every run of :func:`run_sweep`: K-Means (``k``) ARI and NMI on its test
    latents, and its final test reconstruction loss. Columns parameter, value, seed, metric, value."""
    found = []  # (run, seed, test loss, test latents) of every seed of every run
    for r in runs.itertuples():
        # exactly the files of this run: a leftover seed folder or checkpoint of another run is never read
        folders = [Path(r.folder) / f"seed{s}" for s in r.seeds] if len(r.seeds) > 1 else [Path(r.folder)]
        for d in folders:
            _, ckpt = load_checkpoint(d / f"mmae_z{r.latent_dim}.pt", "cpu")
            found.append((r, ckpt["seeds"][0], ckpt["histories"][0]["test_loss"][-1],
                          np.load(d / f"latents_z{r.latent_dim}_test.npy")))
    # every K-Means at once in the batched engine, grouped by latent size (1.3 s a problem with
    # scikit-learn one by one against 0.2 s batched: 4,200 x 128, k = 42, 10 restarts, 2-core CPU)
    scores = cluster_many([z for *_, z in found], features.y["test"], k, n_init, [s for _, s, _, _ in found])
    return pd.DataFrame([{"parameter": r.parameter, "setting": str(r.value), "seed": seed, "metric": m, "value": v}
                         for (r, seed, loss, _), c in zip(found, scores)
                         for m, v in {"ari": c["ari"], "nmi": c["nmi"], "test_loss": loss}.items()])
