"""Sweeps of the training notebook with papermill (chapter 13), and the table of their runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mmae.artifacts import project_root, resolve_dir, run_key
from mmae.data import Features
from mmae.evaluation import N_INIT, cluster_scores
from mmae.training import load_checkpoint


def run_sweep(notebook: str | Path, grid: dict[str, list], params: dict, folder: str | Path,
              fingerprint: str) -> pd.DataFrame:
    """Execute the training ``notebook`` with papermill once per (parameter, value) of ``grid``,
    on top of ``params`` (which holds a base value of every swept parameter), each run in its own
    folder under ``folder``; equal parameter sets run once. A run already done by this
    code on these data (``fingerprint``) with the same parameters is not repeated.

    Returns one row per run: parameter, value, folder, and whether it was executed now.
    """
    import papermill as pm

    missing = [name for name in grid if name not in params]
    if missing:  # without a base value, "latent_dim=128" and "epochs=2" could not be seen as one run
        raise ValueError(f"params must hold a base value for every swept parameter; missing {missing}")
    rows, done = [], {}
    for name, values in grid.items():
        for value in values:
            p = params | {name: value}
            key = run_key(fingerprint, p)
            run_dir = done.get(key) or resolve_dir(Path(folder) / f"{name}={value}")
            executed = key not in done and not ((run_dir / "run.key").exists() and (run_dir / "run.key").read_text() == key)
            if executed:
                pm.execute_notebook(str(notebook), str(run_dir / Path(notebook).name), cwd=str(project_root()),
                                    parameters=p | {"artifacts_dir": str(run_dir)}, kernel_name="python3",
                                    progress_bar=False)
                (run_dir / "run.key").write_text(key)
            done[key] = run_dir
            rows.append({"parameter": name, "value": value, "folder": run_dir, "executed": executed})
    return pd.DataFrame(rows)


def sweep_table(runs: pd.DataFrame, features: Features, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Score every seed of every run of :func:`run_sweep`: K-Means (``k``) ARI and NMI on its test
    latents, and its final test reconstruction loss. Columns parameter, value, seed, metric, value."""
    rows = []
    for r in runs.itertuples():
        seed_dirs = sorted(Path(r.folder).glob("seed*")) or [Path(r.folder)]
        for d in seed_dirs:
            _, ckpt = load_checkpoint(next(d.glob("mmae_z*.pt")), "cpu")
            L, seed = ckpt["model_config"]["latent_dim"], ckpt["seeds"][0]
            c = cluster_scores(np.load(d / f"latents_z{L}_test.npy"), features.y["test"], k, n_init, seed)
            metrics = {"ari": c["ari"], "nmi": c["nmi"], "test_loss": ckpt["histories"][0]["test_loss"][-1]}
            rows += [{"parameter": r.parameter, "setting": str(r.value), "seed": seed, "metric": m, "value": v}
                     for m, v in metrics.items()]
    return pd.DataFrame(rows)
