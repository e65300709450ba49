"""Catmull-Clark refinement as weights of the coarse points (for the Subdivision Surface node).

Blender 4.2's Subdivision Surface node (subdiv_to_mesh with `is_adaptive = false`, levels clamped
to 0-11, creases off) places every output point at the Catmull-Clark REFINED position of the
level-L vertex it stands for, not its limit position (checked with bpy 4.2 on a cube, an open
grid, a cylinder with n-gon caps, an octahedron, a triangulated grid and an open quad/pentagon
mix, levels 1-3, both Boundary Smooth options: largest distance 6.3e-7, against 0.2 for the limit
positions). OpenSubdiv's Catmark rules per level: face point = the mean of the face's corners;
edge of two faces = (ends + both face points) / 4, other edges (boundary, non-manifold: sharp) =
the midpoint; smooth vertex of valence n = (n-2)/n V + sum(neighbours)/n^2 + sum(face points)/n^2;
a crease vertex = 3/4 V + 1/8 of each of its two sharp neighbours; `_vertex_rule` says which
vertices crease and which stay. Blender 4.4+'s Limit Surface then moves each point to its limit (`_limit`).
Loose edges are Blender's own (subdiv_mesh.cc, `_loose_edge_point`).

The weights come in the order of our own refinement; `blender_order` matches them to the
points of Blender's (simple-subdivision) topology through their bilinear weights, which name a
point of the subdivided surface uniquely on the meshes `check_manifold` lets through.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def check_manifold(fo: np.ndarray, fv: np.ndarray, nv: int) -> str | None:
    """Why Catmull-Clark weights are not modelled for these faces (None: they are): a face
    repeating a point. (Non-manifold edges, of three or more faces or of two running the same
    way, and points where fans meet are modelled: sharp, as OpenSubdiv makes them.)"""
    sizes = np.diff(fo)
    if sizes.shape[0] == 0:
        return None
    nxt = np.arange(fv.shape[0]) + 1
    nxt[fo[1:] - 1] = fo[:-1]
    if np.any(fv == fv[nxt]) or any(len(set(fv[fo[f]:fo[f + 1]].tolist())) != sizes[f] for f in range(sizes.shape[0])):
        return "a face that repeats a point"
    return None


def _topology(faces: list, nv: int):
    """(edge index {(v, w): e}, faces per edge, corners (f, c) per point, neighbours (w, count)
    per point, fans per point): count = the edge's faces, 3 for two faces running the same way
    along it (non-manifold for OpenSubdiv); an edge is sharp unless its count is 2; a point's
    fans are its faces joined across its non-sharp edges."""
    edges, edge_faces, forward = {}, {}, {}
    corners = [[] for _ in range(nv)]
    for f, cyc in enumerate(faces):
        for c, v in enumerate(cyc):
            w = cyc[(c + 1) % len(cyc)]
            k = (min(v, w), max(v, w))
            edges.setdefault(k, len(edges))
            edge_faces.setdefault(k, []).append(f)
            forward[k] = forward.get(k, 0) + (v < w)
            corners[v].append((f, c))
    nbrs = [[] for _ in range(nv)]
    parent = list(range(len(faces)))

    def root(f):
        while parent[f] != f:
            parent[f] = parent[parent[f]]
            f = parent[f]
        return f
    for (v, w), fs in edge_faces.items():
        count = len(fs) if len(fs) != 2 or forward[(v, w)] == 1 else 3  # two faces the same way: non-manifold
        nbrs[v].append((w, count))
        nbrs[w].append((v, count))
    fans = []
    for v in range(nv):
        for w, count in nbrs[v]:
            if count == 2:
                f, g = edge_faces[(min(v, w), max(v, w))]
                parent[root(f)] = root(g)
        fans.append(len({root(f) for f, _ in corners[v]}))
    return edges, edge_faces, corners, nbrs, fans


def _vertex_rule(v: int, corners, nbrs, fans, sharp: set, keep_corners: bool):
    """'stay', ('crease', its two sharp neighbours) or 'smooth', as OpenSubdiv's
    TopologyRefinerFactory tags points: sharp edges are those not of exactly two faces; a
    non-manifold point (on an edge of three or more faces, or where fans of faces meet) stays
    unless it is on exactly two sharp edges, both non-manifold; a point in no face, a `sharp` one
    and (Keep Corners) a boundary point of one face stay."""
    creases = [w for w, count in nbrs[v] if count != 2]
    many = sum(count > 2 for _, count in nbrs[v])
    if not corners[v] or v in sharp or (creases and keep_corners and len(corners[v]) == 1):
        return "stay"
    if (fans[v] > 1 or many) and not (many == 2 and len(creases) == 2):
        return "stay"
    return ("crease", creases) if len(creases) == 2 else "stay" if len(creases) > 2 else "smooth"


def _step(faces: list, nv: int, keep_corners: bool, sharp: set):
    """One level: (new faces, Catmull-Clark matrix, bilinear matrix, new point count); new
    points: the old, then one per edge (first seen), then one per face. Sharp edges (boundary,
    non-manifold) split at their midpoints; points by `_vertex_rule` (`sharp`: Blender's points
    of faces that have a loose edge, infinitely sharp)."""
    edges, edge_faces, corners, nbrs, fans = _topology(faces, nv)
    ne, nf = len(edges), len(faces)
    cc, bl = ([], [], []), ([], [], [])

    def add(m, r, c, v):
        m[0].append(r)
        m[1].append(c)
        m[2].append(v)
    for f, cyc in enumerate(faces):
        for v in cyc:
            add(cc, nv + ne + f, v, 1.0 / len(cyc))
            add(bl, nv + ne + f, v, 1.0 / len(cyc))
    smooth_edge = {(min(v, w), max(v, w)) for v in range(nv) for w, count in nbrs[v] if count == 2}
    for (v, w), e in edges.items():
        fs = edge_faces[(v, w)]
        add(bl, nv + e, v, 0.5)
        add(bl, nv + e, w, 0.5)
        if (v, w) not in smooth_edge:
            add(cc, nv + e, v, 0.5)
            add(cc, nv + e, w, 0.5)
            continue
        add(cc, nv + e, v, 0.25)
        add(cc, nv + e, w, 0.25)
        for g in fs:
            for u in faces[g]:
                add(cc, nv + e, u, 0.25 / len(faces[g]))
    for v in range(nv):
        add(bl, v, v, 1.0)
        rule = _vertex_rule(v, corners, nbrs, fans, sharp, keep_corners)
        if rule == "stay":
            add(cc, v, v, 1.0)
        elif rule != "smooth":
            add(cc, v, v, 0.75)
            for w in rule[1]:
                add(cc, v, w, 0.125)
        else:
            n = len(nbrs[v])
            add(cc, v, v, (n - 2) / n)
            for w, _ in nbrs[v]:
                add(cc, v, w, 1.0 / n ** 2)
            for g, _ in corners[v]:
                for u in faces[g]:
                    add(cc, v, u, 1.0 / n ** 2 / len(faces[g]))
    new_faces = []
    for f, cyc in enumerate(faces):
        k = len(cyc)
        for c in range(k):
            v, w, p = cyc[c], cyc[(c + 1) % k], cyc[c - 1]
            new_faces.append([v, nv + edges[(min(v, w), max(v, w))], nv + ne + f, nv + edges[(min(v, p), max(v, p))]])
    size = nv + ne + nf
    mats = [sp.csr_matrix((m[2], (m[0], m[1])), shape=(size, nv)) for m in (cc, bl)]
    return new_faces, mats[0], mats[1], size


def _limit(faces: list, nv: int, sharp: set) -> sp.csr_matrix:
    """Catmull-Clark limit positions of a quad mesh's points, (nv, nv): a smooth point of valence
    n (n^2 V + 4 sum(neighbours) + sum(opposite corners)) / (n (n + 5)), a crease point (prev + 4 V
    + next) / 6; the points that stay in refinement and a boundary point of one face stay at
    their refined positions (Blender 5.0's Limit Surface, measured with bpy 5.0.1, Boundary
    Smooth All and Keep Corners)."""
    _, _, corners, nbrs, fans = _topology(faces, nv)
    rows, cols, vals = [], [], []

    def add(r, c, v):
        rows.append(r)
        cols.append(c)
        vals.append(v)
    for v in range(nv):
        rule = _vertex_rule(v, corners, nbrs, fans, sharp, True)
        if rule == "stay":
            add(v, v, 1.0)
        elif rule != "smooth":
            add(v, v, 4 / 6)
            for w in rule[1]:
                add(v, w, 1 / 6)
        else:
            n = len(nbrs[v])
            d = n * (n + 5)
            add(v, v, n * n / d)
            for w, _ in nbrs[v]:
                add(v, w, 4 / d)
            for f, c in corners[v]:
                add(v, faces[f][(c + 2) % 4], 1 / d)
    return sp.csr_matrix((vals, (rows, cols)), shape=(nv, nv))


def _bspline(t: float) -> list:
    """Blender's key_curve_position_weights(t, KEY_BSPLINE), its float constants as written."""
    t2, t3 = t * t, t * t * t
    return [-0.1666666 * t3 + 0.5 * t2 - 0.5 * t + 0.16666666, 0.5 * t3 - t2 + 0.66666666,
            -0.5 * t3 + 0.5 * t2 + 0.5 * t + 0.16666666, 0.16666666 * t3]


