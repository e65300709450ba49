"""Field inputs (Position, Index, Normal, ID, Named Attribute), Set Position, and the function
nodes made for fields (Boolean Math, Map Range, Mix). See geonodes.fields."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import Field, FieldContext, MeshData, is_field, lift, safe_sqrt
from ..geometry import EMPTY, GeomStruct, Instance, Piecewise, Xform, chain_affine, dense_struct, realize, with_data
from ..sockets import convert
from . import S, node
from .curve_position import move_curves


# ------------------------------------------------------------------ evaluating fields on geometry


def mesh_context(prim, rows: torch.Tensor, domain: str) -> FieldContext:
    """A field context for batch `rows` of a dense primitive."""
    attributes = {k: (d, v.index_select(0, rows)) for k, (d, v) in prim.attributes.items()}
    mesh = MeshData(prim.dense.index_select(0, rows), prim.face_offsets.to(rows.device),
                    prim.face_vertices.to(rows.device), attributes, prim.edges,
                    prim.edges_known)
    if prim.vertex_normals is not None:  # the primitive's own (Blender's UV Sphere)
        normals = prim.vertex_normals.to(mesh.positions)
        mesh.derived("vertex_normals", lambda: normals.expand(mesh.positions.shape[0], -1, -1))
    return FieldContext(mesh, rows, domain)


def each_mesh(n, geometry: Piecewise, fn, points: bool = False) -> Piecewise:
    """fn(dense primitive, rows index, struct) -> struct (its parts the new dense mesh) for every
    piece with a mesh; with `points`, for its point cloud too (a component of its own, its own
    field domain: fn sees it as a face-less mesh)."""
    pieces = []
    for rows, struct in geometry.pieces:
        cloud = points and bool(struct.points)
        if not struct.parts and not cloud:
            pieces.append((rows, struct))
            continue
        index = rows.index(n.device)
        out = fn(realize(struct, n.geometry_cache), index, struct) if struct.parts else struct
        moved = fn(realize(GeomStruct(struct.points), n.geometry_cache), index, EMPTY).parts if cloud else struct.points
        pieces.append((rows, GeomStruct(out.parts, out.instances, struct.curves, moved)))
    return Piecewise(pieces).merged()


# ------------------------------------------------------------------ inputs


def _position(ctx):
    return ctx.from_domain(ctx.mesh.positions, "POINT")


def _index(ctx):
    return torch.arange(ctx.n, device=ctx.rows.device).repeat(ctx.b)


@node("GeometryNodeInputPosition", outputs=[S("Position", "VECTOR")])
def input_position(n):
    return {"Position": Field(_position)}


@node("GeometryNodeInputIndex", outputs=[S("Index", "INT")])
def input_index(n):
    where = n.where

    def index(ctx):
        if ctx.domain == "EDGE" and not ctx.mesh.edges_known:
            raise IRError(f"{where}: Index on the EDGE domain of a mesh whose edge order is not modelled "
                          "(it comes from a node that does not keep Blender's edge order)")
        return _index(ctx)
    return {"Index": Field(index)}


def _normal(ctx, where="Normal", legacy_corners=True):
    mesh, domain = ctx.mesh, ctx.domain
    if mesh.curves:  # the control points' normals (minimum twist frames), where the context makes them
        if mesh.curve_normals is None or domain != "POINT":
            raise IRError(f"{where}: the Normal field on curves is supported on their points only (here "
                          f"{'their splines' if domain == 'FACE' else domain})")
        return mesh.derived("curve_normals", mesh.curve_normals).reshape(-1, 3)
    if domain == "POINT":
        values = mesh.vertex_normals()
    elif domain == "FACE":
        values = mesh.face_normals()
    elif domain == "EDGE":  # the normalized mean of its points' normals (Blender's edge normal)
        e = mesh.edges()
        vn = mesh.vertex_normals()
        mid = (vn.index_select(1, e[:, 0]) + vn.index_select(1, e[:, 1])) * 0.5
        length = safe_sqrt((mid * mid).sum(-1, keepdim=True))
        values = torch.where(length > 0, mid / torch.where(length > 0, length, torch.ones_like(length)), mid)
    elif domain == "CORNER":  # Blender 4.2: its face's normal, whether the face is smooth or sharp
        if not legacy_corners:
            raise IRError(f"{where}: the Normal field on the CORNER domain with Legacy Corner Normals off "
                          "(Blender 4.3+'s corner normals of smooth faces) is not supported")
        values = mesh.face_normals().index_select(1, mesh.corner_face())
    else:
        raise IRError(f"the Normal field on the {domain} domain is not supported")
    return values.reshape(-1, 3)


@node("GeometryNodeInputNormal", outputs=[S("Normal", "VECTOR")], properties={"legacy_corner_normals": True},
      choices={"legacy_corner_normals": (False, True)})
def input_normal(n):
    """Legacy Corner Normals (a property since Blender 4.3; files from 4.2 have none: on) only
    changes the CORNER domain."""
    where, legacy = n.where, n.props["legacy_corner_normals"]
    return {"Normal": Field(lambda ctx: _normal(ctx, where, legacy))}


def _id(ctx):
    stored = ctx.mesh.attributes.get("id")
    if stored is None:  # no id attribute: the index (Blender's fallback)
        return _index(ctx)
    return ctx.from_domain(stored[1], stored[0])


@node("GeometryNodeInputID", outputs=[S("ID", "INT")])
def input_id(n):
    return {"ID": Field(_id)}


# Named Attribute / Store Named Attribute: data_type -> socket type
ATTRIBUTE_TYPES = {"FLOAT": "FLOAT", "INT": "INT", "INT8": "INT", "BOOLEAN": "BOOLEAN", "FLOAT_VECTOR": "VECTOR",
                   "FLOAT2": "VECTOR", "QUATERNION": "ROTATION", "FLOAT_COLOR": "RGBA", "BYTE_COLOR": "RGBA"}
_READABLE = ("FLOAT", "INT", "BOOLEAN", "FLOAT_VECTOR")
_ZERO = {"FLOAT": 0.0, "INT": 0, "BOOLEAN": False, "VECTOR": (0.0, 0.0, 0.0)}


def _named_sockets(props):
    return [S("Name", "STRING", "")], [S("Attribute", ATTRIBUTE_TYPES[props["data_type"]]), S("Exists", "BOOLEAN")]


@node("GeometryNodeInputNamedAttribute", sockets=_named_sockets, properties={"data_type": "FLOAT"},
      choices={"data_type": _READABLE})
def input_named_attribute(n):
    name, want = n.get("Name").value, ATTRIBUTE_TYPES[n.props["data_type"]]
    dtype = n.dtype

    def read(ctx):
        stored = ctx.mesh.attributes.get(name)
        if stored is None:  # a missing attribute reads as zeros
            return ctx.value(n.constant(_ZERO[want], want))
        domain, values = stored
        return convert(ctx.from_domain(values, domain), _socket_type(values), want, dtype)

    def exists(ctx):
        return torch.full((ctx.b * ctx.n,), name in ctx.mesh.attributes, dtype=torch.bool, device=ctx.rows.device)

    return {"Attribute": Field(read), "Exists": Field(exists)}


def _socket_type(values: torch.Tensor) -> str:
    if values.dtype == torch.bool:
        return "BOOLEAN"
    if not values.is_floating_point():
        return "INT"
    return "VECTOR" if values.dim() == 3 else "FLOAT"


# ------------------------------------------------------------------ Set Position


@node(
    "GeometryNodeSetPosition",
    inputs=[S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Position", "VECTOR", None),
            S("Offset", "VECTOR", (0.0, 0.0, 0.0))],
    outputs=[S("Geometry", "GEOMETRY")],
)
def set_position(n):
    """Selected vertices move to Position + Offset (an unlinked Position is Blender's implicit
    Position field: the vertices stay and Offset moves them), and so do the selected points of
    the point cloud, the curves' control points (handles following) and selected instances
    (their translations). Single values are a per-row affine on the symbolic geometry; fields
    realize each piece's mesh into a dense mesh."""
    geometry = n.get("Geometry")
    selection = n.get("Selection")
    position = n.get("Position") if n.is_linked("Position") else None
    offset = n.get("Offset")
    fields = any(is_field(x) for x in (selection, position, offset))
    xform = None if fields else _single_value_move(selection, position, offset, _selects_all(n))
    pieces = []
    for rows, struct in geometry.pieces:
        points, curves = struct.points, struct.curves
        if struct.parts and fields:
            struct = move_points(realize(struct, n.geometry_cache), rows.index(n.device), struct, selection, position, offset)
        elif struct.parts:
            struct = GeomStruct(tuple(p.then((xform,)) for p in struct.parts), struct.instances)
        if points:  # the point cloud component, its own field domain (Index restarts there)
            if fields:
                cloud = move_points(realize(GeomStruct(points), n.geometry_cache), rows.index(n.device), EMPTY,
                                    selection, position, offset).parts
            else:
                cloud = tuple(p.then((xform,)) for p in points)
            struct = GeomStruct(struct.parts, struct.instances, (), cloud)
        if curves:  # the curves component: control points, handles following (its own domain too)
            curves = move_curves(n, rows.index(n.device), curves, selection, position, offset)
        if struct.instances:
            struct = GeomStruct(struct.parts, _move_instances(n, rows.index(n.device), struct.instances, selection,
                                                              position, offset), (), struct.points)
        pieces.append((rows, GeomStruct(struct.parts, struct.instances, curves, struct.points)))
    return {"Geometry": Piecewise(pieces).merged()}


