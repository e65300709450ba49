"""The curves component: batched curves (poly and Bezier splines) riding in the same piecewise
(rows -> structure) scheme as meshes.

A curve part is a `Part` whose prim is a `CurvePrim`: a dense prim whose (B, D, 3) points are
the control positions, then (when some spline is a Bezier spline) the left and then the right
handles of every control point. Transforms apply to all of them as affines (a handle is a
position), so a part's chain composes like a mesh part's. Its `CurveTopo` (per topology,
cached) says how splines are laid out and how evaluated points (Blender's, with its
resolution) are made from the dense points: each is a weighted sum of at most four of them
(a cubic Bezier segment, or one control point of a poly spline), so evaluated points stay
differentiable in every float input. Point attributes (radius) interpolate to evaluated
points as Blender does (linearly along each Bezier segment, unchanged on poly splines).

Tangents and minimum-twist normals follow blenkernel's curves code (poly tangents bisect
neighbouring segments; a non-cyclic Bezier spline's end tangents follow its handles).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..fields import safe_sqrt
from .structure import Part, Prim
from .vertices import part_rows_vertices


@dataclass(eq=False)
class CurveTopo:
    """Layout of one set of splines (python values only; cached by `curve_topo`)."""

    sizes: tuple  # control points per spline
    cyclic: tuple  # bool per spline
    bezier: tuple  # bool per spline
    resolution: tuple  # int per spline (Bezier splines only use it)
    # derived
    offsets: tuple = ()  # control point offsets (S+1)
    eval_offsets: tuple = ()  # evaluated point offsets (S+1)
    handles: bool = False  # the dense points hold handles after the positions
    eval_index: torch.Tensor = field(default=None, repr=False)  # (E, 4) dense point per term
    eval_weight: torch.Tensor = field(default=None, repr=False)  # (E, 4) float64
    attr_index: torch.Tensor = field(default=None, repr=False)  # (E, 2) control point per term
    attr_weight: torch.Tensor = field(default=None, repr=False)  # (E, 2) float64

    @property
    def num_points(self) -> int:
        return self.offsets[-1]

    @property
    def num_evaluated(self) -> int:
        return self.eval_offsets[-1]

    @property
    def num_dense(self) -> int:
        return self.num_points * (3 if self.handles else 1)


_TOPOS: dict = {}


def curve_topo(sizes, cyclic, bezier, resolution) -> CurveTopo:
    key = (tuple(sizes), tuple(bool(c) for c in cyclic), tuple(bool(b) for b in bezier), tuple(resolution))
    hit = _TOPOS.get(key)
    if hit is None:
        hit = _TOPOS[key] = _build_topo(*key)
    return hit


def _build_topo(sizes, cyclic, bezier, resolution) -> CurveTopo:
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    total = offsets[-1]
    handles = any(bezier)
    idx, wts, aidx, awts, eval_offsets = [], [], [], [], [0]
    for s, n in enumerate(sizes):
        o = offsets[s]
        if not bezier[s] or n < 2:
            for i in range(n):
                idx.append([o + i] * 4)
                wts.append([1.0, 0.0, 0.0, 0.0])
                aidx.append([o + i, o + i])
                awts.append([1.0, 0.0])
        else:
            res = max(int(resolution[s]), 1)
            segments = n if cyclic[s] else n - 1
            for j in range(segments):
                a, b = o + j, o + (j + 1) % n
                for k in range(res):
                    t = k / res
                    u = 1.0 - t
                    # left handles follow the positions, right handles follow the left ones
                    idx.append([a, 2 * total + a, total + b, b])
                    wts.append([u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t])
                    aidx.append([a, b])
                    awts.append([u, t])
            if not cyclic[s]:
                idx.append([o + n - 1] * 4)
                wts.append([1.0, 0.0, 0.0, 0.0])
                aidx.append([o + n - 1] * 2)
                awts.append([1.0, 0.0])
        eval_offsets.append(len(idx))
    as_i = lambda x, w: torch.as_tensor(np.asarray(x, dtype=np.int64).reshape(-1, w))  # noqa: E731
    as_f = lambda x, w: torch.as_tensor(np.asarray(x, dtype=np.float64).reshape(-1, w))  # noqa: E731
    return CurveTopo(sizes, cyclic, bezier, resolution, tuple(offsets), tuple(eval_offsets), handles,
                     as_i(idx, 4), as_f(wts, 4), as_i(aidx, 2), as_f(awts, 2))


@dataclass(eq=False)
class CurvePrim(Prim):
    """Curves with a fixed topology: `dense` (B, D, 3) holds positions (and handles), `radius`
    (B, P) the control points' radius (None: Blender's default 1)."""

    curve: CurveTopo | None = None
    radius: torch.Tensor | None = None


_EMPTY_FACES = torch.zeros(1, dtype=torch.int64)
_NO_LOOPS = torch.zeros(0, dtype=torch.int64)


def curve_prim(key: tuple, topo: CurveTopo, dense: torch.Tensor, radius: torch.Tensor | None = None) -> CurvePrim:
    return CurvePrim(("curve",) + key, dense.shape[1], _EMPTY_FACES, _NO_LOOPS, None, dense=dense, curve=topo,
                     radius=radius)


def with_radius(prim: CurvePrim, radius: torch.Tensor) -> CurvePrim:
    return CurvePrim(prim.topo_key, prim.num_vertices, prim.face_offsets, prim.face_vertices, None,
                     dense=prim.dense, curve=prim.curve, radius=radius)


def _table(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.to(device=like.device, dtype=like.dtype if t.is_floating_point() else t.dtype)


def evaluate_points(topo: CurveTopo, dense: torch.Tensor) -> torch.Tensor:
    """(b, E, 3) evaluated positions from (b, D, 3) dense points."""
    if not topo.handles:
        return dense  # poly splines only: evaluated points are the control points
    g = dense[:, _table(topo.eval_index, dense).reshape(-1)].view(dense.shape[0], -1, 4, 3)
    w = _table(topo.eval_weight, dense)
    return (g * w[None, :, :, None]).sum(2)


def evaluate_attribute(topo: CurveTopo, values: torch.Tensor) -> torch.Tensor:
    """(b, E) values at evaluated points from (b, P) values at control points."""
    if not topo.handles:
        return values
    g = values[:, _table(topo.attr_index, values).reshape(-1)].view(values.shape[0], -1, 2)
    return (g * _table(topo.attr_weight, values)[None]).sum(2)


@dataclass
class EvaluatedCurves:
    """Evaluated data of a curve part for some rows."""

    topo: CurveTopo
    dense: torch.Tensor  # (b, D, 3) transformed control points (and handles)
    positions: torch.Tensor  # (b, E, 3)
    radius: torch.Tensor | None  # (b, E) or None (all 1)

    def spline(self, s: int) -> tuple:
        """(evaluated points (b, n, 3), cyclic) of spline s."""
        a, b = self.topo.eval_offsets[s], self.topo.eval_offsets[s + 1]
        return self.positions[:, a:b], self.topo.cyclic[s]


def evaluated(part: Part, rows: torch.Tensor, cache: dict) -> EvaluatedCurves:
    prim = part.prim
    dense = part_rows_vertices(part, rows, cache)
    radius = None if prim.radius is None else evaluate_attribute(prim.curve, prim.radius.index_select(0, rows))
    return EvaluatedCurves(prim.curve, dense, evaluate_points(prim.curve, dense), radius)


# ------------------------------------------------------------------------- tangents, normals


def _safe_normalize(v: torch.Tensor) -> torch.Tensor:
    """Blender's normalize: zero stays zero (no NaN, in values or gradients)."""
    sq = (v * v).sum(-1, keepdim=True)
    ok = sq > 1e-35
    return torch.where(ok, v / torch.sqrt(torch.where(ok, sq, torch.ones_like(sq))), torch.zeros_like(v))


