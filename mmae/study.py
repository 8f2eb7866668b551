"""Beyond the paper (notebooks 07-14): the models compared, trained once per seed and cached, and
each question as a function returning a long table.

Every table has one row per (model, seed, condition, metric) and the number in ``value``, so
:func:`mmae.evaluation.mean_std` gives the mean and spread over seeds of anything in it.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mmae.artifacts import resolve_dir, run_key
from mmae.baselines import FusionPCA
from mmae.data import Features
from mmae.evaluation import (add_gaussian_noise, fit_linear_probe, knn_tag_scores, mean_std, ood_auroc_score,
                             prediction_skill_score, retrieval_scores, top_k_accuracy)
from mmae.metrics import N_INIT, cluster_scores
from mmae.train import MODELS, TrainConfig, encode, run_params, train_seeds

# What each name in a notebook's `models` list trains (all with the same MLPs, epochs, batch, lr).
MODEL_LABELS = {
    "mmae": "MMAE",                              # the paper's model and loss, Eq. (3)
    "mmae_dimweighted": "MMAE, loss x dim",      # Eq. (3) with term m weighted by d_m / mean(d)
    "mmae_dropout": "MMAE, modality dropout",    # Eq. (3), each modality left out of z with prob. DROPOUT
    "mmae_align": "MMAE + alignment (Eq. 1)",    # Eq. (3) + ALIGN * sum_m ||E_m(x_m) - z||^2
    "mmae_impute": "MMAE, missing imputed",      # the MMAE; a missing modality's encoding = its train mean
    "mvae": "MVAE (PoE)",                        # mmae.comparators.MVAE, Wu & Goodman's sub-sampled ELBO
    "mvae_cross": "MVAE, cross-modal ELBO",      # the same MVAE; every posterior decodes every modality
    "contrastive": "contrastive (InfoNCE)",      # mmae.comparators.ContrastiveEncoders
    "fusion_pca": "fusion PCA (baseline)",       # mmae.baselines.FusionPCA, weights (1, 1, 1)
}


# The MMAE variants' strengths when the config leaves them at 0 and nothing was tuned (mmae.tuning).
DROPOUT = 0.5  # probability of leaving a modality out of a training row's fused z (one always stays)
ALIGN = 0.1  # lambda of the alignment penalty; the MSE terms of standardised features are O(1)


def variant_config(name: str, cfg: TrainConfig, dims: dict[str, int], chosen: dict | None = None) -> TrainConfig:
    """The training config of model ``name`` (a key of :data:`MODEL_LABELS` but "fusion_pca"),
    with the values ``chosen[name]`` (e.g. ``{"beta": 0.5}``, :func:`mmae.tuning.choices`) set."""
    c = _variant(name, cfg, dims)
    return replace(c, **(chosen or {}).get(name, {}))


def _variant(name: str, cfg: TrainConfig, dims: dict[str, int]) -> TrainConfig:
    if name == "mmae_dimweighted":  # what summing squared errors over all features would do
        total = sum(dims.values())
        return replace(cfg, model="mmae", loss_weights={m: len(dims) * d / total for m, d in dims.items()})
    if name == "mmae_dropout":
        return replace(cfg, model="mmae", modality_dropout=cfg.modality_dropout or DROPOUT)
    if name == "mmae_align":
        return replace(cfg, model="mmae", align=cfg.align or ALIGN)
    if name == "mmae_impute":  # the same training as the MMAE: only the encoding of subsets differs
        return replace(cfg, model="mmae")
    if name in MODELS:
        return replace(cfg, model=name)
    raise ValueError(f"unknown model {name!r}; expected one of {tuple(MODEL_LABELS)}")


def subsets(modalities) -> list[tuple[str, ...]]:
    """The non-empty subsets of ``modalities``, by size, then in modality order (7 for 3)."""
    return [s for r in range(1, len(modalities) + 1) for s in itertools.combinations(modalities, r)]


def subset_name(subset) -> str:
    return "+".join(subset)


@dataclass
class Zoo:
    """Trained models: ``models[name][i]`` was trained with ``seeds[i]``; ``key`` identifies them;
    ``chosen`` holds the hyper-parameters chosen on validation (:mod:`mmae.tuning`), if any."""

    models: dict[str, list]
    histories: dict[str, list[pd.DataFrame]]
    seeds: list[int]
    key: str
    chosen: dict = field(default_factory=dict)


def zoo_key(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str], chosen: dict | None = None) -> str:
    """Code + data + every model's config + seeds: the key of a :class:`Zoo` and of its tables."""
    params = {n: run_params(variant_config(n, cfg, features.dims, chosen)) for n in names if n != "fusion_pca"}
    return run_key(features.fingerprint(), {"models": params, "names": list(names), "seeds": list(seeds)})


