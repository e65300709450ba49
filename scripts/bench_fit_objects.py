"""Fitting accuracy on synthetic objects: GA vs coordinate descent, random search, CMA-ES.

    python scripts/bench_fit_objects.py --objects 5 --seed 1000
    python scripts/bench_fit_objects.py --programs chair table --methods ga coord --noise --holes

Objects are drawn from seeds derived from --seed (the fitting code was developed on other
seeds). Baselines get the GA default's time per object. Prints one line per fit, then the
per-program x method table and the GA / coordinate-descent ratios measured in the same run.
torch runs single-threaded by default: on the shared 2-core machine two threads measured
several times slower per op under load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--programs", nargs="+", default=None, help="program names (library or tests/data/blender)")
    ap.add_argument("--objects", type=int, default=5, help="objects per program")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--methods", nargs="+", default=["ga", "coord", "random", "cma"],
                    help="ga ga-paper coord random cma")
    ap.add_argument("--preset", default="default", help="GA preset for 'ga': fast, default, paper")
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--noise", action="store_true", help="Kinect-like depth noise")
    ap.add_argument("--holes", action="store_true", help="missing depth (blobs, edges)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="write per-object rows here")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from procsplat.fit.bench import (DEFAULT_PROGRAMS, METHODS, BenchConfig, format_table, peer_ratios,
                                     run_benchmark, summarise)

    bad = [m for m in args.methods if m not in METHODS]
    if bad:
        ap.error(f"unknown method(s) {bad}; known: {', '.join(METHODS)}")
    cfg = BenchConfig(programs=tuple(args.programs or DEFAULT_PROGRAMS), objects=args.objects, seed=args.seed,
                      methods=tuple(args.methods), noise=args.noise, holes=args.holes, views=args.views,
                      ga_preset=args.preset)
    t0 = time.perf_counter()
    rows = run_benchmark(cfg)
    summary = summarise(rows)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nnoise={args.noise} holes={args.holes} views={args.views} seed={args.seed} "
          f"threads={args.threads} load avg {load:.1f} total {time.perf_counter() - t0:.0f}s")
    print(format_table(summary))
    ratio = peer_ratios(summary)
    if ratio:
        print(ratio)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
