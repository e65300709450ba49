"""Dual Mesh with Keep Boundaries on a mesh with boundary edges: Blender's calc_dual_mesh
(node_geo_dual_mesh.cc) step by step, which needs the input's edges in Blender's order (the
boundary edges' midpoints become points in edge order, and each boundary vertex's face picks its
boundary edges by face corner). Points: the face centres, the boundary edges' midpoints, then each
boundary vertex kept in place, in vertex order. A face per vertex with a full fan of faces (more
than two) and per boundary vertex (its fan, then the midpoint of its last face's boundary edge,
itself, the midpoint of its first face's). Edges in the order Blender makes them."""
from __future__ import annotations

import numpy as np
import torch

from .remesh import faces_of, new_topology
from .structure import Prim, corner_edges

LOOSE, BOUNDARY, NORMAL, NON_MANIFOLD = 0, 1, 2, 3  # edge types
V_LOOSE, V_NORMAL, V_BOUNDARY, V_NON_MANIFOLD = 0, 1, 2, 3  # vertex types


def _types(edges: np.ndarray, cedge: np.ndarray, nv: int):
    """calc_boundaries: (vertex types, edge types)."""
    count = np.bincount(cedge, minlength=edges.shape[0])
    etype = np.minimum(count, 3)  # 0 loose, 1 boundary, 2 normal, 3+ non-manifold
    vtype = np.zeros(nv, np.int64)
    for e, (a, b) in enumerate(edges):
        if etype[e] == BOUNDARY:
            vtype[a], vtype[b] = min(vtype[a] + 1, 3), min(vtype[b] + 1, 3)
        elif etype[e] == NON_MANIFOLD:
            vtype[a] = vtype[b] = V_NON_MANIFOLD
    for e, (a, b) in enumerate(edges):
        if etype[e] == NORMAL:
            for v in (a, b):
                if vtype[v] == V_LOOSE:
                    vtype[v] = V_NORMAL
    return vtype, etype


def _sort_vertex_faces(v, boundary, faces, fo, fv, cedge, edges, etype):
    """sort_vertex_faces: (ok, sorted faces, shared edges, sorted corners); `faces` ascending."""
    faces = list(faces)
    n = len(faces)
    if n <= 2 and (not boundary or n == 0):
        return True, faces, [], []
    pairs = []
    for f in faces:
        found = [c for c in range(fo[f], fo[f + 1]) if v in (edges[cedge[c]][0], edges[cedge[c]][1])][:2]
        pairs.append(found + [found[0]] * (2 - len(found)))
    sorted_corners = [0] * n
    shared = -1
    if boundary:
        for strict in (True, False):  # consistent orientation first, else any boundary face
            for i in range(n):
                c1, c2 = pairs[i]
                if etype[cedge[c1]] == BOUNDARY and (not strict or fv[c1] == v):
                    shared, sorted_corners[0] = cedge[c2], c1
                elif etype[cedge[c2]] == BOUNDARY and (not strict or fv[c2] == v):
                    shared, sorted_corners[0] = cedge[c1], c2
                else:
                    continue
                faces[i], faces[0] = faces[0], faces[i]
                pairs[i], pairs[0] = pairs[0], pairs[i]
                break
            if shared != -1:
                break
    else:
        c1, c2 = pairs[0]
        if fv[c1] == v:
            shared, sorted_corners[0] = cedge[c2], c1
        else:
            shared, sorted_corners[0] = cedge[c1], c2
    shared_edges = []
    for i in range(n - 1):
        shared_edges.append(shared)
        for j in range(i + 1, n):
            c1, c2 = pairs[j]
            if cedge[c1] == shared:
                sorted_corners[i + 1], shared = c1, cedge[c2]
                break
            if cedge[c2] == shared:
                sorted_corners[i + 1], shared = c2, cedge[c1]
                break
        else:
            return False, faces, [], []
        faces[i + 1], faces[j] = faces[j], faces[i + 1]
        pairs[i + 1], pairs[j] = pairs[j], pairs[i + 1]
    if not boundary:
        shared_edges.append(shared)
    return True, faces, shared_edges, sorted_corners


def _boundary_edge_on_face(f, v, fo, cedge, edges, etype):
    for c in range(fo[f], fo[f + 1]):
        e = cedge[c]
        if etype[e] == BOUNDARY and v in (edges[e][0], edges[e][1]):
            return e
    return -1


def _boundary_edges_on_face(f, v, fo, fv, cedge, edges, etype):
    first, swap = -1, False
    for c in range(fo[f], fo[f + 1]):
        e = cedge[c]
        if etype[e] == BOUNDARY and v in (edges[e][0], edges[e][1]):
            if first != -1:
                return (e, first) if swap else (first, e)
            first, swap = e, fv[c] == v
    return first, -1


