"""CPU seconds of the GA's fit and of its discrete sweep, with every sweep round's trace, on seeded synthetic objects.

    python scripts/sweep_rounds.py out.json chair:1000:fast:1 table:1000100:default:0
    PYTHONPATH=/path/to/other/checkout python scripts/sweep_rounds.py base.json ...   # another version

Each job is program:seed:preset:generations (generations 0: the preset's own). The object is drawn as
`scripts/bench_threads.py` draws its demo object (chair:1000:fast:1 is that one) and as
`scripts/bench_fit_objects.py` draws its objects (seed 1000: table 1000100, sofa 1000200, ...). One
torch thread. Per object: the fit's process CPU seconds, the sweep's, the final loss, and per round
(`sweep.discrete_sweep`'s trace) the incumbent's (screened) loss, every neighbour's best screened
draw, which were probed, the refined rows' origins and losses per step, and the winner. The trace
scores the incumbent in the first round's screen too (one row): compare versions both traced.
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import procsplat.fit.search as search
    from procsplat.fit.bench import resolve_program
    from procsplat.fit.synthetic import CameraRig, synthetic_object

    out = []
    for job in argv[1:]:
        name, seed, pre, gens = job.split(":")
        seed, gens = int(seed), int(gens)
        program = resolve_program(name)
        rng = np.random.default_rng(seed)
        params = program.sample(1, seed=seed)[0]
        yaw = float(rng.uniform(-math.pi, math.pi))
        xy = tuple(rng.uniform(-1.0, 1.0, 2))
        target, _ = synthetic_object(program, params, yaw, xy, rig=CameraRig(num_views=4), seed=seed)
        trace, sweep_cpu, real = [], [0.0], search.discrete_sweep

        def traced(*a, **k):
            t = time.process_time()
            r = real(*a, trace=trace, **k)
            sweep_cpu[0] += time.process_time() - t
            return r

        search.discrete_sweep = traced
        try:
            cfg = search.preset(pre, seed=seed, **({"generations": gens} if gens > 0 else {}))
            t0 = time.process_time()
            res = search.genetic_search(program, target, cfg)
            cpu = time.process_time() - t0
        finally:
            search.discrete_sweep = real
        out.append({"name": name, "seed": seed, "preset": pre, "cpu": cpu, "sweep_cpu": sweep_cpu[0],
                    "loss": res.loss, "trace": trace})
        print(f"{name} {seed}: cpu {cpu:.1f} s, sweep {sweep_cpu[0]:.1f} s, loss {res.loss:.6g}, rounds",
              [(t["round"], t.get("winner"), t.get("won"), t.get("stopped")) for t in trace], flush=True)
        Path(argv[0]).write_text(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
