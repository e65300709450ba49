"""Symbolic, batched geometry.

A batch of B parameter sets can produce different topologies (a Switch picks another branch,
a count changes). Geometry values are therefore *piecewise*: a list of (rows, structure)
pairs, where every row of a `Rows` set shares one structure. A structure is symbolic: it lists
the primitive meshes it is made of and, for each, the chain of transforms applied to it.
Vertex positions are only computed at the end: every primitive is linear in per-row
coefficients and every transform is affine, so each part reduces to a few per-row numbers
(a `CoefficientTable`), from which each topology's vertices are gathered in one pass.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch


def euler_to_matrix(euler: torch.Tensor) -> torch.Tensor:
    """(n,3) Euler XYZ radians -> (n,3,3) rotation matrices, R = Rz @ Ry @ Rx (Blender's)."""
    cx, cy, cz = torch.cos(euler).unbind(-1)
    sx, sy, sz = torch.sin(euler).unbind(-1)
    row0 = torch.stack([cy * cz, sy * sx * cz - cx * sz, sy * cx * cz + sx * sz], -1)
    row1 = torch.stack([cy * sz, sy * sx * sz + cx * cz, sy * cx * sz - sx * cz], -1)
    row2 = torch.stack([-sy, cy * sx, cy * cx], -1)
    return torch.stack([row0, row1, row2], -2)


_TOPO_IDS: dict = {}


@dataclass(eq=False)
class Prim:
    """One primitive node evaluation with a fixed topology.

    `linear()` returns its `primitives.Linear` for the whole batch (positions linear in per-row
    coefficients; rows of other topologies hold values that are never gathered); `topo_key`
    identifies the topology (node path + integer config) so assembled topologies can be cached.
    """

    topo_key: tuple
    num_vertices: int
    face_offsets: torch.Tensor  # (F+1,) int64, CPU
    face_vertices: torch.Tensor  # (L,) int64, CPU
    linear: Callable

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
    """A geometry's structure: mesh parts (in Blender's vertex order) and instances, in order.

    Immutable; hashed and compared often (pieces are merged by structure), so the hash is
    computed once.
    """

    __slots__ = ("parts", "instances", "_hash")

    def __init__(self, parts: tuple = (), instances: tuple = ()):
        self.parts, self.instances = parts, instances
        self._hash = hash((parts, instances))

    def __eq__(self, other) -> bool:
        return isinstance(other, GeomStruct) and self.parts == other.parts and self.instances == other.instances

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
            parts = tuple(p.then((xform,)) for p in self.parts)
        else:
            parts = []
            for p in self.parts:
                q = memo.get(p.key)
                if q is None:
                    q = memo[p.key] = p.then((xform,))
                parts.append(q)
            parts = tuple(parts)
        return GeomStruct(parts, tuple(Instance(i.geometry, i.chain + (xform,)) for i in self.instances))

    def realized(self) -> "GeomStruct":
        """Realize Instances: own mesh first, then every instance (recursively), in order."""
        parts = list(self.parts)
        for inst in self.instances:
            for p in inst.geometry.realized().parts:
                parts.append(p.then(inst.chain))
        return GeomStruct(tuple(parts), ())


EMPTY = GeomStruct()


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
                self._index = torch.from_numpy(np.flatnonzero(np.unpackbits(raw, count=self.n, bitorder="little")))
        return self._index if device is None else self._index.to(device)


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
    result = [(None, [])]
    for pw in pws:
        nxt = []
        for rows, structs in result:
            for m, s in pw.pieces:
                mm = m if rows is None else (rows & m)
                if mm.any():
                    nxt.append((mm, structs + [s]))
        result = nxt
    return Piecewise([(m, fn(ss)) for m, ss in result if m is not None]).merged()


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


# ---------------------------------------------------------------- affine chains
#
# Compositions are written as explicit element-wise products and sums (no matmul, no sum()
# reductions) so every batch row is computed by the same float operations in the same order
# whatever the batch size: a batch evaluates bitwise like its rows evaluated one at a time.
# A diagonal m is the (B,3,3) matrix with that diagonal; both forms give equal results for it
# (the extra terms are exact zeros), so batch-level choices between them cannot change a row.


def _mat_mat(a, b):
    """a @ b for m values (None, (B,3) diagonal, (B,3,3))."""
    if a is None:
        return b
    if b is None:
        return a
    if a.dim() == 2 and b.dim() == 2:
        return a * b
    if a.dim() == 3 and b.dim() == 2:
        return a * b[:, None, :]
    if a.dim() == 2:
        return a[:, :, None] * b
    return (a[:, :, 0, None] * b[:, None, 0, :] + a[:, :, 1, None] * b[:, None, 1, :]
            + a[:, :, 2, None] * b[:, None, 2, :])


def _mat_vec(m, t):
    """m @ t for t (B,3)."""
    if m is None:
        return t
    if m.dim() == 2:
        return m * t
    return m[:, :, 0] * t[:, 0, None] + m[:, :, 1] * t[:, 1, None] + m[:, :, 2] * t[:, 2, None]


def compose(outer: tuple, inner: tuple) -> tuple:
    """(m, t) of `outer` applied after `inner`."""
    m2, t2 = outer
    m1, t1 = inner
    t = None if t1 is None else _mat_vec(m2, t1)
    t = t2 if t is None else (t if t2 is None else t + t2)
    return _mat_mat(m2, m1), t


IDENTITY = (None, None)


def chain_affine(chain: tuple, cache: dict) -> tuple:
    """The composed (m, t) of a transform chain (innermost first); every prefix is cached, so
    chains sharing a prefix (parts of one node, pieces of one batch) compose it once."""
    if not chain:
        return IDENTITY
    key = ("chain",) + tuple(id(x) for x in chain)
    if key not in cache:
        cache[key] = (chain, compose(chain[-1].affine(cache), chain_affine(chain[:-1], cache)))
    return cache[key][1]


_TERMS: dict = {}


def _terms(lin, dtype, device) -> list:
    """The primitive's (table (V,3), coefficient) terms; scalar coefficients of tables using
    disjoint coordinates become one (B,3) coefficient (a cube or a cylinder is one term).
    The merge depends on the tables only (never on the values), so every batch size makes it."""
    inputs = lin.inputs
    key = (id(lin.topo), tuple(x.dim() for x in inputs), dtype, device)
    if key not in _TERMS:
        tables = lin.topo.tables
        used = [set(torch.nonzero(t.abs().sum(0)).flatten().tolist()) for t in tables]
        disjoint = all(not (used[a] & used[b]) for a in range(len(used)) for b in range(a))
        if len(tables) > 1 and disjoint and all(x.dim() == 1 for x in inputs):
            column_owner = [next((j for j, u in enumerate(used) if c in u), 0) for c in range(3)]
            plan = ("stack", column_owner, [sum(tables).to(device=device, dtype=dtype)])
        else:
            plan = ("terms", list(range(len(tables))), [t.to(device=device, dtype=dtype) for t in tables])
        _TERMS[key] = (lin.topo, plan)  # holds the topology: ids stay unique while cached
    kind, owners, tables = _TERMS[key][1]
    if kind == "stack":
        return [(tables[0], torch.stack([inputs[j] for j in owners], -1).to(dtype))]
    return [(t, inputs[j] if inputs[j].dtype == dtype else inputs[j].to(dtype)) for t, j in zip(tables, owners)]


def _linear(prim: Prim, cache: dict):
    key = ("linear", id(prim))
    if key not in cache:
        cache[key] = (prim, prim.linear())
    return cache[key][1]


def _row_terms(part: Part, cache: dict):
    """Per-row coefficients of a part: ([(table (V,3), e)], t) with e (B,3) for a diagonal
    chain or (B,3,3) otherwise and t (B,3) or None: vertex = sum_k e_k table_k + t."""
    lin = _linear(part.prim, cache)
    m, t = chain_affine(part.chain, cache)
    if lin.offset is not None:  # the primitive's own translation comes first
        t = compose((m, t), (None, lin.offset.to(lin.dtype)))[1]
    terms = []
    for table, c in _terms(lin, lin.dtype, lin.device):
        if m is None:
            e = c[:, None].expand(-1, 3) if c.dim() == 1 else c
        elif m.dim() == 2:
            e = m * (c[:, None] if c.dim() == 1 else c)
        else:
            e = m * (c[:, None, None] if c.dim() == 1 else c[:, None, :])
        terms.append((table, e if e.shape[0] == lin.n else e.expand((lin.n,) + tuple(e.shape[1:]))))
    return terms, (t if t is None or t.shape[0] == lin.n else t.expand(lin.n, 3))


class CoefficientTable:
    """Per-row coefficients of a set of parts side by side: C (B, N) and each part's layout.

    A vertex coordinate is a short sum over "slots": x[b, v, i] = sum_s C[b, a_s(v,i)] w_s(v,i)
    + C[b, t(v,i)] (a diagonal term is one slot, e_i * table[v, i]; a full 3x3 term is three,
    E_ij * table[v, j]). A piece's vertices are then gathered straight into their final
    (b, V*3) layout with one index_select and a multiply-add per slot, whose operands
    broadcast a (1, V*3) template over rows: no per-part work per piece, and no transposes.
    The last column of C is zero: unused slots and missing translations point at it.
    """

    def __init__(self, parts: list, cache: dict, batch: int, dtype, device):
        self.layout_of: dict = {}  # part key -> interned layout id
        columns, width = [], 0
        for p in parts:
            terms, t = _row_terms(p, cache)
            layout = []
            for table, e in terms:
                layout.append((width, table, e.dim() == 3))
                columns.append(e if e.dim() == 2 else e.reshape(e.shape[0], 9))
                width += columns[-1].shape[1]
            t_col = None
            if t is not None:
                t_col = width
                columns.append(t)
                width += 3
            self.layout_of[p.key] = _layout_id(tuple(layout), t_col)
        self.zero = width
        columns.append(_zero_column(cache, batch, dtype, device))
        self.table = torch.cat([c if c.dtype == dtype else c.to(dtype) for c in columns], dim=1)
        self.plan_key = (width, dtype, str(device))

    def vertices(self, parts: tuple, rows: torch.Tensor | None,
                 selected: torch.Tensor | None = None) -> torch.Tensor:
        """(b, V, 3) vertices of `parts` concatenated, for batch `rows` (None: every row), or for
        the rows of `selected` (rows of the table the caller gathered already)."""
        key = (tuple(self.layout_of[p.key] for p in parts),) + self.plan_key
        plan = _PLANS.get(key)
        if plan is None:
            plan = _PLANS[key] = _gather_plan(key[0], self.zero, self.table.dtype, self.table.device)
        idx, weights, has_t, nv = plan
        if selected is not None:
            c = selected
        else:
            c = self.table if rows is None else self.table.index_select(0, rows)
        if nv == 0:
            return c.new_zeros(c.shape[0], 0, 3)
        g = c.index_select(1, idx).view(c.shape[0], len(weights) + has_t, 3 * nv).unbind(1)
        x = g[0] * weights[0]  # a fresh tensor: the sums below go in place (same ops, no temporaries)
        for s in range(1, len(weights)):
            x += g[s] * weights[s]
        if has_t:
            x += g[-1]
        return x.view(c.shape[0], nv, 3)


def _zero_column(cache: dict, batch: int, dtype, device) -> torch.Tensor:
    zero = cache.get("zero column")
    if zero is None:
        zero = cache["zero column"] = torch.zeros(batch, 1, dtype=dtype, device=device)
    return zero


_LAYOUTS: list = []  # interned part layouts: ((column, table, full) per term, translation column)
_LAYOUT_IDS: dict = {}
_PLANS: dict = {}


def _layout_id(layout: tuple, t_col) -> int:
    key = (tuple((o, id(tb), full) for o, tb, full in layout), t_col)
    if key not in _LAYOUT_IDS:
        _LAYOUT_IDS[key] = len(_LAYOUTS)
        _LAYOUTS.append((layout, t_col))  # holds the tables: ids stay unique
    return _LAYOUT_IDS[key]


def _gather_plan(layout_ids: tuple, zero: int, dtype, device):
    """(column index (S or S+1, V*3) flattened, S slot weights (V*3,), has translation, V) of a
    piece made of parts with these layouts (cached by the caller: structures recur every call)."""
    layouts = [_LAYOUTS[i] for i in layout_ids]
    slots_of = []  # per part: [(column (V,3) array, weight (V,3) array)]
    for lay, _ in layouts:
        slots = []
        for o, table, full in lay:
            tb = table.detach().cpu().double().numpy()
            comp = np.arange(3)[None, :].repeat(tb.shape[0], 0)
            if full:
                for j in range(3):
                    slots.append((o + comp * 3 + j, np.repeat(tb[:, j:j + 1], 3, 1)))
            else:
                slots.append((o + comp, tb))
        slots_of.append(slots)
    nslots = max([len(sl) for sl in slots_of] + [1])
    has_t = any(t is not None for _, t in layouts)
    idx, weights = [], []
    for (lay, t), slots in zip(layouts, slots_of):
        nv = lay[0][1].shape[0] if lay else 0
        comp = np.arange(3)[None, :].repeat(nv, 0)
        cols = [sl[0] for sl in slots] + [np.full((nv, 3), zero)] * (nslots - len(slots))
        ws = [sl[1] for sl in slots] + [np.zeros((nv, 3))] * (nslots - len(slots))
        if has_t:
            cols.append(t + comp if t is not None else np.full((nv, 3), zero))
        idx.append(np.stack([c.reshape(-1) for c in cols]))
        weights.append(np.stack([w.reshape(-1) for w in ws]))
    idx = np.concatenate(idx, axis=1)
    weights = torch.as_tensor(np.concatenate(weights, axis=1), dtype=dtype, device=device)
    return (torch.as_tensor(idx.reshape(-1), dtype=torch.int64, device=device), tuple(weights.unbind(0)),
            has_t, idx.shape[1] // 3)


def part_vertices(part: Part, cache: dict) -> torch.Tensor:
    """(B, V, 3) vertices of one part for the whole batch (cached per evaluation)."""
    key = ("part",) + part.key
    if key not in cache:
        lin = _linear(part.prim, cache)
        table = CoefficientTable([part], cache, lin.n, lin.dtype, lin.device)
        cache[key] = (part, table.vertices((part,), None))
    return cache[key][1]


def struct_points(struct: GeomStruct, cache: dict) -> torch.Tensor:
    """(B, P, 3) positions of the mesh vertices of a structure (used as points)."""
    verts = [part_vertices(p, cache) for p in struct.parts]
    return torch.cat(verts, dim=1) if verts else torch.zeros(0, 0, 3)


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
