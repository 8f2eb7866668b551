"""The per-notebook wall limit: mmae.watchdog (kernel-free, with real SIGINTs in child processes),
the Sphinx config value that exports it (book/_ext/cache_key.py), _config.yml, and a one-notebook
book whose hung notebook fails the build with the watchdog's message."""
import importlib.util
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
import yaml

from mmae import watchdog

ROOT = Path(__file__).resolve().parents[1]
ENV = "MMAE_NOTEBOOK_LIMIT_S"


def child(code: str, limit: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python, with MMAE_NOTEBOOK_LIMIT_S = ``limit`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != ENV} | ({ENV: limit} if limit is not None else {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


@pytest.mark.parametrize("value, limit", [(None, None), ("", None), ("  ", None), ("0", None), ("-1", None),
                                          ("7200", 7200.0), (" 2.5 ", 2.5), ("1e3", 1000.0)])
def test_limit_from_environ(value, limit):
    assert watchdog.limit_from_environ({} if value is None else {ENV: value}) == limit


@pytest.mark.parametrize("value", ["soon", "2h", "inf", "nan"])
def test_a_limit_that_is_no_number_is_refused(value):
    with pytest.raises(ValueError, match=f"MMAE_NOTEBOOK_LIMIT_S must be a (finite )?number of seconds \\(<= 0: no "
                                         f"limit\\), got '{value}'"):
        watchdog.limit_from_environ({ENV: value})


def test_message():
    assert watchdog.message("03_train", 7200.0) == "notebook 03_train exceeded MMAE_NOTEBOOK_LIMIT_S = 7200 s"
    assert watchdog.message("x", 1.5) == "notebook x exceeded MMAE_NOTEBOOK_LIMIT_S = 1.5 s"


def test_bad_arguments_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="notebook must be a non-empty str, got ''"):
        watchdog.start("", 10)
    for name in ("limit_s", "repeat_s", "kill_after_s"):
        for bad in (0, -1.0, True, "10", float("inf")):
            with pytest.raises(ValueError, match=f"{name} must be a finite number of seconds > 0, got {bad!r}"):
                watchdog.start("nb", **{"limit_s": 10, name: bad})
    monkeypatch.setenv(ENV, "soon")
    with pytest.raises(ValueError, match="MMAE_NOTEBOOK_LIMIT_S must be a number of seconds"):
        watchdog.start("nb")


def test_no_limit_no_watchdog(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    before = threading.active_count()
    assert watchdog.start("nb") is None and threading.active_count() == before
    monkeypatch.setenv(ENV, "0")
    assert watchdog.start("nb") is None and threading.active_count() == before


def test_past_the_limit_it_says_so_interrupts_again_then_ends(capsys):
    """In-process, with the interrupt and the end replaced: the order and timing of what it does."""
    interrupts, ended, t0 = [], threading.Event(), time.monotonic()
    stop = watchdog.start("slow_nb", 0.2, repeat_s=0.1, kill_after_s=0.45, end=ended.set,
                          interrupt=lambda: interrupts.append(time.monotonic()))
    assert watchdog.start("other_nb", 100) is stop  # one watchdog per process: the first one keeps running
    assert ended.wait(10), "the watchdog never ended the process"
    time.sleep(0.1)
    gaps = [b - a for a, b in zip(interrupts, interrupts[1:])]
    assert interrupts[0] - t0 >= 0.2 and len(interrupts) >= 2 and min(gaps) >= 0.1  # again every repeat_s
    assert interrupts[-1] - interrupts[0] < 0.45  # ... until kill_after_s past the first: then it ended
    err = capsys.readouterr().err.splitlines()
    assert err == ["notebook slow_nb exceeded MMAE_NOTEBOOK_LIMIT_S = 0.2 s",
                   "notebook slow_nb exceeded MMAE_NOTEBOOK_LIMIT_S = 0.2 s; still running 0.45 s after the interrupt: "
                   "ending the kernel"]
    assert "slow_nb" not in watchdog._RUNNING  # the thread has finished and let go of its slot


def test_a_stopped_watchdog_does_nothing():
    interrupts = []
    stop = watchdog.start("quick_nb", 0.3, interrupt=lambda: interrupts.append(1))
    stop.set()  # the notebook finished in time
    time.sleep(0.6)
    assert interrupts == []
    fresh = watchdog.start("next_nb", 100, interrupt=lambda: interrupts.append(1))
    assert fresh is not stop  # a stopped watchdog no longer holds the process's slot
    fresh.set()


def test_it_interrupts_a_sleeping_main_thread():
    """A real SIGINT in a child process: 1 s limit, a main thread sleeping in a loop."""
    code = ("import time\nfrom mmae import watchdog\nwatchdog.start('sleepy', 1)\nt0 = time.monotonic()\n"
            "try:\n    while True:\n        time.sleep(30)\nexcept KeyboardInterrupt:\n"
            "    print(f'interrupted after {time.monotonic() - t0:.1f} s')\n")
    done = child(code)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "notebook sleepy exceeded MMAE_NOTEBOOK_LIMIT_S = 1 s\n"
    seconds = float(done.stdout.split()[2])
    assert done.stdout.startswith("interrupted after ") and 1.0 <= seconds < 5.0  # not after the 30 s sleep


def test_a_main_thread_that_ignores_the_interrupt_is_ended():
    code = ("import time\nfrom mmae import watchdog\nwatchdog.start('stuck', 0.5, repeat_s=0.2, kill_after_s=1)\n"
            "while True:\n    try:\n        time.sleep(30)\n    except KeyboardInterrupt:\n        pass\n")
    done = child(code)
    assert done.returncode == watchdog.EXIT_CODE
    assert done.stderr.splitlines() == ["notebook stuck exceeded MMAE_NOTEBOOK_LIMIT_S = 0.5 s",
                                        "notebook stuck exceeded MMAE_NOTEBOOK_LIMIT_S = 0.5 s; still running 1 s after "
                                        "the interrupt: ending the kernel"]


def test_provenance_start_starts_the_watchdog_only_under_the_variable():
    code = ("import time\nfrom mmae.report import provenance\nprovenance.start('03_train')\n"
            "try:\n    time.sleep(20)\n    print('slept')\nexcept KeyboardInterrupt:\n    print('interrupted')\n")
    limited = child(code, limit="1")
    assert limited.stdout == "interrupted\n"
    assert "notebook 03_train exceeded MMAE_NOTEBOOK_LIMIT_S = 1 s\n" in limited.stderr
    unlimited = child(code.replace("time.sleep(20)", "time.sleep(2)"))
    assert unlimited.stdout == "slept\n" and "exceeded" not in unlimited.stderr


def load_extension():
    spec = importlib.util.spec_from_file_location("cache_key", ROOT / "book" / "_ext" / "cache_key.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_extension_declares_the_limit_and_exports_it(monkeypatch):
    ext = load_extension()
    values, hooks = [], []
    app = SimpleNamespace(add_config_value=lambda *a: values.append(a), connect=lambda *a, **k: hooks.append(a[1]))
    ext.setup(app)
    assert ("mmae_notebook_limit_s", ext.LIMIT_DEFAULT, "", [int, float]) in values
    assert ext._export_limit in hooks
    monkeypatch.delenv(ENV, raising=False)
    ext._export_limit(None, SimpleNamespace(mmae_notebook_limit_s=7200))
    assert os.environ[ENV] == "7200" and watchdog.limit_from_environ() == 7200.0
    ext._export_limit(None, SimpleNamespace(mmae_notebook_limit_s=90.5))
    assert os.environ[ENV] == "90.5"
    ext._export_limit(None, SimpleNamespace(mmae_notebook_limit_s=0))  # <= 0: no limit, nothing exported
    assert ENV not in os.environ


@pytest.mark.parametrize("bad", ["2h", True, None, float("nan")])
def test_the_extension_refuses_a_limit_that_is_no_number(bad):
    from sphinx.errors import ConfigError

    with pytest.raises(ConfigError, match=f"mmae_notebook_limit_s must be a number of seconds \\(<= 0: no limit\\), "
                                          f"got {type(bad).__name__} {bad!r}"):
        load_extension()._export_limit(None, SimpleNamespace(mmae_notebook_limit_s=bad))


def test_config_has_no_cell_timeout_and_a_notebook_limit():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] == -1  # a slow but healthy cell never fails the build
    limit = config["sphinx"]["config"]["mmae_notebook_limit_s"]
    assert isinstance(limit, int) and limit > 0
    assert "cache_key" in config["sphinx"]["local_extensions"]  # the extension that exports it


@pytest.mark.slow
@pytest.mark.notebook
def test_a_hung_notebook_fails_the_build_with_the_watchdogs_message(tmp_path):
    """A one-notebook book with the project's _config.yml and extension, its limit set to 3 s: the
    notebook sleeps for 10 min in one cell, and the build fails within seconds of the limit."""
    config = (ROOT / "_config.yml").read_text()
    assert config.count("mmae_notebook_limit_s: ") == 1
    (tmp_path / "_config.yml").write_text(config.replace(
        f"mmae_notebook_limit_s: {yaml.safe_load(config)['sphinx']['config']['mmae_notebook_limit_s']}",
        "mmae_notebook_limit_s: 3"))
    for f in ("pyproject.toml", "book/_ext/cache_key.py"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    (tmp_path / "mmae").mkdir()  # with _config.yml, marks tmp_path as the repository root for mmae.params
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "page.py").write_text('# the source of page.ipynb\n\n# %% tags=["parameters"]\nseconds = 600\n')
    (tmp_path / "book" / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    cells = [nbformat.v4.new_markdown_cell("# Page"),
             nbformat.v4.new_code_cell("seconds = 600", metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell('from mmae.report import provenance\n\nprovenance.start("page")'),
             nbformat.v4.new_code_cell("import time\n\ntime.sleep(seconds)")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "book" / "page.ipynb")
    t0 = time.monotonic()
    exe = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(exe), "build", "book/"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != ENV})
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "notebook page exceeded MMAE_NOTEBOOK_LIMIT_S = 3 s" in out, out[-3000:]
    assert "KeyboardInterrupt" in out and "time.sleep(seconds)" in out  # the cell that was running failed
    failure = out[out.index("CellExecutionError: An error occurred"):]  # nbclient's report of the failed cell
    assert failure.count("----- stderr -----\nnotebook page exceeded MMAE_NOTEBOOK_LIMIT_S = 3 s\n") == 1
    assert time.monotonic() - t0 < 240  # the 600 s cell did not run to its end