def _load_or_train(name: str, features: Features, cfg: TrainConfig, seeds: list[int], folder: Path,
                   progress: bool, chosen: dict | None = None) -> tuple[list, list[pd.DataFrame]]:
    """The models of one variant for every seed, from ``folder`` when their key matches, else trained."""
    c = variant_config(name, cfg, features.dims, chosen)
    key = run_key(features.fingerprint(), run_params(c) | {"seeds": list(seeds)})
    path = folder / f"{name}_z{c.latent_dim}.pt"
    ckpt = torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None
    if ckpt is None or ckpt["key"] != key:
        trained, hist = train_seeds(features, c, seeds, progress)
        ckpt = {"key": key, "model": c.model, "config": trained[0].config,
                "state_dicts": [{k: v.cpu() for k, v in m.state_dict().items()} for m in trained],
                "histories": [h.to_dict(orient="list") for h in hist]}
        torch.save(ckpt, path)
    else:
        print(f"Loaded {path.name}: {len(seeds)} seeds trained by this code on these data with these parameters.")
    models = []
    for state in ckpt["state_dicts"]:
        model = MODELS[ckpt["model"]](**ckpt["config"])
        model.load_state_dict(state)
        models.append(model.eval())
    return models, [pd.DataFrame(h) for h in ckpt["histories"]]


def load_or_train_zoo(features: Features, cfg: TrainConfig, seeds: list[int], names: list[str],
                      artifacts_dir: str | Path, progress: bool = True, chosen: dict | None = None) -> Zoo:
    """Every model of ``names`` for every seed: loaded from ``artifacts_dir/zoo/`` when trained by
    this code on these data with these parameters, else trained (seeds together) and saved.
    ``"mmae_impute"`` reuses the MMAE's weights (trained once, as ``"mmae"``)."""
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    models, histories = {}, {}
    for name in names:
        if name == "fusion_pca":
            models[name], histories[name] = [FusionPCA(random_state=s).fit(features.x["train"]) for s in seeds], []
        elif name == "mmae_impute":
            base = models.get("mmae") or _load_or_train("mmae", features, cfg, seeds, folder, progress)[0]
            models[name], histories[name] = [ImputedMMAE(m, features.x["train"]) for m in base], []
        else:
            models[name], histories[name] = _load_or_train(name, features, cfg, seeds, folder, progress, chosen)
    return Zoo(models, histories, list(seeds), zoo_key(features, cfg, seeds, names, chosen), dict(chosen or {}))


class ImputedMMAE:
    """An MMAE that fills a missing modality's encoding with its mean train encoding, instead of
    averaging only the encodings present: z of a subset then lies where the decoders were trained.

    Parameters
    ----------
    model : MMAE
        A trained MMAE with ``fusion="mean"``.
    x_train : dict of str to ndarray
        The train features of every modality, whose encodings' means fill the gaps.
    """

    def __init__(self, model, x_train: dict[str, np.ndarray]):
        self.model, self.decoders, self.decode = model, model.decoders, model.decode
        self.means_ = {m: h.mean(0) for m, h in encode(model, x_train, each=True).items()}

    def encode(self, x: dict[str, np.ndarray]) -> np.ndarray:
        """The fused z (n, latent) of whichever modalities ``x`` holds, the others imputed."""
        each = encode(self.model, x, each=True)
        n = len(next(iter(each.values())))
        return np.mean([each[m] if m in each else np.broadcast_to(mu, (n, len(mu))) for m, mu in self.means_.items()],
                       axis=0)


def embed(model, x: dict[str, np.ndarray]) -> np.ndarray:
    """The shared representation (n, L) of ``model`` from whichever modalities ``x`` holds."""
    return encode(model, x) if isinstance(model, torch.nn.Module) else model.encode(x)


def _rows(name: str, seed: int, metrics: dict[str, float], **condition) -> list[dict]:
    return [{"model": name, "seed": seed, **condition, "metric": k, "value": v} for k, v in metrics.items()]


def _pick(x: dict[str, np.ndarray], subset) -> dict[str, np.ndarray]:
    return {m: x[m] for m in subset}


