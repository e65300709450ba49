"""Discrete edits: re-anchoring an object's Gaussians on the topology a discrete parameter gives.

An anchored Gaussian sits on a triangle index of one topology. When a discrete parameter changes
(arms on, four legs -> a pedestal, a round seat), the program is evaluated at the new values and the
Gaussians are rebuilt on the new mesh, in the object's own (canonical) frame:

1. Parts are named by the primitive node that made them (`geonodes` `Mesh.part_names`, e.g.
   "Left Arm/Armrest"). A part of the new mesh is *kept* when the old mesh has the same name with the
   same number of occurrences, each with the same triangle count: its Gaussians move over unchanged
   (face index shifted to the part's new place; barycentrics, offset, rotation, scales, opacity and
   colour as trained), so an edit that adds arms leaves the seat's splats exactly where they were.
2. Every other part of the new mesh is *new surface*: it gets Gaussians sampled by area at the
   object's own density (old Gaussians per m^2 of the faces that carry any; pruning leaves unseen
   faces bare, so this is the density of the surface training saw), at least one per new part.
3. Their appearance comes from a field in canonical coordinates, per part: the old Gaussians of the
   corresponding old part -- the one of the same name, or, for a part no old mesh had (a round seat
   replacing a square one), the old part most of its points lie nearest to -- interpolated at the
   new Gaussian's position (inverse-distance weights of the `k` nearest): colour (all SH bands),
   opacity and scales. An object with no old Gaussians at all gets grey, like initialisation.

Programs centre a shape on its footprint, so a discrete edit can move the parts it keeps (a wider
base re-centres the seat); the object's translation is corrected so that they stay where they are
in the world. Deterministic (a seeded generator per object) and always built from the object's *source* state:
the Gaussians it had before its first discrete edit (kept on the module as `reanchor_source`, not
saved). Going back to the source's discrete values restores them exactly, so edits are reversible
and the result of an edit does not depend on the path taken to it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from procsplat.splat.model import ANCHORED_FIELDS, rgb_to_sh0, triangle_areas, uniform_bary_logits

FIELDS = ANCHORED_FIELDS


@dataclass
class ReanchorStats:
    kept: int  # Gaussians moved over unchanged (their part exists in both topologies)
    added: int  # Gaussians sampled on new surface
    dropped: int  # old Gaussians on parts the new topology does not have
    density: float  # Gaussians per m^2 (canonical) used for new surface
    new_parts: dict  # new part name -> the old part names its appearance came from (None: none)

    def describe(self) -> str:
        """One line for a user: what was kept, what is new and where its look came from."""
        if not self.added and not self.dropped:
            return f"back to its {self.kept} trained Gaussians"
        looks = sorted({n for names in self.new_parts.values() for n in (names or ["grey"])})
        return (f"{self.kept} Gaussians kept, {self.dropped} dropped, {self.added} new on "
                f"{len(self.new_parts)} new part(s), coloured from {', '.join(looks) or 'nothing'}")


def canonical_mesh(obj, fixed: dict):
    """(vertices (V,3) float64, triangles (T,3), part id (T,), part names) of the object's program at
    `fixed` discrete values and its current float values, in the object's own frame (no pose)."""
    values = dict(fixed)
    for name, x in zip(obj.float_names, obj.clamped_floats().detach().tolist()):
        values[name] = x
    with torch.no_grad():
        m = obj.program.evaluate_one(values, dtype=torch.float64)
    return m.vertices, m.triangles, m.part_id, tuple(m.part_names)


def part_spans(part_id: torch.Tensor, names: tuple) -> list:
    """[(name, first triangle, triangle count)] per part id (a part's triangles are contiguous)."""
    counts = torch.bincount(part_id, minlength=len(names)).tolist() if len(part_id) else [0] * len(names)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int).tolist() if counts else []
    return [(names[k], starts[k], counts[k]) for k in range(len(names))]


