"""Blender as oracle: a program evaluated in Blender for parameter sets, and golden files of
those meshes (reading them needs no bpy)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import IRError
from ..files import read_json
from .common import _bpy
from .exporter import _set_modifier_input, build_blender_tree
from .importer import import_blend


def evaluate_in_blender(ir_or_blend, param_sets: list[dict], object_name=None) -> list[dict]:
    """Evaluate the program in Blender for each {parameter name: value} set.

    Returns per set: vertices float64 (V,3), face_offsets int64 (F+1,), face_vertices int64
    (loops), loop_triangles int64 (T,3), all in Blender's order. Parameters not in a set keep
    their default. `ir_or_blend` is an IR dict, a path to IR JSON, or a path to a .blend.
    """
    bpy = _bpy()
    if isinstance(ir_or_blend, dict):
        ir = ir_or_blend
    elif Path(ir_or_blend).suffix == ".json":
        ir = read_json(ir_or_blend, "program file")
    else:
        ir = None
    if ir is None:
        # Evaluate the original file itself (the oracle), not a rebuilt copy of it.
        ir = import_blend(ir_or_blend, object_name=object_name)  # leaves the file open
        obj = bpy.data.objects[ir["source"]["object"]]
        mod = obj.modifiers[ir["source"]["modifier"]]
        main_ids = {p["socket"]: p["socket"] for p in ir["parameters"]}
    else:
        obj, mod, identifiers = build_blender_tree(ir)
        main_ids = identifiers[ir["main_group"]]
    params = {p["name"]: p for p in ir.get("parameters", [])}
    results = []
    for i, values in enumerate(param_sets):
        for name, value in values.items():
            if name not in params:
                raise IRError(f"parameter set {i}: unknown parameter '{name}'")
            p = params[name]
            _set_modifier_input(mod, main_ids[p["socket"]], p["kind"], value)
        obj.update_tag()
        results.append(_evaluated_mesh(bpy, obj))
        for name in values:  # back to defaults so sets do not leak into each other
            p = params[name]
            _set_modifier_input(mod, main_ids[p["socket"]], p["kind"], p["default"])
    return results


evaluate_tree_in_blender = evaluate_in_blender


def _evaluated_mesh(bpy, obj) -> dict:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        nv, nf, nl = len(mesh.vertices), len(mesh.polygons), len(mesh.loops)
        co = np.empty(nv * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        starts = np.empty(nf, dtype=np.int32)
        mesh.polygons.foreach_get("loop_start", starts)
        totals = np.empty(nf, dtype=np.int32)
        mesh.polygons.foreach_get("loop_total", totals)
        loops = np.empty(nl, dtype=np.int32)
        mesh.loops.foreach_get("vertex_index", loops)
        mesh.calc_loop_triangles()
        tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", tris)
    finally:
        ev.to_mesh_clear()
    # Polygons are stored contiguously in loop order; assert it so face_offsets are exact.
    offsets = np.concatenate([[0], np.cumsum(totals)]).astype(np.int64)
    if nf and not np.array_equal(starts, offsets[:-1]):
        raise IRError(f"object '{obj.name}': evaluated mesh has non-contiguous polygon loops")
    return {"vertices": co.reshape(nv, 3).astype(np.float64),
            "face_offsets": offsets,
            "face_vertices": loops.astype(np.int64),
            "loop_triangles": tris.reshape(-1, 3).astype(np.int64)}


# ------------------------------------------------------------------------------------------
# Golden files (no bpy needed to read them)
# ------------------------------------------------------------------------------------------

def write_goldens(path, param_names, param_values, meshes) -> None:
    """Store meshes of many parameter sets as flat arrays + per-set offsets (npz, compressed)."""
    def ragged(arrays, dtype):
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
        flat = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
        return flat, offsets

    verts, vert_sets = ragged([m["vertices"].astype(np.float32) for m in meshes], np.float32)
    sizes, poly_sets = ragged([np.diff(m["face_offsets"]) for m in meshes], np.int32)
    loops, loop_sets = ragged([m["face_vertices"] for m in meshes], np.int32)
    tris, tri_sets = ragged([m["loop_triangles"] for m in meshes], np.int32)
    np.savez_compressed(
        path, param_names=np.array(param_names, dtype=str),
        param_values=np.asarray(param_values, dtype=np.float64),
        vertices=verts, vertex_set_offsets=vert_sets,
        polygon_sizes=sizes, polygon_set_offsets=poly_sets,
        face_vertices=loops, loop_set_offsets=loop_sets,
        loop_triangles=tris, triangle_set_offsets=tri_sets)


def read_goldens(path) -> tuple[list[dict], list[dict]]:
    """(parameter sets {name: value as float}, meshes like `evaluate_in_blender` returns)."""
    z = np.load(path)
    names = [str(n) for n in z["param_names"]]
    sets, meshes = [], []
    for i, row in enumerate(z["param_values"]):
        sets.append(dict(zip(names, row.tolist())))
        v0, v1 = z["vertex_set_offsets"][i:i + 2]
        p0, p1 = z["polygon_set_offsets"][i:i + 2]
        l0, l1 = z["loop_set_offsets"][i:i + 2]
        t0, t1 = z["triangle_set_offsets"][i:i + 2]
        sizes = z["polygon_sizes"][p0:p1].astype(np.int64)
        meshes.append({
            "vertices": z["vertices"][v0:v1].astype(np.float64),
            "face_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "face_vertices": z["face_vertices"][l0:l1].astype(np.int64),
            "loop_triangles": z["loop_triangles"][t0:t1].astype(np.int64)})
    return sets, meshes


def sample_parameter_sets(parameters: list[dict], count: int, seed: int) -> list[dict]:
    """Random sets: every `sample: true` parameter uniform in [min, max], others default."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        values = {}
        for p in parameters:
            if not p.get("sample"):
                values[p["name"]] = p["default"]
            elif p["kind"] == "float":
                values[p["name"]] = float(rng.uniform(p["min"], p["max"]))
            elif p["kind"] == "int":
                values[p["name"]] = int(rng.integers(p["min"], p["max"] + 1))
            else:
                values[p["name"]] = bool(rng.random() < 0.5)
        sets.append(values)
    return sets


def sample_within_limits(parameters: list[dict], count: int, seed: int) -> list[dict]:
    """Random sets over more than the search ranges, for checking the compiler where Blender
    is the only reference: every parameter (sampled or not) is drawn, a float uniform in its
    search range widened by the range's span on each side, an int in [min - 2, max + 2],
    both clipped to the hard limits (what Blender accepts); bools at random."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        values = {}
        for p in parameters:
            if p["kind"] == "bool":
                values[p["name"]] = bool(rng.random() < 0.5)
                continue
            lo, hi = p["limits"]["hard"] if "limits" in p else (-np.inf, np.inf)
            if p["kind"] == "float":
                span = p["max"] - p["min"] or 1.0
                a, b = max(p["min"] - span, lo), min(p["max"] + span, hi)
                values[p["name"]] = float(rng.uniform(a, b))
            else:
                a, b = max(int(p["min"]) - 2, lo), min(int(p["max"]) + 2, hi)
                values[p["name"]] = int(rng.integers(a, b + 1))
        sets.append(values)
    return sets