def _selects_all(n) -> bool:
    return not n.is_linked("Selection") and n.stored("Selection", True) is True


def _single_value_move(selection, position, offset, unlinked_true: bool) -> Xform:
    everywhere = unlinked_true or bool(selection.all())
    if position is None:
        t = offset if everywhere else torch.where(selection[:, None], offset, torch.zeros_like(offset))
        return Xform(lambda cache: (None, t))
    # every selected vertex moves to Position + Offset: m = 0 keeps the gradient paths exact
    target = position + offset
    if everywhere:
        return Xform(lambda cache: (torch.zeros_like(position), target))
    m = torch.where(selection[:, None], torch.zeros_like(target), torch.ones_like(target))
    t = torch.where(selection[:, None], target, torch.zeros_like(target))
    return Xform(lambda cache: (m, t))


def move_points(prim, rows, struct, selection, position, offset):
    """A piece's dense mesh with its selected points at position + offset (fields or values)."""
    ctx = mesh_context(prim, rows, "POINT")
    old = ctx.mesh.positions
    new = old if position is None else ctx.grid(position)
    new = new + ctx.grid(offset)
    new = torch.where(ctx.grid(selection)[..., None], new, old)
    dense = new if rows.shape[0] == prim.dense.shape[0] else prim.dense.index_copy(0, rows, new)
    return dense_struct(with_data(prim, positions=dense), struct)


