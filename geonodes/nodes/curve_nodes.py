"""Curve primitives (Curve Line, Curve Circle, Arc, Quadratic Bezier, Bezier Segment) and Set
Curve Radius. Integer inputs (resolutions) and topology switches (Connect Center) split the
batch's rows; positions are batched and differentiable in the float inputs."""
from __future__ import annotations

import math

import torch

from ..errors import IRError
from ..fields import Field, FieldContext, MeshData, safe_sqrt
from ..geometry import GeomStruct, Instance, Part, Piecewise, part_rows_vertices, split_by
from ..geometry.curves import (CurvePrim, angle_signed_on_axis, control_point_normals, curve_prim, curve_topo,
                              rotate_around_axis, with_radius)
from . import S, node


def _single(n, identifier: str):
    value = n.get(identifier)
    if type(value) is Field:
        raise IRError(f"{n.where}: input '{identifier}' takes a single value, but a field is linked to it")
    return value


def curve_pieces(n, keys: list, build, extra: tuple = ()) -> Piecewise:
    """One curve part per distinct value of the integer/boolean inputs `keys` and the (B,)
    tensors `extra` (python ints): build(config) -> (CurveTopo, dense (B, D, 3)) for the whole
    batch, or None for no curve."""
    columns = [_single(n, k).to(torch.int64) for k in keys] + [e.to(torch.int64) for e in extra]
    groups = split_by(torch.stack(columns, 1)) if columns else [(None, ())]
    pieces = []
    for rows, config in groups:
        built = build(config)
        if built is None:
            struct = GeomStruct()
        else:
            struct = GeomStruct((), (), (Part(curve_prim(n.key + config, *built)),))
        if rows is None:
            return Piecewise.uniform(n.batch, struct, n.device)
        pieces.append((rows, struct))
    return Piecewise(pieces)


def _poly(points: list, cyclic: bool = False):
    dense = torch.stack(points, 1)
    return curve_topo((dense.shape[1],), (cyclic,), (False,), (0,)), dense


@node("GeometryNodeCurvePrimitiveLine",
      inputs=[S("Start", "VECTOR", (0.0, 0.0, 0.0)), S("End", "VECTOR", (0.0, 0.0, 1.0)),
              S("Direction", "VECTOR", (0.0, 0.0, 1.0)), S("Length", "FLOAT", 1.0)],
      outputs=[S("Curve", "GEOMETRY")],
      properties={"mode": "POINTS"}, choices={"mode": ("POINTS", "DIRECTION")})
def curve_line(n):
    start = _single(n, "Start")
    if n.props["mode"] == "POINTS":
        end = _single(n, "End")
    else:
        d = _single(n, "Direction")
        sq = (d * d).sum(-1, keepdim=True)
        ok = sq > 0
        unit = torch.where(ok, d / torch.sqrt(torch.where(ok, sq, torch.ones_like(sq))), torch.zeros_like(d))
        end = start + unit * _single(n, "Length")[:, None]
    return {"Curve": curve_pieces(n, [], lambda config: _poly([start.expand(n.batch, 3), end.expand(n.batch, 3)]))}


def _ring(radius, angles: torch.Tensor):
    """Points (r cos a, r sin a, 0) for (B,) radius and (B, k) angles. The cosine and sine are
    taken in float64 and rounded to the angles' type: C's cosf/sinf round correctly (nearly
    always), torch's float32 ones can differ in the last bit, which changes the ties a
    triangulation of a regular polygon breaks (Fill Curve)."""
    r = radius[:, None]
    wide = angles.double()
    cos, sin = torch.cos(wide).to(angles.dtype), torch.sin(wide).to(angles.dtype)
    return torch.stack([r * cos, r * sin, torch.zeros_like(angles * r)], -1)


def _normalize(v):
    sq = (v * v).sum(-1, keepdim=True)
    ok = sq > 1e-35
    return torch.where(ok, v / torch.sqrt(torch.where(ok, sq, torch.ones_like(sq))), torch.zeros_like(v))


