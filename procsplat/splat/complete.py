"""Completing procedural objects on the sides the scan never saw.

Anchored Gaussians that no training view sees are pruned before training (nothing could fit
them: `procsplat.splat.init`). A procedural object's surface is whole, though, and that is what
it has over free Gaussians: from a side the scan missed (a novel view, an orbit, a turntable of
the object alone) the object should look like itself, not show holes. After training,
`complete_unseen` adds Gaussians on the surface no training view sees, at a lower density, with
their appearance carried over in the object's own frame: each takes the mean colour and opacity of
its nearest trained Gaussians on the same part of the program (a chair's back gets the back's
colour, not the seat's), found in the object's canonical coordinates. Only surface that a camera
around the object (above the floor) could see gets any: not the inside of closed parts, not faces
under a part resting on them, not the faces it stands on the floor with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from procsplat.fit.losses import covered_triangles
from procsplat.geometry import yaw_matrix
from procsplat.splat.init import seen_in_frames
from procsplat.splat.model import ANCHORED_FIELDS, AnchoredGaussians, uniform_bary_logits



@dataclass
class CompletionConfig:
    """Gaussians on the surface the training views never saw (`procsplat.splat.complete`)."""

    enabled: bool = True
    density: float = 0.5
    """Unseen surface gets this fraction of the anchored density of the seen surface (it is coloured
    by neighbours, not fitted: finer detail there would be invented)."""
    exterior_tolerance: float = 0.01
    """A point is on the object's outside when some camera around it sees it within this depth (m)."""
    neighbours: int = 4
    """Trained Gaussians (same part, nearest in the object's frame) whose mean colour and opacity a
    new Gaussian takes."""


def canonical(points: torch.Tensor, obj) -> np.ndarray:
    """World points (N,3) of a ProceduralObject in its own frame (the inverse of its pose)."""
    with torch.no_grad():
        R = yaw_matrix(obj.yaw.detach()).to(points.dtype)
        local = (points.detach() - obj.translation.detach().to(points.dtype)) @ R / torch.exp(obj.log_scale.detach())
    return local.numpy()


def carried_appearance(src_pts: np.ndarray, src_part: np.ndarray, dst_pts: np.ndarray, dst_part: np.ndarray,
                       k: int) -> np.ndarray:
    """(M,k) indices into the sources: for each destination point its k nearest sources of the same part
    (all sources where its part has none), in the coordinates given (an object's own frame)."""
    from scipy.spatial import cKDTree

    k = max(1, min(k, len(src_pts)))
    out = np.empty((len(dst_pts), k), np.int64)
    everything = cKDTree(src_pts)
    for part in np.unique(dst_part):
        rows = np.flatnonzero(dst_part == part)
        pool = np.flatnonzero(src_part == part)
        if len(pool) >= k:
            _, idx = cKDTree(src_pts[pool]).query(dst_pts[rows], k=k)
            out[rows] = pool[idx.reshape(len(rows), k)]
        else:
            _, idx = everything.query(dst_pts[rows], k=k)
            out[rows] = idx.reshape(len(rows), k)
    return out


def on_floor(v: torch.Tensor, t: torch.Tensor, tolerance: float = 0.01) -> torch.Tensor:
    """(T,) bool: downward faces at the object's lowest height (what it stands on the floor with: no
    camera in the room can see them, and splats there would show as a dark rim around its foot)."""
    corners = v[t]  # (T,3,3)
    n = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    down = n[:, 2] < -0.9 * n.norm(dim=1)
    low = corners[..., 2].amax(1) <= v[:, 2].min() + tolerance
    return down & low


def exterior_views(v: torch.Tensor, t: torch.Tensor, size: int = 96, azimuths: int = 12) -> list:
    """Depth frames [(None, depth, K, cam_to_world)] of the mesh alone from cameras around it at three
    heights, all above the floor it stands on (its lowest point): what a room's cameras could see of it."""
    from geonodes.render import render_mesh
    from procsplat.geometry import look_at

    lo, hi = v.amin(0).double(), v.amax(0).double()
    centre = (lo + hi) / 2
    radius = float((hi - lo).norm()) / 2 + 1e-3
    dist = 2.5 * radius + 0.5
    f = 0.5 * size * dist / (1.2 * radius)
    K = np.array([[f, 0.0, size / 2], [0.0, f, size / 2], [0.0, 0.0, 1.0]])
    floor = float(lo[2])
    heights = (floor + 0.15, float(centre[2]), max(float(hi[2]) + 0.8, floor + 2.2))
    frames = []
    for z in heights:
        for k in range(azimuths):
            a = 2 * math.pi * (k + 0.5 * (z == heights[1])) / azimuths
            eye = (float(centre[0]) + dist * math.cos(a), float(centre[1]) + dist * math.sin(a), z)
            c2w = look_at(eye, tuple(centre.tolist()))
            depth = render_mesh(v.float(), t, torch.tensor(K, dtype=torch.float32),
                                torch.tensor(c2w, dtype=torch.float32), size, size)["depth"]
            frames.append((None, depth.numpy().astype(np.float64), K, c2w))
    return frames


