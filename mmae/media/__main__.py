"""``python -m mmae.media build|verify``: rebuild the media bundle from raw media, or check it."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see ``--help``)."""
    from mmae.media import BUNDLE_DIR
    from mmae.media.cifar import DEFAULT_TAR, download_cifar
    from mmae.media.make import MediaConfig, build, verify

    p = argparse.ArgumentParser(prog="python -m mmae.media", description=__doc__)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the bundle from CIFAR-10, espeak-ng and WordNet")
    b.add_argument("--cifar", default=str(DEFAULT_TAR),
                   help="the CIFAR-10 JPEG subset tar, the official cifar-10-python.tar.gz, or 'download' "
                        f"(default {DEFAULT_TAR})")
    b.add_argument("--out", default=str(BUNDLE_DIR), help=f"destination folder (default {BUNDLE_DIR})")
    b.add_argument("--image-features", default="finetuned_logits", choices=("finetuned_logits", "penultimate_pca"))
    b.add_argument("--seed", type=int, default=42)
    v = sub.add_parser("verify", help="rebuild a few rows of every split and compare with the bundle")
    v.add_argument("--bundle", default=str(BUNDLE_DIR))
    v.add_argument("--cifar", default=str(DEFAULT_TAR))
    v.add_argument("--rows", type=int, default=8, help="rows per split")
    args = p.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    start = time.time()
    if args.command == "build":
        cifar = download_cifar() if args.cifar == "download" else Path(args.cifar)
        out = build(args.out, cifar, MediaConfig(seed=args.seed, image_features=args.image_features))
        print(f"wrote {out} in {time.time() - start:.0f} s")
    else:
        report = verify(args.bundle, args.cifar, args.rows)
        print(json.dumps(report, indent=1))
        print(f"OK: rebuilt rows match {args.bundle} ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
