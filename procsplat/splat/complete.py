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

Training fits the colour of an anchored Gaussian only as far as the training views see it. Those they
barely saw -- a door seen edge-on, the inner face of a panel, a part glimpsed in a few pixels, and the
completed ones -- keep the colour they started with (that of the nearest observed point, often another
part's). `recolour_unobserved` gives every anchored Gaussian whose blending weight over the training
frames is a small fraction of its object's median its part's colour as the frames observed it
(`observed_part_colours`: the pixels where the part is the nearest surface, divided by the object's
shading gain), when the part was seen in enough pixels: the best guess for a side nobody saw is the
colour of the part it belongs to. Recoloured Gaussians of one part, on faces of one orientation and within
a cell of `merge_cell` metres of the object's frame, all wear that one colour: they merge into one (the
first), grown to cover the group's area, which shows the same flat colour with fewer Gaussians. Recoloured
trained Gaussians that no camera around the object sees either (`enclosed`: in a gap between parts, under one
resting on another; the training frames' depth test lets a few centimetres pass) are removed first: what they
save pays for the finer cells. Optionally (`mirror_radius`) a recoloured Gaussian takes the colour of the
well-seen ones of its part on parallel faces at the same place across them (`mirrored_colours`: a part's
pattern continues through it, as a board's underside wears its top's), and only those with none merge.
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
from procsplat.splat.model import (ANCHORED_FIELDS, AnchoredGaussians, rgb_to_sh0, triangle_areas,
                                   uniform_bary_logits)



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
    recolour_below: float = 0.5
    """After training (and completion), an anchored Gaussian whose blending weight summed over the training
    frames is below this fraction of its object's median takes its part's observed colour
    (`recolour_unobserved`; 0: off)."""
    min_part_pixels: int = 20
    """...if the part was the nearest surface in at least this many training pixels."""
    merge_cell: float = 0.2
    """Recoloured Gaussians of one part and face orientation within a cell this wide (m, in the object's
    frame) merge into one (0: none merge)."""
    prune_enclosed: bool = True
    """Trained Gaussians the training frames barely saw (recoloured) that no camera around the object sees either
    (`exterior_views`, within `exterior_tolerance`: in a gap between parts, under one resting on another) are
    removed: no view of the object shows them (`enclosed`)."""
    mirror_radius: float = 0.0
    """A recoloured Gaussian takes instead the mean colour of the well-seen Gaussians (those not recoloured) of
    its part on faces parallel to its own (the same axis of the object's frame, either side) whose positions
    across that axis lie within this (m) of its own (`mirrored_colours`; 0: off): a part's pattern continues
    through it (a board's underside wears the top's pattern at the same place), so a side the views missed
    gets the pattern seen on the opposite side; those with no such neighbour keep their part's colour (and
    only they merge)."""
    part_depth_tolerance: float = 0.05
    """A training pixel observes the part its object's mesh shows there when the frame's depth is within
    this (m) of the mesh's (loose enough for a fit a few cm off: bench seed 7 with shapes frozen 3 cm off,
    novel object PSNR -0.26 dB at 0.02, +0.51 at 0.05; with trained shapes the same at both)."""


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
        area = triangle_areas(v, t)
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


def observed_part_colours(anchored: AnchoredGaussians, frames: list,
                          tolerance: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """((P,3) colour, (P,) pixels) of each part of `anchored`'s object as the frames [(rgb (H,W,3) in [0,1],
    depth, K, cam_to_world)] observed it: over the pixels where the object's mesh is drawn and the frame's
    depth is within `tolerance` of the mesh's (the part is the nearest surface there, not something in front
    of it), the sum of their colours over the sum of the object's shading gain at each (|cos| between the
    view ray and the face's normal): the colour as seen head-on, which an anchored Gaussian's sh0 holds."""
    from geonodes.render import render_mesh

    with torch.no_grad():
        v, t, part = anchored.obj.mesh()
    v, t, part = v.detach(), t.long(), part.long().numpy()
    vn, tn = v.numpy(), t.numpy()
    normal = np.cross(vn[tn[:, 1]] - vn[tn[:, 0]], vn[tn[:, 2]] - vn[tn[:, 0]])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    n_parts = int(part.max()) + 1 if len(part) else 0
    rgb_sum, gain_sum, pixels = np.zeros((n_parts, 3)), np.zeros(n_parts), np.zeros(n_parts, np.int64)
    for rgb, depth, K, c2w in frames:
        h, w = depth.shape
        drawn = render_mesh(v.float(), t, torch.tensor(K, dtype=torch.float32), torch.tensor(c2w, dtype=torch.float32),
                            w, h, shading=False)
        face, mesh_depth = drawn["face"].numpy(), drawn["depth"].numpy()
        ok = (face >= 0) & (depth > 0) & (np.abs(depth - mesh_depth) < tolerance)
        if not ok.any():
            continue
        rows, cols = np.nonzero(ok)
        f = face[ok]
        ray = np.stack([(cols + 0.5 - K[0, 2]) / K[0, 0], (rows + 0.5 - K[1, 2]) / K[1, 1], np.ones(len(rows))], 1)
        ray = ray @ np.asarray(c2w)[:3, :3].T
        cos = np.abs((ray * normal[f]).sum(1)) / np.linalg.norm(ray, axis=1)
        with torch.no_grad():
            gain = anchored.gain(torch.from_numpy(cos)).numpy()
        np.add.at(rgb_sum, part[f], np.asarray(rgb, np.float64)[ok])
        np.add.at(gain_sum, part[f], gain)
        np.add.at(pixels, part[f], 1)
    return np.clip(rgb_sum / np.maximum(gain_sum, 1e-12)[:, None], 0.0, 1.0), pixels


def recolour_unobserved(model, frames: list, cfg: CompletionConfig = CompletionConfig(),
                        trained: list | None = None) -> list[int]:
    """Give the anchored Gaussians the training frames barely saw their part's observed colour (see the module
    docstring); returns how many per object (those removed as `enclosed` not counted). A Gaussian is barely seen when its blending weight summed over
    the frames (`procsplat.splat.densify.contributions`) is below cfg.recolour_below x the median of its
    object's first `trained[k]` Gaussians (those that trained: completion appends after them; None: all)."""
    from procsplat.splat.densify import contributions

    if cfg.recolour_below <= 0 or not len(model.anchored) or not frames:
        return [0] * len(model.anchored)
    views = [(torch.linalg.inv(torch.as_tensor(np.asarray(c2w), dtype=torch.float64)),
              torch.as_tensor(np.asarray(K), dtype=torch.float64), depth.shape[1], depth.shape[0])
             for _, depth, K, c2w in frames]
    weights = contributions(model, views)
    out = []
    for k, (a, weight) in enumerate(zip(model.anchored, weights)):
        n = len(weight) if trained is None else int(trained[k])
        if n == 0:
            out.append(0)
            continue
        colours, pixels = observed_part_colours(a, frames, cfg.part_depth_tolerance)
        with torch.no_grad():
            part = a.obj.mesh()[2].long()[a.face].numpy()
            low = weight.numpy() < cfg.recolour_below * float(np.median(weight[:n].numpy()))
            pick = np.flatnonzero(low & (pixels[part] >= cfg.min_part_pixels))
            rows = torch.from_numpy(pick)
            a.sh0[rows] = rgb_to_sh0(torch.from_numpy(colours[part[pick]])).to(a.sh0.dtype)[:, None, :]
            a.shN[rows] = 0.0
            flat = pick
            if cfg.prune_enclosed and len(pick):
                trained_pick = pick[pick < n]
                drop = trained_pick[enclosed(a, trained_pick, cfg.exterior_tolerance)]
                if len(drop):
                    keep = np.ones(len(part), bool)
                    keep[drop] = False
                    new_index = np.cumsum(keep) - 1
                    a.prune(torch.from_numpy(np.flatnonzero(keep)))
                    pick, low = new_index[pick[keep[pick]]], low[keep]
                    n -= int((drop < n).sum())
                    flat = pick
            if cfg.mirror_radius > 0 and len(pick):
                well = np.flatnonzero(~low)
                well = well[well < n]
                found = mirrored_colours(a, pick, well, cfg.mirror_radius, cfg.neighbours)
                flat = pick[~found]
            if cfg.merge_cell > 0 and len(flat) > 1:
                merge_flat(a, flat, cfg.merge_cell)
        out.append(len(pick))
    return out


def enclosed(anchored: AnchoredGaussians, rows: np.ndarray, tolerance: float) -> np.ndarray:
    """(len(rows),) bool: which of the Gaussians `rows` of `anchored` no camera around its object sees
    (`exterior_views` of its mesh, within `tolerance`)."""
    rows = np.asarray(rows, np.int64)
    if not len(rows):
        return np.zeros(0, bool)
    with torch.no_grad():
        v, t, _ = anchored.obj.mesh()
        means = anchored.world().means[torch.from_numpy(rows)].numpy()
        return ~seen_in_frames(means, exterior_views(v.detach(), t.long()), tolerance=tolerance)


def parallel_axis(anchored: AnchoredGaussians) -> tuple[np.ndarray, np.ndarray]:
    """((n,3) positions in the object's frame, (n,) the axis of that frame (0, 1, 2) closest to each Gaussian's
    face normal) of `anchored`'s Gaussians."""
    with torch.no_grad():
        _, normal, _ = anchored.face_frames()
        local_normal = (normal @ yaw_matrix(anchored.obj.yaw.detach()).to(normal.dtype)).numpy()
        pts = canonical(anchored.world().means, anchored.obj)
    return pts, np.abs(local_normal).argmax(1)


def mirrored_colours(anchored: AnchoredGaussians, rows: np.ndarray, sources: np.ndarray, radius: float,
                     k: int) -> np.ndarray:
    """Give each Gaussian `rows` of `anchored` the mean colour (sh0; shN zeroed) of its up to `k` nearest
    `sources` of the same part on faces of the same axis in the object's frame (`parallel_axis`), nearest by
    the two coordinates across that axis and within `radius` of it there: the opposite side of a board at the
    same place, or the same side nearby. Returns (len(rows),) bool: which found any (the others are left as
    they were)."""
    from scipy.spatial import cKDTree

    rows, sources = np.asarray(rows, np.int64), np.asarray(sources, np.int64)
    found = np.zeros(len(rows), bool)
    if not len(rows) or not len(sources):
        return found
    with torch.no_grad():
        part = anchored.obj.mesh()[2].long()[anchored.face].numpy()
        pts, axis = parallel_axis(anchored)
        sh0 = anchored.sh0.detach().clone()
        for p, ax in {(int(part[r]), int(axis[r])) for r in rows}:
            mine = np.flatnonzero((part[rows] == p) & (axis[rows] == ax))
            pool = sources[(part[sources] == p) & (axis[sources] == ax)]
            if not len(pool):
                continue
            across = [c for c in range(3) if c != ax]
            dist, idx = cKDTree(pts[pool][:, across]).query(pts[rows[mine]][:, across], k=min(k, len(pool)),
                                                             distance_upper_bound=radius)
            dist, idx = dist.reshape(len(mine), -1), idx.reshape(len(mine), -1)
            near = np.isfinite(dist)
            hit = near.any(1)
            if not hit.any():
                continue
            w = torch.from_numpy(near[hit].astype(np.float64))
            picked = sh0[torch.from_numpy(pool[np.where(near[hit], idx[hit], 0)])]  # (h,k,1,3)
            mean = (picked * w[:, :, None, None]).sum(1) / w.sum(1)[:, None, None]
            dst = torch.from_numpy(rows[mine[hit]])
            anchored.sh0[dst] = mean.to(anchored.sh0.dtype)
            anchored.shN[dst] = 0.0
            found[mine[hit]] = True
    return found


def merge_flat(anchored: AnchoredGaussians, rows: np.ndarray, cell: float) -> int:
    """Merge the Gaussians `rows` of `anchored` (of one colour per part) that share a part, a face orientation
    (the face normal in the object's frame, rounded to half units) and a `cell`-wide cube of the object's frame
    into the first of each group, whose in-plane scales grow by sqrt(group size) (at most 0.2 m): the area the
    group covered. Returns how many were removed. The optimiser must be rebuilt afterwards."""
    with torch.no_grad():
        part = anchored.obj.mesh()[2].long()[anchored.face].numpy()
        _, normal, _ = anchored.face_frames()
        local_normal = (normal @ yaw_matrix(anchored.obj.yaw.detach()).to(normal.dtype)).numpy()
        pts = canonical(anchored.world().means, anchored.obj)
        rows = np.asarray(rows, np.int64)
        keys = np.concatenate([part[rows, None], np.round(2 * local_normal[rows]).astype(np.int64),
                               np.floor(pts[rows] / cell).astype(np.int64)], 1)
        _, first, counts = np.unique(keys, axis=0, return_index=True, return_counts=True)
        keep = np.ones(len(part), bool)
        keep[rows] = False
        keep[rows[first]] = True
        grown = torch.from_numpy(rows[first])
        scales = anchored.log_scales_plane[grown] + 0.5 * torch.log(torch.from_numpy(counts).double())[:, None]
        anchored.log_scales_plane[grown] = scales.clamp(max=math.log(0.2)).to(anchored.log_scales_plane.dtype)
        anchored.prune(torch.from_numpy(np.flatnonzero(keep)))
    return int(len(rows) - len(first))


def complete_unseen(model, frames: list, per_area: float, cfg: CompletionConfig = CompletionConfig(),
                    seed: int = 0) -> list[int]:
    """Complete every procedural object of `model` and recolour the Gaussians training barely saw (see the
    module docstring); returns the Gaussians added per object. frames: the training frames [(rgb, depth, K,
    cam_to_world)]. The optimiser of a trainer that goes on afterwards must be rebuilt (the parameters are
    new tensors)."""
    if not cfg.enabled:
        return [0] * len(model.anchored)
    trained = [int(a.face.shape[0]) for a in model.anchored]
    added = [complete_object(a, frames, per_area, cfg, seed + k) for k, a in enumerate(model.anchored)]
    recolour_unobserved(model, frames, cfg, trained)
    return added
