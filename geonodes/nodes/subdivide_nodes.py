"""Subdivide Mesh: Blender's simple subdivision (OpenSubdiv's bilinear scheme through
subdiv_mesh.cc) at any level on any mesh, needing the mesh's edges in Blender's order.

Level 1 (checked against bpy): points = the old points, then each edge's midpoint by edge index,
then each face's centre (the mean of its corners); each face of k corners becomes k quads, the one
of corner c (edges m(c) from corner c to c+1, m(c-1) into it, centre C) (v_c, m(c), C, m(c-1)),
which a quad (one ptex face in OpenSubdiv) rotates right by c; the edges: each old edge split in
two in edge order ((v1, mid), (mid, v2)), then per face its (m(c), C). Levels 2 and more: see
`subdivide_levels` (a quad is one grid, another face one grid per corner, with points on the
spokes to its centre).
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import edges_known, prim_edges
from ..geometry.remesh import faces_of, new_topology
from . import S, node
from .mesh_ops import remesh

MAX_LEVEL = 11  # Blender clamps the level


def subdivide_once(prim):
    """The NewTopology of one simple subdivision (see the module docstring)."""
    fo, fv, sizes, _ = faces_of(prim)
    edges = prim_edges(prim).numpy()
    nv, ne, nf = prim.num_vertices, edges.shape[0], sizes.shape[0]
    edge_of = {(int(min(a, b)), int(max(a, b))): i for i, (a, b) in enumerate(edges)}
    mid = lambda a, b: nv + edge_of[(min(a, b), max(a, b))]  # noqa: E731
    loops, face_src, corner_src, inner = [], [], [], []
    for f in range(nf):
        cyc = [int(v) for v in fv[fo[f]:fo[f + 1]]]
        k, center = len(cyc), nv + ne + f
        for c in range(k):
            quad = [cyc[c], mid(cyc[c], cyc[(c + 1) % k]), center, mid(cyc[c - 1], cyc[c])]
            if k == 4 and c:
                quad = quad[-c:] + quad[:-c]
            loops += quad
            face_src.append(f)
            corner_src += [fo[f] + c] * 4
        inner += [(mid(cyc[c], cyc[(c + 1) % k]), center) for c in range(k)]
    split = np.stack([edges[:, 0], nv + np.arange(ne), nv + np.arange(ne), edges[:, 1]], 1).reshape(-1, 2)
    new_edges = np.concatenate([split, np.asarray(inner, np.int64).reshape(-1, 2)])
    point_src = np.concatenate([np.arange(nv), edges[:, 0], fv[fo[:-1]] if nf else np.zeros(0, np.int64)])
    offsets = np.arange(0, 4 * len(face_src) + 1, 4)
    topo = new_topology(nv + ne + nf, offsets, loops, point_src, face_src, corner_src, edges=new_edges)
    topo.extra = {"edges": torch.as_tensor(edges), "corner_face": torch.as_tensor(np.repeat(np.arange(nf), sizes)),
                  "sizes": torch.as_tensor(sizes), "num_old": nv}
    return topo


def subdivide_levels(prim, level: int):
    """The NewTopology of simple subdivision at `level` >= 2, as Blender's subdiv_foreach orders
    it (checked against bpy): res = 2^level + 1 points along an edge; points: the old ones, each
    edge's res-2 inner points from its first point to its second by edge index, then each face's
    inner points; edges: the old ones split in edge order, then each face's inner edges; faces:
    each face's quads in turn. A quad is one grid (`_quad_face`); another face one grid per corner
    (`_ngon_face`). Each new point: weights of the old points (bilinear on the grids)."""
    fo, fv, sizes, _ = faces_of(prim)
    edges = prim_edges(prim).numpy()
    nv = prim.num_vertices
    r = 2 ** level + 1
    m = r - 2
    edge_of = {(int(min(a, b)), int(max(a, b))): i for i, (a, b) in enumerate(edges)}
    src = [[(v, 1.0)] for v in range(nv)]
    for a, b in edges:
        src += [[(int(a), 1 - t), (int(b), t)] for t in (np.arange(1, r - 1) / (r - 1))]
    out = {"loops": [], "face_src": [], "corner_src": [], "edges": []}
    for i, (a, b) in enumerate(edges):
        chain = [int(a)] + list(range(nv + i * m, nv + (i + 1) * m)) + [int(b)]
        out["edges"] += list(zip(chain[:-1], chain[1:]))

    def side(a, b):  # the inner points of edge a -> b, in that direction
        e = edge_of[(min(a, b), max(a, b))]
        pts = list(range(nv + e * m, nv + (e + 1) * m))
        return pts if int(edges[e][0]) == a else pts[::-1]
    for f in range(sizes.shape[0]):
        corners = [int(v) for v in fv[fo[f]:fo[f + 1]]]
        (_quad_face if len(corners) == 4 else _ngon_face)(corners, side, len(src), r, src, out, f, int(fo[f]))
    width = max(len(terms) for terms in src)
    idx = np.zeros((len(src), width), np.int64)
    w = np.zeros((len(src), width))
    for k, terms in enumerate(src):
        for t, (v, wt) in enumerate(terms):
            idx[k, t], w[k, t] = v, wt
    offsets = np.arange(0, len(out["loops"]) + 1, 4)
    topo = new_topology(len(src), offsets, out["loops"], idx[:, 0], out["face_src"], out["corner_src"],
                        edges=np.asarray(out["edges"], np.int64))
    topo.extra = {"weights": (torch.as_tensor(idx), torch.as_tensor(w))}
    return topo


def _quad_face(q, side, base, r, src, out, f, first):
    """A quad's part: (r-2)^2 inner grid points (u from corner 0 to 1 fastest, v from corner 0 to
    3); quads: the inner cells row by row, then the ring of cells along the border from corner 0
    round the face; edges: the inner grid's (row by row: a row's edges, then those up to the next
    row), then the border's inner points to the inner grid, round the face."""
    m = r - 2
    g = {}
    g[0, 0], g[r - 1, 0], g[r - 1, r - 1], g[0, r - 1] = q
    for k, p in enumerate(side(q[0], q[1])):
        g[k + 1, 0] = p
    for k, p in enumerate(side(q[1], q[2])):
        g[r - 1, k + 1] = p
    for k, p in enumerate(side(q[3], q[2])):
        g[k + 1, r - 1] = p
    for k, p in enumerate(side(q[0], q[3])):
        g[0, k + 1] = p
    for jj in range(1, r - 1):
        for ii in range(1, r - 1):
            g[ii, jj] = base + (jj - 1) * m + (ii - 1)
            u, v = ii / (r - 1), jj / (r - 1)
            src.append([(q[0], (1 - u) * (1 - v)), (q[1], u * (1 - v)), (q[2], u * v), (q[3], (1 - u) * v)])
    ring = ([(i, 0) for i in range(r - 1)] + [(r - 2, j) for j in range(1, r - 1)]
            + [(i, r - 2) for i in range(r - 3, -1, -1)] + [(0, j) for j in range(r - 3, 0, -1)])
    for i, j in [(i, j) for j in range(1, r - 2) for i in range(1, r - 2)] + ring:
        out["loops"] += [g[i, j], g[i + 1, j], g[i + 1, j + 1], g[i, j + 1]]
        out["face_src"].append(f)
        out["corner_src"] += [first] * 4
    for j in range(1, r - 1):
        out["edges"] += [(g[i, j], g[i + 1, j]) for i in range(1, r - 2)]
        if j < r - 2:
            out["edges"] += [(g[i, j], g[i, j + 1]) for i in range(1, r - 1)]
    out["edges"] += ([(g[i, 0], g[i, 1]) for i in range(1, r - 1)] + [(g[r - 1, j], g[r - 2, j]) for j in range(1, r - 1)]
                     + [(g[i, r - 1], g[i, r - 2]) for i in range(r - 2, 0, -1)]
                     + [(g[0, j], g[1, j]) for j in range(r - 2, 0, -1)])


