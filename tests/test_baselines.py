import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA

from mmae.baselines import fusion_table, fusion_weights_grid, pca_project, single_modality_table, weighted_concat
from mmae.data import Features


def test_pca_project_fits_on_train():
    rng = np.random.default_rng(0)
    train, test = rng.standard_normal((30, 5)), rng.standard_normal((7, 5))
    expected = PCA(3, random_state=0).fit(train).transform(test)
    np.testing.assert_allclose(pca_project(train, test, 3), expected)
    assert pca_project(train, test, 50).shape == (7, 5)  # capped at the number of features


def test_weighted_concat():
    x = {"image": np.ones((2, 1)), "audio": np.ones((2, 2)), "text": np.ones((2, 1))}
    np.testing.assert_array_equal(weighted_concat(x, (1.0, 0.5, 2.0)), [[1, 0.5, 0.5, 2]] * 2)
    with pytest.raises(ValueError, match=r"weights: need one weight per modality \('image', 'audio', 'text'\), got 2"):
        weighted_concat(x, (1.0, 2.0))


def test_single_modality_table(tiny):
    t = single_modality_table(tiny, ks=(3, 5), dims={"image": 4, "audio": 6, "text": 5}, n_init=2)
    assert t[["modality", "pca_dim", "k"]].values.tolist() == [
        ["image", 4, 3], ["image", 4, 5], ["audio", 6, 3], ["audio", 6, 5], ["text", 5, 3], ["text", 5, 5]]


def test_fusion_with_only_image_weight_equals_the_image_baseline(tiny):
    """The paper's Table III k=42 row equals its Table II image row: weights (1, 0, 0) do exactly that."""
    single = single_modality_table(tiny, ks=(4,), dims={"image": 6}, n_init=2)
    fused = fusion_table(tiny, [(1.0, 0.0, 0.0), (1.0, 1.0, 1.0)], ks=(4,), n_components=6, n_init=2)
    image = single[single.modality == "image"][["silhouette", "ari", "nmi"]].reset_index(drop=True)
    only_image = fused[fused.weight_audio == 0][["silhouette", "ari", "nmi"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(image, only_image, atol=1e-6)
    assert fused[["weight_image", "weight_audio", "weight_text"]].values.tolist() == [[1, 0, 0], [1, 1, 1]]


def test_fusion_weights_grid_per_modality():
    assert fusion_weights_grid({"image": 50, "audio": 1024, "text": 768}) == [
        (1.0, 1.0, 1.0), (1.0, 0.5, 0.5), (4.0, 1.0, 1.0), (1.0, 0.221, 0.255), (1.0, 0.0, 0.0)]
    assert fusion_weights_grid({"a": 4, "b": 16}) == [(1.0, 1.0), (1.0, 0.5), (4.0, 1.0), (1.0, 0.0)]  # sqrt(4/16) = 0.5: once


def test_fusion_table_with_two_modalities_and_default_grid(tiny):
    two = Features({s: {"image": a["image"], "text": a["text"]} for s, a in tiny.x.items()}, tiny.y, "two", True)
    t = fusion_table(two, ks=(4,), n_components=3, n_init=1)
    assert list(t.columns[:3]) == ["weight_image", "weight_text", "k"]
    assert t[["weight_image", "weight_text"]].values.tolist() == [[1, 1], [1, 0.5], [4, 1], [1, 0.866], [1, 0]]
