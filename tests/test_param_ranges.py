"""Parameters checked against the data before any work (issue 23): one declarative table of
ranges (mmae.params.LIMITS), the errors naming the parameter, its range on these data and the value."""
import re

import pytest

from mmae import params
from mmae.artifacts import check_folder
from mmae.study import ZooParams


def check(notebook, features, shared=None, **values):
    params.check_data(values, notebook, features, shared)


@pytest.mark.parametrize("notebook, values, said", [
    ("02_baselines", {"ks": [5, 6]}, "ks must be None or a non-empty list of distinct ints in [2, 83] holding 42 "
                                     "(where the paper used k = 42: its tables are compared there) on tiny synthetic, got [5, 6]"),
    ("04_evaluate", {"ks": [40, 42, 84]}, "ks must be None or a non-empty list of distinct ints in [2, 83] holding 42"),
    ("02_baselines", {"ks": []}, "ks must be None or a non-empty list"),
    ("02_baselines", {"ks": [42, 42]}, "got [42, 42]"),
    ("02_baselines", {"fusion_weights": [[0, 0, 0]]}, "fusion_weights must be None or a non-empty list of weight lists, "
                                                      "each with one finite weight >= 0 per modality (3: image, audio, text), "
                                                      "not all zero on tiny synthetic, got [[0, 0, 0]]"),
    ("02_baselines", {"fusion_weights": [1, 1, 1]}, "fusion_weights must be None or a non-empty list of weight lists"),
    ("02_baselines", {"fusion_weights": [[1, 1]]}, "got [[1, 1]]"),
    ("02_baselines", {"table3_weights": [1, -1, 1]}, "table3_weights must be None or one finite weight >= 0 per modality"),
    ("06_summary", {"k": 1}, "k must be None or an int in [2, 83] on tiny synthetic, got 1"),
    ("06_summary", {"k": 84}, "k must be None or an int in [2, 83]"),
    ("05_figures", {"points": 4200, "perplexity": 90.0}, "perplexity must be a number in (0, points = 84)"),
    ("05_figures", {"points": 20, "perplexity": 30.0}, "perplexity must be a number in (0, points = 20) (t-SNE needs more "
                                                       "points than its perplexity) on tiny synthetic, got 30.0"),
    ("05_figures", {"points": 20, "perplexity": 5.0, "n_neighbors": 20}, "n_neighbors must be an int in [2, points = 20)"),
    ("13_sweeps", {"k": 0}, "k must be None or an int in [2, 83]"),
])
def test_values_the_data_cannot_take_fail_before_any_work(tiny_std, notebook, values, said):
    shared = "03_train" if notebook in ("04_evaluate", "05_figures") else None
    with pytest.raises(ValueError, match=re.escape(said)):
        check(notebook, tiny_std, shared, **values)


def test_the_zoo_chapters_ranges(tiny_std):
    with pytest.raises(ValueError, match=re.escape("notebooks/11_tagging: n_neighbors must be an int in [1, 168] (the "
                                                   "labelled train rows that vote) on tiny synthetic, got 169")):
        check("11_tagging", tiny_std, ZooParams, n_neighbors=169)
    with pytest.raises(ValueError, match=re.escape("k must be None or an int in [2, 83]")):
        check("09_missing_modalities", tiny_std, ZooParams, k=84)
    check("11_tagging", tiny_std, ZooParams, n_neighbors=168)  # the whole library votes: allowed
    check("02_baselines", tiny_std, ks=None, fusion_weights=[[1, 0, 0], [1, 1, 1]], table3_weights=[0, 0, 2])


@pytest.mark.parametrize("notebook, values, said", [
    ("01_data_checks", {"n_init": 0}, "n_init must be an int >= 1, got 0"),
    ("05_figures", {"points": 1}, "points must be an int >= 2 (at most this many test rows; all where fewer), got 1"),
    ("05_figures", {"points_per_modality": 0}, "points_per_modality must be an int >= 1 (at most this many test rows"),
    ("10_noise", {"sigmas": []}, "sigmas must be a non-empty list of finite numbers >= 0, got []"),
    ("10_noise", {"sigmas": [0.0, -1.0]}, "sigmas must be a non-empty list of finite numbers >= 0, got [0.0, -1.0]"),
    ("07_comparators", {"seeds": [0, 0]}, "seeds must be a non-empty list of distinct ints, got [0, 0]"),
    ("07_comparators", {"models": ["mmae", "mmae"]}, "models must be a non-empty list of distinct model names"),
    ("15_robustness", {"data_sets": ["real", "real"]}, "data_sets must be a non-empty list of distinct data names"),
    ("13_sweeps", {"sweep_grid": {"latent_dim": []}}, "sweep_grid must be a non-empty dict of parameter name to a "
                                                      "non-empty list of values"),
])
def test_ranges_that_need_no_data_fail_in_the_first_cell(notebook, values, said):
    shared = ZooParams if notebook in ("07_comparators", "10_noise") else "03_train" if notebook == "05_figures" else None
    with pytest.raises(ValueError, match=re.escape(f"notebooks/{notebook}: {said}")):
        params.check(values, notebook, shared)


@pytest.mark.parametrize("folder", ["/", "/usr", "/etc/mmae", "/var/lib/x", "/proc/1"])
def test_artifacts_dir_is_never_a_system_folder(folder):
    with pytest.raises(ValueError, match=re.escape(f"artifacts_dir must be inside the project or a user folder, got "
                                                   f"{folder!r}")):
        params.check({"artifacts_dir": folder}, "03_train")
    with pytest.raises(ValueError, match="artifacts_dir must be inside the project or a user folder"):
        check_folder(folder)


def test_user_folders_are_allowed(tmp_path):
    for folder in ("artifacts", str(tmp_path), "/var/tmp/mmae-test"):
        params.check({"artifacts_dir": folder}, "03_train")
    with pytest.raises(TypeError, match="artifacts_dir must be a non-empty str or path, got str ''"):
        check_folder("")
