"""How `scripts/bench_splat.py` counts the Gaussians on objects (its object_gaussian_ratio): every anchored
Gaussian (converted ones included: `procsplat.splat.convert`), plus every background one within NEAR_SURFACE
of an object's TRUE surface (a free model's: those within NEAR_SURFACE)."""
from __future__ import annotations

import numpy as np

NEAR_SURFACE = 0.03  # metres: a Gaussian this close to an object's true surface is on the object


class SurfaceDistance:
    """Distance from points to the objects' true surfaces (dense area-weighted samples, ~1 per 0.25 cm^2)."""

    def __init__(self, objects: list):
        from scipy.spatial import cKDTree

        from procsplat.fit.surface import sample_mesh_surface

        pts = []
        for o in objects:
            v, t = o.vertices, o.triangles
            area = 0.5 * np.linalg.norm(np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]), axis=1).sum()
            pts.append(sample_mesh_surface(v, t, int(min(max(area * 40000, 1000), 400000)), seed=0))
        self.tree = cKDTree(np.concatenate(pts))

    def near(self, points: np.ndarray, radius: float = NEAR_SURFACE) -> np.ndarray:
        if not len(points):
            return np.zeros(0, bool)
        d, _ = self.tree.query(np.asarray(points, np.float64), k=1, distance_upper_bound=radius * 1.0001)
        return d <= radius


def gaussians_on_objects(model, surface: SurfaceDistance) -> int:
    """Anchored Gaussians, plus background ones within NEAR_SURFACE of an object's true surface."""
    n = sum(int(a.face.shape[0]) for a in model.anchored)
    b = model.background
    if b is not None and len(b.means):
        n += int(surface.near(b.means.detach().cpu().numpy()).sum())
    return n
