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
accuracy    mean over candidate surface samples that some kept depth view sees (facing it, by
            the outward normal of their triangle, and not behind the observed depth by more
            than `visibility_margin`) of rho(distance to the observed surface): to the tangent
            plane of a nearby observed point, plus the in-plane offset beyond `plane_slack`
            (`accuracy_plane`; else the distance to the nearest observed point from the 2 cm
            voxel field). Hidden surface costs nothing. Without views: over all samples,
            truncated (a one-sided chamfer). Why planes and facing: with the voxel field and
            back faces counted as seen, a true cabinet with handles scored an accuracy of
            6.4e-3 (true surfaces 1-2.5 cm from voxel-quantised points; the back faces of
            2 cm boards and handles pass the depth test) and lost to the same cabinet without
            handles (5.4e-3); with both, 0.5e-3 vs 0.6e-3.

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
    free_margin: float = 0.02
    """Surface deeper than this inside observed-empty space costs (free space is known to about
    one 3 cm free voxel: 1 cm left the unseen top of a tall true cabinet 4-10x the cost of a
    2 cm shorter wrong one)."""
    visibility_margin: float = 0.03
    knn: int = 12
    """Nearest surface samples whose triangles are tested exactly, per observed point. With
    800 samples, 2 measured a coverage of 2-8e-3 for the true shape itself (a point's nearest
    samples often lie on a thin board edge next to the large face it is on, so thin boards
    scored better than the truth); 8 measured 0.3-1.5e-3; on a cabinet with shelves behind its
    side panels 8 / 16 / 32 gave 9.6e-4 / 2.2e-4 / 0.5e-4 (exact: 1.2e-4), and the misses are
    biased by topology (more small parts near the points, more chances): 12 costs ~20 % more
    scoring time than 8."""
    fan_window: int = 0
    """Also test this many neighbouring triangles either side in the same polygon."""
    max_points: int = 1000
    """Observed points used by coverage (a fixed seeded subset beyond this)."""
    accuracy_plane: bool = True
    """Accuracy distance: to the nearest observed point's tangent plane (normal from its
    neighbours), plus how far beyond `plane_slack` along the plane, instead of the voxel
    distance field (whose 2 cm quantisation puts true surfaces 1-2.5 cm off)."""
    plane_slack: float = 0.015
    visibility_facing: bool = True
    """Accuracy counts a sample as seen only from views its (outward) face looks at: the back
    face of a 2 cm board, or of a handle on a drawer front, lies within `visibility_margin`
    behind the observed depth and otherwise passes as seen, 1-2 cm from any observation."""
    seed: int = 0


_CUBE_CORNERS = torch.tensor([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)])


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
    pts = points.to(vertices.dtype)
    if m > 1:  # pick the nearest candidate triangle without autograd, then differentiate that one
        with torch.no_grad():  # (the min's gradient only flows through its argmin anyway)
            d = _triangle_distance(pts.unsqueeze(1).expand(N, m, 3).reshape(N * m, 3), vertices.detach(),
                                   triangles, tri)
            best = d.reshape(b, N, m).argmin(-1, keepdim=True)
        tri = torch.gather(tri.reshape(b, N, m), 2, best).reshape(b, N)
    return _triangle_distance(pts, vertices, triangles, tri)


def _triangle_distance(points: torch.Tensor, vertices: torch.Tensor, triangles: torch.Tensor,
                       tri: torch.Tensor) -> torch.Tensor:
    """(b,M) exact distances from points (M,3) to triangle tri[:, i] of each candidate."""
    b, M = tri.shape
    corner = triangles[tri]  # (b,M,3)
    verts = torch.gather(vertices, 1, corner.reshape(b, -1, 1).expand(-1, -1, 3)).reshape(b, M, 3, 3)
    p = points.unsqueeze(0).expand(b, M, 3)
    q = closest_point_on_triangle(p, verts[:, :, 0], verts[:, :, 1], verts[:, :, 2])
    return (p - q).square().sum(-1).clamp_min(1e-18).sqrt()


def sample_fields(target: ObjectTarget, x: torch.Tensor) -> torch.Tensor:
    """Trilinear lookup of the target's distance fields at points x (...,3) -> (...,2):
    [depth inside observed-empty space, distance to the nearest observed point]."""
    f = target.fields(x.dtype)
    shape = x.shape[:-1]
    g = 2 * (x.reshape(1, 1, 1, -1, 3) - f["lo"]) / f["size"] - 1
    out = F.grid_sample(f["grid"], g, mode="bilinear", padding_mode="border", align_corners=True)
    return out.reshape(2, -1).t().reshape(*shape, 2)


class ViewStack:
    """The target's kept depth views as stacked tensors, for one batched visibility test
    (views of different sizes are zero-padded: padding is invalid depth)."""

    def __init__(self, views, dtype=torch.float32):
        H = max(v.depth.shape[0] for v in views)
        W = max(v.depth.shape[1] for v in views)
        depth = torch.zeros(len(views), H, W, dtype=dtype)
        for i, v in enumerate(views):
            depth[i, :v.depth.shape[0], :v.depth.shape[1]] = torch.from_numpy(v.depth)
        self.depth = depth.reshape(len(views), -1)
        self.size = torch.tensor([[v.depth.shape[1], v.depth.shape[0]] for v in views])  # (V,2) W,H
        self.W = W
        self.R = torch.tensor(np.stack([v.cam_to_world[:3, :3] for v in views]), dtype=dtype)  # (V,3,3)
        self.o = torch.tensor(np.stack([v.cam_to_world[:3, 3] for v in views]), dtype=dtype)  # (V,3)
        self.K = torch.tensor(np.stack([v.K for v in views]), dtype=dtype)  # (V,3,3)


