"""Extraction on the cluster (issue 24, item 3): one task per chunk, the model loaded once per worker
(never sent with a task), a dead worker's chunk run again, and the bundle the same byte for byte as
the serial one; ``--scheduler`` refused before any work when it names nowhere."""
import contextlib
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mmae import cluster, luma
from mmae.luma import __main__ as luma_cli
from mmae.luma import extract
from mmae.media import __main__ as media_cli

TINY = ["--tiny", "--image-size", "32", "--finetune-epochs", "2", "--head-epochs", "1", "--text-max-length", "32",
        "--batch-size", "16", "--chunk-size", "40", "--device", "cpu"]
TEXTS = ["the dog", "a cat and a man", "the woman", "a dog on the cat", "of the man", "cat"]
TEXT_OPTIONS = (("batch_size", 2), ("device", "cpu"), ("max_length", 16), ("pooling", "mean"))
pytestmark = pytest.mark.usefixtures("one_thread")


@dataclass(frozen=True)
class Dying:
    """An extractor whose first task kills its worker (once: the marker file says it happened)."""

    marker: str
    extractor: extract.Extractor


def die_once_then_extract(dying, chunk):
    try:  # one task, of all, makes the marker (two workers may start at once): it dies
        with open(dying.marker, "x") as marker:
            marker.write("died")
    except FileExistsError:
        return extract.extract_chunk(dying.extractor, chunk)
    os._exit(1)  # no exception: the worker process is gone, mid-chunk



@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    return luma.write_fixture(tmp_path_factory.mktemp("luma"))


def text_extractor(source=extract.ModelSource("tiny", seed=0)) -> extract.Extractor:
    bert, tokenizer = extract.tiny_models(seed=0)["text"]
    return extract.Extractor("text", TEXT_OPTIONS, extract.model_fingerprint(bert), source, model=(bert, tokenizer))


@contextlib.contextmanager
def serial(torch_threads: int = 2):
    """Tasks here, in a process whose BLAS (and torch) use 2 threads, as a plain process's do: a
    task runs with MMAE_TASK_THREADS (1 in the suite) of each wherever it runs, and so gives a Dask
    worker's bytes."""
    from threadpoolctl import threadpool_limits

    with cluster.scheduler("serial"), cluster.torch_threads(torch_threads):
        with threadpool_limits(limits=2, user_api="blas"):
            yield


def npy_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.npy"))}


# ----------------------------------------------------------------------------- --scheduler, refused
@pytest.mark.parametrize("command", [["extract", "LUMA", "OUT", *TINY], ["build", "--out", "OUT"]])
def test_a_scheduler_that_names_nowhere_is_refused_before_any_work(command, tmp_path, capsys):
    main = luma_cli.main if command[0] == "extract" else media_cli.main
    argv = [str(tmp_path / a) if a in ("LUMA", "OUT") else a for a in command]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--scheduler", "slurm"])
    assert stop.value.code == 2
    assert ("argument --scheduler: expected 'local', 'serial' or a scheduler address such as tcp://host:8786, "
            "got 'slurm'") in capsys.readouterr().err
    assert not (tmp_path / "OUT").exists()


