"""Background Gaussians on an object's surface become anchored ones, during training.

Training is free to model part of an object with background Gaussians (a fitted shape a few cm off at the
start, a seam): they do real work, but as free Gaussians they fit the training views' rays rather than the
surface, and do not follow an edit except through `procsplat.splat.hug`. Every `ConvertConfig.every` steps
(`procsplat.train.trainer`), each background Gaussian whose mean lies within `distance` of an object's
fitted surface, no larger than `max_extent` and flat along that surface (its covariance's extent along the
face normal at most `normal_ratio` of its smaller in-plane extent) is re-expressed as an anchored Gaussian on
the nearest triangle: barycentric coordinates of the nearest point, the signed distance along the face normal
as its offset, the in-plane axes and scales of its covariance in the face's frame, its normal scale, opacity
and colour (divided by the object's head-on shading gain, so it renders the same seen head-on). The count of
Gaussians on objects does not change (a background Gaussian that near is already the object's in
`scripts/bench_splat.py`); `prune_opacity` then removes anchored Gaussians that have faded (gsplat's
pruning criterion), which lowers it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from procsplat.splat.model import ANCHORED_FIELDS, SH_C0


@dataclass
class ConvertConfig:
    """Converting near-surface background Gaussians into anchored ones (`procsplat.splat.convert`)."""

    every: int = 24
    """Steps between conversions (0: never), rounded up to whole shape cycles."""
    start: float = 0.1
    """The first conversion at this fraction of the run or later..."""
    stop: float = 0.8
    """...and the last before this fraction."""
    distance: float = 0.02
    """A background Gaussian's mean at most this far (m) from an object's fitted surface..."""
    max_extent: float = 0.05
    """...its largest scale (m) at most this..."""
    normal_ratio: float = 1.0
    """...and its extent along the face normal at most this times its smaller in-plane extent."""
    max_normal_scale: float = 0.01
    """The converted Gaussian's scale along the normal is capped at this (m)."""
    prune_opacity: float = 0.0
    """At each conversion, anchored Gaussians below this opacity are removed (0: none)."""


