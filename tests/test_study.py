"""mmae.study: the models compared, the zoo cache and the tables of chapters 07-14."""

import numpy as np
import pandas as pd
import pytest

from mmae import study
from mmae.baselines import FusionPCA
from mmae.data import Features
from mmae.report.tables import format_mean_std, pair_mean, scorecard, spread
from mmae.training import evolve, make_config

CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=2, batch_size=32, device="cpu")
NAMES = ["mmae", "mmae_dimweighted", "mmae_dropout", "mmae_align", "mmae_impute", "mvae", "mvae_cross",
         "contrastive", "fusion_pca"]


def test_subsets_in_order():
    assert study.subsets(("a", "b", "c")) == [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"),
                                              ("a", "b", "c")]
    assert study.subset_name(("a", "c")) == "a+c"


def test_variant_configs():
    dims = {"image": 50, "audio": 1024, "text": 768}
    w = study.variant_config("mmae_dimweighted", CFG, dims).knobs.loss_weights
    assert w == pytest.approx({"image": 150 / 1842, "audio": 3072 / 1842, "text": 2304 / 1842})
    assert sum(w.values()) == pytest.approx(3.0)  # mean weight 1, like the unweighted loss
    assert study.variant_config("mvae", CFG, dims).model == "mvae"
    assert study.variant_config("mmae", CFG, dims) == CFG
    assert study.variant_config("mvae", CFG, dims, knobs={"beta": 0.5, "temperature": 9.0}).knobs.beta == 0.5
    assert study.variant_config("contrastive", CFG, dims, {"contrastive": {"temperature": 0.2}},
                                {"beta": 0.5, "temperature": 9.0}).knobs.temperature == 0.2  # chosen wins
    with pytest.raises(ValueError, match="models: unknown model 'vae'"):
        study.variant_config("vae", CFG, dims)


def test_fusion_pca_imputes_missing_modalities():
    rng = np.random.default_rng(0)
    x = {"image": rng.normal(size=(30, 3)), "text": rng.normal(size=(30, 4))}
    pca = FusionPCA(weights=(1.0, 2.0), n_components=2).fit(x)
    imputed = {"image": x["image"], "text": np.broadcast_to(x["text"].mean(0), (30, 4))}
    np.testing.assert_allclose(pca.encode({"image": x["image"]}), pca.encode(imputed))
    assert pca.encode(x).shape == (30, 2)
    with pytest.raises(ValueError, match="unknown modalities \\['audio'\\]"):
        pca.encode({"audio": x["image"]})


@pytest.fixture(scope="module")
def zoo_and_features(tmp_path_factory):
    from mmae.data import Features, standardize
    from mmae.data.synthetic import make_synthetic

    x, y = make_synthetic(seed=0, n_train_per_class=3, n_test_per_class=2, n_ood=24,
                          dims={"image": 6, "audio": 10, "text": 8})
    features = standardize(Features(x, y, name="tiny", synthetic=True))
    folder = tmp_path_factory.mktemp("artifacts")
    zoo = study.load_or_train_zoo(features, CFG, [0, 1], NAMES, folder, progress=False)
    return zoo, features, folder


def test_zoo_is_cached_and_never_stale(zoo_and_features, capsys):
    zoo, features, folder = zoo_and_features
    assert list(zoo.models) == NAMES and all(len(m) == 2 for m in zoo.models.values())
    again = study.load_or_train_zoo(features, CFG, [0, 1], ["mmae"], folder)
    assert "Loaded mmae_z4.pt" in capsys.readouterr().out
    study.load_or_train_zoo(features, CFG, [0, 1], ["mmae"], folder, progress=False)
    assert capsys.readouterr().out == ""  # quiet without progress
    np.testing.assert_array_equal(study.embed(again.models["mmae"][1], features.x["test"]),
                                  study.embed(zoo.models["mmae"][1], features.x["test"]))
    other = study.load_or_train_zoo(features, evolve(CFG, epochs=1), [0, 1], ["mmae"], folder,
                                    progress=False)
    assert "Loaded" not in capsys.readouterr().out and len(other.histories["mmae"][0]) == 1
    assert other.key != zoo.key


