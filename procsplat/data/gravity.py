"""The up direction and the floor of a scan without a known up (7-Scenes/TUM folders, ScanNet folders
without `axisAlignment`), found from its own depth and cameras.

`estimate_up(reader)` works in the reader's source frame:

1. Camera prior: the mean camera up direction (-y of each OpenCV camera). It fixes the sign and the
   neighbourhood of the answer, but not the answer: hand-held cameras look down on average (a
   synthetic walk looking at furniture from eye height biases it by ~25 degrees).
2. Horizontal surfaces: points and normals back-projected from up to `frames` depth images
   (subsampled to ~`grid_width` pixels across, normals from the neighbouring points, turned towards
   the camera). Upward-facing normals within 40 degrees of the prior are averaged, then re-averaged
   within 20 and 10 degrees of the running mean: floor, table tops, seats and counters all share
   gravity's direction, so the mean is the up direction whichever of them is the floor.
3. Floor: heights of the upward-facing points along that up; the lowest histogram peak (2 cm bins)
   holding at least 15 % as many points as the largest one and lying at least 0.3 m below the
   median camera height is the floor. A plane fitted to the points near it (least squares,
   inliers within 2 cm, three rounds) gives the final up (its normal, when the floor patch spans
   at least 0.5 m both ways) and the floor height.

Without enough horizontal surface (fewer than 300 upward points within 15 degrees, or under 3 % of
the valid points) the result keeps the prior (`fallback`); without a floor peak the up stands and
the floor height is the 1st percentile of the point heights. The frames read are spread over all of
the reader's frames at their native size, whatever --width, --stride or --max-frames select, so every
command that reads a scan (fit, train, view) puts it in the same world frame.
`UpEstimate.describe()` is the one line a user reads; `world_from_source()` rotates the up onto +Z
(smallest rotation: headings keep their azimuth) and, when a floor plane was found, shifts the
floor to z = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np


def rotation_to_z(up: np.ndarray) -> np.ndarray:
    """Smallest rotation (3x3) taking the unit vector `up` to +Z."""
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(up, z)
    s, c = np.linalg.norm(axis), float(up @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    axis /= s
    A = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + s * A + (1 - c) * A @ A


def camera_up(poses: np.ndarray) -> Optional[np.ndarray]:
    """Unit mean of the cameras' up directions (-y of OpenCV cameras), None when they cancel out."""
    up = -np.asarray(poses)[:, :3, 1].mean(0)
    n = float(np.linalg.norm(up))
    return up / n if n > 1e-6 else None


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))))


@dataclass
class UpEstimate:
    """The up direction and floor of a scan, in its source frame."""

    up: np.ndarray
    """(3,) unit up direction in the source frame."""
    method: str
    """"floor" (floor plane normal), "surfaces" (mean normal of horizontal surfaces: the floor patch
    was too small or missing), "cameras" (mean camera up: too little horizontal surface), or "none"."""
    floor_offset: Optional[float] = None
    """Floor plane: up . x = floor_offset (source frame, metres); None when no floor peak was found."""
    floor_height_guess: Optional[float] = None
    """Without a floor plane: 1st percentile of the point heights along `up`."""
    camera_prior: Optional[np.ndarray] = None
    floor_points: int = 0
    floor_extent: tuple = (0.0, 0.0)
    """Floor patch size: 4 standard deviations along its two in-plane axes (m)."""
    surface_points: int = 0
    frames_used: int = 0
    note: str = ""

    def rotation(self) -> np.ndarray:
        return rotation_to_z(self.up)

    def world_from_source(self) -> np.ndarray:
        """4x4: the up onto +Z, and the floor (when found) onto z = 0."""
        T = np.eye(4)
        T[:3, :3] = self.rotation()
        if self.floor_offset is not None:
            T[2, 3] = -self.floor_offset
        return T

    def floor_height(self) -> Optional[float]:
        """Floor height in the aligned world (0 with a floor plane)."""
        return 0.0 if self.floor_offset is not None else self.floor_height_guess

    def describe(self, name: str) -> str:
        up = ", ".join(f"{x:+.3f}" for x in self.up)
        prior = (f"; {_angle(self.up, self.camera_prior):.1f} deg from the cameras' mean up"
                 if self.camera_prior is not None and self.method != "cameras" else "")
        if self.method == "floor":
            how = (f"the floor plane ({self.floor_points} points, {self.floor_extent[0]:.1f} x "
                   f"{self.floor_extent[1]:.1f} m, in {self.frames_used} depth frames)")
        elif self.method == "surfaces":
            how = f"horizontal surfaces ({self.surface_points} points; {self.note})"
        elif self.method == "cameras":
            how = f"the cameras' mean up direction ({self.note})"
        else:
            how = self.note
        if self.floor_offset is not None:
            floor = "floor moved to z = 0" + (f" (it was at {self.floor_offset:+.3f} m along up)"
                                               if abs(self.floor_offset) >= 5e-4 else "")
        elif self.floor_height_guess is not None:
            floor = f"floor height {self.floor_height_guess:+.3f} m (1st percentile of depth points: no floor plane)"
        else:
            floor = "floor height estimated from depth later"
        return f"{name}: up [{up}] (in the scan's frame) from {how}{prior}; {floor}"


