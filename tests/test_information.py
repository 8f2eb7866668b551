"""mmae.study.information: what each modality can tell, on data built to tell known things."""
import warnings

import numpy as np
import pytest

from mmae.data import Features
from mmae.study.information import between_class_share, modality_table, what_the_data_can_tell


def test_between_class_share_by_hand():
    X = np.array([[0.0, 1.0], [0.0, -1.0], [4.0, 1.0], [4.0, -1.0]])
    y = np.array([0, 0, 1, 1])
    assert between_class_share(X, y, 1) == pytest.approx(1.0)  # the top direction is the class
    assert between_class_share(X, y, 2) == pytest.approx(16 / 20)  # class variance 4 of 4 + 1
    assert np.isnan(between_class_share(np.ones((4, 2)), y))  # no variance: no share, and no 0/0 warning
    with pytest.raises(ValueError, match=r"X must be \(n, d\) with n = len\(y\) = 4, got shape \(3, 2\)"):
        between_class_share(X[:3], y)


def planted(n_per_class: int = 60, seed: int = 0) -> Features:
    """'clean': the class along a strong direction; 'voice': the class weak, 3 speakers dominant."""
    rng = np.random.default_rng(seed)
    x, y, nuisance = {}, {}, {}
    for split in ("train", "test"):
        y[split] = np.repeat(np.arange(4), n_per_class)
        speaker = rng.integers(0, 3, len(y[split]))
        clean = 5 * np.eye(4)[y[split]] + rng.standard_normal((len(y[split]), 4))
        voice = np.c_[0.6 * np.eye(4)[y[split]], 20 * np.eye(3)[speaker]] + 0.3 * rng.standard_normal((len(y[split]), 7))
        x[split] = {"clean": clean.astype(np.float32), "voice": voice.astype(np.float32)}
        nuisance[split] = {"speaker": speaker}
    return Features(x, y, "planted", True, nuisance=nuisance)


def test_modality_table_finds_what_was_planted():
    t = modality_table(planted(), n_init=3).set_index("modality")
    assert list(t.columns) == ["dim", "constant", "probe_accuracy", "chance_accuracy", "kmeans_ari_class", "between_class_share",
                               "kmeans_ari_speaker"]
    assert t.loc["clean", "probe_accuracy"] > 0.95 and t.loc["clean", "kmeans_ari_class"] > 0.9
    assert t.loc["voice", "kmeans_ari_speaker"] > 0.9 > 0.1 > t.loc["voice", "kmeans_ari_class"]
    assert t.loc["clean", "between_class_share"] > 0.8 > 0.3 > t.loc["voice", "between_class_share"]
    assert t["chance_accuracy"].tolist() == [0.25, 0.25]
    text = what_the_data_can_tell(t.reset_index(), "planted data")
    assert text.startswith("On planted data, a linear classifier separates the classes best from **")
    assert "K-Means groups **voice** by speaker more than by class" in text


def test_without_a_dominant_nuisance_the_text_says_so():
    f = planted()
    f.x = {s: {"clean": a["clean"], "copy": a["clean"] + 0.1} for s, a in f.x.items()}
    text = what_the_data_can_tell(modality_table(f, n_init=3), "other data")
    assert "No modality clusters by speaker more than by class." in text
    # the copy ties the original everywhere: a tie is no win
    assert "no modality separates the classes better than the others with a linear classifier" in text
    assert "K-Means recovers the classes equally (or not at all) from every modality" in text
    assert "best from" not in text


def test_a_constant_modality_is_never_called_the_best():
    """A dead extractor (one constant row everywhere) was called the modality K-Means recovers best."""
    f = planted()
    for s in f.x:
        f.x[s]["dead"] = np.zeros((len(f.y[s]), 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0/0, no "1 distinct cluster": a constant modality is handled, not stumbled on
        t = modality_table(f, n_init=3)
    assert t.set_index("modality")["constant"].to_dict() == {"clean": False, "voice": False, "dead": True}
    dead = t.set_index("modality").loc["dead"]
    assert dead["kmeans_ari_class"] == 0.0 and np.isnan(dead["between_class_share"])  # one cluster; no direction
    text = what_the_data_can_tell(t, "data with a dead extractor")
    assert text.startswith("On data with a dead extractor, **dead** is constant (every row the same): no signal")
    assert "**dead** (" not in text and "from **dead**" not in text
