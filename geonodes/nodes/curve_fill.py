"""Fill Curve (TRIANGLES, NGONS): the curves' evaluated points projected on XY and triangulated
by a constrained Delaunay triangulation, every curve a face constraint (Blender's
node_geo_curve_fill.cc: CDT_INSIDE_WITH_HOLES for triangles, CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES
for n-gons).

The triangulation is a port of Blender's own (`geometry.cdt`, delaunay_2d.cc), run per batch
row on the row's float32 points (the topology depends on the positions: rows are split by the
faces they get), so faces, their order and their first corners are Blender's: holes (a curve
inside another), the n-gons bridged around them, and curves that cross. Vertex positions are
the input points' (x, y, 0) (equal points merge into the first); a vertex the triangulation
adds where two curve segments cross is their crossing point: all differentiable."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Part, Piecewise, Prim
from ..geometry.cdt import CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES, CDT_INSIDE_WITH_HOLES, Unsupported
from ..geometry.cdt_constraints import delaunay_2d
from ..geometry.curves import curve_parts_evaluated
from . import S, node
from .curve_rows import curve_structs, rebuild, scatter, split_rows

_OUTPUT_TYPES = {"TRIANGLES": CDT_INSIDE_WITH_HOLES, "NGONS": CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES}


def triangulate(n, xy: np.ndarray, faces: list, mode: str):
    """(faces as tuples, per output vertex: its input vertex (-1 - k for the k-th added one),
    per added vertex: the two input segments it is the crossing of, edges in Blender's order)."""
    try:
        source, out_faces, crossings, edges = delaunay_2d(xy, faces, _OUTPUT_TYPES[mode])
    except Unsupported as e:
        raise IRError(f"{n.where} (type GeometryNodeFillCurve): these curves reach a case of Blender's "
                      f"triangulation that is not reproduced ({e})") from None
    return out_faces, source, crossings, _mesh_edges(out_faces, edges)


def _mesh_edges(faces: tuple, cdt_edges: tuple):
    """The edges cdt_to_mesh ends with: BKE_mesh_calc_edges keeping the triangulation's edges
    (each as (low, high), in order), then any polygon edge they lack, corner by corner; None
    (order not modelled) from 1000 faces on, where Blender splits the edges over per-thread sets."""
    if len(faces) >= 1000:
        return None
    out, seen = [], set()
    pairs = [(min(a, b), max(a, b)) for a, b in cdt_edges]
    pairs += [(min(f[i - 1], f[i]), max(f[i - 1], f[i])) for f in faces for i in range(len(f))]
    for pair in pairs:
        if pair not in seen:
            seen.add(pair)
            out.append(pair)
    return tuple(out)


def _curve_points(n, struct: GeomStruct, index: torch.Tensor) -> tuple:
    """((b, E, 3) evaluated points of the structure's curves, one face constraint per curve)."""
    evs = curve_parts_evaluated(struct.curves, index, n.geometry_cache)
    faces, base = [], 0
    for ev in evs:
        for s in range(len(ev.topo.sizes)):
            a, b = ev.topo.eval_offsets[s], ev.topo.eval_offsets[s + 1]
            faces.append(list(range(base + a, base + b)))
        base += ev.topo.num_evaluated
    return torch.cat([ev.positions for ev in evs], 1), faces


def _triangulations(n, struct: GeomStruct, index: torch.Tensor, mode: str) -> list:
    points, faces = _curve_points(n, struct, index)
    xy = points.detach()[:, :, :2].to(torch.float32).double().cpu().numpy()
    done: dict = {}  # rows with the same points (curves that do not vary) are triangulated once
    out = []
    for r in range(xy.shape[0]):
        key = xy[r].tobytes()
        if key not in done:
            done[key] = triangulate(n, xy[r].tolist(), faces, mode)
        out.append(done[key])
    return out


def _filled_prim(n, struct: GeomStruct, sub: torch.Tensor, key, mode: str) -> Prim:
    f, src, crossings, edges = key
    points, _ = _curve_points(n, struct, sub)
    rows_xy = points[:, :, :2]
    added = [_crossing(rows_xy, a, b) for a, b in crossings]
    all_xy = torch.cat([rows_xy] + added, 1) if added else rows_xy
    order = [s if s >= 0 else rows_xy.shape[1] - 1 - s for s in src]
    xy_rows = all_xy[:, torch.as_tensor(order, dtype=torch.int64, device=points.device)]
    pos = torch.cat([xy_rows, torch.zeros_like(xy_rows[:, :, :1])], -1)
    offsets = torch.as_tensor(np.concatenate([[0], np.cumsum([len(x) for x in f], dtype=np.int64)]),
                              dtype=torch.int64)
    loops = torch.as_tensor([v for x in f for v in x], dtype=torch.int64)
    return Prim(("curve fill", mode, f, src, edges), len(src), offsets, loops, None, dense=scatter(pos, sub, n.batch),
                edges=None if edges is None else torch.as_tensor(edges, dtype=torch.int64).reshape(-1, 2),
                edges_known=edges is not None)


def _crossing(xy: torch.Tensor, e1: tuple, e2: tuple) -> torch.Tensor:
    """(b, 1, 2) crossing point of the lines through two input segments (differentiable; in
    float64, as Blender's double arithmetic: nearly parallel segments make it ill-conditioned)."""
    dtype, xy = xy.dtype, xy.double()
    p, r = xy[:, e1[0]], xy[:, e1[1]] - xy[:, e1[0]]
    q, s = xy[:, e2[0]], xy[:, e2[1]] - xy[:, e2[0]]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    d = q - p
    t = (d[:, 0] * s[:, 1] - d[:, 1] * s[:, 0]) / torch.where(den == 0, torch.ones_like(den), den)
    return (p + r * t[:, None])[:, None].to(dtype)


@node("GeometryNodeFillCurve", inputs=[S("Curve", "GEOMETRY"), S("Group ID", "INT", 0)],
      outputs=[S("Mesh", "GEOMETRY")],
      properties={"mode": "TRIANGLES"}, choices={"mode": ("TRIANGLES", "NGONS")})
def fill_curve(n):
    if type(n.get("Group ID")) is Field:  # one value for all curves: one triangulation, as Blender
        raise IRError(f"{n.where}: a Group ID field (curves filled in groups) is not supported")
    mode = n.props["mode"]
    pieces = []
    for rows, struct in n.get("Curve").pieces:
        structs = curve_structs(struct)
        if not structs:  # nothing to fill: the geometry passes as it is
            pieces.append((rows, struct))
            continue
        index = rows.index(n.device)
        for sub_rows, sub, config in split_rows(rows, index, structs,
                                                lambda s, index: _triangulations(n, s, index, mode)):
            def filled(s, instances, sub=sub, config=config):
                if not s.curves:
                    return GeomStruct(s.parts, instances, (), s.points)
                # the mesh is replaced, the curves removed, point clouds kept (Blender's)
                return GeomStruct((Part(_filled_prim(n, s, sub, config[id(s)], mode)),), instances, (), s.points)

            pieces.append((sub_rows, rebuild(struct, filled)))
    return {"Mesh": Piecewise(pieces).merged()}
