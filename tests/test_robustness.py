"""mmae.study.robustness: the headline questions per data set, verdict tables and what survives."""
import numpy as np
import pandas as pd
import pytest

from mmae.report import findings
from mmae.study import robustness
from mmae.baselines import pca_project
from mmae.data import Features, standardize
from mmae.study.questions import cluster_many
from mmae.study import embed, load_or_train_zoo
from mmae.data.synthetic import make_synthetic
from mmae.training import make_config


def measured(values: dict[str, tuple[list[float], list[float]]]) -> pd.DataFrame:
    """A :func:`robustness.measure` table from {question: (mmae per seed, reference per seed)}."""
    rows = [{"question": q, "seed": s, "side": side, "value": v, "reference": "ref"}
            for q, (a, b) in values.items() for side, vs in (("mmae", a), ("reference", b)) for s, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_chance_map_is_the_relevant_share():
    assert robustness.chance_map(np.arange(4).repeat(5), np.arange(4).repeat(5)) == 0.25
    # gallery: class 0 is 3/4, class 1 is 1/4; queries: two of class 0, one of class 1, one of class 2 (absent)
    assert robustness.chance_map(np.array([0, 0, 1, 2]), np.array([0, 0, 0, 1])) == pytest.approx((0.75 * 2 + 0.25) / 4)


def test_verdicts_and_survival_follow_the_numbers():
    a = measured({"linear": ([0.8, 0.82], [0.5, 0.5]), "retrieval": ([0.3, 0.31], [0.1, 0.1])})
    b = measured({"linear": ([0.2, 0.22], [0.5, 0.5]), "retrieval": ([0.3, 0.32], [0.1, 0.1]),
                  "ood": ([0.6, 0.7], [0.64, 0.66])})
    table = findings.verdicts({"A": a, "B": b})
    assert list(table.columns) == ["A", "B"] and list(table.index) == list(robustness.QUESTION_LABELS.values())
    linear, retrieval, ood = (robustness.QUESTION_LABELS[q] for q in ("linear", "retrieval", "ood"))
    assert table.loc[linear, "A"] == "above (0.810 ± 0.014 vs 0.500 ± 0.000)"
    assert table.loc[linear, "B"] == "below (0.210 ± 0.014 vs 0.500 ± 0.000)"
    assert table.loc[ood, "A"] == "not measured" and table.loc[ood, "B"].startswith("within the spread of (0.650")
    said = findings.survival(table)
    assert f"- **{retrieval}**: the MMAE is *above* the reference on all 2 data sets" in said
    assert f"- **{linear}**: *above* on A; *below* on B. A property of the data, not of the method." in said
    assert f"- **{ood}**: *within the spread of* on B, the only data set that answers it: one data set cannot" in said
    # the same recap on outcomes that agree says something else
    assert "A property of the data" not in findings.survival(findings.verdicts({"A": a, "A2": a}))


def test_differences_are_mmae_minus_reference():
    d = robustness.differences({"A": measured({"linear": ([0.8, 0.6], [0.5, 0.5])})})
    assert d["value"].round(6).tolist() == [0.3, 0.1] and set(d["data"]) == {"A"}
    assert set(d["question"]) == {robustness.QUESTION_LABELS["linear"]}


@pytest.fixture(scope="module")
def small():
    x, y = make_synthetic(seed=1, n_train_per_class=6, n_test_per_class=3, n_ood=24,
                          dims={"image": 50, "audio": 12, "text": 10}, variant="low_snr")
    return standardize(Features(x, y, "small", True))


def test_measure_values(small, tmp_path, one_thread):
    cfg = make_config(latent_dim=4, epochs=1, device="cpu")
    zoo = load_or_train_zoo(small, cfg, [0, 1], robustness.MODELS, tmp_path, progress=False)
    t = robustness.measure(small, zoo, n_init=2)
    assert t.groupby("question").size().to_dict() == {q: 4 for q in robustness.QUESTION_LABELS}
    ref = t[t["side"] == "reference"].set_index(["question", "seed"])["value"]
    assert ref["retrieval", 0] == ref["retrieval", 1] == pytest.approx(1 / 42)
    xtr, xte, yte = small.x["train"], small.x["test"], small.y["test"]
    ari = lambda z, seed: cluster_many([z], yte, 42, 2, [seed], device="cpu")[0]["ari"]  # noqa: E731 the batched engine
    pca = [ari(pca_project(xtr[m], xte[m], 50, 1), 1) for m in small.modalities]
    assert ref["missing", 1] == pytest.approx(np.mean(pca))
    fused = t[(t["side"] == "mmae") & (t["question"] == "linear")].set_index("seed")["value"]
    assert fused[0] == pytest.approx(ari(embed(zoo.models["mmae"][0], xte), 0))
    no_ood = Features({s: small.x[s] for s in ("train", "test")}, {s: small.y[s] for s in ("train", "test")},
                      "no ood", True, True)
    assert "ood" not in set(robustness.measure(no_ood, zoo, n_init=2)["question"])
    with pytest.raises(ValueError, match=r"zoo: robustness needs the models .* missing \['fusion_pca'\]"):
        robustness.measure(small, load_or_train_zoo(small, cfg, [0], ["mmae", "contrastive"], tmp_path, False), 2)


def test_columns(monkeypatch):
    monkeypatch.delenv("MMAE_DATA", raising=False)
    c = robustness.columns("real", ["real", "real:cifar10", "synthetic", "synthetic:low_snr"])
    assert c["label"].tolist() == ["real, 42 classes", "real, 8 classes", "synthetic: nuisance", "synthetic: low_snr"]
    assert not c["environ"].any()
    c = robustness.columns("/data/my_bundle", ["real"])
    assert c.values.tolist() == [["real, 42 classes", "real", False], ["yours: my_bundle", "/data/my_bundle", True]]
    monkeypatch.setenv("MMAE_DATA", "/data/archive")
    assert robustness.columns("real", ["real"]).values.tolist()[-1] == ["yours: archive", "real", True]
    for bad in ("real", []):
        with pytest.raises(ValueError, match="data_sets must be a non-empty list"):
            robustness.columns("real", bad)
    assert robustness.folder_name("synthetic:low_snr") == "synthetic-low_snr"
    assert robustness.folder_name("/a b/../c") == "a-b-..-c"


def test_data_table(small):
    t = robustness.data_table({"S": small}, {"S": 3}, {"S": {"contrastive": {"temperature": 0.05}}})
    assert t.loc["S"].to_dict() == {"what": "small", "classes": 42, "train rows": 252, "test rows": 126,
                                    "ood rows": 24, "epochs": 3, "temperature": 0.05}
    assert robustness.data_table({"S": small}, {"S": 3}, {"S": {}}).loc["S", "temperature"] == "default"


def two_sets(monkeypatch):
    """Two small data sets by name, for run_all (it loads them in this process)."""
    sets = {name: standardize(Features(*make_synthetic(seed=s, n_train_per_class=6, n_test_per_class=3, n_ood=24,
                                                       dims={"image": 50, "audio": 12, "text": 10}), name, True))
            for s, name in enumerate(["one", "two"])}
    monkeypatch.setattr(robustness, "load_features", lambda d, seed=0, environ=False: sets[d])
    return sets


def test_run_all_in_rounds_of_tasks_equals_run_one_by_one(monkeypatch, tmp_path, one_thread):
    """The three rounds (tuning and untuned models, tuned models, measurements) leave what run()
    computes for each data set alone: the same tables, the same tuned choices, and run() then
    loads them instead of computing anything."""
    from mmae import cluster

    monkeypatch.setenv(cluster.SCHEDULER, "serial")
    sets = two_sets(monkeypatch)
    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=1, batch_size=64, device="cpu")
    together = robustness.run_all([(d, cfg, False) for d in sets], [0, 1], tmp_path / "all", n_init=2)
    for (d, f), (f2, table, chosen) in zip(sets.items(), together):
        _, alone, chosen_alone = robustness.run(d, cfg, [0, 1], tmp_path / "alone", n_init=2, progress=False)
        pd.testing.assert_frame_equal(table, alone)
        assert chosen == chosen_alone and set(chosen) == {"contrastive"} and f2 is f
    measured_again, loaded = [], []
    monkeypatch.setattr(robustness, "measure", lambda *a, **k: measured_again.append(a) or pytest.fail("measured"))
    monkeypatch.setattr(robustness, "load_or_train_zoo", lambda *a, **k: loaded.append(a) or pytest.fail("loaded"))
    again = robustness.run_all([(d, cfg, False) for d in sets], [0, 1], tmp_path / "all", n_init=2)  # all cached
    assert measured_again == [] and loaded == []  # the tables' keys need no model: none is loaded, no PCA fitted
    for (_, first, _), (_, cached, _) in zip(together, again):
        pd.testing.assert_frame_equal(first, cached)


@pytest.mark.slow
def test_run_all_on_a_local_cluster_equals_serial(monkeypatch, tmp_path):
    from mmae import cluster

    sets = two_sets(monkeypatch)
    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=1, batch_size=64, device="cpu")
    jobs = [(d, cfg, False) for d in sets]
    monkeypatch.delenv(cluster.SCHEDULER, raising=False)
    parallel = robustness.run_all(jobs, [0, 1], tmp_path / "parallel", n_init=2)
    monkeypatch.setenv(cluster.SCHEDULER, "serial")
    serial = robustness.run_all(jobs, [0, 1], tmp_path / "serial", n_init=2)
    for (_, a, ca), (_, b, cb) in zip(parallel, serial):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert ca == cb
