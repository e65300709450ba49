"""CPU seconds per object of the GA default on `procsplat bench-fit` scenes, with its accuracy.

    python scripts/bench_fit_cpu.py --seeds 5100 5101 5102            # realistic scenes
    python scripts/bench_fit_cpu.py --seeds 5100 5101 5102 --clean
    PYTHONPATH=/path/to/other/checkout python scripts/bench_fit_cpu.py ...   # the same for another version

The targets are the ones `procsplat bench-fit` builds (the same scene seeds, frames, masks and
floor), cached in --cache so that two versions can be compared on identical input. One torch
thread; each fit's process CPU seconds (load-insensitive as far as a loaded machine allows: under
a load of 10-14 on 2 cores the same fits took 1.2-1.5x the CPU seconds of a quiet minute, so
compare versions run at the same time), wall seconds, evaluations and the bench-fit metrics.
torch._dynamo is imported before timing (`torch.optim` pays it once per process, not per object).
"""
from __future__ import annotations

import argparse
import json
import pickle
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch._dynamo  # noqa: F401  (one-time import cost kept out of the first object's time)

from procsplat.fit.bench_scenes import truth_of
from procsplat.fit.metrics import evaluate_fit, truth_loss
from procsplat.fit.search import genetic_search, preset


def targets(seed: int, realistic: bool, cache: Path) -> list:
    """[(gt object, ObjectTarget)] of one bench-fit scene, as `bench_scenes.run` builds them."""
    f = cache / f"{seed}_{'realistic' if realistic else 'clean'}.pkl"
    if f.exists():
        return pickle.loads(f.read_bytes())
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.fit.scene import object_frames
    from procsplat.fit.target import ObjectTarget, TooFewPointsError

    synth = SynthConfig(out=cache / ("realistic" if realistic else "clean"), seed=seed, num_frames=40, width=320,
                        height=240, num_objects=3, realistic=realistic, overwrite=True)
    scene_dir = generate(synth, progress=False)
    scene = load_scene(scene_dir)
    out = []
    for obj in json.loads((scene_dir / "gt.json").read_text())["objects"]:
        depths, Ks, poses, masks = object_frames(scene, obj["instance_id"])
        try:
            out.append((obj, ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=0.0,
                                                      label=f"{scene.name}#{obj['instance_id']}")))
        except TooFewPointsError:
            print(f"skipped {scene.name} object {obj['instance_id']} (too few points)")
    cache.mkdir(parents=True, exist_ok=True)
    f.write_bytes(pickle.dumps(out))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[5100, 5101, 5102])
    ap.add_argument("--clean", action="store_true", help="clean scenes instead of realistic ones")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="GAConfig overrides of the default preset (numbers), e.g. sweep_extend_rounds=1")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "procsplat_bench_fit_cpu")
    a = ap.parse_args()
    torch.set_num_threads(1)
    overrides = {}
    for item in a.set:
        name, _, value = item.partition("=")
        if not hasattr(preset("default"), name) or not value:
            raise SystemExit(f"--set: expected FIELD=VALUE with a GAConfig field, got '{item}'")
        overrides[name] = type(getattr(preset("default"), name))(float(value))
    rows = []
    for seed in a.seeds:
        for obj, target in targets(seed, not a.clean, a.cache):
            program, truth = truth_of(obj)
            c0, w0 = time.process_time(), time.perf_counter()
            result = genetic_search(program, target, preset("default", seed=seed, **overrides))
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            m = evaluate_fit(program, result, truth)
            rows.append(dict(m, cpu=cpu, wall=wall, loss=result.loss, truth_loss=truth_loss(program, target, truth)))
            print(f"{seed} #{obj['instance_id']} {Path(obj['program']).stem:10s} cpu {cpu:5.1f} s wall {wall:5.1f} s "
                  f"disc {m['discrete_acc']:.2f} mae {m['float_mae_cm']:5.2f} cm yaw {m['yaw_err_deg']:5.2f} deg "
                  f"chamfer {m['chamfer_cm']:5.2f} cm evals {m['evaluations']} loss {result.loss:.7g} "
                  f"truth {rows[-1]['truth_loss']:.7g}", flush=True)
    n = sum(r["num_discrete"] for r in rows)
    print(f"{len(rows)} objects: discrete {100 * sum(r['discrete_acc'] * r['num_discrete'] for r in rows) / max(n, 1):.1f} %, "
          f"MAE {np.mean([r['float_mae_cm'] for r in rows]):.2f} cm, yaw {np.mean([r['yaw_err_deg'] for r in rows]):.2f} deg, "
          f"chamfer {np.mean([r['chamfer_cm'] for r in rows]):.2f} cm, <=truth "
          f"{100 * np.mean([r['loss'] <= 1.001 * r['truth_loss'] for r in rows]):.0f} %, "
          f"CPU {np.mean([r['cpu'] for r in rows]):.1f} s/object, wall {np.mean([r['wall'] for r in rows]):.1f} s/object")


if __name__ == "__main__":
    main()
