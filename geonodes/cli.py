"""`geonodes` command line: eval, info, sample, import-blend, export-blend, gallery."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .errors import IRError, ParameterError

USAGE = """geonodes <command> ...
  eval PROGRAM [--set "Name=value" ...] -o OUT.{ply,obj,npz}   evaluate one shape
  info PROGRAM                                                 parameters, ranges, dependencies
  sample PROGRAM -n N --seed S -o DIR                          random shapes + their parameters
  import-blend IN.blend OUT.json [--spec SPEC.json]            Blender program -> IR (needs bpy)
  export-blend PROGRAM OUT.blend                               IR -> Blender program (needs bpy)
  gallery -o DIR [--n 8] [--seed 0] [--programs a,b]           thumbnail grid of random samples
PROGRAM is an IR .json file or the name of a library program."""


def parse_value(param, text: str):
    t = text.strip()
    if param.kind == "bool":
        low = t.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ParameterError(f"parameter '{param.name}' is a bool: use true/false/1/0, got '{text}'")
    try:
        return int(t) if param.kind == "int" else float(t)
    except ValueError:
        raise ParameterError(f"parameter '{param.name}' is {'an int' if param.kind == 'int' else 'a float'}, "
                             f"got '{text}'") from None


def parse_sets(prog, items: list[str]) -> dict:
    values = {}
    for item in items or []:
        name, eq, text = item.partition("=")
        if not eq:
            raise ParameterError(f"--set '{item}': expected \"Name=value\"")
        values[name.strip()] = parse_value(prog.parameter(name.strip()), text)
    return values


def cmd_eval(args) -> int:
    from .meshio import write_mesh
    from .program import load_program

    prog = load_program(args.program)
    values = parse_sets(prog, args.set)
    mesh = prog.evaluate_one(values, dtype=torch.float64 if args.dtype == "float64" else torch.float32,
                             check_range=True)
    write_mesh(args.output, mesh)
    print(f"wrote {args.output}: {mesh.vertices.shape[0]} vertices, {mesh.face_offsets.shape[0] - 1} faces, "
          f"{mesh.triangles.shape[0]} triangles")
    return 0


def _describe_active(p) -> str:
    if not p.active_if:
        return ""
    clauses = [" and ".join(f"{c['param']} = {json.dumps(c['equals'])}" for c in cl) for cl in p.active_if]
    return "active if " + " or ".join(f"({c})" if len(p.active_if) > 1 else c for c in clauses)


def cmd_info(args) -> int:
    from .program import load_program

    prog = load_program(args.program)
    ir = prog.ir
    nodes = sum(len(g.nodes) for g in ir.groups.values())
    print(f"program '{prog.name}': {len(ir.groups)} groups, {nodes} nodes, {len(prog.parameters)} parameters")
    width = max((len(p.name) for p in prog.parameters), default=4)
    for p in prog.parameters:
        fixed = "" if p.sample else " (not sampled)"
        default = f"{p.default:.6g}" if p.kind == "float" else json.dumps(p.default)
        print(f"  {p.name:<{width}}  {p.kind:<5} {p.describe_range():<16} default {default}"
              f"{fixed}  {_describe_active(p)}".rstrip())
    return 0


def cmd_sample(args) -> int:
    from .meshio import write_mesh
    from .program import load_program

    prog = load_program(args.program)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    sets = prog.sample(args.n, seed=args.seed)
    groups = prog.evaluate(prog.stack(sets, dtype=torch.float64), dtype=torch.float64)
    for g in groups:
        for j, i in enumerate(g.index.tolist()):
            write_mesh(out / f"sample_{i:03d}{args.format}", g.mesh(j))
    (out / "parameters.json").write_text(json.dumps(
        {f"sample_{i:03d}": s for i, s in enumerate(sets)}, indent=1) + "\n")
    print(f"wrote {args.n} samples of '{prog.name}' to {out} ({len(groups)} distinct topologies)")
    return 0


def cmd_blender(args, rest) -> int:
    from . import blender

    if args.command == "export-blend" and rest and not rest[0].startswith("-") and not Path(rest[0]).exists():
        library_json = Path(__file__).parent / "library" / f"{rest[0]}.json"
        if library_json.is_file():  # a library program's name
            rest = [str(library_json)] + rest[1:]
    return blender.main([args.command] + rest)


def cmd_gallery(args) -> int:
    from .gallery import write_gallery

    programs = [s.strip() for s in args.programs.split(",") if s.strip()] if args.programs else None
    path = write_gallery(args.output, programs, n=args.n, seed=args.seed, cell=args.cell)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="geonodes", usage=USAGE)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("eval", help="evaluate one shape")
    p.add_argument("program")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p = sub.add_parser("info", help="list parameters")
    p.add_argument("program")
    p = sub.add_parser("sample", help="random samples")
    p.add_argument("program")
    p.add_argument("-n", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--format", choices=(".ply", ".obj", ".npz"), default=".ply")
    p = sub.add_parser("gallery", help="thumbnail grid of random samples of programs")
    p.add_argument("-o", "--output", required=True, help="folder for gallery.png")
    p.add_argument("--n", type=int, default=8, help="samples per program")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--programs", help="comma-separated programs (default: the library)")
    p.add_argument("--cell", type=int, default=160, help="thumbnail size in pixels")
    sub.add_parser("import-blend", help="import a .blend program (needs bpy)", add_help=False)
    sub.add_parser("export-blend", help="export a program to .blend (needs bpy)", add_help=False)
    if argv and argv[0] in ("import-blend", "export-blend"):
        args, rest = parser.parse_known_args(argv[:1])
        rest = argv[1:]
    else:
        args, rest = parser.parse_args(argv), []
    try:
        if args.command in ("import-blend", "export-blend"):
            return cmd_blender(args, rest)
        return {"eval": cmd_eval, "info": cmd_info, "sample": cmd_sample,
                "gallery": cmd_gallery}[args.command](args)
    except (IRError, ParameterError, ValueError, OSError) as e:
        print(f"geonodes: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
