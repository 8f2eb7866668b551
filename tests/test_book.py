"""The book's configuration, on a one-notebook book that uses the project's own _config.yml and
cache-key extension: a failing cell fails `jupyter-book build`, and a code change clears the cache."""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


def build(project: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run([str(exe), "build", "book/"], cwd=project, capture_output=True, text=True, timeout=300)


def write_notebook(path: Path, code: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Page"), nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path) -> Path:
    for f in ("_config.yml", "pyproject.toml", "book/_ext/cache_key.py"):
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, tmp_path / f)
    (tmp_path / "mmae").mkdir()
    (tmp_path / "mmae" / "x.py").write_text("VALUE = 1\n")
    (tmp_path / "book" / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: page\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    write_notebook(tmp_path / "book" / "page.ipynb", "print(6 * 7)")
    return tmp_path


def test_good_build_then_code_change_clears_the_cache(project):
    first = build(project)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    assert "42" in (project / "_build" / "html" / "page.html").read_text()
    assert "cleared" in first.stdout + first.stderr
    again = build(project)
    assert "unchanged: keeping" in again.stdout + again.stderr
    (project / "mmae" / "x.py").write_text("VALUE = 2\n")
    changed = build(project)
    assert changed.returncode == 0 and "changed (key" in changed.stdout + changed.stderr


def test_a_failing_cell_fails_the_build(project):
    write_notebook(project / "book" / "page.ipynb", "raise RuntimeError('deliberately broken cell')")
    result = build(project)
    assert result.returncode != 0
    assert "deliberately broken cell" in result.stdout + result.stderr