def visible_mask(target: ObjectTarget, x: torch.Tensor, margin: float, stack: ViewStack | None = None,
                 normals: torch.Tensor | None = None) -> torch.Tensor:
    """(b,S) bool: the sample is seen by some kept view (not occluded by the observed depth;
    given outward `normals` (b,S,3), also facing that view)."""
    with torch.no_grad():
        stack = stack or ViewStack(target.views)
        V = stack.R.shape[0]
        pts = x.detach().to(stack.R.dtype).reshape(1, -1, 3)
        cam = torch.bmm(pts.expand(V, -1, 3) - stack.o[:, None], stack.R)  # (V,M,3) camera coordinates
        z = cam[..., 2]
        zs = z.clamp_min(1e-6)
        K = stack.K
        u = torch.floor(K[:, 0, 0, None] * cam[..., 0] / zs + K[:, 0, 1, None] * cam[..., 1] / zs + K[:, 0, 2, None])
        v = torch.floor(K[:, 1, 1, None] * cam[..., 1] / zs + K[:, 1, 2, None])
        Wv = stack.size[:, 0, None]
        Hv = stack.size[:, 1, None]
        inside = (z > 0.05) & (u >= 0) & (u < Wv) & (v >= 0) & (v < Hv)
        flat = (v.clamp(0, stack.depth.shape[1] // stack.W - 1).long() * stack.W
                + u.clamp(0, stack.W - 1).long())
        d = torch.gather(stack.depth, 1, flat)
        ok = inside & (d > 0) & (z <= d + margin)
        if normals is not None:  # back faces: (sample - camera) . normal > 0
            n = normals.detach().to(stack.R.dtype).reshape(1, -1, 3)
            ok &= ((pts - stack.o[:, None]) * n).sum(-1) < 0
        seen = ok.any(0)
        return seen.reshape(x.shape[:-1])


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
        self._views = None  # ViewStack, built on first use
        self._planes = None  # {dtype: (points, normals)} of the observed points, built on first use

    def planes(self, dtype=torch.float64):
        """(observed points (N,3), unit normals (N,3) from their 10 nearest neighbours), cached
        per dtype (the lookup runs on every scoring call)."""
        if self._planes is None:
            pts = np.asarray(self.target.points, dtype=np.float64)
            _, nb = cKDTree(pts).query(pts, k=min(10, len(pts)))
            nb = nb.reshape(len(pts), -1)
            q = pts[nb] - pts[nb].mean(1, keepdims=True)
            _, vecs = np.linalg.eigh(np.einsum("nki,nkj->nij", q, q))
            self._planes = {torch.float64: (torch.from_numpy(pts), torch.from_numpy(vecs[:, :, 0].copy()))}
        if dtype not in self._planes:
            self._planes[dtype] = tuple(t.to(dtype) for t in self._planes[torch.float64])
        return self._planes[dtype]

    def plane_distance(self, x: torch.Tensor) -> torch.Tensor:
        """(...,) distance of points x (...,3) to the tangent plane of an observed point near
        them, combined with the part of the in-plane offset beyond `plane_slack`; the minimum
        over the observed points nearest the 8 grid nodes around each x (a lookup, not a
        search: `ObjectTarget.fields`)."""
        pts, nrm = self.planes(x.dtype)
        f = self.target.fields(x.dtype)
        dims = torch.as_tensor(f["dims"])
        base = torch.floor((x.detach().reshape(-1, 3) - f["lo"]) / self.target.voxel).long()
        node = torch.minimum((base[:, None] + _CUBE_CORNERS[None]).clamp_min(0), dims - 1)  # (M,8,3)
        j = f["nearest"][(node[..., 0] * dims[1] + node[..., 1]) * dims[2] + node[..., 2]]  # (M,8)
        diff = x.reshape(-1, 1, 3) - pts[j]
        n = nrm[j]
        dn = (diff * n).sum(-1)
        dt = (diff - dn[..., None] * n).square().sum(-1).clamp_min(1e-18).sqrt()
        d = (dn.square() + (dt - self.config.plane_slack).clamp_min(0).square()).clamp_min(1e-18).sqrt()
        return d.min(-1).values.reshape(x.shape[:-1])

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
            d_acc = self.plane_distance(samples) if cfg.accuracy_plane else fields[..., 1]
            acc = robust(d_acc, cfg.huber, cfg.truncation)
            if self.target.views:
                if self._views is None:
                    self._views = ViewStack(self.target.views)
                normals = None
                if cfg.visibility_facing:
                    corner = triangles[tri]  # (b,S,3)
                    vt = torch.gather(vertices.detach(), 1, corner.reshape(b, -1, 1).expand(-1, -1, 3)).reshape(
                        b, -1, 3, 3)
                    normals = torch.linalg.cross(vt[:, :, 1] - vt[:, :, 0], vt[:, :, 2] - vt[:, :, 0])
                seen = visible_mask(self.target, samples, cfg.visibility_margin, self._views, normals).to(acc.dtype)
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
