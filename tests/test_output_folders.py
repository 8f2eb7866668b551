"""Issue 23, item 5: no command destroys a result.

``luma extract`` and ``media build`` refuse a non-empty output folder that is not their own work
(before any work) unless ``--overwrite``, and a stopped extraction still resumes; ``media verify``
checks every file's sha256 against the manifest before it rebuilds rows drawn at random (seeded),
and fails clearly on a bundle without a manifest or with a changed file.
"""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmae import folders, luma
from mmae.data import load_bundle
from mmae.luma import outputs as lo
from mmae.media import BUNDLE50_DIR, BUNDLE_DIR, build50, make, outputs
from mmae.media import __main__ as media_cli

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def one_line_error(done, *names):
    """A command that failed with exit status 1 and one line naming ``names``, no traceback."""
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert all(n in done.stderr for n in names), done.stderr


# --------------------------------------------------------------------------- folders.claim_dir
def test_claim_dir(tmp_path):
    foreign = lambda folder: sorted(p.name for p in folder.iterdir() if p.suffix != ".npy")  # noqa: E731
    assert folders.claim_dir(tmp_path / "new", foreign) == tmp_path / "new" and not (tmp_path / "new").exists()
    assert folders.claim_dir(tmp_path, foreign) == tmp_path  # empty
    (tmp_path / "a.npy").touch()
    assert folders.claim_dir(tmp_path, foreign) == tmp_path  # only its own
    for i in range(7):
        (tmp_path / f"note{i}.txt").touch()
    with pytest.raises(FileExistsError, match=rf"^{re.escape(str(tmp_path))} is not empty and not cmd's own work: it holds note0.txt, "
                                              r"note1.txt, note2.txt, note3.txt, note4.txt and 2 more. cmd refuses to "
                                              r"write over it: .* or pass --overwrite \(overwrite=True\)$"):
        folders.claim_dir(tmp_path, foreign, writer="cmd")
    assert folders.claim_dir(tmp_path, foreign, overwrite=True) == tmp_path
    with pytest.raises(NotADirectoryError, match=r"a.npy: the output folder of cmd must be a folder, got a file"):
        folders.claim_dir(tmp_path / "a.npy", foreign, overwrite=True, writer="cmd")


# ------------------------------------------------------------------------- luma extract: its own
def _luma_manifest(folder, fmt=lo.BUNDLE_FORMAT):
    (folder / "manifest.json").write_text(json.dumps({"format": fmt, "files": {}}))


def test_what_luma_extract_calls_its_own(tmp_path):
    out = tmp_path / "b"
    out.mkdir()
    assert lo.foreign_entries(out) == []
    for name in ("train_image.npy", "test_labels.npy", "ood_text.npy", "triplets.csv", ".train_audio.npy.k2j_x9.tmp"):
        (out / name).touch()
    _luma_manifest(out)
    assert lo.foreign_entries(out) == []  # an earlier bundle of its own, a temporary file of a killed write
    (out / "parts").mkdir()
    for name in ("stamp.txt", "train_image_logits_part00000.npy", "vgg_finetuned.pt", "finetune_history.csv"):
        (out / "parts" / name).touch()
    (out / "manifest.json").unlink()
    assert lo.foreign_entries(out) == []  # the resumable work of a run stopped before its manifest
    (out / "parts" / "stamp.txt").unlink()
    assert lo.foreign_entries(out) == [  # arrays with neither marker: someone else's bundle
        f"{n} (neither a manifest.json of mmae-luma-bundle/1 nor parts/stamp.txt beside it)"
        for n in (".train_audio.npy.k2j_x9.tmp", "ood_text.npy", "test_labels.npy", "train_image.npy", "triplets.csv")]
    _luma_manifest(out, "mmae-feature-bundle/1 (mmae.media: ...)")
    (out / "notes.txt").touch()
    (out / "parts" / "mine.txt").touch()
    assert lo.foreign_entries(out) == ["notes.txt", "parts/mine.txt",
                                       "manifest.json (format 'mmae-feature-bundle/1 (mmae.media: ...)', "
                                       "not 'mmae-luma-bundle/1')"]


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    return luma.write_fixture(tmp_path_factory.mktemp("luma"))


