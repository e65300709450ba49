"""Import the five shared Blender programs to IR and store Blender's meshes for random parameters.

    python scripts/make_goldens.py [--sets 256] [--seed 0] [--out tests/data/blender]

Writes per program `<name>.json` (the IR), `<name>_goldens.npz` and `<name>_wide_goldens.npz`
(see `geonodes.blender.write_goldens`), plus NOTICE.md crediting the programs' authors. Set 0 of
both is the modifier's own values; the others of `_goldens` draw every `sample: true` parameter
uniformly in its search range, those of `_wide_goldens` draw every parameter over its widened
search range within Blender's limits (`geonodes.blender.sample_within_limits`). The .blend
files are read from ../shared/blender-programs and never copied.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path


from geonodes.blender import (evaluate_in_blender, import_blend, sample_parameter_sets, sample_within_limits,
                              write_goldens, write_json_atomic)

REPO = Path(__file__).resolve().parents[1]
PROGRAMS_DIR = REPO.parent / "shared" / "blender-programs"
PROGRAMS = ("chair", "table", "sofa", "cabinet", "bed")

NOTICE_HEAD = """# Derived test data: Blender shape programs

`<name>.json` (IR imported with `geonodes import-blend`) and `<name>_goldens.npz` (meshes
evaluated by Blender {blender} for random parameter sets, made by `scripts/make_goldens.py`) are
derived from the procedural furniture programs chair/table/sofa/cabinet/bed.blend and their
parameter specs (configs/sp_*.json) of the PyTorchGeoNodes project
(https://github.com/vevenom/pytorchgeonodes), licensed BSD 3-Clause Clear. The .blend files
themselves are not included here. Their licence notice follows.

"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=256, help="parameter sets per program")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "blender")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    blender_version = None
    for index, name in enumerate(PROGRAMS):
        blend = PROGRAMS_DIR / f"{name}.blend"
        ir = import_blend(blend, PROGRAMS_DIR / "configs" / f"sp_{name}.json")
        blender_version = ir["source"]["blender"]
        write_json_atomic(ir, args.out / f"{name}.json")
        params = ir["parameters"]
        saved = [{p["name"]: p["default"] for p in params}]
        for suffix, sets in (("goldens", saved + sample_parameter_sets(params, args.sets - 1, seed=args.seed + index)),
                             ("wide_goldens", saved + sample_within_limits(params, args.sets - 1,
                                                                           seed=args.seed + 100 + index))):
            start = time.perf_counter()
            meshes = evaluate_in_blender(blend, sets)
            seconds = time.perf_counter() - start
            names = [p["name"] for p in params]
            values = [[float(s[n]) for n in names] for s in sets]
            path = args.out / f"{name}_{suffix}.npz"
            write_goldens(path, names, values, meshes)
            verts = [len(m["vertices"]) for m in meshes]
            print(f"{name} {suffix}: {len(sets)} sets, {min(verts)}-{max(verts)} vertices, "
                  f"{seconds / len(sets) * 1e3:.2f} ms/set (import included), "
                  f"{path.stat().st_size / 1e6:.2f} MB")
    licence = (PROGRAMS_DIR / "LICENSE").read_text()
    (args.out / "NOTICE.md").write_text(NOTICE_HEAD.format(blender=blender_version)
                                        + "```\n" + licence.rstrip() + "\n```\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