def retrieval_table(zoo: Zoo, features: Features, split: str = "test", metric: str = "cosine") -> pd.DataFrame:
    """Q1: query with one modality's embeddings, rank another's; relevant = same class.
    Columns model, seed, query, gallery, metric (map, precision@10, recall@1/5/10), value."""
    x, y = features.x[split], features.y[split]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            emb = {m: embed(model, {m: x[m]}) for m in x}
            for a, b in itertools.permutations(x, 2):
                rows += _rows(name, seed, retrieval_scores(emb[a], emb[b], y, y, metric=metric), query=a, gallery=b)
    return pd.DataFrame(rows)


def subset_table(zoo: Zoo, features: Features, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Q2: embed the test split from each non-empty subset of modalities: K-Means (``k``) ARI and
    NMI, and the accuracy of a linear probe fitted on the train embeddings of the same subset."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            for subset in subsets(features.modalities):
                z_tr, z_te = embed(model, _pick(xtr, subset)), embed(model, _pick(xte, subset))
                c = cluster_scores(z_te, yte, k, n_init, seed)
                probe = fit_linear_probe(z_tr, ytr, random_state=seed)
                rows += _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"],
                                           "probe_accuracy": float((probe(z_te) == yte).mean())},
                              subset=subset_name(subset), n_modalities=len(subset))
    return pd.DataFrame(rows)


@torch.no_grad()
def cross_modal_table(zoo: Zoo, features: Features) -> pd.DataFrame:
    """Q2: decode modality B from another modality A alone (and every modality from all), scored
    against predicting the train mean of B: :func:`mmae.evaluation.prediction_skill_score` (0 = no
    better than the mean). Self-pairs (A -> A) are left out: they are reconstruction, not prediction."""
    xte, mods = features.x["test"], features.modalities
    mean = {m: features.x["train"][m].mean(0) for m in mods}
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            if not len(getattr(model, "decoders", ())):
                continue  # the contrastive model and the PCA baseline have no decoder
            for source in [(m,) for m in mods] + [tuple(mods)]:
                z = torch.as_tensor(embed(model, _pick(xte, source)))
                x_hat = {m: v.numpy() for m, v in model.decode(z).items()}
                for target in mods:
                    if source == (target,):
                        continue  # reconstructing a modality from itself is not cross-modal
                    rows += _rows(name, seed, {"skill": prediction_skill_score(xte[target], x_hat[target], mean[target])},
                                  source=subset_name(source), target=target)
    return pd.DataFrame(rows)