CLI = ["--tiny", "--image-size", "32", "--finetune-epochs", "1", "--head-epochs", "1", "--text-max-length", "16",
       "--device", "cpu"]


def extract(fixture_dir, out, *flags):
    return subprocess.run([sys.executable, "-m", "mmae.luma", "extract", str(fixture_dir), str(out), *CLI, *flags],
                          capture_output=True, text=True, cwd=ROOT)


def test_luma_extract_refuses_a_folder_that_is_not_its_own(fixture_dir, tmp_path):
    out = Path(shutil.copytree(BUNDLE_DIR, tmp_path / "bundle"))  # another program's bundle: same .npy names
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    one_line_error(extract(fixture_dir, out), str(out), "image_head.npz", "--overwrite")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written, nothing lost
    (tmp_path / "file").write_text("x")
    one_line_error(extract(fixture_dir, tmp_path / "file"), "must be a folder, got a file")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").touch()
    with pytest.raises(FileExistsError, match="it holds notes.txt"):  # the function refuses too, before any work
        luma.build_bundle(tmp_path / "no LUMA here", tmp_path / "c")


@pytest.mark.slow
def test_luma_extract_with_overwrite_then_a_stopped_run_resumes(fixture_dir, tmp_path):
    from mmae.luma import extract as ex

    out = tmp_path / "b"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    done = extract(fixture_dir, out, "--overwrite")
    assert done.returncode == 0, done.stderr
    assert (out / "notes.txt").read_text() == "mine"  # --overwrite writes its names; it deletes nothing else
    files = json.loads((out / "manifest.json").read_text())["files"]
    (out / "notes.txt").unlink()
    assert lo.foreign_entries(out) == []  # its earlier output: a plain rerun is welcome
    (out / "manifest.json").unlink()  # stopped before its manifest, with a part and an array missing
    (out / "train_text.npy").unlink()
    sorted((out / "parts").glob("train_audio_part*.npy"))[0].unlink()
    cfg = luma.ExtractConfig(image_size=32, finetune_epochs=1, head_epochs=1, text_max_length=16, device="cpu")
    luma.build_bundle(fixture_dir, out, cfg, ex.tiny_models(seed=cfg.seed), progress=False)  # no --overwrite needed
    assert json.loads((out / "manifest.json").read_text())["files"] == files  # the same bundle
    assert load_bundle(out).dims == {"image": 50, "audio": 1024, "text": 768}


# --------------------------------------------------------------------------- media build: its own
def test_what_media_build_calls_its_own(tmp_path):
    tiny50 = Path(shutil.copytree(BUNDLE50_DIR, tmp_path / "tiny50"))
    cifar = Path(shutil.copytree(BUNDLE_DIR, tmp_path / "cifar"))
    assert outputs.foreign_entries(tiny50, build50.FORMAT) == [] and outputs.foreign_entries(cifar, make.FORMAT) == []
    assert outputs.foreign_entries(cifar, build50.FORMAT)[0] == (
        "image_head.npz (no manifest.json of this builder: format "
        "'mmae-feature-bundle/1 (mmae.media: LUMA-like CIFAR-10 + espeak-ng + WordNet)')")
    (tiny50 / "notes.txt").touch()
    (tiny50 / "parts").mkdir()
    assert outputs.foreign_entries(tiny50, build50.FORMAT) == ["notes.txt", "parts"]
    (cifar / "manifest.json").unlink()
    assert outputs.foreign_entries(cifar, make.FORMAT)[0] == "image_head.npz (no manifest.json of this builder: none)"
    assert json.loads((BUNDLE50_DIR / "manifest.json").read_text())["format"] == build50.FORMAT  # what it writes
    assert json.loads((BUNDLE_DIR / "manifest.json").read_text())["format"] == make.FORMAT


