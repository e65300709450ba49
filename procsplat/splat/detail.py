"""Edge-aware anchored Gaussians: the same anchored budget put where the texture is sharp.

Two levers, each behind a config field:

* `AnchoredDetail` (`TrainConfig.detail`): gsplat's DefaultStrategy criterion on anchored Gaussians,
  count held. After every backward pass the norm of each visible anchored Gaussian's 2D mean gradient
  is accumulated (gsplat's units: pixels x width/2, height/2). Every `every` steps (at the start of a
  shape cycle, so no cycle's accumulated shape gradient is lost) the `fraction` of each object's
  Gaussians with the highest mean gradient split into two children on the same triangle: each child's
  centre drawn from its parent's in-plane Gaussian and expressed in the triangle's barycentric
  coordinates (clamped to the triangle), in-plane scales / `shrink`, the rest (offset, angle, normal
  scale, opacity, colour) the parent's, zero Adam moments. As many Gaussians as were added are then
  removed from the set: first those no training step has seen since the start, then the most
  transparent. Children live in their triangle's frame like every anchored Gaussian, so they follow a
  shape edit. A set whose rows something else changed (`procsplat.splat.convert`) starts gathering again.
* `texture_face_weights` (`InitConfig.texture_weight`): the initial anchored draw over the faces the
  training views see, weighted by area x (1 - w + w x the face's image-gradient density / its mean),
  instead of by area alone; the count is kept (`procsplat.splat.init`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from procsplat.errors import ProcsplatError


@dataclass
class AnchoredDetail:
    """Edge-aware densification of anchored Gaussians, count held (see the module doc)."""

    fraction: float = 0.0
    """Share of each object's anchored Gaussians split per refinement (as many removed); 0: off."""
    every: int = 20
    """Steps between refinements (each at the first shape-cycle start from then on)."""
    start: int = 20
    """First refinement step."""
    stop: float = 0.75
    """No refinement from this fraction of the run on."""
    shrink: float = 1.6
    """Children's in-plane scales are their parent's / this (gsplat's split)."""

    def __post_init__(self):
        if not 0.0 <= self.fraction < 0.5:
            raise ProcsplatError(f"--detail.fraction must be in [0, 0.5), got {self.fraction!r}")
        if self.every < 1 or self.shrink <= 0:
            raise ProcsplatError(f"--detail.every must be >= 1 and --detail.shrink > 0 (got {self.every}, {self.shrink})")


class DetailState:
    """Per anchored set: summed 2D-gradient norm and visible count since the last refinement, and
    visible count since the start (`AnchoredDetail`)."""

    def __init__(self, model, cfg: AnchoredDetail, steps: int):
        self.cfg, self.steps = cfg, int(steps)
        self.next = int(cfg.start)
        self.grad, self.count, self.seen = [], [], []
        self.reset(model, all_=True)

    def reset(self, model, all_: bool = False) -> None:
        z = [torch.zeros(int(a.face.shape[0]), dtype=torch.float64, device=a.face.device) for a in model.anchored]
        self.grad, self.count = z, [x.clone() for x in z]
        if all_:
            self.seen = [x.clone() for x in z]

    def sync(self, model) -> list[bool]:
        """A set whose size something else changed since (`procsplat.splat.convert` adds and removes rows)
        starts its accumulators again; returns which did."""
        fresh = []
        for k, a in enumerate(model.anchored):
            n = int(a.face.shape[0])
            if k < len(self.grad) and len(self.grad[k]) == n:
                fresh.append(False)
                continue
            z = torch.zeros(n, dtype=torch.float64, device=a.face.device)
            for acc in (self.grad, self.count, self.seen):
                if k < len(acc):
                    acc[k] = z.clone()
                else:
                    acc.append(z.clone())
            fresh.append(True)
        return fresh

    def due(self, step: int, cycle_start: bool) -> bool:
        return (self.cfg.fraction > 0 and cycle_start and step >= self.next
                and step < self.cfg.stop * self.steps)

    @torch.no_grad()
    def accumulate(self, model, info: dict, step: int) -> None:
        """Add step `step`'s 2D mean gradients (rows of the render: each object's anchored block in order;
        nothing once no refinement is left)."""
        m2d = info.get("means2d") if info is not None else None
        if m2d is None or m2d.grad is None or step >= self.cfg.stop * self.steps:
            return
        self.sync(model)
        start = 0
        for k, a in enumerate(model.anchored):
            n = int(a.face.shape[0])
            g = m2d.grad[:, start:start + n].double().clone()
            g[..., 0] *= info["width"] / 2.0 * info["n_cameras"]
            g[..., 1] *= info["height"] / 2.0 * info["n_cameras"]
            radii = info["radii"][:, start:start + n]
            vis = (radii > 0).all(-1) if radii.dim() == 3 else radii > 0
            norm = torch.where(vis, g.norm(dim=-1), torch.zeros_like(g[..., 0])).sum(0).to(self.grad[k].device)
            v = vis.sum(0).to(self.count[k].device, torch.float64)
            self.grad[k] += norm
            self.count[k] += v
            self.seen[k] += v
            start += n

    def refine(self, model, optimizer, step: int, gen: torch.Generator | None = None) -> list[int]:
        """Split and prune every anchored set (count held); returns how many were split per set."""
        done = []
        fresh = self.sync(model)
        for k, a in enumerate(model.anchored):
            if fresh[k] or not bool(self.count[k].any()):  # no gradient gathered on its present rows yet
                done.append(0)
                continue
            mean = self.grad[k] / self.count[k].clamp(min=1)
            split, self.seen[k] = split_anchored(a, optimizer, mean, self.seen[k], self.cfg.fraction,
                                                 self.cfg.shrink, gen)
            done.append(split)
        self.reset(model)
        self.next = step + self.cfg.every
        return done


