#!/usr/bin/env bash
# Check that importing the five shared programs under bpy 5.0 gives the same IR (apart from
# source.blender) as under the system bpy 4.2; and that small programs saved by each version
# (tests/blendfiles.py: nodes that keep the mesh, menu sockets, Menu Switches) import to the
# same IR, which the compiler evaluates as Blender 5.0 does.
#   one-off setup: python -m venv /tmp/venv-bpy5 && /tmp/venv-bpy5/bin/pip install bpy==5.0.1 'numpy<2'
#   usage: scripts/check_import_bpy5.sh [PYTHON_WITH_BPY5]   (default $GEONODES_BPY5_PYTHON or the venv above)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY5="${1:-${GEONODES_BPY5_PYTHON:-/tmp/venv-bpy5/bin/python}}"
PY4="${GEONODES_BPY4_PYTHON:-python}"
PROGRAMS="$REPO/../shared/blender-programs"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# Load geonodes.blender without geonodes/__init__.py: the bpy 5 venv has no torch.
IMPORT_ALL='
import sys, types
repo, programs, out = sys.argv[1:4]
pkg = types.ModuleType("geonodes"); pkg.__path__ = [repo + "/geonodes"]; sys.modules["geonodes"] = pkg
from geonodes.blender import import_blend, write_json_atomic
for name in ("chair", "table", "sofa", "cabinet", "bed"):
    ir = import_blend(f"{programs}/{name}.blend", f"{programs}/configs/sp_{name}.json")
    write_json_atomic(ir, f"{out}/{name}.json")
'
# Each version saves the small programs itself (4.2 cannot read files saved by 5.0), imports
# them, and Blender evaluates them at their saved values and 16 random sets.
BUILD_SMALL='
import sys, types
repo, out = sys.argv[1:3]
pkg = types.ModuleType("geonodes"); pkg.__path__ = [repo + "/geonodes"]; sys.modules["geonodes"] = pkg
sys.path.insert(0, repo + "/tests")
import blendfiles
from geonodes.blender import (evaluate_in_blender, import_blend, sample_within_limits, write_goldens,
                              write_json_atomic)
for name, build in (("chain", blendfiles.chain_program),
                    ("menu", lambda path: blendfiles.menu_program(path, "Ball", "Large"))):
    path = build(f"{out}/{name}.blend")
    ir = import_blend(path)
    write_json_atomic(ir, f"{out}/{name}.json")
    sets = [{}] + sample_within_limits(ir["parameters"], 16, seed=5)
    names = [p["name"] for p in ir["parameters"]]
    values = [[float(s.get(n, p["default"])) for n, p in zip(names, ir["parameters"])] for s in sets]
    write_goldens(f"{out}/{name}.npz", names, values, evaluate_in_blender(path, sets))
'
mkdir -p "$OUT/4" "$OUT/5"
"$PY4" -c "$IMPORT_ALL" "$REPO" "$PROGRAMS" "$OUT/4" > "$OUT/log4" 2>&1 || { cat "$OUT/log4"; exit 1; }
"$PY5" -c "$IMPORT_ALL" "$REPO" "$PROGRAMS" "$OUT/5" > "$OUT/log5" 2>&1 || { cat "$OUT/log5"; exit 1; }
"$PY4" -c "$BUILD_SMALL" "$REPO" "$OUT/4" >> "$OUT/log4" 2>&1 || { cat "$OUT/log4"; exit 1; }
"$PY5" -c "$BUILD_SMALL" "$REPO" "$OUT/5" >> "$OUT/log5" 2>&1 || { cat "$OUT/log5"; exit 1; }
PYTHONPATH="$REPO:$REPO/tests${PYTHONPATH:+:$PYTHONPATH}" "$PY4" - "$OUT" <<'PY'
import json, sys
import torch
from geonodes.blender import read_goldens
from geonodes.program import load_program
from irtools import mesh_mismatch
out = sys.argv[1]
failed = False
for name in ("chair", "table", "sofa", "cabinet", "bed", "chain", "menu"):
    four = json.load(open(f"{out}/4/{name}.json"))
    five = json.load(open(f"{out}/5/{name}.json"))
    versions = four["source"].pop("blender"), five["source"].pop("blender")
    four["source"].pop("saved_by", None), five["source"].pop("saved_by", None)  # which Blender saved the file
    same = four == five
    failed |= not same or not versions[1].startswith("5.")
    print(f"{name}: bpy {versions[0]} vs {versions[1]}: {'same IR' if same else 'DIFFERENT IR'}")
    if name in ("chain", "menu"):  # the 5.0 import against Blender 5.0's meshes
        prog = load_program(f"{out}/5/{name}.json")
        kinds = {p.name: p.kind for p in prog.parameters}
        cast = {"float": float, "int": lambda v: int(round(v)), "bool": bool}
        sets, refs = read_goldens(f"{out}/5/{name}.npz")
        bad = [i for i, (s, ref) in enumerate(zip(sets, refs)) if mesh_mismatch(prog.evaluate_one(
            {k: cast[kinds[k]](v) for k, v in s.items()}, dtype=torch.float64), ref) is not None]
        failed |= bool(bad)
        print(f"{name}: compiler vs Blender {versions[1]}: {len(sets) - len(bad)}/{len(sets)} sets equal")
sys.exit(1 if failed else 0)
PY
