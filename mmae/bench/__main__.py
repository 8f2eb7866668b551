"""``python -m mmae.bench [--eval] [--tiny] [--out FILE]``: see :mod:`mmae.bench`."""
from __future__ import annotations

import argparse
import shlex
import sys

from mmae.bench import evaluation, results, training


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m mmae.bench", description=__doc__)
    p.add_argument("--eval", action="store_true", help="time chapters 08-12's tables, today's path against the batched engine")
    p.add_argument("--epochs", type=int, default=5, help="training: measured epochs per trainer; --eval: the zoo's epochs")
    p.add_argument("--warmup", type=int, default=1, help="training: epochs run first and not measured")
    p.add_argument("--seeds", type=int, default=5, help="seeds trained together (training) or in the zoo (--eval)")
    p.add_argument("--no-compile", action="store_true", help="training: leave out the torch.compile row")
    p.add_argument("--data", default="real", help="--eval: the data set (mmae.data.load_features)")
    p.add_argument("--artifacts-dir", default="artifacts", help="--eval: where the zoo is cached")
    p.add_argument("--device", default="auto")
    p.add_argument("--tiny", action="store_true", help="a tiny run that proves it works; writes only with --out")
    p.add_argument("--out", help="the result file (default: book/benchmarks/{train|eval}-{device}.json)")
    args = p.parse_args(argv)
    if args.eval:
        table, info = evaluation.run(args.data, args.epochs, args.seeds, args.device, args.artifacts_dir, args.tiny)
        text = evaluation.report(table, info)
    else:
        epochs, warmup = (1, 0) if args.tiny else (args.epochs, args.warmup)
        table, info = training.run(epochs, warmup, args.seeds, args.device, args.tiny, not args.no_compile)
        text = training.report(table, info)
    print(text)
    kind = "eval" if args.eval else "train"
    if args.out or not args.tiny:
        command = "python -m mmae.bench " + shlex.join(sys.argv[1:] if argv is None else argv)
        path = results.save(results.record(kind, table, info, command.strip()),
                            args.out or results.default_path(kind, info["device"]))
        print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