def match_parts(old: list, new: list) -> dict:
    """new part index -> old part index for parts that carry over unchanged: same name, same number
    of occurrences of that name in both meshes, pairwise the same triangle count (k-th to k-th)."""
    def by_name(spans):
        out: dict = {}
        for k, (name, _, n) in enumerate(spans):
            out.setdefault(name, []).append((k, n))
        return out

    old_by, new_by = by_name(old), by_name(new)
    pairs = {}
    for name, occ in new_by.items():
        prev = old_by.get(name, [])
        if len(prev) == len(occ) and all(a[1] == b[1] for a, b in zip(prev, occ)):
            pairs.update({k: j for (k, _), (j, _) in zip(occ, prev)})
    return pairs


def snapshot(anchored) -> dict:
    return {"face": anchored.face.detach().clone(), **{f: getattr(anchored, f).detach().clone() for f in FIELDS}}


def restore(anchored, state: dict) -> None:
    anchored.face = state["face"].clone()
    for f in FIELDS:
        setattr(anchored, f, nn.Parameter(state[f].clone()))


def edit_state(anchored) -> dict:
    """Everything a discrete edit changes on an object and its Gaussians (for an all-or-nothing edit)."""
    return {"fixed": dict(anchored.obj.fixed), "gaussians": snapshot(anchored),
            "shift": getattr(anchored, "reanchor_shift", None)}


def restore_edit_state(anchored, state: dict) -> None:
    anchored.obj.fixed = dict(state["fixed"])
    restore(anchored, state["gaussians"])
    if state["shift"] is None:
        anchored.__dict__.pop("reanchor_shift", None)
    else:
        anchored.reanchor_shift = state["shift"]


def sample_on_faces(v, t, faces: torch.Tensor, count: int, gen: torch.Generator):
    """(face (n,), barycentric logits (n,3), angle (n,)) of `count` points on `faces` drawn by area."""
    area = triangle_areas(v, t[faces])
    first = faces[:0]
    if count <= 0 or not len(faces):
        return first, torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.float64)
    weights = area / area.sum() if float(area.sum()) > 0 else torch.full_like(area, 1.0 / len(area))
    face = faces[torch.multinomial(weights, count, replacement=True, generator=gen)]
    face, _ = torch.sort(face)
    bary = uniform_bary_logits(count, gen)
    angle = torch.rand(count, generator=gen, dtype=torch.float64) * math.pi
    return face, bary, angle


def surface_means(v, t, face, bary_logits) -> torch.Tensor:
    w = torch.softmax(bary_logits, dim=1)
    tri = t[face]
    return w[:, :1] * v[tri[:, 0]] + w[:, 1:2] * v[tri[:, 1]] + w[:, 2:] * v[tri[:, 2]]


