"""Dense meshes: a structure's mesh parts realized into one primitive whose positions are an
explicit (B, V, 3) tensor, with attributes. Nodes that need per-vertex data (Set Position with
a field, Store Named Attribute, Delete Geometry) make them; transforms applied after them still
compose as affines (see vertices.part_vertices)."""
from __future__ import annotations

import torch

from .structure import GeomStruct, Part, Prim, edges_known, prim_edges
from .vertices import chain_affine, part_vertices

_CONCAT: dict = {}  # topo ids of the parts -> (face offsets, face vertices, face part, parts, edges, known)


def _concat_topology(parts: tuple):
    key = tuple(p.prim.topo_id for p in parts)
    hit = _CONCAT.get(key)
    if hit is None:
        offsets, loops, face_part, edges = [torch.zeros(1, dtype=torch.int64)], [], [], []
        vbase, lbase, pid, known = 0, 0, 0, True
        for p in parts:
            fo, fv = p.prim.face_offsets, p.prim.face_vertices
            # Joined meshes keep their edges in order, offset like their points (Blender's join).
            edges.append(prim_edges(p.prim) + vbase)
            known = known and edges_known(p.prim)
            offsets.append(fo[1:] + lbase)
            loops.append(fv + vbase)
            face_part.append(torch.full((fo.shape[0] - 1,), pid, dtype=torch.int64) if p.prim.face_part is None
                             else p.prim.face_part + pid)
            pid += p.prim.num_parts
            vbase += p.prim.num_vertices
            lbase += int(fo[-1])
        hit = _CONCAT[key] = (torch.cat(offsets), torch.cat(loops) if loops else torch.zeros(0, dtype=torch.int64),
                              torch.cat(face_part) if face_part else torch.zeros(0, dtype=torch.int64), pid,
                              torch.cat(edges) if edges else torch.zeros(0, 2, dtype=torch.int64), known)
    return hit


def domain_size(prim: Prim, domain: str) -> int:
    if domain == "POINT":
        return prim.num_vertices
    if domain == "FACE":
        return prim.face_offsets.shape[0] - 1
    if domain == "CORNER":
        return prim.face_vertices.shape[0]
    if domain == "EDGE":
        return prim_edges(prim).shape[0]
    raise ValueError(f"attributes on the {domain} domain are not supported")


def realize(struct: GeomStruct, cache: dict) -> Prim:
    """The structure's mesh parts as one dense primitive (its instances are not included).
    A single dense part without transforms is returned as it is."""
    parts = struct.parts
    if len(parts) == 1 and parts[0].prim.dense is not None and not parts[0].chain:
        return parts[0].prim
    positions = torch.cat([part_vertices(p, cache) for p in parts], dim=1)
    fo, fv, fp, nparts, edges, known = _concat_topology(parts)
    attributes = {}
    names = [name for p in parts for name in p.prim.attributes]
    for name in dict.fromkeys(names):
        domain, first = next(p.prim.attributes[name] for p in parts if name in p.prim.attributes)
        chunks = []
        for p in parts:
            have = p.prim.attributes.get(name)
            if have is not None and have[0] != domain:
                raise ValueError(f"attribute '{name}' is stored on both the {domain} and {have[0]} domains")
            if have is None:  # a part without the attribute contributes zeros (Blender's default)
                size = domain_size(p.prim, domain)
                have = (domain, first.new_zeros((first.shape[0], size) + tuple(first.shape[2:])))
            chunks.append(have[1])
        attributes[name] = (domain, torch.cat(chunks, dim=1))
    key = ("dense",) + tuple(p.prim.topo_id for p in parts)
    return Prim(key, positions.shape[1], fo, fv, None, dense=positions, attributes=attributes, face_part=fp,
                num_parts=nparts, edges=edges, edges_known=known, vertex_normals=_kept_normals(parts, cache))


def _kept_normals(parts: tuple, cache: dict):
    """A lone part's assigned vertex normals while its transforms only translate it (Blender's
    translate keeps a mesh's normals; rotating, scaling or joining recomputes them)."""
    if len(parts) != 1 or parts[0].prim.vertex_normals is None:
        return None
    m, _ = chain_affine(parts[0].chain, cache)
    translated = m is None or (m.dim() == 2 and bool((m == 1).all()))  # (B, 3): a per-axis scale
    return parts[0].prim.vertex_normals if translated else None


def with_data(prim: Prim, positions: torch.Tensor | None = None, attributes: dict | None = None) -> Prim:
    """The same topology with other positions and/or attributes."""
    return Prim(prim.topo_key, prim.num_vertices, prim.face_offsets, prim.face_vertices, None,
                dense=prim.dense if positions is None else positions,
                attributes=prim.attributes if attributes is None else attributes,
                face_part=prim.face_part, num_parts=prim.num_parts, edges=prim.edges, edges_known=prim.edges_known,
                vertex_normals=prim.vertex_normals if positions is None else None)


def dense_struct(prim: Prim, struct: GeomStruct) -> GeomStruct:
    """A structure whose mesh is `prim`, keeping `struct`'s instances."""
    return GeomStruct((Part(prim),), struct.instances)