def _bary(p: torch.Tensor, corners: torch.Tensor) -> torch.Tensor:
    """(n,3) barycentric coordinates of points p (n,3) in the planes of triangles corners (n,3,3),
    clamped into the triangle (each >= 1e-3, summing to 1)."""
    a, b, c = corners.unbind(1)
    v0, v1, v2 = b - a, c - a, p - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = (d00 * d11 - d01 * d01).clamp(min=1e-30)
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    bary = torch.stack([1 - v - w, v, w], 1).clamp(min=1e-3)
    return bary / bary.sum(1, keepdim=True)


@torch.no_grad()
def split_anchored(a, optimizer, score: torch.Tensor, seen: torch.Tensor, fraction: float, shrink: float = 1.6,
                   gen: torch.Generator | None = None) -> tuple[int, torch.Tensor]:
    """Split the `fraction` of `a`'s Gaussians with the highest `score` into two children each on the same
    triangle, then remove as many others (unseen first, `seen` == 0, then the most transparent), so the count
    holds. Parents' rows go, kept rows keep their order and Adam moments, children come last with zero
    moments. Returns (how many split, `seen` for the new rows)."""
    from procsplat.splat.densify import _update
    from procsplat.splat.model import ANCHORED_FIELDS

    n = int(a.face.shape[0])
    m = int(fraction * n)
    if m == 0 or n < 3 * m:
        return 0, seen
    parents = torch.argsort(score, descending=True)[:m]
    is_parent = torch.zeros(n, dtype=torch.bool, device=score.device)
    is_parent[parents] = True
    # removal order among the rest: never seen first, then by opacity (lowest first)
    opa = torch.sigmoid(a.opacity_logits.detach()).to(score.device)
    key = opa + (seen > 0).to(opa.dtype) * 2.0
    key[is_parent] = float("inf")
    drop = torch.argsort(key)[:m]
    gone = is_parent.clone()
    gone[drop] = True
    keep = torch.where(~gone)[0]
    dev = a.face.device
    keep_d, parents_d = keep.to(dev), parents.to(dev)
    # children: centres drawn from the parent's in-plane Gaussian, in its triangle's barycentric coordinates
    corners, normal, _ = a.face_frames()
    corners, normal = corners.detach()[parents_d], normal.detach()[parents_d]
    centre = (torch.softmax(a.bary_logits.detach()[parents_d], 1)[:, :, None] * corners).sum(1)
    e1 = corners[:, 1] - corners[:, 0]
    e1 = e1 / e1.norm(dim=1, keepdim=True).clamp(min=1e-12)
    e2 = torch.linalg.cross(normal, e1)
    ang = a.angle.detach()[parents_d]
    u = torch.cos(ang)[:, None] * e1 + torch.sin(ang)[:, None] * e2  # the Gaussian's in-plane axes
    v = -torch.sin(ang)[:, None] * e1 + torch.cos(ang)[:, None] * e2
    s = torch.exp(a.log_scales_plane.detach()[parents_d])
    z = torch.randn(2, m, 2, generator=gen, dtype=s.dtype).to(dev)
    pts = centre[None] + (z[..., :1] * s[None, :, :1]) * u[None] + (z[..., 1:] * s[None, :, 1:]) * v[None]
    bary = _bary(pts.reshape(-1, 3), corners.repeat(2, 1, 1))
    twice = parents_d.repeat(2)

    def param_fn(name, p):
        if name == "bary_logits":
            new = bary.log().to(p.dtype)
        elif name == "log_scales_plane":
            new = p[twice] - float(np.log(shrink))
        else:
            new = p[twice]
        return torch.cat([p[keep_d], new])

    _update(a, optimizer, param_fn, lambda t: torch.cat([t[keep_d], torch.zeros_like(t[twice])]),
            names=ANCHORED_FIELDS)
    a.face = torch.cat([a.face[keep_d], a.face[twice]]).clone()
    return m, torch.cat([seen[keep], seen[parents].repeat(2)])


