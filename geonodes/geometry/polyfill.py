"""Blender's n-gon triangulation for Triangulate's CLIP method: the face projected on its plane
as BMesh does (Newell normal, axis_dominant_v3_to_m3_negate), then BLI_polyfill_calc's ear
clipping (polyfill_2d.cc: clip-even, sweep, convex skip; its kd-tree only speeds up the same
point-in-triangle test, done here directly)."""
from __future__ import annotations

import numpy as np

CONCAVE, TANGENTIAL, CONVEX = -1, 0, 1
_FLT_EPSILON = np.float32(1.1920929e-07)


def project_face(points: np.ndarray) -> np.ndarray:
    """(n, 3) float32 polygon -> (n, 2) float32 coordinates in its plane, as BM_face_triangulate."""
    p = points.astype(np.float32)
    prev = np.roll(p, 1, axis=0)
    n = np.zeros(3, np.float32)
    for a, b in zip(prev, p):  # Newell's method, accumulated in order
        n[0] += (a[1] - b[1]) * (a[2] + b[2])
        n[1] += (a[2] - b[2]) * (a[0] + b[0])
        n[2] += (a[0] - b[0]) * (a[1] + b[1])
    length = np.float32(np.sqrt(np.float32(n @ n)))
    n = n / length if length > 0 else np.array([0.0, 0.0, 1.0], np.float32)
    m = -n
    f = np.float32(m[0] * m[0] + m[1] * m[1])
    if f > _FLT_EPSILON:
        d = np.float32(1.0) / np.float32(np.sqrt(f))
        n1 = np.array([m[1] * d, -m[0] * d, 0.0], np.float32)
        n2 = np.array([-m[2] * n1[1], m[2] * n1[0], m[0] * n1[1] - m[1] * n1[0]], np.float32)
    else:
        n1 = np.array([-1.0 if m[2] < 0 else 1.0, 0.0, 0.0], np.float32)
        n2 = np.array([0.0, 1.0, 0.0], np.float32)
    return np.stack([p @ n1, p @ n2], 1).astype(np.float32)


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
