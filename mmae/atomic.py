"""Writes that cannot be half-done.

Every artifact goes to a temporary file in its own folder, is flushed and fsynced, then renamed
over its target with :func:`os.replace` (atomic on POSIX and Windows): a reader sees the old file
or the new one, never a mix, and a kill or a full disk leaves the old file in place. A full disk
(or quota) is reported as :class:`NoSpaceLeft`, "no space left on device writing FILE", whichever
library was writing (:mod:`mmae.folders` keeps one writer per folder). A CSV table saved with ``checksum=True`` (:func:`save_csv`) carries the sha256 of its text, which
:func:`read_checked` verifies, so a table cut short or edited is never read as a whole one.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}  # a full disk, an exhausted quota
CHECKSUM = "# sha256 "  # how the checksum line of a CSV written by save_csv(checksum=True) starts
_CHECKSUM_LINE = re.compile(r"# sha256 (?P<sha>[0-9a-f]{64}), (?P<rows>\d+) rows in (?P<lines>\d+) lines")


class NoSpaceLeft(OSError):
    """The disk (or the user's quota) filled up while an artifact was written; its ``errno`` is the
    system's (``ENOSPC`` or ``EDQUOT``), its message "no space left on device writing FILE"."""


def _disk_full(err: BaseException | None) -> OSError | None:
    """The ``ENOSPC`` / ``EDQUOT`` error behind ``err`` (itself, or what it was raised from or while
    handling: torch wraps a failed write in a RuntimeError), or None."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, OSError) and err.errno in _FULL:
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def _no_space(path: Path, full: OSError) -> NoSpaceLeft:
    """The error to raise when writing ``path`` hit the full disk ``full``."""
    err = NoSpaceLeft(f"no space left on device writing {path} ({full.strerror or full})")
    err.errno = full.errno  # no filename: OSError would then print "[Errno 28] None: 'FILE'"
    return err


@contextlib.contextmanager
def _reporting_full_disk(path: Path) -> Iterator[None]:
    """Turn a full disk met in the block into :class:`NoSpaceLeft` naming ``path`` (an inner
    writer's own :class:`NoSpaceLeft`, naming its file, passes unchanged)."""
    try:
        yield
    except NoSpaceLeft:
        raise
    except BaseException as err:
        full = _disk_full(err)
        if full is None:
            raise
        raise _no_space(path, full) from err


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on a clean exit it is fsynced and renamed
    onto ``path``, on an exception it is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    with _reporting_full_disk(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp)
        try:
            yield tmp
            with open(tmp, "rb+") as f:  # the bytes reach the disk before the rename makes them visible
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _fsync_dir(path.parent)


def writing(path: str | Path):
    """A context in which a full disk (or quota) becomes :class:`NoSpaceLeft` naming ``path``:
    for writers into the temporary paths of :func:`together`."""
    return _reporting_full_disk(Path(path))


@contextlib.contextmanager
def together(paths) -> Iterator[list[Path]]:
    """Temporary paths beside each of ``paths``, committed together: on a clean exit every one is
    fsynced, and only then are they renamed onto their targets, in order (last, the file that
    vouches for the others: a checkpoint that records its latents' sha256). A full disk, a kill or
    an error while any is written leaves every target as it was and no temporary file behind
    (write with :func:`writing` to have a full disk name the file); a kill between the renames
    can leave the first ones renamed, which the last one's hashes then disown."""
    paths, tmps = [Path(p) for p in paths], []
    try:
        for path in paths:
            with _reporting_full_disk(path):
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
                os.close(fd)
                tmps.append(Path(tmp))
        yield tmps
        for tmp, path in zip(tmps, paths):
            with _reporting_full_disk(path), open(tmp, "rb+") as f:
                os.fsync(f.fileno())
    except BaseException:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in zip(tmps, paths):
        os.replace(tmp, path)
    for folder in dict.fromkeys(path.parent for path in paths):
        _fsync_dir(folder)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to fill; on a clean exit it replaces ``path`` (the old
    folder is moved aside, then removed), on an exception it is removed and ``path`` is untouched.
    A full disk while it is filled is :class:`NoSpaceLeft` naming ``path``."""
    import shutil

    path = Path(path)
    with _reporting_full_disk(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
        tmp.chmod(0o755)
        try:
            yield tmp
            old = path.with_name(f".{path.name}.old")
            if path.exists():
                shutil.rmtree(old, ignore_errors=True)
                path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def save_torch(obj, path: str | Path) -> Path:
    """``torch.save`` to ``path`` atomically. torch writes through a Python file object, so that a
    full disk surfaces as the system's error (:class:`NoSpaceLeft`), not as torch's "unexpected pos"."""
    import torch

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
    return Path(path)


def save_npy(path: str | Path, array) -> Path:
    """``numpy.save`` to ``path`` (which must end in ``.npy``) atomically."""
    import numpy as np

    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, array)
    return Path(path)


def save_csv(table, path: str | Path, header: str = "", checksum: bool = False, **kwargs) -> Path:
    """``table.to_csv(**kwargs)`` written to ``path`` atomically, after an optional ``header``.

    Parameters
    ----------
    table : pandas.DataFrame
    path : str or Path
    header : str, default ""
        Lines written first, each ending in a newline (``"# key: ...\\n"``).
    checksum : bool, default False
        Also write, after ``header``, the line ``# sha256 <hex>, <n> rows in <m> lines``: the sha256
        of every other line of the file (``header`` included, UTF-8, ``\\n`` line ends), the
        table's row count and the number of those lines. :func:`read_checked` refuses the file
        when it was cut short or edited. The checksum lives in the file, not in a sidecar: one
        rename commits the table and its checksum together (a kill between two renames cannot pair
        a table with another's checksum), and a table copied elsewhere carries its own.
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_csv`.

    Raises
    ------
    ValueError
        ``header`` is not empty and does not end in a newline, or (``checksum``) one of its lines
        starts like the checksum line.
    """
    if header and not header.endswith("\n"):
        raise ValueError(f"header of {path} must end with a newline, got {header[-40:]!r}")
    if not checksum:
        return write_text(path, header + table.to_csv(**kwargs))
    if any(line.startswith(CHECKSUM) for line in header.split("\n")):
        raise ValueError(f"header of {path} must not hold a line starting {CHECKSUM!r}, got {header!r:.200}")
    covered = header + table.to_csv(**{"lineterminator": "\n", **kwargs})
    n_lines = covered.count("\n")
    line = f"{CHECKSUM}{_sha256(covered)}, {len(table)} rows in {n_lines} lines\n"
    with atomic_path(path) as tmp:
        tmp.write_bytes((header + line + covered[len(header):]).encode("utf-8"))
    return Path(path)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_checked(path: str | Path) -> str:
    """The text of a file written by :func:`save_csv` with ``checksum=True``, without its checksum
    line, once it matches that line.

    Raises
    ------
    UnicodeDecodeError
        The file is not UTF-8 text.
    ValueError
        The file has no checksum line (written without one, or cut before it), a malformed one, or
        text that does not match it: the message names the file and says whether it was cut short
        (how many of its lines are left) or edited.
    """
    text = Path(path).read_bytes().decode("utf-8")
    lines = text.split("\n")
    at = next((i for i, line in enumerate(lines) if line.startswith(CHECKSUM)), None)
    if at is None or at == len(lines) - 1:  # none, or the file ends inside it
        raise ValueError(f"{path} has no checksum line ({CHECKSUM}...): it was written without one (by an "
                         "older version) or cut short before it")
    found = _CHECKSUM_LINE.fullmatch(lines[at])
    if found is None:
        raise ValueError(f"{path}: its checksum line must read '{CHECKSUM}<64 hex digits>, <n> rows in <m> "
                         f"lines', got {lines[at]!r:.120}")
    covered = "\n".join(lines[:at] + lines[at + 1:])
    if _sha256(covered) != found["sha"]:
        written, now = int(found["lines"]), covered.count("\n")
        how = (f"cut short: {now} of its {written} lines left" if now < written else
               f"edited: {now} lines, {written} written" if now > written else
               f"edited: all {written} lines there, other text in them")
        raise ValueError(f"{path} does not match the sha256 written with it ({how}; {found['rows']} rows were "
                         "written): it was cut short or changed after it was written")
    return covered


def save_figure(fig, path: str | Path, **kwargs) -> Path:
    """``fig.savefig`` to ``path`` atomically (the format from ``path``'s suffix)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or None, **kwargs)
    return path


def book_figure(fig, path: str | Path | None = None):
    """A figure of the book: ``fig``, saved by :func:`save_figure` (130 dpi, tight bounding box) when
    ``path`` is given, and returned, so that a plotting function ends ``return book_figure(fig, path)``."""
    if path is not None:
        save_figure(fig, path, dpi=130, bbox_inches="tight")
    return fig
