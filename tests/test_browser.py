"""The book in a real browser: a small book built with the project's own _config.yml, cache-key
extension and intro page, opened page by page in headless Chromium by tests/browser.py.

One good book is built once (module fixture) and must show no problem at all; copies of its HTML,
each broken in one way after the build, prove that check_site catches a missing image, a broken
link and a console error; a second small book whose cells warn and print a traceback proves that it
catches what a cell writes to stderr, as myst-nb really renders it.

Chromium comes from Debian (chromium, chromium-driver; .ci/run installs them).  Without it the
tests skip on a developer's machine and fail under CI (CI=true), where the browser is required.
"""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from browser import check_site, chromium, chromium_missing, screenshot

pytestmark = [pytest.mark.notebook, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]

FIGURE = '''\
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, display

x = np.linspace(0, 2 * np.pi, 200)
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(x, np.sin(x), label="sin")
ax.plot(x, np.cos(x), label="cos")
ax.set_title("Two curves")
ax.legend()
fig.savefig("curves.png", dpi=80, bbox_inches="tight")  # saved, then shown inline from the file
plt.close(fig)
display(Image(filename="curves.png"))'''
INLINE_FIGURE = '''\
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(["image", "audio", "text"], [0.55, 0.05, 0.09])
ax.set_ylabel("ARI");'''
TABLE = '''\
import pandas as pd

scores = pd.DataFrame({"ARI": [0.545, 0.053, 0.091], "NMI": [0.72, 0.12, 0.20]},
                      index=pd.Index(["image", "audio", "text"], name="modality"))
print(f"mean reconstruction error {0.125:.3f} (lower case 'error' in an output is fine)")
scores'''


def notebook(path: Path, cells: list[tuple[str, str]]) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(src) if kind == "md"
                                         else nbformat.v4.new_code_cell(src) for kind, src in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def make_project(root: Path, chapters: dict[str, list[tuple[str, str]]]) -> Path:
    """A book laid out like the project's: _config.yml, _toc.yml at the top, book/ the Sphinx source
    with the real intro.md, cache-key extension and _static/, book/notebooks -> ../notebooks."""
    for f in ("_config.yml", "pyproject.toml", "book/_ext/cache_key.py", "book/intro.md"):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, root / f)
    if (ROOT / "book" / "_static").is_dir():  # the book's own CSS/JS, which jupyter-book links on every page
        shutil.copytree(ROOT / "book" / "_static", root / "book" / "_static")
    (root / "notebooks").mkdir()
    for name, cells in chapters.items():
        notebook(root / "notebooks" / f"{name}.ipynb", cells)
    files = "".join(f"      - file: notebooks/{name}\n" for name in chapters)
    toc = f"format: jb-book\nroot: intro\nparts:\n  - caption: Chapters\n    chapters:\n{files}"
    (root / "_toc.yml").write_text(toc)
    (root / "book" / "_toc.yml").symlink_to("../_toc.yml")
    (root / "book" / "notebooks").symlink_to("../notebooks", target_is_directory=True)
    return root


def build(project: Path) -> Path:
    exe = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(exe), "build", "book/"], cwd=project, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return project / "_build" / "html"


@pytest.fixture(scope="module")
def driver():
    missing = chromium_missing()
    if importlib.util.find_spec("selenium") is None:
        missing = "selenium is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs Chromium for the browser tests: {missing}")
        pytest.skip(f"no Chromium on this machine ({missing}); CI (CI=true) fails instead of skipping")
    with chromium() as d:
        yield d


@pytest.fixture(scope="module")
def good_site(tmp_path_factory) -> Path:
    """Intro (the project's own) + a figure chapter + a table chapter, cross-linked, executed at build."""
    project = make_project(tmp_path_factory.mktemp("good_book"), {
        "01_figure": [
            ("md", "# Figures\n\nA figure saved as a PNG and shown inline, then one shown straight from "
                   "matplotlib. Their numbers are in [the tables chapter](02_tables.ipynb), summed up under "
                   "[its totals](02_tables.ipynb#totals); the second figure is [below](#inline-figure)."),
            ("code", FIGURE),
            ("md", "(inline-figure)=\n## An inline figure"),
            ("code", INLINE_FIGURE),
        ],
        "02_tables": [
            ("md", "# Tables\n\nPandas tables rendered as HTML, for the curves of "
                   "[the figures chapter](01_figure.ipynb), as [the introduction](../intro.md) promised.\n\n"
                   "Prose may say Traceback, ValueError: or Warning: and warnings.warn( freely: only cell "
                   "outputs are read for those."),
            ("code", TABLE),
            ("md", "(totals)=\n## Totals"),
            ("code", "scores.sum().to_frame('sum')"),
        ],
    })
    return build(project)


@pytest.fixture(scope="module")
def noisy_site(tmp_path_factory) -> Path:
    """A book whose cells warn (stderr) and print a caught traceback to stdout: it builds fine."""
    project = make_project(tmp_path_factory.mktemp("noisy_book"), {
        "01_noisy": [
            ("md", "# Noisy\n\nOne cell warns, one prints a traceback it caught."),
            ("code", 'import warnings\nwarnings.warn("deliberate warning")\nprint("after the warning")'),
            ("code", 'import sys, traceback\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n'
                     '    traceback.print_exc(file=sys.stdout)'),
        ],
    })
    return build(project)


