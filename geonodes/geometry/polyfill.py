"""Blender's n-gon triangulation (Triangulate's CLIP and BEAUTY methods): the face projected on
its plane as BMesh does (Newell normal, axis_dominant_v3_to_m3_negate), then BLI_polyfill_calc's
ear clipping (polyfill_2d.cc: clip-even, sweep, convex skip; its kd-tree only speeds up the same
point-in-triangle test, done here directly), and for BEAUTY BLI_polyfill_beautify's edge
rotations (polyfill_2d_beautify.cc, with BLI_heap's order). float32 arithmetic as Blender's."""
from __future__ import annotations

import math
import struct

import numpy as np

CONCAVE, TANGENTIAL, CONVEX = -1, 0, 1
_FLT_EPSILON = np.float32(1.1920929e-07)


def project_face(points: np.ndarray) -> np.ndarray:
    """(n, 3) polygon -> (n, 2) float32 coordinates in its plane, as BM_face_triangulate."""
    return project_faces(points[None])[0]


def project_faces(points: np.ndarray) -> np.ndarray:
    """(b, n, 3) polygons (one per row) -> (b, n, 2) float32 coordinates in their planes: the
    Newell normal summed in corner order, normalize_v3 (times the reciprocal length),
    axis_dominant_v3_to_m3_negate's basis, mul_v2_m3v3's sums; float32 throughout (element-wise
    numpy float32 ops round as Blender's scalar ones)."""
    f32 = np.float32
    p = points.astype(f32)
    prev = np.roll(p, 1, axis=1)
    n = np.zeros((p.shape[0], 3), f32)
    for k in range(p.shape[1]):  # Newell's method, accumulated in order
        a, b = prev[:, k], p[:, k]
        n[:, 0] += (a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2])
        n[:, 1] += (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0])
        n[:, 2] += (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1])
    d = (n[:, 0] * n[:, 0] + n[:, 1] * n[:, 1]) + n[:, 2] * n[:, 2]
    ok = d > f32(1e-35)
    inv = np.where(ok, f32(1.0) / np.sqrt(np.where(ok, d, f32(1.0))), f32(0.0)).astype(f32)
    n = np.where(ok[:, None], n * inv[:, None], np.array([0.0, 0.0, 1.0], f32)).astype(f32)
    n1, n2 = ortho_basis(-n)
    x = (p[..., 0] * n1[:, None, 0] + p[..., 1] * n1[:, None, 1]) + p[..., 2] * n1[:, None, 2]
    y = (p[..., 0] * n2[:, None, 0] + p[..., 1] * n2[:, None, 1]) + p[..., 2] * n2[:, None, 2]
    return np.stack([x, y], -1).astype(f32)


def ortho_basis(m: np.ndarray) -> tuple:
    """ortho_basis_v3v3_v3 of (N, 3) float32 unit vectors: the (N, 3) rows n1, n2 that
    axis_dominant_v3_to_m3 projects on (float32 as Blender's, its degenerate case included)."""
    f32 = np.float32
    f = m[:, 0] * m[:, 0] + m[:, 1] * m[:, 1]
    big = f > _FLT_EPSILON
    r = (f32(1.0) / np.sqrt(np.where(big, f, f32(1.0)))).astype(f32)
    n1 = np.stack([m[:, 1] * r, -m[:, 0] * r, np.zeros_like(r)], 1)
    n2 = np.stack([-m[:, 2] * n1[:, 1], m[:, 2] * n1[:, 0], m[:, 0] * n1[:, 1] - m[:, 1] * n1[:, 0]], 1)
    flat1 = np.stack([np.where(m[:, 2] < 0, f32(-1.0), f32(1.0)), np.zeros_like(r), np.zeros_like(r)], 1)
    n1 = np.where(big[:, None], n1, flat1).astype(f32)
    n2 = np.where(big[:, None], n2, np.array([0.0, 1.0, 0.0], f32)).astype(f32)
    return n1, n2


