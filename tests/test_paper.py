import pandas as pd
import pytest

from mmae import paper


def test_reported_tables_match_the_paper():
    assert paper.TABLE2.set_index("modality").loc["image"].tolist() == [0.418, 0.545, 0.724]
    assert paper.TABLE3.set_index("k").loc[42].tolist() == paper.TABLE2.set_index("modality").loc["image"].tolist()
    assert paper.TABLE4.set_index("k").loc[42].tolist() == [0.630, 0.914, 0.962]


def test_side_by_side_names_both_data_sets():
    here = pd.DataFrame({"k": [30, 42, 50, 60], "silhouette": [0.1, 0.2, 0.3, 0.4], "ari": [0.5] * 4, "nmi": [0.6] * 4})
    t = paper.side_by_side(here, paper.TABLE3, "k")
    assert t.index.tolist() == [30, 42, 50]
    assert t[("silhouette", "paper (LUMA)")].tolist() == [0.392, 0.418, 0.416]
    assert t[("silhouette", "here")].tolist() == [0.1, 0.2, 0.3]
    partial = paper.side_by_side(here[here.k != 50], paper.TABLE3, "k")
    assert partial[("ari", "here")].isna().tolist() == [False, False, True]
    with pytest.raises(ValueError, match=r"both tables need the column 'k'; here has \['silhouette'"):
        paper.side_by_side(here.drop(columns="k"), paper.TABLE3, "k")


def test_k_grid_keeps_the_papers_ratios():
    assert paper.k_grid(42) == {30: 30, 40: 40, 42: 42, 50: 50, 60: 60}
    assert paper.k_grid(8) == {30: 6, 40: 8, 42: 8, 50: 10, 60: 11}
    assert paper.k_grid(13) == {30: 9, 40: 12, 42: 13, 50: 15, 60: 19}
    assert paper.k_grid(2) == {30: 2, 40: 2, 42: 2, 50: 2, 60: 3}  # never below 2
    assert paper.k_grid(13, n_rows=12) == {30: 9, 40: 11, 42: 11, 50: 11, 60: 11}  # never n_rows or more
    assert paper.ks_for(5) == [4, 5, 6, 7] and paper.here_k(5) == 5 and paper.here_k(42, 30) == 30
    with pytest.raises(ValueError, match=r"n_classes must be an int >= 2, got 1"):
        paper.k_grid(1)
    with pytest.raises(TypeError, match=r"n_classes must be an int, got float 5.0"):
        paper.k_grid(5.0)
    with pytest.raises(ValueError, match=r"n_rows must be >= 3 for K-Means with k >= 2, got 2"):
        paper.k_grid(5, n_rows=2)


def test_side_by_side_pairs_ks_at_the_same_ratio():
    here = pd.DataFrame({"k": [4, 5, 6, 7], "silhouette": [0.1, 0.2, 0.3, 0.4], "ari": [0.5] * 4, "nmi": [0.6] * 4})
    t = paper.side_by_side(here, paper.TABLE4, "k", n_classes=5)
    assert t.index.tolist() == ["30 -> 4", "40 -> 5", "42 -> 5", "50 -> 6"] and t.index.name == "paper k -> k here"
    assert t[("silhouette", "here")].tolist() == [0.1, 0.2, 0.2, 0.3]
    assert t[("silhouette", "paper (LUMA)")].tolist() == [0.445, 0.620, 0.630, 0.586]


def test_side_by_side_keeps_rows_of_other_modalities():
    here = pd.DataFrame({"modality": ["image", "depth"], "silhouette": [0.1, 0.2], "ari": [0.3, 0.4], "nmi": [0.5, 0.6]})
    t = paper.side_by_side(here, paper.TABLE2, "modality")
    assert sorted(t.index) == ["audio", "depth", "image", "text"]
    assert t.loc["depth", ("ari", "here")] == 0.4 and pd.isna(t.loc["depth", ("ari", "paper (LUMA)")])


def write_tables(folder, data="toy"):
    row = {"silhouette": 0.1, "ari": 0.2, "nmi": 0.3, "accuracy": 0.4, "data": data}
    pd.DataFrame([{"modality": m, "pca_dim": 2, "k": k, **row} for m in ("image", "audio", "text") for k in (30, 42)]
                 ).to_csv(folder / "table2_single_modality.csv", index=False)
    pd.DataFrame([{"weight_image": 1.0, "weight_audio": b, "weight_text": b, "k": 42, **row} for b in (1.0, 0.0)]
                 ).to_csv(folder / "table3_fusion.csv", index=False)
    pd.DataFrame([{"k": 42, **row, "latent_dim": 128}]).to_csv(folder / "table4_mmae.csv", index=False)


def test_here_summary_rows_match_paper_summary(tmp_path):
    write_tables(tmp_path)
    here = paper.here_summary(tmp_path, "toy", 42, (1.0, 0.0, 0.0))
    assert here.method.tolist() == ["PCA image", "PCA audio", "PCA text", "fusion PCA", "MMAE"]
    assert here[["silhouette", "ari", "nmi"]].values.tolist() == [[0.1, 0.2, 0.3]] * 5
    assert sorted(here.method) == sorted(paper.paper_summary(42).method)
    assert paper.side_by_side(here, paper.paper_summary(42), "method").shape == (5, 6)


def test_here_summary_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="table2_single_modality.csv is missing"):
        paper.here_summary(tmp_path, "toy")
    write_tables(tmp_path, data="other data")
    with pytest.raises(ValueError, match=r"was computed on \['other data'\], expected 'toy'"):
        paper.here_summary(tmp_path, "toy")
    write_tables(tmp_path)
    with pytest.raises(ValueError, match=r"lack k = 30 or fusion weights"):
        paper.here_summary(tmp_path, "toy", k=30)
    with pytest.raises(ValueError, match=r"lack k = 42 or fusion weights \(1.0, 0.5, 0.5\)"):
        paper.here_summary(tmp_path, "toy", k=42, fusion_weights=(1.0, 0.5, 0.5))
    with pytest.raises(ValueError, match=r"fusion_weights must give one weight per modality"):
        paper.here_summary(tmp_path, "toy", k=42, fusion_weights=(1.0, 0.5))
    assert paper.here_summary(tmp_path, "toy", k=42).shape == (5, 4)  # None: equal weights
    table2 = tmp_path / "table2_single_modality.csv"
    table2.write_text(table2.read_text()[:-12])  # cut mid-row, as a full disk or an editor leaves it
    with pytest.raises(ValueError, match=r"table2_single_modality.csv was cut short or edited \(missing columns \[\], "
                                         r"empty or non-numeric cells in \['data', 'nmi'\], 6 rows\)"):
        paper.here_summary(tmp_path, "toy", k=42)
    table2.write_text("")
    with pytest.raises(ValueError, match=r"table2_single_modality.csv is not a readable table \(EmptyDataError\)"):
        paper.here_summary(tmp_path, "toy", k=42)


def test_table1_side_by_side_puts_our_counts_beside_lumas():
    from mmae.data import load_features
    from mmae.paper import table1_side_by_side

    t = table1_side_by_side(load_features("real:cifar10"))
    assert t.loc["image", ("feature_dim", "paper (LUMA)")] == 50 and t.loc["image", ("feature_dim", "here")] == 8
    assert t.loc["text", ("train", "here")] == 4000 and t.loc["audio", ("ood", "paper (LUMA)")] == 3859
    assert t.loc["classes (in distribution + OOD)", ("train", "here")] == "8 + 2"
