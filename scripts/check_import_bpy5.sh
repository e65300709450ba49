#!/usr/bin/env bash
# Check that importing the five shared programs under bpy 5.0 gives the same IR (apart from
# source.blender) as under the system bpy 4.2.
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
mkdir -p "$OUT/4" "$OUT/5"
"$PY4" -c "$IMPORT_ALL" "$REPO" "$PROGRAMS" "$OUT/4" > "$OUT/log4" 2>&1 || { cat "$OUT/log4"; exit 1; }
"$PY5" -c "$IMPORT_ALL" "$REPO" "$PROGRAMS" "$OUT/5" > "$OUT/log5" 2>&1 || { cat "$OUT/log5"; exit 1; }
"$PY4" - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
failed = False
for name in ("chair", "table", "sofa", "cabinet", "bed"):
    four = json.load(open(f"{out}/4/{name}.json"))
    five = json.load(open(f"{out}/5/{name}.json"))
    versions = four["source"].pop("blender"), five["source"].pop("blender")
    same = four == five
    failed |= not same or not versions[1].startswith("5.")
    print(f"{name}: bpy {versions[0]} vs {versions[1]}: {'same IR' if same else 'DIFFERENT IR'}")
sys.exit(1 if failed else 0)
PY
