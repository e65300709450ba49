"""Subdivide Mesh: Blender's simple subdivision (OpenSubdiv's bilinear scheme through
subdiv_mesh.cc), levels 0 and 1, needing the mesh's edges in Blender's order.

Level 1 (checked against bpy): points = the old points, then each edge's midpoint by edge index,
then each face's centre (the mean of its corners); each face of k corners becomes k quads, the one
of corner c (edges m(c) from corner c to c+1, m(c-1) into it, centre C) (v_c, m(c), C, m(c-1)),
which a quad (one ptex face in OpenSubdiv) rotates right by c; the edges: each old edge split in
two in edge order ((v1, mid), (mid, v2)), then per face its (m(c), C). Levels 2 and more order
their inner points and faces otherwise (not modelled: an error naming the node).
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


def _positions(topo, old, grids, ctx, j):
    """Old points, edge midpoints, face centres (the mean of the corners): (b, V', 3)."""
    x = topo.extra
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
        if lv > 1:
            raise IRError(f"{n.where}: Subdivide Mesh level {lv} is not supported (levels 0 and 1 are: "
                          "Blender orders the points of level 2 and more otherwise)")
        if not edges_known(prim):
            raise IRError(f"{n.where}: Subdivide Mesh on a mesh whose edge order is not modelled (it comes "
                          "from a node that does not keep Blender's edge order)")
        if prim.attributes:
            raise IRError(f"{n.where}: attributes ({', '.join(sorted(prim.attributes))}) through Subdivide Mesh "
                          "are not supported")
        return subdivide_once(prim)

    return {"Mesh": remesh(n, n.get("Mesh"), "POINT", {}, keys, build, _positions, name="subdivide")}
