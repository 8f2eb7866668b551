"""Where independent tasks run: Dask, the one entry point to it, and nothing else that knows.

:func:`run` maps a function over tasks (a trained model, a data set of chapter 15, a papermill
run, an extraction chunk) and returns their results in order. Where they run is decided here,
once per process, by ``MMAE_SCHEDULER``:

==========================  ===================================================================
``local``                   a Dask ``LocalCluster`` started by this process: one worker process
                            per core, one torch thread each (the scheduler runs in this process)
``tcp://host:8786``         the Dask scheduler at that address: a cluster started by
                            ``dask-scheduler`` / ``dask-worker``, dask-jobqueue (Slurm, PBS, ...)
                            or dask-kubernetes; its workers need this package, the data, and the
                            artifacts folder on a shared file system
``serial``                  this process, one task after another (what a single task always does)
unset                       ``local`` on a machine of more than :data:`SMALL` cores, ``serial`` on
                            one of :data:`SMALL` or fewer (measured: see :data:`SMALL`)
==========================  ===================================================================

A task's floating-point result depends on how many threads compute it (torch and BLAS sum in
another order), not on where it runs: a task runs with :func:`task_threads` torch, BLAS and
OpenMP threads, ``MMAE_TASK_THREADS`` when set, else the cores divided among the tasks that run at
once (all of them in ``serial``, one in a worker). With ``MMAE_TASK_THREADS`` fixed (the tests fix
1), a parallel run computes bit for bit what a serial run computes, and either reuses what the
other cached (same run keys; with other thread counts the cache is reused too, its last bits
those of the run that wrote it). A task whose worker dies is run again elsewhere (Dask reschedules
it; ``retries`` more for an exception). The tasks a task starts run inside it, one after another.
A command's ``--scheduler`` is :func:`option` and :func:`scheduler`.

Worker processes import the main module: a script that calls the package must guard its work
with ``if __name__ == "__main__":`` (notebooks and ``python -m`` commands need nothing).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import warnings

from mmae.progress import bar

SCHEDULER = "MMAE_SCHEDULER"  # the environment variable that says where tasks run
WHERE = "'local', 'serial' or a scheduler address such as tcp://host:8786"  # the values of MMAE_SCHEDULER
TASK_THREADS = "MMAE_TASK_THREADS"  # the environment variable that fixes a task's threads
SMALL = 2
"""Up to this many cores, tasks run in this process by default. Measured on 2 cores (AMD EPYC, a
VM; ``python -m mmae.bench --sweeps``): chapter 7's zoo at 2 epochs took 80 s serially with 2
threads, 112 s serially with 1 thread per task, 142 s on a 2-worker LocalCluster (each task twice
as slow beside another: the vmapped steps share memory bandwidth) and 83 s with every seed a task
of its own; two workers there gain nothing over one process with both cores."""
_CLIENT: dict = {}  # the process's client, by scheduler address
_LOCK = threading.Lock()
_INSIDE = threading.local()  # .task is True while this thread runs a task


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")  # the address schemes Dask's comms know (distributed.comm)


def cores() -> int:
    """The cores this process may use (its CPU affinity where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check(value: str, name: str = SCHEDULER) -> str:
    """``value`` stripped, when it says where tasks run: ``"local"``, ``"serial"`` or an address
    (``tcp://host:8786``); else a ValueError naming ``name`` (TypeError for a non-string)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__} {value!r}")
    if value.strip() not in ("local", "serial") and value.strip().split("://")[0] not in SCHEMES:
        raise ValueError(f"{name} must be {WHERE} (schemes: {', '.join(SCHEMES)}), got {value!r}")
    return value.strip()


def default() -> str:
    """Where tasks run when ``MMAE_SCHEDULER`` is unset: ``serial`` on :data:`SMALL` cores or fewer."""
    return "local" if cores() > SMALL else "serial"


def address() -> str:
    """Where tasks run: ``MMAE_SCHEDULER`` (:func:`default` when unset); an unknown word is an error."""
    return check(os.environ.get(SCHEDULER, "").strip() or default())


def task_threads() -> int:
    """The torch, BLAS and OpenMP threads of every task: ``MMAE_TASK_THREADS`` when set (a positive
    int), else the cores shared among the tasks that run at once: all of them in ``serial``, one
    where a worker runs one task per core."""
    value = os.environ.get(TASK_THREADS, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{TASK_THREADS} must be a positive int, got {value!r}")
        return int(value)
    return cores() if address() == "serial" else 1


def option(value: str) -> str:
    """A command's ``--scheduler`` (argparse's ``type``): :func:`check`, its error an argparse error."""
    import argparse

    try:
        return check(value, "--scheduler")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {WHERE}, got {value!r}") from None


@contextlib.contextmanager
def scheduler(value: str | None, default: str = "local"):
    """Send the tasks of the block to ``value`` (what ``MMAE_SCHEDULER=value`` says, checked by
    :func:`check` first; None: ``MMAE_SCHEDULER`` when set, else ``default``), then restore
    ``MMAE_SCHEDULER`` as it was: a command's ``--scheduler``. Yields where the tasks go."""
    value = value if value is not None else os.environ.get(SCHEDULER, "").strip() or default
    value, old = check(value), os.environ.get(SCHEDULER)
    os.environ[SCHEDULER] = value
    try:
        yield value
    finally:
        if old is None:
            os.environ.pop(SCHEDULER, None)
        else:
            os.environ[SCHEDULER] = old


