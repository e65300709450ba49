"""Curve to Points (COUNT, LENGTH, EVALUATED): a point cloud of samples along the curves
(Blender's node_geo_curve_to_points.cc; instances' curves too, each in its own space), with
Tangent, Normal and Rotation as fields read from the points' attributes. Count is a single value
or a field on the CURVE domain (a count per spline); Length a single value."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import Field, safe_sqrt
from ..geometry import GeomStruct, Part, Piecewise, Prim
from ..geometry.curve_sample import interpolate, uniform_samples
from ..geometry.curves import _safe_normalize, curve_parts_evaluated, spline_frames
from . import S, node
from .curve_resample import curve_domain_context, spline_counts
from .curve_rows import curve_structs, rebuild, scatter, split_rows

_NO_FACES = torch.zeros(1, dtype=torch.int64)
_NO_LOOPS = torch.zeros(0, dtype=torch.int64)


def _atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """atan2 (0 at (0, 0), as atan2f) with a zero gradient at (0, 0), where torch's is NaN (and
    NaN survives the torch.where that drops the branch)."""
    zero = (x == 0) & (y == 0)
    return torch.where(zero, torch.zeros_like(x), torch.atan2(torch.where(zero, torch.zeros_like(y), y),
                                                              torch.where(zero, torch.ones_like(x), x)))


def frame_to_euler(tangent: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
    """Euler XYZ of the rotation whose axes are (normal, tangent x normal, tangent), as
    Blender's to_euler of that matrix (of the two solutions, the smaller)."""
    x, z = normal, tangent
    y = torch.linalg.cross(z, x, dim=-1)
    # m[col][row] in Blender's terms: col 0 = x, col 1 = y, col 2 = z
    cy = safe_sqrt(x[..., 0] * x[..., 0] + x[..., 1] * x[..., 1])  # hypotf
    big = cy > 16.0 * 1.1920929e-07
    e1 = torch.stack([_atan2(y[..., 2], z[..., 2]), _atan2(-x[..., 2], cy), _atan2(x[..., 1], x[..., 0])], -1)
    e2 = torch.stack([_atan2(-y[..., 2], -z[..., 2]), _atan2(-x[..., 2], -cy), _atan2(-x[..., 1], -x[..., 0])], -1)
    small = torch.stack([_atan2(-z[..., 1], y[..., 1]), _atan2(-x[..., 2], cy), torch.zeros_like(cy)], -1)
    pick2 = e1.abs().sum(-1) > e2.abs().sum(-1)
    return torch.where(big[..., None], torch.where(pick2[..., None], e2, e1), small)


def _sampled(evs: list, counts) -> tuple:
    """(positions, tangents, normals, radii or None) of every spline's samples, concatenated;
    counts None: the evaluated points themselves."""
    pos, tan, nor, rad, k = [], [], [], [], 0
    any_radius = any(ev.radius is not None for ev in evs)
    for ev in evs:
        for s in range(len(ev.topo.sizes)):
            points, cyclic = ev.spline(s)
            t, nrm = spline_frames(ev, s)
            a, b = ev.topo.eval_offsets[s], ev.topo.eval_offsets[s + 1]
            r = ev.radius[:, a:b] if ev.radius is not None else None
            if counts is not None:
                idx, f = uniform_samples(points, cyclic, counts[k])
                points, t, nrm = interpolate(points, idx, f), _safe_normalize(interpolate(t, idx, f)), \
                    _safe_normalize(interpolate(nrm, idx, f))
                r = interpolate(r, idx, f) if r is not None else None
            pos.append(points)
            tan.append(t)
            nor.append(nrm)
            if any_radius:
                rad.append(r if r is not None else points.new_ones(points.shape[:2]))
            k += 1
    return torch.cat(pos, 1), torch.cat(tan, 1), torch.cat(nor, 1), (torch.cat(rad, 1) if rad else None)


def _read(key: str):
    def read(ctx):
        stored = ctx.mesh.attributes.get(key)
        if stored is None:  # elements that are not these points: zeros (Blender's default)
            return torch.zeros(ctx.b * ctx.n, 3, dtype=ctx.mesh.positions.dtype, device=ctx.mesh.positions.device)
        return ctx.from_domain(stored[1], stored[0])

    return Field(read)


@node("GeometryNodeCurveToPoints",
      inputs=[S("Curve", "GEOMETRY"), S("Count", "INT", 10), S("Length", "FLOAT", 0.1)],
      outputs=[S("Points", "GEOMETRY"), S("Tangent", "VECTOR"), S("Normal", "VECTOR"), S("Rotation", "ROTATION")],
      properties={"mode": "COUNT"}, choices={"mode": ("COUNT", "EVALUATED", "LENGTH")})
def curve_to_points(n):
    mode = n.props["mode"]
    count = n.get("Count") if mode == "COUNT" else None
    length = n.get("Length") if mode == "LENGTH" else None
    if type(length) is Field:
        raise IRError(f"{n.where}: input 'Length' takes a single value, but a field is linked to it")
    # the frames ride on the points as attributes only where read (unread, they would stop nodes
    # that cannot carry attributes)
    keys = {k: f"<curve to points {n.key} {k}>" for k in ("Tangent", "Normal", "Rotation") if n.output_linked(k)}
    pieces = []
    for rows, struct in n.get("Curve").pieces:
        structs = curve_structs(struct)
        if not structs:  # nothing to convert: the geometry stays as it is
            pieces.append((rows, struct))
            continue
        index = rows.index(n.device)

        def counts(s, index):
            if mode == "EVALUATED":
                return [None] * index.shape[0]
            evs = curve_parts_evaluated(s.curves, index, n.geometry_cache)
            per = curve_domain_context(s.curves, index, n.geometry_cache).grid(count if mode == "COUNT" else length)
            return [tuple(int(x) for x in row) for row in spline_counts(evs, mode, per, per)]

        for sub_rows, sub, config in split_rows(rows, index, structs, counts):
            def to_points(s, instances, sub=sub, config=config):
                if not s.curves:
                    return GeomStruct(s.parts, instances, (), s.points)
                return GeomStruct((), instances, (), (Part(_points_prim(n, s, sub, config[id(s)], mode, keys)),))

            pieces.append((sub_rows, rebuild(struct, to_points)))
    return {"Points": Piecewise(pieces).merged(),
            **{k: _read(keys.get(k, f"<curve to points {n.key} {k}>")) for k in ("Tangent", "Normal", "Rotation")}}


def _points_prim(n, struct: GeomStruct, sub: torch.Tensor, counts, mode: str, keys: dict) -> Prim:
    evs = curve_parts_evaluated(struct.curves, sub, n.geometry_cache)
    pos, tan, nor, rad = _sampled(evs, counts)
    made = {"Tangent": lambda: tan, "Normal": lambda: nor, "Rotation": lambda: frame_to_euler(tan, nor)}
    attributes = {key: ("POINT", scatter(made[k](), sub, n.batch)) for k, key in keys.items()}
    if rad is not None:
        attributes["radius"] = ("POINT", scatter(rad, sub, n.batch))
    return Prim(("curve points", n.key, mode, counts, tuple(ev.topo.num_evaluated for ev in evs)),
                pos.shape[1], _NO_FACES, _NO_LOOPS, None, dense=scatter(pos, sub, n.batch), attributes=attributes)
