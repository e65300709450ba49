"""Object pose: yaw about +Z, translation in the floor plane, optional uniform scale.

The vertical translation is not a free variable: the posed shape is lifted so its lowest
vertex touches the floor (differentiable through the min), because furniture stands on the
floor and programs differ in where their origin sits (some at floor level, some centred).
"""
from __future__ import annotations

import math

import torch

from procsplat.geometry import yaw_matrix




def place_on_floor(vertices: torch.Tensor, yaw: torch.Tensor, xy: torch.Tensor, floor: float,
                   log_scale: torch.Tensor | None = None, centre_xy: bool = False):
    """Local vertices (b,V,3) -> world vertices (b,V,3) and world translation (b,3).

    world = s R(yaw) v + (x, y, z) with z = floor - min_v (s v_z). With centre_xy, `xy` is
    where the centre of the shape's local footprint box lands instead of its origin.
    """
    v = vertices
    if log_scale is not None:
        v = v * torch.exp(log_scale).to(v.dtype)[:, None, None]
    R = yaw_matrix(yaw.to(v.dtype))
    rotated = v @ R.transpose(1, 2)
    if v.shape[1]:
        z = floor - rotated[..., 2].min(dim=1).values
    else:
        z = torch.full_like(yaw.to(v.dtype), floor)
    xy = xy.to(v.dtype)
    if centre_xy and v.shape[1]:
        c = (v[..., :2].min(1).values + v[..., :2].max(1).values) / 2  # (b,2) local footprint centre
        xy = xy - (R[:, :2, :2] @ c.unsqueeze(-1)).squeeze(-1)
    t = torch.cat([xy, z.unsqueeze(1)], 1)
    return rotated + t[:, None, :], t


def wrap_angle(a):
    """Angle(s) to [-pi, pi)."""
    return (a + math.pi) % (2 * math.pi) - math.pi
