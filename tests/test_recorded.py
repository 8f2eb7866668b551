"""mmae.report.recorded: chapter 15's verdicts beside a recorded run at another budget."""
import json

import pandas as pd
import pytest

from mmae.artifacts import project_root
from mmae.data import load_features, standardize
from mmae.report import recorded

Q1, Q2 = "MMAE vs the best linear baseline (K-Means ARI)", "OOD detection: MMAE vs fusion PCA (AUROC)"


def _table(a, b, c="not measured"):
    t = pd.DataFrame({"set A": [a, c], "set B": [b, "above (0.9 ± 0.0 vs 0.5 ± 0.0)"]}, index=[Q1, Q2], dtype=object)
    t.index.name = "question (MMAE is ... the reference)"
    return t


@pytest.fixture
def record(tmp_path):
    then = _table("above (0.9 ± 0.1 vs 0.8 ± 0.0)", "below (0.1 ± 0.0 vs 0.2 ± 0.0)")
    path = recorded.write(tmp_path / "r.json", then, {"set A": "fa", "set B": "fb"}, {"epochs": 20, "seeds": [0, 1]},
                          "abc1234", "2026-12-07")
    return recorded.load(path)


def test_write_then_load_gives_the_table_back(record):
    then = _table("above (0.9 ± 0.1 vs 0.8 ± 0.0)", "below (0.1 ± 0.0 vs 0.2 ± 0.0)")
    assert record.table.values.tolist() == then.values.tolist() and record.table.index.name == then.index.name
    assert list(record.table.index) == [Q1, Q2] and list(record.table.columns) == ["set A", "set B"]
    assert (record.commit, record.date, record.params) == ("abc1234", "2026-12-07", {"epochs": 20, "seeds": [0, 1]})
    assert record.fingerprints == {"set A": "fa", "set B": "fb"}


def test_compare_pairs_only_the_same_data_and_measured_cells(record):
    now = _table("within the spread of (0.85 ± 0.1 vs 0.8 ± 0.0)", "below (0.15 ± 0.0 vs 0.2 ± 0.0)")
    c = recorded.compare(now, record, {"set A": "fa", "set B": "fb"})
    assert c[["question", "data set", "same"]].values.tolist() == [[Q1, "set A", False], [Q1, "set B", True],
                                                                   [Q2, "set B", True]]
    other = recorded.compare(now, record, {"set A": "fa", "set B": "changed"})  # set B's data differ: left out
    assert other["data set"].tolist() == ["set A"]


def test_changes_says_what_moved_and_which_parameters_differ(record):
    now = _table("within the spread of (0.85 ± 0.1 vs 0.8 ± 0.0)", "below (0.15 ± 0.0 vs 0.2 ± 0.0)")
    c = recorded.compare(now, record, record.fingerprints)
    assert recorded.changes(c, record, {"epochs": 5, "seeds": (0, 1), "data": "real"}) == (
        "Of 3 verdicts on the same data, 2 are the same as in the run recorded at commit abc1234 (epochs 20; here 5), "
        "and 1 moved: those verdicts depend on what differs between the runs, not only on the method.\n"
        f"- {Q1}, set A: *above* there, *within the spread of* here")
    same = recorded.compare(_table("above (1 ± 0 vs 0 ± 0)", "below (0 ± 0 vs 1 ± 0)"), record, record.fingerprints)
    assert recorded.changes(same, record, {"epochs": 20, "seeds": [0, 1]}) == (
        "Of 3 verdicts on the same data, 3 are the same as in the run recorded at commit abc1234 (the same "
        "parameters), and 0 moved.")
    none = recorded.compare(_table("a", "b"), record, {})
    assert recorded.changes(none, record, {}) == "No data set of this run is a data set of the record r.json: nothing to compare."


def test_bad_records_are_named(tmp_path, record):
    with pytest.raises(ValueError, match="fingerprints: every column of the table needs one, missing \\['set B'\\]"):
        recorded.write(tmp_path / "x.json", _table("a", "b"), {"set A": "fa"}, {}, "c", "d")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json: not a chapter-15 record"):
        recorded.load(bad)
    body = json.loads(record.path.read_text())
    del body["commit"]
    bad.write_text(json.dumps(body))
    with pytest.raises(ValueError, match="bad.json: not a chapter-15 record \\(KeyError"):
        recorded.load(bad)
    body = json.loads(record.path.read_text())
    body["fingerprints"].pop("set B")
    bad.write_text(json.dumps(body))
    with pytest.raises(ValueError, match="its fingerprints name \\['set A'\\], its table \\['set A', 'set B'\\]"):
        recorded.load(bad)
    with pytest.raises(ValueError, match="missing.json: not a chapter-15 record \\(FileNotFoundError"):
        recorded.load(tmp_path / "missing.json")


def test_the_committed_record_is_of_the_committed_real_sets():
    """The book compares with the 20-epoch record only where the data are the same: the committed
    real sets must still be the data the record ran on, or chapter 15 would compare nothing."""
    r = recorded.load(project_root() / "book" / "records" / "robustness-20-epochs.json")
    assert (r.commit, r.params["luma_size_epochs"], r.params["epochs"], r.params["seeds"]) == ("0a78521", 20, 100, [0, 1, 2])
    assert list(r.table.columns) == ["real, 42 classes", "real, 8 classes", "synthetic: nuisance", "synthetic: low_snr",
                                     "synthetic: nonlinear"] and len(r.table) == 5
    for column, spec in [("real, 42 classes", "real"), ("real, 8 classes", "real:cifar10")]:
        assert standardize(load_features(spec, environ=False)).fingerprint() == r.fingerprints[column]