def _loose_edge_point(edges: np.ndarray, at: list, e: int, t: float) -> dict:
    """Weights of the point at `t` along loose edge `e` (subdiv_mesh.cc
    mesh_interpolate_position_on_edge): a B-spline through the edge's ends and, past each end,
    the other end of its one other edge there (any edge), or the end's mirror when it has none or
    several."""
    a, b = int(edges[e][0]), int(edges[e][1])
    terms = {}

    def put(v, w):
        terms[v] = terms.get(v, 0.0) + w

    def beyond(v, other, w):
        nb = [int(edges[i][1]) if int(edges[i][0]) == v else int(edges[i][0]) for i in at[v] if i != e]
        if len(nb) == 1:
            put(nb[0], w)
        else:  # 2 v - other
            put(v, 2 * w)
            put(other, -w)
    w = _bspline(t)
    beyond(a, b, w[0])
    put(a, w[1])
    put(b, w[2])
    beyond(b, a, w[3])
    return terms


def refine(fo: np.ndarray, fv: np.ndarray, nv: int, edges: np.ndarray, level: int, keep_corners: bool,
           limit: bool = False):
    """(Catmull-Clark, bilinear) weights of the level-`level` points, both (N, nv) sparse, rows
    in our own order: the faces' refinement (OpenSubdiv sees the faces only; `limit`: then moved
    to the limit surface), then the inner points of each loose edge. A point in no face stays, or, on exactly two (loose) edges, goes
    to its loose edges' B-spline at its end (neighbours 1/6, itself 2/3)."""
    faces = [fv[fo[f]:fo[f + 1]].tolist() for f in range(fo.shape[0] - 1)]
    on_face = np.zeros(nv, bool)
    on_face[fv] = True
    key = np.minimum(edges[:, 0], edges[:, 1]) * nv + np.maximum(edges[:, 0], edges[:, 1])
    nxt = np.arange(fv.shape[0]) + 1
    nxt[fo[1:] - 1] = fo[:-1]
    face_keys = np.minimum(fv, fv[nxt]) * nv + np.maximum(fv, fv[nxt])
    loose = np.flatnonzero(~np.isin(key, face_keys))
    sharp = {int(v) for v in edges[loose].reshape(-1) if on_face[v]}
    at = [[] for _ in range(nv)]
    for i, (a, b) in enumerate(edges):
        at[int(a)].append(i)
        at[int(b)].append(i)
    n0 = nv
    cc = bl = sp.identity(nv, format="csr")
    for _ in range(level):
        faces, s_cc, s_bl, nv = _step(faces, nv, keep_corners, sharp)
        cc, bl = s_cc @ cc, s_bl @ bl
    if limit and faces:
        cc = _limit(faces, nv, sharp) @ cc
    rows, cols, vals, brows, bcols, bvals = [], [], [], [], [], []
    cc = cc.tolil()
    for v in range(n0):
        if not on_face[v] and len(at[v]) == 2:
            cc[v] = 0
            for u, w in _loose_edge_point(edges, at, at[v][0], 0.0 if int(edges[at[v][0]][0]) == v else 1.0).items():
                cc[v, u] = w
    res = 2 ** level + 1
    r = nv
    for e in loose:
        for k in range(1, res - 1):
            t = k / (res - 1)
            for u, w in _loose_edge_point(edges, at, int(e), t).items():
                rows.append(r)
                cols.append(u)
                vals.append(w)
            brows += [r, r]
            bcols += [int(edges[e][0]), int(edges[e][1])]
            bvals += [1 - t, t]
            r += 1
    shape = (r - nv, n0)
    cc = sp.vstack([cc.tocsr(), sp.csr_matrix((vals, (np.asarray(rows, np.int64) - nv, cols)), shape=shape)])
    bl = sp.vstack([bl, sp.csr_matrix((bvals, (np.asarray(brows, np.int64) - nv, bcols)), shape=shape)])
    return cc.tocsr(), bl.tocsr()


