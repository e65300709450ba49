"""Blender's mesh primitive nodes as batched, differentiable PyTorch functions.

Each function returns exactly the mesh Blender 4.2 builds for the node: same vertex order,
same polygon order, same loop order (verified against live `bpy` in tests/test_primitives.py).
Integer inputs (counts) are python ints shared by the whole batch: they fix the topology.
Float inputs are tensors with a leading batch dimension n.

Every primitive's vertex positions are *linear* in its float inputs, so a topology is stored
as coefficient tables: `positions = sum_k input_k * table_k`. The tables and the polygon arrays
depend only on the integers and are cached on the CPU (float64), then cast to the inputs'
dtype/device on use. Gradients flow through the multiply-adds.

Invalid integer inputs give an empty mesh, as Blender does (it shows an info message and
outputs no geometry): see each function's docstring.
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

FILL_TYPES = ("NONE", "NGON", "TRIANGLE_FAN")


@dataclass
class PrimMesh:
    vertices: torch.Tensor  # (n, V, 3), dtype/device of the float inputs
    face_offsets: torch.Tensor  # (F+1,) int64, polygon starts, last = number of loops
    face_vertices: torch.Tensor  # (L,) int64, vertex index per loop

    @property
    def num_faces(self) -> int:
        return self.face_offsets.numel() - 1

    def polygons(self) -> list[list[int]]:
        """Polygons as python lists of vertex indices (for tests and debugging)."""
        off = self.face_offsets.tolist()
        fv = self.face_vertices.tolist()
        return [fv[a:b] for a, b in zip(off[:-1], off[1:])]


@dataclass(frozen=True)
class _Topology:
    """Cached CPU description of one integer configuration.

    `tables[k]` is a (V, 3) float64 array multiplied (per component) by the k-th float input.
    """

    tables: tuple
    face_offsets: torch.Tensor
    face_vertices: torch.Tensor

    @property
    def num_vertices(self) -> int:
        return self.tables[0].shape[0]


def _topology(tables, polygons) -> _Topology:
    tables = tuple(torch.as_tensor(np.asarray(t, dtype=np.float64).reshape(-1, 3)) for t in tables)
    sizes = [len(p) for p in polygons]
    offsets = torch.tensor([0] + list(np.cumsum(sizes, dtype=np.int64)), dtype=torch.int64)
    flat = [v for p in polygons for v in p]
    return _Topology(tables, offsets, torch.tensor(flat, dtype=torch.int64))


def _empty_topology(num_tables: int) -> _Topology:
    return _topology([np.zeros((0, 3))] * num_tables, [])


# ---------------------------------------------------------------- input checking / evaluation


def _check_int(value, name: str) -> int:
    if type(value) is int:  # the usual case, without the slower abstract-class check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"primitive input {name!r} must be a python int, got {type(value).__name__}")
    return int(value)


def _check_fill(fill_type: str) -> str:
    if fill_type not in FILL_TYPES:
        raise ValueError(f"fill_type must be one of {FILL_TYPES}, got {fill_type!r}")
    return fill_type


def _batch(inputs: dict[str, tuple[torch.Tensor, int]]):
    """Validate float inputs {name: (tensor, width)}; width 3 = vector (n,3), 1 = scalar (n,).

    Returns (n, dtype, device). Batch sizes must agree (size 1 broadcasts).
    """
    ns, dtypes = [], set()
    for name, (t, width) in inputs.items():
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"primitive input {name!r} must be a floating point tensor")
        shape = t.shape
        if len(shape) != (2 if width == 3 else 1) or (width == 3 and shape[1] != 3):
            raise ValueError(f"primitive input {name!r} must have shape {'(n, 3)' if width == 3 else '(n,)'}, "
                             f"got {tuple(shape)}")
        ns.append(shape[0])
        dtypes.add(t.dtype)
    n = max(ns)
    for name, (t, _) in inputs.items():
        if t.shape[0] not in (1, n):
            raise ValueError(f"primitive input {name!r} has batch size {t.shape[0]}, others have {n}")
    tensors = [t for t, _ in inputs.values()]
    if len(dtypes) == 1:
        return n, tensors[0].dtype, tensors[0].device
    dtype = functools.reduce(torch.promote_types, [t.dtype for t in tensors])
    return n, dtype, tensors[0].device


@dataclass
class Linear:
    """A primitive before evaluation: positions = sum_k inputs[k] * topo.tables[k] (+ offset).

    The `<name>_linear` functions return this so that callers (the node evaluator) can fold the
    per-row coefficients into the transforms applied later, instead of building vertices twice.
    """

    topo: _Topology
    inputs: list  # (n,) or (n,3) float tensors, one per table
    offset: torch.Tensor | None  # (n,3) added to every vertex, or None
    n: int
    dtype: torch.dtype
    device: torch.device


def evaluate_linear(lin: Linear) -> PrimMesh:
    mesh = _evaluate(lin.topo, lin.inputs, lin.n, lin.dtype, lin.device)
    if lin.offset is not None:
        mesh.vertices = mesh.vertices + lin.offset.to(lin.dtype)[:, None, :]
    return mesh


def _evaluate(topo: _Topology, inputs: list[torch.Tensor], n: int, dtype, device) -> PrimMesh:
    """positions = sum_k input_k * table_k, inputs (n,) scalars or (n,3) vectors."""
    # Computed vertex-major (V, n, 3), where per-row inputs broadcast over the leading axis
    # (much faster in torch than (n, V, 3) with (n, 1, 3)); returned as an (n, V, 3) view.
    verts = torch.zeros((topo.num_vertices, n, 3), dtype=dtype, device=device)
    for x, table in zip(inputs, topo.tables):
        x = x.to(dtype)
        x = x[:, None] if x.dim() == 1 else x
        verts = verts + x * _table(topo, table, dtype, device)[:, None, :]
    return PrimMesh(verts.transpose(0, 1), topo.face_offsets.to(device), topo.face_vertices.to(device))


_CONVERTED: dict = {}


def _table(topo, table, dtype, device):
    """The coefficient table in the wanted dtype/device (converted once, then cached)."""
    key = (id(table), dtype, str(device))
    if key not in _CONVERTED:
        _CONVERTED[key] = (table, table.to(device=device, dtype=dtype))  # holds `table`: ids stay unique
    return _CONVERTED[key][1]


def _ring(count: int) -> np.ndarray:
    """Unit circle points (count, 2), starting at +x, counter-clockwise (Blender's order)."""
    angle = np.arange(count) * (2.0 * math.pi / count)
    return np.stack([np.cos(angle), np.sin(angle)], axis=1)


# ---------------------------------------------------------------- grid / line


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


@functools.lru_cache(maxsize=256)
def _grid_topology(vx: int, vy: int) -> _Topology:
    if vx < 1 or vy < 1:
        return _empty_topology(2)
    cx, cy, polys = _grid_tables(vx, vy)
    zero = np.zeros_like(cx)
    return _topology([np.stack([cx, zero, zero], 1), np.stack([zero, cy, zero], 1)], polys)


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
    return _topology([ones, steps], [])


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


# ---------------------------------------------------------------- cube


@functools.lru_cache(maxsize=256)
def _cube_topology(vx: int, vy: int, vz: int) -> _Topology:
    if vx < 1 or vy < 1 or vz < 1:
        return _empty_topology(1)
    dims = (vx > 1) + (vy > 1) + (vz > 1)
    if dims == 0:
        return _topology([np.zeros((1, 3))], [])
    if dims == 1:
        axis, count = next((a, c) for a, c in enumerate((vx, vy, vz)) if c > 1)
        table = np.zeros((count, 3))
        table[:, axis] = np.arange(count) / (count - 1) - 0.5
        return _topology([table], [])
    if dims == 2:
        # Blender builds a grid in XY and rotates it by +90 degrees into the plane.
        if vz == 1:
            cx, cy, polys = _grid_tables(vx, vy)
            table = np.stack([cx, cy, np.zeros_like(cx)], 1)
        elif vy == 1:  # rotated about X: (gx, gy, 0) -> (gx, 0, gy)
            cx, cy, polys = _grid_tables(vx, vz)
            table = np.stack([cx, np.zeros_like(cx), cy], 1)
        else:  # rotated about Y: (gx, gy, 0) -> (0, gy, -gx), grid over (z, y)
            cx, cy, polys = _grid_tables(vz, vy)
            table = np.stack([np.zeros_like(cx), cy, -cx], 1)
        return _topology([table], polys)
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


# ---------------------------------------------------------------- cone / cylinder / circle


@functools.lru_cache(maxsize=256)
def _cone_topology(verts: int, side: int, fill: int, fill_type: str, top_point: bool,
                   bottom_point: bool, zero_depth: bool) -> _Topology:
    """Tables for (radius_top, radius_bottom, depth); centred (z in [-depth/2, depth/2]).

    The mesh is a chain of rings from top to bottom: top fill rings (inner to outer), side
    rings, bottom fill rings (outer to inner); quads join consecutive rings; a centre vertex
    closes an end that is a point or is fan-filled, an n-gon closes an NGON end.
    """
    if verts < 3 or side < 1 or fill < 1:
        return _empty_topology(3)
    if top_point and bottom_point:
        if zero_depth:
            return _topology([np.zeros((1, 3))] * 3, [])
        depth = np.zeros((side + 1, 3))
        depth[:, 2] = 0.5 - np.arange(side + 1) / side
        zeros = np.zeros((side + 1, 3))
        return _topology([zeros, zeros, depth], [])
    filled = fill_type != "NONE"
    unit = _ring(verts)
    rt, rb, dz = [], [], []  # per vertex: radius_top factor, radius_bottom factor, z / depth
    rings = []  # vertex index lists, top to bottom

    def add_ring(top_factor, bottom_factor, z):
        rings.append(list(range(len(rt), len(rt) + verts)))
        rt.extend([top_factor] * verts)
        rb.extend([bottom_factor] * verts)
        dz.extend([z] * verts)

    polys = []
    top_center = top_point or fill_type == "TRIANGLE_FAN"
    bottom_center = bottom_point or fill_type == "TRIANGLE_FAN"
    if top_center:
        rt.append(0.0), rb.append(0.0), dz.append(0.5)
    if not top_point and filled:
        for i in range(1, fill):
            add_ring(i / fill, 0.0, 0.5)
    for j in range(side + 1):
        if (j == 0 and top_point) or (j == side and bottom_point):
            continue
        add_ring(1.0 - j / side, j / side, 0.5 - j / side)
    if not bottom_point and filled:
        for i in range(1, fill):
            add_ring(0.0, (fill - i) / fill, -0.5)
    if bottom_center:
        rt.append(0.0), rb.append(0.0), dz.append(-0.5)
    if top_center:
        first = rings[0]
        polys += [[first[k], first[(k + 1) % verts], 0] for k in range(verts)]
    elif fill_type == "NGON":
        polys.append(list(rings[0]))
    for upper, lower in zip(rings[:-1], rings[1:]):
        polys += [[upper[k], lower[k], lower[(k + 1) % verts], upper[(k + 1) % verts]] for k in range(verts)]
    if bottom_center:
        last, center = rings[-1], len(rt) - 1
        polys += [[last[k], center, last[(k + 1) % verts]] for k in range(verts)]
    elif fill_type == "NGON":
        polys.append(list(reversed(rings[-1])))

    num = len(rt)
    xy = np.zeros((num, 2))
    for ring in rings:
        xy[ring] = unit
    rt, rb, dz = np.array(rt), np.array(rb), np.array(dz)
    zeros = np.zeros(num)
    table_top = np.stack([xy[:, 0] * rt, xy[:, 1] * rt, zeros], 1)
    table_bottom = np.stack([xy[:, 0] * rb, xy[:, 1] * rb, zeros], 1)
    table_depth = np.stack([zeros, zeros, dz], 1)
    return _topology([table_top, table_bottom, table_depth], polys)


def _uniform(mask: torch.Tensor, what: str) -> bool:
    """A topology-changing float condition must hold for all rows of a call or for none."""
    n_true = int(mask.sum())
    if 0 < n_true < mask.numel():
        raise ValueError(f"{what} holds for {n_true} of {mask.numel()} rows; it changes the topology, "
                         "so split the batch with cone_topology_flags() first")
    return n_true > 0


def cone_topology_flags(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor):
    """Per-row (top_is_point, bottom_is_point, both_points_and_zero_depth), (n,) bool each.

    Blender merges an end ring of radius exactly 0 into one vertex, and a cone with both radii 0
    is a line (one vertex if depth is 0 too). Rows differing in these flags have different
    topologies, so a batched caller must split rows by them before calling mesh_cone.
    """
    top, bottom = radius_top == 0, radius_bottom == 0
    return top, bottom, top & bottom & (depth == 0)


def _cone(radius_top, radius_bottom, depth, vertices, side_segments, fill_segments, fill_type, names,
          flags=None):
    verts = _check_int(vertices, "vertices")
    side = _check_int(side_segments, "side_segments")
    fill_type = _check_fill(fill_type)
    # Blender ignores Fill Segments when there is no fill.
    fill = 1 if fill_type == "NONE" else _check_int(fill_segments, "fill_segments")
    if flags is not None:  # the caller split the rows by cone_topology_flags() already
        top, bottom, flat = (bool(f) for f in flags)
        return _cone_topology(verts, side, fill, fill_type, top, bottom, flat and top and bottom)
    top, bottom, flat = cone_topology_flags(radius_top, radius_bottom, depth)
    top = _uniform(top, f"{names[0]} == 0")
    bottom = _uniform(bottom, f"{names[1]} == 0")
    flat = _uniform(flat, f"{names[0]} == {names[1]} == depth == 0") if top and bottom else False
    return _cone_topology(verts, side, fill, fill_type, top, bottom, flat)


def mesh_cone_linear(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor, vertices: int,
                     side_segments: int, fill_segments: int, fill_type: str, flags=None) -> Linear:
    """Linear form of `mesh_cone`; `flags` = cone_topology_flags() values shared by every row
    (then rows are not checked: callers that split rows by the flags pass them)."""
    n, dtype, device = _batch({"radius_top": (radius_top, 1), "radius_bottom": (radius_bottom, 1),
                               "depth": (depth, 1)})
    topo = _cone(radius_top, radius_bottom, depth, vertices, side_segments, fill_segments, fill_type,
                 ("radius_top", "radius_bottom"), flags)
    offset = torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth / 2], -1)
    return Linear(topo, [radius_top, radius_bottom, depth], offset, n, dtype, device)


