"""Fields: values per geometry element, evaluated lazily where a node needs them.

A `Field` is a function of a `FieldContext`: one piece of a batch's geometry (b rows sharing a
topology, their (b, V, 3) positions, attributes) and a domain (POINT, EDGE, FACE, CORNER) with
N elements. It returns a *flat* tensor of b*N values, row-major (row r's elements are
[r*N, (r+1)*N)): FLOAT (b*N,), INT (b*N,) int64, BOOLEAN (b*N,) bool, VECTOR (b*N, 3). Single
values are (B,) / (B, 3) tensors over the whole batch, so a node function written for single
values computes a field's values unchanged: `lift` applies it to fields element-wise, with
single-value inputs repeated over the elements (`FieldContext.value`).

Input fields (Position, Normal, attributes) hold data on their own domain and are moved to the
context's domain by Blender's interpolation (`interpolate`): a face's value from its points is
their mean (booleans: all of them), a point's value from its faces or corners is their mean
(booleans: any of them), a corner takes its point's or its face's value.
"""
from __future__ import annotations

import math

import torch

DOMAINS = ("POINT", "EDGE", "FACE", "CORNER")


class Field:
    """A value per element: fn(FieldContext) -> flat (b*N, ...) tensor on the context's domain."""

    __slots__ = ("fn", "__weakref__")

    def __init__(self, fn):
        self.fn = fn

    def evaluate(self, ctx: "FieldContext"):
        hit = ctx.cache.get(id(self))
        if hit is None:
            hit = ctx.cache[id(self)] = (self, self.fn(ctx))  # holds the field: ids stay unique
        return hit[1]

    def __repr__(self) -> str:
        return "Field()"


def is_field(value) -> bool:
    return type(value) is Field


def lift(fn, *args):
    """fn(*args), or a Field computing it per element when an argument is a Field."""
    for a in args:
        if type(a) is Field:
            return Field(lambda ctx: fn(*(ctx.value(x) for x in args)))
    return fn(*args)


def lifted(fn):
    """fn taking fields as well as single values (see `lift`)."""

    def g(*args):
        for a in args:
            if type(a) is Field:
                return Field(lambda ctx: fn(*(ctx.value(x) for x in args)))
        return fn(*args)

    return g


class MeshData:
    """The mesh a field is evaluated on: (b, V, 3) positions of the context's rows, polygons,
    attributes {name: (domain, (b, N, ...) values)} and, where given, the (E, 2) edges in the
    order EDGE attributes use (else the polygons' edges); `edges_known`: they are given and in
    Blender's order. Derived arrays are computed once. `curves`: the control points of a curves
    component (no faces; its normals are not these: `curve_normals`, where given, makes its
    control points' (b, P, 3) normals)."""

    def __init__(self, positions: torch.Tensor, face_offsets: torch.Tensor, face_vertices: torch.Tensor,
                 attributes: dict | None = None, edges: torch.Tensor | None = None, edges_known: bool = True,
                 curves: bool = False, curve_normals=None):
        self.positions, self.face_offsets, self.face_vertices = positions, face_offsets, face_vertices
        self.curves, self.curve_normals = curves, curve_normals
        self.attributes = attributes or {}
        self._derived: dict = {}
        self.edges_known = edges is not None and edges_known
        if edges is not None:
            self._derived["edges"] = edges.to(face_offsets.device)

    @property
    def num_points(self) -> int:
        return self.positions.shape[1]

    @property
    def num_faces(self) -> int:
        return self.face_offsets.shape[0] - 1

    def size(self, domain: str) -> int:
        if domain == "POINT":
            return self.num_points
        if domain == "FACE":
            return self.num_faces
        if domain == "CORNER":
            return self.face_vertices.shape[0]
        if domain == "EDGE":
            return self.edges().shape[0]
        raise ValueError(f"no domain {domain}")

    def derived(self, name: str, make):
        if name not in self._derived:
            self._derived[name] = make()
        return self._derived[name]

    def corner_face(self) -> torch.Tensor:
        """(L,) the face of each corner."""
        def make():
            sizes = self.face_offsets[1:] - self.face_offsets[:-1]
            return torch.repeat_interleave(torch.arange(sizes.shape[0], device=sizes.device), sizes)
        return self.derived("corner_face", make)

    def corner_next(self) -> torch.Tensor:
        """(L,) the next corner of the same face (cyclic)."""
        def make():
            fo, cf = self.face_offsets, self.corner_face()
            idx = torch.arange(self.face_vertices.shape[0], device=fo.device) + 1
            return torch.where(idx == fo[1:][cf], fo[:-1][cf], idx)
        return self.derived("corner_next", make)

    def corner_prev(self) -> torch.Tensor:
        def make():
            fo, cf = self.face_offsets, self.corner_face()
            idx = torch.arange(self.face_vertices.shape[0], device=fo.device) - 1
            return torch.where(idx < fo[:-1][cf], fo[1:][cf] - 1, idx)
        return self.derived("corner_prev", make)

    def edges(self) -> torch.Tensor:
        """(E, 2) the edges: Blender's where known, else the polygons' (see `polygon_edges`)."""
        return self.derived("edges", lambda: polygon_edges(self.face_offsets, self.face_vertices, self.num_points))

    def face_normals(self) -> torch.Tensor:
        """(b, F, 3) Blender 4.2's face normals (normals_calc_faces: normal_calc_ngon for every
        face, the normals fields and vertex normals read), in its float32 order: Newell's method
        summed corner by corner from the last corner, times the reciprocal length; a degenerate
        face gets +Z. (Python's polygon.normal is another function, face_normal_calc, with
        triangle and quad formulas.)"""
        return self.derived("face_normals", lambda: face_normals(self.positions, self.face_offsets,
                                                                 self.face_vertices))

    def vertex_normals(self) -> torch.Tensor:
        """(b, V, 3) Blender's vertex normals (4.2's normals_calc_verts): face normals weighted by
        the corner angles (its approximate acos); a vertex without faces gets its normalized
        position."""
        def make():
            p = self.positions
            fv = self.face_vertices
            cur = p[:, fv]
            to_prev = _normalized(p[:, fv[self.corner_prev()]] - cur)
            to_next = _normalized(p[:, fv[self.corner_next()]] - cur)
            angle = safe_acos_approx((to_prev * to_next).sum(-1))
            weighted = self.face_normals()[:, self.corner_face()] * angle[..., None]
            n = torch.zeros_like(p).index_add(1, fv, weighted)
            loose = torch.ones(p.shape[1], dtype=torch.bool, device=p.device).index_fill(0, fv, False)
            return torch.where(loose[None, :, None], _normalized(p), _normalized(n))
        return self.derived("vertex_normals", make)


def sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrtf correctly rounded, as Blender's: torch's vectorized float32 sqrt is off by one ulp
    for some inputs (about 0.7% of them), so float32 goes through float64 (exactly rounded back)."""
    if x.dtype == torch.float32:
        return torch.sqrt(x.double()).float()
    return torch.sqrt(x)


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """`sqrt` with 0 at and below 0 and a zero gradient there: torch's infinite slope at 0 would
    turn the zero gradient of an unused branch (torch.where) into NaN."""
    pos = x > 0
    return torch.where(pos, sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def _length_squared(v: torch.Tensor) -> torch.Tensor:
    return (v[..., 0] * v[..., 0] + v[..., 1] * v[..., 1]) + v[..., 2] * v[..., 2]


def _newell_term(prev: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
    return torch.stack([(prev[..., 1] - cur[..., 1]) * (prev[..., 2] + cur[..., 2]),
                        (prev[..., 2] - cur[..., 2]) * (prev[..., 0] + cur[..., 0]),
                        (prev[..., 0] - cur[..., 0]) * (prev[..., 1] + cur[..., 1])], -1)


def face_normals(p: torch.Tensor, face_offsets: torch.Tensor, face_vertices: torch.Tensor) -> torch.Tensor:
    """(b, V, 3) positions -> (b, F, 3) Blender's face normals (see MeshData.face_normals)."""
    sizes = face_offsets[1:] - face_offsets[:-1]
    start = face_offsets[:-1]
    n = p.new_zeros(p.shape[0], sizes.shape[0], 3)
    if sizes.shape[0] == 0:
        return n
    prev = p[:, face_vertices[face_offsets[1:] - 1]]
    for k in range(min(3, int(sizes.max()))):  # add_newell_cross_v3_v3v3, corner by corner: every face
        cur = p[:, face_vertices[start + torch.clamp(sizes - 1, max=k)]]
        n = n + _newell_term(prev, cur)
        prev = cur
    for k in range(3, int(sizes.max())):  # then the faces that have a corner k
        faces = torch.nonzero(sizes > k).reshape(-1)
        first = start.index_select(0, faces)
        n = n.index_add(1, faces, _newell_term(p[:, face_vertices[first + k - 1]], p[:, face_vertices[first + k]]))
    d = _length_squared(n)
    ok = d > 1e-35
    unit = n * (1.0 / sqrt(torch.where(ok, d, torch.ones_like(d))))[..., None]  # normalize_v3
    return torch.where(ok[..., None], unit, torch.tensor([0.0, 0.0, 1.0], dtype=p.dtype, device=p.device))


