"""What a synthetic room is made of: objects placed in it (furniture and clutter) and box meshes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PlacedObject:
    instance_id: int
    category: str
    parameters: dict
    yaw: float
    translation: list
    vertices: np.ndarray  # (V,3) world
    triangles: np.ndarray  # (T,3)
    part_id: np.ndarray  # (T,)
    colors: np.ndarray = field(default=None)  # (T,3)


def box_mesh(lo, hi):
    """Axis-aligned box as 12 outward triangles."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], dtype=np.float64)
    quads = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (3, 0, 4, 7)]
    tris = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return v, np.array(tris, dtype=np.int64)