def _cross(a, b):
    return torch.linalg.cross(a, b, dim=-1)


def _plane(point, normal):
    """plane_from_point_normal_v3: (normal, -dot(normal, point))."""
    return normal, -(normal * point).sum(-1)


def _three_planes(a, b, c):
    """isect_plane_plane_plane_v3: (point, whether the planes meet in one point)."""
    (na, da), (nb, db), (nc, dc) = a, b, c
    det = (na * _cross(nb, nc)).sum(-1)
    ok = det != 0
    point = (_cross(nc, nb) * da[:, None] + _cross(na, nc) * db[:, None] + _cross(nb, na) * dc[:, None])
    return point / torch.where(ok, det, torch.ones_like(det))[:, None], ok


def _colinear(p1, p2, p3):
    a, b = _normalize(p2 - p1), _normalize(p3 - p1)
    return (a == b).all(-1) | (a == -b).all(-1)


def _circle_points(n):
    """Curve Circle's POINTS mode: the circle through three points (none where they are
    colinear), starting at Point 1."""
    p1, p2, p3 = (_single(n, k).expand(n.batch, 3) for k in ("Point 1", "Point 2", "Point 3"))
    q1, q2 = p1 * 0.5 + p2 * 0.5, p2 * 0.5 + p3 * 0.5  # math::interpolate(a, b, 0.5)
    v1, v2 = _normalize(p2 - p1), _normalize(p3 - p2)
    v3 = _normalize(_cross(v1, v2))
    v4 = _normalize(_cross(v3, v1))
    center, ok = _three_planes(_plane(q1, v3), _plane(q1, v1), _plane(q2, v2))
    valid = ok & ~_colinear(p1, p2, p3)
    center = torch.where(valid[:, None], center, torch.zeros_like(center))
    d = p1 - center
    r = safe_sqrt((d * d).sum(-1))[:, None, None]

    def build(config):
        if not config[1]:
            return None
        res = max(config[0], 3)
        step = torch.tensor(2.0 * math.pi / res, dtype=torch.float64).to(torch.float32)
        theta = (step * torch.arange(res, dtype=torch.float32)).double()
        sin = torch.sin(theta).to(p1.dtype)[None, :, None]
        cos = torch.cos(theta).to(p1.dtype)[None, :, None]
        dense = center[:, None] + r * sin * v1[:, None] + r * cos * v4[:, None]
        return curve_topo((res,), (True,), (False,), (0,)), dense

    return {"Curve": curve_pieces(n, ["Resolution"], build, (valid,)), "Center": center}


@node("GeometryNodeCurvePrimitiveCircle",
      inputs=[S("Resolution", "INT", 32), S("Point 1", "VECTOR", (-1.0, 0.0, 0.0)),
              S("Point 2", "VECTOR", (0.0, 1.0, 0.0)), S("Point 3", "VECTOR", (1.0, 0.0, 0.0)),
              S("Radius", "FLOAT", 1.0)],
      outputs=[S("Curve", "GEOMETRY"), S("Center", "VECTOR")],
      properties={"mode": "RADIUS"}, choices={"mode": ("RADIUS", "POINTS")})
def curve_circle(n):
    if n.props["mode"] == "POINTS":
        return _circle_points(n)
    radius = _single(n, "Radius")

    def build(config):
        res = max(config[0], 3)
        step = torch.tensor(2.0 * math.pi / res, dtype=torch.float64).to(torch.float32)  # as Blender's float
        angles = (step * torch.arange(res, dtype=torch.float32)).to(radius.dtype)
        dense = _ring(radius, angles.expand(n.batch, res))
        return curve_topo((res,), (True,), (False,), (0,)), dense

    return {"Curve": curve_pieces(n, ["Resolution"], build), "Center": n.constant((0.0, 0.0, 0.0), "VECTOR")}


