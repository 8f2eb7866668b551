"""The provenance block of every chapter (mmae.report.provenance): exact values on a fake git
repository and a tiny data set, dirty detection, the missing-git fallback, the JSON record written
and read back, the Reproducibility chapter's table and verdict, and every error path."""
import json
import platform
import re
import subprocess
from datetime import datetime, timezone
from importlib import metadata

import pytest

from mmae import params
from mmae.data import standardize
from mmae.report import provenance

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A git repository with one commit of one file."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    git(root, "config", "user.email", "test@example.org")
    git(root, "config", "user.name", "test")
    (root / "a.txt").write_text("one\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_git_state_of_a_clean_then_dirty_checkout(repo):
    sha = git(repo, "rev-parse", "--short", "HEAD")
    assert provenance.git_state(repo) == {"commit": sha, "dirty": False}
    (repo / "a.txt").write_text("two\n")  # a modified tracked file
    assert provenance.git_state(repo) == {"commit": sha, "dirty": True}
    git(repo, "checkout", "-q", "a.txt")
    assert provenance.git_state(repo) == {"commit": sha, "dirty": False}
    (repo / "new.py").write_text("x = 1\n")  # an untracked file may change what a chapter computes
    assert provenance.git_state(repo) == {"commit": sha, "dirty": True}
    (repo / ".gitignore").write_text("new.py\n.gitignore\n")  # ignored files do not count
    assert provenance.git_state(repo) == {"commit": sha, "dirty": False}


def test_without_git_or_outside_a_checkout_the_commit_is_unknown(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # no repository above tmp_path counts
    assert provenance.git_state(plain) == {"commit": "unknown", "dirty": None}
    assert provenance.git_state(tmp_path / "absent") == {"commit": "unknown", "dirty": None}
    monkeypatch.setenv("PATH", str(plain))  # no git executable at all
    assert provenance.git_state(plain) == {"commit": "unknown", "dirty": None}


def test_versions_are_the_installed_ones_and_absent_when_missing():
    found = provenance.versions()
    assert list(found) == ["python", *provenance.DISTS]
    assert found["python"] == platform.python_version()
    assert all(found[d] == metadata.version(d) for d in provenance.DISTS)
    assert provenance.versions(("numpy", "mmae-no-such-distribution")) == {
        "python": platform.python_version(), "numpy": metadata.version("numpy"), "mmae-no-such-distribution": "absent"}


def test_record_holds_exact_values(repo, tiny):
    sha = git(repo, "rev-parse", "--short", "HEAD")
    rec = provenance.record("03_train", tiny, "cpu", root=repo, now=NOW, wall_s=12.34)
    assert rec == {"chapter": "03_train", "commit": sha, "dirty": False,
                   "data": [{"name": "tiny synthetic", "fingerprint": tiny.fingerprint(), "standardized": False}],
                   "versions": provenance.versions(), "device": "cpu", "date": "2026-01-02T03:04:05+00:00",
                   "wall_s": 12.3}
    assert json.loads(json.dumps(rec)) == rec  # JSON-ready as it is


def test_record_takes_a_list_of_data_sets_or_none(tiny):
    both = provenance.record("15_robustness", [tiny, standardize(tiny)], "cpu", now=NOW, wall_s=0)
    assert [(d["name"], d["fingerprint"], d["standardized"]) for d in both["data"]] == [
        ("tiny synthetic", tiny.fingerprint(), False), ("tiny synthetic", standardize(tiny).fingerprint(), True)]
    assert provenance.record("06_summary", None, "cpu", now=NOW, wall_s=0)["data"] == []
    assert provenance.record("06_summary", (), "cpu", now=NOW, wall_s=0)["data"] == []


def test_the_device_auto_is_resolved():
    import torch

    from mmae.device import pick_device

    rec = provenance.record("03_train", None, "auto", now=NOW, wall_s=0)
    auto = pick_device("auto")
    assert rec["device"] == (str(auto) if auto.type != "cuda" else
                             f"cuda:{torch.cuda.current_device()} ({torch.cuda.get_device_name()})")
    assert provenance.describe_device(torch.device("cpu")) == "cpu"


def test_the_block_shows_commit_data_fingerprint_versions_device_date_and_time(tiny):
    rec = {"chapter": "03_train", "commit": "abc1234", "dirty": True,
           "data": [{"name": "tiny synthetic", "fingerprint": "0123456789abcdef" * 4, "standardized": True}],
           "versions": {"python": "3.11.7", "torch": "2.13.0", "umap-learn": "absent"}, "device": "cpu",
           "date": "2026-01-02T03:04:05+00:00", "wall_s": 125.4}
    assert provenance.to_markdown(rec) == (
        "**Provenance of this page**, computed when it was built:\n\n"
        "- commit: `abc1234` (working tree dirty)\n"
        "- data: tiny synthetic: fingerprint `0123456789ab` (standardised)\n"
        "- versions: python 3.11.7, torch 2.13.0, umap-learn absent\n"
        "- device: cpu\n"
        "- built: 2026-01-02T03:04:05+00:00, in 2 min 05 s")
    unknown = provenance.to_markdown(rec | {"commit": "unknown", "dirty": None, "data": []})
    assert "- commit: unknown (git unavailable)\n- data: none\n" in unknown


@pytest.mark.parametrize("seconds, text", [(0, "0.0 s"), (8.24, "8.2 s"), (59.94, "59.9 s"), (60, "1 min 00 s"),
                                           (185, "3 min 05 s"), (3599, "59 min 59 s"), (3725, "1 h 02 min")])
def test_format_seconds(seconds, text):
    assert provenance.format_seconds(seconds) == text


def test_written_record_reads_back(tmp_path, tiny):
    rec = provenance.record("03_train", tiny, "cpu", now=NOW, wall_s=1.25)
    path = provenance.write(rec, tmp_path / "art")
    assert path == tmp_path / "art" / "provenance" / "03_train.json"
    assert [p.name for p in path.parent.iterdir()] == ["03_train.json"]  # no temporary file left behind
    assert json.loads(path.read_text()) == rec
    assert provenance.read(tmp_path / "art") == [rec]
    provenance.write(rec | {"chapter": "99_gone"}, tmp_path / "art")  # a chapter no longer in the book
    assert [r["chapter"] for r in provenance.read(tmp_path / "art")] == ["03_train", "99_gone"]
    assert provenance.read(tmp_path / "art", ["01_x", "03_train"]) == [rec]
    assert provenance.read(tmp_path / "nothing") == []


def test_show_displays_the_block_and_writes_the_record(tmp_path, tiny, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    monkeypatch.setattr(provenance, "_STARTED", ("05_figures", 0.0))
    assert provenance.show("05_figures", tiny, "cpu", tmp_path) is None  # nothing echoed as a cell's value
    rec = json.loads((tmp_path / "provenance" / "05_figures.json").read_text())
    assert rec["chapter"] == "05_figures" and rec["data"][0]["fingerprint"] == tiny.fingerprint()
    assert len(shown) == 1 and shown[0].data == provenance.to_markdown(rec)


def test_the_clock_starts_with_an_explicit_call_once(monkeypatch):
    monkeypatch.delenv("MMAE_NOTEBOOK_LIMIT_S", raising=False)  # no watchdog in this process
    monkeypatch.setattr(provenance, "_STARTED", None)
    params.check({"latent_dim": 8}, "03_train")  # checking starts nothing
    assert provenance._STARTED is None
    with pytest.raises(RuntimeError, match="chapter '03_train' has no wall time: no clock runs; "
                                           "call provenance.start\\('03_train'\\)"):
        provenance.elapsed("03_train")
    first = provenance.start("03_train")
    assert provenance.start("03_train") == first and 0 <= provenance.elapsed("03_train") < 60
    with pytest.raises(RuntimeError, match="the clock runs for '03_train'"):
        provenance.record("04_evaluate", None, "cpu", now=NOW)
    with pytest.raises(ValueError, match="chapter must be a notebook name"):
        provenance.start("../x")


def test_importing_a_module_starts_nothing():
    import os
    import sys

    code = ("import threading, mmae.report.provenance as p, mmae.params, mmae.study, mmae.watchdog\n"
            "print(p._STARTED, [t.name for t in threading.enumerate() if t.name.startswith('mmae')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MMAE_NOTEBOOK_LIMIT_S": "60"})  # a book build's kernel
    assert done.returncode == 0, done.stderr
    assert done.stdout == "None []\n"  # no clock, no watchdog


def test_chapters_lists_the_notebooks(tmp_path):
    (tmp_path / "notebooks").mkdir()
    for name in ("00_a.py", "01_b.py", "16_c.py", "helper.py", "02_d.ipynb"):
        (tmp_path / "notebooks" / name).write_text("")
    assert provenance.chapters(tmp_path) == ["00_a", "01_b", "16_c"]
    assert provenance.chapters(tmp_path, exclude=("16_c",)) == ["00_a", "01_b"]


def records():
    versions = {"python": "3.11.7", "torch": "2.13.0"}
    data = [{"name": "real", "fingerprint": "a" * 64, "standardized": False}]
    return [{"chapter": c, "commit": "abc1234", "dirty": False, "data": data, "versions": versions, "device": "cpu",
             "date": "2026-01-02T03:04:05+00:00", "wall_s": 1.0} for c in ("01_x", "02_y")]


def test_verdict_when_everything_agrees():
    assert provenance.verdict(records(), ["01_x", "02_y"]) == (
        "- **Commit**: all 2 chapters were built from `abc1234`, with a clean working tree.\n"
        "- **Data**: real, as loaded: one fingerprint `aaaaaaaaaaaa` (01_x, 02_y).\n"
        "- **Environment**: python 3.11.7, torch 2.13.0, in every chapter.\n"
        "\n**Same commit: yes. Clean working tree: yes. Same data (one fingerprint per data set): yes. "
        "Every chapter recorded: yes.**")


def test_verdict_names_what_differs():
    first, second = records()
    second = second | {"commit": "def5678", "dirty": True, "versions": {"python": "3.12.1", "torch": "2.13.0"},
                       "data": [{"name": "real", "fingerprint": "b" * 64, "standardized": False}]}
    text = provenance.verdict([first, second], ["01_x", "02_y", "03_z"])
    assert text.splitlines()[:4] == [
        "- **No record** for 03_z: build it with the same `artifacts_dir`.",
        "- **Commit**: the chapters were built from 2 states of the code: `abc1234` (01_x); `def5678` (working tree "
        "dirty) (02_y). A chapter served from the build cache keeps the commit it was executed at.",
        "- **Data**: real, as loaded: **2 different fingerprints**: `aaaaaaaaaaaa` (01_x); `bbbbbbbbbbbb` (02_y).",
        "- **Environment**: 2 different sets of versions: python 3.11.7, torch 2.13.0 (01_x); python 3.12.1, "
        "torch 2.13.0 (02_y)."]
    assert text.endswith("**Same commit: no. Clean working tree: no. Same data (one fingerprint per data set): no. "
                         "Every chapter recorded: no.**")
    unknown = [r | {"commit": "unknown", "dirty": None} for r in records()]
    assert "**Same commit: no. Clean working tree: no." in provenance.verdict(unknown)
    assert provenance.verdict([]) == "No provenance record yet: build the chapters first."


def test_table_has_one_row_per_chapter():
    table = provenance.table(records())
    assert list(table.index) == ["01_x", "02_y"]
    assert list(table.columns) == ["commit", "data", "device", "built (UTC)", "wall time", "python", "torch"]
    assert table.loc["01_x", "data"] == "real: fingerprint aaaaaaaaaaaa" and table.loc["02_y", "wall time"] == "1.0 s"
    assert provenance.table([]).empty


@pytest.mark.parametrize("chapter", ["", "../03_train", "03 train", ".hidden", 3, None])
def test_a_bad_chapter_name_is_refused(chapter):
    with pytest.raises(ValueError, match="chapter must be a notebook name such as '03_train'.*got " + re.escape(repr(chapter))):
        provenance.record(chapter, None, "cpu", now=NOW, wall_s=0)


def test_bad_arguments_are_refused(tiny):
    with pytest.raises(ValueError, match="now must be a timezone-aware datetime \\(UTC\\), got the naive 2026-01-02T03:04:05"):
        provenance.record("03_train", None, "cpu", now=NOW.replace(tzinfo=None), wall_s=0)
    for wall in (-1.0, True, "1 s", float("nan")):
        with pytest.raises(ValueError, match=f"wall_s must be a number of seconds >= 0, got {wall!r}"):
            provenance.record("03_train", None, "cpu", now=NOW, wall_s=wall)
    with pytest.raises(TypeError, match="features must be a mmae.data.Features .*got str"):
        provenance.record("03_train", "real", "cpu", now=NOW, wall_s=0)
    with pytest.raises(TypeError, match="features\\[1\\] must be a mmae.data.Features .*got dict"):
        provenance.record("03_train", [tiny, {}], "cpu", now=NOW, wall_s=0)
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got 'tpu'"):
        provenance.record("03_train", None, "tpu", now=NOW, wall_s=0)


def test_bad_records_are_refused(tmp_path):
    with pytest.raises(ValueError, match="rec must hold the fields .*; missing \\['device', 'date', 'wall_s'\\]"):
        provenance.write({k: v for k, v in records()[0].items() if k not in ("device", "date", "wall_s")}, tmp_path)
    folder = tmp_path / "provenance"
    folder.mkdir()
    (folder / "03_train.json").write_text('{"chapter": "03_train"')
    with pytest.raises(ValueError, match="03_train.json: expected a provenance record \\(JSON\\), got an unreadable "
                                         "file \\(JSONDecodeError\\); rebuild chapter 03_train"):
        provenance.read(tmp_path)
    (folder / "03_train.json").write_text('{"chapter": "03_train", "commit": "abc1234"}')
    with pytest.raises(ValueError, match="03_train.json: expected the fields .*, missing \\['dirty', 'data', "
                                         "'versions', 'device', 'date', 'wall_s'\\]; rebuild chapter 03_train"):
        provenance.read(tmp_path)
    (folder / "03_train.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="missing \\['chapter', 'commit'"):
        provenance.read(tmp_path)