def _ngon_face(q, side, base, r, src, out, f, first):
    """A face of k != 4 corners (Blender's subdiv_foreach *_special): one ptex grid of p = r//2 + 1
    points a side per corner c, (x, y) from corner c (0, 0) towards the midpoint of its next edge
    (x) and of its previous edge (y), the centre at (p-1, p-1). Points: the centre, then per corner
    its (p-1)(p-2) grid points y = 1..p-2 (x = 1..p-1, fastest). Quads (each from its cell's (x, y)
    corner): per corner the inner cells, the cells along the next corner's spoke, the centre cells,
    per corner the border cells along x then along y. Edges: per corner the inner grid's, the
    spokes' rungs, centre to spokes, per corner the border's rungs along x then along y."""
    k, p = len(q), r // 2 + 1
    per = (p - 1) * (p - 2)

    def at(c, x, y):
        c %= k
        if y == 0:
            return q[c] if x == 0 else side(q[c], q[(c + 1) % k])[x - 1]
        if x == 0:
            return side(q[c], q[c - 1])[y - 1]
        if y == p - 1:
            return base if x == p - 1 else at(c - 1, p - 1, x)
        return base + 1 + c * per + (y - 1) * (p - 1) + (x - 1)
    src.append([(v, 1.0 / k) for v in q])
    for c in range(k):
        for y in range(1, p - 1):
            for x in range(1, p):
                u, v = x / (p - 1), y / (p - 1)
                terms = {vv: u * v / k for vv in q}
                terms[q[c]] += (1 - u) * (1 - v) + 0.5 * u * (1 - v) + 0.5 * (1 - u) * v
                terms[q[(c + 1) % k]] += 0.5 * u * (1 - v)
                terms[q[c - 1]] += 0.5 * (1 - u) * v
                src.append(list(terms.items()))
    cells = [(c, x, y) for c in range(k) for y in range(1, p - 2) for x in range(1, p - 1)]
    cells += [(c + 1, x, p - 2) for c in range(k) for x in range(1, p - 2)]
    cells += [(c, p - 2, p - 2) for c in range(k)] if p >= 3 else []
    cells += [(c, x, y) for c in range(k) for x, y in [(i, 0) for i in range(p - 1)] + [(0, j) for j in range(1, p - 1)]]
    for c, x, y in cells:
        out["loops"] += [at(c, x, y), at(c, x + 1, y), at(c, x + 1, y + 1), at(c, x, y + 1)]
        out["face_src"].append(f)
        out["corner_src"] += [first + c % k] * 4
    for c in range(k):
        out["edges"] += [(at(c, x, 1), at(c, x + 1, 1)) for x in range(1, p - 1)]
        for y in range(1, p - 2):
            out["edges"] += [(at(c, x, y), at(c, x, y + 1)) for x in range(1, p)]
            out["edges"] += [(at(c, x, y + 1), at(c, x + 1, y + 1)) for x in range(1, p - 1)]
    out["edges"] += [(at(c, p - 1, y), at(c + 1, y, p - 2)) for c in range(k) for y in range(1, p - 1)]
    out["edges"] += [(base, at(c, p - 1, p - 2)) for c in range(k)] if p >= 3 else []
    for c in range(k):
        out["edges"] += [(at(c, x, 0), at(c, x, 1)) for x in range(1, p)]
        out["edges"] += [(at(c, 0, y), at(c, 1, y)) for y in range(1, p - 1)] if p >= 3 else []