def mesh_cone(radius_top: torch.Tensor, radius_bottom: torch.Tensor, depth: torch.Tensor, vertices: int,
              side_segments: int, fill_segments: int, fill_type: str) -> PrimMesh:
    """Cone node: base at z = 0, tip side at z = depth (Blender moves the cone up by depth/2).

    Vertex order: top centre (if the top is a point or fan-filled), top fill rings, side rings,
    bottom fill rings, bottom centre. A radius of exactly 0 merges that end into one vertex
    (all rows must agree: see cone_topology_flags); both radii 0 gives a line of
    side_segments + 1 vertices, or one vertex when depth is 0 too. fill_segments is ignored
    for fill_type NONE.
    Invalid: vertices < 3, side_segments < 1 or (with a fill) fill_segments < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_cone_linear(radius_top, radius_bottom, depth, vertices, side_segments,
                                            fill_segments, fill_type))


def mesh_cylinder_linear(radius: torch.Tensor, depth: torch.Tensor, vertices: int, side_segments: int,
                         fill_segments: int, fill_type: str, flags=None) -> Linear:
    """Linear form of `mesh_cylinder`; `flags` as for mesh_cone_linear."""
    n, dtype, device = _batch({"radius": (radius, 1), "depth": (depth, 1)})
    topo = _cone(radius, radius, depth, vertices, side_segments, fill_segments, fill_type,
                 ("radius", "radius"), flags)
    return Linear(_one_radius(topo), [radius, depth], None, n, dtype, device)


_ONE_RADIUS: dict = {}


def _one_radius(topo: _Topology) -> _Topology:
    """A cone topology with its two radius tables summed (a cylinder: one radius input)."""
    if id(topo) not in _ONE_RADIUS:
        top, bottom, depth = topo.tables
        _ONE_RADIUS[id(topo)] = (topo, _Topology((top + bottom, depth), topo.face_offsets, topo.face_vertices))
    return _ONE_RADIUS[id(topo)][1]


def mesh_cylinder(radius: torch.Tensor, depth: torch.Tensor, vertices: int, side_segments: int,
                  fill_segments: int, fill_type: str) -> PrimMesh:
    """Cylinder node: centred, z in [-depth/2, depth/2]. Same layout as mesh_cone with both
    radii equal; radius exactly 0 gives a line (all rows must agree).
    Invalid: vertices < 3, side_segments < 1 or (with a fill) fill_segments < 1 -> empty mesh.
    """
    return evaluate_linear(mesh_cylinder_linear(radius, depth, vertices, side_segments, fill_segments, fill_type))


@functools.lru_cache(maxsize=256)
def _circle_topology(verts: int, fill_type: str) -> _Topology:
    if verts < 3:
        return _empty_topology(1)
    table = np.zeros((verts, 3))
    table[:, :2] = _ring(verts)
    if fill_type == "NGON":
        polys = [list(range(verts))]
    elif fill_type == "TRIANGLE_FAN":
        table = np.concatenate([table, np.zeros((1, 3))])
        polys = [[k, (k + 1) % verts, verts] for k in range(verts)]
    else:
        polys = []
    return _topology([table], polys)


def mesh_circle_linear(radius: torch.Tensor, vertices: int, fill_type: str) -> Linear:
    """Linear form of `mesh_circle` (same arguments)."""
    verts = _check_int(vertices, "vertices")
    fill_type = _check_fill(fill_type)
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_circle_topology(verts, fill_type), [radius], None, n, dtype, device)


def mesh_circle(radius: torch.Tensor, vertices: int, fill_type: str) -> PrimMesh:
    """Mesh Circle node: vertex k at angle 2*pi*k/vertices from +x; TRIANGLE_FAN adds the centre
    last and faces (k, k+1, centre). Invalid: vertices < 3 -> empty mesh."""
    return evaluate_linear(mesh_circle_linear(radius, vertices, fill_type))


# ---------------------------------------------------------------- UV sphere


@functools.lru_cache(maxsize=256)
def _uv_sphere_topology(segments: int, rings: int) -> _Topology:
    if segments < 3 or rings < 2:
        return _empty_topology(1)
    # Ring vertices start one segment past +x (angle 2*pi/segments), counter-clockwise.
    theta = np.arange(1, segments + 1) * (2.0 * math.pi / segments)
    phi = np.arange(1, rings) * (math.pi / rings)
    ring_xyz = np.stack([np.outer(np.sin(phi), np.cos(theta)), np.outer(np.sin(phi), np.sin(theta)),
                         np.repeat(np.cos(phi)[:, None], segments, 1)], -1).reshape(-1, 3)
    table = np.concatenate([[[0.0, 0.0, 1.0]], ring_xyz, [[0.0, 0.0, -1.0]]])
    bottom = len(table) - 1

    def ring(r):  # vertex indices of ring r (0 = first below the top pole)
        return [1 + r * segments + k for k in range(segments)]

    polys = []
    first = ring(0)
    polys += [[0, first[k], first[(k + 1) % segments]] for k in range(segments)]
    for r in range(rings - 2):
        upper, lower = ring(r), ring(r + 1)
        polys += [[upper[k], lower[k], lower[(k + 1) % segments], upper[(k + 1) % segments]]
                  for k in range(segments)]
    last = ring(rings - 2)
    polys += [[bottom, last[(k + 1) % segments], last[k]] for k in range(segments)]
    return _topology([table], polys)


def mesh_uv_sphere_linear(radius: torch.Tensor, segments: int, rings: int) -> Linear:
    """Linear form of `mesh_uv_sphere` (same arguments)."""
    segments, rings = _check_int(segments, "segments"), _check_int(rings, "rings")
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_uv_sphere_topology(segments, rings), [radius], None, n, dtype, device)


def mesh_uv_sphere(radius: torch.Tensor, segments: int, rings: int) -> PrimMesh:
    """UV Sphere node: top pole, rings - 1 rings of `segments` vertices from top to bottom (each
    starting at angle 2*pi/segments), bottom pole; faces: top triangles, quads, bottom triangles.
    Invalid: segments < 3 or rings < 2 -> empty mesh."""
    return evaluate_linear(mesh_uv_sphere_linear(radius, segments, rings))


# ---------------------------------------------------------------- ico sphere
#
# Blender builds the ico sphere with BMesh: an icosahedron, then (subdivisions > 1) every edge
# cut 2^(s-1) - 1 times and every triangle filled with a triangular lattice by face splits.
# Vertex and face order come from that construction, so it is replayed here on a tiny
# half-edge-free model (faces as vertex cycles whose first entry is BMesh's first loop).

# Blender's icosahedron, in units of radius / 200 (its vertex table is rounded to 3 decimals).
_ICO_VERTS = np.array([
    (0, 0, -200), (144.72, -105.144, -89.443), (-55.277, -170.128, -89.443), (-178.885, 0, -89.443),
    (-55.277, 170.128, -89.443), (144.72, 105.144, -89.443), (55.277, -170.128, 89.443),
    (-144.72, -105.144, 89.443), (-144.72, 105.144, 89.443), (55.277, 170.128, 89.443),
    (178.885, 0, 89.443), (0, 0, 200)], dtype=np.float64) / 200.0
_ICO_FACES = ((0, 1, 2), (1, 0, 5), (0, 2, 3), (0, 3, 4), (0, 4, 5), (1, 5, 10), (2, 1, 6), (3, 2, 7),
              (4, 3, 8), (5, 4, 9), (1, 10, 6), (2, 6, 7), (3, 7, 8), (4, 8, 9), (5, 9, 10), (6, 10, 11),
              (7, 6, 11), (8, 7, 11), (9, 8, 11), (10, 9, 11))


class _FaceSplitter:
    """Faces as vertex cycles (entry 0 = first loop) with BMesh's split and edge-cut rules."""

    def __init__(self, faces: list[list[int]]):
        self.faces = faces
        self.faces_of = {}  # vertex -> set of face ids
        for fi, cycle in enumerate(faces):
            for v in cycle:
                self.faces_of.setdefault(v, set()).add(fi)

    def connect(self, a: int, b: int) -> None:
        """Split the smallest face holding a and b by a new edge a-b.

        The split face keeps the arc a..b, the new face (appended) gets b..a. First loops follow
        BMesh: the side holding the old first loop keeps it; the other side starts next to it.
        """
        shared = self.faces_of[a] & self.faces_of[b]
        fi = min(shared, key=lambda f: len(self.faces[f]))
        cycle = self.faces[fi]
        m, ia, ib = len(cycle), cycle.index(a), cycle.index(b)
        keep = [cycle[(ia + k) % m] for k in range((ib - ia) % m + 1)]  # a .. b
        new = [cycle[(ib + k) % m] for k in range((ia - ib) % m + 1)]  # b .. a
        first = cycle[0]
        # Old loops are keep[:-1] and new[:-1]; the last entry of each is the new edge's loop.
        if first in keep[:-1]:
            keep_first = first
            new_first = new[-2] if first == a else b if first == keep[-2] else a
        else:
            new_first = first
            keep_first = keep[-2] if first == b else a if first == new[-2] else b
        self.faces[fi] = _rotated(keep, keep_first)
        self.faces.append(_rotated(new, new_first))
        gi = len(self.faces) - 1
        for v in new[1:-1]:
            self.faces_of[v].discard(fi)
        for v in new:
            self.faces_of[v].add(gi)

    def cut_edge(self, u: int, w: int, x: int) -> None:
        """Insert new vertex x between u and w in every face using edge u-w."""
        self.faces_of[x] = set()
        for fi in self.faces_of[u] & self.faces_of[w]:
            cycle = self.faces[fi]
            m = len(cycle)
            for k in range(m):
                if {cycle[k], cycle[(k + 1) % m]} == {u, w}:
                    cycle.insert(k + 1, x)
                    self.faces_of[x].add(fi)
                    break