def _same(a, b, epsilon=1e-6):
    """math::almost_equal_relative(a, b, epsilon) per row -> (b, 1) bool."""
    diff = (a - b).abs()
    scale = torch.maximum(a.abs(), b.abs())
    return ((diff <= epsilon) | (diff <= scale * epsilon)).all(-1, keepdim=True)


def _bisect(prev, mid, nxt):
    """direction_bisect: (tangent, whether both neighbours coincide with the point)."""
    same_prev, same_next = _same(prev, mid), _same(mid, nxt)
    both = _safe_normalize(_safe_normalize(mid - prev) + _safe_normalize(nxt - mid))
    d = torch.where(same_prev, _safe_normalize(nxt - mid), torch.where(same_next, _safe_normalize(mid - prev), both))
    fallback = same_prev & same_next
    return torch.where(fallback, torch.zeros_like(d), d), fallback


def poly_tangents(p: torch.Tensor, cyclic: bool) -> torch.Tensor:
    """(b, n, 3) tangents of a polyline (blenkernel curves::poly::calculate_tangents): each
    point's bisects its segments; where both neighbours coincide with it, the previous valid
    tangent (the first valid one before it; +Z when there is none)."""
    n = p.shape[1]
    z = torch.tensor([0.0, 0.0, 1.0], dtype=p.dtype, device=p.device)
    if n == 1:
        return z.expand_as(p).clone()
    if n > 2:
        mids, fallback = _bisect(p[:, :-2], p[:, 1:-1], p[:, 2:])
        fallback = fallback.any(1)
    else:
        mids, fallback = p[:, :0], torch.zeros(p.shape[0], 1, dtype=torch.bool, device=p.device)
    if cyclic:
        first, f0 = _bisect(p[:, -1], p[:, 0], p[:, 1])
        last, f1 = _bisect(p[:, -2], p[:, -1], p[:, 0])
        fallback = fallback | f0 | f1
    else:  # an end point coinciding with its neighbour takes the fallback too
        f0, f1 = _same(p[:, 0], p[:, 1]), _same(p[:, -1], p[:, -2])
        first = torch.where(f0, torch.zeros_like(p[:, 0]), _safe_normalize(p[:, 1] - p[:, 0]))
        last = torch.where(f1, torch.zeros_like(p[:, 0]), _safe_normalize(p[:, -1] - p[:, -2]))
        fallback = fallback | f0 | f1
    t = torch.cat([first[:, None], mids, last[:, None]], 1)
    if not bool(fallback.any()):
        return t
    zero = (t == 0).all(-1)  # (b, n)
    valid = ~zero
    has_valid = valid.any(1)
    first_valid = t.gather(1, valid.to(torch.int64).argmax(1)[:, None, None].expand(-1, 1, 3))[:, 0]
    fixed, seen = [], torch.zeros_like(has_valid)
    prev = first_valid
    for i in range(n):
        ti = torch.where(zero[:, i, None], prev, t[:, i])
        seen = seen | valid[:, i]
        ti = torch.where(seen[:, None] | valid[:, i, None], ti, first_valid)
        ti = torch.where(has_valid[:, None], ti, z.expand_as(ti))
        fixed.append(ti)
        prev = ti
    return torch.where(fallback[:, :, None] if fallback.dim() == 2 else fallback[:, None, None],
                       torch.stack(fixed, 1), t)