def subdivided_positions(topo, old, grids, ctx, j):
    """Old points, edge midpoints, face centres (the mean of the corners): (b, V', 3); at
    level 2+, weighted sums of old points."""
    x = topo.extra
    if "weights" in x:
        idx, w = x["weights"]
        picked = old.index_select(1, idx.to(old.device).reshape(-1)).reshape(old.shape[0], -1, idx.shape[1], 3)
        return (picked * w.to(old.device, old.dtype)[None, :, :, None]).sum(2), {}
    e = x["edges"].to(old.device)
    mids = (old.index_select(1, e[:, 0]) + old.index_select(1, e[:, 1])) * 0.5
    fv = ctx.mesh.face_vertices
    sums = old.new_zeros((old.shape[0], x["sizes"].shape[0], 3)).index_add(
        1, x["corner_face"].to(old.device), old.index_select(1, fv))
    centers = sums / x["sizes"].to(old.device, old.dtype)[None, :, None]
    return torch.cat([old, mids, centers], 1), {}


def subdivisible(prim, level: int, where: str, kind: str) -> bool:
    """Whether `prim` has anything a subdivision node at `level` changes (False: loose points only,
    or level 0); raises, naming the node, where the edge order is not modelled or attributes would
    have to pass through."""
    if level == 0 or (prim.edges is not None and prim.edges.shape[0] == 0 and len(prim.face_offsets) <= 1):
        return False
    if not edges_known(prim):
        raise IRError(f"{where}: {kind} on a mesh whose edge order is not modelled (it comes "
                      "from a node that does not keep Blender's edge order)")
    if prim.attributes:
        raise IRError(f"{where}: attributes ({', '.join(sorted(prim.attributes))}) through {kind} "
                      "are not supported")
    return True


def per_row(value, ctx) -> np.ndarray:
    """A single-value input per row of the piece, (b,) int64."""
    v = torch.as_tensor(value).reshape(-1)
    v = v.expand(ctx.b) if v.numel() == 1 else v.index_select(0, ctx.rows.to(v.device))
    return v.detach().cpu().numpy().astype(np.int64)


def level_keys(level, ctx) -> np.ndarray:
    """The Level input per row of the piece (b,), clamped to 0..MAX_LEVEL as Blender does."""
    return np.clip(per_row(level, ctx), 0, MAX_LEVEL)


@node("GeometryNodeSubdivideMesh", inputs=[S("Mesh", "GEOMETRY"), S("Level", "INT", 1)],
      outputs=[S("Mesh", "GEOMETRY")])
def subdivide_mesh(n):
    level = n.get("Level")
    if type(level) is Field:
        raise IRError(f"{n.where}: input 'Level' takes a single value, but a field is linked to it")

    def keys(prim, ctx, g):
        return level_keys(level, ctx)[:, None]

    def build(prim, key):
        lv = int(key[0])
        if not subdivisible(prim, lv, n.where, "Subdivide Mesh"):
            return None  # loose vertices only: nothing to subdivide (their attributes stay)
        return subdivide_once(prim) if lv == 1 else subdivide_levels(prim, lv)

    return {"Mesh": remesh(n, n.get("Mesh"), "POINT", {}, keys, build, subdivided_positions, name="subdivide")}
