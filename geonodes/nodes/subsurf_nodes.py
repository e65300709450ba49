"""Subdivision Surface (Blender 4.2): Catmull-Clark refinement to the node's level.

Blender builds the same points, edges and faces in the same order as Subdivide Mesh
(subdiv_to_mesh / subdiv_foreach: coarse points, edge-inner points, face-inner points; a quad one
grid, another face one grid per corner), so the topology is Subdivide Mesh's and only the
positions differ: each is the Catmull-Clark refined position of its level-L point, a fixed
weighted sum of the coarse points (geometry.catmull_clark, checked against bpy 4.2), so the
positions are batched, differentiable and keep the input's float type.

Modelled: closed and open faces of any size, non-manifold ones as OpenSubdiv sharpens them,
loose edges (subdiv_mesh.cc's B-spline) and loose points, levels 0-11, Boundary Smooth "All" and
"Keep Corners", every UV Smooth (it moves UVs only, which the mesh here does not carry), Limit
Surface on or off (Blender 4.4+; checked with bpy 5.0.1 by scripts/check_subsurf_bpy5.py).
Refused, naming the node: Edge or Vertex Crease above 0 (or linked), attributes, a face repeating
a point.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import prim_edges
from ..geometry.catmull_clark import blender_order, check_manifold, refine
from ..geometry.remesh import faces_of
from . import S, node
from .mesh_ops import remesh
from .subdivide_nodes import (level_keys, per_row, subdivide_levels, subdivide_once, subdivided_positions,
                              subdivisible)

_UV_SMOOTH = ("NONE", "PRESERVE_CORNERS", "PRESERVE_CORNERS_AND_JUNCTIONS", "PRESERVE_CORNERS_JUNCTIONS_AND_CONCAVE",
              "PRESERVE_BOUNDARIES", "SMOOTH_ALL")


def _blender_bilinear(topo, nv: int) -> sp.csr_matrix:
    """The bilinear (simple subdivision) weights of Blender's points, (N, nv)."""
    x = topo.extra
    if "weights" in x:
        idx, w = (t.numpy() for t in x["weights"])
        rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
        return sp.csr_matrix((w.reshape(-1), (rows, idx.reshape(-1))), shape=(idx.shape[0], nv))
    edges, corner_face, sizes = x["edges"].numpy(), x["corner_face"].numpy(), x["sizes"].numpy()
    ne, nf = edges.shape[0], sizes.shape[0]
    rows = np.concatenate([np.arange(nv), np.repeat(nv + np.arange(ne), 2), nv + ne + corner_face])
    cols = np.concatenate([np.arange(nv), edges.reshape(-1), x["face_vertices"]])
    vals = np.concatenate([np.ones(nv), np.full(2 * ne, 0.5), 1.0 / sizes[corner_face]])
    return sp.csr_matrix((vals, (rows, cols)), shape=(nv + ne + nf, nv))


def subsurf_topology(prim, level: int, keep_corners: bool, limit: bool, where: str):
    """Subdivide Mesh's topology at `level` with Catmull-Clark positions (`limit`: on the limit
    surface) as (index, weight)."""
    fo, fv, _, _ = faces_of(prim)
    edges = prim_edges(prim).numpy()
    why = check_manifold(fo, fv, prim.num_vertices)
    if why:
        raise IRError(f"{where}: Subdivision Surface of {why} is not supported")
    topo = subdivide_once(prim) if level == 1 else subdivide_levels(prim, level)
    if level == 1:
        topo.extra["face_vertices"] = fv
    cc, bl = refine(fo, fv, prim.num_vertices, edges, level, keep_corners, limit)
    weights = blender_order(cc, bl, _blender_bilinear(topo, prim.num_vertices))
    if weights is None:
        raise IRError(f"{where}: Subdivision Surface of this mesh is not supported (its subdivided points "
                      "could not be matched to Blender's order)")
    topo.extra = {"weights": tuple(torch.as_tensor(a) for a in weights)}
    return topo


@node("GeometryNodeSubdivisionSurface",
      inputs=[S("Mesh", "GEOMETRY"), S("Level", "INT", 1), S("Edge Crease", "FLOAT", 0.0),
              S("Vertex Crease", "FLOAT", 0.0), S("Limit Surface", "BOOLEAN", False)],
      outputs=[S("Mesh", "GEOMETRY")],
      properties={"uv_smooth": "PRESERVE_BOUNDARIES", "boundary_smooth": "ALL"},
      choices={"uv_smooth": _UV_SMOOTH, "boundary_smooth": ("ALL", "PRESERVE_CORNERS")})
def subdivision_surface(n):
    """Limit Surface is an input since Blender 4.4 (on in new nodes); files from 4.2 have none:
    off, the refined positions. On, each point is its refined point's limit position (measured
    with bpy 5.0.1: scripts/check_subsurf_bpy5.py, tests/test_subsurf.py)."""
    level = n.get("Level")
    for name in ("Level", "Edge Crease", "Vertex Crease", "Limit Surface"):
        if type(n.get(name)) is Field:
            raise IRError(f"{n.where}: input '{name}' linked to a field is not supported")
    for name in ("Edge Crease", "Vertex Crease"):
        if torch.as_tensor(n.get(name)).gt(0).any():
            raise IRError(f"{n.where}: input '{name}' above 0 (creases) is not supported")
    keep_corners = n.props["boundary_smooth"] == "PRESERVE_CORNERS"

    def keys(prim, ctx, g):
        lv = level_keys(level, ctx)
        limit = per_row(n.get("Limit Surface"), ctx) != 0
        return np.stack([lv, np.full_like(lv, int(keep_corners)), limit.astype(np.int64)], 1)  # (the cache's key)

    def build(prim, key):
        lv = int(key[0])
        if not subdivisible(prim, lv, n.where, "Subdivision Surface"):
            return None  # loose points only: they stay
        return subsurf_topology(prim, lv, bool(key[1]), bool(key[2]), n.where)

    return {"Mesh": remesh(n, n.get("Mesh"), "POINT", {}, keys, build, subdivided_positions, name="subsurf")}