def spline_tangents(ev: EvaluatedCurves, s: int) -> torch.Tensor:
    """Evaluated tangents of spline s; a non-cyclic Bezier spline's end tangents follow its
    handles where a handle is away from its point (CurvesGeometry::evaluated_tangents)."""
    topo = ev.topo
    p, cyclic = ev.spline(s)
    t = poly_tangents(p, cyclic)
    if topo.bezier[s] and not cyclic and topo.sizes[s] > 1:
        total, a, b = topo.num_points, topo.offsets[s], topo.offsets[s + 1] - 1
        pos, left, right = ev.dense[:, :total], ev.dense[:, total:2 * total], ev.dense[:, 2 * total:]
        t0 = torch.where(_far(right[:, a], pos[:, a]), _safe_normalize(right[:, a] - pos[:, a]), t[:, 0])
        t1 = torch.where(_far(left[:, b], pos[:, b]), _safe_normalize(pos[:, b] - left[:, b]), t[:, -1])
        t = torch.cat([t0[:, None], t[:, 1:-1], t1[:, None]], 1)
    return t


def _far(a, b, epsilon=1e-6):
    """not math::almost_equal_relative(a, b, epsilon), per row -> (b, 1)."""
    diff = (a - b).abs()
    scale = torch.maximum(a.abs(), b.abs())
    return ~((diff <= epsilon) | (diff <= scale * epsilon)).all(-1, keepdim=True)


def _dot(a, b):
    return (a * b).sum(-1, keepdim=True)


def _cross(a, b):
    return torch.linalg.cross(a, b, dim=-1)


def rotate_around_axis(d, axis, angle):
    """math::rotate_direction_around_axis (angle (b, 1))."""
    scaled = axis * _dot(d, axis)
    diff = d - scaled
    return scaled + diff * torch.cos(angle) + _cross(axis, diff) * torch.sin(angle)