def test_question_tables(zoo_and_features):
    zoo, f, folder = zoo_and_features
    retrieval = study.retrieval_table(zoo, f)
    assert len(retrieval) == 9 * 2 * 6 * 7  # models x seeds x pairs x (mAP, precision and recall @ 1, 5, 10)
    subsets = study.subset_table(zoo, f, k=4)
    assert set(subsets["subset"]) == {"image", "audio", "text", "image+audio", "image+text", "audio+text",
                                      "image+audio+text"}
    cross = study.cross_modal_table(zoo, f)
    assert set(cross["model"]) == set(NAMES) - {"contrastive", "fusion_pca"}  # those with a decoder
    assert len(cross) == 7 * 2 * (3 * 2 + 3)  # models x seeds x (6 cross-modal pairs + all -> each of 3)
    assert not (cross["source"] == cross["target"]).any()  # no self-reconstruction in "cross-modal"
    noise = study.noise_table(zoo, f, [0.0, 1.0], k=4)
    assert len(noise) == 9 * 2 * 3 * 2 * 2
    tagging = study.tagging_table(zoo, f, n_neighbors=3)
    assert tagging["value"].between(0, 1).all()
    ood = study.ood_table(zoo, f)
    assert set(ood["metric"]) == {"ari", "nmi", "auroc"}
    tables = {"retrieval": retrieval, "subsets": subsets, "cross_modal": cross, "noise": noise, "tagging": tagging,
              "ood": ood}
    for q, t in tables.items():
        study.save_table(t, folder, q, zoo.key)
    loaded = {q: study.load_table(folder, q, zoo.key) for q in tables}
    card = scorecard(loaded, f.modalities)
    assert card.shape == (13, 9) and card.loc["OOD detection AUROC", "MMAE"].count("±") == 1
    assert card.loc["cross-modal prediction skill, mean of 6 pairs", "contrastive (InfoNCE)"] == "n/a"
    pairs = cross[cross["source"].isin(f.modalities) & (cross["model"] == "mmae")]
    assert len(pairs) == 2 * 6  # seeds x pairs: the headline averages exactly the 6 pairs
    expected = pairs.groupby("seed")["value"].mean()
    assert card.loc["cross-modal prediction skill, mean of 6 pairs", "MMAE"] == format_mean_std(expected.mean(), expected.std())


def test_scorecard_without_ood_and_with_two_modalities(zoo_and_features):
    zoo, f, folder = zoo_and_features
    two = Features({s: {m: a[m] for m in ("image", "text")} for s, a in f.x.items() if s != "ood"},
                   {s: v for s, v in f.y.items() if s != "ood"}, "two, no OOD", True, True)
    assert study.ood_table(zoo, two).empty
    pca = {"fusion_pca": [FusionPCA(random_state=0).fit(two.x["train"])]}
    small = study.Zoo(pca, {"fusion_pca": []}, [0], "k")
    tables = {"retrieval": study.retrieval_table(small, two), "subsets": study.subset_table(small, two, k=4),
              "cross_modal": study.cross_modal_table(small, two), "noise": study.noise_table(small, two, [0.0], k=4),
              "tagging": study.tagging_table(small, two, n_neighbors=3), "ood": study.ood_table(small, two)}
    study.save_table(tables["ood"], folder, "ood", "k")
    tables["ood"] = study.load_table(folder, "ood", "k")  # an empty table round-trips
    card = scorecard(tables, two.modalities)
    assert list(card.index[:4]) == ["retrieval mAP, mean of 2 modality pairs", "retrieval recall@10, mean of 2 pairs",
                                    "K-Means ARI, all modalities", "K-Means ARI, mean of 2 partial subsets"]
    assert card.loc["OOD detection AUROC", "fusion PCA (baseline)"] == "n/a"
    assert card.loc["tagging top-1, mean of 3 subsets", "fusion PCA (baseline)"] != "n/a"


