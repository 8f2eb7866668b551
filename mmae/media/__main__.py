"""``python -m mmae.media build|verify [--set tiny50|cifar10]``: rebuild a real media set from raw
media, or check the committed one (default: the LUMA-shaped 50-class set).

``build`` writes only into a folder that is absent, empty or the same builder's earlier output (a
``manifest.json`` of its format listing every other file there), and replaces it whole; anything
else is refused before any work (before a download too), unless ``--overwrite``. Its resumable
chunks live in the cache (``MMAE_CACHE/media-build/``), so a stopped build resumes there.
``verify`` checks every file's sha256 against the manifest, then rebuilds ``--rows`` rows of every
split drawn at random with ``--seed`` and compares them; a bundle without a manifest, a file that
changed or a row that differs ends it with a one-line error naming the file (exit status 1).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from mmae import cluster


def _build(args) -> Path:
    from mmae.media.outputs import claim_out

    out = args.out or _bundle(args)
    if args.set == "cifar10":
        from mmae.media.cifar import download_cifar
        from mmae.media.make import FORMAT, MediaConfig, build

        claim_out(out, FORMAT, args.overwrite)  # before a download
        cifar = download_cifar() if args.source == "download" else Path(args.source or _default(args))
        return build(out, cifar, MediaConfig(seed=args.seed, image_features=args.image_features), overwrite=args.overwrite)
    from mmae.media.build50 import FORMAT, build
    from mmae.media.make50 import Tiny50Config
    from mmae.media.tinyimagenet import download_tiny

    claim_out(out, FORMAT, args.overwrite)  # before a download
    tiny = download_tiny() if args.source == "download" else Path(args.source or _default(args))
    cfg = Tiny50Config(seed=args.seed, image_features=args.image_features, audio=args.audio)
    return build(out, tiny, cfg, overwrite=args.overwrite)


def _default(args) -> Path:
    from mmae.media import cifar, tinyimagenet

    return (cifar if args.set == "cifar10" else tinyimagenet).DEFAULT_TAR


def _bundle(args) -> Path:
    from mmae.media import BUNDLE50_DIR, BUNDLE_DIR

    return BUNDLE_DIR if args.set == "cifar10" else BUNDLE50_DIR


def _verify(args) -> dict:
    if args.set == "cifar10":
        from mmae.media.make import verify
    else:
        from mmae.media.build50 import verify
    return verify(args.bundle or _bundle(args), args.source or _default(args), args.rows, args.seed)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see ``--help``)."""
    p = argparse.ArgumentParser(prog="python -m mmae.media", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads of this process's own work (default: torch's); a chunk task runs with one")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a set from raw media (tiny50: Tiny ImageNet, 15 voices, WordNet)",
                       description=BUILD_HELP)
    v = sub.add_parser("verify", help="check every file's sha256, rebuild a few rows of every split and compare",
                       description=VERIFY_HELP)
    for q in (b, v):
        q.add_argument("--set", default="tiny50", choices=("tiny50", "cifar10"),
                       help="tiny50: the LUMA-shaped default (data='real'); cifar10: the small set (data='real:cifar10')")
        q.add_argument("--source", default=None,
                       help="the image source: a tar or official archive, or 'download' (default: ../shared/data's tar)")
    b.add_argument("--out", default=None, help="destination folder (default: the committed bundle); absent, empty "
                   "or this builder's earlier output")
    b.add_argument("--overwrite", action="store_true",
                   help="replace the destination folder even when it holds files that are not this builder's output")
    b.add_argument("--image-features", default="finetuned_logits", choices=("finetuned_logits", "penultimate_pca"),
                   help="LUMA's head fine-tuned on the labels, or the label-free PCA-50 of the backbone")
    b.add_argument("--audio", default="whisper", choices=("whisper", "logmel"), help="tiny50: the audio features")
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--scheduler", type=cluster.option, default=None, help=SCHEDULER_HELP)
    v.add_argument("--bundle", default=None, help="the bundle folder (default: the committed one)")
    v.add_argument("--rows", type=int, default=4, help="rows per split rebuilt from raw media, drawn at random")
    v.add_argument("--seed", type=int, default=0, help="seed of the draw of rows (the same seed, the same rows)")
    args = p.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    start = time.time()
    if args.command == "build":
        with cluster.scheduler(args.scheduler, default="serial") as where:
            if args.set == "cifar10" and where != "serial":
                warnings.warn(f"--set cifar10 has no chunks to send to {where}: it builds in this process", stacklevel=1)
            cluster.client()  # a scheduler that cannot be reached fails now, before any work
            print(f"wrote {_build(args)} in {time.time() - start:.0f} s")
    else:
        report = _verify(args)
        print(json.dumps(report, indent=1))
        print(f"OK: the files match the manifest and the rebuilt rows match ({time.time() - start:.0f} s)")
    return 0


#: what ``build --help`` says of the destination folder
BUILD_HELP = ("Build a real media set from raw media into --out, replacing that folder whole. --out must be absent, "
              "empty, or this builder's earlier output (a manifest.json of this builder's format listing every other "
              "file in it); anything else is refused before any work, unless --overwrite. The resumable chunks live "
              "in MMAE_CACHE/media-build/, not in --out: a stopped build resumes from them.")
#: what ``build --help`` says of --scheduler
SCHEDULER_HELP = ("where the (split, class) chunks of tiny50 run, one task each: 'serial' (this process, one after another), "
                  "'local' (a Dask LocalCluster, one worker per core) or a Dask scheduler's address (tcp://host:8786); "
                  "default: MMAE_SCHEDULER when set, else serial. Each worker loads the encoders once and synthesises "
                  "its clips (it needs the voice engines); on a cluster, MMAE_CACHE (the chunks) must be on a file "
                  "system the workers share. The set is the same byte for byte wherever the chunks ran. cifar10 has no "
                  "chunks: it always builds in this process.")
#: what ``verify --help`` says it does
VERIFY_HELP = ("Check every file of the bundle against the sha256 its manifest.json records, then rebuild --rows rows "
               "of every split, drawn at random with --seed, from raw media and compare them with the bundle's. A "
               "bundle without a manifest, a file that changed or a row that differs is an error naming the file.")


def cli(argv: list[str] | None = None) -> int:
    """:func:`main`, with a refused folder, a missing or changed file or a differing row reported on
    one line (exit status 1) instead of a traceback."""
    try:
        return main(argv)
    except (FileExistsError, FileNotFoundError, NotADirectoryError, ValueError) as err:
        sys.exit(f"python -m mmae.media: error: {err}")


if __name__ == "__main__":
    sys.exit(cli())