_EDGES: dict = {}


def polygon_edges(face_offsets: torch.Tensor, face_vertices: torch.Tensor, num_points: int) -> torch.Tensor:
    """(E, 2) the edges of the polygons, each once (low vertex first), in order of first use, a
    face's closing edge (last corner -> first) first: BKE_mesh_calc_edges' order for a mesh of
    under 1000 faces (see `calc_edges`); only a guess at Blender's order for other meshes."""
    key = (face_offsets.data_ptr(), face_vertices.data_ptr(), face_vertices.shape[0], num_points)
    hit = _EDGES.get(key)
    if hit is not None and hit[0] is face_offsets and hit[1] is face_vertices:
        return hit[2]
    sizes = face_offsets[1:] - face_offsets[:-1]
    corner_face = torch.repeat_interleave(torch.arange(sizes.shape[0], device=sizes.device), sizes)
    idx = torch.arange(face_vertices.shape[0], device=face_vertices.device) - 1
    prev = torch.where(idx < face_offsets[:-1][corner_face], face_offsets[1:][corner_face] - 1, idx)
    a, b = face_vertices[prev], face_vertices
    lo, hi = torch.minimum(a, b), torch.maximum(a, b)
    key_ = lo * max(num_points, 1) + hi
    uniq, inverse = torch.unique(key_, return_inverse=True)
    first = torch.full((uniq.shape[0],), key_.shape[0], dtype=torch.int64, device=key_.device)
    first = first.scatter_reduce(0, inverse, torch.arange(key_.shape[0], device=key_.device), "amin")
    edges = torch.stack([lo, hi], 1)[first.sort().values]
    _EDGES[key] = (face_offsets, face_vertices, edges)  # holds the arrays: the pointers stay theirs
    return edges


def calc_edges(face_offsets: torch.Tensor, face_vertices: torch.Tensor, num_points: int) -> torch.Tensor | None:
    """The edges Blender's BKE_mesh_calc_edges makes from polygons (mesh_calc_edges.cc): one hash
    set of (low, high) pairs filled corner by corner (edge last corner -> corner first), in
    insertion order. From 1000 faces on Blender splits them over up to 8 sets by the low vertex,
    as many as the machine has threads, so the order depends on the machine: None (not modelled)."""
    if face_offsets.shape[0] - 1 >= 1000:
        return None
    return polygon_edges(face_offsets, face_vertices, num_points)


def safe_acos_approx(x: torch.Tensor) -> torch.Tensor:
    """Blender's math::safe_acos_approx (BLI_math_base.hh), the angle its vertex normals use:
    a polynomial within 4.5e-5 of acos, exactly 0 / pi beyond +-1."""
    f = torch.abs(x)
    m = torch.where(f < 1.0, 1.0 - (1.0 - f), torch.ones_like(f))
    a = sqrt(1.0 - m) * (1.5707963267 + m * (-0.213300989 + m * (0.077980478 + m * -0.02164095)))
    return torch.where(x < 0.0, math.pi - a, a)


def _normalized(v: torch.Tensor, fallback=None) -> torch.Tensor:
    """v / |v| per row of the last axis; zero vectors give `fallback` (zeros by default)."""
    length = safe_sqrt(_length_squared(v)[..., None])
    ok = length > 0
    out = v / torch.where(ok, length, torch.ones_like(length))
    if fallback is None:
        return torch.where(ok, out, torch.zeros_like(out))
    return torch.where(ok, out, fallback.expand_as(out))


class FieldContext:
    """Where fields are evaluated: batch rows `rows` ((b,) indices into the batch), a mesh of
    those rows, and a domain."""

    def __init__(self, mesh: MeshData, rows: torch.Tensor, domain: str):
        self.mesh, self.rows, self.domain = mesh, rows, domain
        self.b = rows.shape[0]
        self.n = mesh.size(domain)
        self.cache: dict = {}

    def value(self, x):
        """A flat per-element tensor of a Field or a single value (other values as they are)."""
        if type(x) is Field:
            return x.evaluate(self)
        if isinstance(x, torch.Tensor):
            hit = self.cache.get(id(x))
            if hit is None:
                rows = x.index_select(0, self.rows) if x.shape[0] != 1 else x.expand((self.b,) + x.shape[1:])
                flat = rows.repeat_interleave(self.n, dim=0)
                hit = self.cache[id(x)] = (x, flat)
            return hit[1]
        return x

    def grid(self, x) -> torch.Tensor:
        """`value(x)` shaped (b, N, ...)."""
        v = self.value(x)
        return v.reshape((self.b, self.n) + tuple(v.shape[1:]))

    def from_domain(self, values: torch.Tensor, domain: str) -> torch.Tensor:
        """(b, N_src, ...) values on `domain` -> flat values on the context's domain."""
        out = interpolate(self.mesh, values, domain, self.domain)
        return out.reshape((self.b * self.n,) + tuple(out.shape[2:]))


