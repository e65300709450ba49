"""Resample Curve (COUNT, LENGTH): every selected curve becomes a poly curve of uniformly
spaced samples along its evaluated points (Blender's resample_curves.cc). The sample counts
are the topology: rows are split by them (a LENGTH count depends on each row's curve length)."""
from __future__ import annotations

import numpy as np
import torch

from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Part, Piecewise, Rows
from ..geometry.curve_sample import interpolate, total_length, uniform_samples
from ..geometry.curves import curve_parts_evaluated, curve_prim, curve_topo
from . import S, node


def _scatter(values: torch.Tensor, index: torch.Tensor, batch: int) -> torch.Tensor:
    if index.shape[0] == batch:
        return values
    return values.new_zeros((batch,) + tuple(values.shape[1:])).index_copy(0, index, values)


def _has_nested_curves(struct: GeomStruct) -> bool:
    return any(i.geometry.curves or _has_nested_curves(i.geometry) for i in struct.instances)


def spline_counts(evs: list, mode: str, count, length, index: torch.Tensor) -> np.ndarray:
    """(b, splines) sample counts: max(1, Count), or max(1, int(curve length / Length) + 1)."""
    columns = []
    for ev in evs:
        for s in range(len(ev.topo.sizes)):
            if mode == "COUNT":
                columns.append(count.index_select(0, index).clamp(min=1).cpu().numpy())
            else:
                points, cyclic = ev.spline(s)
                total = total_length(points.detach(), cyclic).cpu().numpy()
                step = length.detach().index_select(0, index).cpu().numpy().astype(total.dtype)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = total / step
                ok = np.isfinite(ratio) & (step > 0)  # Blender's int() of inf/nan: 1 sample
                columns.append(np.where(ok, np.floor(np.where(ok, ratio, 0)) + 1, 1).clip(1, None).astype(np.int64))
    return np.stack(columns, 1) if columns else np.zeros((index.shape[0], 0), np.int64)


def resampled_parts(n, struct: GeomStruct, counts: tuple, index: torch.Tensor, evs: list | None = None) -> tuple:
    """The structure's curve parts resampled (for batch rows `index`) to `counts` per spline."""
    if evs is None:
        evs = curve_parts_evaluated(struct.curves, index, n.geometry_cache)
    parts, k = [], 0
    for j, ev in enumerate(evs):
        chunks, radii, sizes = [], [], []
        for s in range(len(ev.topo.sizes)):
            points, cyclic = ev.spline(s)
            idx, factor = uniform_samples(points, cyclic, counts[k])
            chunks.append(interpolate(points, idx, factor))
            if ev.radius is not None:
                a, b = ev.topo.eval_offsets[s], ev.topo.eval_offsets[s + 1]
                radii.append(interpolate(ev.radius[:, a:b], idx, factor))
            sizes.append(counts[k])
            k += 1
        topo = curve_topo(tuple(sizes), ev.topo.cyclic, (False,) * len(sizes), (0,) * len(sizes))
        dense = _scatter(torch.cat(chunks, 1), index, n.batch)
        radius = _scatter(torch.cat(radii, 1), index, n.batch) if radii else None
        parts.append(Part(curve_prim(("resampled", n.key, j, tuple(sizes)), topo, dense, radius)))
    return tuple(parts)


@node("GeometryNodeResampleCurve",
      inputs=[S("Curve", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Count", "INT", 10),
              S("Length", "FLOAT", 0.1)],
      outputs=[S("Curve", "GEOMETRY")],
      properties={"mode": "COUNT"}, choices={"mode": ("COUNT", "LENGTH")})
def resample_curve(n):
    mode = n.props["mode"]
    selection = n.get("Selection")
    count = n.get("Count") if mode == "COUNT" else None
    length = n.get("Length") if mode == "LENGTH" else None
    for name, v in (("Selection", selection), ("Count", count), ("Length", length)):
        if type(v) is Field:
            raise IRError(f"{n.where}: input '{name}' takes a single value here (fields are not supported)")
    selected = Rows.from_mask(selection)
    pieces = []
    for rows, struct in n.get("Curve").pieces:
        if _has_nested_curves(struct):
            raise IRError(f"{n.where}: resampling curves inside instances is not supported (realize them first)")
        keep = rows & ~selected
        if keep.any():
            pieces.append((keep, struct))
        rows = rows & selected
        if not rows.any():
            continue
        if not struct.curves:
            pieces.append((rows, struct))
            continue
        index = rows.index(n.device)
        evs = curve_parts_evaluated(struct.curves, index, n.geometry_cache)
        counts = spline_counts(evs, mode, count, length, index)
        uniq, inverse = np.unique(counts, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for i, c in enumerate(uniq):
            sub = index[torch.as_tensor(np.flatnonzero(inverse == i))]
            chosen = np.zeros(rows.n, bool)
            chosen[sub.cpu().numpy()] = True
            sub_evs = evs if len(uniq) == 1 else None
            curves = resampled_parts(n, struct, tuple(int(x) for x in c), sub, sub_evs)
            pieces.append((Rows.from_numpy(chosen), GeomStruct(struct.parts, struct.instances, curves, struct.points)))
    return {"Curve": Piecewise(pieces)}
