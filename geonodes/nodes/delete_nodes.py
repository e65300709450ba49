"""Delete Geometry and Separate Geometry: a mesh's elements kept or dropped by a selection field.

Blender's rules (geometry/intern/mesh_copy_selection.cc, the selection being what is kept):
on points, a face stays when all its points stay; on edges, a point stays when an edge that
stays uses it and a face when all its edges stay; on faces, a point stays when a face that
stays uses it. Modes EDGE_FACE and ONLY_FACE keep every point (and differ only in the edges,
which the output does not hold). Points and faces keep their order. A selection that differs
between rows changes the topology per row: the rows of a piece are split by what they keep.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field, is_field, polygon_edges
from ..geometry import GeomStruct, Part, Piecewise, Prim, Rows, corner_edges, edges_known, prim_edges, realize
from . import S, node
from .field_nodes import mesh_context

_DOMAINS = ("POINT", "EDGE", "FACE")
_SUBSETS: dict = {}


def _subset(prim: Prim, domain: str, mode: str, keep: np.ndarray):
    """What stays of prim's topology for a kept-element mask: (point indices, face indices,
    face offsets, face vertices, corner indices, any point kept, nothing dropped, the kept edges
    in Blender's order or None where not modelled), cached per topology and mask."""
    key = (prim.topo_id, domain, mode, np.packbits(keep).tobytes(), keep.shape[0])
    hit = _SUBSETS.get(key)
    if hit is not None:
        return hit
    fo = prim.face_offsets.numpy()
    fv = prim.face_vertices.numpy()
    nv, nf = prim.num_vertices, fo.shape[0] - 1
    sizes = np.diff(fo)
    edges = _edges_of(prim)
    if domain == "POINT":
        keep_points = keep
        keep_faces = np.logical_and.reduceat(keep[fv], fo[:-1]) if nf else np.zeros(0, bool)
        keep_edges = keep[edges[:, 0]] & keep[edges[:, 1]] if len(edges) else np.zeros(0, bool)
    elif domain == "EDGE":
        keep_edges = keep
        corner_edge = corner_edges(fo, fv, edges, nv)
        keep_faces = np.logical_and.reduceat(keep[corner_edge], fo[:-1]) if nf else np.zeros(0, bool)
        keep_points = np.zeros(nv, bool)
        keep_points[edges[keep_edges].reshape(-1)] = True
    else:
        keep_faces = keep
        keep_points = np.zeros(nv, bool)
        keep_points[fv[np.repeat(keep_faces, sizes)]] = True
        keep_edges = None
    if mode != "ALL":
        keep_points = np.ones(nv, bool)
    corners = np.flatnonzero(np.repeat(keep_faces, sizes))
    remap = np.cumsum(keep_points) - 1
    new_offsets = np.concatenate([[0], np.cumsum(sizes[keep_faces])]).astype(np.int64)
    new_fv = remap[fv[corners]].astype(np.int64)
    new_edges = None
    if mode == "ONLY_FACE":  # points and edges stay
        new_edges = prim.edges
    else:  # mesh_copy_selection(_keep_verts) keeps the edges' order (EDGE_FACE: every point stays)
        if keep_edges is None:  # FACE: the kept faces' edges
            keep_edges = np.zeros(edges.shape[0], bool)
            keep_edges[corner_edges(fo, fv, edges, nv)[corners]] = True
        new_edges = torch.as_tensor(remap[edges[keep_edges]].astype(np.int64).reshape(-1, 2))
    hit = _SUBSETS[key] = tuple(torch.as_tensor(x, dtype=torch.int64) for x in (
        np.flatnonzero(keep_points), np.flatnonzero(keep_faces), new_offsets, new_fv, corners)) + (
        keep_points.any(), bool(keep_points.all() and keep_faces.all()), new_edges)
    return hit


def _edges_of(prim: Prim) -> np.ndarray:
    """(E, 2) the mesh's edges in the order its EDGE attributes use (Blender's where known)."""
    return prim_edges(prim).numpy()


def _rows_gathered(values: torch.Tensor, rows: torch.Tensor, elements: torch.Tensor) -> torch.Tensor:
    """values[rows][:, elements] in a whole-batch tensor (zeros in the other rows, which the
    piece never reads): the cost is that of the piece's rows, not of the batch."""
    part = values.index_select(0, rows).index_select(1, elements.to(values.device))
    if rows.shape[0] == values.shape[0]:
        return part
    full = values.new_zeros((values.shape[0], elements.shape[0]) + tuple(values.shape[2:]))
    return full.index_copy(0, rows, part)


