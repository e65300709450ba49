"""Geometry helpers shared by every stage (each written once, here or in `geonodes`).

Conventions: world up is +Z; cameras are 4x4 camera-to-world matrices with OpenCV axes
(x right, y down, z forward) and pixel centres at +0.5; an object's pose is a yaw about +Z,
a translation and a uniform scale: world = scale * R(yaw) v + translation.
"""
from __future__ import annotations

import numpy as np
import torch

from geonodes.render import look_at

__all__ = ["look_at", "yaw_matrix", "object_to_world", "backproject", "best_rotation"]


def yaw_matrix(yaw) -> torch.Tensor:
    """Rotation about +Z: a float or 0-d tensor -> (3,3); a (b,) tensor -> (b,3,3). Differentiable;
    a Python float gives float64."""
    yaw = torch.as_tensor(yaw, dtype=torch.float64) if not torch.is_tensor(yaw) else yaw
    c, s = torch.cos(yaw), torch.sin(yaw)
    z, o = torch.zeros_like(c), torch.ones_like(c)
    return torch.stack([torch.stack([c, -s, z], -1), torch.stack([s, c, z], -1), torch.stack([z, z, o], -1)], -2)


def object_to_world(vertices, yaw, translation, scale=1.0) -> torch.Tensor:
    """An object's local vertices (V,3) in world space: scale * R(yaw) v + translation (float64 for
    plain numbers; differentiable in every tensor argument)."""
    v = torch.as_tensor(vertices)
    if not torch.is_floating_point(v):
        v = v.double()
    R = yaw_matrix(yaw if torch.is_tensor(yaw) else torch.tensor(float(yaw), dtype=v.dtype)).to(v.dtype)
    t = torch.as_tensor(translation, dtype=v.dtype)
    s = scale if torch.is_tensor(scale) else float(scale)
    return (v * s) @ R.T + t


def backproject(depth: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray, mask: np.ndarray | None = None,
                step: int = 1, return_pixels: bool = False):
    """World points (N,3) of the valid (depth > 0) and masked pixels of every `step`-th row and
    column, pixel centres at +0.5 (K may carry skew). With return_pixels also their (rows, cols)."""
    d = depth[::step, ::step]
    ok = d > 0
    if mask is not None:
        ok &= mask[::step, ::step]
    rows, cols = np.nonzero(ok)
    z = d[rows, cols].astype(np.float64)
    rows, cols = rows * step, cols * step
    y = (rows + 0.5 - K[1, 2]) / K[1, 1] * z
    x = (cols + 0.5 - K[0, 2] - K[0, 1] * y / z.clip(1e-12)) / K[0, 0] * z
    cam = np.stack([x, y, z], 1)
    world = cam @ np.asarray(cam_to_world)[:3, :3].T + np.asarray(cam_to_world)[:3, 3]
    return (world, rows, cols) if return_pixels else world


def best_rotation(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(3,3) rotation R that best carries points `before` (N,3) onto `after` (N,3), each about its own mean
    (Kabsch): after - mean ~ R (before - mean). One that moves, or a box that grows along its axes, gets the
    identity."""
    a = np.asarray(before, np.float64)
    b = np.asarray(after, np.float64)
    u, _, vt = np.linalg.svd((a - a.mean(0)).T @ (b - b.mean(0)))
    d = 1.0 if np.linalg.det(u @ vt) >= 0 else -1.0
    return (u @ np.diag([1.0, 1.0, d]) @ vt).T


def visible_in_frame(points: np.ndarray, depth: np.ndarray, K: np.ndarray, c2w: np.ndarray,
                     tolerance: float = 0.05) -> tuple:
    """(bool (n,) which world points (n,3) the frame sees -- in view, not behind its depth by more than
    `tolerance` --, their pixel columns u and rows v (n,), -1 out of view)."""
    w2c = np.linalg.inv(c2w)
    cam = points @ w2c[:3, :3].T + w2c[:3, 3]
    z = cam[:, 2]
    front = z > 1e-3
    u = np.full(len(points), -1)
    v = np.full(len(points), -1)
    u[front] = np.floor(K[0, 0] * cam[front, 0] / z[front] + K[0, 2])
    v[front] = np.floor(K[1, 1] * cam[front, 1] / z[front] + K[1, 2])
    inside = front & (u >= 0) & (v >= 0) & (u < depth.shape[1]) & (v < depth.shape[0])
    d = np.zeros(len(points))
    d[inside] = depth[v[inside], u[inside]]
    return inside & (d > 0) & (z < d + tolerance), u, v