def convex(co: np.ndarray) -> np.ndarray:
    """(b,) whether every corner of each (b, n, 2) polygon is CONVEX for polyfill (then its ear
    clipping depends on n only)."""
    prev, nxt = np.roll(co, 1, axis=1), np.roll(co, -1, axis=1)
    d2, d3 = co - nxt, prev - nxt  # span_tri_v2_sign(prev, cur, next)
    a = d2[..., 0] * d3[..., 1] - d3[..., 0] * d2[..., 1]
    return (a > 0).all(axis=1)


def _sign(v1, v2, v3) -> int:
    """span_tri_v2_sign: the sign of area_tri_signed_v2_alt_2x(v3, v2, v1)."""
    d2, d3 = v2 - v3, v1 - v3
    a = np.float32(d2[0] * d3[1]) - np.float32(d3[0] * d2[1])
    return CONVEX if a > 0 else (TANGENTIAL if a == 0 else CONCAVE)


def polyfill(co: np.ndarray) -> list:
    """(n, 2) coordinates (clockwise, as projected) -> n - 2 triangles of local indices, in
    BLI_polyfill_calc's order (coords_sign 1)."""
    n = co.shape[0]
    nxt = [(i + 1) % n for i in range(n)]
    prv = [(i - 1) % n for i in range(n)]
    sign = [_sign(co[prv[i]], co[i], co[nxt[i]]) for i in range(n)]
    state = {"concave": sum(s != CONVEX for s in sign), "head": 0, "count": n}
    tris = []

    def tip_check(e, accept) -> bool:
        if state["concave"] == 0:
            return True
        if sign[e] != accept:
            return False
        v1, v2, v3 = co[prv[e]], co[e], co[nxt[e]]
        c = nxt[nxt[e]]
        while c != prv[e]:
            if sign[c] != CONVEX:
                v = co[c]
                if _sign(v3, v1, v) != CONCAVE and _sign(v1, v2, v) != CONCAVE and _sign(v2, v3, v) != CONCAVE:
                    return False
            c = nxt[c]
        return True

    def tip_find(init, reverse):
        for accept in (CONVEX, TANGENTIAL):
            e = init
            for _ in range(state["count"]):
                if tip_check(e, accept):
                    return e
                e = prv[e] if reverse else nxt[e]
        e = init
        for _ in range(state["count"]):
            if sign[e] != CONCAVE:
                return e
            e = nxt[e]
        return e

    init, reverse = 0, False
    while state["count"] > 3:
        ear = tip_find(init, reverse)
        if sign[ear] != CONVEX:
            state["concave"] -= 1
        p, q = prv[ear], nxt[ear]
        tris.append((p, ear, q))
        nxt[p], prv[q] = q, p
        if state["head"] == ear:
            state["head"] = q
        state["count"] -= 1
        for x in (p, q):
            if sign[x] != CONVEX:
                sign[x] = _sign(co[prv[x]], co[x], co[nxt[x]])
                if sign[x] == CONVEX:
                    state["concave"] -= 1
        init = prv[p] if reverse else nxt[q]
        if sign[init] != CONVEX:
            init = prv[init] if reverse else nxt[init]
            reverse = not reverse
    h = state["head"]
    tris.append((h, nxt[h], nxt[nxt[h]]))
    return tris


# ------------------------------------------------------------------ BEAUTY: edge rotations

_UNSET = -1


_F32 = struct.Struct("f")
_FLT_MAX = float(np.finfo(np.float32).max)


def _f32(x: float) -> float:
    """x rounded to float32 (a double op rounded to float32 equals the float32 op: +, -, *, /,
    sqrt), as a python float: much faster than numpy float32 scalars."""
    return _F32.unpack(_F32.pack(x))[0]


def _cross_tri_v2(a, b, c):
    return _f32(_f32(_f32(a[0] - b[0]) * _f32(b[1] - c[1])) + _f32(_f32(a[1] - b[1]) * _f32(c[0] - b[0])))


