import pandas as pd
import pytest

from mmae import paper


def test_reported_tables_match_the_paper():
    assert paper.TABLE2.set_index("modality").loc["image"].tolist() == [0.418, 0.545, 0.724]
    assert paper.TABLE3.set_index("k").loc[42].tolist() == paper.TABLE2.set_index("modality").loc["image"].tolist()
    assert paper.TABLE4.set_index("k").loc[42].tolist() == [0.630, 0.914, 0.962]


def test_side_by_side_names_both_data_sets():
    here = pd.DataFrame({"k": [30, 42, 50, 60], "silhouette": [0.1, 0.2, 0.3, 0.4], "ari": [0.5] * 4, "nmi": [0.6] * 4})
    t = paper.side_by_side(here, paper.TABLE3, "k", "toy")
    assert t.index.tolist() == [30, 42, 50]
    assert t[("silhouette", "paper: LUMA")].tolist() == [0.392, 0.418, 0.416]
    assert t[("silhouette", "here: toy")].tolist() == [0.1, 0.2, 0.3]
    partial = paper.side_by_side(here[here.k != 50], paper.TABLE3, "k", "toy")
    assert partial[("ari", "here: toy")].isna().tolist() == [False, False, True]
    with pytest.raises(ValueError, match=r"both tables need the column 'k'; here has \['silhouette'"):
        paper.side_by_side(here.drop(columns="k"), paper.TABLE3, "k", "toy")


def write_tables(folder, data="toy"):
    row = {"silhouette": 0.1, "ari": 0.2, "nmi": 0.3, "accuracy": 0.4, "data": data}
    pd.DataFrame([{"modality": m, "pca_dim": 2, "k": k, **row} for m in ("image", "audio", "text") for k in (30, 42)]
                 ).to_csv(folder / "table2_single_modality.csv", index=False)
    pd.DataFrame([{"alpha": 1.0, "beta": b, "gamma": b, "k": 42, **row} for b in (1.0, 0.0)]
                 ).to_csv(folder / "table3_fusion.csv", index=False)
    pd.DataFrame([{"k": 42, **row, "latent_dim": 128}]).to_csv(folder / "table4_mmae.csv", index=False)


def test_here_summary_rows_match_paper_summary(tmp_path):
    write_tables(tmp_path)
    here = paper.here_summary(tmp_path, "toy", 42, (1.0, 0.0, 0.0))
    assert here.method.tolist() == ["PCA image", "PCA audio", "PCA text", "fusion PCA", "MMAE"]
    assert here[["silhouette", "ari", "nmi"]].values.tolist() == [[0.1, 0.2, 0.3]] * 5
    assert sorted(here.method) == sorted(paper.paper_summary(42).method)
    assert paper.side_by_side(here, paper.paper_summary(42), "method", "toy").shape == (5, 6)


def test_here_summary_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="table2_single_modality.csv is missing"):
        paper.here_summary(tmp_path, "toy")
    write_tables(tmp_path, data="other data")
    with pytest.raises(ValueError, match=r"was computed on \['other data'\], expected 'toy'"):
        paper.here_summary(tmp_path, "toy")
    write_tables(tmp_path)
    with pytest.raises(ValueError, match=r"lack k = 30 or fusion weights"):
        paper.here_summary(tmp_path, "toy", k=30)
