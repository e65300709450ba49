"""Batched fitting losses of candidate meshes against an ObjectTarget (lower is better).

All terms are (B,) tensors over the candidates, differentiable w.r.t. the candidates' world
vertices (hence float parameters and pose). Distances are in metres.

coverage    mean over observed points of rho(distance to the candidate surface). rho is Huber
            (quadratic below `huber`) truncated at `truncation`, so outliers (mask bleeding,
            neighbours) cost a constant. With a known floor, the floor explains a point as well
            as the candidate does (`floor_explains`). Nearest surface: the triangles with the smallest
            lower bounds of their distance propose (box and plane bounds, not differentiated);
            the exact point-to-triangle distance to the nearest of those is differentiated.
            Observed points are the target's side points (`observe.side_voxels`) where it has
            them: each matches only triangles facing the rays that saw it (`coverage_facing`), and
            they are drawn by their weight (a noise slab counts like a surface).
free_space  mean over candidate surface samples of max(0, depth inside observed-empty space -
            free_margin): surface where the cameras saw through. Unobserved (occluded) space
            costs nothing.
support     |lowest candidate point - floor|. Zero by construction when the pose lifts shapes
            onto the floor (`pose.place_on_floor`, what the search does); kept for poses with
            a free height.
accuracy    mean over candidate surface samples that some kept depth view has evidence on (facing
            it, by the outward normal of their triangle, and either at the observed depth within
            `visibility_margin` inside the object's mask or seen through away from any
            silhouette: `accuracy_evidence`) of rho(distance to the observed surface, less half a
            voxel: `accuracy_deadband`): to the tangent
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

import numpy as np
import torch
import torch.nn.functional as F
from scipy.spatial import cKDTree

from procsplat.fit.loss_config import LossConfig
from procsplat.geometry import yaw_matrix
from .surface import (PartSampler, SurfaceSampler, _chunks, _mean, _plane_and_outside, _triangle_planes,
                      closest_point_on_triangle, covered_triangles, triangle_corners, triangle_distance_values,
                      triangle_points, triangle_vertex_ids, unit_normals)
from .target import ObjectTarget


_CUBE_CORNERS = torch.tensor([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)])


def robust(d: torch.Tensor, huber: float, truncation: float) -> torch.Tensor:
    """Huber (quadratic below `huber`) truncated at `truncation` (constant beyond)."""
    h = torch.where(d < huber, d * d / (2 * huber), d - huber / 2)
    return h.clamp(max=truncation - huber / 2)


def point_to_mesh_distance(points: torch.Tensor, vertices: torch.Tensor, triangles: torch.Tensor,
                           yaw: torch.Tensor | None = None, k: int = 4, max_elements: int = 65_536,
                           proposals: torch.Tensor | None = None, propose: int = 0,
                           directions: torch.Tensor | None = None, facing_slack: float = 0.1, far: float = 1.0):
    """Exact distances (b,N) from fixed points (N,3) to each candidate's surface (b,V,3)/(T,3)
    (or (b,T,3): each candidate's own triangles, `candidates.pad_meshes`).

    Proposals: the k triangles with the smallest lower bound of their distance, the larger of
    two: the distance to the triangle's bounding box in the candidate's own frame (`yaw` (b,),
    its rotation about +Z; furniture boards are axis-aligned there, so a box is as tight as its
    rectangle), and sqrt(plane distance^2 + (largest distance outside an edge line)^2), exact
    wherever the point projects into the triangle (the slivers of a round top's fan share their
    boxes; far from a vertex the plane bound is weak). Exact point-to-triangle distance to those
    k (no autograd), then the nearest one differentiated. Measured against all triangles on
    49 candidates of 4 objects: coverage within 0.7 %. Bounds are taken in chunks of about
    `max_elements` point-triangle pairs (whole candidates, or one candidate's points in slices:
    `_chunks`): small enough to stay in cache (a 404-triangle table: 0.136 s per 16 candidates
    with 4M-pair chunks, 0.070 s with 400k; the demo chair's bounds at one candidate x 1000
    points x 500-950 triangles: 0.77x with 64k-pair slices of points than whole candidates). Why not nearest surface
    samples: a point on a large face next to a small part (a drawer front beside its handle, a
    mattress beside a pillow) finds only the small part's samples: with 800 samples and 12
    neighbours the true cabinet's coverage came out 17x and the true bed's 40x its exact value,
    and both lost to wrong shapes.

    Reuse (refinement, `refine.py`): `propose` > k also returns the best `propose` proposals
    (b,N,propose) per point, as (distances, proposals); a later call given them as `proposals`
    skips the bounds and takes the nearest of those triangles (the k of this call are their
    first k). Exact while the shapes have not moved far enough for another triangle to become
    nearest: an upper bound of the distance otherwise.

    Facing (`directions` (N,3), the unit ray direction from camera to each point): only
    triangles whose unit normal n has n . direction < `facing_slack` count (a depth pixel lies
    on surface facing its camera); a point with no facing triangle among its proposals gets
    distance `far` (no gradient).
    """
    b, N = vertices.shape[0], points.shape[0]
    T = triangles.shape[-2]
    k = min(k, T)
    pts = points.to(vertices.dtype)
    dirs = None if directions is None else directions.to(vertices.dtype)
    if proposals is not None:
        normals = None if dirs is None else unit_normals(vertices.detach(), triangles)
        return _nearest_among(pts, vertices, triangles, proposals, dirs, normals, facing_slack, far)
    kk = min(max(k, propose), T)
    with torch.no_grad():
        v = vertices.detach()
        R = yaw_matrix(yaw.detach().to(v.dtype)) if yaw is not None else torch.eye(3, dtype=v.dtype).expand(b, 3, 3)
        # per axis, contiguous: (3,b,N) points and (3,b,T) box centres and half sizes (a strided
        # operand made each broadcast pass of the chunks below 2-6x slower: 0.50 -> 0.41 s for a
        # chair population's bounds, the same floats)
        local_pts = (pts.unsqueeze(0) @ R).permute(2, 0, 1).contiguous()  # row vectors: local = world @ R(yaw)
        corners = triangle_corners(v @ R, triangles)  # (b,T,3,3)
        lo, hi = corners.amin(2), corners.amax(2)
        centre, half = ((lo + hi) / 2).permute(2, 0, 1).contiguous(), ((hi - lo) / 2).permute(2, 0, 1).contiguous()
        planes = _triangle_planes(v, triangles)  # (b,4,4T)
        hom = torch.cat([pts, pts.new_ones(N, 1)], 1)
        normals = planes[:, :3, :T].transpose(1, 2) if dirs is not None else None  # (b,T,3) unit normals
        kept = torch.empty(b, N, kk, dtype=torch.int64)  # (b,N,kk), nearest bound first
        step, span = _chunks(b, N, T, max_elements)
        # one set of buffers for every chunk (`out=`): the same ops and floats, no allocation per pass
        size = min(step, b) * min(span, N) * T
        g, box, plane2, outside = (v.new_empty(size) for _ in range(4))
        both = v.new_empty(4 * size)
        vals, idx = v.new_empty(min(step, b) * min(span, N) * kk), kept.new_empty(min(step, b) * min(span, N) * kk)
        for i in range(0, b, step):
            j = slice(i, i + step)
            bj = min(b, i + step) - i
            if dirs is not None:  # triangles facing away from each point's cameras: 1 (never proposed first)
                away = torch.ge(dirs @ normals[j].transpose(1, 2), facing_slack, out=normals.new_empty(0))
            for s in range(0, N, span):
                q = slice(s, s + span)
                n = min(N, s + span) - s
                shape = (bj, n, T)
                m = bj * n * T
                gv, bound, pv, ov = (x[:m].view(shape) for x in (g, box, plane2, outside))
                for a in range(3):  # squared distance to each triangle's box (b',n,T)
                    torch.sub(local_pts[a, j, q, None], centre[a, j, None], out=gv).abs_().sub_(
                        half[a, j, None]).clamp_min_(0)
                    torch.mul(gv, gv, out=bound) if a == 0 else bound.addcmul_(gv, gv)
                sv = torch.matmul(hom[q], planes[j], out=both[:4 * m].view(bj, n, 4 * T))
                plane, _ = _plane_and_outside(sv, T, out=ov)
                ov.clamp_min_(0)
                torch.square(plane, out=pv).addcmul_(ov, ov)
                torch.maximum(bound, pv, out=bound)
                if dirs is not None:
                    bound.add_(away[:, q], alpha=1e6)
                kept[j, q] = torch.topk(bound, kk, dim=-1, largest=False, out=(
                    vals[:bj * n * kk].view(bj, n, kk), idx[:bj * n * kk].view(bj, n, kk)))[1]
    # the exact distance to each point's k best proposals, all rows at once
    d = _nearest_among(pts, vertices, triangles, kept[..., :k], dirs, normals, facing_slack, far)
    return (d, kept) if propose else d


def _nearest_among(pts, vertices, triangles, cand, dirs, normals, facing_slack: float, far: float) -> torch.Tensor:
    """(b,N): each point's distance to the nearest of its candidate triangles `cand` (b,N,k), exact
    over all k without autograd, then that one differentiated where `vertices` track gradients
    (without gradients, the distance just computed: the same ops per element). With `dirs`, only
    triangles facing each point's camera (`normals` (b,T,3)) count; none: `far`."""
    b, N, k = cand.shape
    with torch.no_grad():
        d = _triangle_distance(pts.unsqueeze(1).expand(N, k, 3).reshape(N * k, 3), vertices.detach(), triangles,
                               cand.reshape(b, N * k)).reshape(b, N, k)
        if dirs is not None:
            facing = _facing(normals, cand, dirs, facing_slack)
            d = d.masked_fill(~facing, float("inf"))
            ok = facing.any(-1)
        nearest = d.argmin(-1, keepdim=True)
        best = torch.gather(cand, 2, nearest).squeeze(-1)
    out = _triangle_distance(pts, vertices, triangles, best) if _tracks_grad(vertices) else \
        torch.gather(d, 2, nearest).squeeze(-1)
    return out if dirs is None else torch.where(ok, out, out.new_full((), far))


def _tracks_grad(x: torch.Tensor) -> bool:
    return x.requires_grad and torch.is_grad_enabled()


def _facing(normals: torch.Tensor, tri: torch.Tensor, dirs: torch.Tensor, slack: float) -> torch.Tensor:
    """(b,N,k) bool: triangles tri (b,N,k) with unit normals (b,T,3) face rays dirs (N,3)."""
    b, N, k = tri.shape
    n = triangle_points(normals, tri.reshape(b, N * k)).reshape(b, N, k, 3)
    return (n * dirs[None, :, None]).sum(-1) < slack


def _triangle_distance(points: torch.Tensor, vertices: torch.Tensor, triangles: torch.Tensor,
                       tri: torch.Tensor) -> torch.Tensor:
    """(b,M) exact distances from points (M,3) to triangle tri[:, i] of each candidate."""
    b, M = tri.shape
    corner = triangle_vertex_ids(triangles, tri)  # (b,M,3)
    if not (_tracks_grad(vertices) or _tracks_grad(points)):
        return triangle_distance_values(points.unsqueeze(0), vertices, corner)  # the same floats, cheaper
    verts = triangle_points(vertices, corner.reshape(b, -1)).reshape(b, M, 3, 3)
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
        for i, v in enumerate(views):  # torch.tensor copies: a scene's frames are read-only arrays
            depth[i, :v.depth.shape[0], :v.depth.shape[1]] = torch.tensor(v.depth, dtype=dtype)
        self.depth = depth.reshape(len(views), -1)
        # the nearest valid depth around each pixel (3x3; inf where none): a sample in front of all of it
        # is seen through, not beside a silhouette (`visible_mask`'s evidence test)
        far = torch.where(depth > 0, depth, torch.full_like(depth, float("inf")))
        self.near = (-F.max_pool2d(-far.unsqueeze(1), 3, stride=1, padding=1)).reshape(len(views), -1)
        self.mask = None  # (V,H*W) bool object mask, where every view has one
        if all(getattr(v, "mask", None) is not None for v in views):
            mask = torch.zeros(len(views), H, W, dtype=torch.bool)
            for i, v in enumerate(views):
                mask[i, :v.mask.shape[0], :v.mask.shape[1]] = torch.from_numpy(np.asarray(v.mask, dtype=bool))
            self.mask = mask.reshape(len(views), -1)
        self.size = torch.tensor([[v.depth.shape[1], v.depth.shape[0]] for v in views])  # (V,2) W,H
        self.W = W
        self.R = torch.tensor(np.stack([v.cam_to_world[:3, :3] for v in views]), dtype=dtype)  # (V,3,3)
        self.o = torch.tensor(np.stack([v.cam_to_world[:3, 3] for v in views]), dtype=dtype)  # (V,3)
        self.K = torch.tensor(np.stack([v.K for v in views]), dtype=dtype)  # (V,3,3)


def visible_mask(target: ObjectTarget, x: torch.Tensor, margin: float, stack: ViewStack | None = None,
                 normals: torch.Tensor | None = None, evidence: bool = False) -> torch.Tensor:
    """(b,S) bool: the sample is seen by some kept view (not occluded by the observed depth;
    given outward `normals` (b,S,3), also facing that view).

    `evidence`: only where that view says something about the object there: the observed depth
    agrees with the sample (within `margin`) at a pixel of the object's mask (views with masks), or
    the view saw through the sample (every valid depth in the 3x3 pixels around it more than
    `margin` behind it). Not: a sample whose pixel shows another surface at its depth outside the
    mask (a mask misaligned or eroded by a few pixels drops the object's own border; those pixels
    have no observed point near them), or one beside a silhouette whose own pixel shows the
    background (pixel quantisation: the ray passed the object's edge by less than a pixel)."""
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
        if evidence:
            agree = (z - d).abs() <= margin
            if stack.mask is not None:
                agree &= torch.gather(stack.mask, 1, flat)
            ok = inside & (d > 0) & (agree | (z + margin < torch.gather(stack.near, 1, flat)))
        else:
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
        w, d, h = np.maximum(target.footprint_box()[2], 0.05) if config.part_samples else (1, 1, 1)
        self.part_sampler = PartSampler(config.num_samples / (2 * (w * d + w * h + d * h)), config.seed) \
            if config.part_samples else None
        pts, dirs, weights = target.points, None, None
        sigma = getattr(target, "point_sigma", None)
        if getattr(target, "ray_points", None) is not None and len(target.ray_points):
            pts, sigma = target.ray_points, target.ray_sigma
        if config.coverage_facing and target.side_points is not None and len(target.side_points):
            pts, dirs, weights = target.side_points, target.side_dirs, target.side_weights
            sigma = getattr(target, "side_sigma", None)
        if len(pts) > config.max_points:  # side points by weight (then equal: each stands for its share)
            rng = np.random.default_rng(config.seed)
            pick = np.sort(rng.choice(len(pts), config.max_points, replace=False,
                                      p=None if weights is None else weights / weights.sum()))
            pts = pts[pick]
            dirs, weights = (None, None) if dirs is None else (dirs[pick], None)
            sigma = None if sigma is None else sigma[pick]
        self.band = None  # (N,) coverage's uncharged distance per observed point (`coverage_noise`)
        if config.coverage_noise > 0 and sigma is not None and np.any(sigma > 0):
            self.band = torch.from_numpy(config.coverage_noise * np.asarray(sigma, dtype=np.float64))
        self.points = torch.from_numpy(np.asarray(pts, dtype=np.float64))
        self.directions = None if dirs is None else torch.from_numpy(np.asarray(dirs, dtype=np.float64))
        self.weights = None if weights is None else torch.from_numpy(np.asarray(weights, dtype=np.float64))
        self.floor_distance = (self.points[:, 2] - target.floor_height).clamp_min(0.0) \
            if config.floor_explains and target.floor_band > 0 else None
        self._views = None  # ViewStack, built on first use
        self._planes = {}  # {dtype: (points, normals)} of the observed points, built on first use

    def planes(self, dtype=torch.float64):
        """(observed points (N,3), unit normals (N,3) from their 10 nearest neighbours), cached
        per dtype (the lookup runs on every scoring call)."""
        if torch.float64 not in self._planes:
            pts = np.asarray(self.target.points, dtype=np.float64)
            _, nb = cKDTree(pts).query(pts, k=min(10, len(pts)))
            nb = nb.reshape(len(pts), -1)
            q = pts[nb] - pts[nb].mean(1, keepdims=True)
            _, vecs = np.linalg.eigh(np.einsum("nki,nkj->nij", q, q))
            self._planes[torch.float64] = (torch.from_numpy(pts), torch.from_numpy(vecs[:, :, 0].copy()))
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

    def terms(self, vertices: torch.Tensor, triangles: torch.Tensor, yaw: torch.Tensor | None = None,
              proposals: torch.Tensor | None = None, propose: int = 0, parts: torch.Tensor | None = None) -> dict:
        """One topology: world vertices (b,V,3), triangles (T,3) (or several topologies padded to
        one size, (b,T,3): `candidates.pad_meshes`) and optionally the yaw (b,) of each
        candidate's pose (coverage's triangle boxes are tight in its own frame) -> dict of (b,)
        terms + total. `proposals`/`propose`: coverage's nearest-triangle proposals reused /
        returned (`point_to_mesh_distance`); with `propose` the dict has them as "proposals".
        `parts`: (T,) or (b,T) part keys (`surface.part_keys`) for `LossConfig.part_samples`."""
        cfg = self.config
        b = vertices.shape[0]
        live = None  # (b,S) real samples (PartSampler pads rows to one count)
        if self.part_sampler is not None and parts is not None:
            samples, tri, valid, live = self.part_sampler.sample(vertices, triangles, parts)
        else:
            samples, tri, valid = self.sampler.sample(vertices, triangles)
        if triangles.shape[-2] == 0:
            big = vertices.new_full((b,), cfg.truncation)
            zero = vertices.new_zeros(b)
            out = {"coverage": big, "free_space": zero, "accuracy": zero, "support": zero}
        else:
            d = point_to_mesh_distance(self.points, vertices, triangles, yaw, cfg.proposals,
                                       proposals=proposals, propose=propose, directions=self.directions,
                                       facing_slack=cfg.facing_slack, far=cfg.truncation)
            if propose and proposals is None:
                d, out_proposals = d
            if self.floor_distance is not None:
                d = torch.minimum(d, self.floor_distance.to(d.dtype))
            if self.band is not None:
                d = (d - self.band.to(d.dtype)).clamp_min(0)
            rho = robust(d, cfg.huber, cfg.truncation)
            if self.weights is None:
                coverage = rho.mean(1)
            else:
                w = self.weights.to(rho.dtype)
                coverage = (rho * w).sum(1) / w.sum()
            fields = sample_fields(self.target, samples)
            free_space = _mean((fields[..., 0] - cfg.free_margin).clamp_min(0), live)
            d_acc = self.plane_distance(samples) if cfg.accuracy_plane else fields[..., 1]
            if cfg.accuracy_deadband > 0:
                d_acc = (d_acc - cfg.accuracy_deadband * self.target.voxel).clamp_min(0)
            acc = robust(d_acc, cfg.huber, cfg.truncation)
            if self.target.views:
                if self._views is None:
                    self._views = ViewStack(self.target.views)
                normals = None
                if cfg.visibility_facing:
                    corner = triangle_vertex_ids(triangles, tri)  # (b,S,3)
                    vt = triangle_points(vertices.detach(), corner.reshape(b, -1)).reshape(b, -1, 3, 3)
                    normals = torch.linalg.cross(vt[:, :, 1] - vt[:, :, 0], vt[:, :, 2] - vt[:, :, 0])
                seen = visible_mask(self.target, samples, cfg.visibility_margin, self._views, normals,
                                    evidence=cfg.accuracy_evidence)
                if live is not None:
                    seen &= live
                if cfg.skip_covered_faces:  # (tested only on triangles with a seen sample)
                    shown = torch.zeros(b, triangles.shape[-2], dtype=torch.bool)  # per row
                    shown[torch.nonzero(seen)[:, 0], tri[seen]] = True
                    covered = covered_triangles(vertices.detach(), triangles, shown, gap=cfg.covered_gap)
                    seen &= ~torch.gather(covered, 1, tri)
                seen = seen.to(acc.dtype)
                accuracy = (acc * seen).sum(1) / seen.sum(1).clamp_min(1.0)
            else:
                accuracy = _mean(acc, live)
            out = {"coverage": coverage, "free_space": free_space, "accuracy": accuracy,
                   "support": support_loss(vertices, self.target.floor_height)}
            # A mesh with no area cannot explain anything.
            out["coverage"] = torch.where(valid, out["coverage"], vertices.new_full((b,), cfg.truncation))
            if propose and proposals is None:
                out["proposals"] = out_proposals
        w = cfg.weights
        out["total"] = (w.coverage * out["coverage"] + w.free_space * out["free_space"]
                        + w.accuracy * out["accuracy"] + w.support * out["support"])
        return out
