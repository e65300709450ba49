"""Merge by Distance (Blender's mesh_merge_by_distance.cc): which points merge (ALL: a k-d tree
in index order; CONNECTED: edges collapsed in edge order) and the weld that rebuilds the mesh
from that (points, polygons, split polygons, doubles, edges in Blender's order)."""
from __future__ import annotations

import numpy as np
import torch

from .remesh import NewTopology, faces_of, new_topology
from .structure import Prim, edges_known


def merge_targets(positions: np.ndarray, selected: np.ndarray, distance: float) -> np.ndarray:
    """(V,) the point each point merges into (itself when it stays), as Blender's
    BLI_kdtree_3d_calc_duplicates_fast in index order: each selected point not merged yet takes
    every other unmerged selected point within `distance` (squared distances compared in the
    positions' precision); no chains. Candidate pairs come from a k-d tree."""
    from scipy.spatial import cKDTree

    nv = positions.shape[0]
    dest = np.arange(nv)
    chosen = np.flatnonzero(selected)
    if chosen.shape[0] < 2:
        return dest
    pts = positions[chosen]
    radius = abs(float(distance))
    pairs = cKDTree(pts.astype(np.float64)).query_pairs(radius * (1 + 1e-4) + 1e-12, output_type="ndarray")
    if pairs.shape[0] == 0:
        return dest
    d = pts[pairs[:, 0]] - pts[pairs[:, 1]]
    limit = positions.dtype.type(distance) * positions.dtype.type(distance)
    near = pairs[((d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]) <= limit]
    a, b = chosen[near[:, 0]], chosen[near[:, 1]]
    both = np.concatenate([np.stack([a, b], 1), np.stack([b, a], 1)])
    both = both[np.lexsort((both[:, 1], both[:, 0]))]
    starts = np.searchsorted(both[:, 0], np.arange(nv + 1))
    taken = np.zeros(nv, bool)
    searched = np.zeros(nv, bool)
    for i in np.unique(both[:, 0]):
        if taken[i]:
            continue
        searched[i] = True
        others = both[starts[i]:starts[i + 1], 1]
        others = others[~taken[others] & ~searched[others]]
        dest[others] = i
        taken[others] = True
    return dest


def connected_targets(positions: np.ndarray, selected: np.ndarray, edges: np.ndarray, distance: float) -> np.ndarray:
    """(V,) the point each point merges into (itself when it stays), as Blender's
    mesh_merge_by_distance_connected: edges in order, each between the clusters its points are
    in now (a cluster is named by its lowest point); the two merge (the higher into the lower)
    when both cluster points are selected and the squared distance of the clusters' running means
    is within distance squared. The means are updated as Blender does (weighted by the points
    merged), in the positions' precision."""
    nv = positions.shape[0]
    dest = np.arange(nv)
    if edges.shape[0] == 0:
        return dest
    t = positions.dtype.type
    limit = t(distance) * t(distance)
    d = positions[edges[:, 1]] - positions[edges[:, 0]]
    short = (((d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]) <= limit) & selected[edges].all(1)
    if not short.any():
        return dest
    parent = list(range(nv))
    co: dict = {}  # cluster -> its running mean (3 scalars), for clusters that took others
    merged = [0] * nv
    sel = selected.tolist()
    first = int(np.flatnonzero(short)[0])
    for i, (a, b) in enumerate(edges[first:].tolist(), first):
        while a != parent[a]:
            a = parent[a]
        while b != parent[b]:
            b = parent[b]
        if a == b or not (sel[a] and sel[b]):
            continue
        if a > b:
            a, b = b, a
        if a not in co and b not in co and not short[i]:
            continue  # two single points: the precomputed test
        pa = co.get(a, positions[a])
        pb = co.get(b, positions[b])
        dx, dy, dz = pb[0] - pa[0], pb[1] - pa[1], pb[2] - pa[2]
        if (dx * dx + dy * dy) + dz * dz <= limit:
            w = t(merged[b] + 1) / t(merged[a] + merged[b] + 2)
            co[a] = (pa[0] + dx * w, pa[1] + dy * w, pa[2] + dz * w)
            merged[a] += merged[b] + 1
            parent[b] = a
    for v in range(nv):
        r = v
        while r != parent[r]:
            r = parent[r]
        dest[v] = r
    return dest


