"""Uniform samples along evaluated curves (Blender's length_parameterize: sample_uniform,
sample_at_length, interpolate), as used by Resample Curve and Curve to Points.

Which segment a sample falls in is decided on detached values (it is discrete); the factor
within it is computed with torch ops, so sampled positions are differentiable in the curve's
positions (and in a sample length through the step)."""
from __future__ import annotations

import torch


def accumulated_lengths(points: torch.Tensor, cyclic: bool) -> torch.Tensor:
    """(b, segments) accumulated segment lengths of (b, n, 3) points."""
    if points.shape[1] < 2:
        return points.new_zeros(points.shape[0], 0)
    nxt = torch.cat([points[:, 1:], points[:, :1]], 1) if cyclic else points[:, 1:]
    seg = points[:, :nxt.shape[1]] - nxt
    sq = (seg * seg).sum(-1)
    ok = sq > 0
    length = torch.where(ok, torch.sqrt(torch.where(ok, sq, torch.ones_like(sq))), torch.zeros_like(sq))
    return torch.cumsum(length, 1)


def total_length(points: torch.Tensor, cyclic: bool) -> torch.Tensor:
    lengths = accumulated_lengths(points, cyclic)
    return lengths[:, -1] if lengths.shape[1] else points.new_zeros(points.shape[0])


def uniform_samples(points: torch.Tensor, cyclic: bool, count: int):
    """(index (b, count) int64, factor (b, count)) of `count` uniform samples (sample_uniform)."""
    b = points.shape[0]
    lengths = accumulated_lengths(points, cyclic)
    if lengths.shape[1] == 0 or count == 1:
        return (torch.zeros(b, count, dtype=torch.int64, device=points.device), points.new_zeros(b, count))
    total = lengths[:, -1:]
    step = total / float(count - (0 if cyclic else 1))
    i = torch.arange(count, dtype=points.dtype, device=points.device)
    sample = torch.minimum(total.expand(b, count), i * step)
    at_end = sample >= total
    idx = torch.searchsorted(lengths.detach().contiguous(), sample.detach().contiguous(), right=True)
    idx = torch.where(at_end, torch.full_like(idx, lengths.shape[1] - 1), idx).clamp(max=lengths.shape[1] - 1)
    start = torch.where(idx > 0, lengths.gather(1, (idx - 1).clamp(min=0)), torch.zeros_like(sample))
    seg = lengths.gather(1, idx) - start
    ok = seg != 0
    inv = torch.where(ok, 1.0 / torch.where(ok, seg, torch.ones_like(seg)), torch.zeros_like(seg))
    factor = torch.where(at_end, torch.ones_like(sample), (sample - start) * inv)
    return idx, factor


def interpolate(values: torch.Tensor, idx: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Values (b, n, ...) at samples: mix(values[i], values[i + 1], f), the last index mixing
    with the first (a cyclic curve's closing segment)."""
    n = values.shape[1]
    nxt = torch.where(idx == n - 1, torch.zeros_like(idx), idx + 1)
    extra = values.dim() - 2
    shape = idx.shape + (1,) * extra
    a = values.gather(1, idx.view(shape).expand(idx.shape + values.shape[2:]))
    b = values.gather(1, nxt.view(shape).expand(idx.shape + values.shape[2:]))
    f = factor.view(shape)
    return a * (1.0 - f) + b * f  # math::interpolate
