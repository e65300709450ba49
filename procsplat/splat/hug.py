"""Background Gaussians on an object's surface follow its edits.

Training is free to model part of an object with background Gaussians (those within `RADIUS` of its
surface are counted as the object's in `scripts/bench_splat.py`): a seam, a shadowed rim, a fitted shape a
few millimetres off. When the object is edited they should go where the surface under them goes, not stay
behind as a ghost of the old shape. Before an edit (`remember`) each background Gaussian within `RADIUS` of
an object's surface (the nearest object's) is tied to the nearest point of that surface (a face and
barycentric coordinates, from dense samples); after it (`follow`) it moves by that point's displacement.
Computed from the *source* state (positions and shapes before the first edit), so undoing an edit puts
every Gaussian back exactly; the source is taken again when the background changed since (training,
densification) or an object's topology did (a discrete edit, after which its Gaussians stay where they are).
"""
from __future__ import annotations

import numpy as np
import torch

RADIUS = 0.03  # metres
SPACING = 0.005  # metres between surface samples


def _samples(v: torch.Tensor, t: torch.Tensor, seed: int = 0):
    """(points (n,3), face (n,), barycentric (n,3)): about one per SPACING^2 on every face, at least one."""
    c = v[t].numpy()
    area = 0.5 * np.linalg.norm(np.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0]), axis=1)
    count = np.maximum(np.ceil(area / SPACING ** 2).astype(np.int64), 1)
    face = np.repeat(np.arange(len(t)), count)
    r = np.random.default_rng(seed).uniform(size=(len(face), 2))
    s = np.sqrt(r[:, 0])
    bary = np.stack([1 - s, s * (1 - r[:, 1]), s * r[:, 1]], 1)
    return np.einsum("nk,nkd->nd", bary, c[face]), face, bary


def _surface(obj, face: torch.Tensor, bary: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        v, t, _ = obj.mesh()
        return torch.einsum("nk,nkd->nd", bary, v.detach()[t[face]])


def remember(model) -> None:
    """Before an edit: tie the background Gaussians near objects to their surfaces, unless the ties kept still
    describe the background (the same Gaussians where `follow` left them, the same topologies)."""
    from scipy.spatial import cKDTree

    bg = getattr(model, "background", None)
    if bg is None or not len(bg.means):
        return
    src = getattr(bg, "hug_source", None)
    if src is not None and len(src["means"]) == len(bg.means) and torch.equal(src["written"], bg.means.detach()) \
            and all(obj.fixed == fixed for obj, fixed in zip(model.objects, src["fixed"])):
        return
    means = bg.means.detach().numpy()
    best = np.full(len(means), RADIUS)
    ties = [None] * len(model.objects)
    owner = np.full(len(means), -1)
    found = []
    for k, obj in enumerate(model.objects):
        with torch.no_grad():
            v, t, _ = obj.mesh()
        pts, face, bary = _samples(v.detach(), t)
        d, j = cKDTree(pts).query(means, distance_upper_bound=RADIUS)
        closer = d < best
        best[closer], owner[closer] = d[closer], k
        found.append((face, bary, j))
    for k, (face, bary, j) in enumerate(found):
        rows = np.flatnonzero(owner == k)
        if len(rows):
            f, b = torch.from_numpy(face[j[rows]]), torch.from_numpy(bary[j[rows]])
            ties[k] = (torch.from_numpy(rows), f, b, _surface(model.objects[k], f, b))
    bg.hug_source = {"means": bg.means.detach().clone(), "written": bg.means.detach().clone(), "ties": ties,
                     "fixed": [dict(obj.fixed) for obj in model.objects]}


def follow(model) -> int:
    """After an edit: move every tied background Gaussian by the displacement of its surface point since the
    source (objects whose topology changed leave theirs where they are); returns how many moved."""
    bg = getattr(model, "background", None)
    src = getattr(bg, "hug_source", None) if bg is not None else None
    if src is None or len(src["means"]) != len(bg.means):
        return 0
    means = bg.means.detach().clone()
    moved = 0
    for obj, tie, fixed in zip(model.objects, src["ties"], src["fixed"]):
        if tie is None or obj.fixed != fixed:
            continue
        rows, face, bary, surface = tie
        shift = _surface(obj, face, bary) - surface
        means[rows] = src["means"][rows] + shift.to(means.dtype)
        moved += int((shift.abs().amax(1) > 0).sum())
    with torch.no_grad():
        bg.means.copy_(means)
    src["written"] = bg.means.detach().clone()
    return moved
