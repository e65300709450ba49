"""Grid and Mesh Line nodes."""
from __future__ import annotations

import functools

import numpy as np
import torch

from .core import Linear, PrimMesh, _Topology, _batch, _check_int, _empty_topology, _topology, evaluate_linear


def _grid_tables(vx: int, vy: int):
    """Grid coefficients (V,) for size_x and size_y; vertices x-major: index = x * vy + y."""
    ex, ey = vx - 1, vy - 1
    fx = np.arange(vx) / ex - 0.5 if ex > 0 else np.zeros(vx)
    fy = np.arange(vy) / ey - 0.5 if ey > 0 else np.zeros(vy)
    cx = np.repeat(fx, vy)
    cy = np.tile(fy, vx)
    polys = []
    for x in range(ex):
        for y in range(ey):
            v = x * vy + y
            polys.append([v, v + vy, v + vy + 1, v + 1])
    return cx, cy, polys


def grid_edges(vx: int, vy: int) -> list:
    """Blender's grid edges (mesh_primitive_grid.cc): along y for each x column, then along x for
    each row."""
    along_y = [(x * vy + y, x * vy + y + 1) for x in range(vx) for y in range(vy - 1)]
    return along_y + [(x * vy + y, (x + 1) * vy + y) for y in range(vy) for x in range(vx - 1)]


def line_edges(count: int) -> list:
    return [(i, i + 1) for i in range(count - 1)]


@functools.lru_cache(maxsize=256)
def _grid_topology(vx: int, vy: int) -> _Topology:
    if vx < 1 or vy < 1:
        return _empty_topology(2)
    cx, cy, polys = _grid_tables(vx, vy)
    zero = np.zeros_like(cx)
    return _topology([np.stack([cx, zero, zero], 1), np.stack([zero, cy, zero], 1)], polys, grid_edges(vx, vy))


def mesh_grid_linear(size_x: torch.Tensor, size_y: torch.Tensor, vertices_x: int, vertices_y: int) -> Linear:
    """Linear form of `mesh_grid` (same arguments)."""
    vx, vy = _check_int(vertices_x, "vertices_x"), _check_int(vertices_y, "vertices_y")
    n, dtype, device = _batch({"size_x": (size_x, 1), "size_y": (size_y, 1)})
    return Linear(_grid_topology(vx, vy), [size_x, size_y], None, n, dtype, device)


def mesh_grid(size_x: torch.Tensor, size_y: torch.Tensor, vertices_x: int, vertices_y: int) -> PrimMesh:
    """Grid node. Vertices x-major (index = ix * vertices_y + iy), quads (v, v+vy, v+vy+1, v+1).

    A count of 1 on an axis puts the vertices at 0 on that axis (no faces).
    Invalid: vertices_x < 1 or vertices_y < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_grid_linear(size_x, size_y, vertices_x, vertices_y))


@functools.lru_cache(maxsize=256)
def _line_topology(count: int) -> _Topology:
    """Line: vertex i = start + i * delta. Tables for (start, delta)."""
    if count < 1:
        return _empty_topology(2)
    ones = np.ones((count, 3))
    steps = np.repeat(np.arange(count, dtype=np.float64)[:, None], 3, axis=1)
    return _topology([ones, steps], [], line_edges(count))


def mesh_line_offset_linear(start: torch.Tensor, offset: torch.Tensor, count: int) -> Linear:
    """Linear form of `mesh_line_offset` (same arguments)."""
    count = _check_int(count, "count")
    n, dtype, device = _batch({"start": (start, 3), "offset": (offset, 3)})
    return Linear(_line_topology(count), [start, offset], None, n, dtype, device)


def mesh_line_offset(start: torch.Tensor, offset: torch.Tensor, count: int) -> PrimMesh:
    """Mesh Line, mode OFFSET (count mode TOTAL): vertex i = start + i * offset.

    Lines have edges but no faces. Invalid: count < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_line_offset_linear(start, offset, count))


def mesh_line_end_points_total_linear(start: torch.Tensor, end: torch.Tensor, count: int) -> Linear:
    """Linear form of `mesh_line_end_points_total` (same arguments)."""
    count = _check_int(count, "count")
    n, dtype, device = _batch({"start": (start, 3), "end": (end, 3)})
    delta = (end - start) / (count - 1) if count > 1 else torch.zeros_like(end)
    return Linear(_line_topology(count), [start, delta], None, n, dtype, device)


def mesh_line_end_points_total(start: torch.Tensor, end: torch.Tensor, count: int) -> PrimMesh:
    """Mesh Line, mode END_POINTS, count mode TOTAL: count points from start to end inclusive.

    count == 1 gives the start point alone. Invalid: count < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_line_end_points_total_linear(start, end, count))


# Blender clamps the resolution so a tiny value cannot ask for an unbounded count.
_MIN_LINE_RESOLUTION = 0.0001


def line_resolution_count(start: torch.Tensor, end: torch.Tensor, resolution: torch.Tensor) -> torch.Tensor:
    """Vertex count of Mesh Line END_POINTS / RESOLUTION per row: int(|end - start| / res) + 1,
    res = max(resolution, 0.0001). Returns (n,) int64 (not differentiable: it is a count).

    Computed in float32 like Blender, so lengths that are near multiples of the resolution
    round the same way (|0.3| / 0.1 gives 4 points in Blender, 3 in float64).
    """
    _batch({"start": (start, 3), "end": (end, 3), "resolution": (resolution, 1)})
    with torch.no_grad():
        d = end.float() - start.float()
        length = torch.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
        res = resolution.float().clamp_min(_MIN_LINE_RESOLUTION)
        return torch.trunc(length / res).to(torch.int64) + 1


def mesh_line_end_points_resolution_linear(start: torch.Tensor, end: torch.Tensor, resolution: torch.Tensor,
                                           count: int) -> Linear:
    """Linear form of `mesh_line_end_points_resolution` (same arguments)."""
    count = _check_int(count, "count")
    n, dtype, device = _batch({"start": (start, 3), "end": (end, 3), "resolution": (resolution, 1)})
    direction = end - start
    length = torch.linalg.vector_norm(direction, dim=-1, keepdim=True)
    # Blender's normalize() leaves a zero vector at zero; guard the division so grads stay finite.
    unit = torch.where(length > 0, direction / torch.where(length > 0, length, torch.ones_like(length)),
                       torch.zeros_like(direction))
    delta = unit * resolution.clamp_min(_MIN_LINE_RESOLUTION)[:, None]
    return Linear(_line_topology(count), [start, delta], None, n, dtype, device)


def mesh_line_end_points_resolution(start: torch.Tensor, end: torch.Tensor, resolution: torch.Tensor,
                                    count: int) -> PrimMesh:
    """Mesh Line, mode END_POINTS, count mode RESOLUTION: points spaced exactly `resolution`
    (clamped to >= 0.0001) from start towards end; the last one need not reach end.

    `count` must be `line_resolution_count(start, end, resolution)` of the rows passed (all
    rows of one call share it); it is not re-checked here because callers build topology
    from placeholder inputs. A zero-length segment gives the start point repeated.
    """
    return evaluate_linear(mesh_line_end_points_resolution_linear(start, end, resolution, count))
