"""Geometry operations: Transform, Join, Instance on Points, Realize, Set Position, Bounding Box."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..geometry import (EMPTY, GeomStruct, Instance, Part, Piecewise, Xform, combine, euler_to_matrix,
                        part_vertices, rotate, struct_points)
from . import S, node
from .primitive_nodes import _Values, primitive


def _is_constant(t: torch.Tensor, value: float) -> bool:
    """A node's unlinked input (broadcast constant) equal to `value` everywhere: skip the op."""
    return t.stride(0) == 0 and bool((t[0] == value).all())


def trs_xform(translation, rotation, scale) -> Xform:
    """p' = R(rotation) @ (scale * p) + translation, per batch row (Blender's loc/rot/scale).

    Rotation matrices are computed once for the whole batch on first use, and skipped when
    every row's rotation is zero (most furniture programs only move and scale parts).
    """
    cached = {}

    def apply(v, cache):
        if not cached:  # decided once per node evaluation, for the whole batch
            cached["rot"] = None if bool((rotation == 0).all()) else euler_to_matrix(rotation)
            cached["scale"] = None if _is_constant(scale, 1.0) else scale
            cached["move"] = None if _is_constant(translation, 0.0) else translation
        if cached["scale"] is not None:
            v = v * cached["scale"]
        if cached["rot"] is not None:
            v = rotate(v, cached["rot"])
        return v if cached["move"] is None else v + cached["move"]

    return Xform(apply)


@node(
    "GeometryNodeTransform",
    inputs=[S("Geometry", "GEOMETRY"), S("Translation", "VECTOR", (0.0, 0.0, 0.0)),
            S("Rotation", "ROTATION", (0.0, 0.0, 0.0)), S("Scale", "VECTOR", (1.0, 1.0, 1.0))],
    outputs=[S("Geometry", "GEOMETRY")],
    properties={"mode": "COMPONENTS"},
    choices={"mode": ("COMPONENTS",)},
)
def transform_geometry(n):
    xform = trs_xform(n.get("Translation"), n.get("Rotation"), n.get("Scale"))
    return {"Geometry": n.get("Geometry").map(lambda s: s.transformed(xform))}


@node(
    "GeometryNodeJoinGeometry",
    inputs=[S("Geometry", "GEOMETRY", multi=True)],
    outputs=[S("Geometry", "GEOMETRY")],
)
def join_geometry(n):
    inputs = n.get_multi("Geometry")
    if not inputs:
        return {"Geometry": Piecewise.uniform(n.batch, EMPTY, n.device)}

    def join(structs):
        return GeomStruct(sum((s.parts for s in structs), ()), sum((s.instances for s in structs), ()))

    return {"Geometry": combine(inputs, join)}


def _require_default(n, identifier, value, what):
    if n.is_linked(identifier) or n.stored(identifier, value) != value:
        raise IRError(f"node '{n.name}': {what} is not supported (socket '{identifier}' must keep its default {value!r})")


@node(
    "GeometryNodeInstanceOnPoints",
    inputs=[S("Points", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Instance", "GEOMETRY"),
            S("Pick Instance", "BOOLEAN", False), S("Instance Index", "INT", 0),
            S("Rotation", "ROTATION", (0.0, 0.0, 0.0)), S("Scale", "VECTOR", (1.0, 1.0, 1.0))],
    outputs=[S("Instances", "GEOMETRY")],
)
def instance_on_points(n):
    _require_default(n, "Selection", True, "a point selection")
    _require_default(n, "Pick Instance", False, "Pick Instance")
    rotation, scale = n.get("Rotation"), n.get("Scale")
    xforms: dict = {}
    matrix: dict = {}

    def point_xform(part: Part, k: int) -> Xform:
        if (id(part), k) not in xforms:
            def apply(v, cache, part=part, k=k):
                pos = part_vertices(part, cache)[k]
                if "rot" not in matrix:
                    matrix["rot"] = None if bool((rotation == 0).all()) else euler_to_matrix(rotation)
                v = v * scale
                if matrix["rot"] is not None:
                    v = rotate(v, matrix["rot"])
                return v + pos

            xforms[(id(part), k)] = (part, Xform(apply))
        return xforms[(id(part), k)][1]

    def make(structs):
        points, inst = structs
        if points.instances:
            raise IRError(f"node '{n.name}': instancing on the points of instances is not supported "
                          "(realize them first)")
        return GeomStruct((), tuple(Instance(inst, (point_xform(p, k),))
                                    for p in points.parts for k in range(p.prim.num_vertices)))

    return {"Instances": combine([n.get("Points"), n.get("Instance")], make)}


@node(
    "GeometryNodeRealizeInstances",
    inputs=[S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Realize All", "BOOLEAN", True),
            S("Depth", "INT", 0)],
    outputs=[S("Geometry", "GEOMETRY")],
)
def realize_instances(n):
    _require_default(n, "Selection", True, "an instance selection")
    _require_default(n, "Realize All", True, "partial realization")
    _require_default(n, "Depth", 0, "a realization depth")
    return {"Geometry": n.get("Geometry").map(GeomStruct.realized)}


@node(
    "GeometryNodeSetPosition",
    inputs=[S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Position", "VECTOR", None),
            S("Offset", "VECTOR", (0.0, 0.0, 0.0))],
    outputs=[S("Geometry", "GEOMETRY")],
)
def set_position(n):
    """Single-value Position/Offset (fields are not supported): an unlinked Position keeps the
    vertex positions (it is Blender's implicit Position field)."""
    _require_default(n, "Selection", True, "a selection")
    position = n.get("Position") if n.is_linked("Position") else None
    offset = n.get("Offset")

    def apply(v, cache):
        if position is not None:
            v = position.expand_as(v)
        return v + offset

    xform = Xform(apply)

    def move(s: GeomStruct) -> GeomStruct:  # Set Position moves mesh vertices, not instances
        return GeomStruct(tuple(Part(p.prim, p.chain + (xform,)) for p in s.parts), s.instances)

    return {"Geometry": n.get("Geometry").map(move)}


@node(
    "GeometryNodeBoundBox",
    inputs=[S("Geometry", "GEOMETRY")],
    outputs=[S("Bounding Box", "GEOMETRY"), S("Min", "VECTOR"), S("Max", "VECTOR")],
)
def bounding_box(n):
    """Bounds of the realized geometry (instances included); empty geometry gives zeros."""
    geometry = n.get("Geometry")
    lo = torch.zeros(n.batch, 3, dtype=n.dtype, device=n.device)
    hi = torch.zeros(n.batch, 3, dtype=n.dtype, device=n.device)
    has_points = torch.zeros(n.batch, dtype=torch.bool, device=n.device)
    for mask, struct in geometry.pieces:
        realized = struct.realized()
        if realized.num_points == 0:
            continue
        rows = mask.nonzero().squeeze(1)
        pts = struct_points(realized, n.geometry_cache).index_select(1, rows)
        lo = lo.index_put((rows,), pts.amin(dim=0))
        hi = hi.index_put((rows,), pts.amax(dim=0))
        has_points = has_points | mask
    box = primitive(_Values(n, {"__size__": hi - lo}), "mesh_cube", ["__size__"], [], (2, 2, 2))
    center = (lo + hi) * 0.5
    zero = torch.zeros_like(center)
    xform = trs_xform(center, zero, torch.ones_like(center))
    box = box.map(lambda s: s.transformed(xform)).restrict(has_points)
    empty = Piecewise.uniform(n.batch, EMPTY, n.device).restrict(~has_points)
    return {"Bounding Box": Piecewise(box.pieces + empty.pieces), "Min": lo, "Max": hi}