def gradient_image(rgb: np.ndarray) -> np.ndarray:
    """(H,W) image-gradient magnitude of an RGB image (float in [0, 1] or uint8), forward differences of
    the grey level (central ones miss a one-pixel pattern), 3x3 box-averaged (a texture-density map)."""
    grey = np.asarray(rgb, np.float64).mean(-1)
    if np.asarray(rgb).dtype == np.uint8:
        grey = grey / 255.0
    gx = np.diff(grey, axis=1, append=grey[:, -1:])
    gy = np.diff(grey, axis=0, append=grey[-1:])
    mag = np.sqrt(gx * gx + gy * gy)
    pad = np.pad(mag, 1, mode="edge")
    h, w = mag.shape
    return sum(pad[i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9.0


def texture_face_weights(vertices: torch.Tensor, triangles: torch.Tensor, frames: list, weight: float,
                         samples: int = 20000, seed: int = 0, tolerance: float = 0.05) -> tuple[torch.Tensor, float]:
    """Per face of a mesh, the weight of the anchored draw: area x seen share x (1 - weight + weight x the
    face's image-gradient density / the seen surface's mean), from `samples` area-uniform points projected
    into the frames [(rgb, depth, K, cam_to_world)] (visible: in front of the observed depth + tolerance).
    Returns (weights (T,), the share of a draw by these weights expected to be seen)."""
    from procsplat.geometry import visible_in_frame
    from procsplat.splat.model import triangle_areas, uniform_bary_logits

    v = vertices.detach().double().cpu()
    t = triangles.detach().cpu()
    area = triangle_areas(v, t)
    if not 0.0 <= weight <= 1.0:
        raise ProcsplatError(f"--init.texture-weight must be in [0, 1], got {weight!r}")
    if not len(t) or float(area.sum()) <= 0:
        return area, 0.0
    gen = torch.Generator().manual_seed(seed)
    face = torch.multinomial(area / area.sum(), samples, replacement=True, generator=gen)
    w = torch.softmax(uniform_bary_logits(samples, gen), 1)
    pts = (w[:, :, None] * v[t[face]]).sum(1).numpy()
    grad_sum = np.zeros(samples)
    views = np.zeros(samples)
    for rgb, depth, K, c2w in frames:
        vis, u, vv = visible_in_frame(pts, depth, K, c2w, tolerance)
        if vis.any():
            grad_sum[vis] += gradient_image(rgb)[vv[vis], u[vis]]
            views[vis] += 1
    f = face.numpy()
    nf = np.bincount(f, minlength=len(t)).astype(np.float64)
    seen = np.bincount(f, weights=(views > 0).astype(np.float64), minlength=len(t))
    dens = np.bincount(f, weights=np.where(views > 0, grad_sum / np.maximum(views, 1), 0.0), minlength=len(t))
    share = np.where(nf > 0, seen / np.maximum(nf, 1), 0.0)
    detail = np.where(seen > 0, dens / np.maximum(seen, 1), 0.0)
    a = area.numpy()
    mean = float((a * share * detail).sum() / max((a * share).sum(), 1e-30))
    rel = detail / mean if mean > 0 else np.ones_like(detail)
    wts = a * share * (1.0 - weight + weight * rel)
    total = wts.sum()
    if total <= 0:
        return area, 0.0
    return torch.from_numpy(wts), float((wts * share).sum() / total)
