"""Subdivision Surface's Limit Surface (an input since Blender 4.4; bpy 4.2 has none) against
bpy 5.0: the golden programs of tests/test_subsurf_blender.py with Limit Surface on (levels 1-3,
both Boundary Smooth options, loose edges, loose edges on faces, non-manifold fins) and a few
with it off, exported, evaluated by Blender 5.0 and compared with the compiler (float32,
Blender's order, 1e-5).

    one-off setup: python -m venv /tmp/venv-bpy5 && /tmp/venv-bpy5/bin/pip install bpy==5.0.1 'numpy<2'
    python scripts/check_subsurf_bpy5.py [PYTHON_WITH_BPY5]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

# Run by bpy 5.0 (no torch there): geonodes.blender without geonodes/__init__.py.
EVALUATE = '''
import sys, types, json, numpy as np
repo, src, dst = sys.argv[1:4]
pkg = types.ModuleType("geonodes"); pkg.__path__ = [repo + "/geonodes"]; sys.modules["geonodes"] = pkg
from geonodes.blender import evaluate_in_blender
d = json.load(open(src))
out = {f"{k}#{i}": np.asarray(r["vertices"]) for k, ir in d["irs"].items()
       for i, r in enumerate(evaluate_in_blender(ir, d["sets"]))}
np.savez(dst, **out)
'''


def programs() -> dict:
    from test_subsurf_blender import curl, fins, spikes, subsurf_program
    irs = {}
    for kind in ("grid", "cube", "cylinder", "cylinder_fan", "cone", "circle_fan", "uvsphere", "ico", "realized"):
        for level in (1, 2, 3):
            for b in ("ALL", "PRESERVE_CORNERS"):
                irs[f"{kind} L{level} {b}"] = subsurf_program(kind, level, {"boundary_smooth": b}, {"Limit Surface": True})
    for kind in ("line", "circle", "joined"):
        for level in (1, 2):
            irs[f"{kind} L{level} loose"] = subsurf_program(kind, level, None, {"Limit Surface": True}, before=[curl()])
    for kind in ("grid", "cube", "cylinder"):
        for level in (1, 2):
            for b in ("ALL", "PRESERVE_CORNERS"):
                for below in (None, 2.5):
                    irs[f"{kind} L{level} {b} fins<{below}"] = subsurf_program(
                        kind, level, {"boundary_smooth": b}, {"Limit Surface": True}, before=[fins(below)])
    for kind in ("grid", "cube"):
        for level in (1, 2):
            for on in (True, False):
                irs[f"{kind} L{level} spikes limit={on}"] = subsurf_program(kind, level, None, {"Limit Surface": on},
                                                                           before=[spikes()])
    return irs


def main(argv=None) -> int:
    from fieldtools import value_sets
    from geonodes.program import load_program
    argv = sys.argv[1:] if argv is None else argv
    py5 = argv[0] if argv else os.environ.get("GEONODES_BPY5_PYTHON", "/tmp/venv-bpy5/bin/python")
    irs, sets = programs(), value_sets("ab", 3, seed=41)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "irs.json", Path(tmp) / "refs.npz"
        src.write_text(json.dumps({"irs": irs, "sets": sets}))
        subprocess.run([py5, "-c", EVALUATE, str(REPO), str(src), str(dst)], check=True, capture_output=True)
        refs = dict(np.load(dst))
    worst, bad = 0.0, []
    for name, ir in irs.items():
        prog = load_program(ir)
        for g in prog.evaluate(prog.stack(sets)):
            for k, i in enumerate(g.index.tolist()):
                mine, ref = g.mesh(k).vertices.detach().numpy(), refs[f"{name}#{i}"]
                err = float(np.abs(mine - ref).max()) if mine.shape == ref.shape else float("inf")
                worst = max(worst, err)
                if err > 1e-5:
                    bad.append(f"{name} set {i}: {err:.3g}")
    print("\n".join(bad))
    print(f"{len(irs)} programs x {len(sets)} sets against bpy 5.0: {len(bad)} differ, largest error {worst:.3g}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