def test_a_bad_mmae_scheduler_stops_extract_before_any_work(fixture_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(cluster.SCHEDULER, "slurm")
    with pytest.raises(ValueError, match="MMAE_SCHEDULER must be 'local', 'serial' or a scheduler address such as "
                                         r"tcp://host:8786 \(schemes: tcp, tls, ws, wss, ucx, inproc\), got 'slurm'"):
        luma_cli.main(["extract", str(fixture_dir), str(tmp_path / "out"), *TINY])
    assert not (tmp_path / "out").exists()


def test_the_scheduler_of_a_command_is_set_for_it_and_restored(monkeypatch):
    monkeypatch.delenv(cluster.SCHEDULER, raising=False)
    with cluster.scheduler(None, default="serial") as where:
        assert where == os.environ[cluster.SCHEDULER] == "serial" and cluster.address() == "serial"
    assert cluster.SCHEDULER not in os.environ
    monkeypatch.setenv(cluster.SCHEDULER, "tcp://10.0.0.1:8786")
    with cluster.scheduler(None, default="serial") as where:  # MMAE_SCHEDULER, when set, is the default
        assert where == "tcp://10.0.0.1:8786"
    with cluster.scheduler(" local ") as where:
        assert where == os.environ[cluster.SCHEDULER] == "local"
    assert os.environ[cluster.SCHEDULER] == "tcp://10.0.0.1:8786"
    with pytest.raises(ValueError, match="--scheduler must be 'local', 'serial' or a scheduler address"):
        cluster.check("slurm", "--scheduler")
    with pytest.raises(TypeError, match="MMAE_SCHEDULER must be a str, got int 8786"):
        cluster.check(8786)


# ------------------------------------------------------------------------------- tasks and models
def test_an_extractor_travels_without_its_model_when_a_source_can_make_it(tmp_path):
    task = text_extractor()
    light = pickle.loads(pickle.dumps(task))
    assert light.model is None and light == task and len(pickle.dumps(task)) < 1000
    heavy = pickle.loads(pickle.dumps(text_extractor(source=None)))  # models given as objects travel
    assert heavy.model is not None and len(pickle.dumps(heavy)) > 100_000
    here, there = extract.extract_chunk(task, TEXTS[:2]), extract.extract_chunk(light, TEXTS[:2])
    assert here.tobytes() == there.tobytes()  # the worker's model (made from the seed) is the same model
    assert extract.tasks.worker_model.cache_info().currsize == 1


def test_a_worker_with_other_weights_fails_instead_of_computing_other_features():
    other = extract.Extractor("text", TEXT_OPTIONS, "0" * 64, extract.ModelSource("tiny", seed=1))
    with pytest.raises(ValueError, match="the tiny text model: expected fingerprint 0{64}, got [0-9a-f]{64} in this "
                                         "worker .*shared file system"):
        extract.extract_chunk(other, TEXTS[:1])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"name": "hub"}, ValueError, r"ModelSource.name must be one of \('pretrained', 'tiny'\), got 'hub'"),
    ({"seed": "0"}, TypeError, "ModelSource.seed must be an int, got str '0'"),
    ({"dims": {"image": 6}}, TypeError, r"ModelSource.dims must be a tuple of \(kind, size\) pairs, got \{'image': 6\}")])
def test_model_source_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        extract.ModelSource(**kwargs)


def test_build_bundle_refuses_models_of_another_kind(fixture_dir, tmp_path):
    with pytest.raises(TypeError, match="models must be a ModelSource, a dict of models or None, got str"):
        luma.build_bundle(fixture_dir, tmp_path / "out", models="tiny")


def test_a_part_the_workers_did_not_share_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(extract.chunks, "save_npy", lambda path, a: path)  # as if written on another machine
    with pytest.raises(FileNotFoundError, match=r"x_part00000.npy was written by a task but is not here: the workers "
                                                "of MMAE_SCHEDULER must share this folder"):
        extract.run_in_chunks(extract.extract_chunk, TEXTS, tmp_path, "x", chunk_size=3, shared=text_extractor())