def _rotated(cycle: list[int], start: int) -> list[int]:
    k = cycle.index(start)
    return cycle[k:] + cycle[:k]


def _unit(p: np.ndarray) -> np.ndarray:
    return p / np.linalg.norm(p, axis=-1, keepdims=True)


def _ico_sphere_tables(subdivisions: int):
    """(unit-radius positions (V,3), polygons) of Blender's ico sphere."""
    if subdivisions <= 1:
        return _ICO_VERTS.copy(), [list(f) for f in _ICO_FACES]
    cuts = 2 ** (subdivisions - 1) - 1
    pos = list(_ICO_VERTS)
    # Edges in BMesh creation order: each triangle (v0, v1, v2) adds (v2, v0), (v0, v1), (v1, v2).
    edges, seen = [], set()
    for f in _ICO_FACES:
        for k in range(3):
            key = frozenset((f[k - 1], f[k]))
            if key not in seen:
                seen.add(key)
                edges.append((f[k - 1], f[k]))
    # Cut every edge from its first to its second vertex; cut points lie on the straight edge
    # (projection onto the sphere comes at the end).
    edge_cuts = {}
    for v1, v2 in edges:
        ids = list(range(len(pos), len(pos) + cuts))
        pos += [pos[v1] + (pos[v2] - pos[v1]) * ((i + 1) / (cuts + 1)) for i in range(cuts)]
        edge_cuts[v1, v2], edge_cuts[v2, v1] = ids, ids[::-1]
    faces = []
    for f in _ICO_FACES:
        cycle = []
        for k in range(3):
            cycle += [f[k]] + edge_cuts[f[k], f[(k + 1) % 3]]
        faces.append(cycle)
    mesh = _FaceSplitter(faces)
    n = cuts
    # Triangles are filled last to first. Seen from the triangle's first corner c0 (the
    # "bottom-left"), ring = cuts(c0->c1), c1, cuts(c1->c2), c2 (the "top"), cuts(c2->c0), c0.
    for fi in reversed(range(len(_ICO_FACES))):
        ring = faces[fi][1:] + faces[fi][:1]
        bottom_row = [ring[3 * n + 2]] + ring[:n] + [ring[n]]
        rows = [[ring[2 * n + 1]]]
        for i in range(n):
            # Row i+1 joins the left side's i-th cut (from the top) to the right side's.
            a, b = ring[2 * n + 2 + i], ring[2 * n - i]
            mesh.connect(a, b)
            row = [a]
            # Row points interpolate the row's end points as already projected on the sphere.
            ua, ub = _unit(pos[a]), _unit(pos[b])
            for j in range(i):
                x = len(pos)
                pos.append(ua + (ub - ua) * ((j + 1) / (i + 1)))
                mesh.cut_edge(row[-1], b, x)
                row.append(x)
            rows.append(row + [b])
        rows.append(bottom_row)
        for i in range(1, n + 1):
            for j in range(i):
                mesh.connect(rows[i][j], rows[i + 1][j + 1])
                mesh.connect(rows[i][j + 1], rows[i + 1][j + 1])
    return _unit(np.array(pos)), mesh.faces