@pytest.mark.parametrize("builder, fmt", [(build50.build, build50.FORMAT), (make.build, make.FORMAT)],
                         ids=["tiny50", "cifar10"])
def test_media_build_refuses_before_any_work_and_overwrite_proceeds(tmp_path, builder, fmt):
    source = tmp_path / "none.tar"  # the first work a build does is to read its source: reaching it means it proceeded
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=rf"{re.escape(str(out))} is not empty and not python -m mmae.media build's own work: "
                                              r"it holds notes.txt \(no manifest.json of this builder: none\)"):
        builder(out, source)
    assert (out / "notes.txt").read_text() == "mine"
    with pytest.raises(FileNotFoundError):
        builder(out, source, overwrite=True)  # proceeds: fails on the missing source
    own = Path(shutil.copytree(BUNDLE50_DIR if fmt == build50.FORMAT else BUNDLE_DIR, tmp_path / "own"))
    with pytest.raises(FileNotFoundError):
        builder(own, source)  # its own earlier output: proceeds without --overwrite
    with pytest.raises(FileNotFoundError):
        builder(tmp_path / "new", source)


def test_media_build_command_refuses_before_a_download(tmp_path, monkeypatch):
    import mmae.media.tinyimagenet as ti

    monkeypatch.setattr(ti, "download_tiny", lambda *a, **k: pytest.fail("downloaded before refusing"))
    (tmp_path / "notes.txt").touch()
    with pytest.raises(FileExistsError, match="notes.txt"):
        media_cli.main(["build", "--source", "download", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"^python -m mmae.media: error: .* it holds notes.txt .*--overwrite"):
        media_cli.cli(["build", "--set", "cifar10", "--out", str(tmp_path)])


# ------------------------------------------------------------------------------- media verify
@pytest.mark.parametrize("committed", [BUNDLE50_DIR, BUNDLE_DIR], ids=["tiny50", "cifar10"])
def test_verify_catches_zeroed_rows_by_their_hash_before_any_rebuild(tmp_path, committed):
    copy = Path(shutil.copytree(committed, tmp_path / "copy"))
    assert outputs.check_files(copy)["files"].keys() == json.loads((committed / "manifest.json").read_text())["files"].keys()
    a = np.load(copy / "train_image.npy")
    a[:-3] = 0  # almost every train image row zeroed: same shape, same dtype
    np.save(copy / "train_image.npy", a)
    message = rf"{re.escape(str(copy / 'train_image.npy'))}: sha256 must be [0-9a-f]{{64}} \(from manifest.json\), got [0-9a-f]{{64}}"
    with pytest.raises(ValueError, match=message):
        outputs.check_files(copy)
    verify = build50.verify if committed == BUNDLE50_DIR else make.verify
    with pytest.raises(ValueError, match=message):
        verify(copy, tmp_path / "no raw media.tar")  # fails at the hash stage: it never reaches raw media
    with pytest.raises(SystemExit, match=r"^python -m mmae.media: error: .*train_image.npy: sha256 must be"):
        media_cli.cli(["verify", "--set", "tiny50" if committed == BUNDLE50_DIR else "cifar10", "--bundle", str(copy)])


def test_verify_without_a_manifest_is_a_clear_error(tmp_path):
    copy = Path(shutil.copytree(BUNDLE_DIR, tmp_path / "copy"))
    (copy / "manifest.json").unlink()
    message = (rf"{re.escape(str(copy / 'manifest.json'))} is missing: verify checks every file of the bundle against the sha256 "
               "its manifest records, and a bundle without one cannot be verified")
    with pytest.raises(FileNotFoundError, match=message):
        outputs.check_files(copy)
    with pytest.raises(FileNotFoundError, match=message):
        build50.verify(copy, tmp_path / "none.tar")
    with pytest.raises(FileNotFoundError, match=rf"bundle folder {re.escape(str(tmp_path / 'nothing'))} does not exist"):
        outputs.check_files(tmp_path / "nothing")
    done = subprocess.run([sys.executable, "-m", "mmae.media", "verify", "--bundle", str(copy)],
                          capture_output=True, text=True, cwd=ROOT)
    one_line_error(done, str(copy / "manifest.json"), "is missing")


def test_the_rows_verify_rebuilds_are_drawn_at_random_and_seedable():
    counts = {"train": 100, "test": 20, "ood": 3}
    rows = outputs.draw_rows(counts, 4, seed=0)
    assert {s: r.tolist() for s, r in outputs.draw_rows(counts, 4, seed=0).items()} == {s: r.tolist() for s, r in rows.items()}
    assert rows["ood"].tolist() == [0, 1, 2]  # fewer rows than asked: all of them
    for s, r in rows.items():
        assert len(set(r.tolist())) == len(r) == min(4, counts[s]) and r.tolist() == sorted(r.tolist())
        assert 0 <= r.min() and r.max() < counts[s]
    assert outputs.draw_rows(counts, 4, seed=1)["train"].tolist() != rows["train"].tolist()
    assert outputs.draw_rows({"train": 10}, 3, seed=5)["train"].tolist() == sorted(
        np.random.default_rng(5).choice(10, 3, replace=False).tolist())  # numpy's generator, seeded


@pytest.mark.parametrize("rows, seed, error, message", [
    (0, 0, ValueError, r"n_rows must be >= 1, got 0"),
    (4, -1, ValueError, r"seed must be >= 0, got -1"),
    (2.0, 0, TypeError, r"n_rows must be an int, got float 2.0"),
    (4, True, TypeError, r"seed must be an int, got bool True"),
])
def test_draw_rows_errors(rows, seed, error, message):
    with pytest.raises(error, match=message):
        outputs.draw_rows({"train": 5}, rows, seed)
    with pytest.raises(ValueError, match=r"counts: every split must have at least 1 row, got \{'test': 0\}"):
        outputs.draw_rows({"train": 5, "test": 0}, 2)


def test_verify_rebuilds_the_drawn_rows_and_names_a_row_that_differs(monkeypatch):
    """The comparison stage, with the rebuild from raw media replaced by the bundle's own rows."""
    f = load_bundle(BUNDLE50_DIR)
    asked = {}

    def stored(bundle, split, rows, tiny):
        asked[split] = rows.tolist()
        return {**{m: f.x[split][m][rows] for m in f.modalities}, "labels": f.y[split][rows],
                "nuisance_speaker": f.nuisance[split]["speaker"][rows]}

    monkeypatch.setattr(build50, "rebuild_rows", stored)
    report = build50.verify(BUNDLE50_DIR, "unused", n_rows=3, seed=7)
    drawn = outputs.draw_rows({s: len(f.y[s]) for s in ("train", "test", "ood")}, 3, seed=7)
    assert report["rows"] == asked == {s: r.tolist() for s, r in drawn.items()}
    assert report["seed"] == 7 and report["files"] == len(json.loads((BUNDLE50_DIR / "manifest.json").read_text())["files"])
    assert all(d == 0.0 for diffs in report["max_abs_difference"].values() for d in diffs.values())

    def off(bundle, split, rows, tiny):
        out = stored(bundle, split, rows, tiny)
        out["text"] = out["text"] + 1.0
        return out

    monkeypatch.setattr(build50, "rebuild_rows", off)
    with pytest.raises(ValueError, match=rf"train_text: rows {re.escape(str(drawn['train'].tolist()))} rebuilt from raw media differ "
                                         r"from the bundle \(max abs difference 1\)"):
        build50.verify(BUNDLE50_DIR, "unused", n_rows=3, seed=7)
