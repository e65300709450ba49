"""Merge by Distance: points closer than Distance merged as Blender does (ALL: targets found in
index order; CONNECTED: edges collapsed in Blender's edge order, so the mesh's edge order must be
modelled), merged points averaged, collapsed corners and polygons dropped, polygons that touch
themselves split (geometry.weld)."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import is_field
from ..geometry import edges_known, prim_edges
from ..geometry.weld import connected_targets, merge_targets, weld
from . import S, node
from .mesh_ops import remesh, selection_bits


@node("GeometryNodeMergeByDistance",
      inputs=[S("Geometry", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Distance", "FLOAT", 0.001)],
      outputs=[S("Geometry", "GEOMETRY")], properties={"mode": "ALL"}, choices={"mode": ("ALL", "CONNECTED")})
def merge_by_distance(n):
    """Each row's merges decide its topology: rows are split by them (a merge that differs
    between rows gives them different meshes). Positions: the mean of each merged group."""
    connected = n.props["mode"] == "CONNECTED"
    geometry = n.get("Geometry")
    if any(struct.points for _, struct in geometry.pieces):
        raise IRError(f"{n.where}: merging the points of a point cloud is not supported (meshes are)")
    distance = n.get("Distance")
    if is_field(distance):
        raise IRError(f"{n.where}: input 'Distance' takes a single value, but a field is linked to it")

    def keys(prim, ctx, g):
        pos = ctx.mesh.positions.detach().cpu().numpy()
        sel = selection_bits(g["sel"])
        dist = distance.index_select(0, ctx.rows).detach().cpu().numpy()
        if not connected:
            return np.stack([merge_targets(pos[r], sel[r], float(dist[r])) for r in range(pos.shape[0])])
        if not edges_known(prim):
            raise IRError(f"{n.where}: merging CONNECTED points of a mesh whose edge order is not modelled (it "
                          "comes from a node that does not keep Blender's edge order; the edges are collapsed in it)")
        edges = prim_edges(prim).numpy()
        return np.stack([connected_targets(pos[r], sel[r], edges, float(dist[r])) for r in range(pos.shape[0])])

    def keyed(prim, ctx, g):
        """The targets, and whether FACE attributes ride along: topologies are cached per key, and
        a topology built without them must not skip the check in `build`."""
        targets = keys(prim, ctx, g)
        face_attributes = any(d == "FACE" for d, _ in prim.attributes.values())
        return np.concatenate([targets, np.full((targets.shape[0], 1), int(face_attributes), targets.dtype)], 1)

    def build(prim, key):
        key, face_attributes = key[:-1], bool(key[-1])
        if (key == np.arange(key.shape[0])).all():
            return None
        topo = weld(prim, key)
        if topo.extra["split"] and face_attributes:
            raise IRError(f"{n.where}: merging splits a polygon that touches itself, and Blender gives the new "
                          "polygons default FACE attributes: not supported with FACE attributes")
        return topo

    def positions(topo, old, g, ctx, j):
        members = topo.extra["members"].to(old.device)
        total = old.new_zeros(old.shape[0], topo.num_vertices, 3).index_add(1, members, old)
        count = torch.zeros(topo.num_vertices, dtype=old.dtype, device=old.device).index_add(
            0, members, torch.ones(members.shape[0], dtype=old.dtype, device=old.device))
        return total / count[None, :, None], {}

    return {"Geometry": remesh(n, geometry, "POINT", {"sel": n.get("Selection")}, keyed, build, positions,
                               name="merge")}