def _asin(x):
    return torch.asin(x.clamp(-1.0, 1.0))


def angle_normalized(a, b):
    """angle_normalized_v3v3 of unit vectors -> (b, 1)."""
    pos = _dot(a, b) >= 0
    d = torch.where(pos, a - b, a + b)  # one asin, so the unused branch has no infinite slope
    half = safe_sqrt((d * d).sum(-1, keepdim=True)) / 2.0
    angle = 2.0 * _asin(half)
    return torch.where(pos, angle, math.pi - angle)


def _next_normal(normal, t0, t1):
    angle = angle_normalized(t0, t1)
    axis = _safe_normalize(_cross(t0, t1))
    rotated = rotate_around_axis(normal, axis, angle)
    keep = (angle == 0) | (t0 == 0).all(-1, keepdim=True) | (t1 == 0).all(-1, keepdim=True)
    return torch.where(keep, normal, rotated)


def _angle_v3v3(a, b):
    """angle_v3v3 of two (not necessarily unit) vectors."""
    return angle_normalized(_safe_normalize(a), _safe_normalize(b))


def angle_signed_on_axis(v1, v2, axis):
    """angle_signed_on_axis_v3v3_v3 (axis a unit vector): in [0, 2 pi)."""
    p1 = v1 - axis * _dot(v1, axis)
    p2 = v2 - axis * _dot(v2, axis)
    angle = _angle_v3v3(p1, p2)
    return torch.where(_dot(_cross(p2, p1), axis) < 0, 2 * math.pi - angle, angle)


def minimum_twist_normals(tangents: torch.Tensor, cyclic: bool) -> torch.Tensor:
    """(b, n, 3) normals (curves::poly::calculate_normals_minimum)."""
    t0 = tangents[:, 0]
    flat = (t0[:, 0].abs() + t0[:, 1].abs() < 1e-4)[:, None]
    side = _safe_normalize(torch.stack([t0[:, 1], -t0[:, 0], torch.zeros_like(t0[:, 0])], -1))
    first = torch.where(flat, torch.tensor([1.0, 0.0, 0.0], dtype=t0.dtype, device=t0.device), side)
    normals = [first]
    n = tangents.shape[1]
    for i in range(1, n):
        normals.append(_next_normal(normals[-1], tangents[:, i - 1], tangents[:, i]))
    if cyclic:
        uncorrected = _next_normal(normals[-1], tangents[:, -1], tangents[:, 0])
        correction = angle_signed_on_axis(normals[0], uncorrected, tangents[:, 0])
        correction = torch.where(correction > math.pi, correction - 2 * math.pi, correction)
        step = correction / n
        normals = [rotate_around_axis(normals[i], tangents[:, i], step * i) for i in range(n)]
    return torch.stack(normals, 1)


def spline_frames(ev: EvaluatedCurves, s: int) -> tuple:
    """(tangents, normals) of spline s's evaluated points (minimum twist, no tilt)."""
    t = spline_tangents(ev, s)
    return t, minimum_twist_normals(t, ev.topo.cyclic[s])


def control_point_normals(parts: tuple, rows: torch.Tensor, cache: dict) -> torch.Tensor:
    """(b, P, 3) the Normal field on the control points of curve parts joined into one component
    (curve_normal_point_domain: the evaluated normals, minimum twist, no tilt; a poly spline's
    own, a Bezier spline's at each control point's first evaluated point, i * resolution)."""
    out = []
    for part in parts:
        ev = evaluated(part, rows, cache)
        topo = ev.topo
        for s in range(len(topo.sizes)):
            normals = spline_frames(ev, s)[1]
            n = topo.sizes[s]
            if topo.bezier[s] and n >= 2:
                res = max(int(topo.resolution[s]), 1)
                normals = normals[:, [i * res for i in range(n)]]
            out.append(normals)
    return torch.cat(out, 1)


def curve_parts_evaluated(parts: tuple, rows: torch.Tensor, cache: dict) -> list:
    """Evaluated data of curve parts joined into one curves component: when some part has a
    radius, the others get radius 1 (as Blender's join fills a missing radius)."""
    evs = [evaluated(p, rows, cache) for p in parts]
    if any(ev.radius is not None for ev in evs):
        for ev in evs:
            if ev.radius is None:
                ev.radius = ev.positions.new_ones(ev.positions.shape[:2])
    return evs
