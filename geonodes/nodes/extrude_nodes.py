"""Extrude Mesh: FACES with Individual on (Blender's extrude_individual_mesh_faces), VERTICES,
and EDGES and FACES with Individual off (face regions: extrude_mesh_face_regions), the last two
on meshes whose edges are in Blender's order (else an error naming the node)."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field, is_field
from ..geometry import edges_known
from ..geometry.extrude import extrude_face_regions
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
    side quads; VERTICES: Top is the new points). FACES with Individual off extrudes regions:
    each point of the selected faces moves by the mean of their offsets (geometry.extrude)."""
    mode = n.props["mode"]
    domain = {"FACES": "FACE", "EDGES": "EDGE", "VERTICES": "POINT"}[mode]
    offset = n.get("Offset") if n.is_linked("Offset") else Field(_normals)
    values = {"sel": n.get("Selection"), "offset": offset, "scale": n.get("Offset Scale")}
    if mode == "FACES":
        individual = n.get("Individual")
        if is_field(individual):
            raise IRError(f"{n.where}: Individual is a single value in Blender, not a field")
        values["individual"] = individual
    top_key, side_key = (f"<extrude {k} {'/'.join(n.key)}>" for k in ("top", "side"))
    # Top and Side ride on the mesh as attributes only where read: unread, they would stop
    # nodes that cannot carry them (Triangulate on EDGE attributes, Subdivide Mesh ...).
    used = {key for key, out in ((top_key, "Top"), (side_key, "Side")) if n.output_linked(out)}

    def keys(prim, ctx, g):
        if mode == "EDGES" and not edges_known(prim):
            raise IRError(f"{n.where}: extruding EDGES of a mesh whose edge order is not modelled (it comes from "
                          "a node that does not keep Blender's edge order)")
        if mode == "EDGES" and any(d == "CORNER" for d, _ in prim.attributes.values()):
            raise IRError(f"{n.where}: attributes on the CORNER domain through extruded EDGES are not supported")
        bits = selection_bits(g["sel"])
        if mode != "FACES":
            return bits
        individual = selection_bits(g["individual"][:, :1]) if bits.shape[1] else np.ones((bits.shape[0], 1), bool)
        if not individual.all() and not edges_known(prim):
            raise IRError(f"{n.where}: extruding face regions (Individual off) of a mesh whose edge order is not "
                          "modelled (it comes from a node that does not keep Blender's edge order)")
        return np.concatenate([bits, individual], 1)

    def build(prim, key):
        if mode == "FACES":
            key, individual = key[:-1], bool(key[-1])
        if not key.any():
            return None
        if mode == "FACES" and not individual:
            return extrude_face_regions(prim, key.astype(bool))
        fn = {"FACES": extrude_individual_faces, "EDGES": extrude_edges, "VERTICES": extrude_vertices}[mode]
        return fn(prim, key.astype(bool))

    def positions(topo, old, g, ctx, j):
        moved = g["offset"] * g["scale"][..., None]
        x = topo.extra
        b = old.shape[0]
        if mode == "FACES" and "in_place" in x:  # face regions: offsets averaged per point
            cv = x["corner_vert"].to(old.device)
            summed = old.new_zeros(old.shape).index_add(1, cv, moved.index_select(1, x["corner_face"].to(old.device)))
            mean = summed * (1.0 / x["corner_count"].to(old.device, old.dtype).clamp(min=1))[None, :, None]
            src = x["points"].to(old.device)
            old = old + mean * x["in_place"].to(old.device, old.dtype)[None, :, None]
            new = old.index_select(1, src) + mean.index_select(1, src)
            flags = {top_key: ("FACE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        elif mode == "FACES":
            src = topo.point_src[old.shape[1]:].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, x["vert_face"].to(old.device))
            flags = {top_key: ("FACE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        elif mode == "EDGES":  # each new point: its source + the mean offset of its selected edges
            ve = x["vert_edges"].to(old.device)
            ok = (ve >= 0).to(moved.dtype)
            picked = moved.index_select(1, ve.clamp(min=0).reshape(-1)).reshape(b, ve.shape[0], ve.shape[1], 3)
            total = picked[:, :, 0]
            for k in range(1, ve.shape[1]):  # in edge order, as Blender's mixer adds them
                total = total + picked[:, :, k] * ok[None, :, k, None]
            mean = total * (1.0 / ok.sum(1))[None, :, None]  # the mixer's reciprocal
            new = old.index_select(1, x["points"].to(old.device)) + mean
            flags = {top_key: ("EDGE", x["top"].expand(b, -1)), side_key: ("FACE", x["side"].expand(b, -1))}
        else:
            src = x["points"].to(old.device)
            new = old.index_select(1, src) + moved.index_select(1, src)
            flags = {top_key: ("POINT", x["top"].expand(b, -1))}
        return torch.cat([old, new], 1), {k: v for k, v in flags.items() if k in used}

    mesh = remesh(n, n.get("Mesh"), domain, values, keys, build, positions, name=("extrude", mode))
    side_error = None if mode != "VERTICES" else (f"{n.where}: the Side output of extruded VERTICES (the new "
                                                  "loose edges) is not supported")
    return {"Mesh": mesh, "Top": _flag_reader(top_key), "Side": _flag_reader(side_key, side_error)}
