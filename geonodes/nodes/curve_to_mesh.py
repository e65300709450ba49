"""Curve to Mesh: the curves component swept along by a profile (Blender's
curve_to_mesh_convert.cc), or a wire mesh of the evaluated points without one.

For every main spline, for every profile spline (main-major), a grid of vertices: ring i (the
main spline's evaluated point i) holds the profile's evaluated points placed in the frame
(normal, tangent x normal, tangent) at that point, scaled by the point's radius. Quads go ring
by ring; caps (a cyclic profile on a non-cyclic main spline, Fill Caps) follow each
combination's quads: the first ring reversed, then the last ring. Edges in Blender's order
(fill_mesh_topology): per combination, first the edges along the main spline (profile point
major, ring minor), then the edges around each ring; without a profile (a one-point profile)
the edges along each spline, the closing one last.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Instance, Part, Piecewise, Prim, Rows
from ..geometry.curves import curve_parts_evaluated, spline_frames
from . import S, node
from .curve_nodes import radius_set


def _segments(points: int, cyclic: bool, least: int) -> int:
    """Segments of a spline in the sweep: a cyclic main spline needs three points to close
    (two points make one segment), a cyclic profile two (as Blender's)."""
    return points if cyclic and points >= least else points - 1


_TOPOLOGY: dict = {}


def sweep_topology(mains: tuple, profiles: tuple, caps: bool):
    """(num vertices, face offsets, face vertices, edges (E, 2)) for main and profile splines
    given as ((evaluated points, cyclic), ...); a profile of one point makes a wire."""
    key = (mains, profiles, caps)
    hit = _TOPOLOGY.get(key)
    if hit is not None:
        return hit
    faces, edges, base = [], [], 0
    for pm, cm in mains:
        for pp, cp in profiles:
            ms = _segments(pm, cm, 3)
            if pp == 1:  # a wire: the edges along the spline
                edges += [(base + i, base + i + 1) for i in range(pm - 1)]
                if ms == pm and pm > 1:
                    edges.append((base + pm - 1, base))
            if pp > 1:
                ps = _segments(pp, cp, 2)
                for i in range(pp):  # along the main spline, from each profile point
                    edges += [(base + pp * r + i, base + pp * (0 if r == pm - 1 else r + 1) + i) for r in range(ms)]
                for r in range(pm):  # around each ring
                    edges += [(base + pp * r + i, base + pp * r + (0 if i == pp - 1 else i + 1)) for i in range(ps)]
                for ring in range(ms):
                    nxt = 0 if ring == pm - 1 else ring + 1
                    a, b = base + pp * ring, base + pp * nxt
                    for i in range(ps):
                        j = 0 if i == pp - 1 else i + 1
                        faces.append([a + i, a + j, b + j, b + i])
                if caps and cp and not cm and pp > 2:
                    faces.append([base + ps - 1 - i for i in range(ps)])
                    last = base + pp * (pm - 1)
                    faces.append([last + i for i in range(ps)])
            base += pm * pp
    sizes = [len(f) for f in faces]
    offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]), dtype=torch.int64)
    loops = torch.as_tensor([v for f in faces for v in f], dtype=torch.int64)
    hit = _TOPOLOGY[key] = (base, offsets, loops, torch.as_tensor(edges, dtype=torch.int64).reshape(-1, 2))
    return hit


def _splines(evs: list) -> list:
    return [(ev, s) for ev in evs for s in range(len(ev.topo.sizes))]


def sweep_positions(mains: list, profiles: list) -> torch.Tensor:
    """(b, V, 3) vertices in Blender's order (see the module docstring)."""
    chunks = []
    for ev, s in mains:
        points, _ = ev.spline(s)
        tangents, normals = spline_frames(ev, s)
        binormals = torch.linalg.cross(tangents, normals, dim=-1)
        if ev.radius is not None:
            a, b = ev.topo.eval_offsets[s], ev.topo.eval_offsets[s + 1]
            r = ev.radius[:, a:b, None]
            tangents, normals, binormals = tangents * r, normals * r, binormals * r
        for pev, ps in profiles:
            prof, _ = pev.spline(ps)  # (b, k, 3)
            v = (points[:, :, None] + normals[:, :, None] * prof[:, None, :, 0:1]
                 + binormals[:, :, None] * prof[:, None, :, 1:2] + tangents[:, :, None] * prof[:, None, :, 2:3])
            chunks.append(v.reshape(v.shape[0], -1, 3))
    return torch.cat(chunks, 1)