def _move_instances(n, rows, instances: tuple, selection, position, offset) -> tuple:
    """The instances with their translations set (fields see one point per instance at its
    translation, in instance order)."""
    cache = n.geometry_cache
    old_full = []
    for inst in instances:
        t = chain_affine(inst.chain, cache)[1]
        old_full.append(torch.zeros(n.batch, 3, dtype=n.dtype, device=n.device) if t is None else t.expand(n.batch, 3))
    old_full = torch.stack(old_full, 1)
    none = torch.zeros(1, dtype=torch.int64, device=n.device)
    ctx = FieldContext(MeshData(old_full.index_select(0, rows), none, none[:0]), rows, "POINT")
    old = ctx.mesh.positions
    new = (old if position is None else ctx.grid(position)) + ctx.grid(offset)
    delta = torch.where(ctx.grid(selection)[..., None], new, old) - old
    if rows.shape[0] != n.batch:
        delta = torch.zeros_like(old_full).index_copy(0, rows, delta)
    return tuple(Instance(inst.geometry, inst.chain + (Xform(lambda cache, k=k: (None, delta[:, k])),))
                 for k, inst in enumerate(instances))


# ------------------------------------------------------------------ function nodes

BOOLEAN_OPS = {
    "AND": lambda a, b: a & b, "OR": lambda a, b: a | b, "NOT": lambda a, b: ~a,
    "NAND": lambda a, b: ~(a & b), "NOR": lambda a, b: ~(a | b), "XNOR": lambda a, b: a == b,
    "XOR": lambda a, b: a != b, "IMPLY": lambda a, b: ~a | b, "NIMPLY": lambda a, b: a & ~b,
}


@node("FunctionNodeBooleanMath", inputs=[S("Boolean", "BOOLEAN", False), S("Boolean_001", "BOOLEAN", False)],
      outputs=[S("Boolean", "BOOLEAN")], properties={"operation": "AND"}, choices={"operation": tuple(BOOLEAN_OPS)})
def boolean_math(n):
    op = n.props["operation"]
    return {"Boolean": lift(BOOLEAN_OPS[op], n.get("Boolean"), None if op == "NOT" else n.get("Boolean_001"))}


def _map_range_sockets(props):
    if props["data_type"] == "FLOAT":
        ins = [S("Value", "FLOAT", 1.0), S("From Min", "FLOAT", 0.0), S("From Max", "FLOAT", 1.0),
               S("To Min", "FLOAT", 0.0), S("To Max", "FLOAT", 1.0), S("Steps", "FLOAT", 4.0)]
        return ins, [S("Result", "FLOAT")]
    ins = [S("Vector", "VECTOR", (0.0, 0.0, 0.0)), S("From_Min_FLOAT3", "VECTOR", (0.0, 0.0, 0.0)),
           S("From_Max_FLOAT3", "VECTOR", (1.0, 1.0, 1.0)), S("To_Min_FLOAT3", "VECTOR", (0.0, 0.0, 0.0)),
           S("To_Max_FLOAT3", "VECTOR", (1.0, 1.0, 1.0)), S("Steps_FLOAT3", "VECTOR", (4.0, 4.0, 4.0))]
    return ins, [S("Vector", "VECTOR")]