def _len_v2v2(a, b):
    dx, dy = _f32(a[0] - b[0]), _f32(a[1] - b[1])
    return _f32(math.sqrt(_f32(_f32(dx * dx) + _f32(dy * dy))))


def quad_rotate_cost(v1, v2, v3, v4) -> tuple:
    """(cost, area) of BLI_polyfill_beautify_quad_rotate_calc_ex (lock_degenerate off):
    negative when the (1-3) diagonal beats the current (2-4) one; float32 as Blender.
    v1..v4: (x, y) pairs of float32 values as python floats."""
    a234, a241 = _cross_tri_v2(v2, v3, v4), _cross_tri_v2(v2, v4, v1)
    a123, a134 = _cross_tri_v2(v1, v2, v3), _cross_tri_v2(v1, v3, v4)
    area = _f32(_f32(_f32(_f32(abs(a234) + abs(a241)) + abs(a123)) + abs(a134)) / 8.0)
    eps = 1e-12
    if (a123 >= 0) != (a134 >= 0) or abs(a123) <= eps or abs(a134) <= eps:
        return _FLT_MAX, area
    if (a234 >= 0) != (a241 >= 0) or abs(a234) <= eps or abs(a241) <= eps:
        return -_FLT_MAX, area
    l12, l23, l34, l41 = _len_v2v2(v1, v2), _len_v2v2(v2, v3), _len_v2v2(v3, v4), _len_v2v2(v4, v1)
    l13, l24 = _len_v2v2(v1, v3), _len_v2v2(v2, v4)
    fac_24 = _f32(_f32(abs(a234) / _f32(_f32(l23 + l34) + l24)) + _f32(abs(a241) / _f32(_f32(l41 + l12) + l24)))
    fac_13 = _f32(_f32(abs(a123) / _f32(_f32(l12 + l23) + l13)) + _f32(abs(a134) / _f32(_f32(l34 + l41) + l13)))
    return _f32(fac_24 - fac_13), area


class _Heap:
    """BLI_heap: a binary min-heap whose tie behaviour (sift up on equal values) is Blender's."""

    def __init__(self):
        self.tree = []  # nodes: [value, index, item]

    def _swap(self, i, j):
        t = self.tree
        t[i], t[j] = t[j], t[i]
        t[i][1], t[j][1] = i, j

    def _up(self, i):
        while i > 0:
            p = (i - 1) >> 1
            if self.tree[p][0] < self.tree[i][0]:
                break
            self._swap(p, i)
            i = p

    def _down(self, i):
        size = len(self.tree)
        while True:
            left, right, smallest = 2 * i + 1, 2 * i + 2, i
            if left < size and self.tree[left][0] < self.tree[smallest][0]:
                smallest = left
            if right < size and self.tree[right][0] < self.tree[smallest][0]:
                smallest = right
            if smallest == i:
                break
            self._swap(i, smallest)
            i = smallest

    def insert(self, value, item):
        node = [value, len(self.tree), item]
        self.tree.append(node)
        self._up(node[1])
        return node

    def pop_min(self):
        top = self.tree[0]
        last = len(self.tree) - 1
        if last:
            self._swap(0, last)
        self.tree.pop()
        if self.tree:
            self._down(0)
        return top[2]

    def remove(self, node):
        i = node[1]
        while i > 0:
            p = (i - 1) >> 1
            self._swap(p, i)
            i = p
        self.pop_min()

    def update(self, node, value, item):
        node[2] = item
        if value < node[0]:
            node[0] = value
            self._up(node[1])
        elif value > node[0]:
            node[0] = value
            self._down(node[1])


