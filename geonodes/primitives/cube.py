"""Cube node: a box surface, or a grid, line or point when counts are 1."""
from __future__ import annotations

import functools

import numpy as np
import torch

from .core import Linear, PrimMesh, _Topology, _batch, _check_int, _empty_topology, _topology, evaluate_linear
from .grid_line import _grid_tables, grid_edges, line_edges


@functools.lru_cache(maxsize=256)
def _cube_topology(vx: int, vy: int, vz: int) -> _Topology:
    if vx < 1 or vy < 1 or vz < 1:
        return _empty_topology(1)
    dims = (vx > 1) + (vy > 1) + (vz > 1)
    if dims == 0:
        return _topology([np.zeros((1, 3))], [], [])
    if dims == 1:
        axis, count = next((a, c) for a, c in enumerate((vx, vy, vz)) if c > 1)
        table = np.zeros((count, 3))
        table[:, axis] = np.arange(count) / (count - 1) - 0.5
        return _topology([table], [], line_edges(count))
    if dims == 2:
        # Blender builds a grid in XY and rotates it by +90 degrees into the plane.
        if vz == 1:
            cx, cy, polys = _grid_tables(vx, vy)
            table, edges = np.stack([cx, cy, np.zeros_like(cx)], 1), grid_edges(vx, vy)
        elif vy == 1:  # rotated about X: (gx, gy, 0) -> (gx, 0, gy)
            cx, cy, polys = _grid_tables(vx, vz)
            table, edges = np.stack([cx, np.zeros_like(cx), cy], 1), grid_edges(vx, vz)
        else:  # rotated about Y: (gx, gy, 0) -> (0, gy, -gx), grid over (z, y)
            cx, cy, polys = _grid_tables(vz, vy)
            table, edges = np.stack([np.zeros_like(cx), cy, -cx], 1), grid_edges(vz, vy)
        return _topology([table], polys, edges)
    return _cuboid_topology(vx, vy, vz)


def _cuboid_topology(vx: int, vy: int, vz: int) -> _Topology:
    """Box surface: full grids at z = bottom and top, boundary rings of the grid in between."""
    ex, ey, ez = vx - 1, vy - 1, vz - 1
    index = {}
    coords = []
    for z in range(vz):
        for y in range(vy):
            for x in range(vx):
                on_surface = z in (0, ez) or y in (0, ey) or x in (0, ex)
                if on_surface:
                    index[x, y, z] = len(coords)
                    coords.append((x / ex - 0.5, y / ey - 0.5, z / ez - 0.5))
    i = index
    polys = []
    for y in range(ey):  # bottom (-z)
        for x in range(ex):
            polys.append([i[x, y, 0], i[x, y + 1, 0], i[x + 1, y + 1, 0], i[x + 1, y, 0]])
    for z in range(ez):  # front (-y)
        for x in range(ex):
            polys.append([i[x, 0, z], i[x + 1, 0, z], i[x + 1, 0, z + 1], i[x, 0, z + 1]])
    for y in range(ey):  # top (+z)
        for x in range(ex):
            polys.append([i[x, y, ez], i[x + 1, y, ez], i[x + 1, y + 1, ez], i[x, y + 1, ez]])
    for z in range(ez):  # back (+y)
        for x in range(ex):
            polys.append([i[x, ey, z], i[x, ey, z + 1], i[x + 1, ey, z + 1], i[x + 1, ey, z]])
    for z in range(ez):  # left (-x)
        for y in range(ey):
            polys.append([i[0, y, z], i[0, y, z + 1], i[0, y + 1, z + 1], i[0, y + 1, z]])
    for z in range(ez):  # right (+x)
        for y in range(ey):
            polys.append([i[ex, y, z], i[ex, y + 1, z], i[ex, y + 1, z + 1], i[ex, y, z + 1]])
    return _topology([np.array(coords)], polys)


def mesh_cube_linear(size: torch.Tensor, vertices_x: int, vertices_y: int, vertices_z: int) -> Linear:
    """Linear form of `mesh_cube` (same arguments)."""
    vx, vy, vz = (_check_int(v, f"vertices_{a}") for v, a in zip((vertices_x, vertices_y, vertices_z), "xyz"))
    n, dtype, device = _batch({"size": (size, 3)})
    return Linear(_cube_topology(vx, vy, vz), [size], None, n, dtype, device)


def mesh_cube(size: torch.Tensor, vertices_x: int, vertices_y: int, vertices_z: int) -> PrimMesh:
    """Cube node, centred at the origin.

    With all counts >= 2: a box surface; vertices z-major, then y, then x, interior grid points
    skipped; faces bottom, front (-y), top, back (+y), left (-x), right (+x).
    With exactly one count == 1: a grid in the remaining plane (Blender's grid rotated into it);
    two counts == 1: a line; all three == 1: one vertex at the origin.
    Invalid: any count < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_cube_linear(size, vertices_x, vertices_y, vertices_z))