def _arc_points(n, connect_input):
    """Arc's POINTS mode: the arc from Start through Middle to End (Blender's
    create_arc_curve_from_points): colinear or coincident points, or a resolution of 2, give
    a line between the two furthest points."""
    a, b, c = (_single(n, k).expand(n.batch, 3) for k in ("Start", "Middle", "End"))
    offset, invert = _single(n, "Offset Angle"), _single(n, "Invert Arc")
    res_in = _single(n, "Resolution").clamp(min=2)
    mid_ac = (a + c) * 0.5  # math::midpoint
    normal = _normalize(_cross(a - c, c - b))  # normal_tri_v3(a, c, b)
    same = lambda x, y: (x == y).all(-1)  # noqa: E731
    line = _colinear(a, b, c) | same(a, c) | same(a, b) | same(b, c) | (res_in == 2)
    mid_ab, mid_bc = (a + b) * 0.5, (c + b) * 0.5
    nba, ncb = _normalize(b - a), _normalize(c - b)
    nabc = _normalize(_cross(nba, ncb))
    center, ok = _three_planes(_plane(mid_ab, nabc), _plane(mid_ab, nba), _plane(mid_bc, ncb))
    rad_a = _normalize(a - center)
    d = center - b
    radius = safe_sqrt((d * d).sum(-1))
    two_pi = 2.0 * math.pi
    angle_ab = angle_signed_on_axis(rad_a, _normalize(b - center), normal)[:, 0] + two_pi
    angle_ac = angle_signed_on_axis(rad_a, _normalize(c - center), normal)[:, 0] + two_pi
    angle = torch.where(angle_ac > angle_ab, angle_ac, angle_ab) - two_pi
    angle = torch.where(invert, -(two_pi - angle), angle)
    ab, ac, bc = ((a - b) ** 2).sum(-1), ((a - c) ** 2).sum(-1), ((b - c) ** 2).sum(-1)
    first = torch.where(((ab > ac) & (ab > bc))[:, None], a, torch.where(((bc > ab) & (bc > ac))[:, None], b, a))
    last = torch.where(((ab > ac) & (ab > bc))[:, None], b, c)
    arc_ok = line | ok
    center = torch.where(line[:, None], mid_ac, torch.where(ok[:, None], center, mid_ac))
    radius = torch.where(line | ~ok, torch.zeros_like(radius), radius)

    def build(config):
        res, connect, is_line, valid = max(config[0], 2), bool(config[1]), bool(config[2]), bool(config[3])
        if not valid:
            return None
        i = torch.arange(res, dtype=torch.float64)
        if is_line:
            step = torch.tensor(1.0 / (res - 1), dtype=torch.float32).to(a.dtype)
            f = (step * i.to(a.dtype))[None, :, None]
            dense = first[:, None] * (1.0 - f) + last[:, None] * f
        else:
            factor = (angle / float(res - 1))[:, None] * i.to(a.dtype) + offset[:, None]
            dense = rotate_around_axis(rad_a[:, None].expand(-1, res, 3), -normal[:, None].expand(-1, res, 3),
                                       factor[..., None]) * radius[:, None, None] + center[:, None]
        if connect:
            dense = torch.cat([dense, center[:, None]], 1)
        return curve_topo((dense.shape[1],), (connect,), (False,), (0,)), dense

    up = torch.where((normal[:, 2] < 0)[:, None], -normal, normal)
    curve = curve_pieces(n, ["Resolution", connect_input], build, (line, arc_ok))
    return {"Curve": curve, "Center": center, "Normal": up, "Radius": radius}


