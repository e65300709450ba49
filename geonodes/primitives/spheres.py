"""UV Sphere and Ico Sphere nodes."""
from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .core import Linear, cos_sin_f32, PrimMesh, _Topology, _batch, _check_int, _empty_topology, _topology, evaluate_linear


@functools.lru_cache(maxsize=256)
def _uv_sphere_topology(segments: int, rings: int) -> _Topology:
    if segments < 3 or rings < 2:
        return _empty_topology(1)
    # Ring vertices start one segment past +x (angle 2*pi/segments), counter-clockwise.
    # Blender's float32 arithmetic (calculate_sphere_vertex_data): the equator's z is
    # cos(float32(pi / 2)), not 0, which comparisons with positions see.
    around = cos_sin_f32(np.arange(1, segments + 1, dtype=np.float32) * np.float32(2.0 * math.pi / segments))
    down = cos_sin_f32(np.arange(1, rings, dtype=np.float32) * np.float32(math.pi / rings))
    f32 = np.float32
    ring_xyz = np.stack([(down[:, None, 1].astype(f32) * around[None, :, 0].astype(f32)).astype(np.float64),
                         (down[:, None, 1].astype(f32) * around[None, :, 1].astype(f32)).astype(np.float64),
                         np.repeat(down[:, 0, None], segments, 1)], -1).reshape(-1, 3)
    table = np.concatenate([[[0.0, 0.0, 1.0]], ring_xyz, [[0.0, 0.0, -1.0]]])
    bottom = len(table) - 1

    def ring(r):  # vertex indices of ring r (0 = first below the top pole)
        return [1 + r * segments + k for k in range(segments)]

    polys = []
    first = ring(0)
    polys += [[0, first[k], first[(k + 1) % segments]] for k in range(segments)]
    for r in range(rings - 2):
        upper, lower = ring(r), ring(r + 1)
        polys += [[upper[k], lower[k], lower[(k + 1) % segments], upper[(k + 1) % segments]]
                  for k in range(segments)]
    last = ring(rings - 2)
    polys += [[bottom, last[(k + 1) % segments], last[k]] for k in range(segments)]
    # Edges: the top pole's, then per ring its own and those down to the next ring, then the
    # bottom pole's (pole first).
    edges = [(0, v) for v in first]
    for r in range(rings - 1):
        edges += [(ring(r)[k], ring(r)[(k + 1) % segments]) for k in range(segments)]
        if r < rings - 2:
            edges += [(ring(r)[k], ring(r + 1)[k]) for k in range(segments)]
    edges += [(bottom, v) for v in last]
    return _topology([table], polys, edges)


def uv_sphere_normals(segments: int, rings: int) -> torch.Tensor | None:
    """(V, 3) the vertex normals Blender's UV Sphere assigns with its mesh
    (calculate_sphere_vertex_data: the unit sphere's points, whatever the radius), or None for
    an empty sphere."""
    table = _uv_sphere_topology(segments, rings).tables[0]
    return table if table.shape[0] else None


def mesh_uv_sphere_linear(radius: torch.Tensor, segments: int, rings: int) -> Linear:
    """Linear form of `mesh_uv_sphere` (same arguments)."""
    segments, rings = _check_int(segments, "segments"), _check_int(rings, "rings")
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_uv_sphere_topology(segments, rings), [radius], None, n, dtype, device)


def mesh_uv_sphere(radius: torch.Tensor, segments: int, rings: int) -> PrimMesh:
    """UV Sphere node: top pole, rings - 1 rings of `segments` vertices from top to bottom (each
    starting at angle 2*pi/segments), bottom pole; faces: top triangles, quads, bottom triangles.
    Invalid: segments < 3 or rings < 2 -> empty mesh."""
    return evaluate_linear(mesh_uv_sphere_linear(radius, segments, rings))


# ---------------------------------------------------------------- ico sphere
#
# Blender builds the ico sphere with BMesh: an icosahedron, then (subdivisions > 1) every edge
# cut 2^(s-1) - 1 times and every triangle filled with a triangular lattice by face splits.
# Vertex and face order come from that construction, so it is replayed here on a tiny
# half-edge-free model (faces as vertex cycles whose first entry is BMesh's first loop).