def _safe_divide(a, b):
    return torch.where(b != 0, a / torch.where(b != 0, b, torch.ones_like(b)), torch.zeros_like(a))


def _map_range(interpolation: str, clamp: bool):
    """Blender's map range (node_shader_map_range.cc): the factor (v - from_min) / (from_max -
    from_min), safely divided, shaped by the interpolation, then lerped into the target range."""
    def fn(v, f0, f1, t0, t1, steps):
        factor = _safe_divide(v - f0, f1 - f0)
        if interpolation == "STEPPED":
            factor = _safe_divide(torch.floor(factor * (steps + 1.0)), steps)
        elif interpolation in ("SMOOTHSTEP", "SMOOTHERSTEP"):
            factor = torch.clamp(factor, 0.0, 1.0)
            factor = (3.0 - 2.0 * factor) * factor * factor if interpolation == "SMOOTHSTEP" else \
                factor * factor * factor * (factor * (factor * 6.0 - 15.0) + 10.0)
        out = t0 + factor * (t1 - t0)
        if clamp and interpolation in ("LINEAR", "STEPPED"):
            lo, hi = torch.minimum(t0, t1), torch.maximum(t0, t1)
            out = torch.minimum(torch.maximum(out, lo), hi)
        return out
    return fn


@node("ShaderNodeMapRange", sockets=_map_range_sockets,
      properties={"data_type": "FLOAT", "interpolation_type": "LINEAR", "clamp": True},
      choices={"data_type": ("FLOAT", "FLOAT_VECTOR"),
               "interpolation_type": ("LINEAR", "STEPPED", "SMOOTHSTEP", "SMOOTHERSTEP")})
def map_range(n):
    interpolation = n.props["interpolation_type"]
    fn = _map_range(interpolation, bool(n.props["clamp"]))
    if n.props["data_type"] == "FLOAT":
        ids, out = ("Value", "From Min", "From Max", "To Min", "To Max", "Steps"), "Result"
    else:
        ids, out = ("Vector", "From_Min_FLOAT3", "From_Max_FLOAT3", "To_Min_FLOAT3", "To_Max_FLOAT3",
                    "Steps_FLOAT3"), "Vector"
    args = [n.get(i) for i in ids[:5]] + [n.get(ids[5]) if interpolation == "STEPPED" else None]
    return {out: lift(fn, *args)}


def _mix_sockets(props):
    t = {"FLOAT": "FLOAT", "VECTOR": "VECTOR"}[props["data_type"]]
    suffix = "Float" if t == "FLOAT" else "Vector"
    factor = S("Factor_Vector", "VECTOR", (0.5, 0.5, 0.5)) if t == "VECTOR" and props["factor_mode"] == "NON_UNIFORM" \
        else S("Factor_Float", "FLOAT", 0.5)
    zero = 0.0 if t == "FLOAT" else (0.0, 0.0, 0.0)
    return [factor, S(f"A_{suffix}", t, zero), S(f"B_{suffix}", t, zero)], [S(f"Result_{suffix}", t)]


def _mix(clamp: bool, vector_factor: bool):
    def fn(factor, a, b):
        if clamp:
            factor = torch.clamp(factor, 0.0, 1.0)
        if a.dim() == 2 and not vector_factor:
            factor = factor[:, None]
        return a * (1.0 - factor) + b * factor
    return fn


@node("ShaderNodeMix", sockets=_mix_sockets,
      properties={"data_type": "FLOAT", "factor_mode": "UNIFORM", "blend_type": "MIX", "clamp_factor": True,
                  "clamp_result": False},
      choices={"data_type": ("FLOAT", "VECTOR"), "factor_mode": ("UNIFORM", "NON_UNIFORM")})
def mix(n):
    """Mix of floats or vectors (Blender's interpolate: a * (1 - f) + b * f)."""
    t = n.props["data_type"]
    suffix = "Float" if t == "FLOAT" else "Vector"
    vector_factor = t == "VECTOR" and n.props["factor_mode"] == "NON_UNIFORM"
    factor = n.get("Factor_Vector" if vector_factor else "Factor_Float")
    fn = _mix(bool(n.props["clamp_factor"]), vector_factor)
    return {f"Result_{suffix}": lift(fn, factor, n.get(f"A_{suffix}"), n.get(f"B_{suffix}"))}

