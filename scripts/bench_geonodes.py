"""Shapes per second of the compiled chair program at B = 1, 64, 1024, and the ratio to Blender
(bpy) evaluating the same parameter sets in the same run.

    python scripts/bench_geonodes.py [--program chair] [--repeats 20] [--threads 1] [--compare-full]

Both sides produce vertex arrays: Blender sets the modifier inputs, re-evaluates the depsgraph
and copies the evaluated vertex positions out (foreach_get); we evaluate the batch in float32
on the CPU with `--threads` torch threads (default 1). Ours is the best of `--repeats` calls;
Blender's rate is its pass over all 1024 sets, and (on a shared machine, where one pass can
be slowed by other load) also its best pass over 128-set chunks, printed as a second ratio.
A batch evaluated again with the same integer values replays its recorded evaluation
(geonodes/replay.py), so B = 1, 64 and 1024, which repeat their sets, time replays; "B=1 floats
vary" evaluates the float values of all the sets one at a time with the discrete values of the
first (a viewer's slider, a refinement: replays whose guards may fail); "B=1024 floats vary"
gives each call the sets' integer values with other floats (a refinement: replays) and "B=1024
new sets" each call new sets (a search: the replays of its rows laid out in slots by their integer
values, geonodes/padded.py); `--compare-full` times the full evaluator (no replays) interleaved
with the default in the same run.
Needs the `blender` extra and ../shared/blender-programs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "blender-programs"
sys.path.insert(0, str(ROOT))  # this checkout's geonodes, not an installed one


def blender_shapes_per_second(blend: Path, ir: dict, sets: list[dict]) -> tuple[float, float]:
    """(shapes/s over all sets, shapes/s of the fastest 128-set chunk)."""
    import bpy

    from geonodes.blender import import_blend

    import_blend(blend)  # opens the file (the oracle itself, not a rebuilt copy)
    obj = bpy.data.objects[ir["source"]["object"]]
    mod = obj.modifiers[ir["source"]["modifier"]]
    params = {p["name"]: p for p in ir["parameters"]}
    cast = {"float": float, "int": int, "bool": bool}
    depsgraph = bpy.context.evaluated_depsgraph_get()
    chunk, best_chunk = 128, float("inf")
    t0 = time.perf_counter()
    for i, values in enumerate(sets):
        if i % chunk == 0:
            tc = time.perf_counter()
        for name, value in values.items():
            p = params[name]
            mod[p["socket"]] = cast[p["kind"]](value)
        obj.update_tag()
        depsgraph = bpy.context.evaluated_depsgraph_get()
        mesh = obj.evaluated_get(depsgraph).to_mesh()
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        obj.evaluated_get(depsgraph).to_mesh_clear()
        if i % chunk == chunk - 1:
            best_chunk = min(best_chunk, (time.perf_counter() - tc) / chunk)
    return len(sets) / (time.perf_counter() - t0), 1.0 / best_chunk


def ours_shapes_per_second(prog, values: dict, batch: int, repeats: int, full: bool = False) -> float:
    limit = prog.replay_max_batch
    prog.replay_max_batch = 0 if full else limit
    try:
        prog.evaluate(values)  # warm-up (topology caches, recording)
        prog.evaluate(values)
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            groups = prog.evaluate(values)
            best = min(best, time.perf_counter() - t0)
    finally:
        prog.replay_max_batch = limit
    assert sum(len(g.index) for g in groups) == batch
    return batch / best


def stream_shapes_per_second(prog, stream: list, repeats: int, full: bool = False) -> float:
    """One B = 1 evaluation per parameter set of `stream`: the best of `repeats` passes."""
    limit = prog.replay_max_batch
    prog.replay_max_batch = 0 if full else limit
    try:
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            for values in stream:
                prog.evaluate(values)
            best = min(best, time.perf_counter() - t0)
    finally:
        prog.replay_max_batch = limit
    return len(stream) / best


def batches_shapes_per_second(prog, batches: list) -> float:
    """Each batch evaluated once (none repeats its floats): the best call."""
    best = float("inf")
    for values in batches:
        t0 = time.perf_counter()
        groups = prog.evaluate(values)
        best = min(best, time.perf_counter() - t0)
    return sum(len(g.index) for g in groups) / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="chair")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for our side")
    ap.add_argument("--compare-full", action="store_true",
                    help="also time the full evaluator (no replays), interleaved with the default")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from geonodes.blender import import_blend
    from geonodes.program import load_program

    blend = SHARED / f"{args.program}.blend"
    ir = import_blend(blend, SHARED / "configs" / f"sp_{args.program}.json")
    prog = load_program(ir)
    sets = prog.sample(1024, seed=args.seed)
    blender, blender_best = blender_shapes_per_second(blend, ir, sets)
    print(f"program {args.program}: {len(prog.parameters)} parameters; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"Blender (bpy, same 1024 parameter sets): {blender:10.0f} shapes/s "
          f"(fastest 128-set chunk {blender_best:.0f} shapes/s)")
    def line(label, ours, groups=None):
        topo = f"({groups:3d} topologies)" if groups is not None else " " * 16
        print(f"geonodes {label:20s} {topo}: {ours:10.0f} shapes/s   "
              f"x{ours / blender:7.1f} vs Blender   (x{ours / blender_best:6.1f} vs its fastest chunk)")

    for batch in (1, 64, 1024):
        values = prog.stack(sets[:batch])
        groups = len(prog.evaluate(values))
        runs = [False, True, False, True] if args.compare_full and batch <= prog.replay_max_batch else [False]
        rates = {}
        for full in runs:  # interleaved: load changes between runs hit both
            rate = ours_shapes_per_second(prog, values, batch, args.repeats, full)
            rates[full] = max(rates.get(full, 0.0), rate)
        line(f"B={batch:5d}", rates[False], groups)
        if True in rates:
            line(f"B={batch:5d} full", rates[True], groups)
        if batch == 1024:  # each call other floats (a refinement: replays) or other sets (a search)
            floats = {p.name for p in prog.parameters if p.kind == "float"}
            varied = [prog.stack([{**s, **{k: t[k] for k in floats}} for s, t in
                                  zip(sets, prog.sample(1024, seed=args.seed + 1 + r))]) for r in range(args.repeats)]
            fresh = [prog.stack(prog.sample(1024, seed=args.seed + 1000 + r)) for r in range(args.repeats)]
            line("B= 1024 floats vary", batches_shapes_per_second(prog, varied))
            line("B= 1024 new sets", batches_shapes_per_second(prog, fresh))
        if batch == 1:
            first = sets[0]
            floats = {p.name for p in prog.parameters if p.kind == "float"}
            stream = [prog.stack([{k: (s[k] if k in floats else first[k]) for k in first}]) for s in sets[:256]]
            repeats = max(2, args.repeats // 5)
            runs = [False, True, False, True] if args.compare_full else [False]
            rates = {}
            for full in runs:
                rate = stream_shapes_per_second(prog, stream, repeats, full)
                rates[full] = max(rates.get(full, 0.0), rate)
            line("B=1 floats vary", rates[False])
            if True in rates:
                line("B=1 floats vary full", rates[True])

if __name__ == "__main__":
    main()
