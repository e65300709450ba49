"""Near-symmetric turns of a fitted shape: the pose move `search.last_symmetry` tries.

A shape nearly its own image under a turn that is no quarter turn (a chair on a five-star base
turned by 72 degrees: only its 2 cm elliptic seat and the seat mechanism move) sits in one of
several loss basins that differ by that turn, and neither the quarter turns of the search nor
its refinement's small yaw steps move between them. `near_turns` finds such turns from the
shape itself (its surface samples turned by 2 pi j / k about the vertical, each shifted in the
floor plane to where it best overlays the unturned samples, since the axis of the symmetry (a
star's column) is not the footprint box's centre that the pose turns about); `turned` gives
the genomes of the same shape so turned, at the same place in the world.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree

from .candidates import Genomes, SearchSpace
from .losses import point_to_mesh_distance
from .pose import wrap_angle
from .surface import sample_mesh_surface


def _rot(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s], [s, c]])


def turn_angles(orders: tuple[int, ...]) -> list[float]:
    """The distinct turns 2 pi j / k (k in `orders`, 0 < j < k) in (0, 2 pi), quarter turns left out
    (the search's own `last_turn` tries those), in increasing order."""
    out = set()
    for k in orders:
        if k < 2:
            raise ValueError(f"near_turns: symmetry orders must be >= 2 (got {k})")
        for j in range(1, k):
            if (4 * j) % k:  # 2 pi j / k is no multiple of pi / 2
                out.add(round(2 * math.pi * j / k, 12))
    return sorted(out)


def near_turns(vertices: np.ndarray, triangles: np.ndarray, orders: tuple[int, ...], tolerance: float,
               samples: int = 1000, iterations: int = 4) -> list[tuple[float, np.ndarray, float]]:
    """[(angle, shift (2,), distance)] of the turns about the vertical (`turn_angles(orders)`) that
    leave the local shape (vertices (V,3), triangles) nearly unchanged: its surface samples turned
    by the angle and shifted in the floor plane by `shift`, and the samples moved back by the
    inverse, lie on average within `tolerance` metres of its surface (exact point-to-triangle
    distance; the shift from a few steps of matching nearest samples, ICP with the rotation fixed).
    Nearest samples alone would not do for the distance: 1000 samples of a chair lie ~3 cm apart,
    so any turn of a round seat measured 2-3 cm."""
    if len(triangles) == 0:
        return []
    pts = sample_mesh_surface(vertices, triangles, samples, seed=0)
    tree = cKDTree(pts)
    # Screen: the mean nearest-sample distance of the turned samples may exceed that of a second,
    # independent sample set (the samples' own spacing) by at most 2 x tolerance.
    floor = float(tree.query(sample_mesh_surface(vertices, triangles, samples, seed=1))[0].mean())
    v = torch.from_numpy(np.asarray(vertices, np.float64))[None]
    t = torch.from_numpy(np.asarray(triangles, np.int64))
    out = []
    for a in turn_angles(orders):
        R = _rot(a)
        turned = pts.copy()
        turned[:, :2] = pts[:, :2] @ R.T
        shift = pts[:, :2].mean(0) - turned[:, :2].mean(0)
        for _ in range(iterations):
            near, i = tree.query(np.c_[turned[:, :2] + shift, turned[:, 2]])
            shift = shift + (pts[i, :2] - turned[:, :2] - shift).mean(0)
        if near.mean() > floor + 2 * tolerance:
            continue
        back = pts.copy()
        back[:, :2] = (pts[:, :2] - shift) @ R
        moved = np.concatenate([np.c_[turned[:, :2] + shift, turned[:, 2]], back])
        with torch.no_grad():
            d = point_to_mesh_distance(torch.from_numpy(moved), v, t, k=min(4, len(triangles)))[0]
        d = float(d.mean())
        if d < tolerance:
            out.append((a, shift, d))
    return out


def turned(space: SearchSpace, g: Genomes, turns: list[tuple[float, np.ndarray, float]]) -> Genomes:
    """Copies of the single genome `g` turned by each of `turns` (`near_turns` of its own local
    shape): yaw + angle, and the footprint centre moved so that the turned shape, shifted as the
    turn says, lies where `g`'s shape lies (pose xy is where the local footprint box centre c
    lands: xy' = xy + R(yaw + a) c + R(yaw) (shift - c))."""
    local = local_mesh(space, g)[0]
    c = (local[:, :2].min(0) + local[:, :2].max(0)) / 2
    out = g.take(np.zeros(len(turns), dtype=np.int64))
    yaw, xy = float(g.pose[0, 0]), g.pose[0, 1:3]
    scale = math.exp(float(g.pose[0, 3]))
    for r, (a, shift, _) in enumerate(turns):
        out.pose[r, 0] = wrap_angle(yaw + a)
        out.pose[r, 1:3] = xy + scale * (_rot(yaw + a) @ c + _rot(yaw) @ (shift - c))
    return out


def local_mesh(space: SearchSpace, g: Genomes) -> tuple[np.ndarray, np.ndarray]:
    """The local vertices (V,3) and triangles (T,3) of the single genome `g`'s shape (no pose)."""
    with torch.no_grad():
        mesh = space.program.evaluate(space.values(g.disc[:1], torch.from_numpy(g.unit[:1]).double()),
                                      dtype=torch.float64)[0]
    return mesh.vertices[0].numpy(), mesh.triangles.numpy()
