"""Extrude Mesh: FACES with Individual on (Blender's extrude_individual_mesh_faces) and
VERTICES. Region extrusion (FACES with Individual off) and EDGES order their new points and
faces by Blender's edge indices, which these meshes do not model (their edges are derived
from the faces): both are an error naming the node."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import Field, is_field
from ..geometry.remesh import extrude_individual_faces, extrude_vertices
from . import S, node
from .field_nodes import _normal
from .mesh_ops import _selection_bits, remesh


def _flag_reader(key: str, what: str | None = None):
    """A boolean field reading the anonymous attribute `key` (false where it is missing)."""
    def read(ctx):
        if what is not None:
            raise IRError(what)
        stored = ctx.mesh.attributes.get(key)
        if stored is None:
            return torch.zeros(ctx.b * ctx.n, dtype=torch.bool, device=ctx.rows.device)
        return ctx.from_domain(stored[1], stored[0])
    return Field(read)


@node("GeometryNodeExtrudeMesh",
      inputs=[S("Mesh", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Offset", "VECTOR", (0.0, 0.0, 0.0)),
              S("Offset Scale", "FLOAT", 1.0), S("Individual", "BOOLEAN", True)],
      outputs=[S("Mesh", "GEOMETRY"), S("Top", "BOOLEAN"), S("Side", "BOOLEAN")],
      properties={"mode": "FACES"}, choices={"mode": ("VERTICES", "EDGES", "FACES")})
def extrude_mesh(n):
    """New points at the selected elements' points + Offset * Offset Scale (evaluated on the
    mode's domain; an unlinked Offset is the Normal there). Top and Side are boolean fields
    (FACES: the extruded faces and the side quads; VERTICES: Top is the new points)."""
    mode = n.props["mode"]
    if mode == "EDGES":
        raise IRError(f"{n.where}: extruding EDGES is not supported (Blender orders the side faces by its "
                      "edge indices, which are not modelled)")
    domain = "FACE" if mode == "FACES" else "POINT"
    if mode == "FACES":
        individual = n.get("Individual")
        if is_field(individual) or not bool(individual.all()):
            raise IRError(f"{n.where}: extruding face regions (Individual off) is not supported (Blender orders "
                          "the new points and side faces by its edge indices, which are not modelled)")
    offset = n.get("Offset") if n.is_linked("Offset") else Field(_normal)
    values = {"sel": n.get("Selection"), "offset": offset, "scale": n.get("Offset Scale")}
    top_key, side_key = (f"<extrude {k} {'/'.join(n.key)}>" for k in ("top", "side"))

    def build(prim, key):
        if not key.any():
            return None
        return (extrude_individual_faces if mode == "FACES" else extrude_vertices)(prim, key.astype(bool))

    def positions(topo, old, g, ctx, j):
        moved = g["offset"] * g["scale"][..., None]
        x = topo.extra
        b = old.shape[0]
        if mode == "FACES":
            src = topo.point_src[old.shape[1]:].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, x["vert_face"].to(old.device))
            flags = {top_key: ("FACE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        else:
            src = x["points"].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, src)
            flags = {top_key: ("POINT", x["top"].expand(b, -1))}
        return torch.cat([old, new], 1), flags

    mesh = remesh(n, n.get("Mesh"), domain, values, lambda prim, ctx, g: _selection_bits(g["sel"]), build, positions,
                  name=("extrude", mode))
    side_error = None if mode == "FACES" else (f"{n.where}: the Side output of extruded VERTICES is on new loose "
                                               "edges, which are not modelled")
    return {"Mesh": mesh, "Top": _flag_reader(top_key), "Side": _flag_reader(side_key, side_error)}
