"""Geometry operations: Transform, Join, Instance on Points, Realize (Set Position: field_nodes;
Bounding Box: bounds_nodes)."""
from __future__ import annotations

from ..errors import IRError
from ..fields import Field
from ..geometry import (EMPTY, GeomStruct, Instance, Part, Piecewise, Xform, combine, euler_to_matrix,
                        part_vertices)
from . import S, compiled, node
from .instance_fields import instances_with_fields


def trs_xform(translation, rotation, scale) -> Xform:
    """p' = R(rotation) @ (scale * p) + translation, per batch row (Blender's loc/rot/scale).

    None leaves a component out (known identity). The affine is built once per node
    evaluation on first use; a rotation that is zero in every row is left out too.
    """
    cached = []

    def affine(cache):
        if not cached:  # decided once per node evaluation, for the whole batch
            rot = None if rotation is None or bool((rotation == 0).all()) else euler_to_matrix(rotation)
            m = rot if scale is None else (scale if rot is None else rot * scale[:, None, :])
            cached.append((m, translation))
        return cached[0]

    return Xform(affine)


def _single(n, value, identifier: str):
    """A single-value input; a field there is an error naming the node (as in Blender)."""
    if type(value) is Field:
        raise IRError(f"{n.where}: input '{identifier}' takes a single value, but a field is linked to it")
    return value


def _unless_default(n, identifier: str, identity: tuple):
    """The input's value, or None when it is unlinked and stores the identity (no op needed)."""
    return None if n.prepared(_IDENTITY_INPUTS)[identifier] else n.get(identifier)


def _identity_inputs(n) -> dict:
    """Which Transform inputs are unlinked and store the identity (decided once per node)."""
    identity = {"Translation": (0.0, 0.0, 0.0), "Rotation": (0.0, 0.0, 0.0), "Scale": (1.0, 1.0, 1.0)}
    return {k: not n.is_linked(k) and tuple(float(x) for x in n.stored(k)) == v for k, v in identity.items()}


_IDENTITY_INPUTS = _identity_inputs


@node(
    "GeometryNodeTransform",
    inputs=[S("Geometry", "GEOMETRY"), S("Translation", "VECTOR", (0.0, 0.0, 0.0)),
            S("Rotation", "ROTATION", (0.0, 0.0, 0.0)), S("Scale", "VECTOR", (1.0, 1.0, 1.0))],
    outputs=[S("Geometry", "GEOMETRY")],
    properties={"mode": "COMPONENTS"},
    choices={"mode": ("COMPONENTS",)},
)
def transform_geometry(n):
    xform = trs_xform(*(_single(n, _unless_default(n, k, None), k) for k in ("Translation", "Rotation", "Scale")))
    memo: dict = {}
    return {"Geometry": n.get("Geometry").map(lambda s: s.transformed(xform, memo))}


@compiled("GeometryNodeTransform")
def _transform_compiled(n):
    """transform_geometry with the identity decisions taken once (same ops, same input order)."""
    identity = _identity_inputs(n)
    gt, gr, gs = (None if identity[k] else n.getter(k) for k in ("Translation", "Rotation", "Scale"))
    geometry = n.getter("Geometry")

    checked = n.fields_possible

    def transform(call):
        t, r, s = gt(call) if gt else None, gr(call) if gr else None, gs(call) if gs else None
        if checked and (type(t) is Field or type(r) is Field or type(s) is Field):
            raise IRError(f"{call.where(n.node)}: Transform Geometry takes single values, but a field is linked to it")
        xform = trs_xform(t, r, s)
        memo: dict = {}
        return {"Geometry": geometry(call).map(lambda s: s.transformed(xform, memo))}

    return transform


@node(
    "GeometryNodeJoinGeometry",
    inputs=[S("Geometry", "GEOMETRY", multi=True)],
    outputs=[S("Geometry", "GEOMETRY")],
)
def join_geometry(n):
    inputs = n.get_multi("Geometry")
    if not inputs:
        return {"Geometry": Piecewise.uniform(n.batch, EMPTY, n.device)}
    return {"Geometry": combine(inputs, _join)}


def _join(structs) -> GeomStruct:
    parts, more = [], False
    for s in structs:
        parts += s.parts
        more = more or s.instances or s.curves or s.points
    if not more:  # meshes only (the usual case)
        return GeomStruct(tuple(parts))
    return GeomStruct(tuple(p for s in structs for p in s.parts), tuple(i for s in structs for i in s.instances),
                      tuple(c for s in structs for c in s.curves), tuple(c for s in structs for c in s.points))


@compiled("GeometryNodeJoinGeometry")
def _join_compiled(n):
    getters = n.multi_getters("Geometry")

    def join(call):
        inputs = [g(call) for g in getters]
        if not inputs:
            return {"Geometry": Piecewise.uniform(call.ev.batch, EMPTY, call.ev.device)}
        return {"Geometry": combine(inputs, _join)}

    return join


def _everywhere(n) -> bool:
    """Whether the node's Selection is unlinked and true (no per-row check needed)."""
    return not n.is_linked("Selection") and n.stored("Selection", True) is True


def _require_default(n, identifier, value, what):
    if n.is_linked(identifier) or n.stored(identifier, value) != value:
        raise IRError(f"{n.where}: {what} is not supported (socket '{identifier}' must keep its default {value!r})")


@node(
    "GeometryNodeInstanceOnPoints",
    inputs=[S("Points", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Instance", "GEOMETRY"),
            S("Pick Instance", "BOOLEAN", False), S("Instance Index", "INT", 0),
            S("Rotation", "ROTATION", (0.0, 0.0, 0.0)), S("Scale", "VECTOR", (1.0, 1.0, 1.0))],
    outputs=[S("Instances", "GEOMETRY")],
)
def instance_on_points(n):
    _require_default(n, "Pick Instance", False, "Pick Instance")
    rotation, scale = n.get("Rotation"), n.get("Scale")
    selection = None if _everywhere(n) else n.get("Selection")
    if (type(rotation) is Field or type(scale) is Field
            or (selection is not None and (type(selection) is Field or not bool(selection.all())))):
        if selection is None:
            selection = n.get("Selection")
        return {"Instances": instances_with_fields(n, n.get("Points"), n.get("Instance"), selection, rotation, scale)}
    xforms: dict = {}
    matrix: dict = {}

    def point_xform(part: Part, k: int) -> Xform:
        if (part.key, k) not in xforms:
            def affine(cache, part=part, k=k):
                if "m" not in matrix:  # rotation and scale are shared by every point
                    m = None if bool((rotation == 0).all()) else euler_to_matrix(rotation)
                    matrix["m"] = scale if m is None else m * scale[:, None, :]
                return matrix["m"], part_vertices(part, cache)[:, k, :]

            xforms[(part.key, k)] = (part, Xform(affine))
        return xforms[(part.key, k)][1]

    def make(structs):
        points, inst = structs
        if points.instances:
            raise IRError(f"{n.where}: instancing on the points of instances is not supported "
                          "(realize them first)")
        # the mesh's points, the point clouds', then the curves' control points (Blender's order)
        return GeomStruct((), tuple(Instance(inst, (point_xform(p, k),))
                                    for p in points.parts + points.points + points.curves
                                    for k in range(_point_count(p))))

    return {"Instances": combine([n.get("Points"), n.get("Instance")], make)}


def _point_count(part: Part) -> int:
    """Points to instance on: a mesh's vertices, a curve's control points (not its handles)."""
    curve = getattr(part.prim, "curve", None)
    return part.prim.num_vertices if curve is None else curve.num_points


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