@functools.lru_cache(maxsize=16)
def _ico_sphere_topology(subdivisions: int) -> _Topology:
    table, polys = _ico_sphere_tables(subdivisions)
    return _topology([table], polys)


# Blender clamps the subdivision level (the UI soft maximum is 7).
_MAX_ICO_SUBDIVISIONS = 10


def mesh_ico_sphere_linear(radius: torch.Tensor, subdivisions: int) -> Linear:
    """Linear form of `mesh_ico_sphere` (same arguments)."""
    subdivisions = min(_check_int(subdivisions, "subdivisions"), _MAX_ICO_SUBDIVISIONS)
    n, dtype, device = _batch({"radius": (radius, 1)})
    return Linear(_ico_sphere_topology(max(subdivisions, 1)), [radius.abs()], None, n, dtype, device)


def mesh_ico_sphere(radius: torch.Tensor, subdivisions: int) -> PrimMesh:
    """Ico Sphere node. subdivisions <= 1 gives Blender's icosahedron (12 vertices, its vertex
    table rounded to 3 decimals, so not exactly on the sphere); s > 1 cuts each edge
    2^(s-1) - 1 times and fills each triangle, all vertices projected to the sphere.
    Subdivisions above 10 are clamped to 10, as Blender does. A negative radius acts as its
    absolute value (checked in Blender). The topology is built in python on first use (about
    1 s for s = 6) and cached.
    """
    return evaluate_linear(mesh_ico_sphere_linear(radius, subdivisions))
