"""Meshes made from other meshes (Flip Faces, Triangulate, Extrude, ...): the new topology of a
dense primitive, computed once per distinct input topology and per-row choice (cached by the
caller), and the new primitive put together from it.

A `NewTopology` says where each new element comes from (`point_src`, `face_src`,
`corner_src`: indices into the old mesh's elements), so attributes follow as Blender copies
them; positions are computed by the node itself (torch ops of the old positions).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import IRError
from ..fields import mix_groups
from .structure import Prim, corner_edges, edges_known, prim_edges


@dataclass
class NewTopology:
    num_vertices: int
    face_offsets: torch.Tensor  # (F'+1,) int64
    face_vertices: torch.Tensor  # (L',) int64
    point_src: torch.Tensor  # (V',) old point of each new point
    face_src: torch.Tensor  # (F',) old face of each new face
    corner_src: torch.Tensor  # (L',) old corner of each new corner
    extra: dict | None = None  # node-specific arrays (e.g. which faces are the extrusion's top)
    edges: torch.Tensor | None = None  # (E', 2) in the order EDGE attributes use; None: the polygons'
    edges_known: bool = True  # `edges` are in Blender's order


def new_topology(num_vertices: int, offsets, loops, point_src, face_src, corner_src, extra=None,
                 edges=None) -> NewTopology:
    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.int64))  # noqa: E731
    return NewTopology(int(num_vertices), t(offsets), t(loops), t(point_src), t(face_src), t(corner_src), extra,
                       None if edges is None else t(edges).reshape(-1, 2))


def faces_of(prim: Prim):
    """(offsets, loops, sizes, corner face) of a primitive's polygons as numpy arrays."""
    fo = prim.face_offsets.numpy()
    sizes = np.diff(fo)
    return fo, prim.face_vertices.numpy(), sizes, np.repeat(np.arange(sizes.shape[0]), sizes)


def whole_batch(values: torch.Tensor, rows: torch.Tensor, batch: int) -> torch.Tensor:
    """(b, ...) values of batch `rows` as a (batch, ...) tensor (zeros in the other rows, which
    the piece never reads)."""
    if rows.shape[0] == batch:
        return values
    return values.new_zeros((batch,) + tuple(values.shape[1:])).index_copy(0, rows, values)


def remeshed_prim(prim: Prim, topo: NewTopology, key: tuple, positions: torch.Tensor, rows: torch.Tensor,
                  attributes: dict | None = None, where: str = "") -> Prim:
    """The new primitive of batch `rows` ((b,) indices): `positions` (b, V', 3); the old
    attributes carried along (POINT, FACE, CORNER; EDGE where the topology's extra has
    "edge_mix": (sources, targets), each new edge the mix of its sources as Blender mixes
    attributes, else an error naming `where`; FACE likewise by "face_mix" where given), unless the topology's extra says "carried" (the
    node moved them itself), plus `attributes` (name -> (domain, (b, N, ...) values))."""
    batch = prim.dense.shape[0]
    src = {"POINT": topo.point_src, "FACE": topo.face_src, "CORNER": topo.corner_src}
    carried = {}
    for name, (domain, values) in prim.attributes.items():
        if topo.extra and topo.extra.get("carried"):
            break
        if domain == "EDGE":
            mixing = topo.extra.get("edge_mix") if topo.extra else None
            if mixing is None:
                raise IRError(f"{where}: attributes on the EDGE domain ('{name}') through this node are not supported")
            picked = values.index_select(0, rows).index_select(1, mixing[0].to(values.device))
            mixed = mix_groups(picked, mixing[1].to(values.device), topo.edges.shape[0], any_true=True)
            carried[name] = (domain, whole_batch(mixed, rows, batch))
            continue
        if domain == "FACE" and topo.extra and "face_mix" in topo.extra:
            mixing = topo.extra["face_mix"]
            picked = values.index_select(0, rows).index_select(1, mixing[0].to(values.device))
            mixed = mix_groups(picked, mixing[1].to(values.device), topo.face_offsets.shape[0] - 1, any_true=True)
            carried[name] = (domain, whole_batch(mixed, rows, batch))
            continue
        if domain in src:
            picked = values.index_select(0, rows).index_select(1, src[domain].to(values.device))
            carried[name] = (domain, whole_batch(picked, rows, batch))
    for name, (domain, values) in (attributes or {}).items():
        carried[name] = (domain, whole_batch(values, rows, batch))
    if topo.extra and "face_part" in topo.extra:
        face_part = topo.extra["face_part"]
    elif prim.face_part is not None:
        face_part = prim.face_part.index_select(0, topo.face_src)
    else:
        face_part = torch.zeros(topo.face_src.shape[0], dtype=torch.int64)
    return Prim(key, topo.num_vertices, topo.face_offsets, topo.face_vertices, None,
                dense=whole_batch(positions, rows, batch), attributes=carried, face_part=face_part,
                num_parts=prim.num_parts, edges=topo.edges,
                edges_known=topo.edges_known and (edges_known(prim) or bool((topo.extra or {}).get("own_edges"))))


