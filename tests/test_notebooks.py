"""Every notebook executed by papermill with small parameters, in the book's order.

They share one artifacts folder, as in the book: 04 and 05 reuse the checkpoint 03 wrote
(same code, data and parameters), and 06 reads the tables of 02 and 04.
"""
from pathlib import Path

import numpy as np
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "01_data_checks": {},
    "02_baselines": {"ks": [42], "n_init": 2, "fusion_weights": [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]},
    "03_train": {"epochs": 2},
    "04_evaluate": {"epochs": 2, "ks": [42], "n_init": 2},
    "05_figures": {"epochs": 2, "points": 300, "points_per_modality": 100},
    "06_summary": {},
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


def test_every_notebook_is_tested():
    assert sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")) == sorted(SMALL)


@pytest.mark.parametrize("name", list(SMALL))
def test_notebook_runs(name, artifacts, tmp_path):
    pm.execute_notebook(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.ipynb",
                        parameters={**SMALL[name], "artifacts_dir": str(artifacts)}, cwd=ROOT,
                        kernel_name="python3", progress_bar=False)
    if name == "03_train":
        assert np.load(artifacts / "latents_z128_test.npy").shape == (4200, 128)
        assert (artifacts / "mmae_z128.pt").exists()
    if name == "06_summary":
        written = {p.name for p in artifacts.iterdir()}
        assert {"table2_single_modality.csv", "table3_fusion.csv", "table4_mmae.csv", "fig6_summary_ari.png",
                "fig5_tsne_z128.png", "fig5_umap_z128.png", "fig5_modality_z128.png", "fig3_loss_z128.png"} <= written