def _row_keys(m: sp.csr_matrix) -> list:
    m = m.tocsr()
    m.sum_duplicates()
    keys = []
    for r in range(m.shape[0]):
        lo, hi = m.indptr[r], m.indptr[r + 1]
        cols, vals = m.indices[lo:hi], m.data[lo:hi]
        keep = np.abs(vals) > 1e-12
        order = np.argsort(cols[keep])
        keys.append(tuple(zip(cols[keep][order].tolist(), np.round(vals[keep][order], 9).tolist())))
    return keys


def blender_order(cc: sp.csr_matrix, bl: sp.csr_matrix, blender_bl: sp.csr_matrix):
    """The Catmull-Clark rows reordered to Blender's points (whose bilinear weights are
    `blender_bl`) as padded (index, weight) arrays (N, width), or None where the bilinear weights
    do not name each point once."""
    mine = {k: r for r, k in enumerate(_row_keys(bl))}
    theirs = _row_keys(blender_bl)
    if len(mine) != bl.shape[0] or len(set(theirs)) != len(theirs) or set(theirs) != set(mine):
        return None
    perm = np.array([mine[k] for k in theirs])
    w = cc[perm].tocsr()
    w.sum_duplicates()
    counts = np.diff(w.indptr)
    width = max(int(counts.max()), 1)
    idx = np.zeros((w.shape[0], width), np.int64)
    wt = np.zeros((w.shape[0], width))
    slot = np.arange(w.indices.shape[0]) - np.repeat(w.indptr[:-1], counts)
    row = np.repeat(np.arange(w.shape[0]), counts)
    idx[row, slot] = w.indices
    wt[row, slot] = w.data
    return idx, wt
