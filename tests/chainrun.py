"""One chainfuzz seed as a user meets it: the program saved by Blender as a .blend, imported by
geonodes' importer, evaluated as one batch of parameter sets and compared with Blender evaluating
the same file. `python tests/chainrun.py FIRST LAST` prints one line per seed that disagrees."""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from chainfuzz import make  # noqa: E402
from irtools import mesh_mismatch  # noqa: E402

SETS = [{"a": 0.0, "b": 0.0}, {"a": 0.3, "b": -0.2}, {"a": -0.7, "b": 0.5}]


def check(seed: int, workdir, atol: float = 1e-5) -> str | None:
    """None when the seed's program agrees with Blender (or is refused by one error naming its
    group, node and type), else why not."""
    from geonodes.blender import evaluate_in_blender
    from geonodes.blender.exporter import export_blend
    from geonodes.blender.importer import import_blend
    from geonodes.errors import GeonodesError
    from geonodes.program import load_program

    ir, desc = make(seed)
    path = Path(workdir) / f"chain{seed}.blend"
    export_blend(ir, path)
    try:
        prog = load_program(import_blend(path))
        groups = prog.evaluate(prog.stack(SETS))
    except GeonodesError as e:  # refused: the message names the group, node and type
        msg = str(e)
        if "group '" in msg and "node '" in msg and ("Node" in msg or "type" in msg):
            return None
        return f"refused without naming group, node and type: {msg}"
    except Exception as e:  # noqa: BLE001 - a crash is a finding
        return f"crash {type(e).__name__}: {e}"
    refs = evaluate_in_blender(path, SETS)
    for g in groups:
        for k, i in enumerate(g.index.tolist()):
            why = mesh_mismatch(g.mesh(k), refs[i], triangles=False, atol=atol)
            if why is not None:
                return f"set {i}: {why}"
    return None


def refused(seed: int, workdir) -> str | None:
    """The refusal message for a seed, or None when it compiles (for triage listings)."""
    from geonodes.blender.exporter import export_blend
    from geonodes.blender.importer import import_blend
    from geonodes.errors import GeonodesError
    from geonodes.program import load_program

    ir, _ = make(seed)
    path = Path(workdir) / f"chain{seed}.blend"
    export_blend(ir, path)
    try:
        prog = load_program(import_blend(path))
        prog.evaluate(prog.stack(SETS))
    except GeonodesError as e:
        return str(e)
    return None


if __name__ == "__main__":
    first, last = int(sys.argv[1]), int(sys.argv[2])
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, last):
            why = check(seed, tmp)
            if why is not None:
                bad += 1
                print(f"{seed}\t{make(seed)[1]}\t{why}", flush=True)
            elif "-v" in sys.argv:
                r = refused(seed, tmp)
                print(f"{seed}\tok\t{make(seed)[1]}\t{'REFUSED ' + r if r else ''}", flush=True)
    print(f"seeds {first}-{last - 1}: {last - first - bad} agree, {bad} differ")