def test_retrieval_of_identical_embeddings_is_perfect_and_clean_noise_is_clean(zoo_and_features):
    zoo, f, _ = zoo_and_features
    class Oracle:  # embeds any modality as its features: here the class, one-hot, in both modalities
        def encode(self, x):
            return np.concatenate(list(x.values()), axis=1)[:, :f.n_classes]

    onehot = {s: np.eye(f.n_classes, dtype=np.float32)[f.y[s]] for s in ("train", "test")}
    twins = Features({s: {"a": a, "b": a.copy()} for s, a in onehot.items()}, {s: f.y[s] for s in onehot},
                     "twins", True, True)
    t = study.retrieval_table(study.Zoo({"oracle": [Oracle()]}, {"oracle": []}, [0], "k"), twins)
    assert t.loc[t["metric"] == "map", "value"].tolist() == [1.0, 1.0]  # a -> b and b -> a: identical embeddings
    noise = study.noise_table(zoo, f, [0.0, 1.0], k=4)
    clean = study.subset_table(zoo, f, k=4)
    full = clean[clean["n_modalities"] == 3].set_index(["model", "seed", "metric"])["value"]
    zero = noise[noise["sigma"] == 0.0].set_index(["model", "seed", "metric"])
    for modality, g in zero.groupby("modality"):  # sigma = 0 on any modality is the clean result
        assert g.loc[g.index.get_level_values("metric") == "probe_accuracy", "value"].to_numpy() == pytest.approx(
            full[full.index.get_level_values("metric") == "probe_accuracy"].to_numpy())
        assert g.loc[g.index.get_level_values("metric") == "ari", "value"].to_numpy() == pytest.approx(
            full[full.index.get_level_values("metric") == "ari"].to_numpy())


def test_load_table_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the chapter that writes it first \\(notebooks/08_retrieval\\)"):
        study.load_table(tmp_path, "retrieval", "k1")
    study.save_table(pd.DataFrame({"model": ["mmae"], "value": [1.0]}), tmp_path, "retrieval", "k1")
    with pytest.raises(ValueError, match="computed from other code, data, models or seeds"):
        study.load_table(tmp_path, "retrieval", "k2")


def test_headline_spread_and_pair_mean():
    t = pd.DataFrame({"model": ["mmae"] * 4 + ["mvae"] * 4, "seed": [0, 0, 1, 1] * 2, "pair": ["a", "b"] * 4,
                      "metric": "map", "value": [0.1, 0.3, 0.3, 0.5, 1.0, 1.0, 1.0, 1.0]})
    h = study.headline(t, "map")
    assert h["value"].tolist() == pytest.approx([0.2, 0.4, 1.0, 1.0])
    assert study.headline(t, "map", pair="a")["value"].tolist() == pytest.approx([0.1, 0.3, 1.0, 1.0])
    s = spread(pair_mean(t, ["pair"]), [])
    assert s.loc["MMAE", "map"] == "0.300 ± 0.141" and s.loc["MVAE (PoE)", "map"] == "1.000 ± 0.000"


def test_run_sweep_needs_base_values(tmp_path):
    with pytest.raises(ValueError, match="missing \\['latent_dim'\\]"):
        study.run_sweep("03_train.ipynb", {"latent_dim": [8]}, {"epochs": 1}, tmp_path, "fp")


def test_imputed_mmae_fills_missing_encodings_with_their_train_mean(zoo_and_features):
    from mmae.training import encode

    zoo, f, _ = zoo_and_features
    mmae = zoo.models["mmae"][0]
    imputed = study.ImputedMMAE(mmae, f.x["train"])
    np.testing.assert_allclose(imputed.encode(f.x["test"]), encode(mmae, f.x["test"]), rtol=1e-5, atol=1e-6)
    each = encode(mmae, {"image": f.x["test"]["image"]}, each=True)["image"]
    means = {m: h.mean(0) for m, h in encode(mmae, f.x["train"], each=True).items()}
    expected = (each + means["audio"] + means["text"]) / 3
    np.testing.assert_allclose(imputed.encode({"image": f.x["test"]["image"]}), expected, rtol=1e-5, atol=1e-6)
    assert study.variant_config("mmae_dropout", CFG, f.dims).knobs.modality_dropout == study.zoo.DROPOUT
    assert study.variant_config("mmae_align", CFG, f.dims).knobs.align == study.zoo.ALIGN
    assert study.variant_config("mmae_impute", CFG, f.dims) == CFG


