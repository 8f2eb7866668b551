"""Every notebook executed by papermill, in the book's order, on the default data and on bundles
unlike LUMA.

Chapter 0 runs the LUMA pipeline on its tiny fixture with tiny models (its default parameters).
Chapters 1-14 run on the default data (the committed LUMA-shaped real set, 42 + 8 classes) with small training
parameters; they share one artifacts folder, as in the book: 04 and 05 reuse the checkpoint 03
wrote (same code, data and parameters), 06 reads the tables of 02 and 04, 08-14 reuse the models
07 trained, and 14 reads the tables of 08-12.

tests/test_any_bundle.py runs chapters 1-14 again on bundles unlike LUMA.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import papermill as pm
import pytest

from mmae.data import load_features

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
BEYOND = {"epochs": 1, "seeds": [0, 1], "latent_dim": 8}
SMALL = {
    "00_real_media": {"n_init": 1},
    "00_luma_features": {},  # its defaults already run the tiny LUMA fixture with tiny models
    "01_data_checks": {},
    "02_baselines": {"n_init": 2},
    "03_train": {"epochs": 2},
    "04_evaluate": {"epochs": 2, "n_init": 2},
    "05_figures": {"epochs": 2, "points": 300, "points_per_modality": 100},
    "06_summary": {},
    "07_comparators": BEYOND,
    "08_retrieval": BEYOND,
    "09_missing_modalities": BEYOND | {"n_init": 2},
    "10_noise": BEYOND | {"sigmas": [0.0, 1.0], "n_init": 2},
    "11_tagging": BEYOND,
    "12_ood": BEYOND | {"n_init": 2},
    "13_sweeps": {"sweep_grid": {"latent_dim": [8, 128], "epochs": [1]}, "epochs": 1, "n_seeds": 2},  # 2 runs
    "14_scorecard": BEYOND,
    "15_robustness": {"data_sets": ["real", "synthetic:nonlinear"], "epochs": 1, "luma_size_epochs": 1,
                      "seeds": [0, 1], "latent_dim": 8, "n_init": 2},
    "16_reproducibility": {},
    "performance": {},  # renders the committed benchmark results and this run's provenance records
}


def run(name: str, artifacts: Path, out: Path, **parameters) -> None:
    pm.execute_notebook(ROOT / "notebooks" / f"{name}.ipynb", out / f"{name}.ipynb",
                        parameters={**parameters, "artifacts_dir": str(artifacts)}, cwd=ROOT,
                        kernel_name="python3", progress_bar=False)


def test_every_notebook_is_tested():
    assert sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb")) == sorted(SMALL)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.mark.parametrize("name", list(SMALL))
def test_notebook_runs(name, artifacts, tmp_path):
    run(name, artifacts, tmp_path, **SMALL[name])
    executed = json.loads((tmp_path / f"{name}.ipynb").read_text())
    noise = [o.get("text", "") for c in executed["cells"] for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not noise, f"{name} writes to stderr, which the book would show: {noise}"
    real = load_features("real")
    n_test, k = len(real.y["test"]), real.n_classes
    if name == "00_real_media":
        assert (artifacts / "fig0a_images.png").exists() and (artifacts / "fig0a_spectrograms.png").exists()
    if name == "00_luma_features":
        bundle = artifacts / "luma_bundle"
        assert np.load(bundle / "ood_audio.npy").shape == (16, 1024) and (bundle / "manifest.json").exists()
        assert (artifacts / "fig0_finetune.png").exists()
    if name == "02_baselines":
        table2 = pd.read_csv(artifacts / "table2_single_modality.csv")
        assert sorted(set(table2["k"])) == [30, 40, 42, 50, 60]  # 42 classes: the paper's own grid
        assert set(table2["data"]) == {real.name}
    if name == "03_train":
        assert np.load(artifacts / "latents_z128_test.npy").shape == (n_test, 128)
        assert (artifacts / "mmae_z128.pt").exists()
    if name == "06_summary":
        written = {p.name for p in artifacts.iterdir()}
        assert {"table2_single_modality.csv", "table3_fusion.csv", "table4_mmae.csv", "fig6_summary_ari.png",
                "fig5_tsne_z128.png", "fig5_umap_z128.png", "fig5_modality_z128.png", "fig3_loss_z128.png"} <= written
        assert k == 42
    if name == "14_scorecard":
        card = pd.read_csv(artifacts / "scorecard.csv", index_col=0, keep_default_na=False)
        assert list(card.columns) == ["MMAE", "MMAE, loss x dim", "MMAE, modality dropout", "MMAE + alignment (Eq. 1)",
                                      "MMAE, missing imputed", "MVAE (PoE)", "MVAE, cross-modal ELBO",
                                      "contrastive (InfoNCE)", "fusion PCA (baseline)"]
        assert len(card) == 13 and card.loc["cross-modal prediction skill, mean of 6 pairs", "contrastive (InfoNCE)"] == "n/a"
        assert all("±" in v for v in card["MMAE"])  # two seeds: a spread everywhere
    if name == "15_robustness":
        verdicts = pd.read_csv(artifacts / "robustness.csv", index_col=0)
        assert list(verdicts.columns) == ["real, 42 classes", "synthetic: nonlinear"] and len(verdicts) == 5
        assert verdicts.map(lambda v: v.split(" (")[0] in {"above", "below", "within the spread of"}).all().all()
        assert (artifacts / "fig15_robustness.png").exists()
        page = (tmp_path / "15_robustness.ipynb").read_text()  # both columns' data are the record's: 10 verdicts compared
        assert "Of 10 verdicts on the same data" in page and "recorded at commit 0a78521" in page
    if name == "16_reproducibility":
        records = {p.stem: json.loads(p.read_text()) for p in (artifacts / "provenance").glob("*.json")}
        assert {c for c in SMALL if c[:2].isdigit() and c != name} <= set(records)
        assert len({r["commit"] for r in records.values()}) == 1
        assert len({d["fingerprint"] for r in records.values() for d in r["data"]
                    if d["name"] == real.name and d["standardized"]}) == 1
        page = (tmp_path / "16_reproducibility.ipynb").read_text()
        assert "Same commit: yes" in page and "one fingerprint per data set): yes" in page and "Every chapter recorded: yes" in page
    if name == "performance":
        page = (tmp_path / "performance.ipynb").read_text()
        for computed in ("chapters 08-12's tables take", "one seed takes", "Result files rendered here", "15_robustness"):
            assert computed in page  # the last: this run's chapters, from their provenance records
    if name == "13_sweeps":
        sweep = pd.read_csv(artifacts / "sweeps.csv", dtype={"setting": str})
        assert sweep.groupby(["parameter", "setting"]).seed.nunique().to_dict() == {
            ("epochs", "1"): 2, ("latent_dim", "128"): 2, ("latent_dim", "8"): 2}
        assert len(list((artifacts / "sweeps").glob("*/run.key"))) == 2  # epochs=1 is latent_dim=128: run once


def test_a_misspelt_parameter_fails_before_any_work(tmp_path):
    with pytest.raises(pm.PapermillExecutionError, match="unknown parameter 'latnet_dim' \\(did you mean 'latent_dim'"):
        run("03_train", tmp_path / "artifacts", tmp_path, latnet_dim=8)
    assert not (tmp_path / "artifacts" / "mmae_z128.pt").exists()  # nothing trained, nothing written