def weld(prim: Prim, dest: np.ndarray) -> NewTopology:
    """Blender's weld: points merged into their target (kept in order; extra "members": the new
    point of each old point, for averaging); a corner dropped where its edge collapses (it and the
    next corner merged) and a polygon left with fewer than 3 corners removed; a polygon that now
    touches itself split as weld_poly_split_recursive does (the new polygons after all the old
    ones; extra "split": whether there are any); a polygon touching a merged point whose edges are
    those of an earlier such polygon removed. Where the mesh's edge order is Blender's, the new
    edges follow it (the old ones in order, without the collapsed ones and those doubling an
    earlier edge)."""
    fo, fv, sizes, corner_face = faces_of(prim)
    nv = prim.num_vertices
    kept = dest == np.arange(nv)
    new_index = np.cumsum(kept) - 1
    target = new_index[dest]
    corners = np.arange(fv.shape[0])
    start, end = fo[:-1][corner_face], fo[1:][corner_face]
    nxt = np.where(corners + 1 == end, start, corners + 1)
    alive = target[fv] != target[fv[nxt]]
    in_context = np.zeros(nv, bool)  # points that merge or take others
    moved = dest != np.arange(nv)
    in_context[dest[moved]] = True
    in_context[moved] = True
    ctx_vert = np.zeros(int(kept.sum()), bool)
    ctx_vert[target[in_context]] = True  # new points made of merged ones
    corner_ctx = in_context[fv] | in_context[fv[nxt]]
    old_rings, new_rings = [], []
    for f in range(sizes.shape[0]):
        a, b = int(fo[f]), int(fo[f + 1])
        live = [c for c in range(a, b) if alive[c]]
        if len(live) < 3:
            continue
        if not corner_ctx[a:b].any():
            old_rings.append((f, live, False))
            continue
        rings = _split(live, target[fv], corner_ctx, ctx_vert)
        if rings[0] is not None:
            old_rings.append((f, rings[0], True))
        new_rings += [(f, r, True) for r in rings[1:]]
    seen, polys = set(), []
    for f, ring, touched in old_rings + new_rings:
        if touched:
            vs = [int(target[fv[c]]) for c in ring]
            key = frozenset((min(x, y), max(x, y)) for x, y in zip(vs, vs[1:] + vs[:1]))
            if key in seen:
                continue  # a double of an earlier polygon
            seen.add(key)
        polys.append((f, ring))
    corner_src = np.asarray([c for _, ring in polys for c in ring], np.int64)
    loops = target[fv[corner_src]]
    offsets = np.concatenate([[0], np.cumsum([len(ring) for _, ring in polys])]).astype(np.int64)
    extra = {"members": torch.as_tensor(target), "split": bool(new_rings)}
    edges = None
    if edges_known(prim):  # Blender's order: the old edges, less the collapsed ones and later doubles
        seen, edges = set(), []
        for x, y in target[prim.edges.numpy()].tolist():
            if x != y and (min(x, y), max(x, y)) not in seen:
                seen.add((min(x, y), max(x, y)))
                edges.append((x, y))
    return new_topology(int(kept.sum()), offsets, loops, np.flatnonzero(kept), [f for f, _ in polys], corner_src,
                        extra, edges=edges)


def _split(live: list, vert: np.ndarray, corner_ctx: np.ndarray, ctx_vert: np.ndarray) -> list:
    """weld_poly_split_recursive on one polygon's living corners `live` (ascending corner
    indices; vert: each corner's new point): [the polygon's corners (None: collapsed), then the
    corners of each new polygon split off, in Blender's order]. Each corner list is as
    weld_iter_loop_of_poly reads it: from its start, in corner order, up to its end."""
    nxt = {c: live[(i + 1) % len(live)] for i, c in enumerate(live)}
    poly = {"start": live[0], "end": live[-1], "dead": False}
    new: list = []
    _split_recursive(len(live), poly, nxt, vert, corner_ctx, ctx_vert, new)
    out = [None if poly["dead"] else _read(poly, nxt, corner_ctx)]
    return out + [_read(p, nxt, corner_ctx) for p in new if not p["dead"]]


def _step(c: int, nxt: dict, corner_ctx: np.ndarray) -> int:
    return nxt[c] if corner_ctx[c] else c + 1


def _read(poly: dict, nxt: dict, corner_ctx: np.ndarray) -> list:
    out, c = [], poly["start"]
    while c <= poly["end"]:
        out.append(c)
        n = _step(c, nxt, corner_ctx)
        c = n if n > c else c + 1
    return out


def _split_recursive(length: int, poly: dict, nxt: dict, vert, corner_ctx, ctx_vert, new: list) -> None:
    """Blender's weld_poly_split_recursive, its linked corners as `nxt` (corner -> next corner)."""
    if length < 3:
        return
    end = poly["end"]
    a_prev = end
    a = poly["start"]
    while True:
        if not corner_ctx[a]:
            a += 1
            a_prev = None
            if a == end:
                break
            continue
        va = vert[a]
        if not ctx_vert[va]:
            a_prev = a
            a = nxt[a]
            if a == end:
                break
            continue
        dist_a, b_prev, b = 1, a, nxt[a]
        while True:
            if not corner_ctx[b]:
                dist_a += 1
                b_prev, b = b, b + 1
            elif vert[b] != va:
                dist_a += 1
                b_prev, b = b, nxt[b]
            elif dist_a == 1 or length - dist_a == 1:  # a collapsed edge: not left after the collapse
                b_prev, b = b, nxt[b]
            else:
                dist_b = length - dist_a
                if dist_a == 2 and dist_b == 2:
                    poly["dead"] = True
                    return
                nxt[a_prev] = b
                nxt[b_prev] = a
                if poly["start"] == a:
                    poly["start"] = b
                if dist_a == 2:
                    pass  # a and b_prev collapse
                elif dist_b == 2:
                    poly["start"], poly["end"] = a, b_prev
                    end = b_prev
                    length = dist_a
                    break
                else:
                    piece = {"start": a, "end": b_prev, "dead": False}
                    new.append(piece)
                    _split_recursive(dist_a, piece, nxt, vert, corner_ctx, ctx_vert, new)
                a, length, dist_a = b, dist_b, 1
                b_prev, b = b, nxt[b]
            if b_prev == end:
                break
        a_prev = a
        if a == end:
            break
        a = nxt[a]
        if a == end:
            break
