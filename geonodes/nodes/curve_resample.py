"""Resample Curve (COUNT, LENGTH, EVALUATED): the selected curves (instances' too) become poly
curves of uniformly spaced samples along their evaluated points (EVALUATED: the evaluated points
themselves; Blender's resample_curves.cc); the others stay as they are, in place. Selection,
Count and Length are single values or fields on the CURVE domain (a curves component's splines,
in order; a POINT field reaches a spline as the mean of its control points). The sample counts
are the topology: rows are split by them (a LENGTH count depends on each row's curve length)."""
from __future__ import annotations

import numpy as np
import torch

from ..fields import FieldContext, MeshData
from ..geometry import GeomStruct, Part, Piecewise, part_rows_vertices
from ..geometry.curve_sample import interpolate, total_length, uniform_samples
from ..geometry.curves import curve_parts_evaluated, curve_prim, curve_topo
from . import S, node
from .curve_rows import curve_structs, rebuild, scatter, split_rows


def curve_domain_context(curves: tuple, index: torch.Tensor, cache: dict) -> FieldContext:
    """A field context on the CURVE domain of a curves component (its parts' splines in order):
    its splines are the faces of a mesh of the control points (so a POINT field reaches a spline
    as the mean of its points, Blender's point -> curve interpolation, and Index counts splines);
    its domain is called FACE there."""
    dense = [part_rows_vertices(p, index, cache)[:, :p.prim.curve.num_points] for p in curves]
    offsets = [0]
    for p in curves:
        for size in p.prim.curve.sizes:
            offsets.append(offsets[-1] + size)
    fo = torch.as_tensor(offsets, dtype=torch.int64, device=index.device)
    fv = torch.arange(offsets[-1], dtype=torch.int64, device=index.device)
    return FieldContext(MeshData(torch.cat(dense, 1), fo, fv, curves=True), index, "FACE")


def spline_counts(evs: list, mode: str, count, length, least: int = 1) -> np.ndarray:
    """(b, splines) sample counts: max(1, Count), or max(least, int(curve length / Length) + 1)
    (least 2: Resample Curve's Keep Last Segment, Blender 4.3+; a Length <= 0 gives 1);
    count / length: (b, splines) per row and spline."""
    if mode == "COUNT":
        return count.clamp(min=1).cpu().numpy().astype(np.int64)
    columns, k = [], 0
    for ev in evs:
        for s in range(len(ev.topo.sizes)):
            points, cyclic = ev.spline(s)
            total = total_length(points.detach(), cyclic).cpu().numpy()
            step = length[:, k].detach().cpu().numpy().astype(total.dtype)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                ratio = total / step
            ok = np.isfinite(ratio) & (step > 0)  # Blender's int() of inf/nan: 1 sample
            # a zero Length gives one sample, Keep Last Segment or not (measured in Blender 5.0)
            per = np.maximum(np.floor(np.where(ok, ratio, 0)) + 1, least)
            columns.append(np.where(ok, per, 1).clip(1, None).astype(np.int64))
            k += 1
    return np.stack(columns, 1) if columns else np.zeros((length.shape[0], 0), np.int64)


