"""Goldens of Blender 4.3+'s rewritten Triangulate, measured with bpy 5.0 (tests/test_triangulate_blender5.py
reads them without Blender): small programs (a primitive, maybe its points moved by an Index field, then
Triangulate with every quad and n-gon method, all or all but one face selected) saved by bpy 5.0 as .blend
files, imported by geonodes' importer (so the IR says which Blender saved them) and evaluated by Blender: the
mesh, and its edges in Blender's order as the points Mesh to Points (EDGES) puts at their middles.
    one-off setup: python -m venv /tmp/venv-bpy5 && /tmp/venv-bpy5/bin/pip install bpy==5.0.1 'numpy<2'
    usage: /tmp/venv-bpy5/bin/python scripts/make_blender5_goldens.py [OUT_DIR]  (default tests/data/blender5)
"""
from __future__ import annotations

import gzip
import json
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
pkg = types.ModuleType("geonodes")  # geonodes.blender without geonodes/__init__.py: this venv has no torch
pkg.__path__ = [str(REPO / "geonodes")]
sys.modules["geonodes"] = pkg
from geonodes.blender import evaluate_in_blender, import_blend  # noqa: E402
from geonodes.blender.exporter import export_blend  # noqa: E402

SOURCES = {
    "grid": ("GeometryNodeMeshGrid", {}, {"Size X": 1.3, "Size Y": 0.9, "Vertices X": 4, "Vertices Y": 3}),
    "cylinder": ("GeometryNodeMeshCylinder", {"fill_type": "NGON"}, {"Vertices": 7, "Side Segments": 2, "Radius": 0.8}),
    "cone": ("GeometryNodeMeshCone", {"fill_type": "NGON"}, {"Vertices": 9, "Radius Top": 0.0}),
    "uvsphere": ("GeometryNodeMeshUVSphere", {}, {"Segments": 6, "Rings": 4}),
    "circle": ("GeometryNodeMeshCircle", {"fill_type": "NGON"}, {"Vertices": 11}),
    "cube": ("GeometryNodeMeshCube", {}, {"Size": [1, 1.5, 0.7], "Vertices X": 3, "Vertices Y": 2, "Vertices Z": 2}),
}
QUAD = ("BEAUTY", "FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL", "LONGEST_DIAGONAL")


def node(name, type_, props=None, inputs=None):
    return {"name": name, "type": type_, "properties": props or {}, "inputs": inputs or {}}


def link(src, dst):
    return {"from": list(src), "to": list(dst), "order": 0}


def make(source: str, quad: str, ngon: str, jitter: float, unselected, edges: bool) -> dict:
    t, props, inputs = SOURCES[source]
    nodes = [node("Group Input", "NodeGroupInput"), node("Group Output", "NodeGroupOutput"), node("S", t, props, inputs),
             node("T", "GeometryNodeTriangulate", {"quad_method": quad, "ngon_method": ngon})]
    links, last = [], ("S", "Mesh")
    if jitter:  # point i moved by jitter * (sin 1.37i, sin 1.37i, cos 1.37i): bent quads and n-gons
        nodes += [node("I", "GeometryNodeInputIndex"), node("M1", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.37}),
                  node("M2", "ShaderNodeMath", {"operation": "SINE"}),
                  node("M3", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": jitter}),
                  node("M4", "ShaderNodeMath", {"operation": "COSINE"}),
                  node("M5", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": jitter}),
                  node("C", "ShaderNodeCombineXYZ"), node("P", "GeometryNodeSetPosition")]
        links += [link(("I", "Index"), ("M1", "Value")), link(("M1", "Value"), ("M2", "Value")),
                  link(("M2", "Value"), ("M3", "Value")), link(("M1", "Value"), ("M4", "Value")),
                  link(("M4", "Value"), ("M5", "Value")), link(("M3", "Value"), ("C", "X")),
                  link(("M3", "Value"), ("C", "Y")), link(("M5", "Value"), ("C", "Z")),
                  link(last, ("P", "Geometry")), link(("C", "Vector"), ("P", "Offset"))]
        last = ("P", "Geometry")
    if unselected is not None:  # every face but one
        nodes += [node("SI", "GeometryNodeInputIndex"),
                  node("SC", "FunctionNodeCompare", {"data_type": "INT", "operation": "NOT_EQUAL"}, {"B_INT": unselected})]
        links += [link(("SI", "Index"), ("SC", "A_INT")), link(("SC", "Result"), ("T", "Selection"))]
    links.append(link(last, ("T", "Mesh")))
    last = ("T", "Mesh")
    if edges:
        nodes += [node("E", "GeometryNodeMeshToPoints", {"mode": "EDGES"}), node("V", "GeometryNodePointsToVertices")]
        links += [link(last, ("E", "Mesh")), link(("E", "Points"), ("V", "Points"))]
        last = ("V", "Mesh")
    links.append(link(last, ("Group Output", "Out")))
    return {"format": "geonodes-ir", "version": 1, "name": "triangulate", "main_group": "main",
            "groups": [{"name": "main", "inputs": [], "outputs": [{"identifier": "Out", "name": "Geometry", "type": "GEOMETRY"}],
                        "nodes": nodes, "links": links}], "parameters": []}


def cases() -> list:
    """Every source with every quad method, the n-gon method, bending and selection alternating."""
    out = []
    for s, source in enumerate(SOURCES):
        for q, quad in enumerate(QUAD):
            k = s + q
            out.append((source, quad, ("BEAUTY", "CLIP")[k % 2], (0.0, 0.15)[(k // 2) % 2], (None, 2)[q % 2]))
    return out


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    programs, arrays = {}, {}
    for i, case in enumerate(cases()):
        name = "-".join(str(x) for x in case)
        for edges in (False, True):
            path = tmp / f"case{i}{'e' * edges}.blend"
            export_blend(make(*case, edges), path)
            ir = import_blend(path)
            if not ir["source"]["saved_by"].startswith("5."):
                raise SystemExit(f"{path}: saved by {ir['source']['saved_by']}, not Blender 5")
            mesh = evaluate_in_blender(path, [{}])[0]
            key = f"{name}/{'edges' if edges else 'mesh'}"
            programs[key] = ir
            arrays[f"{key}/vertices"] = mesh["vertices"].astype(np.float32)
            arrays[f"{key}/face_offsets"] = mesh["face_offsets"].astype(np.int32)
            arrays[f"{key}/face_vertices"] = mesh["face_vertices"].astype(np.int32)
    with gzip.open(out_dir / "triangulate.json.gz", "wt") as f:
        json.dump(programs, f, sort_keys=True)
    np.savez_compressed(out_dir / "triangulate.npz", **arrays)
    print(f"{len(programs)} programs -> {out_dir}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "data" / "blender5")
