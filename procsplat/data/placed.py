"""What a synthetic room is made of: objects placed in it (furniture and clutter) and box meshes."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from procsplat.geometry import best_rotation


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
    rest_vertices: np.ndarray = field(default=None)
    """(V,3) in the object's own frame: the shape its texture was laid on (None: its own; an edited
    object keeps the original's, so that its parts carry their patterns)."""

    def local_vertices(self) -> np.ndarray:
        """(V,3) vertices in the object's own frame (its yaw and translation undone)."""
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return (np.asarray(self.vertices, np.float64) - np.asarray(self.translation, np.float64)) @ rot


def part_texture_coords(obj: PlacedObject) -> np.ndarray:
    """(T,3,3) texture coordinates of every face corner of `obj`: each part's pattern belongs to the part,
    as a real piece of furniture wears its material. A part's coordinates are its points in the object's
    own frame relative to the part's centre (mean of its vertices), shifted by a phase of its own (uniform in
    [0, 1) m per axis, seeded by the instance id and part: where a pattern's edges fall on a part is as
    arbitrary as in world coordinates, not always through its middle), so the pattern does not depend on the
    object's pose; when the object has `rest_vertices` (it was edited), they are also undone from the
    rotation that best carries the part from its rest shape to its shape now (Kabsch), so a part that moves
    or turns carries its pattern with it, and one that grows shows more of the same pattern at the same
    scale (a bigger board of the same wood), centred where its centre is."""
    local = obj.local_vertices()
    rest = local if obj.rest_vertices is None else np.asarray(obj.rest_vertices, np.float64)
    if rest.shape != local.shape:
        raise ValueError(f"object {obj.instance_id}: rest_vertices {rest.shape} do not match its vertices "
                         f"{local.shape}")
    tris = np.asarray(obj.triangles)
    coords = np.empty(tris.shape + (3,))
    part = np.asarray(obj.part_id)
    for p in np.unique(part):
        rows = np.flatnonzero(part == p)
        used = np.unique(tris[rows])
        now, then = local[used], rest[used]
        centre = now.mean(0)
        rot = np.eye(3)
        if obj.rest_vertices is not None:  # the rotation taking the part's rest shape to its shape now
            rot = best_rotation(then, now)
        phase = np.random.default_rng([int(obj.instance_id), int(p)]).uniform(0.0, 1.0, 3)
        coords[rows] = (local[tris[rows]] - centre) @ rot + phase
    return coords


def box_mesh(lo, hi):
    """Axis-aligned box as 12 outward triangles."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], dtype=np.float64)
    quads = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (2, 3, 7, 6), (1, 2, 6, 5), (3, 0, 4, 7)]
    tris = [t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))]
    return v, np.array(tris, dtype=np.int64)