def resampled_parts(n, struct: GeomStruct, counts: tuple, index: torch.Tensor, evs: list | None = None) -> tuple:
    """The structure's curve parts (for batch rows `index`) with each spline resampled to its
    count in `counts` (-1: its evaluated points themselves; 0: the spline stays as it is: its
    points, handles and radius)."""
    if evs is None:
        evs = curve_parts_evaluated(struct.curves, index, n.geometry_cache)
    with_radius = any(ev.radius is not None for ev in evs)
    parts, k = [], 0
    for j, (ev, part) in enumerate(zip(evs, struct.curves)):
        topo = ev.topo
        total = topo.num_points
        mine = counts[k:k + len(topo.sizes)]
        k += len(topo.sizes)
        bezier = tuple(bool(topo.bezier[s]) and not mine[s] for s in range(len(mine)))
        pos, left, right, radii, sizes = [], [], [], [], []
        for s, c in enumerate(mine):
            a, b = topo.offsets[s], topo.offsets[s + 1]
            if c:
                points, cyclic = ev.spline(s)
                e0, e1 = topo.eval_offsets[s], topo.eval_offsets[s + 1]
                if c < 0:
                    chunk = points
                    if with_radius:
                        radii.append(ev.radius[:, e0:e1])
                else:
                    idx, factor = uniform_samples(points, cyclic, c)
                    chunk = interpolate(points, idx, factor)
                    if with_radius:
                        radii.append(interpolate(ev.radius[:, e0:e1], idx, factor))
                handles = [chunk.new_zeros(chunk.shape)] * 2  # Blender's default for resampled points
            else:
                chunk = ev.dense[:, a:b]
                if with_radius:
                    radius = part.prim.radius
                    radii.append(chunk.new_ones(chunk.shape[:2]) if radius is None else
                                 radius.index_select(0, index)[:, a:b].to(chunk.dtype))
                handles = ([ev.dense[:, total + a:total + b], ev.dense[:, 2 * total + a:2 * total + b]]
                           if topo.handles else [chunk, chunk])
            pos.append(chunk)
            left.append(handles[0])
            right.append(handles[1])
            sizes.append(chunk.shape[1])
        resolution = tuple(topo.resolution[s] if not mine[s] else 0 for s in range(len(mine)))
        new = curve_topo(tuple(sizes), topo.cyclic, bezier, resolution)
        dense = torch.cat(pos + (left + right if new.handles else []), 1)
        radius = scatter(torch.cat(radii, 1), index, n.batch) if radii else None
        key = ("resampled", n.key, j, tuple(sizes), bezier, resolution)
        parts.append(Part(curve_prim(key, new, scatter(dense, index, n.batch), radius)))
    return tuple(parts)


@node("GeometryNodeResampleCurve",
      inputs=[S("Curve", "GEOMETRY"), S("Selection", "BOOLEAN", True), S("Count", "INT", 10),
              S("Length", "FLOAT", 0.1)],
      outputs=[S("Curve", "GEOMETRY")],
      properties={"mode": "COUNT", "keep_last_segment": False},
      choices={"mode": ("COUNT", "LENGTH", "EVALUATED"), "keep_last_segment": (False, True)})
def resample_curve(n):
    """Keep Last Segment (a property since Blender 4.3, on in new nodes; files from 4.2 have none:
    off): in LENGTH mode a curve shorter than Length keeps its two ends instead of collapsing to
    one point."""
    mode = n.props["mode"]
    least = 2 if n.props["keep_last_segment"] else 1
    selection = n.get("Selection")
    amount = n.get("Count") if mode == "COUNT" else n.get("Length") if mode == "LENGTH" else None
    pieces = []
    for rows, struct in n.get("Curve").pieces:
        structs = curve_structs(struct)
        if not structs:
            pieces.append((rows, struct))
            continue
        index = rows.index(n.device)

        def counts(s, index):
            """Per row: the sample count of each spline (-1: its evaluated points), 0 where it is
            not selected."""
            ctx = curve_domain_context(s.curves, index, n.geometry_cache)
            chosen = ctx.grid(selection).to(torch.bool).cpu().numpy()
            if mode == "EVALUATED":
                per = np.full(chosen.shape, -1, np.int64)
            else:
                evs = curve_parts_evaluated(s.curves, index, n.geometry_cache) if mode == "LENGTH" else None
                per = spline_counts(evs, mode, ctx.grid(amount), ctx.grid(amount), least)
            return [tuple(int(x) for x in row) for row in np.where(chosen, per, 0)]

        for sub_rows, sub, config in split_rows(rows, index, structs, counts):
            if not any(any(key) for key in config.values()):
                pieces.append((sub_rows, struct))  # nothing selected: the curves as they were
                continue

            def resampled(s, instances, sub=sub, config=config):
                curves = resampled_parts(n, s, config[id(s)], sub) if s.curves and any(config[id(s)]) else s.curves
                return GeomStruct(s.parts, instances, curves, s.points)

            pieces.append((sub_rows, rebuild(struct, resampled)))
    return {"Curve": Piecewise(pieces).merged()}
