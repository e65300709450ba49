"""Cone, Cylinder and Mesh Circle nodes (a cylinder is a cone with equal radii)."""
from __future__ import annotations

import functools

import numpy as np
import torch

from ..errors import GeonodesError

from .core import (Linear, PrimMesh, _Topology, _batch, _check_fill, _check_int, _empty_topology, _ring, _topology,
                   evaluate_linear)


@functools.lru_cache(maxsize=256)
def _cone_topology(verts: int, side: int, fill: int, fill_type: str, top_point: bool,
                   bottom_point: bool, zero_depth: bool) -> _Topology:
    """Tables for (radius_top, radius_bottom, depth); centred (z in [-depth/2, depth/2]).

    The mesh is a chain of rings from top to bottom: top fill rings (inner to outer), side
    rings, bottom fill rings (outer to inner); quads join consecutive rings; a centre vertex
    closes an end that is a point or is fan-filled, an n-gon closes an NGON end.
    """
    if verts < 3 or side < 1 or fill < 1:
        return _empty_topology(3)
    if top_point and bottom_point:
        if zero_depth:
            return _topology([np.zeros((1, 3))] * 3, [], [])
        depth = np.zeros((side + 1, 3))
        depth[:, 2] = 0.5 - np.arange(side + 1) / side
        zeros = np.zeros((side + 1, 3))
        return _topology([zeros, zeros, depth], [], [(i, i + 1) for i in range(side)])
    filled = fill_type != "NONE"
    unit = _ring(verts, accumulate=True)
    rt, rb, dz = [], [], []  # per vertex: radius_top factor, radius_bottom factor, z / depth
    rings = []  # vertex index lists, top to bottom

    def add_ring(top_factor, bottom_factor, z):
        rings.append(list(range(len(rt), len(rt) + verts)))
        rt.extend([top_factor] * verts)
        rb.extend([bottom_factor] * verts)
        dz.extend([z] * verts)

    polys = []
    top_center = top_point or fill_type == "TRIANGLE_FAN"
    bottom_center = bottom_point or fill_type == "TRIANGLE_FAN"
    if top_center:
        rt.append(0.0), rb.append(0.0), dz.append(0.5)
    if not top_point and filled:
        for i in range(1, fill):
            add_ring(i / fill, 0.0, 0.5)
    for j in range(side + 1):
        if (j == 0 and top_point) or (j == side and bottom_point):
            continue
        add_ring(1.0 - j / side, j / side, 0.5 - j / side)
    if not bottom_point and filled:
        for i in range(1, fill):
            add_ring(0.0, (fill - i) / fill, -0.5)
    if bottom_center:
        rt.append(0.0), rb.append(0.0), dz.append(-0.5)
    if top_center:
        first = rings[0]
        polys += [[first[k], first[(k + 1) % verts], 0] for k in range(verts)]
    elif fill_type == "NGON":
        polys.append(list(rings[0]))
    for upper, lower in zip(rings[:-1], rings[1:]):
        polys += [[upper[k], lower[k], lower[(k + 1) % verts], upper[(k + 1) % verts]] for k in range(verts)]
    if bottom_center:
        last, center = rings[-1], len(rt) - 1
        polys += [[last[k], center, last[(k + 1) % verts]] for k in range(verts)]
    elif fill_type == "NGON":
        polys.append(list(reversed(rings[-1])))

    # Edges (calculate_cone_edges): top centre to the first ring, then each ring's own edges and
    # the edges down to the next ring, then the last ring to the bottom centre.
    edges = [(0, first_k) for first_k in rings[0]] if top_center else []
    for r, ring in enumerate(rings):
        edges += [(ring[k], ring[(k + 1) % verts]) for k in range(verts)]
        if r + 1 < len(rings):
            edges += [(ring[k], rings[r + 1][k]) for k in range(verts)]
    if bottom_center:
        edges += [(v, len(rt) - 1) for v in rings[-1]]
    num = len(rt)
    xy = np.zeros((num, 2))
    for ring in rings:
        xy[ring] = unit
    rt, rb, dz = np.array(rt), np.array(rb), np.array(dz)
    zeros = np.zeros(num)
    table_top = np.stack([xy[:, 0] * rt, xy[:, 1] * rt, zeros], 1)
    table_bottom = np.stack([xy[:, 0] * rb, xy[:, 1] * rb, zeros], 1)
    table_depth = np.stack([zeros, zeros, dz], 1)
    return _topology([table_top, table_bottom, table_depth], polys, edges)


def _uniform(mask: torch.Tensor, what: str) -> bool:
    """A topology-changing float condition must hold for all rows of a call or for none."""
    n_true = int(mask.sum())
    if 0 < n_true < mask.numel():
        raise GeonodesError(f"{what} holds for {n_true} of {mask.numel()} rows; it changes the topology, "
                            "so split the batch with cone_topology_flags() first")
    return n_true > 0


def cone_topology_flags(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor):
    """Per-row (top_is_point, bottom_is_point, both_points_and_zero_depth), (n,) bool each.

    Blender merges an end ring of radius exactly 0 into one vertex, and a cone with both radii 0
    is a line (one vertex if depth is 0 too). Rows differing in these flags have different
    topologies, so a batched caller must split rows by them before calling mesh_cone.
    """
    top, bottom = radius_top == 0, radius_bottom == 0
    return top, bottom, top & bottom & (depth == 0)


