"""`geonodes` command line: eval, info, spec, sample, import-blend, export-blend, gallery.

PROGRAM is an IR .json file or the name of a library program (`info` and `spec` also take a
.blend). Each command is a function of one
dataclass config; tyro derives its flags from the dataclass (`geonodes <command> --help`).
Bad input (a `GeonodesError`) is one line on stderr, `geonodes <command>: error: <message>`,
exit code 2 and no output file; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import torch
import tyro

from .errors import GeonodesError, ParameterError
from .node_types import DROPPED_NODE_TYPES

DESCRIPTION = ("Blender Geometry Nodes programs, compiled: evaluate, inspect, sample, import from and export to "
               ".blend. PROGRAM is an IR .json file or the name of a library program.")
Program = Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="PROGRAM")]
SpecFile = Annotated[Path | None, tyro.conf.arg(metavar="SPEC.json", help_behavior_hint="(optional)")]
ObjectName = Annotated[str | None, tyro.conf.arg(name="object", metavar="NAME",
                                                 help_behavior_hint="(default: the only one)")]


def _output(metavar: str):
    return tyro.conf.arg(aliases=("-o",), metavar=metavar)


@dataclasses.dataclass
class EvalConfig:
    """evaluate one shape"""

    program: Program
    """IR .json file, library program name, or .blend (imported first: needs bpy)"""
    output: Annotated[Path, _output("OUT")]
    """output mesh: .ply, .obj or .npz"""
    set: Annotated[list[str], tyro.conf.UseAppendAction, tyro.conf.arg(metavar="NAME=VALUE")] = \
        dataclasses.field(default_factory=list)
    """a parameter value, e.g. --set "Seat Height=0.5" (unset parameters keep their defaults)"""
    dtype: Literal["float32", "float64"] = "float64"


@dataclasses.dataclass
class InfoConfig:
    """parameters: search ranges, limits, dependencies (of a .blend: first its node types)"""

    program: Program
    """IR .json file, library program name, or .blend"""
    spec: SpecFile = None
    """for a .blend: parameter spec JSON (search ranges, dependencies)"""
    object_name: ObjectName = None
    """for a .blend: object carrying the Geometry Nodes modifier"""


@dataclasses.dataclass
class SpecConfig:
    """write a starter parameter spec (the format import-blend --spec reads) to edit"""

    program: Program
    """IR .json file, library program name, or .blend"""
    output: Annotated[Path, _output("SPEC.json")]
    """output spec JSON"""
    object_name: ObjectName = None
    """for a .blend: object carrying the Geometry Nodes modifier"""


@dataclasses.dataclass
class SampleConfig:
    """random shapes + their parameters (parameters.json)"""

    program: Program
    """IR .json file, library program name, or .blend (imported first: needs bpy)"""
    output: Annotated[Path, _output("DIR")]
    """output folder"""
    n: Annotated[int, tyro.conf.arg(aliases=("-n",))] = 8
    """number of samples"""
    seed: int = 0
    format: Literal[".ply", ".obj", ".npz"] = ".ply"


@dataclasses.dataclass
class ImportBlendConfig:
    """Blender program -> IR (needs bpy)"""

    blend: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="IN.blend")]
    """input .blend file"""
    out: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="OUT.json")]
    """output IR JSON"""
    spec: SpecFile = None
    """parameter spec JSON (search ranges, dependencies)"""
    object_name: ObjectName = None
    """object carrying the Geometry Nodes modifier"""


@dataclasses.dataclass
class ExportBlendConfig:
    """IR -> Blender program (needs bpy)"""

    program: Program
    """IR .json file or library program name"""
    out: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="OUT.blend")]
    """output .blend file"""


@dataclasses.dataclass
class GalleryConfig:
    """thumbnail grid of random samples"""

    output: Annotated[Path, _output("DIR")]
    """folder for gallery.png"""
    n: int = 8
    """samples per program"""
    seed: int = 0
    programs: Annotated[str | None, tyro.conf.arg(metavar="A,B,...",
                                                  help_behavior_hint="(default: the library)")] = None
    """comma-separated programs"""
    cell: int = 160
    """thumbnail size in pixels"""


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
        if param.kind == "int":
            return int(t)
        return float(t)
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


def _any_program(program: str):
    """A library program, an IR file, or a .blend (imported with bpy, its first Geometry Nodes
    modifier, every parameter settable)."""
    from .program import load_program

    return _blend_program(program, None, None) if _is_blend(program) else load_program(program)


def run_eval(cfg: EvalConfig) -> int:
    from .meshio import write_mesh

    prog = _any_program(cfg.program)
    values = parse_sets(prog, cfg.set)
    mesh = prog.evaluate_one(values, dtype=torch.float64 if cfg.dtype == "float64" else torch.float32)
    for warning in prog.outside_search_range(values):
        print(f"geonodes eval: warning: {warning}", file=sys.stderr)
    write_mesh(cfg.output, mesh)
    print(f"wrote {cfg.output}: {mesh.vertices.shape[0]} vertices, {mesh.face_offsets.shape[0] - 1} faces, "
          f"{mesh.triangles.shape[0]} triangles")
    return 0


def _describe_active(p) -> str:
    if not p.active_if:
        return ""
    clauses = [" and ".join(f"{c['param']} = {json.dumps(c['equals'])}" for c in cl) for cl in p.active_if]
    return "active if " + " or ".join(f"({c})" if len(p.active_if) > 1 else c for c in clauses)


def _is_blend(program: str) -> bool:
    return Path(program).suffix.lower() == ".blend"


def _blend_program(path: str, spec, object_name):
    from .blender import import_blend
    from .program import load_program

    return load_program(import_blend(path, spec, object_name))


def _print_node_kinds(path: str, object_name) -> None:
    """A .blend's node types per group, before anything is imported."""
    from .blender import node_kinds

    kinds = node_kinds(path, object_name)
    print(f"{Path(path).name}: object '{kinds['object']}', modifier '{kinds['modifier']}', "
          f"{len(kinds['groups'])} node groups")
    width = max((len(t) for _, rows in kinds["groups"] for t, _, _ in rows), default=4)
    unsupported = set()
    for group, rows in kinds["groups"]:
        print(f"  group '{group}'")
        for node_type, count, supported in rows:
            note = "dropped (no effect on the mesh)" if node_type in DROPPED_NODE_TYPES else \
                "supported" if supported else "NOT SUPPORTED"
            print(f"    {node_type:<{width}} {count:>4}  {note}")
            if not supported:
                unsupported.add(node_type)
    print(f"  unsupported node types: {', '.join(sorted(unsupported))}" if unsupported else
          "  every node type is supported")


