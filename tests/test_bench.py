"""python -m mmae.bench: the training benchmark's record, its checks, and what it refuses to do."""
import json
import warnings

import pytest
import torch

from mmae.bench import results
from mmae.bench.__main__ import main
from mmae.training import make_config


def test_benchmark_runs_tiny_and_writes_its_record(capsys, tmp_path):
    from mmae import bench
    from mmae.bench import results
    from mmae.bench.__main__ import main

    main(["--tiny", "--seeds", "2", "--out", str(tmp_path / "b.json")])
    out = capsys.readouterr().out
    for line in ("former stacked engine, 1 seed", "trainer, 1 seed", "former stacked engine, 2 seeds", "trainer, 2 seeds (torch.func)",
                 "GFLOP per model-epoch", "torch.compile: not asked (python -m mmae.bench --compile)", "overhead_us"):
        assert line in out
    rec = results.load(tmp_path / "b.json")
    assert rec["kind"] == "train" and rec["command"] == "python -m mmae.bench --tiny --seeds 2 --out " + str(tmp_path / "b.json")
    assert rec["machine"]["versions"]["torch"] == torch.__version__ and rec["date"].endswith("+00:00")
    t = results.table(rec)
    assert list(t.index) == ["former stacked engine, 1 seed", "trainer, 1 seed", "former stacked engine, 2 seeds",
                             "trainer, 2 seeds (torch.func)"]
    assert t.loc["former stacked engine, 1 seed", "speedup"] == 1.0 and t["models"].tolist() == [1, 1, 2, 2]
    info = rec["info"]  # step time = epoch time / steps; overhead = step time - matmuls at the measured peak
    row = t.loc["trainer, 2 seeds (torch.func)"]
    assert row.step_us == pytest.approx(row.s_per_epoch / info["steps_per_epoch"] * 1e6)
    assert row.overhead_us == pytest.approx(row.step_us - 2 * info["gflop_per_model_epoch"] / info["steps_per_epoch"]
                                            / info["matmul_peak_gflops"] * 1e6)
    assert bench.epoch_gflop({"image": 50, "audio": 1024, "text": 768}, make_config(), 21000) == pytest.approx(668160 * 6 * 21000 / 1e9)  # the "84 GFLOP per epoch"


def test_benchmark_result_files_are_checked(tmp_path):
    from mmae.bench import results

    (tmp_path / "x.json").write_text('{"schema": "other", "kind": "train"}')
    with pytest.raises(ValueError, match="x.json: not a benchmark result of schema 'mmae-bench/1' \\(schema 'other'"):
        results.load(tmp_path / "x.json")
    with pytest.raises(ValueError, match="kind must be one of \\('train', 'eval', 'search', 'sweeps'\\), got 'fit'"):
        results.record("fit", None, {}, "")
    assert results.default_path("eval", "cpu").name == "eval-cpu.json"


def test_the_committed_benchmark_results_load():
    from mmae.bench import results

    files = sorted(results.FOLDER.glob("*.json"))
    assert {f.name for f in files} >= {"train-cpu.json", "eval-cpu.json"}
    for f in files:
        rec = results.load(f)
        assert len(results.table(rec)) >= 4 and rec["commit"] and rec["machine"]["cores"] >= 1


def test_nonsense_options_are_refused_before_any_work(capsys):
    for argv, said in ((["--epochs", "0"], "--epochs must be >= 1, got 0"), (["--seeds", "1"], "--seeds must be >= 2, got 1"),
                       (["--warmup", "-1"], "--warmup must be >= 0, got -1"), (["--rounds", "0"], "--rounds must be >= 1"),
                       (["--eval", "--compile"], "--compile applies to the training benchmark only"),
                       (["--tiny", "--save"], "--save is refused (use --out FILE)"),
                       (["--eval", "--search"], "not allowed with argument"),
                       (["--save", "--out", "x.json"], "not allowed with argument"),
                       (["--device", "tpu"], "device")):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2 and said in capsys.readouterr().err, argv


def test_nothing_is_written_unless_asked(capsys, monkeypatch, tmp_path):
    """Without --save or --out the committed result files stay as they are."""
    monkeypatch.setattr(results, "FOLDER", tmp_path)
    before = {f: f.read_bytes() for f in results.FOLDER.glob("*.json")}
    main(["--tiny", "--seeds", "2", "--rounds", "1"])
    assert "not written (--save writes book/benchmarks/, --out FILE elsewhere)" in capsys.readouterr().out
    assert {f: f.read_bytes() for f in results.FOLDER.glob("*.json")} == before


def test_a_record_holding_nan_is_never_written(tmp_path):
    rec = {"schema": results.SCHEMA, "kind": "train", "results": [{"trainer": "a", "s_per_epoch": float("nan")}]}
    (tmp_path / "train-cpu.json").write_text("{}")
    with pytest.raises(ValueError, match=r"the results hold non-finite values \(s_per_epoch\): .* is not written"):
        results.save(rec, tmp_path / "train-cpu.json")
    assert (tmp_path / "train-cpu.json").read_text() == "{}"
    rec["results"][0]["s_per_epoch"] = 1.5
    assert json.loads(results.save(rec, tmp_path / "train-cpu.json").read_text())["results"][0]["s_per_epoch"] == 1.5


def test_a_broken_compile_cache_is_removed_and_rebuilt(monkeypatch, tmp_path):
    """A run killed while compiling left a 0-byte .so that broke every later compile: the bench
    removes the cache once, says so, and compiles again."""
    from mmae.bench import training

    cache = tmp_path / "inductor"
    (cache / "xy").mkdir(parents=True)
    (cache / "xy" / "broken.so").write_bytes(b"")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(cache))
    calls = []

    def compile_(fn, **kw):
        calls.append(cache.exists())
        if (cache / "xy" / "broken.so").exists():
            raise ImportError(f"{cache}/xy/broken.so: file too short")
        return fn  # the second try, after the cache is gone: "compiled" (eager here, in seconds)
    monkeypatch.setattr(torch, "compile", compile_)
    with pytest.warns(UserWarning, match="may be broken by a killed run: removed, compiling again"):
        assert training.compile_works(torch.device("cpu")) is None
    assert calls == [True, False] and not cache.exists()
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: (_ for _ in ()).throw(RuntimeError("no compiler")))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "none"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cache to remove: reported, without a warning
        assert training.compile_works(torch.device("cpu")) == "RuntimeError: no compiler"