# ------------------------------------------------------------------------------------ the cluster
@pytest.mark.slow
def test_a_luma_bundle_extracted_on_a_local_cluster_equals_the_serial_one(local, fixture_dir, tmp_path):
    with serial(torch_threads=1):  # VGG is fine-tuned here, not in a task: with this process's thread, in both runs
        assert luma_cli.main(["extract", str(fixture_dir), str(tmp_path / "serial"), *TINY, "--scheduler", "serial"]) == 0
    assert luma_cli.main(["extract", str(fixture_dir), str(tmp_path / "local"), *TINY, "--scheduler", "local"]) == 0
    alone, parallel = npy_bytes(tmp_path / "serial"), npy_bytes(tmp_path / "local")
    manifests = [json.loads((tmp_path / w / "manifest.json").read_text()) for w in ("serial", "local")]
    chunks = sum(-(-n // 40) for n in manifests[0]["counts"].values())  # --chunk-size 40
    assert chunks >= 4 and sorted(alone) == sorted(parallel) and len([f for f in alone if "_part" in f]) == 3 * chunks
    assert [f for f in alone if alone[f] != parallel[f]] == []  # every array and every part, byte for byte
    assert manifests[0]["files"] == manifests[1]["files"]  # every file's sha256
    assert manifests[0]["models"] == manifests[1]["models"]


@pytest.mark.slow
def test_a_chunk_whose_worker_dies_runs_again_and_gives_the_same_part(local, tmp_path):
    with serial():
        alone = extract.run_in_chunks(extract.extract_chunk, TEXTS, tmp_path / "serial", "t", chunk_size=2,
                                      shared=text_extractor())
    dying = Dying(str(tmp_path / "died"), text_extractor())
    again = extract.run_in_chunks(die_once_then_extract, TEXTS, tmp_path / "cluster", "t", chunk_size=2, shared=dying)
    assert (tmp_path / "died").read_text() == "died"  # a worker died mid-chunk ...
    assert again.tobytes() == alone.tobytes()  # ... and its chunk ran again elsewhere, the same
    assert npy_bytes(tmp_path / "serial") == npy_bytes(tmp_path / "cluster")


@pytest.mark.slow
def test_media_chunks_on_a_local_cluster_equal_the_serial_ones(local, tmp_path):
    from mmae.media import classes50 as cl
    from mmae.media import extract50, make50, tinyimagenet

    if not tinyimagenet.DEFAULT_TAR.is_file():
        pytest.fail(f"Tiny ImageNet subset missing: put tinyimagenet-subset.tar at {tinyimagenet.DEFAULT_TAR}")
    cfg = make50.Tiny50Config(clips_train=2)
    images = tinyimagenet.read_tiny(tinyimagenet.DEFAULT_TAR, tuple(c.wnid for c in cl.CLASSES[:2]))

    def chunks(work):
        return [extract50.Chunk("train", k, str(work / f"train_{k}_penultimate.npy"), str(work / f"train_{k}_whisper.npy"),
                                images[cl.CLASSES[k].wnid][:3], True) for k in (0, 1)]

    with serial():  # numpy's BLAS threads change Whisper's log-mel, and so its int8 encodings
        alone = extract50.run_chunks(cfg, chunks(tmp_path / "serial"), tmp_path / "serial", progress=False)
    parallel = extract50.run_chunks(cfg, chunks(tmp_path / "local"), tmp_path / "local", progress=False)
    assert sorted(alone) == sorted(parallel) == sorted(f"train_{k}_{m}.npy" for k in (0, 1) for m in ("penultimate", "whisper"))
    assert npy_bytes(tmp_path / "serial") == npy_bytes(tmp_path / "local")
    assert [np.load(tmp_path / "local" / f).shape for f in sorted(parallel)] == [(3, 1280), (2, 512)] * 2
    assert json.loads((tmp_path / "local" / "timings.json").read_text()) == parallel  # written once, by this process


# ---------------------------------------------------------------------------------- media chunks
def test_media_plan_names_every_chunk_and_sends_only_what_is_not_cached(tmp_path):
    from mmae.media import classes50 as cl
    from mmae.media import extract50, make50

    cfg = make50.Tiny50Config(n_train=2, n_test=1, n_ood=2)
    table = make50.draw(cfg, {k: {"train": 3, "test": 2, "all": 5} for k in range(50)})
    images = {c.wnid: np.broadcast_to(np.uint8(k), (550, 64, 64, 3)) for k, c in enumerate(cl.CLASSES)}
    (tmp_path / "train_0_penultimate-i.npy").touch()
    (tmp_path / "ood_49_whisper-a.npy").touch()
    chunks = extract50.plan(cfg, table, images, {"image": "i", "audio": "a"}, tmp_path)
    assert [(c.split, c.label) for c in chunks] == [(s, k) for s in ("train", "test", "ood") for k in make50.split_classes(s)]
    assert chunks[0].images is None and chunks[0].audio and chunks[-1].images is not None and not chunks[-1].audio
    assert chunks[1].image_file == str(tmp_path / "train_1_penultimate-i.npy") and chunks[1].images.shape == (2, 64, 64, 3)
    assert {int(c.images.max()) for c in chunks[1:]} == {c.label for c in chunks[1:]}  # each chunk its class's photographs


def test_a_clips_voice_is_known_without_synthesising_it(monkeypatch):
    from mmae.media import make50

    monkeypatch.setattr(make50.voices, "clip", lambda word, voice, rng: np.zeros(3, np.float32))
    cfg = make50.Tiny50Config()
    for split, label, j in [("train", 0, 0), ("train", 41, 11), ("test", 5, 3), ("ood", 49, 7)]:
        assert make50.voice_of(cfg, split, label, j) == make50.clip_of(cfg, split, label, j)[1]
