"""Mesh operations that change topology or move elements: Flip Faces, Triangulate, Scale
Elements (Extrude Mesh: extrude_nodes; point clouds: point_nodes).

Each realizes its input into a dense mesh (geometry.dense), evaluates its fields on it, and
groups the piece's rows by the per-row choices that decide the new topology (a selection, a
quad's diagonal): each group's topology is built once (geometry.remesh, cached) and its
positions are torch ops of the old positions, so gradients flow through them.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field, is_field
from ..geometry import GeomStruct, Part, Piecewise, Rows, edges_known, prim_edges, realize
from ..geometry.dual import dual_topology
from ..geometry.dual_boundary import dual_keep_boundaries
from ..geometry.polyfill import beautify, convex, is_quad_flip, polyfill, project_faces, quad_beauty_cost
from ..geometry.remesh import (element_islands, flip_faces, quad_triangles, quad_triangles_43, remeshed_prim,
                               triangulate_faces, triangulate_faces_43)
from . import S, node
from .field_nodes import mesh_context

_TOPOLOGIES: dict = {}


def row_groups(keys_np: np.ndarray, index: torch.Tensor, rows: Rows):
    """The piece's rows (`index`, (b,)) grouped by equal rows of `keys_np` (b, ...):
    [(key row, local positions (numpy), Rows)]."""
    flat = np.ascontiguousarray(keys_np.reshape(keys_np.shape[0], -1))
    uniq, inverse = np.unique(flat, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    all_rows = index.cpu().numpy()
    out = []
    for i, key_row in enumerate(uniq):
        local = np.flatnonzero(inverse == i)
        chosen = np.zeros(rows.n, bool)
        chosen[all_rows[local]] = True
        out.append((key_row, local, Rows.from_numpy(chosen)))
    return out


def cached_topology(tkey: tuple, prim, build):
    if tkey not in _TOPOLOGIES:
        _TOPOLOGIES[tkey] = (prim, build())  # holds the prim: its topo id stays unique
    return _TOPOLOGIES[tkey][1]


def remesh(n, geometry: Piecewise, domain: str, values: dict, keys, build, positions=None, name: str = "") -> Piecewise:
    """Every mesh piece rebuilt per group of rows with equal `keys`.

    keys(prim, ctx, grids) -> (b, k) numpy array of what decides the topology per row (ctx: the
    piece's field context on `domain`; grids: `values` evaluated there, (b, N, ...));
    build(prim, key row) -> NewTopology or None (the mesh stays as it is), cached per input
    topology and key; positions(topo, old (b', V, 3), grids of those rows, rows j of ctx) ->
    (b', V', 3) and attributes {name: (domain, (b', N, ...))} (default: the points as they were).
    """
    pieces = []
    for rows, struct in geometry.pieces:
        if any(inst.geometry.parts or inst.geometry.instances for inst in struct.instances):
            raise IRError(f"{n.where}: changing meshes inside instances is not supported (realize them first)")
        if not struct.parts:  # no mesh: curves and point clouds are left as they are
            pieces.append((rows, struct))
            continue
        prim = realize(GeomStruct(struct.parts), n.geometry_cache)
        index = rows.index(n.device)
        ctx = mesh_context(prim, index, domain)
        grids = {k: ctx.grid(v) for k, v in values.items()}
        for key_row, local, chosen in row_groups(keys(prim, ctx, grids), index, rows):
            tkey = (name, prim.topo_id, key_row.dtype.str, key_row.tobytes())
            topo = cached_topology(tkey, prim, lambda: build(prim, key_row))
            if topo is None:
                pieces.append((chosen, struct))  # (the mesh as it was: still symbolic)
                continue
            j = torch.as_tensor(local, device=n.device)
            old = ctx.mesh.positions.index_select(0, j)
            if positions is None:
                new, attributes = old, {}
            else:
                new, attributes = positions(topo, old, {k: g.index_select(0, j) for k, g in grids.items()}, ctx, j)
            made = remeshed_prim(prim, topo, tkey, new, index.index_select(0, j), attributes, n.where)
            pieces.append((chosen, GeomStruct((Part(made),), struct.instances, struct.curves, struct.points)))
    return Piecewise(pieces).merged()


def selection_bits(grid: torch.Tensor) -> np.ndarray:
    return grid.detach().cpu().numpy().astype(bool)


# ------------------------------------------------------------------ Flip Faces


@node("GeometryNodeFlipFaces", inputs=[S("Mesh", "GEOMETRY"), S("Selection", "BOOLEAN", True)],
      outputs=[S("Mesh", "GEOMETRY")])
def flip_faces_node(n):
    def build(prim, key):
        return flip_faces(prim, key.astype(bool)) if key.any() else None

    return {"Mesh": remesh(n, n.get("Mesh"), "FACE", {"sel": n.get("Selection")},
                           lambda prim, ctx, g: selection_bits(g["sel"]), build, name="flip")}


# ------------------------------------------------------------------ Triangulate

QUAD_METHODS = ("BEAUTY", "FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL", "LONGEST_DIAGONAL")
NGON_METHODS = ("BEAUTY", "CLIP")


def _quad_split_13(method: str, positions: torch.Tensor, prim) -> np.ndarray:
    """(b, F) whether each quad splits on its corners 1-3 (Blender 4.2's BM_face_triangulate)."""
    fo = prim.face_offsets
    b, nf = positions.shape[0], fo.shape[0] - 1
    if method == "FIXED":
        return np.zeros((b, nf), bool)
    if method == "FIXED_ALTERNATE":
        return np.ones((b, nf), bool)
    sizes = fo[1:] - fo[:-1]
    quad = torch.nonzero(sizes == 4).flatten()
    out = np.zeros((b, nf), bool)
    if quad.numel() == 0:
        return out
    corner = fo[:-1][quad]
    v = [positions[:, prim.face_vertices[corner + k].to(positions.device)].detach().to(torch.float32).cpu().numpy()
         for k in range(4)]  # float32, as Blender decides
    if method == "BEAUTY":
        split_02 = _beauty_split_02(*v)
    else:
        def len_sq(a, b):  # len_squared_v3v3
            d = a - b
            return (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[..., 2]
        d1, d2 = len_sq(v[0], v[2]), len_sq(v[1], v[3])
        split_02 = (d2 - d1) > 0 if method == "SHORTEST_DIAGONAL" else (d2 - d1) < 0
    out[:, quad.numpy()] = ~split_02
    return out


def _beauty_split_02(c0, c1, c2, c3) -> np.ndarray:
    """Blender's BEAUTY choice for quads (c0..c3 (b, Q, 3)), BM_face_triangulate's: with
    v1..v4 = c1, c2, c3, c0, split on v2-v4 (c0-c2) where the quad is concave on v1-v3
    (is_quad_flip_v3), on v1-v3 where concave on v2-v4, else where BM_verts_calc_rotate_beauty
    is > 0 (exact ties, as a rectangle's, go to c1-c3); float32 as Blender's, so ties fall the
    same way."""
    b, q = c0.shape[:2]
    v1, v2, v3, v4 = (x.reshape(-1, 3) for x in (c1, c2, c3, c0))
    flip0, flip1 = is_quad_flip(v1, v2, v3, v4)
    split = np.where(flip0, True, np.where(flip1, False, quad_beauty_cost(v1, v2, v3, v4) > 0))
    return split.reshape(b, q)


@node("GeometryNodeTriangulate",
      inputs=[S("Mesh", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Minimum Vertices", "INT", 4)],
      outputs=[S("Mesh", "GEOMETRY")],
      properties={"quad_method": "SHORTEST_DIAGONAL", "ngon_method": "BEAUTY"},
      choices={"quad_method": QUAD_METHODS, "ngon_method": NGON_METHODS})
def triangulate(n):
    """Quads split on a diagonal chosen per row (the quad method) and n-gons ear-clipped (CLIP:
    Blender's polyfill on the face's projection, per row; BEAUTY: then Blender's edge-rotation
    beautify), as Blender 4.2 does; in files saved by Blender 4.3+ as its rewrite does (the same
    diagonals and fills; the new triangles first, other corners, new edges by mesh_calc_edges:
    geometry.remesh.triangulate_faces_43; 4.3 dropped Minimum Vertices)."""
    minimum = n.get("Minimum Vertices")
    if is_field(minimum):
        raise IRError(f"{n.where}: input 'Minimum Vertices' takes a single value, but a field is linked to it")
    method, ngon_method = n.props["quad_method"], n.props["ngon_method"]
    rewritten = n.saved_by() >= (4, 3)

    def keys(prim, ctx, g):
        sizes = (prim.face_offsets[1:] - prim.face_offsets[:-1]).numpy()
        lowest = np.maximum(minimum.index_select(0, ctx.rows).cpu().numpy(), 4)[:, None]
        chosen = selection_bits(g["sel"]) & (sizes[None, :] >= lowest)
        ngons = chosen & (sizes[None, :] > 4)
        parts = [chosen, _quad_split_13(method, ctx.mesh.positions, prim) & chosen & (sizes[None, :] == 4)]
        if ngons.any():
            parts.append(_ngon_keys(prim, ctx.mesh.positions.detach().cpu().numpy(), ngons, ngon_method == "BEAUTY"))
        return np.concatenate([x.astype(np.int64) for x in parts], 1)

    def build(prim, key):
        sizes = (prim.face_offsets[1:] - prim.face_offsets[:-1]).numpy()
        nf = sizes.shape[0]
        chosen, split = key[:nf].astype(bool), key[nf:2 * nf].astype(bool)
        if not chosen.any():
            return None
        tris, at = {}, 2 * nf
        for f in np.flatnonzero(sizes > 4):
            k = 3 * (sizes[f] - 2)
            if chosen[f]:
                tris[f] = [tuple(t) for t in key[at:at + k].reshape(-1, 3)]
            at += k
        if rewritten:
            for f in np.flatnonzero(chosen & (sizes == 4)):
                tris[f] = quad_triangles_43(bool(split[f]))
            return triangulate_faces_43(prim, tris, True)
        for f in np.flatnonzero(chosen & (sizes == 4)):
            tris[f] = quad_triangles(bool(split[f]))
        # Blender's edge order (old edges, then the diagonals face by face) is checked against bpy
        # for quads (every method) and CLIP n-gons; BEAUTY n-gons (edge rotations) order them otherwise.
        known = ngon_method == "CLIP" or not (chosen & (sizes > 4)).any()
        return triangulate_faces(prim, tris, known)

    return {"Mesh": remesh(n, n.get("Mesh"), "FACE", {"sel": n.get("Selection")}, keys, build,
                           name=("triangulate", method, ngon_method, rewritten))}


def _ngon_keys(prim, positions: np.ndarray, ngons: np.ndarray, beauty: bool) -> np.ndarray:
    """(b, sum of 3 (n - 2) over the mesh's n-gons): each chosen n-gon's polyfill triangles per
    row (-1 where it is not chosen)."""
    fo = prim.face_offsets.numpy()
    fv = prim.face_vertices.numpy()
    sizes = np.diff(fo)
    columns = []
    for f in np.flatnonzero(sizes > 4):
        block = np.full((positions.shape[0], 3 * (sizes[f] - 2)), -1, np.int64)
        rows = np.flatnonzero(ngons[:, f])
        co = project_faces(positions[rows][:, fv[fo[f]:fo[f + 1]]])
        fixed = convex(co)
        for k, r in enumerate(rows):
            if fixed[k] and not beauty:  # every corner convex: the clipping depends on n only
                block[r] = _convex_fill(int(sizes[f]))
                continue
            key = (beauty, co[k].tobytes())
            hit = _FILLS.get(key)
            if hit is None:
                tris = polyfill(co[k])
                hit = _FILLS[key] = np.asarray(beautify(co[k], tris) if beauty else tris, np.int64).reshape(-1)
                if len(_FILLS) > 100000:
                    _FILLS.clear()
            block[r] = hit
        columns.append(block)
    return np.concatenate(columns, 1)


_FILLS: dict = {}  # (beauty, projected coordinates) -> triangles: rows sharing a face's shape


def _convex_fill(n: int) -> np.ndarray:
    key = ("convex", n)
    if key not in _FILLS:
        t = np.arange(n) * (2 * np.pi / n)
        regular = np.stack([np.cos(t), -np.sin(t)], 1).astype(np.float32)  # clockwise, as projected
        _FILLS[key] = np.asarray(polyfill(regular), np.int64).reshape(-1)
    return _FILLS[key]


# ------------------------------------------------------------------ Scale Elements


def position_field(ctx):
    return ctx.from_domain(ctx.mesh.positions, "POINT")


def _island_mean(values: torch.Tensor, island: torch.Tensor, islands: int) -> torch.Tensor:
    """(b, K, ...) values of the selected elements -> (b, islands, ...) means per island."""
    total = values.new_zeros((values.shape[0], islands) + tuple(values.shape[2:])).index_add(1, island, values)
    count = torch.zeros(islands, dtype=values.dtype, device=values.device).index_add(
        0, island, torch.ones(island.shape[0], dtype=values.dtype, device=values.device))
    return total / count.view((1, islands) + (1,) * (values.dim() - 2))


@node("GeometryNodeScaleElements",
      inputs=[S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Scale", "FLOAT", 1.0),
              S("Center", "VECTOR", (0.0, 0.0, 0.0)), S("Axis", "VECTOR", (1.0, 0.0, 0.0))],
      outputs=[S("Geometry", "GEOMETRY")],
      properties={"domain": "FACE", "scale_mode": "UNIFORM"},
      choices={"domain": ("FACE", "EDGE"), "scale_mode": ("UNIFORM", "SINGLE_AXIS")})
def scale_elements(n):
    """Selected faces (edges) grouped into islands that share points; each island's points
    scaled about the mean Center of its elements by their mean Scale (along their mean Axis,
    normalized; (1, 0, 0) where it is zero), as Blender's node. An unlinked Center is the
    element's position (a face's centre, an edge's midpoint)."""
    domain, mode = n.props["domain"], n.props["scale_mode"]
    center = n.get("Center") if n.is_linked("Center") else Field(position_field)
    values = {"sel": n.get("Selection"), "scale": n.get("Scale"), "center": center}
    if mode == "SINGLE_AXIS":
        values["axis"] = n.get("Axis")

    def keys(prim, ctx, g):
        if domain == "EDGE" and prim.edges is None and bool(torch.ones(prim.num_vertices, dtype=torch.bool).index_fill(
                0, prim.face_vertices, False).any()):
            raise IRError(f"{n.where}: scaling edges of a mesh with points outside its faces (loose edges) "
                          "made by a node that does not keep its edges is not supported")
        return selection_bits(g["sel"])

    def build(prim, key):
        if not key.any():
            return None
        edges = prim_edges(prim).numpy() if domain == "EDGE" else None
        return element_islands(prim, domain, key.astype(bool), edges)

    def positions(topo, old, g, ctx, j):
        x = topo.extra
        elements, island, k = x["elements"], x["element_island"], x["islands"]
        scale = _island_mean(g["scale"].index_select(1, elements), island, k)
        middle = _island_mean(g["center"].index_select(1, elements), island, k)
        pts = old.index_select(1, x["points"])
        s = scale.index_select(1, x["point_island"])[..., None]
        c = middle.index_select(1, x["point_island"])
        if mode == "UNIFORM":
            moved = c + s * (pts - c)
        else:
            axis = _island_mean(g["axis"].index_select(1, elements), island, k)
            zero = (axis == 0).all(-1, keepdim=True)
            axis = torch.where(zero, torch.tensor([1.0, 0.0, 0.0], dtype=axis.dtype, device=axis.device), axis)
            length = torch.sqrt((axis * axis).sum(-1, keepdim=True))
            unit = (axis / length).index_select(1, x["point_island"])
            moved = pts + unit * ((s - 1.0) * ((pts - c) * unit).sum(-1, keepdim=True))
        return old.index_copy(1, x["points"], moved), {}

    return {"Geometry": remesh(n, n.get("Geometry"), domain, values, keys, build, positions,
                               name=("scale", domain, mode))}


# ------------------------------------------------------------------ Dual Mesh


@node("GeometryNodeDualMesh", inputs=[S("Mesh", "GEOMETRY"), S("Keep Boundaries", "BOOLEAN", False)],
      outputs=[S("Dual Mesh", "GEOMETRY")])
def dual_mesh(n):
    """A point at each face's centre, a face around each manifold vertex (see geometry.dual).
    Keep Boundaries on a mesh with boundary edges: Blender's calc_dual_mesh with the boundary
    edges' midpoints and boundary vertices (geometry.dual_boundary), which needs the mesh's
    edges in Blender's order (else an error naming the node)."""
    keep = n.get("Keep Boundaries")
    if is_field(keep):
        raise IRError(f"{n.where}: input 'Keep Boundaries' takes a single value, but a field is linked to it")

    def keys(prim, ctx, g):
        return keep.index_select(0, ctx.rows).cpu().numpy()[:, None]

    def build(prim, key):
        topo, boundary = dual_topology(prim)
        if key[0] and boundary:
            if not edges_known(prim):
                raise IRError(f"{n.where}: Keep Boundaries on a mesh with boundary edges whose edge order is not "
                              "modelled (it comes from a node that does not keep Blender's edge order)")
            return dual_keep_boundaries(prim, prim.edges.numpy())
        return topo

    def positions(topo, old, g, ctx, j):
        fo, fv = ctx.mesh.face_offsets, ctx.mesh.face_vertices
        sizes = (fo[1:] - fo[:-1]).to(old.dtype)
        total = old.new_zeros(old.shape[0], sizes.shape[0], 3).index_add(1, ctx.mesh.corner_face(), old.index_select(1, fv))
        points = total / sizes[None, :, None]
        extra = topo.extra or {}
        if "mid_edges" in extra:  # Keep Boundaries: the boundary edges' midpoints, the boundary vertices
            mid = extra["mid_edges"].to(old.device)
            points = torch.cat([points, (old.index_select(1, mid[:, 0]) + old.index_select(1, mid[:, 1])) * 0.5,
                                old.index_select(1, extra["kept"].to(old.device))], 1)
        attributes = {}  # Blender's transfer: faces' values to the points, points' to the faces
        for name, (domain, values) in ctx.mesh.attributes.items():
            rows = values.index_select(0, j)
            if domain == "FACE":
                attributes[name] = ("POINT", _face_values_on_points(rows, extra))
            elif domain == "POINT":
                if "mid_edges" in extra and extra["vert_of_face"] is None:
                    raise IRError(f"{n.where}: point attributes ('{name}') through Dual Mesh with Keep Boundaries "
                                  "where Blender's map from faces to points does not fit are not supported")
                attributes[name] = ("FACE", rows.index_select(1, topo.face_src.to(rows.device)))
            elif domain == "CORNER":
                attributes[name] = ("CORNER", rows.index_select(1, topo.corner_src.to(rows.device)))
            else:
                raise IRError(f"{n.where}: attributes on the EDGE domain ('{name}') through Dual Mesh are not supported")
        return points, attributes

    return {"Dual Mesh": remesh(n, n.get("Mesh"), "POINT", {}, keys, build, positions, name="dual")}


def _face_values_on_points(rows: torch.Tensor, extra: dict) -> torch.Tensor:
    """(b, F, ...) face values -> the dual's points: each face's own, then (Keep Boundaries) the
    extra points' from the face Blender pairs them with (zero where none)."""
    if "point_face" not in extra:
        return rows
    pf = extra["point_face"].to(rows.device)
    picked = rows.index_select(1, pf.clamp(min=0))
    picked = torch.where((pf >= 0).view((1, -1) + (1,) * (rows.dim() - 2)), picked, torch.zeros_like(picked))
    return torch.cat([rows, picked], 1)
