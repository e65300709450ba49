"""Extrude Mesh of face regions (FACES with Individual off): the new topology, as Blender 4.2's
extrude_mesh_face_regions builds it (the other modes: remesh.py)."""
from __future__ import annotations

import numpy as np
import torch

from .remesh import NewTopology, faces_of, new_topology
from .structure import Prim, corner_edges, prim_edges


def _first_seen(values: np.ndarray) -> np.ndarray:
    """The distinct values in the order they first occur (Blender's VectorSet)."""
    uniq, first = np.unique(values, return_index=True)
    return uniq[np.argsort(first, kind="stable")]


def extrude_face_regions(prim: Prim, selected: np.ndarray) -> NewTopology:
    """Blender's extrude_mesh_face_regions on a mesh whose edges are in Blender's order.

    An edge with one selected face is a boundary edge (it gets a side quad); one with several
    selected faces and a deselected one is a new inner edge (duplicated, so the deselected
    faces keep the old one); one with only selected faces stays, moved onto the new points.
    New points: the boundary edges' points, then the new inner edges' ones (each edge's two
    points in edge order, each point once), appended; the selected faces use them. New edges,
    after the old ones: one from each boundary point to its copy, the boundary edges' copies,
    the new inner edges' copies. Side quads, one per boundary edge in edge order, appended:
    (n1, v1, v2, n2) where the selected face runs n1 -> n2 along the edge, else (n1, n2, v2, v1).
    extra: "points" (the new points' sources), "corner_face" / "corner_vert" / "corner_count"
    (the selected faces' corners and how many each point has: the offsets are averaged per
    point over them), "in_place" (points of selected faces without a copy: they move
    themselves), "edge_mix" (how EDGE attributes follow), "top", "side" (face masks)."""
    fo, fv, sizes, corner_face = faces_of(prim)
    edges = prim_edges(prim).numpy().astype(np.int64)
    nv, nf, ne = prim.num_vertices, sizes.shape[0], edges.shape[0]
    corner_edge = corner_edges(fo, fv, edges, nv)
    sel_corner = selected[corner_face]
    n_sel = np.bincount(corner_edge[sel_corner], minlength=ne)
    n_desel = np.bincount(corner_edge[~sel_corner], minlength=ne)
    boundary = np.flatnonzero(n_sel == 1)
    new_inner = np.flatnonzero((n_sel > 1) & (n_desel > 0))
    inner = np.flatnonzero((n_sel > 1) & (n_desel == 0))
    # the corner of the extruded face on each boundary edge (the only selected one there)
    corner_of = np.full(ne, -1, np.int64)
    sel_corners = np.flatnonzero(sel_corner)
    corner_of[corner_edge[sel_corners]] = sel_corners
    along = corner_of[boundary]
    extruded_face = corner_face[along]

    points = _first_seen(np.concatenate([edges[boundary].reshape(-1), edges[new_inner].reshape(-1)]))
    n_connect = np.unique(edges[boundary]).shape[0]
    copy = np.full(nv, -1, np.int64)
    copy[points] = nv + np.arange(points.shape[0])

    def on_copies(v):
        return np.where(copy[v] >= 0, copy[v], v)

    old_edges = edges.copy()
    old_edges[inner] = on_copies(edges[inner])
    new_edges = np.concatenate([old_edges, np.stack([points[:n_connect], nv + np.arange(n_connect)], 1),
                                copy[edges[boundary]], copy[edges[new_inner]]]).reshape(-1, 2)

    loops = fv.copy()
    loops[sel_corner] = on_copies(fv[sel_corner])
    v1, v2 = edges[boundary, 0], edges[boundary, 1]
    n1, n2 = copy[v1], copy[v2]
    forward = fv[along] == v1
    quads = np.where(forward[:, None], np.stack([n1, v1, v2, n2], 1), np.stack([n1, n2, v2, v1], 1))
    # side corners take the data of the extruded face's corners at the same point (v1 or v2)
    nxt = np.arange(fv.shape[0]) + 1
    nxt = np.where(nxt == fo[1:][corner_face], fo[:-1][corner_face], nxt)
    c1 = np.where(forward, along, nxt[along])
    c2 = np.where(forward, nxt[along], along)
    first_side = (quads == n1[:, None]) | (quads == v1[:, None])
    side_corner_src = np.where(first_side, c1[:, None], c2[:, None]).reshape(-1)

    count = boundary.shape[0]
    offsets = np.concatenate([fo, fo[-1] + 4 * np.arange(1, count + 1)])
    face_src = np.concatenate([np.arange(nf), extruded_face])
    corner_src = np.concatenate([np.arange(fv.shape[0]), side_corner_src])
    # EDGE attributes: the old edges keep theirs, each connecting edge mixes the boundary edges
    # at its point, the copies copy
    at_point = np.stack([boundary, boundary], 1).reshape(-1)
    ends = edges[boundary].reshape(-1)
    connect_of = np.full(nv, -1, np.int64)
    connect_of[points[:n_connect]] = ne + np.arange(n_connect)
    mix_src = np.concatenate([np.arange(ne), at_point, boundary, new_inner])
    mix_dst = np.concatenate([np.arange(ne), connect_of[ends], ne + n_connect + np.arange(count + new_inner.shape[0])])
    moved = np.zeros(nv, bool)
    moved[fv[sel_corner]] = True
    moved[points] = False
    extra = {"points": torch.as_tensor(points), "corner_face": torch.as_tensor(corner_face[sel_corner]),
             "corner_vert": torch.as_tensor(fv[sel_corner]),
             "corner_count": torch.as_tensor(np.bincount(fv[sel_corner], minlength=nv)),
             "in_place": torch.as_tensor(moved),
             "edge_mix": (torch.as_tensor(mix_src), torch.as_tensor(mix_dst)),
             "top": torch.as_tensor(np.concatenate([selected, np.zeros(count, bool)])),
             "side": torch.as_tensor(np.concatenate([np.zeros(nf, bool), np.ones(count, bool)]))}
    return new_topology(nv + points.shape[0], offsets, np.concatenate([loops, quads.reshape(-1)]),
                        np.concatenate([np.arange(nv), points]), face_src, corner_src, extra, edges=new_edges)