def closest_on_triangles(p: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per point p (n,3) and triangle tri (n,3 corners,3): the closest point of the triangle (n,3) and its
    barycentric coordinates (n,3)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    ab, ac = b - a, c - a
    n = np.cross(ab, ac)
    nn = np.maximum((n * n).sum(1), 1e-30)
    # barycentric coordinates of the projection onto the plane
    ap = p - a
    v = (np.cross(ap, ac) * n).sum(1) / nn
    w = (np.cross(ab, ap) * n).sum(1) / nn
    bary = np.stack([1 - v - w, v, w], 1)
    inside = (bary >= 0).all(1)
    best = np.where(inside[:, None], bary, 0.0)
    best_d = np.where(inside, 0.0, np.inf)
    if not inside.all():  # the closest point of each edge; the nearest of the three
        proj = (bary[:, :, None] * tri).sum(1)
        for i, j in ((0, 1), (1, 2), (2, 0)):
            e = tri[:, j] - tri[:, i]
            s = np.clip(((p - tri[:, i]) * e).sum(1) / np.maximum((e * e).sum(1), 1e-30), 0.0, 1.0)
            q = tri[:, i] + s[:, None] * e
            d = ((q - proj) ** 2).sum(1)
            better = ~inside & (d < best_d)
            best_d = np.where(better, d, best_d)
            cand = np.zeros_like(bary)
            cand[:, i], cand[:, j] = 1 - s, s
            best = np.where(better[:, None], cand, best)
    return (best[:, :, None] * tri).sum(1), best


def _eligible(bg, cfg: ConvertConfig, objects: list) -> list:
    """Per object, (rows of background Gaussians it takes, their face, barycentric coordinates): each
    Gaussian within cfg.distance goes to the nearest object's nearest face."""
    from scipy.spatial import cKDTree

    from procsplat.splat.hug import _samples

    means = bg.means.detach().cpu().numpy()
    big = torch.exp(bg.log_scales.detach()).amax(1).cpu().numpy() > cfg.max_extent
    best = np.full(len(means), cfg.distance)
    owner = np.full(len(means), -1)
    found = []
    for k, obj in enumerate(objects):
        with torch.no_grad():
            v, t, _ = obj.mesh()
        v, t = v.detach().cpu(), t.cpu()
        pts, face, _ = _samples(v, t)
        _, j = cKDTree(pts).query(means, distance_upper_bound=cfg.distance + 0.01)
        hit = j < len(pts)
        f = np.zeros(len(means), np.int64)
        f[hit] = face[j[hit]]
        close, bary = closest_on_triangles(means, v.numpy()[t.numpy()[f]])
        d = np.where(hit, np.linalg.norm(means - close, axis=1), np.inf)
        closer = (d < best) & ~big
        best[closer], owner[closer] = d[closer], k
        found.append((f, bary))
    return [(np.flatnonzero(owner == k), f[owner == k], b[owner == k]) for k, (f, b) in enumerate(found)]


def _in_face_frame(a, face: torch.Tensor, bary: np.ndarray, bg, rows: torch.Tensor, cfg: ConvertConfig):
    """The anchored parameters (dict of ANCHORED_FIELDS, without `face`) of background Gaussians `rows` on
    `face` of anchored set `a`, and a bool mask of those flat along their face (`cfg.normal_ratio`)."""
    from procsplat.splat.densify import quat_to_rotmat

    old_face = a.face
    a.face = face
    try:
        corners, normal, qf = a.face_frames()
    finally:
        a.face = old_face
    corners, normal = corners.detach(), normal.detach()
    e1 = corners[:, 1] - corners[:, 0]
    e1 = e1 / e1.norm(dim=1, keepdim=True).clamp(min=1e-12)
    frame = torch.stack([e1, torch.linalg.cross(normal, e1), normal], dim=2)  # columns: e1, e2, normal
    means = bg.means.detach()[rows]
    b = torch.from_numpy(bary).to(means)
    surface = (b[:, :, None] * corners).sum(1)
    rot = quat_to_rotmat(bg.quats.detach()[rows])
    s2 = torch.exp(2 * bg.log_scales.detach()[rows])
    cov = rot @ torch.diag_embed(s2) @ rot.transpose(1, 2)
    local = frame.transpose(1, 2) @ cov @ frame
    lam, vec = torch.linalg.eigh(local[:, :2, :2])  # ascending
    lam = lam.clamp(min=1e-12)
    normal_var = local[:, 2, 2].clamp(min=1e-12)
    flat = normal_var.sqrt() <= cfg.normal_ratio * lam[:, 0].sqrt()
    u = vec[:, :, 0]  # the smaller in-plane axis is the Gaussian's local x (log_scales_plane's first)
    angle = torch.atan2(u[:, 1], u[:, 0])
    with torch.no_grad():
        g1 = a.gain(torch.ones(1, dtype=means.dtype)).to(means)
    rgb = SH_C0 * bg.sh0.detach()[rows] + 0.5
    params = {"bary_logits": b.clamp(min=1e-9).log(),
              "offset": ((means - surface) * normal).sum(1),
              "angle": angle,
              "log_scales_plane": 0.5 * torch.log(lam),
              "log_scale_normal": 0.5 * torch.log(normal_var).clamp(max=math.log(cfg.max_normal_scale)),
              "opacity_logits": bg.opacity_logits.detach()[rows],
              "sh0": (rgb / g1 - 0.5) / SH_C0,
              "shN": bg.shN.detach()[rows] / g1}
    return params, flat


@torch.no_grad()
def convert_background(model, optimizer, cfg: ConvertConfig, densify_state: dict | None = None) -> list[int]:
    """Re-express the background Gaussians on objects' surfaces (see the module doc) as anchored Gaussians of
    those objects (appended, with zero Adam moments, as gsplat's new Gaussians); then prune faded anchored
    ones (`cfg.prune_opacity`). Returns how many were converted per object."""
    from procsplat.splat.densify import DensifyStrategy, _update

    bg = model.background
    if bg is None or not len(bg.means) or not len(model.objects):
        return [0] * len(model.objects)
    taken = torch.zeros(len(bg.means), dtype=torch.bool, device=bg.means.device)
    converted = []
    for a, (rows, face, bary) in zip(model.anchored, _eligible(bg, cfg, list(model.objects))):
        if not len(rows):
            converted.append(0)
            continue
        dev = a.face.device
        rows_t, face_t = torch.from_numpy(rows).to(dev), torch.from_numpy(face).to(dev)
        params, flat = _in_face_frame(a, face_t, bary, bg, rows_t, cfg)
        keep = flat.nonzero()[:, 0]
        n = int(len(keep))
        converted.append(n)
        if not n:
            continue
        taken[rows_t[keep]] = True
        a.face = torch.cat([a.face, face_t[keep]])
        _update(a, optimizer, lambda name, p: torch.cat([p, params[name][keep].to(p)]),
                lambda v: torch.cat([v, v.new_zeros((n, *v.shape[1:]))]), names=ANCHORED_FIELDS)
    if bool(taken.any()):
        DensifyStrategy.remove(bg, optimizer, densify_state if densify_state is not None else {}, taken)
    if cfg.prune_opacity > 0:
        for a in model.anchored:
            fade = torch.sigmoid(a.opacity_logits.detach()) < cfg.prune_opacity
            if bool(fade.any()) and not bool(fade.all()):
                keep = (~fade).nonzero()[:, 0]
                a.face = a.face[keep].clone()
                _update(a, optimizer, lambda name, p: p[keep], lambda v: v[keep], names=ANCHORED_FIELDS)
    return converted