def thinned(m: int, count: int, n_seen_samples: int, n_seen: int, open_area: float, density: float,
            gen: torch.Generator) -> torch.Tensor | None:
    """Indices of the unseen samples to keep (None: all) so that the unseen surface gets `density` x the
    density of the object's trained Gaussians on its seen surface. Of `count` samples drawn uniformly on
    `open_area` m^2, `n_seen_samples` fell on surface the training frames see and `m` on unseen exterior
    surface: the seen area is about open_area x n_seen_samples / count, holding `n_seen` Gaussians.
    (The samples are drawn at `density` x the configured per-area density; an object whose count the
    per-object cap bounded -- or whose unseen Gaussians were pruned at initialisation -- carries fewer
    Gaussians per m^2 than that on its seen surface: on the bench scenes 2 to 8 x fewer.)"""
    if n_seen_samples == 0 or m == 0:
        return None
    seen_density = n_seen / (open_area * n_seen_samples / count)
    target = max(1, int(round(density * seen_density * open_area * m / count)))
    if target >= m:
        return None
    return torch.randperm(m, generator=gen)[:target].sort().values


def complete_object(anchored: AnchoredGaussians, frames: list, per_area: float, cfg: CompletionConfig,
                    seed: int = 0) -> int:
    """Add Gaussians on `anchored`'s object where no frame sees its surface; returns how many."""
    obj = anchored.obj
    n_seen = int(anchored.face.shape[0])
    if n_seen == 0 or cfg.density <= 0:
        return 0
    with torch.no_grad():
        v, t, part = obj.mesh()
        v, t = v.detach(), t.long()
        area = 0.5 * torch.linalg.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]).norm(dim=1)
        open_faces = (~covered_triangles(v[None], t)[0]) & (area > 0) & ~on_floor(v, t)
        if not bool(open_faces.any()):
            return 0
        weight = area * open_faces
        count = int(min(float(weight.sum()) * per_area * cfg.density, 4 * n_seen))
        if count == 0:
            return 0
        gen = torch.Generator().manual_seed(seed)
        face = torch.multinomial(weight / weight.sum(), count, replacement=True, generator=gen)
        logits = uniform_bary_logits(count, gen)
        w = torch.softmax(logits, dim=1)
        tri = t[face]
        pts = (w[:, :1] * v[tri[:, 0]] + w[:, 1:2] * v[tri[:, 1]] + w[:, 2:] * v[tri[:, 2]])
        # Sized by the sampling density of their face (a large face that is nearly all seen keeps
        # small Gaussians on its unseen corner), then only the unseen ones are kept.
        per_face = torch.bincount(face, minlength=len(t)).clamp(min=1).to(area.dtype)
        side = torch.sqrt(area[face] / per_face[face] / 2).clamp(min=2e-3, max=0.2)
        # Kept where no training frame sees them but a camera around the object would (not inside
        # it, not under a part resting on another, not on the floor).
        seen = torch.from_numpy(seen_in_frames(pts.numpy(), frames))
        unseen = ~seen & \
            torch.from_numpy(seen_in_frames(pts.numpy(), exterior_views(v, t), tolerance=cfg.exterior_tolerance))
        if not bool(unseen.any()):
            return 0
        face, logits, pts, side = face[unseen], logits[unseen], pts[unseen], side[unseen]
        keep = thinned(int(face.shape[0]), count, int(seen.sum()), n_seen, float(weight.sum()), cfg.density, gen)
        if keep is not None:  # sparser than sampled: each of the fewer covers more of its face
            side = (side * math.sqrt(face.shape[0] / len(keep))).clamp(max=0.2)
            face, logits, pts, side = face[keep], logits[keep], pts[keep], side[keep]
        m = int(face.shape[0])
        current = anchored.world()
        part = part.long()
        src = carried_appearance(canonical(current.means, obj), part[anchored.face].numpy(),
                                 canonical(pts, obj), part[face].numpy(), cfg.neighbours)
        src = torch.from_numpy(src)
        new = {
            "bary_logits": logits,
            "offset": torch.zeros(m, dtype=torch.float64),
            "angle": torch.rand(m, generator=gen, dtype=torch.float64) * math.pi,
            "log_scales_plane": torch.log(side)[:, None].repeat(1, 2),
            "log_scale_normal": anchored.log_scale_normal.detach()[src].mean(1),
            "opacity_logits": anchored.opacity_logits.detach()[src].mean(1),
            "sh0": anchored.sh0.detach()[src].mean(1),
            "shN": torch.zeros((m,) + tuple(anchored.shN.shape[1:]), dtype=anchored.shN.dtype),
        }
        anchored.face = torch.cat([anchored.face, face])
        for name in ANCHORED_FIELDS:
            old = getattr(anchored, name).detach()
            setattr(anchored, name, nn.Parameter(torch.cat([old, new[name].to(old.dtype)])))
    return m


def complete_unseen(model, frames: list, per_area: float, cfg: CompletionConfig = CompletionConfig(),
                    seed: int = 0) -> list[int]:
    """Complete every procedural object of `model` (see the module docstring); returns the Gaussians
    added per object. frames: the training frames [(rgb, depth, K, cam_to_world)]. The optimiser of
    a trainer that goes on afterwards must be rebuilt (the parameters are new tensors)."""
    if not cfg.enabled:
        return [0] * len(model.anchored)
    return [complete_object(a, frames, per_area, cfg, seed + k) for k, a in enumerate(model.anchored)]
