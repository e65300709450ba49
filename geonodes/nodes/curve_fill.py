"""Fill Curve (TRIANGLES, NGONS): the curves' evaluated points projected on XY and triangulated
by a constrained Delaunay triangulation, every curve a face constraint (Blender's
node_geo_curve_fill.cc: CDT_INSIDE_WITH_HOLES for triangles, CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES
for n-gons).

The triangulation is Blender's own: `mathutils.geometry.delaunay_2d_cdt`, which ships with
Blender's Python module (bpy), run per batch row on the row's float32 points (the topology
depends on the positions: rows are split by the faces they get). Vertex positions are the
input points' (x, y, 0); a vertex the triangulation adds where two curve segments cross is
their crossing point: all differentiable. N-GONS with a hole
(a curve inside another) is refused where Blender's Python call leaves the hole unbridged:
the node bridges it into the faces around it, which is not reproduced here."""
from __future__ import annotations

import importlib

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Part, Piecewise, Prim
from ..geometry.curves import curve_parts_evaluated
from . import S, node
from .curve_rows import curve_structs, rebuild, scatter, split_rows

_OUTPUT_TYPES = {"TRIANGLES": 2, "NGONS": 5}  # CDT_INSIDE_WITH_HOLES, CDT_CONSTRAINTS_VALID_BMESH_WITH_HOLES


def _delaunay():
    try:
        importlib.import_module("bpy")  # mathutils is importable once bpy is
        from mathutils import Vector  # noqa: PLC0415
        from mathutils.geometry import delaunay_2d_cdt  # noqa: PLC0415
    except ImportError:
        return None
    return Vector, delaunay_2d_cdt


def triangulate(xy: np.ndarray, faces: list, mode: str):
    """(faces as tuples, per output vertex: its input vertex (-1 - k for the k-th added one),
    per added vertex: the two input segments it is the crossing of)."""
    found = _delaunay()
    if found is None:
        raise IRError("Fill Curve needs Blender's triangulation (mathutils, installed with bpy: "
                      "pip install 'procsplat[blender]')")
    vector, cdt = found
    verts, _, out_faces, orig, _, _ = cdt([vector((float(x), float(y))) for x, y in xy], [], faces,
                                          _OUTPUT_TYPES[mode], 0.0)
    coords = np.array([tuple(v) for v in verts], dtype=np.float64).reshape(-1, 2)
    segments = list(dict.fromkeys((f[k], f[(k + 1) % len(f)]) for f in faces for k in range(len(f)) if len(f) > 1))
    added = [v for v in range(len(orig)) if not orig[v]]
    source = tuple(min(o) if o else -1 - added.index(v) for v, o in enumerate(orig))
    crossings = tuple(_segments_through(coords[v], xy, segments) for v in added)
    if mode == "NGONS" and _has_hole(coords, out_faces):
        raise IRError("Fill Curve N-GONS: a curve inside another makes a hole, which Blender bridges into its "
                      "faces in a way not reproduced here (use TRIANGLES)")
    return tuple(tuple(f) for f in out_faces), source, crossings


def _segments_through(point: np.ndarray, xy: np.ndarray, segments: list) -> tuple:
    """The two input segments (not along one line) nearest to an added vertex: the two whose
    crossing it is."""
    a = xy[[u for u, _ in segments]]
    b = xy[[v for _, v in segments]]
    d = b - a
    t = np.clip(((point - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0.0, 1.0)
    dist = np.linalg.norm(a + d * t[:, None] - point, axis=1)
    order = np.argsort(dist, kind="stable")
    first = segments[order[0]]
    for k in order[1:]:
        e = segments[k]
        da, db = xy[first[1]] - xy[first[0]], xy[e[1]] - xy[e[0]]
        if abs(da[0] * db[1] - da[1] * db[0]) > 1e-12 * (np.abs(da).sum() * np.abs(db).sum() + 1e-300):
            return (first, e)
    raise IRError("Fill Curve: the triangulation added a vertex that is not a crossing of two curve segments")


def _has_hole(coords: np.ndarray, faces: list) -> bool:
    """Whether a vertex in no face lies inside a face (a hole the faces would have to bridge)."""
    used = {v for f in faces for v in f}
    for v in range(coords.shape[0]):
        if v in used:
            continue
        x, y = coords[v]
        for f in faces:
            poly = coords[list(f)]
            inside = False
            for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0)):
                if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
            if inside:
                return True
    return False


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
    return [triangulate(xy[r], faces, mode) for r in range(xy.shape[0])]


def _filled_prim(n, struct: GeomStruct, sub: torch.Tensor, key, mode: str) -> Prim:
    f, src, crossings = key
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
    return Prim(("curve fill", mode, f, src), len(src), offsets, loops, None, dense=scatter(pos, sub, n.batch))


def _crossing(xy: torch.Tensor, e1: tuple, e2: tuple) -> torch.Tensor:
    """(b, 1, 2) crossing point of the lines through two input segments (differentiable)."""
    p, r = xy[:, e1[0]], xy[:, e1[1]] - xy[:, e1[0]]
    q, s = xy[:, e2[0]], xy[:, e2[1]] - xy[:, e2[0]]
    den = r[:, 0] * s[:, 1] - r[:, 1] * s[:, 0]
    d = q - p
    t = (d[:, 0] * s[:, 1] - d[:, 1] * s[:, 0]) / torch.where(den == 0, torch.ones_like(den), den)
    return (p + r * t[:, None])[:, None]


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