def noise_table(zoo: Zoo, features: Features, sigmas, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Q3: Gaussian noise of std ``sigma`` (in feature standard deviations) on one test modality:
    K-Means ARI and the accuracy of the probe fitted on clean train embeddings (all modalities)."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            probe = fit_linear_probe(embed(model, xtr), ytr, random_state=seed)
            for m in features.modalities:
                for sigma in sigmas:
                    z = embed(model, add_gaussian_noise(xte, m, sigma, random_state=seed))
                    rows += _rows(name, seed, {"ari": cluster_scores(z, yte, k, n_init, seed)["ari"],
                                               "probe_accuracy": float((probe(z) == yte).mean())},
                                  modality=m, sigma=float(sigma))
    return pd.DataFrame(rows)


def tagging_table(zoo: Zoo, features: Features, n_neighbors: int = 10, tops=(1, 5)) -> pd.DataFrame:
    """Q8: tags (classes) of a new asset with any subset of modalities from its ``n_neighbors``
    nearest neighbours among the labelled train assets embedded from all modalities: top-k accuracy."""
    xtr, xte, ytr, yte = features.x["train"], features.x["test"], features.y["train"], features.y["test"]
    n_classes = int(max(ytr.max(), yte.max())) + 1
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            library = embed(model, xtr)
            for subset in subsets(features.modalities):
                scores = knn_tag_scores(library, ytr, embed(model, _pick(xte, subset)), n_neighbors, n_classes=n_classes)
                rows += _rows(name, seed, {f"top{t}": top_k_accuracy(yte, scores, t) for t in tops},
                              subset=subset_name(subset), n_modalities=len(subset))
    return pd.DataFrame(rows)


def ood_table(zoo: Zoo, features: Features, n_init: int = N_INIT) -> pd.DataFrame:
    """Q6: K-Means with k = the number of OOD classes on the OOD embeddings (ARI, NMI), and OOD
    detection by the distance to the nearest in-distribution class centroid (AUROC). Empty (with
    the columns) when the data have no OOD split."""
    if "ood" not in features.x:  # an optional split: nothing to measure
        return pd.DataFrame(columns=["model", "seed", "metric", "value"])
    y_ood = features.y["ood"]
    rows = []
    for name, models in zoo.models.items():
        for seed, model in zip(zoo.seeds, models):
            z_tr, z_te, z_ood = (embed(model, features.x[s]) for s in ("train", "test", "ood"))
            c = cluster_scores(z_ood, y_ood, len(np.unique(y_ood)), n_init, seed)
            rows += _rows(name, seed, {"ari": c["ari"], "nmi": c["nmi"],
                                       "auroc": ood_auroc_score(z_tr, features.y["train"], z_te, z_ood)})
    return pd.DataFrame(rows)


def spread(table: pd.DataFrame, by: list[str], index: tuple[str, ...] = ("model",), digits: int = 3) -> pd.DataFrame:
    """``mean ± std`` over seeds of every metric: ``index`` as rows (models in the zoo's order, by
    their labels), ``by`` and the metric as columns."""
    from mmae.evaluation import format_mean_std

    s = mean_std(table, [*index, *by, "metric"])
    s["value"] = [format_mean_std(m, sd, digits) for m, sd in zip(s["mean"], s["std"])]
    if "model" in s:
        s["model"] = s["model"].map(MODEL_LABELS).fillna(s["model"])
    columns = [*by, "metric"]
    wide = s.pivot(index=list(index), columns=columns, values="value")
    order = list(dict.fromkeys(zip(*[s[c] for c in columns]))) if len(columns) > 1 else list(dict.fromkeys(s["metric"]))
    rows = list(dict.fromkeys(zip(*[s[c] for c in index]))) if len(index) > 1 else list(dict.fromkeys(s[index[0]]))
    return wide.reindex(index=rows, columns=order)


def headline(table: pd.DataFrame, metric: str, **where) -> pd.DataFrame:
    """One number per (model, seed): ``metric`` averaged over the rows matching ``where``."""
    t = table[table["metric"] == metric]
    for column, value in where.items():
        t = t[t[column].isin(value if isinstance(value, (list, tuple)) else [value])]
    return t.groupby(["model", "seed"], sort=False, as_index=False)["value"].mean()


def prepare(data: str, data_seed: int, cfg: TrainConfig, seeds: list[int], models: list[str],
            artifacts_dir: str | Path, progress: bool = True, tune: bool = False) -> tuple[Features, Zoo, Path]:
    """What every chapter 07-14 starts from: standardised features, the zoo, the artifacts folder.

    With ``tune``, each comparator's own hyper-parameter is first chosen on a validation slice of
    train (:mod:`mmae.tuning`; cached in ``zoo/tuning.csv`` under a key of code, data and
    parameters), and the zoo is trained with the chosen values instead of ``cfg``'s."""
    from mmae.data import load_features, standardize

    out = resolve_dir(artifacts_dir)
    features = standardize(load_features(data, seed=data_seed))
    chosen = tuned(features, cfg, models, out, progress) if tune else {}
    return features, load_or_train_zoo(features, cfg, seeds, models, out, progress, chosen), out


def tuned(features: Features, cfg: TrainConfig, names: list[str], artifacts_dir: Path, progress: bool = True
          ) -> dict[str, dict[str, float]]:
    """:func:`mmae.tuning.choices` of a :func:`mmae.tuning.tune` table, read from
    ``artifacts_dir/zoo/tuning.csv`` when computed by this code on these data, else computed."""
    from mmae import tuning

    key = run_key(features.fingerprint(), {"cfg": run_params(cfg), "names": sorted(names), "grids": tuning.GRIDS})
    folder = resolve_dir(Path(artifacts_dir) / "zoo")
    try:
        table = load_table(folder, "tuning", key)
    except (FileNotFoundError, ValueError):
        table = tuning.tune(features, cfg, names, progress=progress)
        save_table(table, folder, "tuning", key)
    return tuning.choices(table)


def save_table(table: pd.DataFrame, artifacts_dir: Path, question: str, key: str) -> Path:
    """Write ``beyond_{question}.csv``, its first line the zoo's key (``# key: ...``), for the
    scorecard (notebook 14). An empty table (no OOD split) is written too, key and header only."""
    path = Path(artifacts_dir) / f"beyond_{question}.csv"
    path.write_text(f"# key: {key}\n" + table.to_csv(index=False))
    return path


def load_table(artifacts_dir: Path, question: str, key: str) -> pd.DataFrame:
    """The table :func:`save_table` wrote, if it was computed from exactly this zoo; else an error."""
    path = Path(artifacts_dir) / f"beyond_{question}.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the chapter that writes it first ({QUESTIONS.get(question, 'notebooks/07_comparators')})")
    with open(path) as f:
        first = f.readline().strip()
    if first != f"# key: {key}":
        raise ValueError(f"{path} was computed from other code, data, models or seeds than these: "
                         f"run {QUESTIONS.get(question, 'notebooks/07_comparators')} again with the same parameters")
    return pd.read_csv(path, skiprows=1)


