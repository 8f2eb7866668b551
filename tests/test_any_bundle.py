"""Every chapter 1-15 executed by papermill on bundles that share nothing with LUMA's shape.

Two bundles written here: 5 classes, odd dimensions (image 7 / audio 33 / text 20), no OOD split;
and 13 classes, two modalities with names of their own (video 11, caption 29), 3 OOD classes.
Only ``data`` and a small training budget are given: the K-Means grid, k, PCA sizes and fusion
weights must follow from the data. One class per bundle, so ``pytest -n 2`` runs them side by side.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmae.data import Features, load_bundle, save_bundle
from test_notebooks import SMALL, run

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

BUDGET = {"03_train": {"epochs": 2}, "04_evaluate": {"epochs": 2}, "05_figures": {"epochs": 2},
          "13_sweeps": {"sweep_grid": {"epochs": [1, 2]}, "epochs": 1}}
BUDGET |= {name: {"epochs": 1, "seeds": [0, 1]} for name in SMALL if "07" <= name < "15" and name != "13_sweeps"}
BUDGET["15_robustness"] = SMALL["15_robustness"] | {"data_sets": ["real:cifar10"]}  # the small set, for speed
CHAPTERS = [name for name in SMALL if name[:2].isdigit() and not name.startswith("00")]  # chapter 0: fixed data sets; the Performance page has no data


def write_bundle(folder: Path, n_classes: int, dims: dict[str, int], n_ood_classes: int = 0, seed: int = 0) -> str:
    """Gaussian classes, each modality with its own class means; 30 train / 10 test rows per class."""
    rng = np.random.default_rng(seed)
    counts = {"train": 30, "test": 10} | ({"ood": 10} if n_ood_classes else {})
    means = {m: 2 * rng.standard_normal((n_classes + n_ood_classes, d)) for m, d in dims.items()}
    x, y = {}, {}
    for split, per_class in counts.items():
        classes = range(n_classes, n_classes + n_ood_classes) if split == "ood" else range(n_classes)
        y[split] = np.repeat(np.array(classes), per_class)
        x[split] = {m: (mu[y[split]] + rng.standard_normal((len(y[split]), mu.shape[1]))).astype(np.float32)
                    for m, mu in means.items()}
    return str(save_bundle(Features(x, y, "unlike LUMA", False), folder))


def run_every_chapter(tmp_path: Path, n_classes: int, dims: dict[str, int], n_ood: int) -> None:
    bundle, artifacts = write_bundle(tmp_path / "bundle", n_classes, dims, n_ood), tmp_path / "artifacts"
    for name in CHAPTERS:
        run(name, artifacts, tmp_path, data=bundle, **BUDGET.get(name, {}))
    table2 = pd.read_csv(artifacts / "table2_single_modality.csv")
    assert set(table2["modality"]) == set(dims) and set(table2["data"]) == {bundle}
    assert sorted(set(table2["k"])) == {5: [4, 5, 6, 7], 13: [9, 12, 13, 15, 19]}[n_classes]
    assert table2.groupby("modality")["pca_dim"].first().to_dict() == {m: min(d, 50 if m == "image" else 256)
                                                                       for m, d in dims.items()}
    table3 = pd.read_csv(artifacts / "table3_fusion.csv")
    modalities = load_bundle(bundle).modalities  # LUMA's names in LUMA's order, others by name
    assert set(modalities) == set(dims)
    assert [c for c in table3.columns if c.startswith("weight_")] == [f"weight_{m}" for m in modalities]
    assert len(np.load(artifacts / "latents_z128_test.npy")) == 10 * n_classes
    card = pd.read_csv(artifacts / "scorecard.csv", index_col=0, keep_default_na=False)
    pairs = len(dims) * (len(dims) - 1)
    assert f"retrieval mAP, mean of {pairs} modality pairs" in card.index
    assert (card.loc["OOD detection AUROC", "MMAE"] == "n/a") == (n_ood == 0)
    verdicts = pd.read_csv(artifacts / "robustness.csv", index_col=0)
    assert list(verdicts.columns) == ["real, 8 classes", "yours: bundle"]  # a committed set, then the user's
    assert (verdicts.iloc[-1, 1] == "not measured") == (n_ood == 0)


class TestFiveClassesOddDimsNoOOD:
    def test_every_chapter(self, tmp_path):
        run_every_chapter(tmp_path, 5, {"image": 7, "audio": 33, "text": 20}, 0)


class TestThirteenClassesTwoModalities:
    def test_every_chapter(self, tmp_path):
        run_every_chapter(tmp_path, 13, {"video": 11, "caption": 29}, 3)
