"""Shared tiny inputs: a LUMA-shaped synthetic set shrunk to a few rows and dimensions.

The suite runs on two xdist workers (pyproject's addopts), and every notebook test starts kernels
of its own: one thread each keeps 2 cores from being oversubscribed (idle threads spin-wait), and
tasks run in the process that asks for them (``MMAE_SCHEDULER=serial``: the xdist workers already
fill the cores; ``tests/test_cluster.py`` and the cluster tests elsewhere start a LocalCluster).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch is imported here and in every kernel started
os.environ.setdefault("MMAE_SCHEDULER", "serial")  # here and in every kernel started
os.environ.setdefault("MMAE_TASK_THREADS", "1")  # every task on one thread: serial and parallel runs compare bit for bit

import pytest  # noqa: E402
import torch  # noqa: E402

from mmae.data import Features, standardize
from mmae.data.synthetic import make_synthetic

TINY_DIMS = {"image": 6, "audio": 10, "text": 8}


@pytest.fixture
def tiny() -> Features:
    x, y = make_synthetic(seed=0, n_train_per_class=4, n_test_per_class=2, n_ood=16, dims=TINY_DIMS)
    return Features(x, y, name="tiny synthetic", synthetic=True)


@pytest.fixture
def tiny_std(tiny) -> Features:
    return standardize(tiny)


def _threads(n: int):
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def two_threads():
    """Real encoders on batches of media use both cores of the CI machine."""
    yield from _threads(2)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors gain nothing from threads, and on a busy machine their spin-waits cost 100x."""
    yield from _threads(1)


@pytest.fixture(scope="module")
def local():
    """A LocalCluster of one worker per core (``MMAE_SCHEDULER=local``), for one module; the
    suite's serial scheduler comes back after it."""
    from mmae import cluster

    old = os.environ.get(cluster.SCHEDULER)
    os.environ[cluster.SCHEDULER] = "local"
    c = cluster.client()
    yield c
    c.close()
    c.cluster.close()
    cluster._CLIENT.clear()
    if old is None:
        os.environ.pop(cluster.SCHEDULER, None)
    else:
        os.environ[cluster.SCHEDULER] = old