QUESTIONS = {"retrieval": "notebooks/08_retrieval", "subsets": "notebooks/09_missing_modalities",
             "cross_modal": "notebooks/09_missing_modalities", "noise": "notebooks/10_noise",
             "tagging": "notebooks/11_tagging", "ood": "notebooks/12_ood"}


def scorecard(tables: dict[str, pd.DataFrame], modalities, digits: int = 3) -> pd.DataFrame:
    """One row per question, one column per model: the headline number of each chapter as
    ``mean ± std`` over seeds ("n/a" where a model cannot answer, e.g. decoding without a decoder)."""
    from mmae.evaluation import format_mean_std

    noise_max = tables["noise"]["sigma"].max()
    M = len(modalities)
    pairs, partial, partial_sizes = M * (M - 1), 2 ** M - 2, list(range(1, M))
    rows = [  # (label, table, metric, filter)
        (f"retrieval mAP, mean of {pairs} modality pairs", "retrieval", "map", {}),
        (f"retrieval recall@10, mean of {pairs} pairs", "retrieval", "recall@10", {}),
        ("K-Means ARI, all modalities", "subsets", "ari", {"n_modalities": M}),
        (f"K-Means ARI, mean of {partial} partial subsets", "subsets", "ari", {"n_modalities": partial_sizes}),
        ("linear probe accuracy, all modalities", "subsets", "probe_accuracy", {"n_modalities": M}),
        (f"linear probe accuracy, mean of {partial} partial subsets", "subsets", "probe_accuracy",
         {"n_modalities": partial_sizes}),
        (f"cross-modal prediction skill, mean of {pairs} pairs", "cross_modal", "skill", {"source": list(modalities)}),
        (f"K-Means ARI, one modality at noise sigma {noise_max:g}", "noise", "ari", {"sigma": noise_max}),
        (f"probe accuracy, one modality at noise sigma {noise_max:g}", "noise", "probe_accuracy", {"sigma": noise_max}),
        (f"tagging top-1, mean of {partial + 1} subsets", "tagging", "top1", {}),
        (f"tagging top-5, mean of {partial + 1} subsets", "tagging", "top5", {}),
        ("OOD clustering ARI (k = number of OOD classes)", "ood", "ari", {}),
        ("OOD detection AUROC", "ood", "auroc", {}),
    ]
    names = list(dict.fromkeys(pd.concat([t["model"] for t in tables.values() if "model" in t])))
    card = pd.DataFrame("n/a", index=[r[0] for r in rows], columns=[MODEL_LABELS.get(n, n) for n in names])
    for label, question, metric, where in rows:
        if tables[question].empty:  # no model could answer (no decoder, no OOD split)
            continue
        h = headline(tables[question], metric, **where)
        for name, g in h.groupby("model", sort=False):
            card.loc[label, MODEL_LABELS.get(name, name)] = format_mean_std(g["value"].mean(), g["value"].std(), digits)
    return card