def _dense_mesh(key, positions_rows: torch.Tensor, rows: torch.Tensor, batch: int, topology) -> Prim:
    nv, offsets, loops, edges = topology
    full = positions_rows
    if rows.shape[0] != batch:
        full = positions_rows.new_zeros((batch,) + tuple(positions_rows.shape[1:])).index_copy(0, rows, positions_rows)
    return Prim(key, nv, offsets, loops, None, dense=full, edges=edges)


def _convert(n, struct: GeomStruct, profile: GeomStruct | None, caps: bool, rows: Rows) -> GeomStruct:
    instances = tuple(Instance(_convert(n, i.geometry, profile, caps, rows), i.chain) for i in struct.instances)
    if not struct.curves:  # nothing to convert: the geometry stays as it is (Blender's)
        return GeomStruct(struct.parts, instances, (), struct.points)
    index = rows.index(n.device)
    cache = n.geometry_cache
    mains = _splines(curve_parts_evaluated(struct.curves, index, cache))
    main_key = tuple(int(ev.topo.eval_offsets[s + 1] - ev.topo.eval_offsets[s]) for ev, s in mains)
    main_cyc = tuple(ev.topo.cyclic[s] for ev, s in mains)
    if profile is None or not profile.curves:
        positions = torch.cat([ev.spline(s)[0] for ev, s in mains], 1)
        topology = sweep_topology(tuple(zip(main_key, main_cyc)), ((1, False),), False)
        key = ("curve wire", main_key, main_cyc)
    else:
        profiles = _splines(curve_parts_evaluated(profile.curves, index, cache))
        prof_key = tuple((int(ev.topo.eval_offsets[s + 1] - ev.topo.eval_offsets[s]), ev.topo.cyclic[s])
                         for ev, s in profiles)
        topology = sweep_topology(tuple(zip(main_key, main_cyc)), prof_key, caps)
        positions = sweep_positions(mains, profiles)
        key = ("curve sweep", main_key, main_cyc, prof_key, caps)
    prim = _dense_mesh(key, positions, index, n.batch, topology)
    return GeomStruct((Part(prim),), instances)


@node("GeometryNodeCurveToMesh",
      inputs=[S("Curve", "GEOMETRY"), S("Profile Curve", "GEOMETRY"), S("Scale", "FLOAT", None),
              S("Fill Caps", "BOOLEAN", False)],
      outputs=[S("Mesh", "GEOMETRY")])
def curve_to_mesh(n):
    """Scale (an input since Blender 4.3, a field on the control points) scales the profile in
    place of the radius; a node without it (Blender 4.2's, and the IR's default) uses the radius."""
    caps = n.get("Fill Caps")
    if type(caps) is Field:
        raise IRError(f"{n.where}: input 'Fill Caps' takes a single value, but a field is linked to it")
    with_caps = Rows.from_mask(caps)
    curve = n.get("Curve")
    if n.is_linked("Scale") or n.stored("Scale") is not None:
        curve = radius_set(n, torch.ones(n.batch, dtype=torch.bool, device=n.device), n.get("Scale"))
    pieces = []
    for rows_c, main in curve.pieces:
        for rows_p, profile in n.get("Profile Curve").pieces:
            for flag, mask in ((True, with_caps), (False, ~with_caps)):
                rows = rows_c & rows_p & mask
                if rows.any():
                    pieces.append((rows, _convert(n, main, profile, flag, rows)))
    return {"Mesh": Piecewise(pieces).merged()}
