"""The Performance page's tables and sentences, computed from the benchmark's result files
(:mod:`mmae.report.benchmarks`) and the chapters' provenance records: no number is typed."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmae.report import benchmarks
from mmae.report.provenance import format_seconds


def load_all(folder: str | Path) -> dict[str, list[dict]]:
    """Every training, evaluation and sweeps result file in ``folder``, by kind, CPU first, then by
    date (the search benchmark's file is :mod:`mmae.report.search`'s)."""
    runs: dict[str, list[dict]] = {"train": [], "eval": [], "sweeps": []}
    for path in sorted(Path(folder).glob("*.json")):
        rec = benchmarks.load(path)
        if rec["kind"] in runs:
            runs[rec["kind"]].append(rec | {"file": path.name})
    for recs in runs.values():
        recs.sort(key=lambda r: (r["machine"]["gpu"] is not None, r["date"]))
    return runs


def where(rec: dict) -> str:
    """"NVIDIA H200" or "2 cores of Intel(R) Xeon(R) ..."."""
    m = rec["machine"]
    return m["gpu"] if rec["info"]["device"].startswith("cuda") and m["gpu"] else f"{m['cores']} cores of {m['cpu']}"


def heading(rec: dict) -> str:
    """A result file's provenance, one paragraph."""
    m = rec["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    return (f"**{rec['file']}**: `{rec['command']}` on {where(rec)} ({rec['info']['device']}, "
            f"{m['torch_threads']} torch threads), {rec['date']}, commit `{rec['commit']}`{' (with uncommitted changes)' if rec.get('dirty') else ''}; Python {m['python']}, {libs}.")


def inventory(runs: dict[str, list[dict]]) -> str:
    """Which result files there are, and a plain statement when there is no GPU measurement."""
    files = [r for recs in runs.values() for r in recs]
    if not files:
        return "No benchmark result file: run `python -m mmae.bench --save` and `python -m mmae.bench --eval --save`."
    lines = [f"- `{r['file']}`: {r['kind']}, {where(r)}, {r['date'][:10]}" for r in files]
    if not any(r["info"]["device"].startswith("cuda") for r in files):
        lines.append("- **No GPU measurement.** No GPU was lent to this project since the benchmark took its "
                     "present form, so this page shows no GPU number, and none is estimated. On a machine with "
                     "one, `python -m mmae.bench --save` writes `book/benchmarks/train-cuda.json` and this page shows it.")
    return "Result files rendered here:\n\n" + "\n".join(lines)


def train_table(rec: dict) -> pd.DataFrame:
    """The training benchmark, formatted for reading."""
    t = benchmarks.table(rec)
    spread = t["spread"] if "spread" in t else pd.Series(float("nan"), index=t.index)
    return pd.DataFrame({"models": t["models"], "s / epoch": t["s_per_epoch"].map("{:.3f}".format),
                         "spread over rounds (s)": spread.map(lambda v: "-" if pd.isna(v) else f"{v:.3f}"),
                         "first epoch (s)": t["first_epoch_s"].map("{:.2f}".format),
                         "model-epochs / s vs the former engine's one seed": t["speedup"].map("{:.2f}x".format),
                         "share of matmul peak": t["fraction_of_peak"].map("{:.1%}".format),
                         "step (µs)": t["step_us"].map("{:,.0f}".format),
                         "overhead per step (µs)": t["overhead_us"].map("{:,.0f}".format)})


TARGETS = {1: 1.1, "seeds": 1.4}
"""Issue 22's targets on a CPU: the trainer's time per epoch against the former stacked engine's,
at most 1.1x for one seed and 1.4x for several."""


def train_findings(recs: list[dict]) -> str:
    """Per result file: the trainer against the former stacked engine, one seed and many, and
    against the targets of :data:`TARGETS`, as sentences."""
    out = []
    for rec in recs:
        t, info = benchmarks.table(rec), rec["info"]
        S = int(info["seeds"])
        former1, one = t.loc["former stacked engine, 1 seed", "s_per_epoch"], t.loc["trainer, 1 seed", "s_per_epoch"]
        formerS, many = (t.loc[f"former stacked engine, {S} seeds", "s_per_epoch"],
                         t.loc[f"trainer, {S} seeds (torch.func)", "s_per_epoch"])
        floor = info["gflop_per_model_epoch"] / info["matmul_peak_gflops"]
        verdict = lambda r, target: f"the target of at most {target:.1f}x is **{'met' if r <= target else 'missed'}**"  # noqa: E731
        line = (f"- **{where(rec)}** ({info['device']}): one seed takes {one:.3f} s per epoch with the trainer (the "
                f"module itself, fused Adam), {one / former1:.2f}x the former stacked engine's {former1:.3f} s: "
                f"{verdict(one / former1, TARGETS[1])}. {S} seeds together (`torch.func.vmap` over the same module) "
                f"take {many:.3f} s, {many / one:.2f}x one seed and {many / formerS:.2f}x the former engine's "
                f"{formerS:.3f} s: {verdict(many / formerS, TARGETS['seeds'])}. At the measured matmul peak "
                f"({info['matmul_peak_gflops']:,.0f} GFLOP/s) an epoch's matmuls would take {floor:.3f} s per model: "
                f"one seed uses {t.loc['trainer, 1 seed', 'fraction_of_peak']:.1%} of the peak, and "
                f"{t.loc['trainer, 1 seed', 'overhead_us']:,.0f} µs of each step are not matmuls.")
        side = [name for name in t.index if "side by side" in name]
        if side:
            s_side = t.loc[side[0], "s_per_epoch"]
            line += (f" The same {S} seeds trained one by one, {info.get('workers', 2)} at a time as tasks of "
                     f"`mmae.cluster` (one thread each), take {s_side:.3f} s per epoch of all of them, "
                     f"{s_side / formerS:.2f}x the former engine's {S} seeds: "
                     f"{verdict(s_side / formerS, TARGETS['seeds'])} that way too.")
        if "trainer, 1 seed, torch.compile" in t.index:
            for name, eager in (("trainer, 1 seed, torch.compile", one), (f"trainer, {S} seeds, torch.compile", many)):
                c = t.loc[name]
                line += (f" With `torch.compile` ({name.split(', ')[1]}) the first epoch took {c.first_epoch_s:.1f} s "
                         f"(compiling), then {c.s_per_epoch:.3f} s per epoch, {eager / c.s_per_epoch:.2f}x the eager one.")
        else:
            line += f" `torch.compile` was not measured: {info['torch_compile']}."
        out.append(line)
    return "\n".join(out) or "No training result file."


def eval_table(rec: dict) -> pd.DataFrame:
    """The evaluation benchmark, formatted for reading."""
    t = benchmarks.table(rec)
    return pd.DataFrame({"problems": t["problems"], "today (s)": t["reference_s"].map("{:.1f}".format),
                         "batched (s)": t["batched_s"].map("{:.1f}".format), "speed-up": t["speedup"].map("{:.1f}x".format),
                         "difference between the engines, mean (largest)": [
                             ", ".join(f"{m} {mean[m]:.2g} ({v:.2g})" for m, v in big.items())
                             for big, mean in zip(t["max_abs_diff"], t["mean_abs_diff"])]})


def eval_findings(recs: list[dict], target: float = 0.2) -> str:
    """Per result file: chapters 08-12's total, today's path against the batched engine, and the target."""
    out = []
    for rec in recs:
        i = rec["info"]
        met = "reached" if i["batched_share"] <= target else "not reached"
        out.append(f"- **{where(rec)}** ({i['device']}), {i['data']} with {len(i['models'])} models x {len(i['seeds'])} "
                   f"seeds: chapters 08-12's tables take {format_seconds(i['total_reference_s'])} today and "
                   f"{format_seconds(i['total_batched_s'])} with the batched engine, {i['batched_share']:.0%} of "
                   f"today's; the target of at most {target:.0%} is **{met}**.")
    return "\n".join(out) or "No evaluation result file."


def build_table(records: list[dict]) -> pd.DataFrame:
    """Chapter wall times of this build, from the provenance records, with the total."""
    if not records:
        return pd.DataFrame({"wall time": ["no provenance record: build the chapters first"]}, index=["-"])
    rows = {r["chapter"]: {"wall time": format_seconds(r["wall_s"]), "seconds": r["wall_s"], "device": r["device"],
                           "built (UTC)": r["date"]} for r in records}
    total = sum(r["wall_s"] for r in records)
    rows["all chapters"] = {"wall time": format_seconds(total), "seconds": round(total, 1), "device": "", "built (UTC)": ""}
    return pd.DataFrame.from_dict(rows, orient="index")


def sweeps_table(rec: dict) -> pd.DataFrame:
    """The sweeps benchmark (serial, the local cluster, the model of N workers), for reading."""
    t = benchmarks.table(rec)
    return pd.DataFrame({"workers": t["workers"], "wall time": t["wall_s"].map(format_seconds),
                         "speed-up vs serial": t["speedup"].map("{:.2f}x".format),
                         "": t["measured"].map({True: "measured", False: "modelled"})})


def sweeps_findings(recs: list[dict]) -> str:
    """Per result file: serial against the local cluster, and what the model says of more workers."""
    out = []
    for rec in recs:
        t, i = benchmarks.table(rec), rec["info"]
        local = t[t["measured"] & (t["workers"] > 1)].iloc[0]
        model = t[~t["measured"]]
        best = model["speedup"].max()
        faster = "the local cluster" if local["speedup"] > 1 else "one process"
        out.append(f"- **{where(rec)}**: the {i['tasks']} trainings of chapter 7's zoo ({i['seeds']} seeds, "
                   f"{i['epochs']} epochs each) take {format_seconds(t['wall_s'].iloc[0])} one after another in one "
                   f"process ({i.get('serial_threads', 1)} threads) and {format_seconds(local['wall_s'])} as tasks of "
                   f"a local cluster of {int(local['workers'])} workers, {local['speedup']:.2f}x: here {faster} is "
                   f"faster, and `MMAE_SCHEDULER` defaults to `{i.get('default', 'local')}` on this machine. "
                   f"Scheduled longest first, workers like these would take them to at most {best:.2f}x: the longest "
                   f"task ({format_seconds(i['longest_task_s'])}) bounds the wall time, whatever the number of workers.")
    return "\n".join(out) or "No sweeps result file: run `python -m mmae.bench --sweeps --save`."
