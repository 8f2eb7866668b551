"""Command line: ``python -m mmae.luma download|extract|fixture`` (``--help`` on each)."""
from __future__ import annotations

import argparse
from dataclasses import asdict

import mmae.luma
from mmae.luma.bundle import build_bundle
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
    e = sub.add_parser("extract", help="turn LUMA_DIR into a feature bundle in OUT_DIR")
    e.add_argument("luma_dir")
    e.add_argument("out_dir")
    for name, default in asdict(ExtractConfig()).items():
        kw = {"choices": CHOICES[name]} if name in CHOICES else {}
        typ = _boolean if isinstance(default, bool) else type(default)
        e.add_argument(f"--{name.replace('_', '-')}", type=typ, default=default, **kw)
    e.add_argument("--tiny", action="store_true", help="small random models (tests, offline demo)")
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
        models = extract.tiny_models(seed=cfg.seed) if args.tiny else None
        print(build_bundle(args.luma_dir, args.out_dir, cfg, models))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
