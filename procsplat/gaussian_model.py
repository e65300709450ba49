"""The whole splat model of a scene: procedural objects with anchored Gaussians + background.

Building it, rendering it through `procsplat.rasterize`, and (de)serialising it. Objects are
described by plain specs (program name, parameters, pose) so a checkpoint or an edited
`scene.json` can rebuild the model without the scan.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from procsplat.splats import AnchoredGaussians, BackgroundGaussians, GaussianSet, ProceduralObject


@dataclass
class ObjectSpec:
    """What fitting produced for one object (and what `scene.json` stores)."""

    instance_id: int
    category: str
    program: str  # library name or path of the program
    parameters: dict
    yaw: float
    translation: list
    scale: float = 1.0

    def to_json(self) -> dict:
        return {"instance_id": self.instance_id, "category": self.category, "program": self.program,
                "parameters": self.parameters, "pose": {"yaw": self.yaw, "translation": list(self.translation),
                                                         "scale": self.scale}}

    @staticmethod
    def from_json(d: dict) -> "ObjectSpec":
        pose = d["pose"]
        return ObjectSpec(int(d["instance_id"]), d.get("category", ""), d["program"], dict(d["parameters"]),
                          float(pose["yaw"]), [float(x) for x in pose["translation"]], float(pose.get("scale", 1.0)))


class SceneModel(nn.Module):
    def __init__(self, specs: list, background: BackgroundGaussians | None, sh_degree: int = 1,
                 per_area: float = 3000.0, max_per_object: int = 5000, seed: int = 0, counts: list | None = None):
        super().__init__()
        from geonodes import load_program

        self.specs = list(specs)
        self.sh_degree = sh_degree
        self.objects = nn.ModuleList()
        self.anchored = nn.ModuleList()
        for k, spec in enumerate(self.specs):
            obj = ProceduralObject(load_program(spec.program), spec.parameters, spec.yaw, spec.translation,
                                   spec.scale, spec.instance_id, spec.category)
            self.objects.append(obj)
            self.anchored.append(AnchoredGaussians(obj, per_area=per_area, max_count=max_per_object,
                                                   sh_degree=sh_degree, seed=seed + k,
                                                   count=None if counts is None else counts[k]))
        self.background = background

    def gaussians(self) -> tuple[GaussianSet, list]:
        """All Gaussians in world space, and the (start, end) range of each object's block."""
        sets, ranges, start = [], [], 0
        for a in self.anchored:
            g = a.world()
            sets.append(g)
            ranges.append((start, start + len(g)))
            start += len(g)
        if self.background is not None and len(self.background.means):
            sets.append(self.background.world())
        return GaussianSet.cat(sets), ranges

    def current_specs(self) -> list:
        out = []
        for spec, obj in zip(self.specs, self.objects):
            pose = obj.pose_dict()
            out.append(ObjectSpec(spec.instance_id, spec.category, spec.program, obj.parameters_dict(),
                                  pose["yaw"], pose["translation"], pose["scale"]))
        return out

    def render(self, viewmat: torch.Tensor, K: torch.Tensor, width: int, height: int, backend: str = "auto",
               background_rgb=(0.0, 0.0, 0.0), with_depth: bool = True):
        """(rgb (H,W,3), depth (H,W) expected depth, alpha (H,W)) for one camera."""
        from procsplat.rasterize import rasterize

        g, _ = self.gaussians()
        colors = torch.cat([g.sh0, g.shN], dim=1).float()
        out, alpha, _ = rasterize(
            g.means.float(), g.quats.float(), torch.exp(g.log_scales).float(), torch.sigmoid(g.opacity_logits).float(),
            colors, viewmat[None].float(), K[None].float(), width, height, sh_degree=self.sh_degree,
            backgrounds=torch.tensor([background_rgb], dtype=torch.float32),
            render_mode="RGB+ED" if with_depth else "RGB", backend=backend)
        rgb = out[0, ..., :3]
        depth = out[0, ..., 3] if with_depth else None
        return rgb, depth, alpha[0, ..., 0]


