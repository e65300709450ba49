"""One chainfuzz seed as a user meets it: the program saved by Blender as a .blend, imported by
geonodes' importer, evaluated as one batch of parameter sets and compared with Blender evaluating
the same file. `python tests/chainrun.py FIRST LAST [-v]` prints one line per seed refused or differing (-v: every seed)."""
from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from chainfuzz import make  # noqa: E402
from irtools import mesh_mismatch  # noqa: E402

SETS = [{"a": 0.0, "b": 0.0}, {"a": 0.3, "b": -0.2}, {"a": -0.7, "b": 0.5}]


def outcome(seed: int, workdir, atol: float = 1e-5) -> tuple:
    """("agree", None), ("refused", message) where the refusal names the group, node and type,
    or ("differ", why): a wrong answer, a crash or a refusal that does not name the node."""
    from geonodes.blender import evaluate_in_blender
    from geonodes.blender.exporter import export_blend
    from geonodes.blender.importer import import_blend
    from geonodes.errors import GeonodesError
    from geonodes.program import load_program

    ir, _ = make(seed)
    path = Path(workdir) / f"chain{seed}.blend"
    export_blend(ir, path)
    try:
        prog = load_program(import_blend(path))
        groups = prog.evaluate(prog.stack(SETS))
    except GeonodesError as e:
        msg = str(e)
        if f"{path.name}: group '" in msg and re.search(r"node '[^']+' (\(type \w+\)|has type \w+)", msg):
            return "refused", msg
        return "differ", f"refused without naming file, group, node and type: {msg}"
    except Exception as e:  # noqa: BLE001 - a crash is a finding
        return "differ", f"crash {type(e).__name__}: {e}"
    refs = evaluate_in_blender(path, SETS)
    for g in groups:
        for k, i in enumerate(g.index.tolist()):
            why = mesh_mismatch(g.mesh(k), refs[i], triangles=False, atol=atol)
            if why is not None:
                return "differ", f"set {i}: {why}"
    return "agree", None


if __name__ == "__main__":
    first, last = int(sys.argv[1]), int(sys.argv[2])
    counts = {"agree": 0, "refused": 0, "differ": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, last):
            kind, why = outcome(seed, tmp)
            counts[kind] += 1
            if kind != "agree" or "-v" in sys.argv:
                print(f"{seed}\t{kind}\t{make(seed)[1]}\t{why or ''}", flush=True)
    print(f"seeds {first}-{last - 1}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