def leaf(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def corresponding_parts(spans1: list, new_parts: list, own: torch.Tensor, old_name: np.ndarray,
                        nearest: np.ndarray) -> dict:
    """new part index -> the set of old part names its appearance comes from: the old part of the same
    name; else the old parts made by a node of the same name in another place ("Right Arm/Armrest" for
    "Left Arm/Armrest"); else, for a node no old mesh had, the old part that most of the new points of
    that node's parts (all its copies together, so the five legs of a star base agree) lie nearest to.
    `old_name` (n_old,): each old Gaussian's part name; `nearest` (n_new,): each new point's nearest old one."""
    present = set(old_name.tolist())
    by_leaf: dict = {}
    for name in present:
        by_leaf.setdefault(leaf(name), set()).add(name)
    votes: dict = {}
    for j in new_parts:
        name = spans1[j][0]
        if name not in present and leaf(name) not in by_leaf:
            votes.setdefault(leaf(name), []).append(old_name[nearest[(own == j).numpy()]])
    chosen = {}
    for key, lists in votes.items():
        names, counts = np.unique(np.concatenate(lists), return_counts=True)
        chosen[key] = {str(names[np.argmax(counts)])}  # np.unique sorts: a tie goes to the first name
    out = {}
    for j in new_parts:
        name = spans1[j][0]
        out[j] = {name} if name in present else by_leaf.get(leaf(name)) or chosen[leaf(name)]
    return out


def placement_shift(obj, old_fixed: dict, new_fixed: dict) -> torch.Tensor:
    """(3,) how far, in the object's frame, the parts the two topologies share move between them: the mean
    displacement of their triangles' centroids (zero when they share none). Programs centre a shape on
    its footprint, so a new part (a wider base) moves everything else; the pose can take that back."""
    v0, t0, p0, n0 = canonical_mesh(obj, old_fixed)
    v1, t1, p1, n1 = canonical_mesh(obj, new_fixed)
    spans0, spans1 = part_spans(p0, n0), part_spans(p1, n1)
    pairs = match_parts(spans0, spans1)
    if not pairs:
        return torch.zeros(3, dtype=torch.float64)
    rows0 = torch.cat([torch.arange(spans0[i][1], spans0[i][1] + spans0[i][2]) for i in pairs.values()])
    rows1 = torch.cat([torch.arange(spans1[j][1], spans1[j][1] + spans1[j][2]) for j in pairs])
    return (v1[t1[rows1]].mean(1) - v0[t0[rows0]].mean(1)).mean(0)


def keep_in_place(obj, shift: torch.Tensor) -> None:
    """Move the object's translation so that points of its frame moved by `shift` stay where they were."""
    from procsplat.geometry import object_to_world

    with torch.no_grad():
        moved = object_to_world(shift[None], obj.yaw.detach(), torch.zeros(3, dtype=torch.float64),
                                torch.exp(obj.log_scale.detach()))[0]
        obj.translation.sub_(moved.to(obj.translation.dtype))


def reanchor(anchored, new_fixed: dict, seed: int = 0, k: int = 4, in_place: bool = True) -> ReanchorStats:
    """Rebuild `anchored`'s Gaussians for the discrete values `new_fixed` of its object (see the module
    doc) and set the object's discrete values; float values are unchanged. With `in_place` the object's
    translation moves so that the parts both topologies share stay where they are in the world
    (`placement_shift`): adding arms does not shift the seat."""
    from scipy.spatial import cKDTree

    obj = anchored.obj
    source = getattr(anchored, "reanchor_source", None)
    if source is None:
        source = anchored.reanchor_source = (dict(obj.fixed), snapshot(anchored))
    src_fixed, src = source
    new_fixed = {**obj.fixed, **new_fixed}
    if in_place:  # measured against the source topology, so that edits and their undoing cancel exactly
        shift = placement_shift(obj, src_fixed, new_fixed) if new_fixed != src_fixed else torch.zeros(3).double()
        keep_in_place(obj, shift - getattr(anchored, "reanchor_shift", torch.zeros(3, dtype=torch.float64)))
        anchored.reanchor_shift = shift
    if new_fixed == src_fixed:
        restore(anchored, src)
        obj.fixed = dict(new_fixed)
        return ReanchorStats(len(src["face"]), 0, 0, 0.0, {})

    v0, t0, p0, names0 = canonical_mesh(obj, src_fixed)
    v1, t1, p1, names1 = canonical_mesh(obj, new_fixed)
    spans0, spans1 = part_spans(p0, names0), part_spans(p1, names1)
    pairs = match_parts(spans0, spans1)

    # 1. kept: Gaussians of parts that carry over, face index shifted to the part's new place.
    face0 = src["face"]
    part_of = p0[face0] if len(face0) else face0
    face_shift = torch.zeros(len(spans0), dtype=torch.int64)
    carried = torch.zeros(len(spans0), dtype=torch.bool)
    for j, i in pairs.items():
        face_shift[i], carried[i] = spans1[j][1] - spans0[i][1], True
    keep = carried[part_of] if len(face0) else torch.zeros(0, dtype=torch.bool)
    kept = {f: src[f][keep] for f in FIELDS}
    kept_face = face0[keep] + face_shift[part_of[keep]]

    # 2. new surface: every triangle of the parts without a counterpart, at the object's density.
    area0 = triangle_areas(v0, t0)
    occupied = torch.zeros(len(t0), dtype=torch.bool)
    occupied[face0] = True
    seen_area = float(area0[occupied].sum())
    density = len(face0) / seen_area if seen_area > 0 else 0.0
    new_parts = [j for j in range(len(spans1)) if j not in pairs and spans1[j][2] > 0]
    gen = torch.Generator().manual_seed(int(seed))
    area1 = triangle_areas(v1, t1)
    faces_new, bary_new, angle_new, owner = [], [], [], []
    for j in new_parts:
        _, start, n = spans1[j]
        faces = torch.arange(start, start + n)
        count = max(1, int(round(density * float(area1[faces].sum())))) if density > 0 else 1
        f, b, a = sample_on_faces(v1, t1, faces, count, gen)
        faces_new.append(f), bary_new.append(b), angle_new.append(a), owner.append(torch.full((len(f),), j))
    cat = (lambda xs, empty: torch.cat(xs) if xs else empty)
    f_new = cat(faces_new, torch.zeros(0, dtype=torch.int64))
    b_new = cat(bary_new, torch.zeros(0, 3, dtype=torch.float64))
    a_new = cat(angle_new, torch.zeros(0, dtype=torch.float64))
    own = cat(owner, torch.zeros(0, dtype=torch.int64))

    # 3. their appearance: the corresponding old part's Gaussians, interpolated in canonical coordinates.
    n_new = len(f_new)
    look = {"log_scales_plane": src["log_scales_plane"], "log_scale_normal": src["log_scale_normal"][:, None],
            "opacity_logits": src["opacity_logits"][:, None], "sh0": src["sh0"].flatten(1),
            "shN": src["shN"].flatten(1)}
    field = {name: torch.zeros(n_new, x.shape[1], dtype=torch.float64) for name, x in look.items()}
    sources: dict = {}
    if len(face0) and n_new:
        with torch.no_grad():
            old_pts = surface_means(v0, t0, face0, src["bary_logits"]).numpy()
        new_pts = surface_means(v1, t1, f_new, b_new).numpy()
        old_name = np.array([names0[i] for i in part_of.tolist()], dtype=object)
        source_of = corresponding_parts(spans1, new_parts, own, old_name, cKDTree(old_pts).query(new_pts, k=1)[1])
        for j in new_parts:
            rows = (own == j).nonzero()[:, 0].numpy()
            sources[spans1[j][0]] = sorted(source_of[j])
            members = np.nonzero(np.isin(old_name, sorted(source_of[j])))[0]
            kk = min(k, len(members))
            dist, idx = cKDTree(old_pts[members]).query(new_pts[rows], k=kk)
            dist, idx = dist.reshape(len(rows), kk), idx.reshape(len(rows), kk)
            w = 1.0 / np.maximum(dist, 1e-6)
            w = torch.from_numpy(w / w.sum(1, keepdims=True))
            pick = torch.from_numpy(members[idx])
            for fname, x in look.items():
                field[fname][torch.from_numpy(rows)] = (w[..., None] * x[pick]).sum(1)
    else:
        side = math.log(0.5 / math.sqrt(max(density, 1.0)))
        field["log_scales_plane"][:] = side
        field["log_scale_normal"][:] = math.log(2e-3)
        field["opacity_logits"][:] = 2.0
        field["sh0"][:] = rgb_to_sh0(torch.full((3,), 0.5, dtype=torch.float64))
        sources = {spans1[j][0]: None for j in new_parts}

    added = {"bary_logits": b_new, "offset": torch.zeros(n_new, dtype=torch.float64), "angle": a_new,
             "log_scales_plane": field["log_scales_plane"], "log_scale_normal": field["log_scale_normal"][:, 0],
             "opacity_logits": field["opacity_logits"][:, 0],
             "sh0": field["sh0"].reshape(n_new, *src["sh0"].shape[1:]),
             "shN": field["shN"].reshape(n_new, *src["shN"].shape[1:])}
    state = {"face": torch.cat([kept_face, f_new]),
             **{f: torch.cat([kept[f], added[f].to(kept[f].dtype)]) for f in FIELDS}}
    restore(anchored, state)
    obj.fixed = dict(new_fixed)
    return ReanchorStats(int(keep.sum()), n_new, int((~keep).sum()), density, sources)
