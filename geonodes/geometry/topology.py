"""Polygons and triangles of a structure's parts, concatenated in order."""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Topology:
    face_offsets: torch.Tensor  # (F+1,)
    face_vertices: torch.Tensor  # (L,)
    triangles: torch.Tensor  # (T,3)
    face_part: torch.Tensor  # (F,) part id per polygon
    triangle_face: torch.Tensor  # (T,) polygon per triangle
    num_vertices: int
    part_names: tuple = ()  # per part id: the path of the primitive node that made it ("Group/Node")


def assemble_topology(parts: tuple) -> Topology:
    offsets, loops, face_part = [torch.zeros(1, dtype=torch.int64)], [], []
    vbase, lbase, pid = 0, 0, 0
    for p in parts:
        fo, fv = p.prim.face_offsets, p.prim.face_vertices
        offsets.append(fo[1:] + lbase)
        loops.append(fv + vbase)
        if p.prim.face_part is None:  # a primitive is one part; a dense mesh keeps its sources'
            face_part.append(torch.full((fo.shape[0] - 1,), pid, dtype=torch.int64))
        else:
            face_part.append(p.prim.face_part + pid)
        pid += p.prim.num_parts
        vbase += p.prim.num_vertices
        lbase += int(fo[-1])
    face_offsets = torch.cat(offsets)
    face_vertices = torch.cat(loops) if loops else torch.zeros(0, dtype=torch.int64)
    fp = torch.cat(face_part) if face_part else torch.zeros(0, dtype=torch.int64)
    tris, tri_face = fan_triangulate(face_offsets, face_vertices)
    names = tuple(part_name(p.prim.topo_key) for p in parts)
    return Topology(face_offsets, face_vertices, tris, fp, tri_face, vbase, names)


def part_name(topo_key: tuple) -> str:
    """A part's name: the call path of the primitive node that made it ("Arms/Left Arm/Armrest"). Stable
    across topologies (a discrete parameter switching other parts on or off leaves it alone); copies of one
    primitive (instances, a group's repeated calls at one place) share it."""
    path = topo_key[0] if topo_key else ()
    return "/".join(str(x) for x in path) if isinstance(path, tuple) else str(path)


def fan_triangulate(face_offsets: torch.Tensor, face_vertices: torch.Tensor):
    """Polygons -> triangles (l0, l_i, l_i+1); a quad gives (0,1,2),(0,2,3) as in Blender."""
    sizes = face_offsets[1:] - face_offsets[:-1]
    ntri = (sizes - 2).clamp(min=0)
    tri_face = torch.repeat_interleave(torch.arange(sizes.shape[0]), ntri)
    if tri_face.numel() == 0:
        return torch.zeros(0, 3, dtype=torch.int64), tri_face
    first = torch.repeat_interleave(torch.cumsum(ntri, 0) - ntri, ntri)
    local = torch.arange(tri_face.shape[0]) - first + 1  # i = 1..k-2
    start = face_offsets[tri_face]
    tris = torch.stack([start, start + local, start + local + 1], dim=1)
    return face_vertices[tris], tri_face
