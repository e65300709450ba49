"""Geometry values: primitives, transform chains, parts, structures, and the piecewise
(rows -> structure) form a batch's geometry takes (see the package docstring)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..fields import polygon_edges


def euler_to_matrix(euler: torch.Tensor) -> torch.Tensor:
    """(n,3) Euler XYZ radians -> (n,3,3) rotation matrices, R = Rz @ Ry @ Rx, computed as
    Blender 4.2 does for its Rotation sockets: the Euler angles to a quaternion in the input's
    precision (math::to_quaternion), the quaternion to a matrix in double precision
    (math::from_rotation), rounded back. The rounding decides on which side of zero a point
    turned by a quarter turn lands (cos 90 degrees comes out as 3.4e-8), which comparisons
    with positions see."""
    half = euler * 0.5
    ci, cj, ch = torch.cos(half).unbind(-1)
    si, sj, sh = torch.sin(half).unbind(-1)
    cc, cs, sc, ss = ci * ch, ci * sh, si * ch, si * sh
    quat = torch.stack([cj * cc + sj * ss, cj * sc - sj * cs, cj * ss + sj * cc, cj * cs - sj * sc], -1)
    q0, q1, q2, q3 = (quat.double() * math.sqrt(2.0)).unbind(-1)
    qda, qdb, qdc = q0 * q1, q0 * q2, q0 * q3
    qaa, qab, qac, qbb, qbc, qcc = q1 * q1, q1 * q2, q1 * q3, q2 * q2, q2 * q3, q3 * q3
    row0 = torch.stack([1.0 - qbb - qcc, -qdc + qab, qdb + qac], -1)
    row1 = torch.stack([qdc + qab, 1.0 - qaa - qcc, -qda + qbc], -1)
    row2 = torch.stack([-qdb + qac, qda + qbc, 1.0 - qaa - qbb], -1)
    return torch.stack([row0, row1, row2], -2).to(euler.dtype)


_TOPO_IDS: dict = {}


@dataclass(eq=False)
class Prim:
    """One primitive node evaluation with a fixed topology, or a dense mesh (`dense` set).

    `linear()` returns its `primitives.Linear` for the whole batch (positions linear in per-row
    coefficients; rows of other topologies hold values that are never gathered); `topo_key`
    identifies the topology (node path + integer config) so assembled topologies can be cached.
    """

    topo_key: tuple
    num_vertices: int
    face_offsets: torch.Tensor  # (F+1,) int64, CPU
    face_vertices: torch.Tensor  # (L,) int64, CPU
    linear: Callable | None
    # A dense primitive (geometry.dense): positions given per row, no longer linear.
    dense: torch.Tensor | None = None  # (B, V, 3) for the whole batch (rows of other pieces unused)
    attributes: dict = field(default_factory=dict)  # name -> (domain, (B, N, ...) values)
    face_part: torch.Tensor | None = None  # (F,) part of each face among the primitives it was made of
    num_parts: int = 1
    # (E, 2) int64 CPU: the edges (loose ones included) in the order EDGE attributes use, Blender's
    # when `edges_known`; None: the polygons' edges (fields.polygon_edges), order not modelled.
    edges: torch.Tensor | None = None
    edges_known: bool = True
    # (V, 3) float64 CPU: vertex normals the primitive comes with (Blender's UV Sphere assigns its
    # normalized positions); None: computed from the faces. Kept while positions only translate.
    vertex_normals: torch.Tensor | None = None

    def __post_init__(self):
        # A small int standing for topo_key: topology lookups hash ints, not nested tuples.
        self.topo_id = _TOPO_IDS.setdefault(self.topo_key, len(_TOPO_IDS))


@dataclass(eq=False)
class Xform:
    """A transform in a part's chain, affine per batch row: p' = m p + t.

    `affine(cache)` returns (m, t): m is None (identity), (B,3) (a diagonal: per-axis scale) or
    (B,3,3); t is None or (B,3). A part's chain is composed into one affine (and folded into
    the primitive's coefficients) before any vertex is touched, so a chain of n transforms costs
    a few (B,3)-sized ops instead of n passes over the vertices.
    """

    affine: Callable


class Part:
    """A primitive and the chain of transforms applied to it (innermost first).

    Equal when made of the same objects; `key` (ids of those objects) and the hash are
    computed once, since parts are compared and looked up many times per evaluation.
    """

    __slots__ = ("prim", "chain", "key", "_hash")

    def __init__(self, prim: Prim, chain: tuple = (), key: tuple | None = None):
        self.prim, self.chain = prim, chain
        self.key = key if key is not None else (id(prim),) + tuple(id(x) for x in chain)
        self._hash = hash(self.key)

    def then(self, xforms: tuple) -> "Part":
        """This part with more transforms applied after its chain."""
        ids = (id(xforms[0]),) if len(xforms) == 1 else tuple(id(x) for x in xforms)
        return Part(self.prim, self.chain + xforms, self.key + ids)

    def __eq__(self, other) -> bool:
        return isinstance(other, Part) and self.key == other.key

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"Part({self.prim.topo_key!r}, {len(self.chain)} transforms)"


@dataclass(frozen=True)
class Instance:
    geometry: "GeomStruct"
    chain: tuple = ()


class GeomStruct:
    """A geometry's structure: mesh parts (in Blender's vertex order), instances, in order, curve
    parts (the curves component: parts whose prim is a `curves.CurvePrim`, in order) and point
    cloud parts (the point cloud component: face-less dense prims, in order; Mesh to Points and
    Curve to Points make them). The result mesh of a program is the mesh component only.

    Immutable; hashed and compared often (pieces are merged by structure), so the hash is
    computed once.
    """

    __slots__ = ("parts", "instances", "curves", "points", "_hash")

    def __init__(self, parts: tuple = (), instances: tuple = (), curves: tuple = (), points: tuple = ()):
        self.parts, self.instances, self.curves, self.points = parts, instances, curves, points
        self._hash = hash((parts, instances, curves, points))

    def __eq__(self, other) -> bool:
        return (isinstance(other, GeomStruct) and self.parts == other.parts and self.instances == other.instances
                and self.curves == other.curves and self.points == other.points)

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"GeomStruct({len(self.parts)} parts, {len(self.instances)} instances)"

    @property
    def num_points(self) -> int:
        return sum(p.prim.num_vertices for p in self.parts)

    def transformed(self, xform: Xform, memo: dict | None = None) -> "GeomStruct":
        """Every part and instance with `xform` applied last. `memo` (part key -> transformed
        part) lets the pieces of one batch, which mostly share parts, transform each part once."""
        if memo is None:
            memo = {}
        get, xs, ids = memo.get, (xform,), (id(xform),)
        parts = []
        for p in self.parts + self.curves + self.points if self.curves or self.points else self.parts:
            q = get(p.key)
            if q is None:  # p.then(xs), inlined (structures are transformed many times per evaluation)
                q = memo[p.key] = Part(p.prim, p.chain + xs, p.key + ids)
            parts.append(q)
        if not (self.instances or self.curves or self.points):
            return GeomStruct(tuple(parts))
        n, c = len(self.parts), len(self.parts) + len(self.curves)
        return GeomStruct(tuple(parts[:n]), tuple(Instance(i.geometry, i.chain + (xform,)) for i in self.instances),
                          tuple(parts[n:c]), tuple(parts[c:]))

    def realized(self) -> "GeomStruct":
        """Realize Instances: own mesh first, then every instance (recursively), in order; point
        clouds likewise; curves after the instances' curves (Blender gathers a geometry's
        components in type order: mesh, point cloud, instances, ..., curves)."""
        parts, curves, points = list(self.parts), [], list(self.points)
        for inst in self.instances:
            inner = inst.geometry.realized()
            for p in inner.parts:
                parts.append(p.then(inst.chain))
            for p in inner.curves:
                curves.append(p.then(inst.chain))
            for p in inner.points:
                points.append(p.then(inst.chain))
        return GeomStruct(tuple(parts), (), tuple(curves) + self.curves, tuple(points))


EMPTY = GeomStruct()


def prim_edges(prim: Prim) -> torch.Tensor:
    """(E, 2) the edges of a mesh primitive, in the order its EDGE attributes use."""
    if prim.edges is not None:
        return prim.edges
    return polygon_edges(prim.face_offsets, prim.face_vertices, prim.num_vertices)


def edges_known(prim: Prim) -> bool:
    """Whether the primitive's edges are in Blender's order."""
    return prim.edges is not None and prim.edges_known


def corner_edges(fo, fv, edges, nv) -> np.ndarray:
    """(L,) the edge (row of `edges`) of each corner: from its point to the next one."""
    nxt = np.arange(fv.shape[0]) + 1
    ends = np.repeat(fo[1:], np.diff(fo))
    starts = np.repeat(fo[:-1], np.diff(fo))
    nxt = np.where(nxt == ends, starts, nxt)
    a, b = fv, fv[nxt]
    keys = np.minimum(a, b) * max(nv, 1) + np.maximum(a, b)
    edge_keys = edges.min(1) * max(nv, 1) + edges.max(1)
    order = np.argsort(edge_keys)
    return order[np.searchsorted(edge_keys[order], keys)]


class Rows:
    """A set of batch rows, as a python int bitset (bit i = row i).

    Which rows take which topology is bookkeeping on the host: intersections, unions and
    emptiness tests of these sets cost nanoseconds here, where bool-tensor ops cost a dispatch
    (and, on a GPU, a sync) each. Tensors are made only for the final row indices.
    """

    __slots__ = ("bits", "n", "_index")

    def __init__(self, bits: int, n: int):
        self.bits, self.n, self._index = bits, n, None

    @staticmethod
    def every(n: int) -> "Rows":
        return Rows((1 << n) - 1, n)

    @staticmethod
    def from_mask(mask: torch.Tensor) -> "Rows":
        """Rows where a (n,) bool tensor is true."""
        return Rows.from_numpy(mask.detach().cpu().numpy())

    @staticmethod
    def from_numpy(mask: np.ndarray) -> "Rows":
        packed = np.packbits(mask.astype(bool, copy=False), bitorder="little")
        return Rows(int.from_bytes(packed.tobytes(), "little"), mask.shape[0])

    def __and__(self, other: "Rows") -> "Rows":
        return Rows(self.bits & other.bits, self.n)

    def __or__(self, other: "Rows") -> "Rows":
        return Rows(self.bits | other.bits, self.n)

    def __invert__(self) -> "Rows":
        return Rows(((1 << self.n) - 1) ^ self.bits, self.n)

    def any(self) -> bool:
        return self.bits != 0

    def all(self) -> bool:
        return self.bits == (1 << self.n) - 1

    def first(self) -> int:
        return (self.bits & -self.bits).bit_length() - 1

    def index(self, device=None) -> torch.Tensor:
        """(count,) int64 row indices, ascending."""
        if self._index is None:
            if self.all():
                self._index = torch.arange(self.n)
            else:
                raw = np.frombuffer(self.bits.to_bytes((self.n + 7) // 8, "little"), dtype=np.uint8)
                self._index = torch.from_numpy(np.flatnonzero(  # (on bools: numpy's fast count of set bytes)
                    np.unpackbits(raw, count=self.n, bitorder="little").view(np.bool_)))
        return self._index if device is None else self._index.to(device)

    @staticmethod
    def indexes(sets: list, device=None) -> tuple:
        """(concatenated, each): the row indices of every set of `sets` (of one batch), one set
        after another in one (total,) int64 tensor, and each set's as a view of it: what
        `index` gives per set, unpacked in one numpy pass instead of one per set."""
        n = sets[0].n
        width = (n + 7) // 8
        raw = np.frombuffer(b"".join(r.bits.to_bytes(width, "little") for r in sets), dtype=np.uint8)
        bits = np.unpackbits(raw.reshape(len(sets), width), axis=1, count=n, bitorder="little")
        # Set bits of the flattened (sets, n) array, in order, less each set's start: several
        # times faster than the 2-d nonzero's column indices (the same values).
        concatenated = torch.from_numpy((np.flatnonzero(bits.view(np.bool_)) % n).astype(np.int64, copy=False))
        if device is not None:
            concatenated = concatenated.to(device)
        return concatenated, concatenated.split_with_sizes([r.bits.bit_count() for r in sets])


@dataclass
class Piecewise:
    """Geometry for a batch: sets of rows -> structure."""

    pieces: list = field(default_factory=list)  # [(Rows, GeomStruct)]

    @staticmethod
    def uniform(batch: int, struct: GeomStruct, device=None) -> "Piecewise":
        return Piecewise([(Rows.every(batch), struct)])

    def map(self, fn) -> "Piecewise":
        return Piecewise([(m, fn(s)) for m, s in self.pieces])

    def restrict(self, rows: Rows) -> "Piecewise":
        out = []
        for m, s in self.pieces:
            mm = m & rows
            if mm.any():
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
    if not pws:
        return Piecewise([])
    # On the row sets' bits (Rows & and any(), inlined: joins run this many times per evaluation).
    result = [(m.bits, [s]) for m, s in pws[0].pieces if m.bits]
    for pw in pws[1:]:
        nxt = []
        for bits, structs in result:
            for m, s in pw.pieces:
                both = bits & m.bits
                if both:
                    nxt.append((both, structs + [s]))
        result = nxt
    n = pws[0].pieces[0][0].n if result else 0
    return Piecewise([(Rows(bits, n), fn(ss)) for bits, ss in result]).merged()


def select(cond: torch.Tensor, if_true, if_false) -> Piecewise:
    """Geometry Switch: `if_true`/`if_false` are thunks, evaluated only when some row needs them."""
    yes = Rows.from_mask(cond)
    no = ~yes
    pieces = []
    if yes.any():
        pieces += if_true().restrict(yes).pieces
    if no.any():
        pieces += if_false().restrict(no).pieces
    return Piecewise(pieces).merged()


def split_by(keys: torch.Tensor) -> list:
    """Rows grouped by equal integer keys (B, k) -> [(Rows, tuple of python ints)]."""
    k = keys.detach().cpu().numpy()
    if (k == k[0]).all():  # the usual case (constant or shared counts): no sort needed
        return [(Rows.every(k.shape[0]), tuple(int(x) for x in k[0]))]
    uniq, inverse = np.unique(k, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [(Rows.from_numpy(inverse == i), tuple(int(x) for x in uniq[i]))
            for i in range(uniq.shape[0])]
