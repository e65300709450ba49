"""Small helpers to write IR programs by hand in tests."""
from __future__ import annotations

import numpy as np
import torch

from geonodes.program import load_program


def node(name, type_, props=None, inputs=None, group=None):
    d = {"name": name, "type": type_, "properties": props or {}, "inputs": inputs or {}}
    if group:
        d["group"] = group
    return d


def link(src, dst, order=0):
    return {"from": list(src), "to": list(dst), "order": order}


def program(nodes, links, params=(), extra_groups=(), name="test"):
    """Main group 'main' with one FLOAT/INT/BOOLEAN input per parameter and a geometry output
    fed from whatever is linked to ('Group Output', 'Out')."""
    type_of = {"float": "FLOAT", "int": "INT", "bool": "BOOLEAN"}
    inputs = [{"identifier": p["name"], "name": p["name"], "type": type_of[p["kind"]], "default": p["default"]}
              for p in params]
    parameters = [{"socket": p["name"], "min": p.get("min", -1e6 if p["kind"] != "bool" else 0),
                   "max": p.get("max", 1e6 if p["kind"] != "bool" else 1), **p} for p in params]
    return {
        "format": "geonodes-ir", "version": 1, "name": name, "main_group": "main",
        "groups": [{
            "name": "main", "inputs": inputs,
            "outputs": [{"identifier": "Out", "name": "Geometry", "type": "GEOMETRY"}],
            "nodes": [node("Group Input", "NodeGroupInput"), node("Group Output", "NodeGroupOutput")] + list(nodes),
            "links": list(links),
        }] + list(extra_groups),
        "parameters": parameters,
    }


def probe(nodes, links, source, params=(), **values):
    """Evaluate a value: `source` = (node, output) is linked to a one-point Mesh Line's start.

    Returns the point (vector sockets) or its x (scalars convert to (x, x, x)).
    """
    ir = value_program(nodes, links, source, params)
    mesh = load_program(ir).evaluate_one(values, dtype=torch.float64)
    return mesh.vertices[0]


def value_program(nodes, links, source, params=()):
    probe_nodes = [node("Probe", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1})]
    probe_links = [link(source, ("Probe", "Start Location")), link(("Probe", "Mesh"), ("Group Output", "Out"))]
    return program(list(nodes) + probe_nodes, list(links) + probe_links, params)


def fparams(*names, default=0.0):
    return [{"name": n, "kind": "float", "default": default} for n in names]


def mesh_mismatch(mesh, ref, triangles: bool = True, atol: float = 1e-5) -> str | None:
    """Why the compiler's mesh differs from Blender's (`evaluate_in_blender`'s dict), or None when
    they agree: the same vertices (max abs error <= 1e-5), the same polygons (vertex cycles, in
    order), the same triangles for triangles and quads (Blender splits a quad (0,1,2),(0,2,3);
    n-gons are polyfilled by Blender, so only their triangle count is compared)."""
    verts = mesh.vertices.detach().cpu().numpy()
    if verts.shape != ref["vertices"].shape:
        return f"vertex count {len(verts)} != Blender's {len(ref['vertices'])}"
    err = float(np.abs(verts - ref["vertices"]).max()) if len(verts) else 0.0
    if err > atol:
        worst = int(np.abs(verts - ref["vertices"]).max(axis=1).argmax())
        return f"max vertex error {err:.3g} (vertex {worst})"
    offsets = mesh.face_offsets.cpu().numpy()
    if not np.array_equal(offsets, ref["face_offsets"]):
        return (f"polygon sizes differ ({len(offsets) - 1} polygons vs Blender's "
                f"{len(ref['face_offsets']) - 1})")
    if not np.array_equal(mesh.face_vertices.cpu().numpy(), ref["face_vertices"]):
        return "polygon vertex cycles differ"
    if not triangles:
        return None
    tris, ref_tris = mesh.triangles.cpu().numpy(), ref["loop_triangles"]
    if tris.shape != ref_tris.shape:
        return f"triangle count {len(tris)} != Blender's {len(ref_tris)}"
    # both triangulations list each polygon's n-2 triangles consecutively, polygon by polygon
    sizes = np.diff(offsets)
    first = np.concatenate([[0], np.cumsum(sizes - 2)])[:-1]
    rows = np.concatenate([np.arange(f, f + s - 2) for f, s in zip(first, sizes) if s <= 4]
                          or [np.zeros(0, dtype=np.int64)])
    if not np.array_equal(tris[rows], ref_tris[rows]):
        return "triangles of triangles/quads differ"
    return None
