"""Dual Mesh topology (Blender's calc_dual_mesh, Keep Boundaries off or no boundary): a point
per face (its centre), a face per manifold vertex with more than two faces, in vertex order,
its corners the vertex's faces sorted around it as Blender's sort_vertex_faces does, and its
edges in Blender's order (see `dual_topology`)."""
from __future__ import annotations

import numpy as np
import torch

from .remesh import faces_of, new_topology
from .structure import Prim


def _edge_key(a, b, nv):
    return min(a, b) * nv + max(a, b)


def dual_topology(prim: Prim) -> tuple:
    """(NewTopology, has boundary edges). NewTopology's point_src is unused (points come from
    faces: extra "vert_face"); face_src holds the old vertex of each new face (for attributes,
    see `dual_attributes`); corner_src the old corner of each new corner."""
    fo, fv, sizes, corner_face = faces_of(prim)
    nv, nf = prim.num_vertices, sizes.shape[0]
    corners = np.arange(fv.shape[0])
    start, end = fo[:-1][corner_face], fo[1:][corner_face]
    nxt = np.where(corners + 1 == end, start, corners + 1)
    corner_edge = np.minimum(fv, fv[nxt]) * max(nv, 1) + np.maximum(fv, fv[nxt])
    edge_keys, edge_faces = np.unique(corner_edge, return_counts=True)
    face_count = dict(zip(edge_keys.tolist(), edge_faces.tolist()))
    # vertex types (calc_boundaries): boundary edge -> boundary verts; > 2 faces -> non-manifold
    vtype = np.zeros(nv, np.int64)  # 0 loose, 1 normal, 2 boundary, 3 non-manifold
    boundary_hits = np.zeros(nv, np.int64)
    for key, count in face_count.items():
        a, b = divmod(key, max(nv, 1))
        if count == 1:
            boundary_hits[[a, b]] += 1
        elif count > 2:
            vtype[[a, b]] = 3
    for v in range(nv):  # each boundary edge steps a vertex loose -> normal -> boundary -> non-manifold
        if vtype[v] != 3 and boundary_hits[v]:
            vtype[v] = min(boundary_hits[v], 3)
    for key, count in face_count.items():
        if count == 2:
            a, b = divmod(key, max(nv, 1))
            for v in (a, b):
                if vtype[v] == 0:
                    vtype[v] = 1
    vert_faces = [[] for _ in range(nv)]
    for f in range(nf):
        for c in range(fo[f], fo[f + 1]):
            if not vert_faces[fv[c]] or vert_faces[fv[c]][-1] != f:
                vert_faces[fv[c]].append(f)
    out_faces, out_corners, face_src = [], [], []
    # Blender's edges, made face by face (an old edge's dual when first met, from the face before
    # it around the vertex to the one after); a vertex between two faces only (dissolve_redundant_
    # verts, edges made first) leaves their order unmodelled
    edges, made = [], set()
    edges_known = not any(vtype[v] == 1 and len(vert_faces[v]) == 2 for v in range(nv))
    for v in range(nv):
        faces = vert_faces[v]
        if vtype[v] != 1 or len(faces) <= 2:
            continue
        pairs = []
        for f in faces:
            found = [c for c in range(fo[f], fo[f + 1]) if fv[c] == v or fv[nxt[c]] == v][:2]
            pairs.append(found)
        order, sorted_corners = list(faces), []
        c1, c2 = pairs[0]
        if fv[c1] == v:
            shared, first = corner_edge[c2], c1
        else:
            shared, first = corner_edge[c1], c2
        sorted_corners.append(first)
        ok, shared_edges = True, []
        for i in range(len(order) - 1):
            shared_edges.append(shared)
            for j in range(i + 1, len(order)):
                c1, c2 = pairs[j]
                if corner_edge[c1] == shared:
                    sorted_corners.append(c1)
                    shared = corner_edge[c2]
                    break
                if corner_edge[c2] == shared:
                    sorted_corners.append(c2)
                    shared = corner_edge[c1]
                    break
            else:
                ok = False
                break
            order[i + 1], order[j] = order[j], order[i + 1]
            pairs[i + 1], pairs[j] = pairs[j], pairs[i + 1]
        if not ok:  # the faces around it do not form a loop: non-manifold, skipped
            continue
        shared_edges.append(shared)
        for i, old_edge in enumerate(shared_edges):
            if old_edge not in made:
                made.add(old_edge)
                edges.append((order[i], order[(i + 1) % len(order)]))
        out_faces.append(order)
        out_corners.extend(sorted_corners)
        face_src.append(v)
    sizes_out = [len(f) for f in out_faces]
    offsets = np.concatenate([[0], np.cumsum(sizes_out)]).astype(np.int64)
    loops = np.concatenate([np.asarray(f, np.int64) for f in out_faces]) if out_faces else np.zeros(0, np.int64)
    topo = new_topology(nf, offsets, loops, np.zeros(nf, np.int64), face_src, out_corners,
                        # own_edges: their order follows the faces, whatever the old edges' order
                        {"face_part": torch.zeros(len(out_faces), dtype=torch.int64), "carried": True,
                         "own_edges": True},
                        edges=np.asarray(edges, np.int64).reshape(-1, 2) if edges_known else None)
    return topo, bool((edge_faces == 1).any())