@node("GeometryNodeCurveArc",
      inputs=[S("Resolution", "INT", 16), S("Start", "VECTOR", (-1.0, 0.0, 0.0)), S("Middle", "VECTOR", (0.0, 2.0, 0.0)),
              S("End", "VECTOR", (1.0, 0.0, 0.0)), S("Radius", "FLOAT", 1.0), S("Start Angle", "FLOAT", 0.0),
              S("Sweep Angle", "FLOAT", 1.75 * math.pi), S("Offset Angle", "FLOAT", 0.0),
              S("Connect Center", "BOOLEAN", False), S("Invert Arc", "BOOLEAN", False)],
      outputs=[S("Curve", "GEOMETRY"), S("Center", "VECTOR"), S("Normal", "VECTOR"), S("Radius", "FLOAT")],
      properties={"mode": "RADIUS"}, choices={"mode": ("RADIUS", "POINTS")})
def curve_arc(n):
    if n.props["mode"] == "POINTS":
        return _arc_points(n, "Connect Center")
    radius, start, sweep = _single(n, "Radius"), _single(n, "Start Angle"), _single(n, "Sweep Angle")
    invert = _single(n, "Invert Arc")
    sweep = torch.where(invert, (-(2.0 * math.pi - sweep.double())).to(sweep.dtype), sweep)  # in double, as Blender

    def build(config):
        res, connect = max(config[0], 2), bool(config[1])
        step = sweep / float(res - 1)
        angles = step[:, None] * torch.arange(res, dtype=sweep.dtype, device=sweep.device) + start[:, None]
        dense = _ring(radius, angles)
        if connect:
            dense = torch.cat([dense, torch.zeros_like(dense[:, :1])], 1)
        return curve_topo((dense.shape[1],), (connect,), (False,), (0,)), dense

    zero = n.constant((0.0, 0.0, 0.0), "VECTOR")
    return {"Curve": curve_pieces(n, ["Resolution", "Connect Center"], build), "Center": zero, "Normal": zero,
            "Radius": n.constant(0.0, "FLOAT")}


@node("GeometryNodeCurveQuadraticBezier",
      inputs=[S("Resolution", "INT", 16), S("Start", "VECTOR", (-1.0, 0.0, 0.0)), S("Middle", "VECTOR", (0.0, 2.0, 0.0)),
              S("End", "VECTOR", (1.0, 0.0, 0.0))],
      outputs=[S("Curve", "GEOMETRY")])
def quadratic_bezier(n):
    p1, p2, p3 = (_single(n, k).expand(n.batch, 3) for k in ("Start", "Middle", "End"))

    def build(config):
        res = max(config[0], 3)
        step = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(float(res), dtype=torch.float32)
        f = (step * torch.arange(res + 1, dtype=torch.float32)).to(p1.dtype).to(p1.device)[None, :, None]
        q1 = p1[:, None] * (1.0 - f) + p2[:, None] * f  # math::interpolate, as Blender (same floats)
        q2 = p2[:, None] * (1.0 - f) + p3[:, None] * f
        dense = q1 * (1.0 - f) + q2 * f
        return curve_topo((res + 1,), (False,), (False,), (0,)), dense

    return {"Curve": curve_pieces(n, ["Resolution"], build)}


@node("GeometryNodeCurvePrimitiveBezierSegment",
      inputs=[S("Resolution", "INT", 16), S("Start", "VECTOR", (-1.0, 0.0, 0.0)),
              S("Start Handle", "VECTOR", (-0.5, 0.5, 0.0)), S("End Handle", "VECTOR", (0.0, 0.0, 0.0)),
              S("End", "VECTOR", (1.0, 0.0, 0.0))],
      outputs=[S("Curve", "GEOMETRY")],
      properties={"mode": "POSITION"}, choices={"mode": ("POSITION", "OFFSET")})
def bezier_segment(n):
    start, sh, eh, end = (_single(n, k).expand(n.batch, 3) for k in ("Start", "Start Handle", "End Handle", "End"))
    if n.props["mode"] == "POSITION":
        left0, right0, left1, right1 = 2.0 * start - sh, sh, eh, 2.0 * end - eh
    else:
        left0, right0, left1, right1 = start - sh, start + sh, end + eh, end - eh
    dense = torch.stack([start, end, left0, left1, right0, right1], 1)

    def build(config):
        return curve_topo((2,), (False,), (True,), (max(config[0], 1),)), dense

    return {"Curve": curve_pieces(n, ["Resolution"], build)}


