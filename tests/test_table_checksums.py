"""Issue 23, item 4: every cached table is verified before it is reused.

A table saved by :func:`mmae.study.saved.save_table` carries the sha256 of its text; a table cut
mid-line, cut to 60 % of its lines, or with one number edited is detected: the caches (tuning,
chapter 15's measurements) warn naming the file and compute the same table again; chapter 14's
loader raises naming the file and the chapter to run again.
"""
import re

import numpy as np
import pandas as pd
import pytest

from mmae import atomic
from mmae.data import Features, save_bundle
from mmae.data.synthetic import make_synthetic
from mmae.study import robustness, saved, tuning
from mmae.training import make_config

pytestmark = pytest.mark.usefixtures("one_thread")
TABLE = pd.DataFrame({"model": ["mmae", "mvae", "contrastive", "fusion_pca"] * 3, "seed": [0, 1, 2] * 4,
                      "value": np.linspace(0.125, 0.875, 12)})


# ------------------------------------------------------------------------------ the three faults
def cut_mid_line(path):
    """The file ends in the middle of its last row (a kill or a full disk during a plain write)."""
    data = path.read_bytes()
    path.write_bytes(data[:data.rstrip(b"\n").rfind(b",") + 3])


def cut_to_60(path):
    """The file keeps the first 60 % of its lines."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:int(0.6 * len(lines))]))


def edit_one_number(path):
    """One digit of the last row changed: as many lines, other text."""
    text = path.read_text()
    i = max(m.start() for m in re.finditer(r"\d", text))
    path.write_text(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:])


FAULTS = {"cut mid-line": (cut_mid_line, r"cut short: 13 of its 14 lines left"),
          "cut to 60 %": (cut_to_60, r"cut short: 8 of its 14 lines left"),
          "one number edited": (edit_one_number, r"edited: all 14 lines there, other text in them")}


# ------------------------------------------------------------------ mmae.atomic: the checksum line
def test_a_table_with_its_checksum_round_trips(tmp_path):
    path = atomic.save_csv(TABLE, tmp_path / "t.csv", header="# key: k1\n", checksum=True, index=False)
    lines = path.read_text().split("\n")
    assert lines[0] == "# key: k1"
    assert re.fullmatch(r"# sha256 [0-9a-f]{64}, 12 rows in 14 lines", lines[1])  # key + column names + 12 rows
    text = atomic.read_checked(path)
    assert text == "# key: k1\n" + TABLE.to_csv(index=False, lineterminator="\n")
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # written atomically: no temporary file left
    empty = atomic.save_csv(TABLE.iloc[:0], tmp_path / "e.csv", checksum=True, index=False)
    assert atomic.read_checked(empty) == "model,seed,value\n"


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_is_detected_naming_the_file(tmp_path, fault):
    damage, how = FAULTS[fault]
    path = atomic.save_csv(TABLE, tmp_path / "t.csv", header="# key: k1\n", checksum=True, index=False)
    damage(path)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))} does not match the sha256 written with it "
                                         rf"\({how}; 12 rows were written\): it was cut short or changed"):
        atomic.read_checked(path)


def test_an_edited_key_line_is_detected(tmp_path):
    path = atomic.save_csv(TABLE, tmp_path / "t.csv", header="# key: k1\n", checksum=True, index=False)
    path.write_text(path.read_text().replace("# key: k1", "# key: k2"))
    with pytest.raises(ValueError, match="edited: all 14 lines there"):
        atomic.read_checked(path)


@pytest.mark.parametrize("text, message", [
    ("# key: k1\nmodel,value\nmmae,0.5\n", r"t.csv has no checksum line \(# sha256 \.\.\.\): it was written without "
                                           r"one \(by an older version\) or cut short before it"),
    ("# key: k1\n# sha256 0123", r"t.csv has no checksum line"),  # cut inside the checksum line
    ("", r"t.csv has no checksum line"),
    ("# sha256 nothex, 1 rows in 2 lines\na\n1\n", r"t.csv: its checksum line must read '# sha256 <64 hex digits>, "
                                                   r"<n> rows in <m> lines', got '# sha256 nothex"),
])
def test_a_missing_or_malformed_checksum_line(tmp_path, text, message):
    (tmp_path / "t.csv").write_text(text)
    with pytest.raises(ValueError, match=message):
        atomic.read_checked(tmp_path / "t.csv")


def test_save_csv_header_errors(tmp_path):
    with pytest.raises(ValueError, match=r"header of .*t.csv must end with a newline, got '# key: k1'"):
        atomic.save_csv(TABLE, tmp_path / "t.csv", header="# key: k1", checksum=True)
    with pytest.raises(ValueError, match=r"header of .*t.csv must not hold a line starting '# sha256 '"):
        atomic.save_csv(TABLE, tmp_path / "t.csv", header="# sha256 x\n", checksum=True)
    assert not (tmp_path / "t.csv").exists()
    atomic.save_csv(TABLE, tmp_path / "plain.csv", header="# note\n", index=False)  # without checksum: as before
    assert (tmp_path / "plain.csv").read_text() == "# note\n" + TABLE.to_csv(index=False)


# ------------------------------------------------- chapter 14: load_table raises, naming the chapter
@pytest.mark.parametrize("fault", FAULTS)
def test_chapter_14_refuses_a_damaged_table_naming_it_and_the_chapter(tmp_path, fault):
    damage, how = FAULTS[fault]
    path = saved.save_table(TABLE, tmp_path, "retrieval", "k1")
    pd.testing.assert_frame_equal(saved.load_table(tmp_path, "retrieval", "k1"), TABLE)
    damage(path)
    with pytest.raises(saved.DamagedTable, match=rf"beyond_retrieval.csv does not match the sha256 written with it "
                                                 rf"\({how}; .*: run notebooks/08_retrieval again"):
        saved.load_table(tmp_path, "retrieval", "k1")
    assert issubclass(saved.DamagedTable, ValueError)  # chapter 14 and older callers catch ValueError


def test_chapter_14_refuses_a_table_without_checksum(tmp_path):
    (tmp_path / "beyond_noise.csv").write_text("# key: k1\nmodel,value\nmmae,0.5\n")  # an older version's table
    with pytest.raises(ValueError, match=r"beyond_noise.csv has no checksum line .*: run notebooks/10_noise again"):
        saved.load_table(tmp_path, "noise", "k1")


def test_a_table_of_another_key_is_stale_not_damaged(tmp_path):
    saved.save_table(TABLE, tmp_path, "ood", "k1")
    with pytest.raises(ValueError, match="computed from other code, data, models or seeds") as err:
        saved.load_table(tmp_path, "ood", "k2")
    assert not isinstance(err.value, saved.DamagedTable)


# ------------------------------------------------------------------- the caches compute again
def test_cached_table_computes_once_then_reuses_then_recomputes_a_damaged_one(tmp_path, recwarn):
    calls = []

    def compute():
        calls.append(1)
        return TABLE.copy()

    first = saved.cached_table(tmp_path, "q", "k1", compute)
    pd.testing.assert_frame_equal(saved.cached_table(tmp_path, "q", "k1", compute), first)
    assert len(calls) == 1 and not recwarn.list  # reused, silently
    saved.cached_table(tmp_path, "q", "k2", compute)  # another key: a cache miss, silently
    assert len(calls) == 2 and not recwarn.list
    for fault, (damage, how) in FAULTS.items():
        damage(tmp_path / "beyond_q.csv")
        with pytest.warns(UserWarning, match=rf"beyond_q.csv does not match the sha256 .*\({how}; .*computing it again"):
            again = saved.cached_table(tmp_path, "q", "k2", compute)
        pd.testing.assert_frame_equal(again, first, obj=fault)
    assert len(calls) == 5
    (tmp_path / "beyond_q.csv").write_bytes(b"\x00\xff garbage")
    with pytest.warns(UserWarning, match=r"beyond_q.csv is unreadable \(UnicodeDecodeError\): computing it again"):
        saved.cached_table(tmp_path, "q", "k2", compute)
    pd.testing.assert_frame_equal(saved.load_table(tmp_path, "q", "k2"), TABLE)  # whole again


CFG = make_config(latent_dim=4, hidden=(8, 8), epochs=1, batch_size=32, device="cpu")


def test_tuning_recomputes_a_damaged_table_and_chooses_the_same(tiny_std, tmp_path, monkeypatch):
    calls = []
    real = tuning.tune
    monkeypatch.setattr(tuning, "tune", lambda *a, **k: calls.append(1) or real(*a, **k))
    chosen = tuning.tuned(tiny_std, CFG, ["mvae"], tmp_path, progress=False)
    path = tmp_path / "zoo" / "beyond_tuning.csv"
    before = path.read_bytes()
    assert tuning.tuned(tiny_std, CFG, ["mvae"], tmp_path, progress=False) == chosen and len(calls) == 1
    for fault, (damage, _) in FAULTS.items():
        damage(path)
        with pytest.warns(UserWarning, match=r"beyond_tuning.csv does not match .*\((cut short|edited)[^;]*; 3 rows were "
                                             r"written\): .* computing it again"):
            assert tuning.tuned(tiny_std, CFG, ["mvae"], tmp_path, progress=False) == chosen, fault
        assert path.read_bytes() == before, fault  # the same table, whole again
    assert len(calls) == 4


@pytest.fixture
def small_bundle(tmp_path):
    x, y = make_synthetic(seed=1, n_train_per_class=6, n_test_per_class=3, n_ood=24,
                          dims={"image": 12, "audio": 8, "text": 6}, variant="low_snr")
    return save_bundle(Features(x, y, "small", True), tmp_path / "bundle")


def test_chapter_15_recomputes_a_damaged_table_and_gets_the_same(small_bundle, tmp_path, monkeypatch):
    calls = []
    real = robustness.measure
    monkeypatch.setattr(robustness, "measure", lambda *a, **k: calls.append(1) or real(*a, **k))
    run = lambda: robustness.run(str(small_bundle), CFG, [0], tmp_path / "art", n_init=2, tune=False,  # noqa: E731
                                 progress=False)[1]
    first = run()
    path = tmp_path / "art" / "robustness" / robustness.folder_name(str(small_bundle)) / "beyond_robustness.csv"
    pd.testing.assert_frame_equal(run(), first)
    assert len(calls) == 1
    for fault, (damage, _) in FAULTS.items():
        damage(path)
        with pytest.warns(UserWarning, match=rf"beyond_robustness.csv does not match .*\(.*; {len(first)} rows were "
                                             r"written\): .* computing it again"):
            pd.testing.assert_frame_equal(run(), first, obj=fault)  # measured again: the same table
        pd.testing.assert_frame_equal(saved.load_table(path.parent, "robustness", _key(path)), first, obj=fault)
    assert len(calls) == 4


def _key(path):
    return path.read_text().split("\n", 1)[0].removeprefix("# key: ")