# ------------------------------------------------------------------ Flip Faces, Triangulate


def flip_faces(prim: Prim, selected: np.ndarray) -> NewTopology:
    """Selected faces' corners reversed after the first (Blender's mesh_flip_faces; the edges stay)."""
    fo, fv, sizes, corner_face = faces_of(prim)
    corners = np.arange(fv.shape[0])
    start, end = fo[:-1][corner_face], fo[1:][corner_face]
    flipped = np.where(corners == start, corners, start + end - corners)
    corner_src = np.where(selected[corner_face], flipped, corners)
    return new_topology(prim.num_vertices, fo, fv[corner_src], np.arange(prim.num_vertices),
                        np.arange(sizes.shape[0]), corner_src, edges=prim.edges)


def triangulate_faces(prim: Prim, triangles: dict, edges_known: bool = False) -> NewTopology:
    """Faces split into triangles as Blender 4.2's BMesh triangulation does: `triangles` maps a
    face to its triangles (triples of the face's local corner indices, in BM_face_triangulate's
    order); the last triangle takes the face's place, the others are appended after every
    face, face by face. The edges: the old ones, then the new diagonals face by face, each
    triangle's in its corner order; `edges_known`: the caller vouches that this is Blender's order
    (checked against bpy for quads and CLIP n-gons)."""
    fo, fv, sizes, _ = faces_of(prim)
    kept, appended, face_src = [], [], list(range(sizes.shape[0]))
    for f in range(sizes.shape[0]):
        tris = triangles.get(f)
        if tris is None:
            kept.append(np.arange(fo[f], fo[f + 1]))
            continue
        corners = [fo[f] + np.asarray(t, np.int64) for t in tris]
        kept.append(corners[-1])
        appended += corners[:-1]
        face_src += [f] * (len(corners) - 1)
    corner_src = np.concatenate(kept + appended).astype(np.int64)
    new_sizes = [len(c) for c in kept + appended]
    offsets = np.concatenate([[0], np.cumsum(new_sizes)])
    edges = None
    if prim.edges is not None:
        old = prim.edges.numpy()
        seen = {(int(min(a, b)), int(max(a, b))) for a, b in old}
        new = []
        for f in range(sizes.shape[0]):
            for t in triangles.get(f, ()):
                for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
                    va, vb = int(fv[fo[f] + a]), int(fv[fo[f] + b])
                    if (min(va, vb), max(va, vb)) not in seen:
                        seen.add((min(va, vb), max(va, vb)))
                        new.append((va, vb))
        edges = np.concatenate([old, np.asarray(new, np.int64).reshape(-1, 2)])
    topo = new_topology(prim.num_vertices, offsets, fv[corner_src], np.arange(prim.num_vertices),
                        np.asarray(face_src, np.int64), corner_src, edges=edges)
    topo.edges_known = edges_known
    return topo


