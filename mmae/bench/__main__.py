"""``python -m mmae.bench [--eval | --search | --sweeps] [--tiny] [--save | --out FILE]``: see :mod:`mmae.bench`."""
from __future__ import annotations

import argparse
import shlex
import sys

from mmae.bench import evaluation, results, search, sweeps, training
from mmae.report.search import PATH as SEARCH_PATH


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m mmae.bench", description=__doc__)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--eval", action="store_true", help="time chapters 08-12's tables, today's path against the batched engine")
    what.add_argument("--search", action="store_true", help="archive search: faiss indexes on 1 M and 10 M latents beside today's path")
    what.add_argument("--sweeps", action="store_true", help="the zoo of chapter 7 serially and on the local cluster, "
                                                            "and a model of N workers")
    p.add_argument("--epochs", type=int, default=None,
                   help="training: measured epochs per trainer (default 5); --eval: the zoo's epochs (5); --sweeps (2)")
    p.add_argument("--warmup", type=int, default=1, help="training: epochs run first and not measured (>= 0)")
    p.add_argument("--seeds", type=int, default=5, help="seeds trained together (training, >= 2) or in the zoo (--eval, >= 1)")
    p.add_argument("--rounds", type=int, default=3, help="training: how many times the trainers take turns (>= 1)")
    p.add_argument("--compile", action="store_true", help="training: add the torch.compile rows (compiling takes minutes on a CPU)")
    p.add_argument("--data", default="real", help="--eval: the data set (mmae.data.load_features)")
    p.add_argument("--artifacts-dir", default="artifacts", help="--eval: where the zoo is cached")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="a tiny run, in seconds, that proves it works")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--save", action="store_true",
                       help="write the result to book/benchmarks/ ({train|eval}-{device}.json, search-cpu.json)")
    where.add_argument("--out", help="write the result to this file")
    return p


def check(args, p: argparse.ArgumentParser) -> None:
    """Refuse options that would measure nothing, before any work (argparse's error: exit 2)."""
    args.epochs = args.epochs if args.epochs is not None else 2 if args.sweeps else 5
    low = {"epochs": 1, "warmup": 0, "rounds": 1, "seeds": 1 if args.eval or args.sweeps else 2}
    for name, least in low.items():
        if getattr(args, name) < least:
            p.error(f"--{name} must be >= {least}, got {getattr(args, name)}")
    if args.compile and (args.eval or args.search or args.sweeps):
        p.error("--compile applies to the training benchmark only")
    if args.tiny and args.save:
        p.error("--tiny proves the benchmark runs; its numbers are not results: --save is refused (use --out FILE)")
    try:
        from mmae.device import pick_device

        pick_device(args.device)
    except (ValueError, RuntimeError) as e:
        p.error(str(e))


def main(argv=None) -> None:
    p = parser()
    args = p.parse_args(argv)
    check(args, p)
    if args.search:
        table, info = search.run(tiny=args.tiny)
        text = search.report(table, info)
    elif args.eval:
        table, info = evaluation.run(args.data, args.epochs, args.seeds, args.device, args.artifacts_dir, args.tiny)
        text = evaluation.report(table, info)
    elif args.sweeps:
        table, info = sweeps.run(args.data, args.epochs, args.seeds, args.tiny)
        text = sweeps.report(table, info)
    else:
        epochs, warmup = (1, 0) if args.tiny else (args.epochs, args.warmup)
        table, info = training.run(epochs, warmup, args.seeds, args.device, args.tiny, args.compile, args.rounds)
        text = training.report(table, info)
    print(text)
    if not (args.save or args.out):
        print("\nnot written (--save writes book/benchmarks/, --out FILE elsewhere)")
        return
    command = "python -m mmae.bench " + shlex.join(sys.argv[1:] if argv is None else argv)
    kind = "search" if args.search else "eval" if args.eval else "sweeps" if args.sweeps else "train"
    if args.search:
        rec, default = search.record(table, info, command.strip()), SEARCH_PATH
    else:
        rec, default = results.record(kind, table, info, command.strip()), results.default_path(kind, info["device"])
    print(f"\nwrote {results.save(rec, args.out or default)}")


if __name__ == "__main__":
    main()
