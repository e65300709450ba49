"""Batched fitting losses of candidate meshes against an ObjectTarget (lower is better).

All terms are (B,) tensors over the candidates, differentiable w.r.t. the candidates' world
vertices (hence float parameters and pose). Distances are in metres.

coverage    mean over observed points of rho(distance to the candidate surface). rho is Huber
            (quadratic below `huber`) truncated at `truncation`, so outliers (mask bleeding,
            neighbours) cost a constant. Nearest surface: the k nearest surface samples
            (cKDTree, not differentiated) propose triangles; the exact point-to-triangle
            distance to those is differentiated.
free_space  mean over candidate surface samples of max(0, depth inside observed-empty space -
            free_margin): surface where the cameras saw through. Unobserved (occluded) space
            costs nothing.
support     |lowest candidate point - floor|. Zero by construction when the pose lifts shapes
            onto the floor (`pose.place_on_floor`, what the search does); kept for poses with
            a free height.
accuracy    mean over candidate surface samples that some kept depth view sees (not behind the
            observed depth by more than `visibility_margin`) of rho(distance to the nearest
            observed point). Hidden surface costs nothing. Without views: over all samples,
            truncated (a one-sided chamfer).

Default weights (LossWeights): coverage 1, free_space 2, accuracy 0.5, support 1. Coverage
pulls the surface onto the observations; free space is weighted above it because a surface
through seen-empty space is definite evidence against a candidate while a missed observed
point can be noise; accuracy is a weaker tie-breaker for visible surface with no support in
the data (holes in depth make it unreliable).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree

from .surface import SurfaceSampler, closest_point_on_triangle
from .target import ObjectTarget


@dataclass
class LossWeights:
    coverage: float = 1.0
    free_space: float = 2.0
    accuracy: float = 0.5
    support: float = 1.0


@dataclass
class LossConfig:
    weights: LossWeights = field(default_factory=LossWeights)
    num_samples: int = 800
    """Surface samples per candidate (fixed barycentric coordinates per topology)."""
    huber: float = 0.02
    truncation: float = 0.15
    free_margin: float = 0.01
    visibility_margin: float = 0.03
    knn: int = 2
    """Nearest surface samples whose triangles are tested exactly, per observed point."""
    fan_window: int = 1
    """Also test this many neighbouring triangles either side in the same polygon."""
    max_points: int = 1000
    """Observed points used by coverage (a fixed seeded subset beyond this)."""
    seed: int = 0


def robust(d: torch.Tensor, huber: float, truncation: float) -> torch.Tensor:
    """Huber (quadratic below `huber`) truncated at `truncation` (constant beyond)."""
    h = torch.where(d < huber, d * d / (2 * huber), d - huber / 2)
    return h.clamp(max=truncation - huber / 2)


def _face_window(triangle_face: torch.Tensor, window: int) -> torch.Tensor:
    """(T, 2w+1) triangle indices near each triangle within its own polygon (itself where the
    polygon ends). Polygons are triangulated as fans, so index neighbours are geometric
    neighbours: long thin fan triangles (discs, n-gon caps) are covered although a surface
    sample on the next sliver is nearer than any on the right one."""
    T = triangle_face.shape[0]
    idx = torch.arange(T)
    off = torch.arange(-window, window + 1)
    cand = (idx[:, None] + off[None]).clamp(0, T - 1)
    same = triangle_face[cand] == triangle_face[:, None]
    return torch.where(same, cand, idx[:, None])


def point_to_mesh_distance(points: torch.Tensor, vertices: torch.Tensor, triangles: torch.Tensor,
                           samples: torch.Tensor, sample_tri: torch.Tensor, k: int = 1,
                           triangle_face: torch.Tensor | None = None, window: int = 3) -> torch.Tensor:
    """Distances (b,N) from fixed points (N,3) to each candidate's surface (b,V,3)/(T,3).

    Candidate triangles: those of the k nearest surface samples of every point, and (given
    `triangle_face`, the polygon of each triangle) up to `window` fan neighbours either side
    in the same polygon. Exact point-to-triangle distance to all of them, minimum.
    """
    b, S, _ = samples.shape
    N = points.shape[0]
    k = min(k, S)
    pts_np = points.detach().cpu().numpy()
    nn = np.empty((b, N, k), dtype=np.int64)
    smp = samples.detach().cpu().numpy()
    for i in range(b):
        _, j = cKDTree(smp[i]).query(pts_np, k=k)
        nn[i] = j.reshape(N, k)
    tri = torch.gather(sample_tri, 1, torch.from_numpy(nn).reshape(b, N * k))  # (b,N*k)
    if triangle_face is not None and window > 0:
        tri = _face_window(triangle_face, window)[tri].reshape(b, -1)  # (b, N*k*(2w+1))
    m = tri.shape[1] // N
    corner = triangles[tri]  # (b,N*m,3)
    verts = torch.gather(vertices, 1, corner.reshape(b, -1, 1).expand(-1, -1, 3)).reshape(b, N * m, 3, 3)
    p = points.to(vertices.dtype).unsqueeze(0).unsqueeze(2).expand(b, N, m, 3).reshape(b, N * m, 3)
    q = closest_point_on_triangle(p, verts[:, :, 0], verts[:, :, 1], verts[:, :, 2])
    d = (p - q).square().sum(-1).clamp_min(1e-18).sqrt().reshape(b, N, m)
    return d.min(-1).values


def sample_fields(target: ObjectTarget, x: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of the target's distance fields at points x (...,3) -> (...,2):
    [depth inside observed-empty space, distance to the nearest observed point]."""
    f = target.fields(x.dtype)
    shape = x.shape[:-1]
    g = 2 * (x.reshape(1, 1, 1, -1, 3) - f["lo"]) / f["size"] - 1
    out = F.grid_sample(f["grid"], g, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(2, -1).t().reshape(*shape, 2)


def visible_mask(target: ObjectTarget, x: torch.Tensor, margin: float) -> torch.Tensor:
    """(b,S) bool: the sample is seen by some kept view (not occluded by the observed depth)."""
    with torch.no_grad():
        pts = x.detach().double()
        seen = torch.zeros(x.shape[:-1], dtype=torch.bool)
        for view in target.views:
            c2w = torch.from_numpy(view.cam_to_world)
            cam = (pts - c2w[:3, 3]) @ c2w[:3, :3]
            z = cam[..., 2]
            K = view.K
            zs = z.clamp_min(1e-6)
            u = torch.floor(K[0, 0] * cam[..., 0] / zs + K[0, 1] * cam[..., 1] / zs + K[0, 2]).long()
            v = torch.floor(K[1, 1] * cam[..., 1] / zs + K[1, 2]).long()
            H, W = view.depth.shape
            inside = (z > 0.05) & (u >= 0) & (u < W) & (v >= 0) & (v < H)
            d = torch.from_numpy(view.depth).double()[v.clamp(0, H - 1), u.clamp(0, W - 1)]
            seen |= inside & (d > 0) & (z <= d + margin)
        return seen


def support_loss(vertices: torch.Tensor, floor: float) -> torch.Tensor:
    """(b,) |lowest vertex - floor| of world vertices (b,V,3)."""
    if vertices.shape[1] == 0:
        return vertices.new_zeros(vertices.shape[0])
    return (vertices[..., 2].min(1).values - floor).abs()


class CandidateLosses:
    """Evaluates all loss terms for batches of posed candidate meshes against one target."""

    def __init__(self, target: ObjectTarget, config: LossConfig = LossConfig()):
        self.target = target
        self.config = config
        self.sampler = SurfaceSampler(config.num_samples, seed=config.seed)
        pts = target.points
        if len(pts) > config.max_points:
            rng = np.random.default_rng(config.seed)
            pts = pts[np.sort(rng.choice(len(pts), config.max_points, replace=False))]
        self.points = torch.from_numpy(np.asarray(pts, dtype=np.float64))

    def terms(self, vertices: torch.Tensor, triangles: torch.Tensor,
              triangle_face: torch.Tensor | None = None) -> dict:
        """One topology: world vertices (b,V,3), triangles (T,3) and optionally the polygon of
        each triangle (T,) -> dict of (b,) terms + total."""
        cfg = self.config
        b = vertices.shape[0]
        samples, tri, valid = self.sampler.sample(vertices, triangles)
        if triangles.shape[0] == 0:
            big = vertices.new_full((b,), cfg.truncation)
            zero = vertices.new_zeros(b)
            out = {"coverage": big, "free_space": zero, "accuracy": zero, "support": zero}
        else:
            d = point_to_mesh_distance(self.points.to(vertices.dtype), vertices, triangles, samples, tri, cfg.knn,
                                       triangle_face, cfg.fan_window)
            coverage = robust(d, cfg.huber, cfg.truncation).mean(1)
            fields = sample_fields(self.target, samples)
            free_space = (fields[..., 0] - cfg.free_margin).clamp_min(0).mean(1)
            acc = robust(fields[..., 1], cfg.huber, cfg.truncation)
            if self.target.views:
                seen = visible_mask(self.target, samples, cfg.visibility_margin).to(acc.dtype)
                accuracy = (acc * seen).sum(1) / seen.sum(1).clamp_min(1.0)
            else:
                accuracy = acc.mean(1)
            out = {"coverage": coverage, "free_space": free_space, "accuracy": accuracy,
                   "support": support_loss(vertices, self.target.floor_height)}
            # A mesh with no area cannot explain anything.
            out["coverage"] = torch.where(valid, out["coverage"], vertices.new_full((b,), cfg.truncation))
        w = cfg.weights
        out["total"] = (w.coverage * out["coverage"] + w.free_space * out["free_space"]
                        + w.accuracy * out["accuracy"] + w.support * out["support"])
        return out
