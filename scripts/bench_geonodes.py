"""Shapes per second of the compiled chair program at B = 1, 64, 1024, and the ratio to Blender
(bpy) evaluating the same parameter sets in the same run.

    python scripts/bench_geonodes.py [--program chair] [--repeats 20] [--threads 1]

Both sides produce vertex arrays: Blender sets the modifier inputs, re-evaluates the depsgraph
and copies the evaluated vertex positions out (foreach_get); we evaluate the batch in float32
on the CPU with `--threads` torch threads (default 1). Ours is the best of `--repeats` calls;
Blender's rate is its pass over all 1024 sets, and (on a shared machine, where one pass can
be slowed by other load) also its best pass over 128-set chunks, printed as a second ratio.
Needs the `blender` extra and ../shared/blender-programs.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "blender-programs"


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


def ours_shapes_per_second(prog, values: dict, batch: int, repeats: int) -> float:
    prog.evaluate(values)  # warm-up (topology caches)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        groups = prog.evaluate(values)
        best = min(best, time.perf_counter() - t0)
    assert sum(len(g.index) for g in groups) == batch
    return batch / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="chair")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads for our side")
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
    for batch in (1, 64, 1024):
        values = prog.stack(sets[:batch])
        ours = ours_shapes_per_second(prog, values, batch, args.repeats)
        groups = len(prog.evaluate(values))
        print(f"geonodes B={batch:5d} ({groups:3d} topologies): {ours:10.0f} shapes/s   "
              f"x{ours / blender:7.1f} vs Blender   (x{ours / blender_best:6.1f} vs its fastest chunk)")


if __name__ == "__main__":
    main()
