"""Point clouds: Mesh to Points and Points to Vertices.

A point cloud is a dense primitive without faces in a geometry's point cloud component
(`GeomStruct.points`, which Curve to Points fills too): kept apart from its mesh and not part
of a program's result mesh, which is the mesh component only, as Blender's evaluated mesh.
Instance on Points reads its points after the mesh's vertices.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import EMPTY, GeomStruct, Part, Piecewise, Prim, edges_known, realize
from ..geometry.remesh import whole_batch
from . import S, node
from .field_nodes import mesh_context
from .mesh_ops import position_field, row_groups, selection_bits

_NO_FACES = (torch.zeros(1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64))


def _cloud(n, key: tuple, positions: torch.Tensor, attributes: dict, rows: torch.Tensor) -> Prim:
    """A face-less dense primitive of batch `rows` from (b, P, 3) positions and (b, P, ...) point
    attributes: a point cloud or a mesh of loose vertices (no edges: their order is known)."""
    attrs = {name: ("POINT", whole_batch(v, rows, n.batch)) for name, v in attributes.items()}
    return Prim(key, positions.shape[1], _NO_FACES[0], _NO_FACES[1], None, dense=whole_batch(positions, rows, n.batch),
                attributes=attrs, face_part=torch.zeros(0, dtype=torch.int64),
                edges=torch.zeros((0, 2), dtype=torch.int64))


def _convert(n, geometry: Piecewise, source_points: bool, domain: str, selection, position, radius, name: str):
    """Each piece's mesh (or point cloud) -> its selected elements as points (or loose vertices),
    the only component kept besides the instances (Blender's keep_only_during_modify); a piece
    without one keeps only its instances (Blender removes the geometry)."""
    pieces = []
    for rows, struct in geometry.pieces:
        if any(inst.geometry != EMPTY for inst in struct.instances):
            raise IRError(f"{n.where}: converting geometry inside instances is not supported (realize them first)")
        parts = struct.points if source_points else struct.parts
        if not parts:
            pieces.append((rows, GeomStruct((), struct.instances)))
            continue
        prim = realize(GeomStruct(parts), n.geometry_cache)
        if domain == "EDGE" and not edges_known(prim):
            raise IRError(f"{n.where}: points from EDGES of a mesh whose edge order is not modelled (it comes "
                          "from a node that does not keep Blender's edge order)")
        index = rows.index(n.device)
        ctx = mesh_context(prim, index, domain)
        pos = ctx.grid(position)
        attributes = {k: ctx.from_domain(v, d).reshape((ctx.b, ctx.n) + tuple(v.shape[2:]))
                      for k, (d, v) in ctx.mesh.attributes.items()}
        if radius is not None:
            attributes["radius"] = ctx.grid(radius)
        for key_row, local, chosen in row_groups(selection_bits(ctx.grid(selection)), index, rows):
            elements = torch.as_tensor(np.flatnonzero(key_row), device=n.device)
            j = torch.as_tensor(local, device=n.device)
            pick = lambda v: v.index_select(0, j).index_select(1, elements)  # noqa: E731
            key = (name, domain, prim.topo_id, np.packbits(key_row).tobytes(), key_row.shape[0])
            made = (Part(_cloud(n, key, pick(pos), {k: pick(v) for k, v in attributes.items()},
                                index.index_select(0, j))),)
            out = GeomStruct(made, struct.instances) if source_points else GeomStruct((), struct.instances, (), made)
            pieces.append((chosen, out))
    return Piecewise(pieces).merged()


@node("GeometryNodeMeshToPoints",
      inputs=[S("Mesh", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Position", "VECTOR", (0.0, 0.0, 0.0)),
              S("Radius", "FLOAT", 0.05)],
      outputs=[S("Points", "GEOMETRY")],
      properties={"mode": "VERTICES"}, choices={"mode": ("VERTICES", "EDGES", "FACES", "CORNERS")})
def mesh_to_points(n):
    """A point per selected vertex, edge, face or corner, in element order (edges: Blender's, where
    modelled, else an error), at Position (unlinked: the element's position, an edge's midpoint),
    with the mesh's attributes moved to that domain and a `radius`."""
    mode = n.props["mode"]
    domain = {"VERTICES": "POINT", "EDGES": "EDGE", "FACES": "FACE", "CORNERS": "CORNER"}[mode]
    position = n.get("Position") if n.is_linked("Position") else Field(position_field)
    return {"Points": _convert(n, n.get("Mesh"), False, domain, n.get("Selection"), position, n.get("Radius"),
                               "mesh to points")}


@node("GeometryNodePointsToVertices", inputs=[S("Points", "GEOMETRY"), S("Selection", "BOOLEAN", True)],
      outputs=[S("Mesh", "GEOMETRY")])
def points_to_vertices(n):
    """The selected points of the point cloud as a mesh of loose vertices (with their attributes);
    the input's mesh is dropped."""
    return {"Mesh": _convert(n, n.get("Points"), True, "POINT", n.get("Selection"), Field(position_field), None,
                             "points to vertices")}
