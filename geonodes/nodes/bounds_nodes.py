"""Bounding Box, as Blender 4.2's node_geo_bounding_box.cc: Min and Max are the bounds of the
geometry's own components, instances left out (compute_boundbox_without_instances: mesh
vertices, point cloud points widened by their radius, curves' evaluated points); zeros when
there are none. The Bounding Box output replaces each geometry, the top one and every instance's
own (modify_geometry_sets), by the box of its own components, a cube of 2 x 2 x 2 vertices
(create_cuboid_mesh) moved to the centre; the instances stay instances. A geometry without
components of its own is cleared, its instances with it."""
from __future__ import annotations

import torch

from ..geometry import EMPTY, GeomStruct, Instance, Part, Piecewise, Prim, Rows, part_vertices
from ..geometry.curves import curve_parts_evaluated
from ..geometry.remesh import whole_batch
from ..primitives import mesh_cube
from . import S, node
from .geometry_nodes import trs_xform
from .primitive_nodes import _Values, primitive


def _bounds(n, struct: GeomStruct, index: torch.Tensor):
    """((b, 3) min, (b, 3) max) of the structure's own components for batch rows `index`, or
    None when it has none."""
    lows, highs = [], []
    meshes = [part_vertices(p, n.geometry_cache) for p in struct.parts if p.prim.num_vertices]
    if meshes:  # one gather and one reduction for all mesh parts
        v = (meshes[0] if len(meshes) == 1 else torch.cat(meshes, 1)).index_select(0, index)
        lows.append(v.amin(1))
        highs.append(v.amax(1))
    for part in struct.points:
        if part.prim.num_vertices:
            v = part_vertices(part, n.geometry_cache).index_select(0, index)
            radius = part.prim.attributes.get("radius")
            r = radius[1].index_select(0, index)[..., None].to(v.dtype) if radius is not None else torch.zeros_like(v[..., :1])
            lows.append((v - r).amin(1))
            highs.append((v + r).amax(1))
    if struct.curves:
        for ev in curve_parts_evaluated(struct.curves, index, n.geometry_cache):
            if ev.positions.shape[1]:
                lows.append(ev.positions.amin(1))
                highs.append(ev.positions.amax(1))
    if not lows:
        return None
    if len(lows) == 1:
        return lows[0], highs[0]
    return torch.stack(lows).amin(0), torch.stack(highs).amax(0)


def _box(n, lo: torch.Tensor, hi: torch.Tensor, index: torch.Tensor) -> Prim:
    scale = hi - lo
    cube = mesh_cube(scale, 2, 2, 2)
    positions = cube.vertices + (lo + scale / 2)[:, None]
    return Prim(("bounding box",), 8, cube.face_offsets, cube.face_vertices, None,
                dense=whole_batch(positions, index, n.batch), edges=cube.edges)


def _boxed(n, struct: GeomStruct, index: torch.Tensor, bounds=None) -> GeomStruct:
    """The structure with its own components replaced by their box and each instance's geometry
    by its own (an instance's geometry without components of its own: cleared)."""
    bounds = _bounds(n, struct, index) if bounds is None else bounds
    if bounds is None:
        return EMPTY
    instances = tuple(Instance(_boxed(n, inst.geometry, index), inst.chain) for inst in struct.instances)
    return GeomStruct((Part(_box(n, *bounds, index)),), instances)


@node(
    "GeometryNodeBoundBox",
    inputs=[S("Geometry", "GEOMETRY")],
    outputs=[S("Bounding Box", "GEOMETRY"), S("Min", "VECTOR"), S("Max", "VECTOR")],
)
def bounding_box(n):
    lo = torch.zeros(n.batch, 3, dtype=n.dtype, device=n.device)
    hi = torch.zeros(n.batch, 3, dtype=n.dtype, device=n.device)
    plain = Rows(0, n.batch)  # rows whose box has no instances: one lazy cube for all of them
    pieces = []
    for rows, struct in n.get("Geometry").pieces:
        index = rows.index(n.device)
        bounds = _bounds(n, struct, index)
        if bounds is None:
            pieces.append((rows, EMPTY))
            continue
        lo = lo.index_put((index,), bounds[0].to(n.dtype))
        hi = hi.index_put((index,), bounds[1].to(n.dtype))
        if struct.instances:
            pieces.append((rows, _boxed(n, struct, index, bounds)))
        else:
            plain = plain | rows
    if plain.any():
        box = primitive(_Values(n, {"__size__": hi - lo}), "mesh_cube", ["__size__"], [], (2, 2, 2))
        xform = trs_xform(lo + (hi - lo) / 2, None, None)
        pieces += box.map(lambda s: s.transformed(xform)).restrict(plain).pieces
    return {"Bounding Box": Piecewise(pieces).merged(), "Min": lo, "Max": hi}