def interpolate(mesh: MeshData, values: torch.Tensor, src: str, dst: str) -> torch.Tensor:
    """(b, N_src, ...) -> (b, N_dst, ...), Blender's adaptation of attributes between domains."""
    if src == dst:
        return values
    if src in ("FACE", "EDGE") and dst in ("FACE", "EDGE"):  # Blender goes through the points
        return interpolate(mesh, interpolate(mesh, values, src, "POINT"), "POINT", dst)
    if dst == "CORNER":
        index = mesh.face_vertices if src == "POINT" else mesh.corner_face() if src == "FACE" else None
        if index is None:
            raise NotImplementedError(f"interpolation from {src} to CORNER")
        return values.index_select(1, index)
    if src == "CORNER":
        target = mesh.face_vertices if dst == "POINT" else mesh.corner_face() if dst == "FACE" else None
        if target is None:
            return interpolate(mesh, interpolate(mesh, values, "CORNER", "POINT"), "POINT", dst)
        return mix_groups(values, target, mesh.size(dst), any_true=dst == "POINT")
    if src == "POINT":
        if dst == "FACE":
            return mix_groups(values.index_select(1, mesh.face_vertices), mesh.corner_face(), mesh.num_faces,
                        any_true=False)
        edges = mesh.edges()  # EDGE
        a, b = values.index_select(1, edges[:, 0]), values.index_select(1, edges[:, 1])
        if values.dtype == torch.bool:
            return a & b
        if not values.is_floating_point():
            return _round_mean((a.double() + b.double()) * 0.5, values.dtype)
        return (a + b) * 0.5
    if src == "FACE":  # -> POINT: each face's value at each of its corners' points
        return mix_groups(values.index_select(1, mesh.corner_face()), mesh.face_vertices, mesh.num_points, any_true=True)
    edges = mesh.edges()  # EDGE -> POINT
    both = torch.cat([values, values], 1)
    return mix_groups(both, torch.cat([edges[:, 0], edges[:, 1]]), mesh.num_points, any_true=True)


def _round_mean(v: torch.Tensor, dtype) -> torch.Tensor:
    """std::round: halves away from zero (Blender's mixing of ints)."""
    return (torch.sign(v) * torch.floor(torch.abs(v) + 0.5)).to(dtype)


def mix_groups(values: torch.Tensor, target: torch.Tensor, size: int, any_true: bool) -> torch.Tensor:
    """Values (b, K, ...) gathered into `size` groups by target (K,): the mean of each group
    (0 for an empty one); booleans: any (any_true) or all of the group."""
    b = values.shape[0]
    if values.dtype == torch.bool:
        shape = (b, size) + tuple(values.shape[2:])
        hits = torch.zeros(shape, dtype=torch.int64, device=values.device)
        hits = hits.index_add(1, target, values.to(torch.int64))
        if any_true:
            return hits > 0
        count = torch.zeros(size, dtype=torch.int64, device=values.device).index_add(
            0, target, torch.ones_like(target))
        return (hits == count.view((1, size) + (1,) * (values.dim() - 2))) & (count > 0).view(
            (1, size) + (1,) * (values.dim() - 2))
    work = values if values.is_floating_point() else values.double()
    total = torch.zeros((b, size) + tuple(values.shape[2:]), dtype=work.dtype, device=values.device)
    total = total.index_add(1, target, work)
    count = torch.zeros(size, dtype=work.dtype, device=values.device).index_add(
        0, target, torch.ones(target.shape[0], dtype=work.dtype, device=values.device))
    # attribute_math's mixers: the sum times the reciprocal of the weight (not a division)
    mean = total * (1.0 / count.clamp(min=1)).view((1, size) + (1,) * (values.dim() - 2))
    return mean if values.is_floating_point() else _round_mean(mean, values.dtype)