def client():
    """The Dask client of this process for :func:`address` (None for ``serial``), started once."""
    where = address()
    if where == "serial":
        return None
    with _LOCK:
        if where not in _CLIENT:
            from distributed import Client, LocalCluster

            if where == "local":
                cluster = LocalCluster(n_workers=cores(), threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)  # a free port: no clash
                _CLIENT[where] = Client(cluster)
            else:
                _CLIENT[where] = Client(where)
        return _CLIENT[where]


def workers() -> int:
    """How many tasks run at once where :func:`run` sends them (1 for ``serial``)."""
    c = client()
    return 1 if c is None else max(1, sum(w["nthreads"] for w in c.scheduler_info()["workers"].values()))


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch threads, and ``n`` OpenMP threads in the processes it starts
    (a papermill kernel), then restore what was before."""
    import torch

    old, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env


def current_threads() -> int:
    """The threads the running task computes with (:func:`task_threads` outside a task)."""
    return getattr(_INSIDE, "threads", None) or task_threads()


def _task(fn, shared, item, threads: int):
    """One task as it runs anywhere: with ``threads`` torch threads and as many BLAS and OpenMP
    threads (threadpoolctl: numpy's matrix products sum in another order on another count, and a
    Dask worker starts with one); the tasks it starts run in it."""
    from threadpoolctl import threadpool_limits

    outer = getattr(_INSIDE, "task", False), getattr(_INSIDE, "threads", None)
    _INSIDE.task, _INSIDE.threads = True, threads
    try:
        with torch_threads(threads), threadpool_limits(limits=threads):
            return fn(item) if shared is None else fn(shared, item)
    finally:
        _INSIDE.task, _INSIDE.threads = outer


def run(fn, items: list, *, shared=None, desc: str = "tasks", retries: int = 2, progress: bool = True) -> list:
    """``fn(item)`` (or ``fn(shared, item)``) for every item, as independent tasks; the results
    in the order of ``items``.

    Parameters
    ----------
    fn : callable
        A module-level function (workers import it by name); its result must pickle.
    items : list
        One task each. A single task, or ``MMAE_SCHEDULER=serial``, runs in this process.
    shared : object, optional
        What every task reads (features, say): sent to each worker once, not once per task.
    desc : str
        The label of the progress bar.
    retries : int
        Extra attempts of a task that raised; a task whose worker died is rescheduled by Dask. When
        every worker holding ``shared`` died (it cannot be recomputed), the unfinished tasks are
        submitted again with ``shared`` scattered anew, up to ``retries`` times, with a warning.
    progress : bool
        Show a progress bar of the tasks done.
    """
    items, inside = list(items), getattr(_INSIDE, "task", False)
    threads = current_threads()  # decided here, once, for every task of this call
    c = None if len(items) < 2 or inside else client()
    if c is None:
        return [_task(fn, shared, item, threads) for item in bar(items, desc=desc, show=progress and len(items) > 1)]
    from distributed.client import FutureCancelledError

    results, left = [None] * len(items), list(range(len(items)))
    with bar(total=len(items), desc=desc, show=progress) as done:
        for attempt in range(retries + 1):
            try:
                _gather(c, fn, shared, items, left, threads, retries, results, done)
                return results
            except FutureCancelledError:  # every worker that held ``shared`` died: scatter it again
                if attempt == retries:
                    raise
                warnings.warn(f"{desc}: the workers holding the shared data died; "
                              f"{len(left)} tasks run again (attempt {attempt + 2} of {retries + 1})",
                              RuntimeWarning, stacklevel=2)


def _gather(c, fn, shared, items: list, left: list, threads: int, retries: int, results: list, done) -> None:
    """Submit the tasks ``left``, fill ``results`` as each ends and take it out of ``left``."""
    from distributed import as_completed

    shared_ = None if shared is None else c.scatter(shared, broadcast=True, hash=False)
    futures = {c.submit(_task, fn, shared_, items[i], threads, pure=False, retries=retries): i for i in left}
    try:
        for future in as_completed(futures):
            i = futures[future]
            results[i] = future.result()
            left.remove(i)
            done.update()
    finally:
        c.cancel(list(futures))  # after a failure, the others stop; after success, their memory is freed
