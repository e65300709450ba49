"""What every primitive shares: the mesh and topology records, input checks, and evaluation of
positions as sums of per-row inputs times cached coefficient tables."""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import GeonodesError
from ..fields import calc_edges


FILL_TYPES = ("NONE", "NGON", "TRIANGLE_FAN")


@dataclass
class PrimMesh:
    vertices: torch.Tensor  # (n, V, 3), dtype/device of the float inputs
    face_offsets: torch.Tensor  # (F+1,) int64, polygon starts, last = number of loops
    face_vertices: torch.Tensor  # (L,) int64, vertex index per loop
    edges: torch.Tensor | None = None  # (E, 2) int64 in Blender's edge order; None: order not modelled

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
    edges: torch.Tensor | None = None  # (E, 2) in Blender's order (see PrimMesh.edges)

    @property
    def num_vertices(self) -> int:
        return self.tables[0].shape[0]


def _topology(tables, polygons, edges="calc") -> _Topology:
    """`edges`: pairs in Blender's order, "calc" (Blender derives them from the polygons: see
    fields.calc_edges) or None (order not modelled)."""
    tables = tuple(torch.as_tensor(np.asarray(t, dtype=np.float64).reshape(-1, 3)) for t in tables)
    sizes = [len(p) for p in polygons]
    offsets = torch.tensor([0] + list(np.cumsum(sizes, dtype=np.int64)), dtype=torch.int64)
    flat = torch.tensor([v for p in polygons for v in p], dtype=torch.int64)
    if isinstance(edges, str):
        edges = calc_edges(offsets, flat, tables[0].shape[0])
    elif edges is not None:
        edges = torch.tensor(np.asarray(edges, dtype=np.int64).reshape(-1, 2))
    return _Topology(tables, offsets, flat, edges)


def _empty_topology(num_tables: int) -> _Topology:
    return _topology([np.zeros((0, 3))] * num_tables, [], [])


# ---------------------------------------------------------------- input checking / evaluation


def _check_int(value, name: str) -> int:
    if type(value) is int:  # the usual case, without the slower abstract-class check
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"primitive input {name!r} must be a python int, got {type(value).__name__}")
    return int(value)


def _check_fill(fill_type: str) -> str:
    if fill_type not in FILL_TYPES:
        raise GeonodesError(f"fill_type must be one of {FILL_TYPES}, got {fill_type!r}")
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
            raise GeonodesError(f"primitive input {name!r} must have shape {'(n, 3)' if width == 3 else '(n,)'}, "
                             f"got {tuple(shape)}")
        ns.append(shape[0])
        dtypes.add(t.dtype)
    n = max(ns)
    for name, (t, _) in inputs.items():
        if t.shape[0] not in (1, n):
            raise GeonodesError(f"primitive input {name!r} has batch size {t.shape[0]}, others have {n}")
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
    return PrimMesh(verts.transpose(0, 1), topo.face_offsets.to(device), topo.face_vertices.to(device), topo.edges)


_CONVERTED: dict = {}


def _table(topo, table, dtype, device):
    """The coefficient table in the wanted dtype/device (converted once, then cached)."""
    key = (id(table), dtype, str(device))
    if key not in _CONVERTED:
        _CONVERTED[key] = (table, table.to(device=device, dtype=dtype))  # holds `table`: ids stay unique
    return _CONVERTED[key][1]


def cos_sin_f32(angles) -> np.ndarray:
    """(n, 2) cos and sin of float32 angles as Blender's float std::cos/std::sin give them
    (rounded from double), float32 values held in float64."""
    a = np.asarray(angles, dtype=np.float32).astype(np.float64)
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32).astype(np.float64)


def _ring(count: int, accumulate: bool = False) -> np.ndarray:
    """Unit circle points (count, 2), starting at +x, counter-clockwise (Blender's order), with
    Blender's float32 rounding: angle i * delta (Mesh Circle), or `accumulate`: the angle summed
    step by step in float32 (Cylinder, Cone). The rounding decides on which side of zero the
    points at quarter turns lie (cos(float32(pi / 2)) is -4.4e-8), which comparisons with
    positions see."""
    delta = np.float32(2.0 * (math.pi / count))
    if not accumulate:
        return cos_sin_f32(np.arange(count, dtype=np.float32) * delta)
    angles, angle = [], np.float32(0.0)
    for _ in range(count):
        angles.append(angle)
        angle = np.float32(angle + delta)
    return cos_sin_f32(angles)
