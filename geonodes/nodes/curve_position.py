"""Set Position on the curves component (node_geo_set_position.cc): Selection, Position and
Offset are evaluated on the control points (the POINT domain of the curves component: all curve
parts of a geometry are one component, Index runs on across them), each selected point moves to
Position + Offset, and a Bezier point's two handles move with it by the same delta. Curves
inside instances are not touched (the node moves the instances themselves)."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import FieldContext, MeshData
from ..geometry import Part, part_rows_vertices
from ..geometry.curves import CurvePrim, control_point_normals
from .curve_rows import scatter


def move_curves(n, index: torch.Tensor, curves: tuple, selection, position, offset) -> tuple:
    """The curve parts of a piece (batch rows `index`) with their selected control points at
    position + offset (fields or single values; position None: where they are), handles
    following; each part's transforms are applied (the new parts have none)."""
    dense = [part_rows_vertices(p, index, n.geometry_cache) for p in curves]
    controls = [d[:, :p.prim.curve.num_points] for d, p in zip(dense, curves)]
    empty = torch.zeros(1, dtype=torch.int64, device=index.device)
    if any(p.prim.curve.handles for p in curves):
        def normals():  # Blender's Set Position reads other normals there than every other node (measured)
            raise IRError(f"{n.where}: the Normal field in Set Position on Bezier splines is not supported (Blender "
                          "gives it other values there than its evaluated normals; other nodes read it)")
    else:
        normals = lambda: control_point_normals(curves, index, n.geometry_cache)  # noqa: E731
    ctx = FieldContext(MeshData(torch.cat(controls, 1), empty, empty[:0], curves=True, curve_normals=normals),
                       index, "POINT")
    old = ctx.mesh.positions
    new = (old if position is None else ctx.grid(position).to(old.dtype)) + ctx.grid(offset).to(old.dtype)
    new = torch.where(ctx.grid(selection)[..., None], new, old)
    delta = new - old
    parts, start = [], 0
    for p, d in zip(curves, dense):
        k = p.prim.curve.num_points
        moved = new[:, start:start + k]
        if p.prim.curve.handles:  # left, then right handles: moved by their point's delta
            shift = delta[:, start:start + k]
            moved = torch.cat([moved, d[:, k:2 * k] + shift, d[:, 2 * k:] + shift], 1)
        prim: CurvePrim = p.prim
        parts.append(Part(CurvePrim(prim.topo_key, prim.num_vertices, prim.face_offsets, prim.face_vertices, None,
                                    dense=scatter(moved, index, n.batch), curve=prim.curve, radius=prim.radius)))
        start += k
    return tuple(parts)