def beautify(co: np.ndarray, tris: list) -> list:
    """BLI_polyfill_beautify: polyfill's triangles improved by edge rotations (half edges, a
    heap of rotation costs), returned in Blender's order."""
    n = co.shape[0]
    last = n - 1
    nt = len(tris)
    v = [0] * (3 * nt)
    e_next, e_radial, base = [0] * (3 * nt), [_UNSET] * (3 * nt), [_UNSET] * (3 * nt)
    order = []
    for i, t in enumerate(tris):
        for j_curr, j_prev in ((0, 2), (1, 0), (2, 1)):
            e_prev, e_curr = 3 * i + j_prev, 3 * i + j_curr
            v[e_prev], e_next[e_prev] = t[j_prev], e_curr
            a, b = sorted((t[j_prev], t[j_curr]))
            if not (a + 1 == b or (a == 0 and b == last)):
                order.append((a, b, e_prev))
    order.sort()
    for k in range(0, len(order), 2):
        ea, eb = order[k][2], order[k + 1][2]
        e_radial[ea], e_radial[eb] = eb, ea
        base[ea] = base[eb] = k // 2

    pts = [(float(x), float(y)) for x, y in co]

    def cost(e):
        eb = e_radial[e]
        return quad_rotate_cost(pts[v[e_next[e_next[e]]]], pts[v[e]], pts[v[e_next[e_next[eb]]]], pts[v[eb]])

    heap, table = _Heap(), {}
    for i in range(3 * nt):
        if e_radial[i] != _UNSET and e_radial[i] < i:
            c, _ = cost(i)
            if c < 0:
                table[base[i]] = heap.insert(c, i)
    while heap.tree:
        e = heap.pop_min()
        table.pop(base[e], None)
        ed = [e, e_next[e], e_next[e_next[e]]]
        r = e_radial[e]
        ed += [r, e_next[r], e_next[e_next[r]]]
        e_next[ed[0]], e_next[ed[1]], e_next[ed[2]] = ed[2], ed[3], ed[4]
        e_next[ed[3]], e_next[ed[4]], e_next[ed[5]] = ed[5], ed[0], ed[1]
        v[ed[0]], v[ed[3]] = v[ed[5]], v[ed[2]]
        around = [e_next[e], e_next[e_next[e]], e_next[r], e_next[e_next[r]]]
        for x in around:
            if base[x] == _UNSET:
                continue
            c, area = cost(x)
            if c < _f32(_f32(-1e-6) * max(area, 1.0)):
                if base[x] in table:
                    heap.update(table[base[x]], c, x)
                else:
                    table[base[x]] = heap.insert(c, x)
            elif base[x] in table:
                heap.remove(table.pop(base[x]))
    out, used = [], [False] * (3 * nt)
    for i in range(3 * nt):
        if not used[i]:
            a = i
            b = e_next[a]
            c = e_next[b]
            used[a] = used[b] = used[c] = True
            out.append((v[a], v[b], v[c]))
    return out


# ------------------------------------------------------------------ BEAUTY for quads (BMesh)

def _cross_tri_v3(a, b, c):
    """cross_tri_v3: (a - b) x (b - c), float32 per component as Blender's."""
    n1, n2 = a - b, b - c
    return np.stack([n1[:, 1] * n2[:, 2] - n1[:, 2] * n2[:, 1], n1[:, 2] * n2[:, 0] - n1[:, 0] * n2[:, 2],
                     n1[:, 0] * n2[:, 1] - n1[:, 1] * n2[:, 0]], 1)


def _cross2(a, b, c):
    """cross_tri_v2 on (N, 2) float32 arrays."""
    return (a[:, 0] - b[:, 0]) * (b[:, 1] - c[:, 1]) + (a[:, 1] - b[:, 1]) * (c[:, 0] - b[:, 0])


def _len2(a, b):
    d = a - b
    return np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])


