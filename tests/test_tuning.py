"""mmae.study.tuning: hyper-parameters chosen on a validation slice of train, never on test."""
import numpy as np
import pandas as pd
import pytest

from mmae import study
from mmae.study import tuning
from mmae.training import make_config

CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=1, batch_size=32, device="cpu")


def test_validation_split_is_stratified_disjoint_and_never_test(tiny_std):
    split = tuning.validation_split(tiny_std, share=0.25, seed=0)
    assert split.fit.splits == ("train",)  # the grid trains on this; the validation slice is held apart
    counts = np.bincount(split.y), np.bincount(split.fit.y["train"])
    assert (counts[0] == 1).all() and (counts[1] == 3).all()  # 4 train rows per class: 1 to validation
    both = np.concatenate([split.fit.x["train"]["image"], split.x["image"]])
    assert sorted(map(tuple, both)) == sorted(map(tuple, tiny_std.x["train"]["image"]))  # a partition of train
    with pytest.raises(ValueError, match=r"share must be in \(0, 1\), got 1.0"):
        tuning.validation_split(tiny_std, share=1.0)


def test_choices_take_the_best_mean_and_on_a_tie_the_untuned_value():
    t = pd.DataFrame({"model": ["mvae"] * 4 + ["contrastive"] * 2, "parameter": ["beta"] * 4 + ["temperature"] * 2,
                      "value": [0.1, 0.1, 1.0, 1.0, 0.05, 0.5], "seed": [0, 1, 0, 1, 0, 0],
                      "validation_ari": [0.2, 0.4, 0.5, 0.3, 0.7, 0.7]})
    assert tuning.choices(t) == {"mvae": {"beta": 1.0}, "contrastive": {"temperature": 0.05}}  # 0.3 < 0.4; a tie
    # a tie at the top is no signal to move the knob: the untuned value stays when it is among the tied
    assert tuning.choices(t.assign(untuned=t["value"].isin([0.5, 0.1]))) == {"mvae": {"beta": 1.0},
                                                                             "contrastive": {"temperature": 0.5}}


def test_tune_prepare_and_the_zoo_use_the_chosen_values(tiny_std, tmp_path, one_thread):
    table = tuning.tune(tiny_std, CFG, ["mmae", "mvae", "fusion_pca"])
    assert table[["model", "parameter", "value"]].values.tolist() == [["mvae", "beta", v] for v in (0.1, 0.5, 1.0)]
    assert table["validation_ari"].between(-1, 1).all()
    chosen = study.tuned(tiny_std, CFG, ["mmae", "mvae"], tmp_path, progress=False)
    assert chosen == tuning.choices(table)  # the same seeds and data: the same choice
    assert (tmp_path / "zoo" / "beyond_tuning.csv").exists()
    zoo = study.load_or_train_zoo(tiny_std, CFG, [0], ["mvae"], tmp_path, progress=False, chosen=chosen)
    assert zoo.chosen == chosen
    assert study.variant_config("mvae", CFG, tiny_std.dims, chosen).knobs.beta == chosen["mvae"]["beta"]
    assert zoo.key != study.zoo_key(tiny_std, CFG, [0], ["mvae"], {"mvae": {"beta": 123.0}})