def _kept_prim(prim: Prim, sub, key, rows: torch.Tensor) -> Prim:
    points, faces, offsets, fv, corners, _, _, new_edges = sub
    attributes = {}
    for name, (domain, values) in prim.attributes.items():
        if domain == "POINT":
            attributes[name] = (domain, _rows_gathered(values, rows, points))
        elif domain == "FACE":
            attributes[name] = (domain, _rows_gathered(values, rows, faces))
        elif domain == "CORNER":
            attributes[name] = (domain, _rows_gathered(values, rows, corners))
        else:  # EDGE: the kept edges, found by their points in the old mesh
            old = _edges_of(prim)
            new = (new_edges if new_edges is not None else polygon_edges(offsets, fv, int(points.shape[0]))).numpy()
            back = points.numpy()[new]
            nv = max(prim.num_vertices, 1)
            old_keys = old.min(1) * nv + old.max(1)
            order = np.argsort(old_keys)
            idx = order[np.searchsorted(old_keys[order], np.minimum(back[:, 0], back[:, 1]) * nv
                                        + np.maximum(back[:, 0], back[:, 1]))]
            attributes[name] = (domain, _rows_gathered(values, rows, torch.as_tensor(idx)))
    face_part = prim.face_part.index_select(0, faces) if prim.face_part is not None else None
    return Prim(key, int(points.shape[0]), offsets, fv, None, dense=_rows_gathered(prim.dense, rows, points),
                attributes=attributes, face_part=face_part, num_parts=prim.num_parts, edges=new_edges,
                edges_known=new_edges is not None and edges_known(prim))


def keep_selected(n, geometry: Piecewise, selection, domain: str, mode: str, invert: bool) -> Piecewise:
    """The geometry with only the mesh elements where `selection` (inverted: where it does
    not hold) is true, as Blender's mesh_copy_selection."""
    if domain not in _DOMAINS:
        raise IRError(f"{n.where}: deleting on the {domain} domain is not supported")
    if not is_field(selection) and mode != "ALL":  # every point stays: the elements' rules decide
        single = selection
        selection = Field(lambda ctx: ctx.value(single))
    if not is_field(selection):  # a single value keeps or drops each row's whole mesh
        keep = Rows.from_mask(~selection if invert else selection)
        pieces = []
        for rows, struct in geometry.pieces:
            drop = rows & ~keep
            if drop.any() and _domain_size(struct, domain) > 0:  # Blender keeps a mesh without such elements
                pieces += [(drop, GeomStruct((), struct.instances))]
                rows = rows & keep
            if rows.any():
                pieces.append((rows, struct))
        return Piecewise(pieces).merged()
    pieces = []
    for rows, struct in geometry.pieces:
        if not struct.parts:
            pieces.append((rows, struct))
            continue
        prim = realize(struct, n.geometry_cache)
        index = rows.index(n.device)
        ctx = mesh_context(prim, index, domain)
        if domain == "EDGE" and prim.edges is None and ctx.mesh.num_points and bool(
                torch.ones(ctx.mesh.num_points, dtype=torch.bool).index_fill(0, prim.face_vertices, False).any()):
            raise IRError(f"{n.where}: an EDGE selection on a mesh with points outside its faces "
                          "(loose edges) made by a node that does not keep its edges is not supported")
        if ctx.n == 0:  # no elements to select: Blender leaves the mesh as it is
            pieces.append((rows, struct))
            continue
        sel = ctx.grid(selection)
        keep = (~sel if invert else sel).cpu().numpy()
        masks, inverse = np.unique(keep, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        all_rows = index.cpu().numpy()
        for i, mask in enumerate(masks):
            chosen = np.zeros(rows.n, bool)
            chosen[all_rows[inverse == i]] = True
            sub = _subset(prim, domain, mode, mask)
            if sub[6]:  # nothing dropped: the geometry as it was (still symbolic)
                kept = struct
            elif not sub[5]:  # no point left: the mesh is gone
                kept = GeomStruct((), struct.instances)
            else:
                key = ("subset", prim.topo_id, domain, mode, np.packbits(mask).tobytes(), mask.shape[0])
                picked = torch.as_tensor(np.flatnonzero(chosen), device=n.device)
                kept = GeomStruct((Part(_kept_prim(prim, sub, key, picked)),), struct.instances)
            pieces.append((Rows.from_numpy(chosen), kept))
    return Piecewise(pieces).merged()


def _domain_size(struct: GeomStruct, domain: str) -> int:
    """Points, faces, or (edges) whether there are any: a mesh's edges where it holds them (points
    left without edges by a deletion have none), else every mesh made of more than one point has
    edges (a one-point Mesh Line has none)."""
    if domain == "POINT":
        return struct.num_points
    if domain == "FACE":
        return sum(p.prim.face_offsets.shape[0] - 1 for p in struct.parts)
    return sum(int(p.prim.edges.shape[0] if p.prim.edges is not None else p.prim.num_vertices > 1)
               for p in struct.parts)


_GEOMETRY_SELECTION = [S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True)]


@node("GeometryNodeDeleteGeometry", inputs=_GEOMETRY_SELECTION, outputs=[S("Geometry", "GEOMETRY")],
      properties={"domain": "POINT", "mode": "ALL"},
      choices={"domain": _DOMAINS, "mode": ("ALL", "EDGE_FACE", "ONLY_FACE")})
def delete_geometry(n):
    return {"Geometry": keep_selected(n, n.get("Geometry"), n.get("Selection"), n.props["domain"], n.props["mode"],
                                      invert=True)}


@node("GeometryNodeSeparateGeometry", inputs=_GEOMETRY_SELECTION,
      outputs=[S("Selection", "GEOMETRY"), S("Inverted", "GEOMETRY")], properties={"domain": "POINT"},
      choices={"domain": _DOMAINS})
def separate_geometry(n):
    geometry, selection, domain = n.get("Geometry"), n.get("Selection"), n.props["domain"]
    return {"Selection": keep_selected(n, geometry, selection, domain, "ALL", invert=False),
            "Inverted": keep_selected(n, geometry, selection, domain, "ALL", invert=True)}