def run_info(cfg: InfoConfig) -> int:
    from .program import load_program

    if _is_blend(cfg.program):
        _print_node_kinds(cfg.program, cfg.object_name)
        prog = _blend_program(cfg.program, cfg.spec, cfg.object_name)
    else:
        prog = load_program(cfg.program)
    ir = prog.ir
    nodes = sum(len(g.nodes) for g in ir.groups.values())
    print(f"program '{prog.name}': {len(ir.groups)} groups, {nodes} nodes, {len(prog.parameters)} parameters")
    rows = [(p.name, p.kind, p.describe_range(), p.describe_limits(),
             f"{p.default:.6g}" if p.kind == "float" else json.dumps(p.default),
             ("" if p.sample else "(not sampled) ") + _describe_active(p)) for p in prog.parameters]
    header = ("parameter", "kind", "search range", "limits", "default", "")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(5)]
    for row in [header] + rows:
        print(("  " + "  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + "  " + row[5]).rstrip())
    return 0


def run_spec(cfg: SpecConfig) -> int:
    from .blender import write_json_atomic
    from .program import load_program
    from .spec import spec_document

    _check_output_folder(cfg.output)
    if _is_blend(cfg.program):
        prog = _blend_program(cfg.program, None, cfg.object_name)
    else:
        prog = load_program(cfg.program)
    doc = spec_document(prog.name, prog.ir.source.get("blend"), prog.parameters)
    write_json_atomic(doc, cfg.output)
    left_out = [p.name for p in prog.parameters if not p.sample]
    note = f" (left out, not sampled: {', '.join(left_out)})" if left_out else ""
    print(f"wrote {cfg.output}: {len(prog.parameters) - len(left_out)} parameters{note}")
    return 0


def run_sample(cfg: SampleConfig) -> int:
    from .meshio import write_mesh

    prog = _any_program(cfg.program)
    sets = prog.sample(cfg.n, seed=cfg.seed)
    groups = prog.evaluate(prog.stack(sets, dtype=torch.float64), dtype=torch.float64)
    out = cfg.output
    out.mkdir(parents=True, exist_ok=True)
    for g in groups:
        for j, i in enumerate(g.index.tolist()):
            write_mesh(out / f"sample_{i:03d}{cfg.format}", g.mesh(j))
    (out / "parameters.json").write_text(json.dumps(
        {f"sample_{i:03d}": s for i, s in enumerate(sets)}, indent=1) + "\n")
    print(f"wrote {cfg.n} samples of '{prog.name}' to {out} ({len(groups)} distinct topologies)")
    return 0


def _check_output_folder(path: Path) -> None:
    if not path.parent.exists():
        raise GeonodesError(f"{path}: output folder does not exist")


def run_import_blend(cfg: ImportBlendConfig) -> int:
    from .blender import import_blend, write_json_atomic

    _check_output_folder(cfg.out)
    ir = import_blend(cfg.blend, cfg.spec, cfg.object_name)
    write_json_atomic(ir, cfg.out)
    print(f"wrote {cfg.out}: {len(ir['groups'])} groups, {sum(len(g['nodes']) for g in ir['groups'])} nodes, "
          f"{len(ir['parameters'])} parameters")
    return 0


def run_export_blend(cfg: ExportBlendConfig) -> int:
    from .blender import export_blend
    from .files import read_json
    from .library import program_source

    _check_output_folder(cfg.out)
    ir = read_json(program_source(cfg.program), "program file")
    export_blend(ir, cfg.out)
    print(f"wrote {cfg.out}")
    return 0


def run_gallery(cfg: GalleryConfig) -> int:
    from .gallery import write_gallery

    programs = [s.strip() for s in cfg.programs.split(",") if s.strip()] if cfg.programs else None
    path = write_gallery(cfg.output, programs, n=cfg.n, seed=cfg.seed, cell=cfg.cell)
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


COMMANDS = {
    "eval": (EvalConfig, run_eval),
    "info": (InfoConfig, run_info),
    "spec": (SpecConfig, run_spec),
    "sample": (SampleConfig, run_sample),
    "import-blend": (ImportBlendConfig, run_import_blend),
    "export-blend": (ExportBlendConfig, run_export_blend),
    "gallery": (GalleryConfig, run_gallery),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    cfg = tyro.extras.subcommand_cli_from_dict({name: cls for name, (cls, _) in COMMANDS.items()}, prog="geonodes",
                                               description=DESCRIPTION, args=argv)
    name, run = next((name, run) for name, (cls, run) in COMMANDS.items() if isinstance(cfg, cls))
    try:
        return run(cfg)
    except GeonodesError as e:
        message = str(e).replace("\n", " ")
        print(f"geonodes {name}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
