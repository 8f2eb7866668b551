"""A wall-clock limit on a whole notebook, kept inside its kernel.

The book's cells have no time limit of their own (``execute: timeout: -1`` in ``_config.yml``): on a
slow machine one training cell may take an hour, and that is not an error. A *hung* notebook must
still fail the build rather than hold it forever. So the book's Sphinx extension
(``book/_ext/cache_key.py``) exports the ``_config.yml`` value ``mmae_notebook_limit_s`` as the
environment variable ``MMAE_NOTEBOOK_LIMIT_S``, which every kernel of the build inherits, and
:func:`mmae.report.provenance.start`, which every chapter calls in its first code cell, calls
:func:`start` (importing this module starts nothing).

When the limit has passed, the watchdog (a daemon thread) writes ``notebook NAME exceeded
MMAE_NOTEBOOK_LIMIT_S = N s`` to stderr (in a kernel: the running cell's output, which the build's
error report quotes), then sends SIGINT to the main thread: the running cell fails with
``KeyboardInterrupt`` and ``raise_on_error: true`` fails the build. It interrupts again every
``repeat_s`` seconds while the kernel lives (an interrupt that lands between two cells is lost), and
a kernel still alive ``kill_after_s`` seconds after the first interrupt (stuck in code that never
sees a signal) is ended, which the build reports as a dead kernel. Without the variable (papermill,
Jupyter, the tests) nothing is started.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping

ENV = "MMAE_NOTEBOOK_LIMIT_S"
EXIT_CODE = 124  # what timeout(1) returns: the kernel was ended for running past its limit
_RUNNING: dict[str, threading.Event] = {}  # notebook -> the Event that stops its watchdog (one per kernel)


def limit_from_environ(environ: Mapping[str, str] | None = None) -> float | None:
    """The limit in seconds named by ``MMAE_NOTEBOOK_LIMIT_S`` in ``environ`` (default
    ``os.environ``); None when it is unset, empty or <= 0 (no limit)."""
    value = (os.environ if environ is None else environ).get(ENV, "").strip()
    if not value:
        return None
    try:
        limit = float(value)
    except ValueError:
        raise ValueError(f"{ENV} must be a number of seconds (<= 0: no limit), got {value!r}") from None
    if not math.isfinite(limit):
        raise ValueError(f"{ENV} must be a finite number of seconds (<= 0: no limit), got {value!r}")
    return limit if limit > 0 else None


def message(notebook: str, limit_s: float) -> str:
    """``"notebook 03_train exceeded MMAE_NOTEBOOK_LIMIT_S = 7200 s"``."""
    return f"notebook {notebook} exceeded {ENV} = {limit_s:g} s"


def interrupt_main() -> None:
    """Send SIGINT to the main thread: unlike :func:`_thread.interrupt_main`, the signal also ends
    a blocking call there (``time.sleep``, a wait on a lock or a socket), not only Python code."""
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def _end_process() -> None:
    os._exit(EXIT_CODE)


def _say(text: str, console: bool = False) -> None:
    """``text`` on ``sys.stderr``, flushed: in a kernel, the running cell's output (ipykernel's flush
    returns once the message is sent, before the interrupt), which nbclient's error report quotes.
    ``console`` also writes it to the process's own stderr, the build's console, for a kernel about to
    be ended, whose outputs are lost."""
    streams = [sys.stderr] + ([sys.__stderr__] if console and sys.__stderr__ is not sys.stderr else [])
    for stream in streams:
        try:
            print(text, file=stream, flush=True)
        except (AttributeError, OSError, ValueError):  # no stream, or a closed one: interrupt all the same
            pass


def _watch(notebook: str, limit_s: float, stop: threading.Event, repeat_s: float, kill_after_s: float,
           interrupt: Callable[[], None], end: Callable[[], None]) -> None:
    try:
        if stop.wait(limit_s):
            return
        text = message(notebook, limit_s)
        _say(text)
        first = time.monotonic()
        while True:
            interrupt()
            if stop.wait(repeat_s):
                return
            if time.monotonic() - first >= kill_after_s:
                _say(f"{text}; still running {kill_after_s:g} s after the interrupt: ending the kernel", console=True)
                end()
                return
    finally:
        if _RUNNING.get(notebook) is stop:
            del _RUNNING[notebook]


def start(notebook: str, limit_s: float | None = None, *, repeat_s: float = 10.0, kill_after_s: float = 120.0,
          interrupt: Callable[[], None] = interrupt_main, end: Callable[[], None] = _end_process
          ) -> threading.Event | None:
    """Start the watchdog of ``notebook`` (once per process); return the Event that stops it, or
    None when there is no limit.

    Parameters
    ----------
    notebook : str
        The notebook's name, as the message gives it.
    limit_s : float or None
        Seconds from now; None reads ``MMAE_NOTEBOOK_LIMIT_S`` (:func:`limit_from_environ`).
    repeat_s, kill_after_s : float
        Interrupt again every ``repeat_s`` seconds; end the process ``kill_after_s`` seconds after
        the first interrupt if it still runs.
    interrupt, end : callable
        What interrupting and ending mean (tests replace them); default SIGINT to the main thread,
        and ``os._exit(124)``.
    """
    if not isinstance(notebook, str) or not notebook:
        raise ValueError(f"notebook must be a non-empty str, got {notebook!r}")
    limit_s = limit_from_environ() if limit_s is None else limit_s
    if limit_s is None:
        return None
    for name, value in (("limit_s", limit_s), ("repeat_s", repeat_s), ("kill_after_s", kill_after_s)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    running = next((e for e in _RUNNING.values() if not e.is_set()), None)
    if running is not None:  # one kernel, one chapter: a second start keeps the first clock
        return running
    stop = _RUNNING[notebook] = threading.Event()
    threading.Thread(target=_watch, args=(notebook, float(limit_s), stop, repeat_s, kill_after_s, interrupt, end),
                     name=f"mmae-watchdog-{notebook}", daemon=True).start()
    return stop