# Blender's icosahedron, in units of radius / 200 (its vertex table is rounded to 3 decimals).
_ICO_VERTS = np.array([
    (0, 0, -200), (144.72, -105.144, -89.443), (-55.277, -170.128, -89.443), (-178.885, 0, -89.443),
    (-55.277, 170.128, -89.443), (144.72, 105.144, -89.443), (55.277, -170.128, 89.443),
    (-144.72, -105.144, 89.443), (-144.72, 105.144, 89.443), (55.277, 170.128, 89.443),
    (178.885, 0, 89.443), (0, 0, 200)], dtype=np.float64) / 200.0
_ICO_FACES = ((0, 1, 2), (1, 0, 5), (0, 2, 3), (0, 3, 4), (0, 4, 5), (1, 5, 10), (2, 1, 6), (3, 2, 7),
              (4, 3, 8), (5, 4, 9), (1, 10, 6), (2, 6, 7), (3, 7, 8), (4, 8, 9), (5, 9, 10), (6, 10, 11),
              (7, 6, 11), (8, 7, 11), (9, 8, 11), (10, 9, 11))


class _FaceSplitter:
    """Faces as vertex cycles (entry 0 = first loop) with BMesh's split and edge-cut rules."""

    def __init__(self, edges: list[list[int]]):
        # BMesh's edges in creation order (its storage order: nothing is freed), as [v1, v2]
        self.edges = edges
        self.edge_of = {frozenset(e): i for i, e in enumerate(edges)}
        self.faces, self.faces_of = [], {}  # faces_of: vertex -> set of face ids

    def set_faces(self, faces: list[list[int]]) -> None:
        self.faces, self.faces_of = faces, {}
        for fi, cycle in enumerate(faces):
            for v in cycle:
                self.faces_of.setdefault(v, set()).add(fi)

    def add_edge(self, a: int, b: int) -> None:
        self.edge_of[frozenset((a, b))] = len(self.edges)
        self.edges.append([a, b])

    def split_edge(self, u: int, w: int, x: int) -> None:
        """BM_edge_split of edge u-w at its v1 (u): the new edge is (u, x), the old one's v1 becomes x."""
        i = self.edge_of.pop(frozenset((u, w)))
        assert self.edges[i][0] == u, "edge split at its second vertex"
        self.edges[i][0] = x
        self.edge_of[frozenset((x, w))] = i
        self.add_edge(u, x)

    def connect(self, a: int, b: int) -> None:
        """Split the smallest face holding a and b by a new edge a-b.

        The split face keeps the arc a..b, the new face (appended) gets b..a. First loops follow
        BMesh: the side holding the old first loop keeps it; the other side starts next to it.
        """
        shared = self.faces_of[a] & self.faces_of[b]
        fi = min(shared, key=lambda f: len(self.faces[f]))
        cycle = self.faces[fi]
        m, ia, ib = len(cycle), cycle.index(a), cycle.index(b)
        keep = [cycle[(ia + k) % m] for k in range((ib - ia) % m + 1)]  # a .. b
        new = [cycle[(ib + k) % m] for k in range((ia - ib) % m + 1)]  # b .. a
        first = cycle[0]
        # Old loops are keep[:-1] and new[:-1]; the last entry of each is the new edge's loop.
        if first in keep[:-1]:
            keep_first = first
            new_first = new[-2] if first == a else b if first == keep[-2] else a
        else:
            new_first = first
            keep_first = keep[-2] if first == b else a if first == new[-2] else b
        self.faces[fi] = _rotated(keep, keep_first)
        self.faces.append(_rotated(new, new_first))
        self.add_edge(a, b)  # BM_face_split: the new edge runs from a's loop to b's
        gi = len(self.faces) - 1
        for v in new[1:-1]:
            self.faces_of[v].discard(fi)
        for v in new:
            self.faces_of[v].add(gi)

    def cut_edge(self, u: int, w: int, x: int) -> None:
        """Insert new vertex x between u and w in every face using edge u-w (split at u)."""
        self.split_edge(u, w, x)
        self.faces_of[x] = set()
        for fi in self.faces_of[u] & self.faces_of[w]:
            cycle = self.faces[fi]
            m = len(cycle)
            for k in range(m):
                if {cycle[k], cycle[(k + 1) % m]} == {u, w}:
                    cycle.insert(k + 1, x)
                    self.faces_of[x].add(fi)
                    break


def _rotated(cycle: list[int], start: int) -> list[int]:
    k = cycle.index(start)
    return cycle[k:] + cycle[:k]


def _unit(p: np.ndarray) -> np.ndarray:
    return p / np.linalg.norm(p, axis=-1, keepdims=True)