def test_sweep_table_reads_only_the_runs_own_seeds(tiny_std, tmp_path, one_thread):
    """A leftover seed7/ (another run's, with another latent size) beside the run is never scored."""

    from mmae.training import save_run, train

    run = tmp_path / "latent_dim=4"
    for s in (0, 1):
        model, history = train(tiny_std, evolve(CFG, seed=s, epochs=1), progress=False)
        save_run(model, evolve(CFG, seed=s, epochs=1), history, tiny_std, run / f"seed{s}")
    old_model, old_history = train(tiny_std, evolve(CFG, seed=7, epochs=1, latent_dim=3), progress=False)
    save_run(old_model, evolve(CFG, seed=7, epochs=1, latent_dim=3), old_history, tiny_std, run / "seed7")
    runs = pd.DataFrame([{"parameter": "latent_dim", "value": 4, "folder": run, "executed": True,
                          "latent_dim": 4, "seeds": [0, 1]}])
    table = study.sweep_table(runs, tiny_std, k=3, n_init=1)
    assert sorted(table["seed"].unique()) == [0, 1] and len(table) == 2 * 3


def test_the_batched_engine_gives_the_reference_tables(zoo_and_features):
    """Retrieval and tags to 1e-6; probes within one test row; K-Means the same rows, ARI close.
    On these tiny data fusion PCA embeds each modality in its own components, so its cross-modal
    cosine similarities are rounding noise (|s| < 1e-6): their ranks are noise at any precision
    and are left out of the retrieval comparison."""
    zoo, f, _ = zoo_and_features
    n_test = len(f.y["test"])
    for table in (lambda e: study.retrieval_table(zoo, f, engine=e), lambda e: study.tagging_table(zoo, f, 3, engine=e)):
        batched, reference = table("batched"), table("reference")
        pd.testing.assert_frame_equal(batched.drop(columns="value"), reference.drop(columns="value"))
        meaningful = ~((batched["model"] == "fusion_pca") & ("query" in batched))
        np.testing.assert_allclose(batched["value"][meaningful], reference["value"][meaningful], atol=1e-6)
    for table in (lambda e: study.subset_table(zoo, f, 4, engine=e), lambda e: study.noise_table(zoo, f, [1.0], 4, engine=e),
                  lambda e: study.ood_table(zoo, f, engine=e)):
        batched, reference = table("batched"), table("reference")
        pd.testing.assert_frame_equal(batched.drop(columns="value"), reference.drop(columns="value"))
        probe = batched["metric"] == "probe_accuracy"
        assert ((batched["value"][probe] - reference["value"][probe]).abs() <= 1 / n_test + 1e-12).all()
        assert abs(batched["value"][~probe].mean() - reference["value"][~probe].mean()) < 0.1
    with pytest.raises(ValueError, match=r"engine must be one of \('batched', 'reference'\), got 'gpu'"):
        study.subset_table(zoo, f, 4, engine="gpu")


@pytest.mark.slow
def test_the_evaluation_benchmark_runs_tiny(tmp_path, capsys):
    from mmae.bench.__main__ import main
    from mmae.report import benchmarks

    main(["--eval", "--tiny", "--data", "real:cifar10",  # the small set: the reference path is the slow one
          "--artifacts-dir", str(tmp_path / "artifacts"), "--out", str(tmp_path / "e.json")])
    assert "chapters 08-12:" in capsys.readouterr().out
    t = benchmarks.table(benchmarks.load(tmp_path / "e.json"))
    assert list(t.index) == ["08 retrieval", "09 missing modalities", "10 noise", "11 tagging", "12 OOD"]
    assert (t["speedup"] == t["reference_s"] / t["batched_s"]).all()
    assert t.loc["11 tagging", "max_abs_diff"] == {"top1": 0.0, "top5": 0.0}  # the same votes and tie-breaks
    assert t.loc["09 missing modalities", "problems"] == 2 * 2 * 7  # models x seeds x subsets
