"""Float edits with appearance in each part's own frame: a part that grows shows more of its material.

An anchored Gaussian sits at barycentric coordinates of one triangle, so when a float parameter moves a
part, the part's Gaussians go with it (right: a moved part carries its look), and when it stretches a
part, they stretch with it: the part's pattern is stretched too. Real parts are made of a material of a
fixed scale (a longer board shows more grain, not longer grain), and so are the synthetic scenes'
(`procsplat.data.placed.part_texture_coords`). After a float edit, `retexture` gives every anchored
Gaussian the appearance (colour, all SH bands) found at its place in its part's own frame on the object
as trained:

- a part's frame: its points in the object's frame relative to the part's centre (mean of its vertices),
  with the part's best rotation between the two shapes undone (`procsplat.geometry.best_rotation`), so
  a part that only moves or turns keeps exactly the appearance it had;
- the trained Gaussians looked up are those of the same part on a face of the same orientation in that
  frame (the side of a board takes the side's colour, not the top's), inverse-distance weighted over the
  `k` nearest; where the part grew, the nearest ones are at its old edge.

Always computed from the object's *source* state (its float values, Gaussians and colours before the
first edit), so going back to the source values restores the colours exactly and an edit's result does not
depend on the path to it. The source is taken again when the Gaussians changed since (training went on,
a discrete edit re-anchored them).
"""
from __future__ import annotations

import numpy as np
import torch

from procsplat.geometry import best_rotation
from procsplat.splat.reanchor import surface_means

LOOK = ("sh0", "shN")


def _canonical(obj, floats: torch.Tensor):
    """(vertices (V,3) float64, triangles (T,3), part id (T,)) in the object's own frame at `floats`."""
    values = dict(obj.fixed)
    values.update(zip(obj.float_names, floats.tolist()))
    with torch.no_grad():
        m = obj.program.evaluate_one(values, dtype=torch.float64)
    return m.vertices, m.triangles, m.part_id


def _floats(obj) -> torch.Tensor:
    with torch.no_grad():
        return obj.clamped_floats().detach().double().clone()


def _current(anchored) -> dict:
    return {"face": anchored.face.detach().clone(), "bary_logits": anchored.bary_logits.detach().clone(),
            **{f: getattr(anchored, f).detach().clone() for f in LOOK}}


def _same(state: dict, anchored) -> bool:
    return all(state[f].shape == getattr(anchored, f).shape and torch.equal(state[f], getattr(anchored, f).detach())
               for f in ("face", "bary_logits", *LOOK))


def remember(anchored) -> None:
    """Before a float edit: keep the source state unless the one kept still describes the Gaussians (the same
    topology, the same Gaussians, and the colours the last `retexture` left)."""
    src = getattr(anchored, "retexture_source", None)
    valid = src is not None and src["fixed"] == anchored.obj.fixed and _same(src["written"], anchored)
    if not valid:
        state = _current(anchored)
        anchored.retexture_source = {"fixed": dict(anchored.obj.fixed), "floats": _floats(anchored.obj),
                                     "state": state, "written": state}


def _frames(v: torch.Tensor, t: torch.Tensor, part: torch.Tensor) -> dict:
    """part id -> (its vertices (n,3) numpy, their mean)."""
    out = {}
    for p in torch.unique(part).tolist():
        used = torch.unique(t[part == p])
        pts = v[used].numpy()
        out[p] = (pts, pts.mean(0))
    return out


def _normals(v, t, face) -> np.ndarray:
    c = v[t[face]]
    n = torch.linalg.cross(c[:, 1] - c[:, 0], c[:, 2] - c[:, 0])
    return (n / n.norm(dim=1, keepdim=True).clamp(min=1e-12)).numpy()


def _side(normals: np.ndarray) -> np.ndarray:
    """0..5: the axis closest to the normal and its sign."""
    axis = np.abs(normals).argmax(1)
    return 2 * axis + (normals[np.arange(len(normals)), axis] > 0)


def retexture(anchored, k: int = 4) -> int:
    """After a float edit of `anchored`'s object (see the module doc, and `remember` before the edit): set
    every Gaussian's colour from its part's own frame on the source; returns how many changed colour."""
    from scipy.spatial import cKDTree

    src = getattr(anchored, "retexture_source", None)
    obj = anchored.obj
    if src is None or src["fixed"] != obj.fixed or not torch.equal(src["state"]["face"], anchored.face):
        return 0
    state, floats = src["state"], _floats(obj)
    if torch.equal(floats, src["floats"]) or not len(state["face"]):
        look = {f: state[f] for f in LOOK}
    else:
        face, bary = state["face"], state["bary_logits"]
        v0, t0, part = _canonical(obj, src["floats"])
        v1, t1, _ = _canonical(obj, floats)
        x0, x1 = surface_means(v0, t0, face, bary).numpy(), surface_means(v1, t1, face, bary).numpy()
        n0, n1 = _normals(v0, t0, face), _normals(v1, t1, face)
        gpart = part[face].numpy()
        q0, q1, m1 = np.empty_like(x0), np.empty_like(x1), np.empty_like(n1)
        before, after = _frames(v0, t0, part), _frames(v1, t1, part)
        for p, (pts0, c0) in before.items():
            pts1, c1 = after[p]
            rot = best_rotation(pts0, pts1)
            rows = gpart == p
            q0[rows], q1[rows], m1[rows] = x0[rows] - c0, (x1[rows] - c1) @ rot, n1[rows] @ rot
        key0, key1 = gpart * 6 + _side(n0), gpart * 6 + _side(m1)
        pick = np.empty((len(face), min(k, len(face))), np.int64)
        weight = np.empty(pick.shape)
        for key in np.unique(key1):
            rows = np.flatnonzero(key1 == key)
            pool = np.flatnonzero(key0 == key)
            if not len(pool):  # a side no Gaussian of the source had: the part's, or any
                pool = np.flatnonzero(gpart == key // 6)
                pool = pool if len(pool) else np.arange(len(face))
            kk = min(pick.shape[1], len(pool))
            dist, idx = cKDTree(q0[pool]).query(q1[rows], k=kk)
            dist, idx = dist.reshape(len(rows), kk), idx.reshape(len(rows), kk)
            w = 1.0 / np.maximum(dist, 1e-9)
            w[dist[:, 0] < 1e-9] = np.eye(kk)[0]  # on a Gaussian of the source: exactly its look
            pick[rows, :kk], weight[rows, :kk] = pool[idx], w / w.sum(1, keepdims=True)
            pick[rows, kk:], weight[rows, kk:] = pool[idx[:, :1]], 0.0
        w = torch.from_numpy(weight)
        p = torch.from_numpy(pick)
        look = {f: (w.view(*w.shape, *([1] * (state[f].dim() - 1))).to(state[f].dtype) * state[f][p]).sum(1)
                for f in LOOK}
    changed = int((look["sh0"] != anchored.sh0.detach()).flatten(1).any(1).sum())
    with torch.no_grad():  # in place: an optimiser holding the parameters keeps them
        for f in LOOK:
            getattr(anchored, f).copy_(look[f])
    src["written"] = _current(anchored)
    return changed
