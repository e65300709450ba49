"""Symbolic, batched geometry.

A batch of B parameter sets can produce different topologies (a Switch picks another branch,
a count changes). Geometry values are therefore *piecewise*: a list of (row mask, structure)
pairs, where every row in a mask shares one structure. A structure is symbolic: it lists the
primitive meshes it is made of and, for each, the chain of transforms applied to it. Vertex
positions are only computed at the end, for the rows of each piece, so single values are
evaluated once for the whole batch and geometry work is batched per topology.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch


def euler_to_matrix(euler: torch.Tensor) -> torch.Tensor:
    """(n,3) Euler XYZ radians -> (n,3,3) rotation matrices, R = Rz @ Ry @ Rx (Blender's)."""
    cx, cy, cz = torch.cos(euler).unbind(-1)
    sx, sy, sz = torch.sin(euler).unbind(-1)
    row0 = torch.stack([cy * cz, sy * sx * cz - cx * sz, sy * cx * cz + sx * sz], -1)
    row1 = torch.stack([cy * sz, sy * sx * sz + cx * cz, sy * cx * sz - sx * cz], -1)
    row2 = torch.stack([-sy, cy * sx, cy * cx], -1)
    return torch.stack([row0, row1, row2], -2)


def rotate(v: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Rotate vertex-major points v (V,B,3) by per-row matrices (B,3,3)."""
    x, y, z = v.unbind(-1)
    return torch.stack([x * matrix[:, i, 0] + y * matrix[:, i, 1] + z * matrix[:, i, 2] for i in range(3)], -1)


@dataclass(eq=False)
class Prim:
    """One primitive node evaluation with a fixed topology.

    `build(rows)` returns (n, V, 3) vertex positions for those batch rows; `topo_key` identifies
    the topology (node path + integer config) so assembled topologies can be cached.
    """

    topo_key: tuple
    num_vertices: int
    face_offsets: torch.Tensor  # (F+1,) int64, CPU
    face_vertices: torch.Tensor  # (L,) int64, CPU
    build: Callable[[torch.Tensor], torch.Tensor]


@dataclass(eq=False)
class Xform:
    """A transform in a part's chain: `apply(vertices (V,B,3), cache) -> vertices (V,B,3)`.

    Chains work on whole batches in vertex-major layout: per-row values (B,3) then broadcast
    over the leading vertex axis, which torch vectorises far better than (B,V,3) with (B,1,3).
    """

    apply: Callable


@dataclass(frozen=True)
class Part:
    prim: Prim
    chain: tuple = ()  # Xforms, innermost first


@dataclass(frozen=True)
class Instance:
    geometry: "GeomStruct"
    chain: tuple = ()


@dataclass(frozen=True)
class GeomStruct:
    parts: tuple = ()  # mesh component, in Blender's vertex order
    instances: tuple = ()  # instances component, in order

    @property
    def num_points(self) -> int:
        return sum(p.prim.num_vertices for p in self.parts)

    def transformed(self, xform: Xform) -> "GeomStruct":
        return GeomStruct(
            tuple(Part(p.prim, p.chain + (xform,)) for p in self.parts),
            tuple(Instance(i.geometry, i.chain + (xform,)) for i in self.instances),
        )

    def realized(self) -> "GeomStruct":
        """Realize Instances: own mesh first, then every instance (recursively), in order."""
        parts = list(self.parts)
        for inst in self.instances:
            for p in inst.geometry.realized().parts:
                parts.append(Part(p.prim, p.chain + inst.chain))
        return GeomStruct(tuple(parts), ())


EMPTY = GeomStruct()


@dataclass
class Piecewise:
    """Geometry for a batch: rows (bool masks over the batch) -> structure."""

    pieces: list = field(default_factory=list)  # [(mask (B,) bool, GeomStruct)]

    @staticmethod
    def uniform(batch: int, struct: GeomStruct, device) -> "Piecewise":
        return Piecewise([(torch.ones(batch, dtype=torch.bool, device=device), struct)])

    def map(self, fn) -> "Piecewise":
        return Piecewise([(m, fn(s)) for m, s in self.pieces])

    def restrict(self, mask: torch.Tensor) -> "Piecewise":
        out = []
        for m, s in self.pieces:
            mm = m & mask
            if bool(mm.any()):
                out.append((mm, s))
        return Piecewise(out)

    def merged(self) -> "Piecewise":
        """Merge pieces with equal structure (keeps the order of first appearance)."""
        acc: dict = {}
        for m, s in self.pieces:
            acc[s] = acc[s] | m if s in acc else m
        return Piecewise([(m, s) for s, m in acc.items()])


def combine(pws: list, fn) -> Piecewise:
    """Pieces of several geometries intersected row-wise; fn(list of structs) -> struct."""
    result = [(None, [])]
    for pw in pws:
        nxt = []
        for mask, structs in result:
            for m, s in pw.pieces:
                mm = m if mask is None else (mask & m)
                if mask is None or bool(mm.any()):
                    nxt.append((mm, structs + [s]))
        result = nxt
    return Piecewise([(m, fn(ss)) for m, ss in result if m is not None]).merged()


def select(cond: torch.Tensor, if_true, if_false) -> Piecewise:
    """Geometry Switch: `if_true`/`if_false` are thunks, evaluated only when some row needs them."""
    pieces = []
    if bool(cond.any()):
        pieces += if_true().restrict(cond).pieces
    if bool((~cond).any()):
        pieces += if_false().restrict(~cond).pieces
    return Piecewise(pieces).merged()


def split_by(keys: torch.Tensor) -> list:
    """Rows grouped by equal integer keys (B, k) -> [(mask, tuple of python ints)]."""
    first = keys[0]
    same = (keys == first).all(dim=1)
    if bool(same.all()):  # the usual case (constant or shared counts): no sort needed
        return [(same, tuple(int(x) for x in first.tolist()))]
    uniq, inverse = torch.unique(keys, dim=0, return_inverse=True)
    return [(inverse == i, tuple(int(x) for x in uniq[i].tolist())) for i in range(uniq.shape[0])]


ALL = slice(None)  # "every row of the batch"


def part_vertices(part: Part, cache: dict) -> torch.Tensor:
    """(V, B, 3) vertices of a part for the whole batch (vertex-major).

    Vertices are computed once for the whole batch and every prefix of a transform chain is
    cached, so parts shared by several topology groups (or chain prefixes shared by several
    parts) cost one batched evaluation; a group then only gathers its rows.
    """
    return _chain_vertices(part.prim, part.chain, cache)


def _chain_vertices(prim: Prim, chain: tuple, cache: dict) -> torch.Tensor:
    key = (id(prim),) + tuple(id(x) for x in chain)
    if key not in cache:
        if chain:
            v = chain[-1].apply(_chain_vertices(prim, chain[:-1], cache), cache)
        else:
            v = prim.build(ALL).transpose(0, 1).contiguous()
        cache[key] = (prim, chain, v)  # keep the objects alive so ids stay unique while cached
    return cache[key][2]


def struct_points(struct: GeomStruct, cache: dict) -> torch.Tensor:
    """(P, B, 3) positions of the mesh vertices of a structure (used as points)."""
    verts = [part_vertices(p, cache) for p in struct.parts]
    return torch.cat(verts, dim=0) if verts else torch.zeros(0, 0, 3)


def gather_rows(parts: tuple, rows: torch.Tensor, cache: dict) -> torch.Tensor:
    """(b, V, 3) vertices of `parts` concatenated, for batch rows `rows`."""
    verts = torch.cat([part_vertices(p, cache).index_select(1, rows) for p in parts], dim=0)
    return verts.transpose(0, 1).contiguous()


@dataclass
class Topology:
    face_offsets: torch.Tensor  # (F+1,)
    face_vertices: torch.Tensor  # (L,)
    triangles: torch.Tensor  # (T,3)
    face_part: torch.Tensor  # (F,) part id per polygon
    triangle_face: torch.Tensor  # (T,) polygon per triangle
    num_vertices: int


def assemble_topology(parts: tuple) -> Topology:
    offsets, loops, face_part = [torch.zeros(1, dtype=torch.int64)], [], []
    vbase, lbase = 0, 0
    for pid, p in enumerate(parts):
        fo, fv = p.prim.face_offsets, p.prim.face_vertices
        offsets.append(fo[1:] + lbase)
        loops.append(fv + vbase)
        face_part.append(torch.full((fo.shape[0] - 1,), pid, dtype=torch.int64))
        vbase += p.prim.num_vertices
        lbase += int(fo[-1])
    face_offsets = torch.cat(offsets)
    face_vertices = torch.cat(loops) if loops else torch.zeros(0, dtype=torch.int64)
    fp = torch.cat(face_part) if face_part else torch.zeros(0, dtype=torch.int64)
    tris, tri_face = fan_triangulate(face_offsets, face_vertices)
    return Topology(face_offsets, face_vertices, tris, fp, tri_face, vbase)


def fan_triangulate(face_offsets: torch.Tensor, face_vertices: torch.Tensor):
    """Polygons -> triangles (l0, l_i, l_i+1); a quad gives (0,1,2),(0,2,3) as in Blender."""
    sizes = face_offsets[1:] - face_offsets[:-1]
    ntri = (sizes - 2).clamp(min=0)
    tri_face = torch.repeat_interleave(torch.arange(sizes.shape[0]), ntri)
    if tri_face.numel() == 0:
        return torch.zeros(0, 3, dtype=torch.int64), tri_face
    first = torch.repeat_interleave(torch.cumsum(ntri, 0) - ntri, ntri)
    local = torch.arange(tri_face.shape[0]) - first + 1  # i = 1..k-2
    start = face_offsets[tri_face]
    tris = torch.stack([start, start + local, start + local + 1], dim=1)
    return face_vertices[tris], tri_face
