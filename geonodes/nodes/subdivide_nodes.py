"""Subdivide Mesh: Blender's simple subdivision (OpenSubdiv's bilinear scheme through
subdiv_mesh.cc), levels 0 and 1 on any mesh, levels 2+ on meshes of quads (and loose edges),
needing the mesh's edges in Blender's order.

Level 1 (checked against bpy): points = the old points, then each edge's midpoint by edge index,
then each face's centre (the mean of its corners); each face of k corners becomes k quads, the one
of corner c (edges m(c) from corner c to c+1, m(c-1) into it, centre C) (v_c, m(c), C, m(c-1)),
which a quad (one ptex face in OpenSubdiv) rotates right by c; the edges: each old edge split in
two in edge order ((v1, mid), (mid, v2)), then per face its (m(c), C). Levels 2 and more: see
`subdivide_quads`; on faces other than quads (one OpenSubdiv ptex face per corner, with points
on the spokes to the centre) their order is not modelled: an error naming the node.
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

_MAX_LEVEL = 11  # Blender clamps the level


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


def subdivide_quads(prim, level: int):
    """The NewTopology of simple subdivision at `level` >= 2 of a mesh of quads (and loose edges),
    as Blender's subdiv_mesh orders it (checked against bpy): res = 2^level + 1 points a side;
    points: the old ones, each edge's res-2 inner points from its first point to its second by
    edge index, each face's (res-2)^2 inner grid points (u from corner 0 to 1 fastest, v from
    corner 0 to 3); faces per face: the inner cells row by row, then the ring of cells along the
    border from corner 0 round the face; edges: the old ones split, then per face the inner grid's
    (row by row: a row's edges, then those up to the next row), then the border's inner points
    to the inner grid, round the face. Each new point: weights of up to 4 old points (bilinear)."""
    fo, fv, sizes, _ = faces_of(prim)
    edges = prim_edges(prim).numpy()
    nv, ne, nf = prim.num_vertices, edges.shape[0], sizes.shape[0]
    r = 2 ** level + 1
    m = r - 2
    edge_of = {(int(min(a, b)), int(max(a, b))): i for i, (a, b) in enumerate(edges)}
    src = [[(v, 1.0)] for v in range(nv)]
    for a, b in edges:
        src += [[(int(a), 1 - t), (int(b), t)] for t in (np.arange(1, r - 1) / (r - 1))]
    loops, face_src, new_edges = [], [], []
    for i, (a, b) in enumerate(edges):
        chain = [int(a)] + list(range(nv + i * m, nv + (i + 1) * m)) + [int(b)]
        new_edges += list(zip(chain[:-1], chain[1:]))
    inner_edges, corner_src = [], []
    for f in range(nf):
        q = [int(v) for v in fv[fo[f]:fo[f + 1]]]
        base = nv + ne * m + f * m * m
        g = {}

        def side(a, b):  # the inner points of edge a -> b, in that direction
            e = edge_of[(min(a, b), max(a, b))]
            pts = list(range(nv + e * m, nv + (e + 1) * m))
            return pts if int(edges[e][0]) == a else pts[::-1]
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
        cells = [(i, j) for j in range(1, r - 2) for i in range(1, r - 2)] + ring
        for i, j in cells:
            loops += [g[i, j], g[i + 1, j], g[i + 1, j + 1], g[i, j + 1]]
            face_src.append(f)
            corner_src += [fo[f]] * 4
        for j in range(1, r - 1):
            inner_edges += [(g[i, j], g[i + 1, j]) for i in range(1, r - 2)]
            if j < r - 2:
                inner_edges += [(g[i, j], g[i, j + 1]) for i in range(1, r - 1)]
        inner_edges += ([(g[i, 0], g[i, 1]) for i in range(1, r - 1)] + [(g[r - 1, j], g[r - 2, j]) for j in range(1, r - 1)]
                        + [(g[i, r - 1], g[i, r - 2]) for i in range(r - 2, 0, -1)]
                        + [(g[0, j], g[1, j]) for j in range(r - 2, 0, -1)])
    idx = np.zeros((len(src), 4), np.int64)
    w = np.zeros((len(src), 4))
    for k, terms in enumerate(src):
        for t, (v, wt) in enumerate(terms):
            idx[k, t], w[k, t] = v, wt
    offsets = np.arange(0, 4 * len(face_src) + 1, 4)
    topo = new_topology(len(src), offsets, loops, idx[:, 0], face_src, corner_src,
                        edges=np.asarray(new_edges + inner_edges, np.int64))
    topo.extra = {"weights": (torch.as_tensor(idx), torch.as_tensor(w))}
    return topo


def _positions(topo, old, grids, ctx, j):
    """Old points, edge midpoints, face centres (the mean of the corners): (b, V', 3); at
    level 2+, weighted sums of old points."""
    x = topo.extra
    if "weights" in x:
        idx, w = x["weights"]
        picked = old.index_select(1, idx.to(old.device).reshape(-1)).reshape(old.shape[0], -1, 4, 3)
        return (picked * w.to(old.device, old.dtype)[None, :, :, None]).sum(2), {}
    e = x["edges"].to(old.device)
    mids = (old.index_select(1, e[:, 0]) + old.index_select(1, e[:, 1])) * 0.5
    fv = ctx.mesh.face_vertices
    sums = old.new_zeros((old.shape[0], x["sizes"].shape[0], 3)).index_add(
        1, x["corner_face"].to(old.device), old.index_select(1, fv))
    centers = sums / x["sizes"].to(old.device, old.dtype)[None, :, None]
    return torch.cat([old, mids, centers], 1), {}


@node("GeometryNodeSubdivideMesh", inputs=[S("Mesh", "GEOMETRY"), S("Level", "INT", 1)],
      outputs=[S("Mesh", "GEOMETRY")])
def subdivide_mesh(n):
    level = n.get("Level")
    if type(level) is Field:
        raise IRError(f"{n.where}: input 'Level' takes a single value, but a field is linked to it")

    def keys(prim, ctx, g):
        lv = torch.as_tensor(level).reshape(-1)
        lv = lv.expand(ctx.b) if lv.numel() == 1 else lv.index_select(0, ctx.rows.to(lv.device))
        return np.clip(lv.detach().cpu().numpy().astype(np.int64), 0, _MAX_LEVEL)[:, None]

    def build(prim, key):
        lv = int(key[0])
        if lv == 0:
            return None
        if lv > 1 and bool((prim.face_offsets[1:] - prim.face_offsets[:-1] != 4).any()):
            raise IRError(f"{n.where}: Subdivide Mesh level {lv} on faces other than quads is not supported "
                          "(levels 0 and 1 are, and quads at any level)")
        if not edges_known(prim):
            raise IRError(f"{n.where}: Subdivide Mesh on a mesh whose edge order is not modelled (it comes "
                          "from a node that does not keep Blender's edge order)")
        if prim.attributes:
            raise IRError(f"{n.where}: attributes ({', '.join(sorted(prim.attributes))}) through Subdivide Mesh "
                          "are not supported")
        return subdivide_once(prim) if lv == 1 else subdivide_quads(prim, lv)

    return {"Mesh": remesh(n, n.get("Mesh"), "POINT", {}, keys, build, _positions, name="subdivide")}
