"""The README's archive-search example, run as written: after one short training on the default
set (what notebook 03 writes), the code block indexes the latents and queries by audio alone."""
import os
import re
from pathlib import Path

import numpy as np
import pytest

from mmae.data import load_features, standardize
from mmae.training import load_or_train, make_config

ROOT = Path(__file__).resolve().parents[1]


def readme_block(after: str) -> str:
    """The first ```python block of the README after the sentence ``after``."""
    text = (ROOT / "README.md").read_text()
    start = text.index(after)
    return re.search(r"```python\n(.*?)```", text[start:], re.S).group(1)


@pytest.mark.slow
def test_the_archive_search_example_runs_as_written(tmp_path, monkeypatch):
    features = standardize(load_features("real"))
    load_or_train(features, make_config(epochs=1), tmp_path / "artifacts", progress=False)
    monkeypatch.chdir(tmp_path)  # the example's relative paths: artifacts/...
    code = readme_block("index them and query by audio alone")
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    n = sum(len(features.y[s]) for s in features.splits)
    assert namespace["index"].count == n and os.path.isfile("artifacts/archive-index/manifest.json")
    ids, scores = namespace["ids"], namespace["scores"]
    assert ids.shape == scores.shape == (5, 10) and ids.min() >= 0 and ids.max() < n
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