def dual_keep_boundaries(prim: Prim, edges: np.ndarray):
    """NewTopology of calc_dual_mesh with Keep Boundaries, `edges` the input's (E, 2) in Blender's
    order. extra: "mid_edges" ((M, 2) the boundary edges' points, whose midpoints follow the face
    centres), "kept" (the boundary vertices kept, after those), "point_face" (the face each
    extra point takes FACE attributes from, -1: none), "vert_of_face" (the old vertex each new
    face takes POINT attributes from, as Blender maps them; None where its map does not fit)."""
    fo, fv, sizes, _ = faces_of(prim)
    nv, nf = prim.num_vertices, sizes.shape[0]
    cedge = corner_edges(fo, fv, edges, nv)
    vtype, etype = _types(edges, cedge, nv)
    vert_faces = [[] for _ in range(nv)]
    for f in range(nf):
        for c in range(fo[f], fo[f + 1]):
            vert_faces[fv[c]].append(f)
    shared_of, corners_of = {}, {}
    for v in range(nv):
        if vtype[v] in (V_LOOSE, V_NON_MANIFOLD):
            continue
        ok, vert_faces[v], shared, sorted_corners = _sort_vertex_faces(
            v, vtype[v] == V_BOUNDARY, vert_faces[v], fo, fv, cedge, edges, etype)
        if not ok:
            vtype[v] = V_NON_MANIFOLD
            continue
        shared_of[v], corners_of[v] = shared, sorted_corners
    mid_edges = np.flatnonzero(etype == BOUNDARY)
    mid_point = {int(e): nf + k for k, e in enumerate(mid_edges)}
    n_points = nf + len(mid_edges)
    new_edges, old_to_new = [], np.full(edges.shape[0], -1, np.int64)
    for v in range(nv):  # dissolve_redundant_verts
        if len(vert_faces[v]) != 2 or vtype[v] != V_NORMAL:
            continue
        f0, f1 = vert_faces[v]
        created, index = False, len(new_edges)
        for c in range(fo[f0], fo[f0 + 1]):
            e = cedge[c]
            mark = False
            for w in edges[e]:
                if vtype[w] != V_BOUNDARY and vert_faces[w] == [f0, f1]:
                    vtype[w], mark = V_LOOSE, True
            if mark:
                if not created:
                    new_edges.append((f0, f1))
                    created = True
                old_to_new[e] = index
    out_faces, out_corners, kept, point_face = [], [], [], {}

    def edge_for(old, a, b):
        if old_to_new[old] == -1:
            old_to_new[old] = len(new_edges)
            new_edges.append((a, b))

    for v in range(nv):
        if vtype[v] in (V_LOOSE, V_NON_MANIFOLD):
            continue
        ring, shared, sorted_corners = list(vert_faces[v]), shared_of[v], corners_of[v]
        if vtype[v] == V_NORMAL:
            if len(ring) <= 2:
                continue
            for i, old in enumerate(shared):
                edge_for(old, ring[i], ring[(i + 1) % len(ring)])
            out_corners += sorted_corners
        else:
            for i, old in enumerate(shared):
                edge_for(old, ring[i], ring[i + 1])
            out_corners += sorted_corners
            if len(ring) >= 2:
                edge1 = _boundary_edge_on_face(ring[-1], v, fo, cedge, edges, etype)
                edge2 = _boundary_edge_on_face(ring[0], v, fo, cedge, edges, etype)
            else:
                edge1, edge2 = _boundary_edges_on_face(ring[0], v, fo, fv, cedge, edges, etype)
            last, first, m1, m2 = ring[-1], ring[0], mid_point[edge1], mid_point[edge2]
            ring.append(m1)
            out_corners.append(sorted_corners[-1])
            if old_to_new[edge1] == -1:
                edge_for(edge1, last, m1)
                point_face[m1] = last
            me = n_points
            n_points += 1
            kept.append(v)
            point_face[me] = last
            ring.append(me)
            out_corners.append(sorted_corners[0])
            new_edges.append((m1, me))
            ring.append(m2)
            out_corners.append(sorted_corners[0])
            new_edges.append((me, m2))
            if old_to_new[edge2] == -1:
                edge_for(edge2, m2, first)
                point_face[m2] = first
        out_faces.append(ring)
    verts_of_faces = [v for v in range(nv) if vtype[v] in (V_NORMAL, V_BOUNDARY)]
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in out_faces])]).astype(np.int64)
    loops = np.concatenate([np.asarray(f, np.int64) for f in out_faces]) if out_faces else np.zeros(0, np.int64)
    pf = np.full(n_points - nf, -1, np.int64)
    for p, f in point_face.items():
        pf[p - nf] = f
    extra = {"face_part": torch.zeros(len(out_faces), dtype=torch.int64), "carried": True, "own_edges": True,
             "mid_edges": torch.as_tensor(edges[mid_edges].reshape(-1, 2)), "kept": torch.as_tensor(kept, dtype=torch.int64),
             "point_face": torch.as_tensor(pf),
             "vert_of_face": torch.as_tensor(verts_of_faces) if len(verts_of_faces) == len(out_faces) else None}
    face_src = verts_of_faces if len(verts_of_faces) == len(out_faces) else np.zeros(len(out_faces), np.int64)
    return new_topology(n_points, offsets, loops, np.zeros(n_points, np.int64), face_src, out_corners, extra,
                        edges=np.asarray(new_edges, np.int64).reshape(-1, 2))
