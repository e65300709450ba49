"""Synthetic fitting targets with known answers: a program shape on a floor, seen by a few cameras.

The shape is placed like a fitted candidate (see `pose.place_on_floor`): rotated by yaw about +Z,
moved to (x, y) and lifted so its lowest point touches the floor. Depth and object ids are
rendered with `geonodes.render.render_mesh` (object + a floor quad, so background pixels give
free-space evidence like a real scan), optionally with the scene generator's Kinect-like noise
and holes, and the target is built from those frames exactly as from a real scene.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from procsplat.geometry import look_at

from .pose import place_on_floor
from .target import ObjectTarget, TargetConfig


@dataclass
class SyntheticTruth:
    program: str
    parameters: dict
    yaw: float
    translation: np.ndarray  # (3,) world translation of the program's origin
    vertices: np.ndarray  # (V,3) world
    triangles: np.ndarray  # (T,3)


@dataclass
class CameraRig:
    """Cameras on an arc around the object, looking at its centre."""

    num_views: int = 4
    arc_degrees: float = 200.0
    """Azimuth span of the cameras (360 = all around; real scans usually see one side)."""
    distance: tuple[float, float] = (1.6, 2.4)
    """Horizontal distance from the object's centre, plus the object's radius."""
    height: tuple[float, float] = (1.3, 1.7)
    width: int = 320
    height_px: int = 240
    focal: float = 577.87
    """Focal length in pixels at 640 px width (scaled with `width`)."""




def render_object_frames(vertices: np.ndarray, triangles: np.ndarray, floor: float, rig: CameraRig,
                         rng: np.random.Generator, noise: bool = False, holes: bool = False):
    """Depth frames and object masks of a mesh standing on a floor quad: (depths, Ks, poses, masks)."""
    from geonodes.render import render_mesh
    from procsplat.data.synth import corrupt_depth

    lo, hi = vertices.min(0), vertices.max(0)
    centre = (lo + hi) / 2
    radius = float(np.linalg.norm(hi[:2] - lo[:2]) / 2)
    s = 8.0 + 2 * radius
    fv = np.array([[centre[0] - s, centre[1] - s, floor], [centre[0] + s, centre[1] - s, floor],
                   [centre[0] + s, centre[1] + s, floor], [centre[0] - s, centre[1] + s, floor]])
    V = torch.from_numpy(np.concatenate([vertices, fv]))
    F = torch.from_numpy(np.concatenate([triangles, np.array([[0, 1, 2], [0, 2, 3]]) + len(vertices)]))
    ids = torch.cat([torch.ones(len(triangles), dtype=torch.int64), torch.full((2,), 2, dtype=torch.int64)])
    f = rig.focal * rig.width / 640.0
    K = np.array([[f, 0.0, rig.width / 2], [0.0, f, rig.height_px / 2], [0.0, 0.0, 1.0]])
    a0 = rng.uniform(0, 2 * math.pi)
    span = math.radians(rig.arc_degrees)
    depths, Ks, poses, masks = [], [], [], []
    for i in range(rig.num_views):
        a = a0 + (span * i / max(rig.num_views - 1, 1) if rig.arc_degrees < 360 else span * i / rig.num_views)
        r = rng.uniform(*rig.distance) + radius
        eye = np.array([centre[0] + r * math.cos(a), centre[1] + r * math.sin(a), floor + rng.uniform(*rig.height)])
        look = np.array([centre[0], centre[1], floor + 0.5 * (hi[2] - floor)])
        pose = look_at(eye, look)
        out = render_mesh(V, F, torch.from_numpy(K), torch.from_numpy(pose), rig.width, rig.height_px,
                          face_ids=ids, shading=False)
        depth = corrupt_depth(out["depth"].numpy(), rng, noise, holes)
        depths.append(depth)
        Ks.append(K)
        poses.append(pose)
        masks.append((out["id"].numpy() == 1) & (depth > 0))
    return depths, Ks, poses, masks


def synthetic_object(program, parameters: dict, yaw: float, xy=(0.0, 0.0), floor: float = 0.0,
                     rig: CameraRig = CameraRig(), noise: bool = False, holes: bool = False, seed: int = 0,
                     config: TargetConfig = TargetConfig()) -> tuple[ObjectTarget, SyntheticTruth]:
    """A rendered target of `program` (a geonodes Program) with known parameters and pose."""
    mesh = program.evaluate_one(parameters, dtype=torch.float64)
    v = mesh.vertices.unsqueeze(0)
    world, t = place_on_floor(v, torch.tensor([yaw], dtype=torch.float64),
                              torch.tensor([list(xy)], dtype=torch.float64), floor)
    world = world[0].numpy()
    tris = mesh.triangles.numpy()
    rng = np.random.default_rng(seed)
    frames = render_object_frames(world, tris, floor, rig, rng, noise=noise, holes=holes)
    target = ObjectTarget.from_frames(*frames, floor_height=floor, config=config, label=program.name)
    truth = SyntheticTruth(program.name, dict(parameters), float(yaw), t[0].numpy(), world, tris)
    return target, truth
