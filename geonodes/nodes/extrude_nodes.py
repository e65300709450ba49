"""Extrude Mesh: FACES with Individual on (Blender's extrude_individual_mesh_faces), VERTICES
and EDGES (on meshes whose edges are in Blender's order, else an error naming the node). Region
extrusion (FACES with Individual off) is an error naming the node."""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import Field, is_field
from ..geometry import edges_known
from ..geometry.remesh import extrude_edges, extrude_individual_faces, extrude_vertices
from . import S, node
from .field_nodes import _normal
from .mesh_ops import remesh, selection_bits


def _normals(ctx):
    """The implicit Offset: the Normal on the mode's domain (face, edge or vertex normals)."""
    if ctx.domain == "EDGE":
        return _normal(ctx)
    values = ctx.mesh.face_normals() if ctx.domain == "FACE" else ctx.mesh.vertex_normals()
    return values.reshape(-1, 3)


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
    (FACES: the extruded faces and the side quads; EDGES: the new copies of the edges and the
    side quads; VERTICES: Top is the new points)."""
    mode = n.props["mode"]
    domain = {"FACES": "FACE", "EDGES": "EDGE", "VERTICES": "POINT"}[mode]
    if mode == "FACES":
        individual = n.get("Individual")
        if is_field(individual) or not bool(individual.all()):
            raise IRError(f"{n.where}: extruding face regions (Individual off) is not supported (Blender orders "
                          "the new points and side faces by its edge indices, which are not modelled)")
    offset = n.get("Offset") if n.is_linked("Offset") else Field(_normals)
    values = {"sel": n.get("Selection"), "offset": offset, "scale": n.get("Offset Scale")}
    top_key, side_key = (f"<extrude {k} {'/'.join(n.key)}>" for k in ("top", "side"))

    def keys(prim, ctx, g):
        if mode == "EDGES" and not edges_known(prim):
            raise IRError(f"{n.where}: extruding EDGES of a mesh whose edge order is not modelled (it comes from "
                          "a node that does not keep Blender's edge order)")
        if mode == "EDGES" and any(d != "POINT" for d, _ in prim.attributes.values()):
            raise IRError(f"{n.where}: attributes on other domains than POINT through extruded EDGES are not supported")
        return selection_bits(g["sel"])

    def build(prim, key):
        if not key.any():
            return None
        fn = {"FACES": extrude_individual_faces, "EDGES": extrude_edges, "VERTICES": extrude_vertices}[mode]
        return fn(prim, key.astype(bool))

    def positions(topo, old, g, ctx, j):
        moved = g["offset"] * g["scale"][..., None]
        x = topo.extra
        b = old.shape[0]
        if mode == "FACES":
            src = topo.point_src[old.shape[1]:].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, x["vert_face"].to(old.device))
            flags = {top_key: ("FACE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        elif mode == "EDGES":  # each new point: its source + the mean offset of its selected edges
            ve = x["vert_edges"].to(old.device)
            ok = (ve >= 0).to(moved.dtype)
            picked = moved.index_select(1, ve.clamp(min=0).reshape(-1)).reshape(b, ve.shape[0], ve.shape[1], 3)
            mean = (picked * ok[None, :, :, None]).sum(2) / ok.sum(1)[None, :, None]
            new = old.index_select(1, x["points"].to(old.device)) + mean
            flags = {top_key: ("EDGE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        else:
            src = x["points"].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, src)
            flags = {top_key: ("POINT", x["top"].expand(b, -1))}
        return torch.cat([old, new], 1), flags

    mesh = remesh(n, n.get("Mesh"), domain, values, keys, build, positions, name=("extrude", mode))
    side_error = None if mode != "VERTICES" else (f"{n.where}: the Side output of extruded VERTICES (the new "
                                                  "loose edges) is not supported")
    return {"Mesh": mesh, "Top": _flag_reader(top_key), "Side": _flag_reader(side_key, side_error)}
