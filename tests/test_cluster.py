"""mmae.cluster: tasks give the same results wherever they run, a dead worker's task runs again,
and the zoo and the sweep trained on a 2-worker LocalCluster equal the serial ones."""
import os
from pathlib import Path

import pytest
import torch

from mmae import cluster


def square(x):
    return x * x


def add(shared, x):
    return shared + x


def threads(_):
    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def nested(x):
    return cluster.run(square, [x, x + 1], progress=False)  # inside a task: runs in it, one after another


def fail(x):
    raise ValueError(f"task {x} failed")


def die_once(marker):
    """Kill the worker the first time (no exception: the process is gone), succeed the second."""
    marker = Path(marker)
    if not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return "ran again"


def add_after_dying_once(shared, x):
    """``shared = (marker, n)``: kill the worker the first time any task runs, then ``n + x``."""
    marker, n = shared
    try:  # one task, of all, makes the marker: it dies
        open(marker, "x").close()
    except FileExistsError:
        return n + x
    os._exit(1)


@pytest.fixture
def serial(monkeypatch):
    monkeypatch.setenv(cluster.SCHEDULER, "serial")


@pytest.fixture
def one_worker(monkeypatch):
    """A LocalCluster of one worker, reached by its address: when that worker dies, what was
    scattered to it is gone from the cluster."""
    import logging

    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as local_cluster, Client(local_cluster) as client:
        monkeypatch.setenv(cluster.SCHEDULER, local_cluster.scheduler_address)
        monkeypatch.setitem(cluster._CLIENT, local_cluster.scheduler_address, client)
        yield client



def test_the_scheduler_is_named_or_refused(monkeypatch):
    monkeypatch.delenv(cluster.SCHEDULER, raising=False)
    monkeypatch.setattr(cluster, "cores", lambda: 2)
    assert cluster.address() == "serial"  # measured: on 2 cores a LocalCluster gains nothing (cluster.SMALL)
    monkeypatch.setattr(cluster, "cores", lambda: 16)
    assert cluster.address() == "local"
    monkeypatch.setenv(cluster.SCHEDULER, "tcp://10.0.0.1:8786")
    assert cluster.address() == "tcp://10.0.0.1:8786"
    monkeypatch.setenv(cluster.SCHEDULER, "slurm")
    with pytest.raises(ValueError, match="MMAE_SCHEDULER must be 'local', 'serial' or a scheduler address such as "
                                         r"tcp://host:8786 \(schemes: tcp, tls, ws, wss, ucx, inproc\), got 'slurm'"):
        cluster.run(square, [1, 2])
    monkeypatch.setenv(cluster.SCHEDULER, "bogus://10.0.0.1:8786")  # an address, but no scheme Dask knows
    with pytest.raises(ValueError, match="got 'bogus://10.0.0.1:8786'"):
        cluster.address()


def test_a_task_computes_with_the_threads_of_its_share_of_the_cores(monkeypatch):
    monkeypatch.delenv(cluster.TASK_THREADS)
    monkeypatch.setattr(cluster, "cores", lambda: 2)
    monkeypatch.setenv(cluster.SCHEDULER, "serial")
    assert cluster.task_threads() == 2 and cluster.run(threads, [0, 1], progress=False) == [(2, "2")] * 2
    monkeypatch.setenv(cluster.SCHEDULER, "tcp://10.0.0.1:8786")
    assert cluster.task_threads() == 1  # a worker per core: one each
    monkeypatch.setenv(cluster.TASK_THREADS, "3")
    assert cluster.task_threads() == 3
    monkeypatch.setenv(cluster.TASK_THREADS, "0")
    with pytest.raises(ValueError, match="MMAE_TASK_THREADS must be a positive int, got '0'"):
        cluster.task_threads()


def test_serial_runs_here_in_order_with_one_thread(serial):
    before = torch.get_num_threads()
    assert cluster.run(square, [3, 1, 2], progress=False) == [9, 1, 4]
    assert cluster.run(add, [1, 2], shared=10, progress=False) == [11, 12]
    assert cluster.run(threads, [0, 1], progress=False) == [(1, "1")] * 2
    assert torch.get_num_threads() == before and cluster.workers() == 1
    assert cluster.run(square, [], progress=False) == []
    with pytest.raises(ValueError, match="task 2 failed"):
        cluster.run(fail, [2, 3], progress=False)


@pytest.mark.slow
def test_a_local_cluster_gives_the_serial_results(local):
    assert cluster.workers() == cluster.cores()
    assert cluster.run(square, list(range(7)), progress=False) == [x * x for x in range(7)]
    assert cluster.run(add, [1, 2, 3], shared=100, progress=False) == [101, 102, 103]
    assert cluster.run(threads, [0, 1], progress=False) == [(1, "1")] * 2
    assert cluster.run(nested, [1, 2], progress=False) == [[1, 4], [4, 9]]
    with pytest.raises(ValueError, match="task [34] failed"):  # whichever fails first; the other is cancelled
        cluster.run(fail, [3, 4], progress=False, retries=0)


@pytest.mark.slow
def test_a_task_whose_worker_dies_runs_again(local, tmp_path):
    markers = [tmp_path / "a", tmp_path / "b"]
    assert cluster.run(die_once, markers, progress=False) == ["ran again", "ran again"]
    assert all(m.read_text() == "died" for m in markers)  # each worker died once, mid-task


