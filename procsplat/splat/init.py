"""Initialising a scene's splat model from posed RGB-D frames.

Anchored Gaussians that no training view sees are pruned (their budget goes to the background), the
seen ones are shared equally among the objects,
background Gaussians are seeded from back-projected depth the fitted surfaces do not explain,
and anchored Gaussians take the colour of the nearest observed point. Frames are tuples
(rgb float (H,W,3), depth (H,W), K (3,3), cam_to_world (4,4)).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from procsplat.geometry import backproject, visible_in_frame
from procsplat.splat.model import (AnchoredGaussians, BackgroundGaussians, SceneModel, rgb_to_sh0,
                                   triangle_areas)


@dataclass
class InitConfig:
    """How the Gaussians start (`procsplat.splat.init`)."""

    sh_degree: int = 1
    gaussians_per_m2: float = 3000.0
    """Anchored Gaussians per square metre of program surface..."""
    max_gaussians_per_object: int = 4000
    """...but at most this many per object, drawn over its whole surface (`share_seen` then shares out the
    ones the training views see)."""
    share_seen: bool = True
    """The anchored Gaussians the training views see, summed over the objects, are shared equally among the
    objects (each at most `gaussians_per_m2` per m^2 of what the views see of it): the per-object cap drawn
    over whole surfaces leaves an object with much hidden surface (a bed's insides) with far fewer where it
    shows (bench seed 8: a bed seen over 14 m^2 kept 644, a cabinet seen over 4 m^2 1,058)."""
    max_background: int = 15000
    """Background Gaussians (plus the budget of anchored ones no training view sees)."""
    background_voxel: float = 0.05
    """Voxel size (m) of the back-projected scan that seeds background Gaussians."""
    texture_weight: float = 0.0
    """Draw the seen anchored Gaussians (as many) over the faces by area x (1 - w + w x the face's image-
    gradient density in the training views / its mean) instead of by area (`procsplat.splat.detail.
    texture_face_weights`; 0: by area)."""


def seen_in_frames(points: np.ndarray, frames: list, tolerance: float = 0.05) -> np.ndarray:
    """Bool (n,): world points that some frame sees (in view, not behind its depth by more than
    `tolerance`). frames: [(rgb, depth (H,W), K (3,3), cam_to_world (4,4))]."""
    points = np.asarray(points, np.float64).reshape(-1, 3)
    seen = np.zeros(len(points), bool)
    for _, depth, K, c2w in frames:
        seen |= visible_in_frame(points, depth, K, c2w, tolerance)[0]
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
        world, rows, cols = backproject(depth, K, c2w, return_pixels=True)
        dist, _ = tree.query(world, k=1, distance_upper_bound=radius)
        mask = np.zeros(depth.shape, bool)
        mask[rows, cols] = dist < radius
        masks.append(mask)
    return masks


def surface_samples(vertices: torch.Tensor, triangles: torch.Tensor, spacing: float, seed: int = 0,
                    limit: int = 200000) -> np.ndarray:
    """(n,3) area-weighted points on a mesh, about one per spacing^2 (at most `limit`): the fitted surface
    that background Gaussians are kept off (anchored Gaussians' centres, several cm apart, would leave
    room for background ones between them)."""
    from procsplat.fit.surface import sample_mesh_surface

    v, t = vertices.detach().cpu().numpy(), triangles.detach().cpu().numpy()
    area = 0.5 * np.linalg.norm(np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]), axis=1).sum()
    if not len(t) or area <= 0:
        return np.zeros((0, 3))
    return sample_mesh_surface(v, t, int(min(max(area / spacing ** 2, 100), limit)), seed=seed)


def background_from_frames(frames: list, object_masks: list | None, voxel: float = 0.05,
                           max_points: int = 20000, seed: int = 0, sh_degree: int = 1) -> BackgroundGaussians:
    """Background Gaussians from back-projected depth outside the fitted objects, voxelised.

    frames: [(rgb float (H,W,3), depth (H,W), K (3,3), cam_to_world (4,4))];
    object_masks: per frame a bool (H,W) mask of pixels that belong to fitted objects (or None).
    """
    pts, cols = [], []
    for i, (rgb, depth, K, c2w) in enumerate(frames):
        outside = None if object_masks is None or object_masks[i] is None else ~object_masks[i]
        world, rows, cs = backproject(depth, K, c2w, mask=outside, step=2, return_pixels=True)
        pts.append(world)
        cols.append(rgb[rows, cs])
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


def init_colors(model: SceneModel, frames: list) -> None:
    """Anchored Gaussians start with the colour of the nearest observed point."""
    from scipy.spatial import cKDTree

    pts, cols = [], []
    for rgb, depth, K, c2w in frames:
        world, rows, cs = backproject(depth, K, c2w, step=2, return_pixels=True)
        pts.append(world)
        cols.append(rgb[rows, cs])
    if not pts or not len(np.concatenate(pts)):
        return
    tree = cKDTree(np.concatenate(pts))
    colors = np.concatenate(cols)
    with torch.no_grad():
        for a in model.anchored:
            _, idx = tree.query(a.world().means.detach().numpy(), k=1)
            a.sh0.copy_(rgb_to_sh0(torch.from_numpy(colors[idx]).double())[:, None, :])


def seen_shares(areas: list, seen: list, drawn: list, per_area: float) -> list[int]:
    """Each object's share of the anchored Gaussians the training views see: the sum of `seen` split equally
    among the objects with any seen, each at most `per_area` per m^2 of the surface the views see of it
    (`seen[k]` of the `drawn[k]` drawn uniformly over its `areas[k]` m^2 were seen: about areas[k] x
    seen[k] / drawn[k] m^2); rounded, 0 for an object nothing of which is seen."""
    shown = np.array([a * s / d if d else 0.0 for a, s, d in zip(areas, seen, drawn)], np.float64)
    n = int((shown > 0).sum())
    if n == 0:
        return [0] * len(areas)
    share = np.where(shown > 0, np.minimum(sum(seen) / n, per_area * shown), 0.0)
    return [int(round(x)) for x in share]


def texture_draw(obj, frames: list, target: int, cfg: InitConfig, seed: int) -> tuple:
    """An object's anchored Gaussians drawn by `texture_face_weights` (`InitConfig.texture_weight`), as many
    as leave about `target` seen by the training views (drawn once more when the first draw misses it by
    more than 5 %); returns (AnchoredGaussians, seen mask)."""
    from procsplat.splat.detail import texture_face_weights

    v, t, _ = obj.mesh()
    weights, expected = texture_face_weights(v, t, frames, cfg.texture_weight, seed=seed)
    count = max(int(round(target / max(expected, 1e-3))), 1)
    for _ in range(2):
        a = AnchoredGaussians(obj, sh_degree=cfg.sh_degree, seed=seed, count=count, face_weights=weights)
        seen = torch.from_numpy(seen_in_frames(a.world().means.detach().numpy(), frames))
        n = int(seen.sum())
        if not n or abs(n - target) <= 0.05 * target:
            break
        count = max(int(round(count * target / n)), 1)
    return a, seen


def initialise_model(specs: list, frames: list, cfg: InitConfig, seed: int = 0,
                     background_size: int | None = None) -> SceneModel:
    """The scene's splat model from fitted object specs and posed training frames.

    Anchored Gaussians on faces no training view sees (insides of cabinets, undersides: about half
    of them on the synthetic scenes) cannot be fitted and never show; their share of the budget
    goes to the background. The ones the views see are shared equally among the objects
    (`InitConfig.share_seen`). Background Gaussians go wherever the fitted surfaces do not explain the
    scan: observed points farther than a background splat's own size from every fitted surface
    (not whole instance masks, which would leave the parts a fit misses uncovered).
    `background_size` (resuming) prunes the background to the size it had been saved with.
    """
    model = SceneModel(specs, None, sh_degree=cfg.sh_degree, per_area=cfg.gaussians_per_m2,
                       max_per_object=cfg.max_gaussians_per_object, seed=seed)
    spare = 0
    with torch.no_grad():
        seen = [torch.from_numpy(seen_in_frames(a.world().means.numpy(), frames)) for a in model.anchored]
        budget = [len(x) for x in seen]
        shares = [int(x.sum()) for x in seen]
        if cfg.share_seen and len(seen) > 1:
            areas = []
            for obj in model.objects:
                v, t, _ = obj.mesh()
                areas.append(float(triangle_areas(v, t).sum()))
            shares = seen_shares(areas, [int(x.sum()) for x in seen], budget, cfg.gaussians_per_m2)
        if cfg.texture_weight > 0:
            for k, a in enumerate(model.anchored):
                if int(seen[k].sum()):
                    model.anchored[k], seen[k] = texture_draw(a.obj, frames, shares[k], cfg, seed + k)
        elif cfg.share_seen and len(seen) > 1:
            for k, a in enumerate(model.anchored):
                n = int(seen[k].sum())
                if n and abs(shares[k] - n) > 0.05 * n:  # drawn again, as many as leave its share seen
                    a = AnchoredGaussians(a.obj, sh_degree=cfg.sh_degree, seed=seed + k,
                                          count=max(int(round(shares[k] * budget[k] / n)), 1))
                    model.anchored[k] = a
                    seen[k] = torch.from_numpy(seen_in_frames(a.world().means.numpy(), frames))
        for a, s, b in zip(model.anchored, seen, budget):
            n = int(s.sum())
            if n:  # (one nothing of which is seen keeps its Gaussians)
                spare += b - n  # one that took more than its own draw takes from the others'
            if 0 < n < len(s):
                a.prune(s.nonzero()[:, 0])
        spare = max(spare, 0)
        surface = [surface_samples(*obj.mesh()[:2], spacing=0.25 * cfg.background_voxel, seed=seed)
                   for obj in model.objects]
    frames = frames[::3]
    masks = near_surface_masks(frames, surface, radius=0.6 * cfg.background_voxel)
    model.background = background_from_frames(frames, masks, voxel=cfg.background_voxel,
                                              max_points=cfg.max_background + spare, seed=seed,
                                              sh_degree=cfg.sh_degree)
    if background_size is not None:
        model.background.prune(torch.arange(min(background_size, len(model.background.means))))
    init_colors(model, frames)
    return model
