"""The Performance page's sentences and tables are computed from result records: exact values."""
import pandas as pd
import pytest

from mmae.bench import results
from mmae.report import performance

MACHINE = {"cpu": "Test CPU", "cores": 2, "torch_threads": 2, "gpu": None, "platform": "x", "python": "3.11",
           "versions": {"torch": "2.13.0"}}


def record(kind, rows, info, gpu=None):
    index = {"train": "trainer", "eval": "chapter", "sweeps": "way"}[kind]
    rec = results.record(kind, pd.DataFrame(rows).set_index(index), info, "python -m mmae.bench")
    return rec | {"machine": MACHINE | {"gpu": gpu}, "file": f"{kind}.json", "date": "2026-12-02T00:00:00+00:00"}


TRAIN = [{"trainer": t, "models": m, "s_per_epoch": s, "first_epoch_s": s, "speedup": 1.0, "fraction_of_peak": 0.1,
          "step_us": 100.0, "overhead_us": 50.0}
         for t, m, s in [("former stacked engine, 1 seed", 1, 0.5), ("trainer, 1 seed", 1, 0.52),
                         ("former stacked engine, 4 seeds", 4, 1.0), ("trainer, 4 seeds (torch.func)", 4, 1.5)]]
TRAIN_INFO = {"device": "cpu", "gflop_per_model_epoch": 10.0, "matmul_peak_gflops": 100.0, "seeds": 4,
              "torch_compile": "absent: no compiler"}


def test_train_findings_compare_the_trainer_with_the_former_engine_and_the_targets():
    text = performance.train_findings([record("train", TRAIN, TRAIN_INFO)])
    assert "one seed takes 0.520 s per epoch with the trainer" in text
    assert "1.04x the former stacked engine's 0.500 s: the target of at most 1.1x is **met**" in text
    assert "4 seeds together (`torch.func.vmap` over the same module) take 1.500 s, 2.88x one seed" in text
    assert "1.50x the former engine's 1.000 s: the target of at most 1.4x is **missed**" in text
    assert "would take 0.100 s per model" in text and "`torch.compile` was not measured: absent: no compiler." in text


def test_eval_findings_and_the_target():
    info = {"device": "cpu", "data": "toy", "models": ["a", "b"], "seeds": [0], "total_reference_s": 100.0,
            "total_batched_s": 20.0, "batched_share": 0.2}
    rows = [{"chapter": "08 retrieval", "problems": 3, "reference_s": 100.0, "batched_s": 20.0, "speedup": 5.0,
             "max_abs_diff": {"map": 0.5}, "mean_abs_diff": {"map": 0.25}}]
    rec = record("eval", rows, info)
    assert "1 min 40 s today and 20.0 s with the batched engine, 20% of today's; the target of at most 20% is **reached**" \
        in performance.eval_findings([rec])
    assert "**not reached**" in performance.eval_findings([rec], target=0.1)
    assert performance.eval_table(rec).iloc[0, -1] == "map 0.25 (0.5)"


def test_inventory_says_when_there_is_no_gpu_and_build_table_totals():
    runs = {"train": [record("train", TRAIN, TRAIN_INFO)], "eval": []}
    assert "**No GPU measurement.**" in performance.inventory(runs)
    gpu = {"train": [record("train", TRAIN, TRAIN_INFO | {"device": "cuda"}, gpu="NVIDIA H200")], "eval": []}
    assert "No GPU measurement" not in performance.inventory(gpu) and "NVIDIA H200" in performance.inventory(gpu)
    table = performance.build_table([{"chapter": "01", "wall_s": 30.0, "device": "cpu", "date": "d"},
                                     {"chapter": "02", "wall_s": 45.5, "device": "cpu", "date": "d"}])
    assert table.loc["all chapters", "seconds"] == pytest.approx(75.5) and table.loc["all chapters", "wall time"] == "1 min 16 s"


def test_side_by_side_seeds_are_held_to_the_target_too():
    rows = TRAIN + [dict(TRAIN[-1], trainer="trainer, 4 seeds side by side (2 tasks at once)", s_per_epoch=1.2)]
    text = performance.train_findings([record("train", rows, TRAIN_INFO | {"workers": 2})])
    assert ("The same 4 seeds trained one by one, 2 at a time as tasks of `mmae.cluster` (one thread each), take "
            "1.200 s per epoch of all of them, 1.20x the former engine's 4 seeds: the target of at most 1.4x is "
            "**met** that way too.") in text
    assert performance.train_table(record("train", rows, TRAIN_INFO)).loc[rows[-1]["trainer"], "spread over rounds (s)"] == "-"


def test_sweeps_findings_and_the_model_of_more_workers():
    from mmae.bench.sweeps import makespan

    durations = [30.0, 20.0, 20.0, 10.0]
    rows = [{"way": "serial (this process)", "workers": 1, "wall_s": 80.0, "measured": True},
            {"way": "local cluster, 2 workers", "workers": 2, "wall_s": 45.0, "measured": True}]
    rows += [{"way": f"model, {n} workers", "workers": n, "wall_s": makespan(durations, n) + 5.0, "measured": False}
             for n in (1, 2, 4)]
    t = pd.DataFrame(rows)
    t["speedup"] = 80.0 / t["wall_s"]
    info = {"device": "cpu", "tasks": 4, "seeds": 5, "epochs": 2, "longest_task_s": 30.0, "serial_threads": 2,
            "default": "local"}
    rec = record("sweeps", t.to_dict("records"), info)
    assert [makespan(durations, n) for n in (1, 2, 4, 8)] == [80.0, 40.0, 30.0, 30.0]  # the longest task bounds it
    assert performance.sweeps_findings([rec]) == (
        "- **2 cores of Test CPU**: the 4 trainings of chapter 7's zoo (5 seeds, 2 epochs each) take 1 min 20 s one "
        "after another in one process (2 threads) and 45.0 s as tasks of a local cluster of 2 workers, 1.78x: here "
        "the local cluster is faster, and `MMAE_SCHEDULER` defaults to `local` on this machine. Scheduled longest "
        "first, workers like these would take them to at most 2.29x: the longest task (30.0 s) bounds the wall "
        "time, whatever the number of workers.")
    assert performance.sweeps_table(rec)["speed-up vs serial"].tolist() == ["1.00x", "1.78x", "0.94x", "1.78x", "2.29x"]
