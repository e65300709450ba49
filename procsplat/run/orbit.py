"""Camera paths of the turntable renders: one that stays where the scan's cameras were, and one per object.

A scan is reconstructed only where its cameras looked from, and the room's walls are splats seen
from inside: an orbit sized from the Gaussians (the old turntable) left the room and rendered
most of its frames through the back of a wall. `room_orbit` keeps every camera inside the region
the training cameras cover: the convex hull of their centres in the floor plane, moved inward
by a margin, holds an ellipse (the hull's principal axes and extents, scaled down until it
fits), at the cameras' median height, every camera looking at the objects. `object_orbit`
circles one object from a little above, at the distance that frames its bounding box.
`novel_views` places evaluation cameras away from the training path (other heights, every side of
each object), for benchmarks on synthetic scenes whose ground truth renders from anywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from procsplat.geometry import look_at


@dataclass
class Cameras:
    """The training cameras: camera-to-world (N,4,4) (OpenCV axes) and the intrinsics K (3,3) of
    their width x height images."""

    poses: np.ndarray
    K: np.ndarray
    width: int
    height: int

    def scaled_K(self, width: int) -> tuple[np.ndarray, int]:
        """Intrinsics with the training field of view for an image `width` wide, and its height."""
        s = width / self.width
        height = max(1, round(self.height * s))
        K = np.array([[self.K[0, 0] * s, 0.0, width / 2], [0.0, self.K[1, 1] * s, height / 2], [0.0, 0.0, 1.0]])
        return K, height


def _principal_frame(xy: np.ndarray) -> np.ndarray:
    """(2,2) columns: the principal axes of 2-D points (identity for fewer than 2)."""
    if len(xy) < 2:
        return np.eye(2)
    _, vecs = np.linalg.eigh(np.cov((xy - xy.mean(0)).T))
    return vecs[:, ::-1].copy()  # major axis first


def camera_region(xy: np.ndarray, min_half_width: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Half-planes (normals (M,2), offsets (M,): n . p <= d) of the convex hull of the points, and an
    interior point (the hull's centroid). Points on a line or fewer than 3: the rectangle around them
    in their principal frame, at least `min_half_width` to each side."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    try:
        from scipy.spatial import ConvexHull

        hull = ConvexHull(xy)
        if hull.volume < 1e-6:
            raise ValueError("flat hull")
        n, d = hull.equations[:, :2], -hull.equations[:, 2]
        ring = xy[hull.vertices]
        nxt = np.roll(ring, -1, axis=0)
        cross = ring[:, 0] * nxt[:, 1] - nxt[:, 0] * ring[:, 1]
        centre = ((ring + nxt) * cross[:, None]).sum(0) / (3 * cross.sum())
        return n, d, centre
    except Exception:  # scipy's QhullError (collinear or too few points) or a flat hull
        axes = _principal_frame(xy)
        local = xy @ axes
        lo, hi = local.min(0), local.max(0)
        mid = (lo + hi) / 2
        half = np.maximum((hi - lo) / 2, min_half_width)
        n = np.concatenate([axes.T, -axes.T])  # rows: +u, +v, -u, -v
        d = np.concatenate([mid + half, -(mid - half)])
        return n, d, axes @ mid


def room_orbit(centres: np.ndarray, target, frames: int, margin: float = 0.3) -> list:
    """`frames` camera-to-world poses on an ellipse inside the region of the camera centres (N,3),
    each looking at `target` (3,): the region is their convex hull in the floor plane moved inward
    by `margin` metres (at most half the distance from the hull's centroid to its nearest side),
    the height their median."""
    centres = np.asarray(centres, np.float64).reshape(-1, 3)
    n, d, c = camera_region(centres[:, :2])
    slack = float(np.min(d - n @ c))  # the centroid's distance to the nearest side
    d = d - min(margin, 0.5 * slack)
    axes = _principal_frame(centres[:, :2])
    along = [(n @ axes[:, k]) for k in range(2)]  # each side's normal along the two axes
    room = d - n @ c  # how far each shrunk side lies beyond the centre
    # Semi-axes: the shrunk region's half extents along the principal axes through the centre.
    semi = []
    for k in range(2):
        pos = along[k] > 1e-12
        neg = along[k] < -1e-12
        reach_pos = np.min(room[pos] / along[k][pos]) if pos.any() else 0.0
        reach_neg = np.min(room[neg] / -along[k][neg]) if neg.any() else 0.0
        semi.append(max(min(reach_pos, reach_neg), 0.0))
    theta = 2 * math.pi * np.arange(frames) / max(frames, 1)
    w = np.cos(theta)[:, None] * semi[0] * axes[:, 0] + np.sin(theta)[:, None] * semi[1] * axes[:, 1]  # (F,2)
    # Scale the ellipse down until every point is inside every shrunk side (n . (c + s w) <= d).
    dense = np.linspace(0, 2 * math.pi, 360, endpoint=False)
    wd = np.cos(dense)[:, None] * semi[0] * axes[:, 0] + np.sin(dense)[:, None] * semi[1] * axes[:, 1]
    nw = wd @ n.T  # (360,M)
    scale = float(np.min(np.where(nw > 1e-12, room[None] / np.where(nw > 1e-12, nw, 1.0), np.inf), initial=1.0))
    scale = min(max(scale, 0.0), 1.0)
    z = float(np.median(centres[:, 2]))
    target = np.asarray(target, np.float64)
    poses = []
    for k in range(frames):
        eye = np.array([*(c + scale * w[k]), z])
        if np.linalg.norm((target - eye)[:2]) < 1e-6:  # straight down: look_at needs a direction off +Z
            eye[:2] += 1e-3
        poses.append(look_at(eye, target))
    return poses


def object_orbit(lo, hi, K: np.ndarray, width: int, height: int, frames: int, elevation_deg: float = 25.0,
                 fill: float = 0.85) -> list:
    """`frames` camera-to-world poses circling the box [lo, hi] from `elevation_deg` above its centre,
    looking at the centre, all at the one distance where the box's corners stay within the middle
    `fill` of the image in every frame."""
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    centre = (lo + hi) / 2
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])]) - centre
    el = math.radians(elevation_deg)
    dirs = [np.array([math.cos(el) * math.cos(a), math.cos(el) * math.sin(a), math.sin(el)])
            for a in 2 * math.pi * np.arange(frames) / max(frames, 1)]
    dist = 0.1
    for u in dirs:  # a corner q at camera depth dist - q.u projects inside when dist >= q.u + |q.axis| f / half-size
        c2w = look_at(u, np.zeros(3))
        right, down = c2w[:3, 0], c2w[:3, 1]
        need = corners @ u + np.maximum(np.abs(corners @ right) * K[0, 0] / (fill * width / 2),
                                        np.abs(corners @ down) * K[1, 1] / (fill * height / 2))
        dist = max(dist, float(need.max()))
    return [look_at(centre + dist * u, centre) for u in dirs]


def novel_views(boxes: list, room_lo, room_hi, training_centres, heights=(0.6, 2.3), azimuths: int = 4,
                margin: float = 0.3, clearance: float = 0.15, min_from_path: float = 0.5) -> list:
    """Cameras away from the training path, for novel-view evaluation: around every object box
    (lo (3,), hi (3,)) from `azimuths` sides (at 45 degrees to the world axes) and at each of `heights`
    (the training path is one height), looking at the box centre, at 0.8 m plus 0.6 of the box
    diagonal (or 3/4 of that when it does not fit). A camera is kept only inside the room box
    [room_lo, room_hi] (x, y) less `margin`, outside every object box grown by `clearance`, and at
    least `min_from_path` metres from every training camera centre (N,3). Returns [(cam_to_world,
    index of the box it looks at)]."""
    lo_room, hi_room = np.asarray(room_lo, np.float64)[:2] + margin, np.asarray(room_hi, np.float64)[:2] - margin
    centres = np.asarray(training_centres, np.float64).reshape(-1, 3)
    boxes = [(np.asarray(lo, np.float64), np.asarray(hi, np.float64)) for lo, hi in boxes]

    def free(eye) -> bool:
        if np.any(eye[:2] < lo_room) or np.any(eye[:2] > hi_room):
            return False
        if any(np.all(eye > lo - clearance) and np.all(eye < hi + clearance) for lo, hi in boxes):
            return False
        return not len(centres) or float(np.linalg.norm(centres - eye, axis=1).min()) >= min_from_path

    views = []
    for k, (lo, hi) in enumerate(boxes):
        target = (lo + hi) / 2
        reach = 0.8 + 0.6 * float(np.linalg.norm(hi - lo))
        for a in range(azimuths):
            angle = 2 * math.pi * (a + 0.5) / azimuths
            for h in heights:
                for dist in (reach, 0.75 * reach):
                    eye = np.array([target[0] + dist * math.cos(angle), target[1] + dist * math.sin(angle), h])
                    if free(eye):
                        views.append((look_at(eye, target), k))
                        break
    return views