def quad_beauty_cost(v1: np.ndarray, v2: np.ndarray, v3: np.ndarray, v4: np.ndarray) -> np.ndarray:
    """(N,) BM_verts_calc_rotate_beauty(v1, v2, v3, v4) with the area method (bmesh_beautify.cc,
    bm_edge_calc_rotate_beauty__area) for (N, 3) corners: the quad projected on the plane of
    the two triangles' summed normal (axis_dominant_v3_to_m3), then
    BLI_polyfill_beautify_quad_rotate_calc_ex without degenerate locking; negative when the
    1-3 diagonal beats 2-4, FLT_MAX for a flat or flipped pair. float32 as Blender's."""
    f32 = np.float32
    v1, v2, v3, v4 = (np.asarray(v, f32) for v in (v1, v2, v3, v4))
    no = _cross_tri_v3(v2, v3, v4) + _cross_tri_v3(v2, v4, v1)
    d = (no[:, 0] * no[:, 0] + no[:, 1] * no[:, 1]) + no[:, 2] * no[:, 2]
    ok = d > f32(1e-35)
    scale = np.where(ok, np.sqrt(np.where(ok, d, f32(1.0))), f32(0.0)).astype(f32)
    n = (no * (f32(1.0) / np.where(ok, scale, f32(1.0)))[:, None]).astype(f32)
    ok &= scale > _FLT_EPSILON  # normalize_v3(no) <= FLT_EPSILON: no rotation (FLT_MAX)
    n1, n2 = ortho_basis(n)  # axis_dominant_v3_to_m3

    def xy(p):  # mul_v2_m3v3 with the transposed basis
        return np.stack([(p[:, 0] * n1[:, 0] + p[:, 1] * n1[:, 1]) + p[:, 2] * n1[:, 2],
                         (p[:, 0] * n2[:, 0] + p[:, 1] * n2[:, 1]) + p[:, 2] * n2[:, 2]], 1).astype(f32)

    p1, p2, p3, p4 = xy(v1), xy(v2), xy(v3), xy(v4)
    safe = np.where(ok, scale, f32(1.0))
    s1, s2 = _cross2(p2, p3, p4) / safe, _cross2(p2, p4, p1) / safe
    sign = lambda x: (x > f32(1e-5)).astype(int) - (x < f32(-1e-5)).astype(int)  # noqa: E731
    skip = ~ok | (sign(s1) + sign(s2) == 0)
    a234, a241, a123, a134 = _cross2(p2, p3, p4), _cross2(p2, p4, p1), _cross2(p1, p2, p3), _cross2(p1, p3, p4)
    eps = f32(1e-12)
    keep = ((a123 >= 0) != (a134 >= 0)) | (np.abs(a123) <= eps) | (np.abs(a134) <= eps)
    rotate = ((a234 >= 0) != (a241 >= 0)) | (np.abs(a234) <= eps) | (np.abs(a241) <= eps)
    l12, l23, l34, l41, l13, l24 = _len2(p1, p2), _len2(p2, p3), _len2(p3, p4), _len2(p4, p1), _len2(p1, p3), _len2(p2, p4)
    fac_24 = np.abs(a234) / ((l23 + l34) + l24) + np.abs(a241) / ((l41 + l12) + l24)
    fac_13 = np.abs(a123) / ((l12 + l23) + l13) + np.abs(a134) / ((l34 + l41) + l13)
    cost = np.where(keep, f32(_FLT_MAX), np.where(rotate, f32(-_FLT_MAX), (fac_24 - fac_13).astype(f32)))
    return np.where(skip, f32(_FLT_MAX), cost).astype(f32)


def is_quad_flip(v1: np.ndarray, v2: np.ndarray, v3: np.ndarray, v4: np.ndarray) -> tuple:
    """is_quad_flip_v3's two bits for (N, 3) corners, float32 as Blender's: (concave on the
    1-3 diagonal, concave on 2-4)."""
    v1, v2, v3, v4 = (np.asarray(v, np.float32) for v in (v1, v2, v3, v4))
    d12, d23, d34, d41 = v1 - v2, v2 - v3, v3 - v4, v4 - v1

    def cross(a, b):
        return np.stack([a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1], a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
                         a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]], 1)

    def dot(a, b):
        return (a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1]) + a[:, 2] * b[:, 2]

    return dot(cross(d12, d23), cross(d34, d41)) < 0, dot(cross(d23, d34), cross(d41, d12)) < 0