def triangulate_faces_43(prim: Prim, triangles: dict, edges_known: bool = False) -> NewTopology:
    """Faces split into triangles as Blender 4.3+ does (geometry::mesh_triangulate, rewritten in
    4.3): `triangles` maps each chosen quad or n-gon to its triangles (triples of local corner
    indices); the new triangles come first (the n-gons', face by face, then the quads'), each
    triangle once (a triangle equal to an earlier one, as a vertex set, is dropped), then the
    faces left as they were, in order, less the old triangles a new one repeats. The edges: the
    old ones, then bke::mesh_calc_edges' new ones over the new faces (`polygon_edges` order)."""
    fo, fv, sizes, _ = faces_of(prim)
    seen, corners, face_src = set(), [], []
    for f in sorted(triangles, key=lambda f: (sizes[f] == 4, f)):
        for t in triangles[f]:
            c = fo[f] + np.asarray(t, np.int64)
            key = tuple(sorted(int(v) for v in fv[c]))
            if key not in seen:
                seen.add(key)
                corners.append(c)
                face_src.append(f)
    for f in range(sizes.shape[0]):
        if f in triangles or (sizes[f] == 3 and tuple(sorted(int(v) for v in fv[fo[f]:fo[f + 1]])) in seen):
            continue
        corners.append(np.arange(fo[f], fo[f + 1]))
        face_src.append(f)
    corner_src = np.concatenate(corners).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(c) for c in corners])])
    edges = None
    if prim.edges is not None:
        old = prim.edges.numpy()
        known = {(int(min(a, b)), int(max(a, b))) for a, b in old}
        new = []
        for c in corners:
            for k in range(len(c)):
                a, b = int(fv[c[k - 1]]), int(fv[c[k]])
                pair = (min(a, b), max(a, b))
                if pair not in known:
                    known.add(pair)
                    new.append(pair)
        edges = np.concatenate([old, np.asarray(new, np.int64).reshape(-1, 2)])
    topo = new_topology(prim.num_vertices, offsets, fv[corner_src], np.arange(prim.num_vertices),
                        np.asarray(face_src, np.int64), corner_src, edges=edges)
    topo.edges_known = edges_known and len(corners) < 1000
    return topo


def quad_triangles_43(split_13: bool) -> list:
    """A quad's two triangles as Blender 4.3+ makes them: on 0-2 (2, 0, 1), (0, 2, 3); on 1-3
    (1, 3, 0), (3, 1, 2)."""
    return [(1, 3, 0), (3, 1, 2)] if split_13 else [(2, 0, 1), (0, 2, 3)]


def quad_triangles(split_13: bool) -> list:
    """A quad's two triangles: loops from corner 0 (or 1), tris (0, 1, 2) and (0, 2, 3) of them."""
    s = 1 if split_13 else 0
    loop = [s, s + 1, (s + 2) % 4, (s + 3) % 4]
    return [(loop[0], loop[1], loop[2]), (loop[0], loop[2], loop[3])]


# ------------------------------------------------------------------ Scale Elements


