"""One chainfuzz seed as a user meets it: the program saved by Blender as a .blend, imported by
geonodes' importer, evaluated as one batch of parameter sets and compared with Blender evaluating
the same file. `python tests/chainrun.py FIRST LAST [-v]` prints one line per seed refused or
differing (-v: every seed); `--save DIR FIRST LAST [FUZZ]` writes the seeds' .blend files with the
bpy at hand (FUZZ: chainfuzz, the default, or meshfuzz, curvefuzz, fieldfuzz) and `--files DIR
[ATOL]` compares saved files (how files saved by Blender 5.0 are checked; ATOL 1e-5 unless given)."""
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
    from geonodes.blender.exporter import export_blend

    path = Path(workdir) / f"chain{seed}.blend"
    export_blend(make(seed)[0], path)
    return compare_file(path, SETS, atol)


def compare_file(path: Path, sets: list, atol: float = 1e-5) -> tuple:
    """`outcome` of a saved .blend (parameters 'a' and 'b' set as in `sets`), imported and
    evaluated by geonodes, against Blender evaluating the file."""
    from geonodes.blender import evaluate_in_blender
    from geonodes.blender.importer import import_blend
    from geonodes.errors import GeonodesError
    from geonodes.program import load_program

    try:
        prog = load_program(import_blend(path))
        groups = prog.evaluate(prog.stack(sets))
    except GeonodesError as e:
        msg = str(e)
        if f"{path.name}: group '" in msg and re.search(r"node '[^']+' (\(type \w+\)|has type \w+)", msg):
            return "refused", msg
        return "differ", f"refused without naming file, group, node and type: {msg}"
    except Exception as e:  # noqa: BLE001 - a crash is a finding
        return "differ", f"crash {type(e).__name__}: {e}"
    refs = evaluate_in_blender(path, sets)
    for g in groups:
        for k, i in enumerate(g.index.tolist()):
            why = mesh_mismatch(g.mesh(k), refs[i], triangles=False, atol=atol)
            if why is not None:
                return "differ", f"set {i}: {why}"
    return "agree", None


def _main(argv: list) -> None:
    if argv[0] == "--save":  # save seeds' programs as .blend files (with the bpy at hand: 4.2, 5.0 ...)
        from geonodes.blender.exporter import export_blend

        out = Path(argv[1])
        out.mkdir(parents=True, exist_ok=True)
        fuzz = argv[4] if len(argv) > 4 else "chainfuzz"
        if fuzz not in ("chainfuzz", "meshfuzz", "curvefuzz", "fieldfuzz"):
            raise SystemExit(f"unknown fuzzer '{fuzz}' (chainfuzz, meshfuzz, curvefuzz, fieldfuzz)")
        draw = __import__(fuzz).make
        for seed in range(int(argv[2]), int(argv[3])):
            try:
                export_blend(draw(seed)[0], out / f"{fuzz[:-4]}{seed}.blend")
            except Exception as e:  # noqa: BLE001 - a program this Blender cannot build is reported
                print(f"{seed}\tnot saved\t{e}", flush=True)
        return
    counts = {"agree": 0, "refused": 0, "differ": 0}
    if argv[0] == "--files":  # compare saved files (any Blender version the bpy at hand reads)
        atol = float(argv[2]) if len(argv) > 2 and argv[2] != "-v" else 1e-5
        runs = [(p.stem, lambda p=p: compare_file(p, SETS, atol)) for p in sorted(Path(argv[1]).glob("*.blend"))]
    else:
        tmp = tempfile.mkdtemp()
        runs = [(seed, lambda seed=seed: outcome(seed, tmp)) for seed in range(int(argv[0]), int(argv[1]))]
    for name, run in runs:
        kind, why = run()
        counts[kind] += 1
        if kind != "agree" or "-v" in argv:
            print(f"{name}\t{kind}\t{why or ''}", flush=True)
    print(", ".join(f"{v} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    _main(sys.argv[1:])
