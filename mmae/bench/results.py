"""The benchmark's result file: every number with the machine, library versions and date that
produced it, written atomically as JSON (:mod:`mmae.report.benchmarks` reads it back for the
Performance page)."""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
from pathlib import Path

import pandas as pd
import torch

from mmae.atomic import write_text
from mmae.report import provenance
from mmae.report.benchmarks import FOLDER, KINDS, SCHEMA, load, table  # noqa: F401 (load, table: read back here too)

ROOT = Path(__file__).resolve().parents[2]  # the repository root (mmae/bench/results.py)
VERSIONS = ("torch", "numpy", "scikit-learn", "pandas")


def machine() -> dict:
    """What ran the benchmark: CPU, cores, threads, GPU (if any), platform and library versions."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    found = provenance.versions(VERSIONS)
    return {"cpu": _cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "platform": platform.platform(), "python": found.pop("python"), "versions": found}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def record(kind: str, frame: pd.DataFrame, info: dict, command: str) -> dict:
    """The JSON record of one benchmark run."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return {"schema": SCHEMA, "kind": kind, "command": command, **provenance.git_state(ROOT),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(), "info": info, "results": _rows(frame).to_dict(orient="records")}


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its named index as columns (an unnamed 0..n index is dropped)."""
    return frame.reset_index() if any(name is not None for name in frame.index.names) else frame


def default_path(kind: str, device: str) -> Path:
    """``book/benchmarks/{kind}-{cpu|cuda|mps}.json``."""
    return FOLDER / f"{kind}-{torch.device(device).type}.json"


def save(rec: dict, path: str | Path) -> Path:
    """Write ``rec`` as indented JSON, atomically (a reader never sees half a file); a record
    holding a NaN or an infinity is refused (``ValueError``): a result that measured nothing
    never replaces one that measured something."""
    bad = [k for r in rec["results"] for k, v in r.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise ValueError(f"the results hold non-finite values ({', '.join(sorted(set(bad)))}): {path} is not written")
    return write_text(path, json.dumps(rec, indent=2, default=float, allow_nan=False) + "\n")
