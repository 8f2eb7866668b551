"""The package's layout: cache keys depend only on the code a result depends on; every notebook's
py:percent source and its .ipynb say the same; modules stay small."""
import shutil
from pathlib import Path

import jupytext
import pytest

import mmae
from mmae import artifacts

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def package(tmp_path, monkeypatch) -> Path:
    """A copy of the package's sources that code_version reads instead of the real one."""
    copy = tmp_path / "mmae"
    shutil.copytree(Path(mmae.__file__).parent, copy, ignore=shutil.ignore_patterns("bundle", "__pycache__"))
    monkeypatch.setattr(mmae, "__file__", str(copy / "__init__.py"))
    return copy


def keys() -> tuple[str, str]:
    return (artifacts.run_key("data", {"epochs": 1}),
            artifacts.run_key("data", {"epochs": 1}, artifacts.RESULT_CODE))


def test_a_figure_change_keeps_every_cache_and_a_model_change_clears_it(package):
    before = keys()
    (package / "report" / "plots.py").write_text((package / "report" / "plots.py").read_text() + "\n# a new colour\n")
    (package / "bench" / "training.py").write_text((package / "bench" / "training.py").read_text() + "\n# faster\n")
    assert keys() == before  # trained models and tables survive a cosmetic edit
    (package / "evaluation" / "clustering.py").write_text((package / "evaluation" / "clustering.py").read_text() + "\n#\n")
    after_metric = keys()
    assert after_metric[0] == before[0] and after_metric[1] != before[1]  # tables recomputed, models kept
    (package / "models" / "mmae.py").write_text((package / "models" / "mmae.py").read_text() + "\n#\n")
    assert keys()[0] != before[0]  # a model change retrains


def test_the_zoo_is_kept_across_a_figure_change(package, tiny_std, tmp_path, capsys, one_thread):
    from mmae.study import load_or_train_zoo
    from mmae.training import make_config

    cfg = make_config(latent_dim=4, hidden=(8, 8), epochs=1, device="cpu")
    first = load_or_train_zoo(tiny_std, cfg, [0], ["mmae"], tmp_path, progress=False)
    (package / "report" / "findings.py").write_text((package / "report" / "findings.py").read_text() + "\n#\n")
    again = load_or_train_zoo(tiny_std, cfg, [0], ["mmae"], tmp_path)
    assert "Loaded mmae_z4.pt" in capsys.readouterr().out and again.key == first.key
    (package / "training" / "loop.py").write_text((package / "training" / "loop.py").read_text() + "\n#\n")
    load_or_train_zoo(tiny_std, cfg, [0], ["mmae"], tmp_path)
    assert "trained with other code, data or parameters" in capsys.readouterr().out


@pytest.mark.parametrize("source", sorted((ROOT / "notebooks").glob("[0-9]*.py")), ids=lambda p: p.stem)
def test_notebook_pairs_are_in_sync_and_without_outputs(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired} is missing: run jupytext --sync {source}"
    py, nb = jupytext.read(source), jupytext.read(paired)
    cells = lambda n: [(c.cell_type, c.source.strip()) for c in n.cells]  # noqa: E731
    assert cells(py) == cells(nb), f"{paired} differs from {source}: run jupytext --sync {source}"
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb.cells if c.cell_type == "code")


def test_no_module_is_over_300_lines():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in (ROOT / "mmae").rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 320} == {}


def code_lines(source: Path) -> list[tuple[int, str]]:
    """(line number, text) of a notebook's code: no blank, comment, import or lone-punctuation line,
    white space folded (what a copied block is made of)."""
    kept = []
    for i, line in enumerate(source.read_text().splitlines(), 1):
        text = " ".join(line.split())
        if text and not text.startswith(("#", "import ", "from ")) and any(c.isalnum() for c in text):
            kept.append((i, text))
    return kept


def test_no_notebook_repeats_six_lines_of_another():
    """The set-up of a chapter lives in mmae (chapters 7-14: mmae.study.get_zoo), not in copies."""
    runs = {}
    for source in sorted((ROOT / "notebooks").glob("*.py")):
        lines = code_lines(source)
        for j in range(len(lines) - 5):
            runs.setdefault(tuple(t for _, t in lines[j:j + 6]), []).append(f"{source.name}:{lines[j][0]}")
    assert {run[0]: places for run, places in runs.items() if len({p.split(":")[0] for p in places}) > 1} == {}


def test_no_notebook_builds_a_train_config():
    """TrainConfig is built in one place (mmae.params.train_config), so that it changes once."""
    assert [p.name for p in (ROOT / "notebooks").glob("*.py") if "TrainConfig(" in p.read_text()] == []


@pytest.mark.parametrize("chapter", [p.stem for p in sorted((ROOT / "notebooks").glob("[01][0-9]_*.py"))
                                     if "07" <= p.stem[:2] <= "14" and p.stem != "13_sweeps"])
def test_chapters_07_14_take_the_zoos_parameters_from_one_declaration(chapter):
    from mmae import params
    from mmae.study import ZooParams

    source = (ROOT / "notebooks" / f"{chapter}.py").read_text()
    assert f'study.get_zoo(globals(), "{chapter}")' in source  # the one call, which checks the parameters
    assert set(params.declared(chapter)).isdisjoint(params.shared_defaults(ZooParams))  # declared once


def test_the_zoos_parameters_agree_with_the_packages_defaults():
    from dataclasses import fields

    from mmae.models import ContrastiveKnobs, MVAEKnobs
    from mmae.study import MODEL_LABELS, ZooParams
    from mmae.training import Optim, Runtime, TrainConfig

    zoo = params_of(ZooParams)
    train = {f.name: f.default for cls in (TrainConfig, Optim, Runtime, MVAEKnobs, ContrastiveKnobs) for f in fields(cls)}
    for name in ("latent_dim", "fusion", "batch_size", "lr", "beta", "temperature", "device"):
        assert zoo[name] == train[name], name  # one value for a parameter, everywhere
    assert zoo["models"] == tuple(MODEL_LABELS)


def params_of(cls) -> dict:
    from mmae import params

    return params.shared_defaults(cls)
