"""A bundle's ``manifest.json``: its schema, and the sha256 of every file it vouches for.

A manifest is a JSON object whose ``files`` maps a path relative to the bundle folder to an entry
``{"sha256": <64 hex digits>, ...}`` (other keys, such as ``bytes``, are free). Every listed path
must stay inside the folder and name a regular file (not a symbolic link, device or FIFO: nothing
is opened before :func:`os.lstat` says so), and every ``.npy`` file of the folder must be listed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

MANIFEST = "manifest.json"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_FILE_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def open_regular(path: str | Path, follow_symlinks: bool = True):
    """Open ``path`` for binary reading, refusing anything but a regular file *before* reading:
    never blocks on a FIFO nor reads a device. ``follow_symlinks=False`` refuses symbolic links.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        ``path`` is a symbolic link (with ``follow_symlinks=False``), directory, FIFO, device or socket.
    """
    st = os.stat(path) if follow_symlinks else os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: must be a regular file, got {_kind(st.st_mode)}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: a FIFO swapped in after the check cannot block the open
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path}: must be a regular file, got {_kind(mode)}")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def sha256_file(path: str | Path, block: int = 1 << 20, follow_symlinks: bool = True) -> str:
    """sha256 hex digest of a regular file, read in blocks of ``block`` bytes."""
    h = hashlib.sha256()
    with open_regular(path, follow_symlinks) as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(path: str | Path) -> dict | None:
    """The manifest of bundle folder ``path``, its schema checked; None if it has none."""
    file = Path(path) / MANIFEST
    if not os.path.lexists(file):
        return None
    with open_regular(file) as f:
        raw = f.read()
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{file}: must be a JSON object, got text that is not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{file}: must be a JSON object, got a JSON {type(manifest).__name__}")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ValueError(f"{file}: 'files' must be an object mapping each file's relative path to "
                         f"{{\"sha256\": <64 hex digits>}}, got {'nothing' if files is None else type(files).__name__}")
    for name, entry in files.items():
        sha = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise ValueError(f"{file}: files[{name!r}] must be an object with a 'sha256' of 64 hex digits, "
                             f"got {entry!r:.80}")
    if not isinstance(manifest.get("name", ""), str):
        raise ValueError(f"{file}: 'name' must be a string, got {manifest['name']!r:.80}")
    return manifest


def listed_file(root: Path, name: str) -> Path:
    """The path of ``name``, listed in ``root``'s manifest, once it is known to be a regular file
    inside ``root`` (relative, no ``..``, no symbolic link on the way)."""
    where = f"listed in {root / MANIFEST}"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise ValueError(f"{name!r} ({where}): must be a path relative to the bundle folder, got an absolute path")
    parts = PureWindowsPath(name).parts
    if not name or ".." in parts:
        raise ValueError(f"{name!r} ({where}): must be a path inside the bundle folder, got one that leaves it")
    f = root / name
    if not os.path.lexists(f):
        raise FileNotFoundError(f"{f} is {where} but missing")
    if not f.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{f} ({where}): must resolve inside the bundle folder {root}, got {f.resolve()}")
    mode = os.lstat(f).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"{f} ({where}): must be a regular file, got {_kind(mode)}")
    return f


def verify_manifest(path: str | Path) -> dict | None:
    """Check a bundle's ``manifest.json``: its schema, that it lists every ``.npy`` file of the
    folder, and every listed file against its sha256. Returns the manifest, or None if there is none.

    Raises
    ------
    FileNotFoundError
        A listed file is missing.
    ValueError
        The manifest is not a JSON object with a ``files`` object of ``{"sha256": <64 hex>}``
        entries; a listed path is absolute, leaves the folder or is not a regular file; a ``.npy``
        file is not listed; or a file's sha256 differs (the message names the file, the expected
        and the actual hash).
    """
    root = Path(path)
    manifest = read_manifest(root)
    if manifest is None:
        return None
    listed = {PurePosixPath(PureWindowsPath(n).as_posix()).as_posix() for n in manifest["files"]}
    for f in sorted(root.glob("*.npy")):
        if f.name not in listed:
            raise ValueError(f"{f}: not listed in {MANIFEST}: a bundle with a manifest must list every .npy "
                             "file it holds, with its sha256 under 'files'")
    for name, entry in manifest["files"].items():
        f = listed_file(root, name)
        actual = sha256_file(f, follow_symlinks=False)
        if actual != entry["sha256"].lower():
            raise ValueError(f"{f}: sha256 must be {entry['sha256']} (from {MANIFEST}), got "
                             f"{actual}: the file changed after the bundle was written")
    return manifest