@pytest.mark.slow
def test_tasks_run_again_when_every_worker_holding_the_shared_data_died(one_worker, tmp_path):
    marker = tmp_path / "died"
    with pytest.warns(RuntimeWarning, match=r"dying: the workers holding the shared data died; 3 tasks run again "
                                            r"\(attempt 2 of 3\)"):
        assert cluster.run(add_after_dying_once, [1, 2, 3], shared=(str(marker), 10), desc="dying",
                           progress=False) == [11, 12, 13]
    assert marker.exists()
    marker.unlink()
    with pytest.raises(Exception, match="cancelled"):  # no attempt left: Dask's own error
        cluster.run(add_after_dying_once, [1, 2], shared=(str(marker), 10), progress=False, retries=0)


@pytest.mark.slow
def test_the_zoo_trained_on_the_cluster_equals_the_serial_zoo(local, tiny_std, tmp_path, monkeypatch):
    from mmae.study import load_or_train_zoo
    from mmae.training import make_config

    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=2, batch_size=32, device="cpu")
    names = ["mmae", "mvae", "contrastive"]
    parallel = load_or_train_zoo(tiny_std, cfg, [0, 1], names, tmp_path / "parallel", progress=False)
    monkeypatch.setenv(cluster.SCHEDULER, "serial")
    alone = load_or_train_zoo(tiny_std, cfg, [0, 1], names, tmp_path / "serial", progress=False)
    assert parallel.key == alone.key
    for name in names:
        for a, b in zip(parallel.models[name], alone.models[name]):
            for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
                assert torch.equal(v, w), (name, k)
    # a serial run reuses what the parallel run cached, and the reverse: the same files, the same keys
    again = load_or_train_zoo(tiny_std, cfg, [0, 1], names, tmp_path / "parallel", progress=False)
    assert again.key == parallel.key


@pytest.mark.slow
def test_the_benchmarks_of_the_cluster_run_tiny(local):
    from mmae.bench import sweeps, training

    table, info = training.run(seeds=2, tiny=True, side_by_side=True)
    assert "trainer, 2 seeds side by side (2 tasks at once)" in table.index and info["workers"] == 2
    table, info = sweeps.run(tiny=True)
    assert list(table.index[:2]) == ["serial (this process, 1 threads)", "local cluster, 2 workers"]
    assert info["tasks"] == 7 and len(info["task_s"]) == 7 and info["workers"] == 2
    model = table[~table["measured"]]
    assert (model["wall_s"].diff().dropna() <= 0).all()  # more workers never slower in the model
    assert model["wall_s"].iloc[-1] == pytest.approx(info["longest_task_s"] + info["overhead_s"])


@pytest.mark.slow
@pytest.mark.notebook
def test_a_chapter_on_the_local_cluster_shows_no_stderr(tmp_path, monkeypatch):
    """The book's default: chapter 7's zoo trained as tasks of a LocalCluster the kernel starts;
    the page shows no warning of Dask's (a port in use, a worker's log)."""
    import json

    import papermill as pm

    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv(cluster.SCHEDULER, "local")
    pm.execute_notebook(root / "notebooks" / "07_comparators.ipynb", tmp_path / "07.ipynb", cwd=root,
                        parameters={"epochs": 1, "seeds": [0, 1], "latent_dim": 8, "tune": False,
                                    "data": "real:cifar10", "artifacts_dir": str(tmp_path / "a")},
                        kernel_name="python3", progress_bar=False)
    cells = json.loads((tmp_path / "07.ipynb").read_text())["cells"]
    noise = [o.get("text", "") for c in cells for o in c.get("outputs", []) if o.get("name") == "stderr"]
    assert not noise
    assert len(list((tmp_path / "a" / "zoo").glob("*_z8.pt"))) == 7  # every trained model, by the workers


@pytest.mark.slow
@pytest.mark.notebook
def test_a_two_run_sweep_on_the_cluster_equals_the_serial_one(local, tmp_path, monkeypatch):
    """Chapter 13's papermill runs as tasks: the runs' latents equal a serial sweep's byte for
    byte, and a sweep reuses what the other wrote (the same run keys)."""
    import numpy as np

    from mmae.study import run_sweep

    root = Path(__file__).resolve().parents[1]
    notebook = root / "notebooks" / "03_train.ipynb"
    base = {"data": "real:cifar10", "epochs": 1, "latent_dim": 4, "seed": 0, "n_seeds": 1, "device": "cpu"}
    grid = {"latent_dim": [4, 8]}
    parallel = run_sweep(notebook, grid, base, tmp_path / "parallel", "fp")
    assert parallel["executed"].tolist() == [True, True]
    monkeypatch.setenv(cluster.SCHEDULER, "serial")
    serial = run_sweep(notebook, grid, base, tmp_path / "serial", "fp")
    for a, b in zip(parallel["folder"], serial["folder"]):
        files = sorted(Path(a).glob("latents_*.npy"))
        assert files, a  # every run wrote its latents
        for f in files:
            assert np.load(f).tobytes() == np.load(Path(b) / f.name).tobytes(), f.name
    again = run_sweep(notebook, grid, base, tmp_path / "parallel", "fp")  # done: nothing runs again
    assert again["executed"].tolist() == [False, False]
