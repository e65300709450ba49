"""The standard 3D Gaussian Splatting .ply layout (original 3DGS / gsplat / most viewers).

One binary little-endian `vertex` element, float32 properties in this order::

    x y z  nx ny nz  f_dc_0..2  f_rest_0..(3*(K-1)-1)  opacity  scale_0..2  rot_0..3

Values are stored the way 3DGS optimises them, which is also gsplat's `splats` dict:

* `scales`: log of the per-axis standard deviations (the rasteriser takes exp(scales)),
* `opacities`: logit (the rasteriser takes sigmoid(opacities)),
* `quats`: w x y z, not necessarily normalised,
* `sh0` (N, 1, 3): the DC SH coefficient, `shN` (N, K-1, 3): the higher bands. In the file
  `f_rest` is channel-major: all K-1 coefficients of red, then green, then blue.

The normals are written as zeros (3DGS does the same) and are optional on reading, since
gsplat's exporter omits them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from plyfile import PlyData, PlyElement
from torch import Tensor

from geonodes.meshio import atomic_write
from procsplat.errors import ProcsplatError

SPLAT_KEYS = ("means", "scales", "quats", "opacities", "sh0", "shN")


class SplatPlyError(ProcsplatError):
    """A .ply file that is not a readable 3DGS splat file; the message names the file."""


def splat_property_names(n_rest: int, normals: bool = True) -> list[str]:
    """Vertex property names, in file order, for `n_rest` f_rest values."""
    return (["x", "y", "z"] + (["nx", "ny", "nz"] if normals else [])
            + [f"f_dc_{i}" for i in range(3)] + [f"f_rest_{i}" for i in range(n_rest)]
            + ["opacity"] + [f"scale_{i}" for i in range(3)] + [f"rot_{i}" for i in range(4)])


def save_splats_ply(path: str | os.PathLike, means: Tensor, scales: Tensor, quats: Tensor,
                    opacities: Tensor, sh0: Tensor, shN: Tensor) -> None:
    """Write splats (log scales, logit opacities, see module doc) atomically as float32.

    The file appears complete or not at all: it is written to a temporary file in the same
    directory, flushed to disk and renamed over `path`.
    """
    path = Path(path)
    n = means.shape[0] if means.ndim == 2 else -1
    expected = {"means": (means, (n, 3)), "scales": (scales, (n, 3)), "quats": (quats, (n, 4)),
                "opacities": (opacities, (n,)), "sh0": (sh0, (n, 1, 3))}
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            wanted = ", ".join(["N"] + [str(d) for d in shape[1:]])
            raise ValueError(f"save_splats_ply({path}): {name} must have shape ({wanted}) "
                             f"with N = len(means) = {n}, got {tuple(tensor.shape)}")
    if shN.ndim != 3 or shN.shape[0] != n or shN.shape[2] != 3 \
            or math.isqrt(shN.shape[1] + 1) ** 2 != shN.shape[1] + 1:
        raise ValueError(f"save_splats_ply({path}): shN must be (N, K-1, 3) with K a square "
                         f"(SH degree 0..4: K-1 in 0, 3, 8, 15, 24), got {tuple(shN.shape)}")
    columns = [
        means, torch.zeros_like(means), sh0[:, 0, :],
        shN.transpose(1, 2).reshape(n, -1),  # channel-major f_rest
        opacities[:, None], scales, quats,
    ]
    data = torch.cat([c.detach().to("cpu", torch.float32) for c in columns], dim=1).numpy()
    names = splat_property_names(3 * shN.shape[1])
    vertex = np.empty(n, dtype=[(name, "<f4") for name in names])
    vertex.view("<f4").reshape(n, len(names))[:] = data
    ply = PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<")

    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp):
        with open(tmp, "wb") as f:
            ply.write(f)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def load_splats_ply(path: str | os.PathLike) -> dict[str, Tensor]:
    """Read a 3DGS .ply into float32 tensors keyed like `save_splats_ply`'s arguments.

    Raises SplatPlyError naming the file for missing files, non-PLY or truncated data, a
    missing `vertex` element, and missing, extra, misordered or non-float32 properties.
    """
    path = Path(path)

    def fail(what: str) -> SplatPlyError:
        return SplatPlyError(f"{path}: {what}")

    if not path.is_file():
        raise fail("no such file")
    try:
        ply = PlyData.read(str(path))
        if "vertex" not in ply:
            raise fail("no 'vertex' element (elements: "
                       f"{[e.name for e in ply.elements]})")
        vertex = ply["vertex"]
        data = vertex.data  # plyfile reads lazily for some layouts; touch the data here
        n = len(data)
    except SplatPlyError:
        raise
    except Exception as e:  # plyfile raises various types for bad headers and short data
        raise fail(f"not a readable binary PLY file ({type(e).__name__}: {e})") from e

    props = [p.name for p in vertex.properties]
    not_float = [p.name for p in vertex.properties if p.val_dtype not in ("f4", "float32")]
    if not_float:
        raise fail(f"vertex properties must be float32; not float32: {not_float}")
    n_rest = sum(name.startswith("f_rest_") for name in props)
    has_normals = "nx" in props
    expected = splat_property_names(n_rest, normals=has_normals)
    if props != expected:
        missing = [p for p in expected if p not in props]
        extra = [p for p in props if p not in expected]
        detail = (f"missing {missing}" if missing else "") + \
                 (f"{'; ' if missing else ''}unexpected {extra}" if extra else "")
        raise fail("vertex properties are not the 3DGS layout: "
                   + (detail or f"wrong order {props}, expected {expected}"))
    if n_rest % 3 or math.isqrt(n_rest // 3 + 1) ** 2 != n_rest // 3 + 1:
        raise fail(f"{n_rest} f_rest properties do not form SH bands (need 3*(K-1), K a square)")

    if len(ply.elements) == 1:
        # plyfile ignores bytes after the last element; in a splat file they mean corruption
        # (e.g. a wrong vertex count in the header).
        with open(path, "rb") as f:
            head = f.read(1 << 16)
        end = head.find(b"end_header")
        header_size = head.index(b"\n", end) + 1 if end >= 0 else 0
        expected_size = header_size + n * 4 * len(props)
        actual_size = path.stat().st_size
        if header_size and actual_size != expected_size:
            raise fail(f"{actual_size - expected_size} bytes after the {n} vertices the header "
                       "declares (wrong vertex count or trailing data)")

    table = np.stack([np.asarray(data[name], dtype="<f4") for name in props], axis=1)
    table = torch.from_numpy(table.astype(np.float32, copy=False)).reshape(n, len(props))
    offset = 6 if has_normals else 3
    k1 = n_rest // 3
    dc = table[:, offset:offset + 3]
    rest = table[:, offset + 3:offset + 3 + n_rest]
    tail = table[:, offset + 3 + n_rest:]
    return {
        "means": table[:, 0:3].clone(),
        "scales": tail[:, 1:4].clone(),
        "quats": tail[:, 4:8].clone(),
        "opacities": tail[:, 0].clone(),
        "sh0": dc.reshape(n, 1, 3).clone(),
        "shN": rest.reshape(n, 3, k1).transpose(1, 2).contiguous(),
    }