def _ico_sphere_tables(subdivisions: int):
    """(unit-radius positions (V,3), polygons, edges [v1, v2] in Blender's order) of Blender's ico sphere."""
    # Edges in BMesh creation order: each triangle (v0, v1, v2) adds (v2, v0), (v0, v1), (v1, v2).
    edges, seen = [], set()
    for f in _ICO_FACES:
        for k in range(3):
            key = frozenset((f[k - 1], f[k]))
            if key not in seen:
                seen.add(key)
                edges.append([f[k - 1], f[k]])
    if subdivisions <= 1:
        return _ICO_VERTS.copy(), [list(f) for f in _ICO_FACES], edges
    cuts = 2 ** (subdivisions - 1) - 1
    pos = list(_ICO_VERTS)
    mesh = _FaceSplitter([list(e) for e in edges])
    # Cut every edge from its first to its second vertex (BM_edge_split at v1, cut after cut);
    # cut points lie on the straight edge (projection onto the sphere comes at the end).
    edge_cuts = {}
    for v1, v2 in edges:
        ids = list(range(len(pos), len(pos) + cuts))
        pos += [pos[v1] + (pos[v2] - pos[v1]) * ((i + 1) / (cuts + 1)) for i in range(cuts)]
        edge_cuts[v1, v2], edge_cuts[v2, v1] = ids, ids[::-1]
        prev = v1
        for x in ids:
            mesh.split_edge(prev, v2, x)
            prev = x
    faces = []
    for f in _ICO_FACES:
        cycle = []
        for k in range(3):
            cycle += [f[k]] + edge_cuts[f[k], f[(k + 1) % 3]]
        faces.append(cycle)
    mesh.set_faces(faces)
    n = cuts
    # Triangles are filled last to first. Seen from the triangle's first corner c0 (the
    # "bottom-left"), ring = cuts(c0->c1), c1, cuts(c1->c2), c2 (the "top"), cuts(c2->c0), c0.
    for fi in reversed(range(len(_ICO_FACES))):
        ring = faces[fi][1:] + faces[fi][:1]
        bottom_row = [ring[3 * n + 2]] + ring[:n] + [ring[n]]
        rows = [[ring[2 * n + 1]]]
        for i in range(n):
            # Row i+1 joins the left side's i-th cut (from the top) to the right side's.
            a, b = ring[2 * n + 2 + i], ring[2 * n - i]
            mesh.connect(a, b)
            row = [a]
            # Row points interpolate the row's end points as already projected on the sphere.
            ua, ub = _unit(pos[a]), _unit(pos[b])
            for j in range(i):
                x = len(pos)
                pos.append(ua + (ub - ua) * ((j + 1) / (i + 1)))
                mesh.cut_edge(row[-1], b, x)
                row.append(x)
            rows.append(row + [b])
        rows.append(bottom_row)
        for i in range(1, n + 1):
            for j in range(i):
                mesh.connect(rows[i][j], rows[i + 1][j + 1])
                mesh.connect(rows[i][j + 1], rows[i + 1][j + 1])
    return _unit(np.array(pos)), mesh.faces, mesh.edges


@functools.lru_cache(maxsize=16)
def _ico_sphere_topology(subdivisions: int) -> _Topology:
    table, polys, edges = _ico_sphere_tables(subdivisions)
    return _topology([table], polys, edges)


# Blender clamps the subdivision level (the UI soft maximum is 7).
_MAX_ICO_SUBDIVISIONS = 10


def mesh_ico_sphere_linear(radius: torch.Tensor, subdivisions: int) -> Linear:
    """Linear form of `mesh_ico_sphere` (same arguments)."""
    subdivisions = min(_check_int(subdivisions, "subdivisions"), _MAX_ICO_SUBDIVISIONS)
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_ico_sphere_topology(max(subdivisions, 1)), [radius.abs()], None, n, dtype, device)


def mesh_ico_sphere(radius: torch.Tensor, subdivisions: int) -> PrimMesh:
    """Ico Sphere node. subdivisions <= 1 gives Blender's icosahedron (12 vertices, its vertex
    table rounded to 3 decimals, so not exactly on the sphere); s > 1 cuts each edge
    2^(s-1) - 1 times and fills each triangle, all vertices projected to the sphere.
    Subdivisions above 10 are clamped to 10, as Blender does. A negative radius acts as its
    absolute value (checked in Blender). The topology is built in python on first use (about
    1 s for s = 6) and cached.
    """
    return evaluate_linear(mesh_ico_sphere_linear(radius, subdivisions))