def depth_points(depth: np.ndarray, K: np.ndarray, cam_to_world: np.ndarray, grid_width: int = 160,
                 baseline: int = 2, max_jump: float = 0.05):
    """World points and unit normals (turned towards the camera) of a depth image sampled on a grid
    about `grid_width` pixels across. Normals are the cross product of central differences
    `baseline` grid cells apart; pixels at depth jumps (relative change above `max_jump`) are left out."""
    H, W = depth.shape
    s = max(1, int(round(W / grid_width)))
    rows = np.arange(s // 2, H, s)
    cols = np.arange(s // 2, W, s)
    z = depth[np.ix_(rows, cols)].astype(np.float64)
    y = (rows[:, None] + 0.5 - K[1, 2]) / K[1, 1] * z
    x = (cols[None, :] + 0.5 - K[0, 2] - K[0, 1] * y / np.maximum(z, 1e-12)) / K[0, 0] * z
    P = np.stack([x, y, z], -1)
    b = baseline
    valid = z > 0
    c = valid[b:-b, b:-b] & valid[b:-b, 2 * b:] & valid[b:-b, :-2 * b] & valid[2 * b:, b:-b] & valid[:-2 * b, b:-b]
    zc = np.maximum(z[b:-b, b:-b], 1e-6)
    for nb in (z[b:-b, 2 * b:], z[b:-b, :-2 * b], z[2 * b:, b:-b], z[:-2 * b, b:-b]):
        c &= np.abs(nb - zc) <= max_jump * zc * b
    du = P[b:-b, 2 * b:] - P[b:-b, :-2 * b]
    dv = P[2 * b:, b:-b] - P[:-2 * b, b:-b]
    n = np.cross(du, dv)
    norm = np.linalg.norm(n, axis=-1)
    c &= norm > 0
    pc, nc = P[b:-b, b:-b][c], n[c] / norm[c][:, None]
    flip = np.einsum("ij,ij->i", nc, pc) > 0  # towards the camera: n . (0 - p) > 0
    nc[flip] *= -1
    R, t = np.asarray(cam_to_world)[:3, :3], np.asarray(cam_to_world)[:3, 3]
    return pc @ R.T + t, nc @ R.T


def _plane(points: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """Least-squares plane (normal oriented along `up`, offset) and its in-plane spreads."""
    centre = points.mean(0)
    w, v = np.linalg.eigh(np.cov((points - centre).T))
    normal = v[:, 0] if v[:, 0] @ up > 0 else -v[:, 0]
    return normal, float(normal @ centre), np.sqrt(np.maximum(w[1:], 0))


def estimate_up_from_points(points: np.ndarray, normals: np.ndarray, camera_centres: np.ndarray,
                            prior: Optional[np.ndarray], frames_used: int = 0) -> UpEstimate:
    """The estimate of the module doc from points and normals in the source frame."""
    if prior is None:
        return UpEstimate(np.array([0.0, 0.0, 1.0]), "none", frames_used=frames_used,
                          note="the cameras' up directions cancel out: source +Z kept")
    fallback = UpEstimate(prior, "cameras", camera_prior=prior, frames_used=frames_used)
    if len(points) == 0:
        fallback.note = "no valid depth"
        return fallback
    up = prior
    for cone in (40, 20, 10, 10):
        sel = normals @ up > math.cos(math.radians(cone))
        if sel.sum() < 10:
            break
        m = normals[sel].mean(0)
        up = m / np.linalg.norm(m)
    horizontal = normals @ up > math.cos(math.radians(15))
    n_h = int(horizontal.sum())
    if n_h < 300 or n_h < 0.03 * len(points):
        fallback.note = f"too little horizontal surface: {n_h} of {len(points)} depth points"
        return fallback
    result = UpEstimate(up, "surfaces", camera_prior=prior, surface_points=n_h, frames_used=frames_used)
    h = points[horizontal] @ up
    cam_h = float(np.median(camera_centres @ up))
    lo_h, hi_h = float(h.min()), float(h.max())
    bins = max(int(math.ceil((hi_h - lo_h) / 0.02)), 1)
    counts, edges = np.histogram(h, bins=bins, range=(lo_h, lo_h + bins * 0.02))
    smooth = np.convolve(counts, [1, 2, 1], mode="same") / 4.0
    peaks = [k for k in range(len(smooth)) if smooth[k] > 0 and smooth[k] >= smooth[max(k - 1, 0)]
             and smooth[k] >= smooth[min(k + 1, len(smooth) - 1)]]
    big = max((smooth[k] for k in peaks), default=0.0)
    floor_peaks = [k for k in peaks if smooth[k] >= 0.15 * big and smooth[k] >= 25
                   and (edges[k] + edges[k + 1]) / 2 < cam_h - 0.3]
    if not floor_peaks:
        result.floor_height_guess = float(np.percentile(points @ up, 1.0))
        result.note = "no floor: no horizontal surface 0.3 m or more below the cameras"
        return result
    k = floor_peaks[0]
    level = (edges[k] + edges[k + 1]) / 2
    floor = points[horizontal][np.abs(h - level) < 0.04]
    normal, offset = up, level
    spread = np.zeros(2)
    for _ in range(3):
        normal, offset, spread = _plane(floor, normal)
        near = np.abs(points @ normal - offset) < 0.02
        cand = points[near & (normals @ normal > math.cos(math.radians(25)))]
        if len(cand) < 50:
            break
        floor = cand
    normal, offset, spread = _plane(floor, normal)
    extent = (float(4 * spread[1]), float(4 * spread[0]))
    result.floor_points, result.floor_extent = len(floor), extent
    if min(extent) >= 0.5 and _angle(normal, up) < 10:
        result.up, result.method = normal, "floor"
        result.floor_offset = float(offset)
    else:
        result.floor_offset = float(np.median(floor @ up))
        result.note = (f"floor patch {extent[0]:.2f} x {extent[1]:.2f} m too small for its normal"
                       if min(extent) < 0.5 else f"floor normal {_angle(normal, up):.1f} deg off the surfaces'")
    return result


def estimate_up(reader, frames: int = 24, grid_width: int = 160) -> UpEstimate:
    """UpEstimate of a `FrameReader` (source frame) from `frames` evenly spaced depth images."""
    n = len(reader)
    picks = sorted({int(round(x)) for x in np.linspace(0, n - 1, min(n, frames))}) if n else []
    pts, nrm = [], []
    for k in picks:
        p, q = depth_points(reader.read_depth(k), reader.K, reader.poses[k], grid_width)
        pts.append(p)
        nrm.append(q)
    points = np.concatenate(pts) if pts else np.zeros((0, 3))
    normals = np.concatenate(nrm) if nrm else np.zeros((0, 3))
    return estimate_up_from_points(points, normals, reader.poses[:, :3, 3], camera_up(reader.poses),
                                   frames_used=len(picks))


UP_MODES = ("auto", "estimate", "cameras", "source")


def align_up(scene, mode: str = "auto", fallback: str = "cameras"):
    """Make the scene's +Z its up, in place, and return it.

    mode "auto": estimate (`estimate_up`) when the source does not know its up (`scene.up_source` is
    None), else keep it; "estimate": always estimate; "cameras": the cameras' mean up only (no floor
    search, no shift: the old 7-Scenes behaviour); "source": keep the source's frame. When the
    estimate finds too little horizontal surface, `fallback` decides: "cameras" (the mean camera up)
    or "source" (keep the frame: ScanNet's capture frame is already gravity-aligned by its IMU)."""
    from procsplat.errors import ProcsplatError

    if mode not in UP_MODES:
        raise ProcsplatError(f"up must be one of {', '.join(UP_MODES)}, got {mode!r}")
    if mode == "source" or (mode == "auto" and scene.up_source is not None):
        return scene
    frames = scene.frames
    poses = frames.world_from_source @ frames.reader.poses
    if mode == "cameras":
        prior = camera_up(poses)
        est = (UpEstimate(prior, "cameras", camera_prior=prior, note="as asked (--up cameras)") if prior is not None
               else UpEstimate(np.array([0.0, 0.0, 1.0]), "none", note="the cameras' up directions cancel out"))
    else:
        est = estimate_up(_WorldReader(frames.reader, poses))
        if est.method in ("cameras", "none") and fallback == "source":
            est = UpEstimate(np.array([0.0, 0.0, 1.0]), "none", camera_prior=est.camera_prior,
                             frames_used=est.frames_used, note=f"{est.note or 'no estimate'}: the scan's +Z kept")
    if est.method != "none":
        scene.transform_world(est.world_from_source(), floor_height=est.floor_height())
    scene.up_estimate = est
    return scene


class _WorldReader:
    """A reader's depth with its poses replaced (those of the scene's current world frame)."""

    def __init__(self, reader, poses):
        self.reader, self.poses, self.K = reader, poses, reader.K

    def __len__(self):
        return len(self.poses)

    def read_depth(self, k):
        return self.reader.read_depth(k)
