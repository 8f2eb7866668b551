"""Invalidate the book's jupyter-cache when the ``mmae`` code or environment changes.

jupyter-cache keys a notebook on its own code cells only, so an edit to ``mmae/``
or a new torch would be served from stale outputs.  At ``config-inited`` (before
Sphinx loads its environment and myst-nb executes anything) we sha256 the
``mmae/**/*.py`` files, the committed real media bundle (``mmae/media/bundle/``, the
default data) and ``pyproject.toml`` (path + bytes), the
python/torch/numpy/scikit-learn versions, the data folder named by ``$MMAE_DATA``
(its files' names, sizes and mtimes), and the code cells of the chapter
notebooks (04 reads files written by 03, so any notebook's code change re-runs
them all; set ``NOTEBOOKS = ()`` to opt out).  If that differs from the stamp
``<jupyter cache>/mmae_code_key.txt`` the cache is deleted and the stamp rewritten.
The key is also the ``env``-rebuild config value ``mmae_code_key``, so Sphinx then
re-reads (hence re-executes) every page: deleting the cache alone would not make
it re-read notebooks whose files are unchanged.

It also declares ``mmae_notebook_limit_s`` (set in ``_config.yml`` under ``sphinx: config:``), the
wall-clock limit of one notebook, and exports it as ``MMAE_NOTEBOOK_LIMIT_S`` before any kernel
starts: every chapter's ``provenance.start`` then runs a watchdog (``mmae.watchdog``) that fails a
notebook still running after that many seconds. ``<= 0`` exports nothing: no limit.
"""
import hashlib, json, math, os, platform, shutil
from importlib import metadata
from pathlib import Path
from sphinx.errors import ConfigError
from sphinx.util import logging

WATCH = ("mmae/**/*.py", "mmae/media/bundle/*", "pyproject.toml", "book/benchmarks/*.json")  # relative to the repository root
NOTEBOOKS = ("notebooks/[0-9][0-9]_*.ipynb", "notebooks/performance.ipynb")  # only code cells count (like jupyter-cache)
DISTS = ("torch", "numpy", "scikit-learn")
LIMIT_ENV = "MMAE_NOTEBOOK_LIMIT_S"  # read by mmae.watchdog in every kernel
LIMIT_DEFAULT = 7200  # seconds; _config.yml states the book's own value
log = logging.getLogger(__name__)


def _key(root: Path) -> str:
    h = hashlib.sha256(f"python {platform.python_version()}\n".encode())
    for dist in DISTS:
        try:
            h.update(f"{dist} {metadata.version(dist)}\n".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist} absent\n".encode())
    for f in sorted({p for pat in WATCH for p in root.glob(pat) if p.is_file()}):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    data = os.environ.get("MMAE_DATA", "")  # a bundle the book reads instead of the default
    h.update(f"MMAE_DATA={data}\n".encode())
    for f in sorted(Path(data).glob("*")) if data and Path(data).is_dir() else ():
        st = f.stat()  # name, size and mtime: cheap, and any rewrite of a bundle file changes them
        h.update(f"{f.name} {st.st_size} {st.st_mtime_ns}\n".encode())
    for f in sorted(p for pat in NOTEBOOKS for p in root.glob(pat)):
        cells = json.loads(f.read_text(encoding="utf-8")).get("cells", [])
        code = ["".join(c["source"]) for c in cells if c.get("cell_type") == "code"]
        h.update(json.dumps([f.relative_to(root).as_posix(), code]).encode())
    return h.hexdigest()


def _check(app, config):
    src = Path(app.srcdir).resolve()  # book/; the repo root holds pyproject.toml
    root = next((p for p in (src, *src.parents) if (p / "pyproject.toml").is_file()), src.parent)
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    stamp, key = cache / "mmae_code_key.txt", _key(root)
    old = stamp.read_text().strip() if stamp.is_file() else None
    config.mmae_code_key = key
    if old == key:
        log.info(f"[cache_key] mmae code key {key[:12]} unchanged: keeping {cache}")
        return
    why = "no stamp yet" if old is None else f"key {old[:12]} -> {key[:12]}"
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")
    log.info(f"[cache_key] mmae code/env changed ({why}): cleared {cache}")


def _export_limit(app, config):
    """``MMAE_NOTEBOOK_LIMIT_S`` = ``mmae_notebook_limit_s`` for every kernel started from now on."""
    limit = config.mmae_notebook_limit_s
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not math.isfinite(limit):
        raise ConfigError(f"mmae_notebook_limit_s must be a number of seconds (<= 0: no limit), "
                          f"got {type(limit).__name__} {limit!r}")
    if limit > 0:
        os.environ[LIMIT_ENV] = f"{limit:g}"
        log.info(f"[cache_key] every notebook must finish within {limit:g} s ({LIMIT_ENV})")
    else:
        os.environ.pop(LIMIT_ENV, None)
        log.info(f"[cache_key] no wall-time limit per notebook (mmae_notebook_limit_s = {limit:g})")


def setup(app):
    app.add_config_value("mmae_code_key", "", "env")
    app.add_config_value("mmae_notebook_limit_s", LIMIT_DEFAULT, "", [int, float])
    app.connect("config-inited", _check, priority=100)
    app.connect("config-inited", _export_limit, priority=100)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