def element_islands(prim: Prim, domain: str, selected: np.ndarray, edges: np.ndarray) -> NewTopology:
    """The same mesh, with the islands of Scale Elements in `extra`: selected faces (or edges)
    joined where they share a point (Blender's face_to_vert_islands). extra: "elements" (the
    selected elements), "element_island" (their island), "points", "point_island", "islands"."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    fo, fv, sizes, corner_face = faces_of(prim)
    nv = prim.num_vertices
    if domain == "FACE":
        elements = np.flatnonzero(selected)
        corners = np.flatnonzero(selected[corner_face])
        first = fv[fo[:-1][corner_face[corners]]]
        a, b = first, fv[corners]
        member = fv[corners]
        element_first = fv[fo[:-1][elements]]
    else:
        elements = np.flatnonzero(selected)
        a, b = edges[elements, 0], edges[elements, 1]
        member = edges[elements].reshape(-1)
        element_first = edges[elements, 0]
    graph = coo_matrix((np.ones(a.shape[0]), (a, b)), shape=(nv, nv))
    _, labels = connected_components(graph, directed=False)
    points = np.unique(member)
    island_ids, point_island = np.unique(labels[points], return_inverse=True)
    element_island = np.searchsorted(island_ids, labels[element_first])
    same = torch.arange(prim_edges(prim).shape[0])  # the edges stay, their attributes with them
    extra = {"elements": elements, "element_island": element_island, "points": points,
             "point_island": point_island.reshape(-1), "islands": island_ids.shape[0], "edge_mix": (same, same)}
    extra = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in extra.items()}
    n_faces = sizes.shape[0]
    return new_topology(nv, fo, fv, np.arange(nv), np.arange(n_faces), np.arange(fv.shape[0]), extra,
                        edges=prim.edges)


# ------------------------------------------------------------------ Extrude Mesh


def extrude_individual_faces(prim: Prim, selected: np.ndarray) -> NewTopology:
    """Blender's extrude_individual_mesh_faces: each selected face gets new points (one per
    corner, appended face by face) and keeps its place, now on them; one side quad per corner
    (new next, new, old, old next) is appended, face by face. New edges after the old ones: one
    per corner from its point to its new point, then one per corner from its new point to the
    next one (the copy of the corner's edge). extra: "vert_face" (the face each new point moves
    with), "edge_mix" (EDGE attributes: a connecting edge mixes the corner's edge and the
    previous corner's, a copy copies), "top", "side" (face masks)."""
    fo, fv, sizes, corner_face = faces_of(prim)
    nv, nf = prim.num_vertices, sizes.shape[0]
    corners = np.flatnonzero(selected[corner_face])  # the selected faces' corners, in order
    count = corners.shape[0]
    new_vert = nv + np.arange(count)
    loops = fv.copy()
    loops[corners] = new_vert
    start, end = fo[:-1][corner_face[corners]], fo[1:][corner_face[corners]]
    nxt_corner = np.where(corners + 1 == end, start, corners + 1)
    position_of = np.zeros(fv.shape[0], np.int64)
    position_of[corners] = np.arange(count)
    new_next = new_vert[position_of[nxt_corner]]
    side = np.stack([new_next, new_vert, fv[corners], fv[nxt_corner]], 1).reshape(-1)
    offsets = np.concatenate([fo, fo[-1] + 4 * np.arange(1, count + 1)])
    corner_src = np.concatenate([np.arange(fv.shape[0]), np.stack([nxt_corner, corners, corners, nxt_corner], 1).reshape(-1)])
    face_src = np.concatenate([np.arange(nf), corner_face[corners]])
    top = np.concatenate([selected, np.zeros(count, bool)])
    side_mask = np.concatenate([np.zeros(nf, bool), np.ones(count, bool)])
    edges = prim_edges(prim).numpy()
    ne = edges.shape[0]
    corner_edge = corner_edges(fo, fv, edges, nv)
    prv_corner = np.where(corners == start, end - 1, corners - 1)
    k = np.arange(count)
    mix_src = np.concatenate([np.arange(ne), corner_edge[corners], corner_edge[prv_corner], corner_edge[corners]])
    mix_dst = np.concatenate([np.arange(ne), ne + k, ne + k, ne + count + k])
    extra = {"vert_face": torch.as_tensor(corner_face[corners]), "top": torch.as_tensor(top),
             "side": torch.as_tensor(side_mask), "edge_mix": (torch.as_tensor(mix_src), torch.as_tensor(mix_dst))}
    new_edges = np.concatenate([edges, np.stack([fv[corners], new_vert], 1), np.stack([new_vert, new_next], 1)])
    return new_topology(nv + count, offsets, np.concatenate([loops, side]), np.concatenate([np.arange(nv), fv[corners]]),
                        face_src, corner_src, extra, edges=new_edges)


def extrude_vertices(prim: Prim, selected: np.ndarray) -> NewTopology:
    """Blender's extrude_mesh_vertices: a new point per selected point, appended in order, and a
    new (loose) edge from each selected point to its new one, after the old edges. extra:
    "points" (the selected points), "top" (point mask), "edge_mix"."""
    fo, fv, sizes, _ = faces_of(prim)
    nv = prim.num_vertices
    points = np.flatnonzero(selected)
    old = prim_edges(prim).numpy()
    # EDGE attributes: the old edges keep theirs; a new edge mixes the edges at its source point
    # (vert_to_edge_map's order: ascending), none there giving zeros
    ends = np.concatenate([old[:, 0], old[:, 1]])
    at = np.concatenate([np.arange(old.shape[0])] * 2)
    slot = np.full(nv, -1)
    slot[points] = np.arange(points.shape[0])
    hit = slot[ends] >= 0
    pairs = np.lexsort((at[hit], slot[ends][hit]))  # by new edge, then ascending old edge
    mix_src = np.concatenate([np.arange(old.shape[0]), at[hit][pairs]])
    mix_dst = np.concatenate([np.arange(old.shape[0]), old.shape[0] + slot[ends][hit][pairs]])
    extra = {"points": torch.as_tensor(points),
             "top": torch.as_tensor(np.concatenate([np.zeros(nv, bool), np.ones(points.shape[0], bool)])),
             "edge_mix": (torch.as_tensor(mix_src), torch.as_tensor(mix_dst))}
    edges = np.concatenate([old, np.stack([points, nv + np.arange(points.shape[0])], 1)])
    return new_topology(nv + points.shape[0], fo, fv, np.concatenate([np.arange(nv), points]),
                        np.arange(sizes.shape[0]), np.arange(fv.shape[0]), extra, edges=edges)


def extrude_edges(prim: Prim, selected: np.ndarray) -> NewTopology:
    """Blender's extrude_mesh_edges: new points for the selected edges' points (ascending),
    appended; new edges: one from each of those points to its new point, then
    a copy of each selected edge on the new points; a quad per selected edge, appended: (v1, n1,
    n2, v2), or (v1, v2, n2, n1) where the edge's only face runs v1 -> v2 (fill_quad_consistent_
    direction). extra: "points" (the new points' sources), "vert_edges" ((P, k) selected edges
    of each new point's source, -1 padded, for the mean offset), "top" (edge mask), "side" (face
    mask), "face_part", "edge_mix", "face_mix"."""
    fo, fv, sizes, corner_face = faces_of(prim)
    edges = prim_edges(prim).numpy()
    nv, nf, ne = prim.num_vertices, sizes.shape[0], edges.shape[0]
    sel = np.flatnonzero(selected)
    points = np.unique(edges[sel].reshape(-1))  # Blender 4.2: an IndexMask of the points, ascending
    order = {int(v): i for i, v in enumerate(points)}
    count = points.shape[0]
    corner_edge = corner_edges(fo, fv, edges, nv)
    faces_of_edge: dict = {}
    for c, e in enumerate(corner_edge):
        faces_of_edge.setdefault(int(e), []).append(c)
    quads, part_of_new = [], []
    face_part = prim.face_part.numpy() if prim.face_part is not None else np.zeros(nf, np.int64)
    for e in sel:
        v1, v2 = int(edges[e][0]), int(edges[e][1])
        n1, n2 = nv + order[v1], nv + order[v2]
        corners = faces_of_edge.get(int(e), [])
        start = True
        if len(corners) == 1:
            start = int(fv[corners[0]]) == v1
        quads.append([v1, n1, n2, v2] if start else [v1, v2, n2, n1])
        part_of_new.append(face_part[corner_face[corners[0]]] if corners else 0)
    connect = np.stack([points, nv + np.arange(count)], 1)
    dup = np.array([[nv + order[int(a)], nv + order[int(b)]] for a, b in edges[sel]], np.int64).reshape(-1, 2)
    offsets = np.concatenate([fo, fo[-1] + 4 * np.arange(1, sel.shape[0] + 1)])
    vert_edges = np.full((count, max(1, max((len(v) for v in _incident(edges, sel, order).values()), default=1))), -1)
    for i, es in _incident(edges, sel, order).items():
        vert_edges[i, :len(es)] = es
    # EDGE attributes: a connecting edge mixes the selected edges at its source point, a copy
    # takes its edge's; FACE attributes: a new face mixes the faces of its edge (copy_with_mixing)
    incident = _incident(edges, sel, order)
    edge_pairs = [(e, e) for e in range(ne)] + [(e, ne + i) for i in range(count) for e in incident.get(i, [])] + [
        (int(e), ne + count + j) for j, e in enumerate(sel)]
    face_pairs = [(f, f) for f in range(nf)] + [(int(corner_face[c]), nf + j) for j, e in enumerate(sel)
                                               for c in faces_of_edge.get(int(e), [])]
    mix = lambda pairs: tuple(torch.as_tensor(np.asarray(pairs, np.int64).reshape(-1, 2)[:, k]) for k in (0, 1))  # noqa: E731
    extra = {"points": torch.as_tensor(points), "vert_edges": torch.as_tensor(vert_edges),
             "edge_mix": mix(edge_pairs), "face_mix": mix(face_pairs),
             "top": torch.as_tensor(np.concatenate([np.zeros(ne + count, bool), np.ones(sel.shape[0], bool)])),
             "side": torch.as_tensor(np.concatenate([np.zeros(nf, bool), np.ones(sel.shape[0], bool)])),
             "face_part": torch.as_tensor(np.concatenate([face_part, np.asarray(part_of_new, np.int64)]))}
    loops = np.concatenate([fv, np.asarray(quads, np.int64).reshape(-1)])
    face_src = np.concatenate([np.arange(nf), np.zeros(sel.shape[0], np.int64)])
    corner_src = np.concatenate([np.arange(fv.shape[0]), np.zeros(4 * sel.shape[0], np.int64)])
    return new_topology(nv + count, offsets, loops, np.concatenate([np.arange(nv), points]), face_src, corner_src,
                        extra, edges=np.concatenate([edges, connect, dup]))


def _incident(edges: np.ndarray, sel: np.ndarray, order: dict) -> dict:
    """New point index -> the selected edges at its source point."""
    out: dict = {}
    for e in sel:
        for v in edges[e]:
            out.setdefault(order[int(v)], []).append(int(e))
    return out
