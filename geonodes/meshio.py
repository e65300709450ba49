"""Writing evaluated meshes: .ply (binary, polygons + part id), .obj (polygons), .npz (arrays).

Vertices keep evaluation (Blender) order. Files are written to a temporary name and renamed,
so an error never leaves a partial file behind.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import GeonodesError

FORMATS = (".ply", ".obj", ".npz")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write) -> None:
    """Call write(tmp) on a temporary file beside `path`, then rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; the result honours the umask like open()
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def mesh_arrays(mesh) -> dict:
    return {
        "vertices": mesh.vertices.detach().cpu().double().numpy(),
        "face_offsets": mesh.face_offsets.cpu().numpy().astype(np.int64),
        "face_vertices": mesh.face_vertices.cpu().numpy().astype(np.int64),
        "triangles": mesh.triangles.cpu().numpy().astype(np.int64),
        "part_id": mesh.part_id.cpu().numpy().astype(np.int64),
        "face_part_id": mesh.face_part_id.cpu().numpy().astype(np.int64),
    }


def write_mesh(path, mesh) -> Path:
    """Write a `geonodes.Mesh` to .ply, .obj or .npz (by suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise GeonodesError(f"{path}: unsupported mesh format '{suffix}' (use {', '.join(FORMATS)})")
    if not path.parent.exists():
        raise GeonodesError(f"{path}: output folder does not exist")
    a = mesh_arrays(mesh)
    writer = {".ply": _write_ply, ".obj": _write_obj, ".npz": _write_npz}[suffix]
    atomic_write(path, lambda tmp: writer(tmp, a))
    return path


def _polygons(a):
    fo, fv = a["face_offsets"], a["face_vertices"]
    return [fv[fo[i]:fo[i + 1]] for i in range(len(fo) - 1)]


def _write_ply(tmp, a):
    from plyfile import PlyData, PlyElement

    v = a["vertices"]
    verts = np.empty(len(v), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4")])
    verts["x"], verts["y"], verts["z"] = v[:, 0], v[:, 1], v[:, 2]
    polys = _polygons(a)
    faces = np.empty(len(polys), dtype=[("vertex_indices", "O"), ("part_id", "i4")])
    faces["vertex_indices"] = [p.astype(np.int32) for p in polys]
    faces["part_id"] = a["face_part_id"].astype(np.int32)
    PlyData([PlyElement.describe(verts, "vertex"), PlyElement.describe(faces, "face")]).write(tmp)


def _write_obj(tmp, a):
    with open(tmp, "w") as f:
        f.write("# geonodes mesh: vertices in evaluation order; g = part id\n")
        for x, y, z in a["vertices"]:
            f.write(f"v {x:.9g} {y:.9g} {z:.9g}\n")
        current = None
        for poly, part in zip(_polygons(a), a["face_part_id"]):
            if part != current:
                f.write(f"g part{part}\n")
                current = part
            f.write("f " + " ".join(str(i + 1) for i in poly) + "\n")


def _write_npz(tmp, a):
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **a)
