"""Every notebook executed by papermill with small parameters, in the book's order.

Chapter 0 runs the LUMA pipeline on its tiny fixture with tiny models (its default parameters).

They share one artifacts folder, as in the book: 04 and 05 reuse the checkpoint 03 wrote
(same code, data and parameters), and 06 reads the tables of 02 and 04. Chapters 07-14 run on a
small bundle (full dimensions, 20 train / 5 test items per class) written by the fixture; 08-14
reuse the models 07 trained, and 14 reads the tables of 08-12.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from mmae.data import Features, save_bundle
from mmae.synthetic import make_synthetic

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "00_luma_features": {},  # its defaults already run the tiny LUMA fixture with tiny models
    "01_data_checks": {},
    "02_baselines": {"ks": [42], "n_init": 2, "fusion_weights": [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]},
    "03_train": {"epochs": 2},
    "04_evaluate": {"epochs": 2, "ks": [42], "n_init": 2},
    "05_figures": {"epochs": 2, "points": 300, "points_per_modality": 100},
    "06_summary": {},
}
BEYOND = {"epochs": 1, "seeds": [0, 1], "latent_dim": 8}  # + data: the small bundle
SMALL |= {
    "07_comparators": BEYOND,
    "08_retrieval": BEYOND,
    "09_missing_modalities": BEYOND,
    "10_noise": BEYOND | {"sigmas": [0.0, 1.0]},
    "11_tagging": BEYOND,
    "12_ood": BEYOND,
    "13_sweeps": {"sweep_grid": {"latent_dim": [8, 128], "epochs": [1]}, "epochs": 1, "n_seeds": 2},  # 2 runs
    "14_scorecard": BEYOND,
}


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


def test_every_notebook_is_tested():
    assert sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9]*.ipynb")) == sorted(SMALL)


@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory) -> str:
    x, y = make_synthetic(seed=0, n_train_per_class=20, n_test_per_class=5, n_ood=80)
    return str(save_bundle(Features(x, y, name="small", synthetic=True), tmp_path_factory.mktemp("bundle")))


@pytest.mark.parametrize("name", list(SMALL))
def test_notebook_runs(name, artifacts, small_bundle, tmp_path):
    data = {"data": small_bundle} if name >= "07" else {}
    pm.execute_notebook(ROOT / "notebooks" / f"{name}.ipynb", tmp_path / f"{name}.ipynb",
                        parameters={**SMALL[name], **data, "artifacts_dir": str(artifacts)}, cwd=ROOT,
                        kernel_name="python3", progress_bar=False)
    if name == "00_luma_features":
        bundle = artifacts / "luma_bundle"
        assert np.load(bundle / "ood_audio.npy").shape == (16, 1024) and (bundle / "manifest.json").exists()
        assert (artifacts / "fig0_finetune.png").exists()
    if name == "03_train":
        assert np.load(artifacts / "latents_z128_test.npy").shape == (4200, 128)
        assert (artifacts / "mmae_z128.pt").exists()
    if name == "06_summary":
        written = {p.name for p in artifacts.iterdir()}
        assert {"table2_single_modality.csv", "table3_fusion.csv", "table4_mmae.csv", "fig6_summary_ari.png",
                "fig5_tsne_z128.png", "fig5_umap_z128.png", "fig5_modality_z128.png", "fig3_loss_z128.png"} <= written
    if name == "14_scorecard":
        card = pd.read_csv(artifacts / "scorecard.csv", index_col=0, keep_default_na=False)
        assert list(card.columns) == ["MMAE", "MMAE, loss x dim", "MVAE (PoE)", "contrastive (InfoNCE)",
                                      "fusion PCA (baseline)"]
        assert len(card) == 13 and card.loc["cross-modal prediction skill, mean of 6 pairs", "contrastive (InfoNCE)"] == "n/a"
        assert all("±" in v for v in card["MMAE"])  # two seeds: a spread everywhere
    if name == "13_sweeps":
        sweep = pd.read_csv(artifacts / "sweeps.csv", dtype={"setting": str})
        assert sweep.groupby(["parameter", "setting"]).seed.nunique().to_dict() == {
            ("epochs", "1"): 2, ("latent_dim", "128"): 2, ("latent_dim", "8"): 2}
        assert len(list((artifacts / "sweeps").glob("*/run.key"))) == 2  # epochs=1 is latent_dim=128: run once
