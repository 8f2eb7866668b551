"""What keeps the book's pages free of noise: paths shown relative to the repository, progress bars
drawn on terminals only, and no "IProgress not found" warning from libraries that import tqdm.auto."""
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mmae import artifacts, progress
from mmae.data import load_bundle, save_bundle

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A repository root (``_config.yml`` and ``mmae/``) as the working directory."""
    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "mmae").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_display_path_is_relative_to_the_repository_then_to_the_working_directory(project, tmp_path_factory):
    assert artifacts.display_path(project / "artifacts" / "mmae_z128.pt") == "artifacts/mmae_z128.pt"
    assert artifacts.display_path(str(project / "artifacts")) == "artifacts"
    assert artifacts.display_path("artifacts/../notebooks/03_train.ipynb") == "notebooks/03_train.ipynb"
    os.chdir(project / "mmae")  # the book runs a notebook in notebooks/: paths still start at the root
    assert artifacts.display_path(project / "artifacts" / "x.pt") == "artifacts/x.pt"
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert artifacts.display_path(elsewhere / "x.pt") == (elsewhere / "x.pt").as_posix()  # outside: as given
    assert artifacts.display_path(elsewhere / "x.pt", root=elsewhere) == "x.pt"
    os.chdir(elsewhere)
    assert artifacts.display_path(elsewhere / "sub" / "y.pt", root=project) == "sub/y.pt"  # inside the cwd


def test_display_path_refuses_what_is_no_path():
    with pytest.raises(TypeError, match="path must be a str or a path, got int 3"):
        artifacts.display_path(3)


def test_a_bundle_in_the_repository_is_named_by_its_relative_folder(project, tiny):
    save_bundle(tiny, project / "artifacts" / "my_bundle")  # no manifest, hence no name of its own
    assert load_bundle(project / "artifacts" / "my_bundle").name == "artifacts/my_bundle"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bar_is_drawn_on_a_terminal_only():
    off = io.StringIO()  # a notebook kernel's stderr is no terminal
    assert list(progress.bar(range(3), file=off, desc="epochs")) == [0, 1, 2] and off.getvalue() == ""
    on = Terminal()
    assert list(progress.bar(range(3), file=on, desc="epochs")) == [0, 1, 2]
    assert "epochs: 100%" in on.getvalue() and "3/3" in on.getvalue()
    never = Terminal()
    assert list(progress.bar(range(3), file=never, show=False)) == [0, 1, 2] and never.getvalue() == ""


def test_bar_refuses_what_it_decides_itself():
    with pytest.raises(TypeError, match="show must be a bool, got str 'yes'"):
        progress.bar(range(3), show="yes")
    with pytest.raises(TypeError, match="disable is set by show \\(and the terminal\\), got disable=False"):
        progress.bar(range(3), disable=False)
    with pytest.raises(TypeError, match="name must be a module name \\(a non-empty str\\), got ''"):
        progress.quiet_import("")


def test_no_module_uses_tqdm_but_through_mmae_progress():
    uses = {p.relative_to(ROOT).as_posix() for p in (ROOT / "mmae").rglob("*.py")
            if p.name != "progress.py" and re.search(r"^\s*(from tqdm|import tqdm)", p.read_text(), re.M)}
    assert uses == set()


KERNEL = """import sys, types, warnings
import IPython  # noqa: F401
sys.modules["ipykernel.zmqshell"] = types.ModuleType("ipykernel.zmqshell")  # what tqdm.auto looks for
warnings.simplefilter("always")
"""


def in_a_kernel(code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh Python that tqdm.auto takes for a Jupyter kernel without ipywidgets."""
    return subprocess.run([sys.executable, "-c", KERNEL + code], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.slow  # imports umap-learn (numba) and transformers: about 10 s
def test_libraries_that_import_tqdm_auto_are_imported_without_its_warning():
    control = in_a_kernel("import tqdm.auto")
    assert "TqdmWarning: IProgress not found" in control.stderr  # what a page showed before
    quiet = in_a_kernel("from mmae.progress import quiet_import\nquiet_import('umap')\nquiet_import('transformers')\n"
                        "import tqdm.auto\nprint('imported')")
    assert quiet.stdout == "imported\n" and "IProgress" not in quiet.stderr, quiet.stderr
    other = in_a_kernel("import pathlib, tempfile\nfolder = tempfile.mkdtemp()\n"
                        "pathlib.Path(folder, 'noisy.py').write_text('import warnings\\nwarnings.warn(\"a real warning\")')\n"
                        "sys.path.insert(0, folder)\nfrom mmae.progress import quiet_import\nquiet_import('noisy')")
    assert "UserWarning: a real warning" in other.stderr, other.stderr  # only tqdm.auto's own warning is silenced
