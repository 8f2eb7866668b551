"""Command line: ``python -m mmae.luma download|extract|fixture`` (``--help`` on each)."""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

import mmae.luma
from mmae import cluster
from mmae.luma.bundle import build_bundle
from mmae.luma.outputs import claim_out
from mmae.luma.config import CHOICES, ExtractConfig
from mmae.luma.fetch import download
from mmae.luma.fixture import write_fixture


def _boolean(value: str) -> bool:
    """``true/yes/1`` or ``false/no/0`` (any case); anything else is an argparse error, not False."""
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if value.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")
    return words[value.lower()]


def main(argv: list[str] | None = None) -> int:
    """``python -m mmae.luma download|extract|fixture`` (``--help`` on each)."""
    p = argparse.ArgumentParser(prog="python -m mmae.luma", description=mmae.luma.__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("download", help="fetch LUMA, its split files and CIFAR into LUMA_DIR")
    d.add_argument("luma_dir")
    e = sub.add_parser("extract", help="turn LUMA_DIR into a feature bundle in OUT_DIR", description=EXTRACT_HELP)
    e.add_argument("luma_dir")
    e.add_argument("out_dir")
    e.add_argument("--overwrite", action="store_true",
                   help="write into OUT_DIR even when it holds files that are not extract's own")
    for name, default in asdict(ExtractConfig()).items():
        kw = {"choices": CHOICES[name]} if name in CHOICES else {}
        typ = _boolean if isinstance(default, bool) else type(default)
        e.add_argument(f"--{name.replace('_', '-')}", type=typ, default=default, **kw)
    e.add_argument("--tiny", action="store_true", help="small random models (tests, offline demo)")
    e.add_argument("--scheduler", type=cluster.option, default=None, help=SCHEDULER_HELP)
    f = sub.add_parser("fixture", help="write a tiny LUMA-layout copy into FOLDER")
    f.add_argument("folder")
    args = p.parse_args(argv)
    if args.command == "download":
        print(download(args.luma_dir))
    elif args.command == "fixture":
        print(write_fixture(args.folder))
    else:
        from mmae.luma import extract

        cfg = ExtractConfig(**{k: getattr(args, k) for k in asdict(ExtractConfig())})
        with cluster.scheduler(args.scheduler, default="serial"):  # a bad MMAE_SCHEDULER stops here
            claim_out(args.out_dir, args.overwrite)  # before any model is made or downloaded
            models = extract.ModelSource("tiny", seed=cfg.seed) if args.tiny else None
            cluster.client()  # a scheduler that cannot be reached fails now, before any work
            print(build_bundle(args.luma_dir, args.out_dir, cfg, models, overwrite=args.overwrite))
    return 0


#: what ``extract --help`` says of --scheduler
SCHEDULER_HELP = (
    "where the chunk tasks run (one task per chunk of --chunk-size items): 'serial' (this process, one after "
    "another), 'local' (a Dask LocalCluster, one worker per core) or a Dask scheduler's address "
    "(tcp://host:8786); default: MMAE_SCHEDULER when set, else serial. Each worker loads the models once; "
    "on a cluster, LUMA_DIR, OUT_DIR and the model cache must be on a file system the workers share. "
    "The bundle is the same byte for byte wherever the chunks ran.")


#: what ``extract --help`` says of OUT_DIR
EXTRACT_HELP = (
    "Extract every split x modality of the LUMA copy LUMA_DIR into a feature bundle in OUT_DIR. OUT_DIR "
    "must be absent, empty, or extract's own: a bundle it wrote before (a manifest.json of format "
    "mmae-luma-bundle/1), or the resumable work of a run that stopped (parts/stamp.txt), holding only the "
    "names it writes; a stopped run resumes from its parts. Anything else there (another file, another "
    "program's manifest or bundle) is refused before any work, unless --overwrite.")


def cli(argv: list[str] | None = None) -> int:
    """:func:`main`, with a refused or missing folder or file reported on one line (exit status 1)
    instead of a traceback."""
    try:
        return main(argv)
    except (FileExistsError, FileNotFoundError, NotADirectoryError, ValueError) as err:
        sys.exit(f"python -m mmae.luma: error: {err}")


if __name__ == "__main__":
    raise SystemExit(cli())
