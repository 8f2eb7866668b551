"""``python -m mmae.media build|verify [--set tiny50|cifar10]``: rebuild a real media set from raw
media, or check the committed one (default: the LUMA-shaped 50-class set)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def _build(args) -> Path:
    if args.set == "cifar10":
        from mmae.media.cifar import download_cifar
        from mmae.media.make import MediaConfig, build

        cifar = download_cifar() if args.source == "download" else Path(args.source or _default(args))
        return build(args.out or _bundle(args), cifar, MediaConfig(seed=args.seed, image_features=args.image_features))
    from mmae.media.build50 import build
    from mmae.media.make50 import Tiny50Config
    from mmae.media.tinyimagenet import download_tiny

    tiny = download_tiny() if args.source == "download" else Path(args.source or _default(args))
    cfg = Tiny50Config(seed=args.seed, image_features=args.image_features, audio=args.audio)
    return build(args.out or _bundle(args), tiny, cfg)


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
    return verify(args.bundle or _bundle(args), args.source or _default(args), args.rows)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see ``--help``)."""
    p = argparse.ArgumentParser(prog="python -m mmae.media", description=__doc__)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a set from raw media (tiny50: Tiny ImageNet, 15 voices, WordNet)")
    v = sub.add_parser("verify", help="check every file's sha256, rebuild a few rows of every split and compare")
    for q in (b, v):
        q.add_argument("--set", default="tiny50", choices=("tiny50", "cifar10"),
                       help="tiny50: the LUMA-shaped default (data='real'); cifar10: the small set (data='real:cifar10')")
        q.add_argument("--source", default=None,
                       help="the image source: a tar or official archive, or 'download' (default: ../shared/data's tar)")
    b.add_argument("--out", default=None, help="destination folder (default: the committed bundle)")
    b.add_argument("--image-features", default="finetuned_logits", choices=("finetuned_logits", "penultimate_pca"),
                   help="LUMA's head fine-tuned on the labels, or the label-free PCA-50 of the backbone")
    b.add_argument("--audio", default="whisper", choices=("whisper", "logmel"), help="tiny50: the audio features")
    b.add_argument("--seed", type=int, default=42)
    v.add_argument("--bundle", default=None, help="the bundle folder (default: the committed one)")
    v.add_argument("--rows", type=int, default=4, help="rows per split")
    args = p.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    start = time.time()
    if args.command == "build":
        print(f"wrote {_build(args)} in {time.time() - start:.0f} s")
    else:
        report = _verify(args)
        print(json.dumps(report, indent=1))
        print(f"OK: the files match the manifest and the rebuilt rows match ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
