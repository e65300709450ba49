"""Curve primitives (Curve Line, Curve Circle, Arc, Quadratic Bezier, Bezier Segment) and Set
Curve Radius. Integer inputs (resolutions) and topology switches (Connect Center) split the
batch's rows; positions are batched and differentiable in the float inputs."""
from __future__ import annotations

import math

import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Part, Piecewise, split_by
from ..geometry.curves import CurvePrim, curve_prim, curve_topo, with_radius
from . import S, node


def _single(n, identifier: str):
    value = n.get(identifier)
    if type(value) is Field:
        raise IRError(f"{n.where}: input '{identifier}' takes a single value, but a field is linked to it")
    return value


def curve_pieces(n, keys: list, build) -> Piecewise:
    """One curve part per distinct value of the integer/boolean inputs `keys` (python ints
    after `fix`): build(config) -> (CurveTopo, dense (B, D, 3)) for the whole batch."""
    columns = [_single(n, k).to(torch.int64) for k in keys]
    groups = split_by(torch.stack(columns, 1)) if columns else [(None, ())]
    pieces = []
    for rows, config in groups:
        topo, dense = build(config)
        prim = curve_prim(n.key + config, topo, dense)
        struct = GeomStruct((), (), (Part(prim),))
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
    """Points (r cos a, r sin a, 0) for (B,) radius and (B, k) angles."""
    r = radius[:, None]
    return torch.stack([r * torch.cos(angles), r * torch.sin(angles), torch.zeros_like(angles * r)], -1)


@node("GeometryNodeCurvePrimitiveCircle",
      inputs=[S("Resolution", "INT", 32), S("Point 1", "VECTOR", (-1.0, 0.0, 0.0)),
              S("Point 2", "VECTOR", (0.0, 1.0, 0.0)), S("Point 3", "VECTOR", (1.0, 0.0, 0.0)),
              S("Radius", "FLOAT", 1.0)],
      outputs=[S("Curve", "GEOMETRY"), S("Center", "VECTOR")],
      properties={"mode": "RADIUS"}, choices={"mode": ("RADIUS",)})
def curve_circle(n):
    radius = _single(n, "Radius")

    def build(config):
        res = max(config[0], 3)
        step = torch.tensor(2.0 * math.pi, dtype=torch.float32) / torch.tensor(float(res), dtype=torch.float32)
        angles = (step * torch.arange(res, dtype=torch.float32)).to(radius.dtype)  # float32, as Blender
        dense = _ring(radius, angles.expand(n.batch, res))
        return curve_topo((res,), (True,), (False,), (0,)), dense

    return {"Curve": curve_pieces(n, ["Resolution"], build), "Center": n.constant((0.0, 0.0, 0.0), "VECTOR")}


@node("GeometryNodeCurveArc",
      inputs=[S("Resolution", "INT", 16), S("Start", "VECTOR", (-1.0, 0.0, 0.0)), S("Middle", "VECTOR", (0.0, 2.0, 0.0)),
              S("End", "VECTOR", (1.0, 0.0, 0.0)), S("Radius", "FLOAT", 1.0), S("Start Angle", "FLOAT", 0.0),
              S("Sweep Angle", "FLOAT", 1.75 * math.pi), S("Offset Angle", "FLOAT", 0.0),
              S("Connect Center", "BOOLEAN", False), S("Invert Arc", "BOOLEAN", False)],
      outputs=[S("Curve", "GEOMETRY"), S("Center", "VECTOR"), S("Normal", "VECTOR"), S("Radius", "FLOAT")],
      properties={"mode": "RADIUS"}, choices={"mode": ("RADIUS",)})
def curve_arc(n):
    radius, start, sweep = _single(n, "Radius"), _single(n, "Start Angle"), _single(n, "Sweep Angle")
    invert = _single(n, "Invert Arc")
    sweep = torch.where(invert, -(2.0 * math.pi - sweep), sweep)

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
        q1 = p1[:, None] + (p2 - p1)[:, None] * f
        q2 = p2[:, None] + (p3 - p2)[:, None] * f
        dense = q1 + (q2 - q1) * f
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
    selection, radius = n.get("Selection"), n.get("Radius")
    if type(selection) is Field or type(radius) is Field:
        raise IRError(f"{n.where}: Set Curve Radius with a field (a value per point) is not supported; "
                      "link single values")
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

    def apply(struct: GeomStruct) -> GeomStruct:
        if not struct.curves:
            return struct
        return GeomStruct(struct.parts, struct.instances, tuple(radius_part(p) for p in struct.curves), struct.points)

    return {"Curve": n.get("Curve").map(apply)}