def labelled(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the model names of :data:`MODEL_LABELS` (for figure legends)."""
    return table.assign(model=table["model"].map(MODEL_LABELS).fillna(table["model"]))


def pair_mean(table: pd.DataFrame, over: list[str]) -> pd.DataFrame:
    """Average ``value`` over the columns ``over`` (e.g. the 6 modality pairs) per model, seed, metric."""
    keep = [c for c in table.columns if c not in (*over, "value")]
    return table.groupby(keep, sort=False, as_index=False)["value"].mean()


def final_losses(zoo: Zoo) -> pd.DataFrame:
    """The last epoch of every trained model's history: model, seed, metric (a history column), value."""
    rows = []
    for name, histories in zoo.histories.items():
        for seed, h in zip(zoo.seeds, histories):
            last = h.iloc[-1].drop(["epoch", "seconds"])
            rows += _rows(name, seed, {k: float(v) for k, v in last.items() if k.startswith(("test_loss_", "infonce", "kl"))})
    return pd.DataFrame(rows)


def loss_curves(zoo: Zoo) -> pd.DataFrame:
    """Every trained model's history, long: model, seed, epoch, metric, value. Metrics: ``train
    MSE`` and ``test MSE`` (reconstruction from all modalities, summed over modalities; the models
    with a decoder) and ``InfoNCE`` (the contrastive model's training loss)."""
    names = {"loss": "train MSE", "test_loss": "test MSE", "infonce": "InfoNCE"}
    rows = []
    for name, histories in zoo.histories.items():
        for seed, h in zip(zoo.seeds, histories):
            for column in [c for c in names if c in h]:
                rows += [{"model": name, "seed": seed, "epoch": int(e), "metric": names[column], "value": float(v)}
                         for e, v in zip(h["epoch"], h[column])]
    return pd.DataFrame(rows, columns=["model", "seed", "epoch", "metric", "value"])


def weighting_effect(final: pd.DataFrame, base: str = "mmae", other: str = "mmae_dimweighted") -> str:
    """A sentence per modality: the test MSE of ``other`` relative to ``base`` (means over seeds)."""
    means = final.groupby(["model", "metric"])["value"].mean()
    if base not in means.index.get_level_values(0) or other not in means.index.get_level_values(0):
        return f"(needs both {base!r} and {other!r} in `models`)"
    parts = []
    for metric in [m for m in means[base].index if m.startswith("test_loss_")]:
        b, o = means[base][metric], means[other][metric]
        parts.append(f"- {metric.removeprefix('test_loss_')}: test MSE {b:.3f} ({MODEL_LABELS[base]}) -> "
                     f"{o:.3f} ({MODEL_LABELS[other]}), x{o / b:.2f}")
    return "\n".join(parts)


def run_sweep(notebook: str | Path, grid: dict[str, list], params: dict, folder: str | Path,
              fingerprint: str) -> pd.DataFrame:
    """Execute the training ``notebook`` with papermill once per (parameter, value) of ``grid``,
    on top of ``params`` (which holds a base value of every swept parameter), each run in its own
    folder under ``folder``; equal parameter sets run once. A run already done by this
    code on these data (``fingerprint``) with the same parameters is not repeated.

    Returns one row per run: parameter, value, folder, and whether it was executed now.
    """
    import papermill as pm

    from mmae.artifacts import project_root

    missing = [name for name in grid if name not in params]
    if missing:  # without a base value, "latent_dim=128" and "epochs=2" could not be seen as one run
        raise ValueError(f"params must hold a base value for every swept parameter; missing {missing}")
    rows, done = [], {}
    for name, values in grid.items():
        for value in values:
            p = params | {name: value}
            key = run_key(fingerprint, p)
            run_dir = done.get(key) or resolve_dir(Path(folder) / f"{name}={value}")
            executed = key not in done and not ((run_dir / "run.key").exists() and (run_dir / "run.key").read_text() == key)
            if executed:
                pm.execute_notebook(str(notebook), str(run_dir / Path(notebook).name), cwd=str(project_root()),
                                    parameters=p | {"artifacts_dir": str(run_dir)}, kernel_name="python3",
                                    progress_bar=False)
                (run_dir / "run.key").write_text(key)
            done[key] = run_dir
            rows.append({"parameter": name, "value": value, "folder": run_dir, "executed": executed})
    return pd.DataFrame(rows)


def sweep_table(runs: pd.DataFrame, features: Features, k: int, n_init: int = N_INIT) -> pd.DataFrame:
    """Score every seed of every run of :func:`run_sweep`: K-Means (``k``) ARI and NMI on its test
    latents, and its final test reconstruction loss. Columns parameter, value, seed, metric, value."""
    from mmae.train import load_checkpoint

    rows = []
    for r in runs.itertuples():
        seed_dirs = sorted(Path(r.folder).glob("seed*")) or [Path(r.folder)]
        for d in seed_dirs:
            _, ckpt = load_checkpoint(next(d.glob("mmae_z*.pt")), "cpu")
            L, seed = ckpt["model_config"]["latent_dim"], ckpt["train_config"]["seed"]
            c = cluster_scores(np.load(d / f"latents_z{L}_test.npy"), features.y["test"], k, n_init, seed)
            metrics = {"ari": c["ari"], "nmi": c["nmi"], "test_loss": ckpt["history"]["test_loss"][-1]}
            rows += [{"parameter": r.parameter, "setting": str(r.value), "seed": seed, "metric": m, "value": v}
                     for m, v in metrics.items()]
    return pd.DataFrame(rows)