def seen_in_frames(points: np.ndarray, frames: list, tolerance: float = 0.05) -> np.ndarray:
    """Bool (n,): world points that some frame sees (in view, not behind its depth by more than
    `tolerance`). frames: [(rgb, depth (H,W), K (3,3), cam_to_world (4,4))]."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    seen = np.zeros(len(points), bool)
    for _, depth, K, c2w in frames:
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
        seen |= inside & (d > 0) & (z < d + tolerance)
    return seen


def near_surface_masks(frames: list, surfaces: list, radius: float) -> list | None:
    """Per frame a bool (H,W) mask of depth pixels within `radius` of any surface point.

    frames: [(rgb, depth (H,W), K (3,3), cam_to_world (4,4))]; surfaces: arrays of (n,3) world
    points (e.g. anchored Gaussian centres). None when there are no surface points.
    """
    pts = [np.asarray(p, np.float64).reshape(-1, 3) for p in surfaces]
    pts = np.concatenate(pts) if pts else np.zeros((0, 3))
    if not len(pts):
        return None
    from scipy.spatial import cKDTree

    tree = cKDTree(pts)
    masks = []
    for _, depth, K, c2w in frames:
        h, w = depth.shape
        ys, xs = np.mgrid[0:h, 0:w]
        cam = np.stack([(xs + 0.5 - K[0, 2]) / K[0, 0] * depth, (ys + 0.5 - K[1, 2]) / K[1, 1] * depth, depth], -1)
        world = cam.reshape(-1, 3) @ c2w[:3, :3].T + c2w[:3, 3]
        dist, _ = tree.query(world, k=1, distance_upper_bound=radius)
        masks.append((dist < radius).reshape(h, w) & (depth > 0))
    return masks


def background_from_frames(frames: list, object_masks: list | None, voxel: float = 0.05,
                           max_points: int = 20000, seed: int = 0, sh_degree: int = 1) -> BackgroundGaussians:
    """Background Gaussians from back-projected depth outside the fitted objects, voxelised.

    frames: [(rgb float (H,W,3), depth (H,W), K (3,3), cam_to_world (4,4))];
    object_masks: per frame a bool (H,W) mask of pixels that belong to fitted objects (or None).
    """
    pts, cols = [], []
    for i, (rgb, depth, K, c2w) in enumerate(frames):
        h, w = depth.shape
        ys, xs = np.mgrid[0:h:2, 0:w:2]
        d = depth[ys, xs]
        keep = d > 0
        if object_masks is not None and object_masks[i] is not None:
            keep &= ~object_masks[i][ys, xs]
        x = (xs[keep] + 0.5 - K[0, 2]) / K[0, 0] * d[keep]
        y = (ys[keep] + 0.5 - K[1, 2]) / K[1, 1] * d[keep]
        cam = np.stack([x, y, d[keep]], 1)
        pts.append(cam @ c2w[:3, :3].T + c2w[:3, 3])
        cols.append(rgb[ys[keep], xs[keep]])
    p = np.concatenate(pts) if pts else np.zeros((0, 3))
    c = np.concatenate(cols) if cols else np.zeros((0, 3))
    if len(p):
        key = np.floor(p / voxel).astype(np.int64)
        _, inv, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
        sums = np.zeros((len(counts), 3))
        np.add.at(sums, inv, p)
        csum = np.zeros((len(counts), 3))
        np.add.at(csum, inv, c)
        p, c = sums / counts[:, None], csum / counts[:, None]
        if len(p) > max_points:
            pick = np.random.default_rng(seed).choice(len(p), max_points, replace=False)
            p, c = p[np.sort(pick)], c[np.sort(pick)]
    return BackgroundGaussians(torch.from_numpy(p), torch.from_numpy(c), scale=voxel * 0.6, sh_degree=sh_degree)