@node("GeometryNodeSetCurveRadius",
      inputs=[S("Curve", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Radius", "FLOAT", 0.005)],
      outputs=[S("Curve", "GEOMETRY")])
def set_curve_radius(n):
    """Radius per control point: single values, or fields evaluated on the control points of
    the curves component (Position, Index, ...; the curves of a piece are one component)."""
    return {"Curve": radius_set(n, n.get("Selection"), n.get("Radius"))}


def radius_set(n, selection, radius) -> Piecewise:
    """The node's input 'Curve' with the radius of its selected control points set (single
    values or fields; Set Curve Radius, and Curve to Mesh's Scale)."""
    if type(selection) is Field or type(radius) is Field:
        return _radius_fields(n, selection, radius)
    memo: dict = {}

    def radius_part(part: Part) -> Part:
        if part.key not in memo:
            prim: CurvePrim = part.prim
            # a curve without a radius attribute gets one, zero where not selected (Blender's
            # default for a new attribute); without it, Curve to Mesh uses radius 1
            old = prim.radius if prim.radius is not None else torch.zeros(
                n.batch, prim.curve.num_points, dtype=n.dtype, device=n.device)
            new = torch.where(selection[:, None], radius[:, None].to(old.dtype).expand_as(old), old)
            memo[part.key] = Part(with_radius(prim, new), part.chain)
        return memo[part.key]

    def apply(struct: GeomStruct) -> GeomStruct:  # instances' curves too, as Blender
        instances = tuple(Instance(apply(i.geometry), i.chain) for i in struct.instances)
        return GeomStruct(struct.parts, instances, tuple(radius_part(p) for p in struct.curves), struct.points)

    return n.get("Curve").map(apply)


def _radius_fields(n, selection, radius) -> Piecewise:
    pieces = []
    for rows, struct in n.get("Curve").pieces:
        pieces.append((rows, _radius_struct(n, struct, rows.index(n.device), selection, radius)))
    return Piecewise(pieces)


def _radius_struct(n, struct: GeomStruct, index, selection, radius) -> GeomStruct:
    """The radius fields evaluated on the structure's curves (and, in their own space and
    indices, on each instance's)."""
    instances = tuple(Instance(_radius_struct(n, i.geometry, index, selection, radius), i.chain)
                      for i in struct.instances)
    if not struct.curves:
        return GeomStruct(struct.parts, instances, (), struct.points)
    controls = [part_rows_vertices(p, index, n.geometry_cache)[:, :p.prim.curve.num_points]
                for p in struct.curves]
    empty = torch.zeros(1, dtype=torch.int64, device=n.device)
    normals = lambda: control_point_normals(struct.curves, index, n.geometry_cache)  # noqa: E731
    ctx = FieldContext(MeshData(torch.cat(controls, 1), empty, empty[:0], curves=True, curve_normals=normals),
                       index, "POINT")
    sel, rad = ctx.grid(selection), ctx.grid(radius).to(n.dtype)
    parts, start = [], 0
    for p, c in zip(struct.curves, controls):
        k = c.shape[1]
        old = (p.prim.radius.index_select(0, index) if p.prim.radius is not None
               else torch.zeros(index.shape[0], k, dtype=n.dtype, device=n.device))
        new = torch.where(sel[:, start:start + k], rad[:, start:start + k], old)
        if index.shape[0] != n.batch:
            new = new.new_zeros((n.batch, k)).index_copy(0, index, new)
        parts.append(Part(with_radius(p.prim, new), p.chain))
        start += k
    return GeomStruct(struct.parts, instances, tuple(parts), struct.points)