def _cone(radius_top, radius_bottom, depth, vertices, side_segments, fill_segments, fill_type, names,
          flags=None):
    verts = _check_int(vertices, "vertices")
    side = _check_int(side_segments, "side_segments")
    fill_type = _check_fill(fill_type)
    # Blender ignores Fill Segments when there is no fill.
    fill = 1 if fill_type == "NONE" else _check_int(fill_segments, "fill_segments")
    if flags is not None:  # the caller split the rows by cone_topology_flags() already
        top, bottom, flat = (bool(f) for f in flags)
        return _cone_topology(verts, side, fill, fill_type, top, bottom, flat and top and bottom)
    top, bottom, flat = cone_topology_flags(radius_top, radius_bottom, depth)
    top = _uniform(top, f"{names[0]} == 0")
    bottom = _uniform(bottom, f"{names[1]} == 0")
    flat = _uniform(flat, f"{names[0]} == {names[1]} == depth == 0") if top and bottom else False
    return _cone_topology(verts, side, fill, fill_type, top, bottom, flat)


def mesh_cone_linear(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor, vertices: int,
                     side_segments: int, fill_segments: int, fill_type: str, flags=None) -> Linear:
    """Linear form of `mesh_cone`; `flags` = cone_topology_flags() values shared by every row
    (then rows are not checked: callers that split rows by the flags pass them)."""
    n, dtype, device = _batch({"radius_top": (radius_top, 1), "radius_bottom": (radius_bottom, 1),
                               "depth": (depth, 1)})
    topo = _cone(radius_top, radius_bottom, depth, vertices, side_segments, fill_segments, fill_type,
                 ("radius_top", "radius_bottom"), flags)
    offset = torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth / 2], -1)
    return Linear(topo, [radius_top, radius_bottom, depth], offset, n, dtype, device)


def mesh_cone(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor, vertices: int,
              side_segments: int, fill_segments: int, fill_type: str) -> PrimMesh:
    """Cone node: base at z = 0, tip side at z = depth (Blender moves the cone up by depth/2).

    Vertex order: top centre (if the top is a point or fan-filled), top fill rings, side rings,
    bottom fill rings, bottom centre. A radius of exactly 0 merges that end into one vertex
    (all rows must agree: see cone_topology_flags); both radii 0 gives a line of
    side_segments + 1 vertices, or one vertex when depth is 0 too. fill_segments is ignored
    for fill_type NONE.
    Invalid: vertices < 3, side_segments < 1 or (with a fill) fill_segments < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_cone_linear(radius_top, radius_bottom, depth, vertices, side_segments,
                                            fill_segments, fill_type))


def mesh_cylinder_linear(radius: torch.Tensor, depth: torch.Tensor, vertices: int, side_segments: int,
                         fill_segments: int, fill_type: str, flags=None) -> Linear:
    """Linear form of `mesh_cylinder`; `flags` as for mesh_cone_linear."""
    n, dtype, device = _batch({"radius": (radius, 1), "depth": (depth, 1)})
    topo = _cone(radius, radius, depth, vertices, side_segments, fill_segments, fill_type,
                 ("radius", "radius"), flags)
    return Linear(_one_radius(topo), [radius, depth], None, n, dtype, device)


_ONE_RADIUS: dict = {}


def _one_radius(topo: _Topology) -> _Topology:
    """A cone topology with its two radius tables summed (a cylinder: one radius input)."""
    if id(topo) not in _ONE_RADIUS:
        top, bottom, depth = topo.tables
        _ONE_RADIUS[id(topo)] = (topo, _Topology((top + bottom, depth), topo.face_offsets, topo.face_vertices,
                                                          topo.edges))
    return _ONE_RADIUS[id(topo)][1]


def mesh_cylinder(radius: torch.Tensor, depth: torch.Tensor, vertices: int, side_segments: int,
                  fill_segments: int, fill_type: str) -> PrimMesh:
    """Cylinder node: centred, z in [-depth/2, depth/2]. Same layout as mesh_cone with both
    radii equal; radius exactly 0 gives a line (all rows must agree).
    Invalid: vertices < 3, side_segments < 1 or (with a fill) fill_segments < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_cylinder_linear(radius, depth, vertices, side_segments, fill_segments, fill_type))


@functools.lru_cache(maxsize=256)
def _circle_topology(verts: int, fill_type: str) -> _Topology:
    if verts < 3:
        return _empty_topology(1)
    table = np.zeros((verts, 3))
    table[:, :2] = _ring(verts)
    if fill_type == "NGON":
        polys = [list(range(verts))]
    elif fill_type == "TRIANGLE_FAN":
        table = np.concatenate([table, np.zeros((1, 3))])
        polys = [[k, (k + 1) % verts, verts] for k in range(verts)]
    else:
        polys = []
    edges = [(k, (k + 1) % verts) for k in range(verts)]  # the ring, then the fan from the centre
    if fill_type == "TRIANGLE_FAN":
        edges += [(verts, k) for k in range(verts)]
    return _topology([table], polys, edges)


def mesh_circle_linear(radius: torch.Tensor, vertices: int, fill_type: str) -> Linear:
    """Linear form of `mesh_circle` (same arguments)."""
    verts = _check_int(vertices, "vertices")
    fill_type = _check_fill(fill_type)
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_circle_topology(verts, fill_type), [radius], None, n, dtype, device)


def mesh_circle(radius: torch.Tensor, vertices: int, fill_type: str) -> PrimMesh:
    """Mesh Circle node: vertex k at angle 2*pi*k/vertices from +x; TRIANGLE_FAN adds the centre
    last and faces (k, k+1, centre). Invalid: vertices < 3 -> empty mesh."""
    return evaluate_linear(mesh_circle_linear(radius, vertices, fill_type))