def broken_copy(site: Path, tmp_path: Path, page: str, edit) -> Path:
    """A copy of the built site with `page` rewritten by `edit(html) -> html` (which must change it)."""
    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    before = (copy / page).read_text(encoding="utf-8")
    after = edit(before)
    assert after != before, f"the edit did not change {page}"
    (copy / page).write_text(after, encoding="utf-8")
    return copy


def kinds(problems: list[str]) -> set[str]:
    return {re.search(r": \[(\w+)\]", p).group(1) for p in problems}


def test_the_good_book_has_no_problem(driver, good_site, tmp_path):
    summary: list[str] = []
    problems = check_site(good_site, summary, driver=driver)
    print("\n".join(["", "[browser] summary:", *summary]))
    assert problems == [], "\n".join(problems)
    pages = {line.split(":")[0]: line for line in summary}
    assert {"intro.html", "notebooks/01_figure.html", "notebooks/02_tables.html"} <= set(pages)
    assert "2 images" in pages["notebooks/01_figure.html"]  # the saved PNG and the inline figure
    assert "3 pages opened" in summary[-1]
    png = screenshot(good_site / "notebooks" / "01_figure.html", tmp_path / "01_figure.png", driver=driver)
    print(f"[browser] screenshot: {png} ({png.stat().st_size} bytes)")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_the_good_book_has_what_the_checks_look_at(good_site):
    """The negative tests below edit these: the cross-references, images and outputs exist."""
    figure = (good_site / "notebooks" / "01_figure.html").read_text()
    tables = (good_site / "notebooks" / "02_tables.html").read_text()
    assert 'href="02_tables.html#totals"' in figure and 'href="#inline-figure"' in figure
    assert figure.count('src="../_images/') == 2 and 'class="cell_output' in figure
    assert 'id="totals"' in tables and "<table" in tables and "reconstruction error" in tables
    assert 'href="../intro.html"' in tables
    for css in (ROOT / "book" / "_static").glob("*.css"):  # the book's own stylesheets are linked
        assert f'href="../_static/{css.name}' in figure, css.name


def test_a_missing_image_is_caught(driver, good_site, tmp_path):
    def edit(html):
        return re.sub(r'src="\.\./_images/[^"]+\.png"', 'src="../_images/missing.png"', html, count=1)
    problems = check_site(broken_copy(good_site, tmp_path, "notebooks/01_figure.html", edit), driver=driver)
    print("\n".join(["[browser] problems found, as intended:", *problems]))
    assert [p for p in problems if "[image]" in p and "missing.png" in p], problems
    assert all(p.startswith("notebooks/01_figure.html: ") for p in problems), problems
    assert kinds(problems) <= {"image", "console"}  # Chromium also logs the failed request


def test_a_broken_link_is_caught(driver, good_site, tmp_path):
    def edit(html):
        html = html.replace('href="02_tables.html#totals"', 'href="02_tables.html#no-such-heading"')
        return html.replace('href="#inline-figure"', 'href="03_missing.html#inline-figure"')
    problems = check_site(broken_copy(good_site, tmp_path, "notebooks/01_figure.html", edit), driver=driver)
    print("\n".join(["[browser] problems found, as intended:", *problems]))
    assert kinds(problems) == {"link"}, problems
    assert len(problems) == 2, problems
    assert any("no-such-heading" in p and "no element with id" in p for p in problems), problems
    assert any("03_missing.html" in p and "does not exist" in p for p in problems), problems


def test_a_console_error_is_caught(driver, good_site, tmp_path):
    def edit(html):
        return html.replace("</body>", '<script>console.error("deliberate console error")</script>\n'
                                       '<script>throw new Error("deliberate uncaught exception")</script>\n</body>')
    problems = check_site(broken_copy(good_site, tmp_path, "intro.html", edit), driver=driver)
    print("\n".join(["[browser] problems found, as intended:", *problems]))
    assert kinds(problems) == {"console"}, problems
    assert all(p.startswith("intro.html: ") for p in problems), problems
    assert any("deliberate console error" in p for p in problems), problems
    assert any("deliberate uncaught exception" in p for p in problems), problems


def test_a_warning_and_a_traceback_in_outputs_are_caught(driver, noisy_site):
    problems = check_site(noisy_site, driver=driver)
    print("\n".join(["[browser] problems found, as intended:", *problems]))
    assert all(p.startswith("notebooks/01_noisy.html: ") for p in problems), problems
    assert kinds(problems) == {"stderr", "output"}, problems
    stderr = [p for p in problems if "[stderr]" in p]
    assert len(stderr) == 1 and "UserWarning: deliberate warning" in stderr[0], problems
    output = [p for p in problems if "[output]" in p]
    assert any("a traceback" in p for p in output), problems  # the stdout cell: caught by its text alone
    assert any("ZeroDivisionError: division by zero" in p for p in output), problems
    assert any("a warnings.warn( call" in p for p in output), problems
    assert any("UserWarning: deliberate warning" in p for p in output), problems
