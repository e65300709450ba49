"""Candidate encoding (genomes) and batched scoring through the compiled program.

A genome is (discrete values, float values in unit range, pose). Pose = (yaw, x, y,
log scale) where (x, y) is the world position of the centre of the shape's footprint box
(so changing a width does not shift the object) and the height comes from the floor
(`pose.place_on_floor`). Only parameters with `sample` true and a non-empty range are searched;
the others keep their defaults.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from .losses import CandidateLosses, LossConfig
from .pose import place_on_floor
from .surface import part_keys
from .target import ObjectTarget


@dataclass
class Genomes:
    disc: np.ndarray  # (P,D) int64 (bools as 0/1)
    unit: np.ndarray  # (P,F) float64 in [0,1]
    pose: np.ndarray  # (P,4) yaw, x, y, log scale

    def __len__(self) -> int:
        return int(self.pose.shape[0])

    def take(self, idx) -> "Genomes":
        idx = np.asarray(idx, dtype=np.int64)
        return Genomes(self.disc[idx].copy(), self.unit[idx].copy(), self.pose[idx].copy())

    @staticmethod
    def concat(parts: list) -> "Genomes":
        return Genomes(np.concatenate([p.disc for p in parts]), np.concatenate([p.unit for p in parts]),
                       np.concatenate([p.pose for p in parts]))


class SearchSpace:
    """The searchable parameters of a program."""

    def __init__(self, program, scale_range: float = 0.0):
        self.program = program
        self.discrete = [p for p in program.parameters if p.sample and p.kind in ("int", "bool")
                         and (p.kind == "bool" or p.max > p.min)]
        self.floats = [p for p in program.parameters if p.sample and p.kind == "float" and p.max > p.min]
        self.lo = np.array([p.min for p in self.floats], dtype=np.float64)
        self.hi = np.array([p.max for p in self.floats], dtype=np.float64)
        self.disc_lo = np.array([0 if p.kind == "bool" else int(p.min) for p in self.discrete], dtype=np.int64)
        self.disc_hi = np.array([1 if p.kind == "bool" else int(p.max) for p in self.discrete], dtype=np.int64)
        self.scale_range = float(scale_range)  # |log scale| <= this; 0 = no scale
        self._defaults = {}
        for p in program.parameters:  # fixed parameters: their default, clamped into range
            d = p.default
            if p.kind != "bool" and p.max >= p.min:
                d = min(max(d, p.min), p.max)
            self._defaults[p.name] = d

    @property
    def num_discrete(self) -> int:
        return len(self.discrete)

    def random(self, n: int, rng: np.random.Generator) -> Genomes:
        disc = rng.integers(self.disc_lo, self.disc_hi + 1, size=(n, len(self.discrete))) if self.discrete \
            else np.zeros((n, 0), dtype=np.int64)
        unit = rng.uniform(size=(n, len(self.floats)))
        pose = np.zeros((n, 4))
        return Genomes(disc.astype(np.int64), unit, pose)

    def values(self, disc: np.ndarray, unit: torch.Tensor) -> dict:
        """Batched parameter tensors for program.evaluate (unit (P,F) may require grad)."""
        P = disc.shape[0]
        vals = {}
        for j, p in enumerate(self.discrete):
            col = torch.from_numpy(disc[:, j].copy())
            vals[p.name] = col.bool() if p.kind == "bool" else col
        lo = torch.as_tensor(self.lo, dtype=unit.dtype)
        hi = torch.as_tensor(self.hi, dtype=unit.dtype)
        x = lo + unit * (hi - lo)
        for j, p in enumerate(self.floats):
            vals[p.name] = x[:, j]
        for name, d in self._defaults.items():
            if name not in vals:
                vals[name] = torch.full((P,), float(d)) if isinstance(d, float) else torch.tensor([d] * P)
        return vals

    def to_dict(self, disc_row: np.ndarray, unit_row: np.ndarray) -> dict:
        """One genome's parameters as plain python values (all program parameters)."""
        out = dict(self._defaults)
        for j, p in enumerate(self.discrete):
            out[p.name] = bool(disc_row[j]) if p.kind == "bool" else int(disc_row[j])
        x = self.lo + np.clip(unit_row, 0, 1) * (self.hi - self.lo)
        for j, p in enumerate(self.floats):
            out[p.name] = float(x[j])
        return out

    def from_dict(self, params: dict) -> tuple[np.ndarray, np.ndarray]:
        disc = np.array([int(params.get(p.name, self._defaults[p.name])) for p in self.discrete], dtype=np.int64)
        x = np.array([float(params.get(p.name, self._defaults[p.name])) for p in self.floats])
        unit = (x - self.lo) / (self.hi - self.lo) if len(x) else x
        return disc, np.clip(unit, 0, 1)


def pad_meshes(meshes: list) -> tuple:
    """Several topologies' posed meshes [(rows, vertices (b,V,3), triangles (T,3), yaw (b,))] as
    one batch (rows, vertices (B,Vmax,3), triangles (B,Tmax,3), yaw (B,)) for one loss
    evaluation (`CandidateLosses.terms`). Padding vertices repeat the row's first vertex (its box
    and lowest point stay); padding triangles are (0, 0, 0): no area, so never sampled nor
    proposed as nearest (their plane bound is 1e6, `losses._triangle_planes`), and a face
    nobody can see. Every loss term of a row is its own topology's to float tolerance
    (`tests/test_fit_padded.py`)."""
    V = max(m[1].shape[1] for m in meshes)
    T = max(m[2].shape[0] for m in meshes)
    verts, tris = [], []
    for _, v, t, _ in meshes:
        b = v.shape[0]
        if v.shape[1] < V:
            v = torch.cat([v, v[:, :1].expand(b, V - v.shape[1], 3)], 1)
        if t.shape[0] < T:
            t = torch.cat([t, t.new_zeros(T - t.shape[0], 3)])
        verts.append(v)
        tris.append(t.unsqueeze(0).expand(b, T, 3))
    return (torch.cat([m[0] for m in meshes]), torch.cat(verts), torch.cat(tris),
            torch.cat([m[3] for m in meshes]))


def pad_keys(meshes: list, keys: list) -> torch.Tensor:
    """(B,Tmax) part keys of the rows of `pad_meshes(meshes)`, from each topology's keys (T,);
    padding triangles get key 0 (they have no area, so no samples)."""
    T = max(m[2].shape[0] for m in meshes)
    return torch.cat([torch.cat([k, k.new_zeros(T - len(k))]).expand(len(m[0]), T) for m, k in zip(meshes, keys)])


def merge_groups(sizes: list, slack: float) -> list:
    """Topologies to score together: lists of indices into `sizes` [(rows, vertices, triangles)],
    grouped in order of triangle count. A topology joins the current group while the padded
    work (rows x largest triangle count) exceeds the work of scoring each alone by at most
    `slack` triangle-rows per loss call saved (`Scorer.pad_slack`). Topologies without
    triangles or vertices stay alone."""
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i][2], i))
    groups, cur, rows, work, tmax = [], [], 0, 0, 0
    for i in order:
        n, V, T = sizes[i]
        if V == 0 or T == 0:
            groups.append([i])
            continue
        if cur and (rows + n) * max(tmax, T) - (work + n * T) > slack * len(cur):
            groups.append(cur)
            cur, rows, work, tmax = [], 0, 0, 0
        cur.append(i)
        rows, work, tmax = rows + n, work + n * T, max(tmax, T)
    if cur:
        groups.append(cur)
    return groups


class Scorer:
    """Scores genomes on one target: one program.evaluate call per batch; counts evaluations.

    Topologies are scored together, padded to one size (`pad_meshes`, `merge_groups`), where
    that saves loss calls: a refinement of 6 genomes often has 6 topologies, and most of its
    steps reuse proposals (`refine.py`), whose cost hardly grows with the padded triangle
    count, so there a call saved is worth much padding. A plain scoring call's cost is mostly
    the nearest-triangle bounds of every observed point and triangle, which padding inflates
    (measured on a chair, triangles 200-650: a population's scoring 10.9 s alone, 11.6 s with
    `pad_slack_refine`'s slack, 15.9 s all padded together), so there only topologies of one
    triangle count merge."""

    pad_slack: float = 0.0
    """Plain scoring (no proposal cache): padded triangle-rows that one loss call saved is worth
    (`merge_groups`; 0: only topologies of one triangle count merge; negative: none merge)."""
    pad_slack_refine: float = 200.0
    """The same for refinement steps (`score` with a proposal cache). A bookshelf's 12.5 CPU s
    fit took 11.0 s with 200, 10.7 s with all padded together; a chair's 26.6 s 25.8 s and 30.4 s
    (the latter with all plain scoring padded together too)."""

    def __init__(self, space: SearchSpace, target: ObjectTarget, loss: LossConfig = LossConfig(),
                 dtype=torch.float32):
        self.space = space
        self.target = target
        self.losses = CandidateLosses(target, loss)
        self.dtype = dtype
        self.evaluations = 0

    def coarse(self, max_points: int, num_samples: int) -> "Scorer":
        """A Scorer of the same genomes on the same target with at most `max_points` observed
        points and `num_samples` surface samples per candidate (`GAConfig.coarse_points`); it
        shares this one's observed tangent planes (built once per target)."""
        cfg = replace(self.losses.config, max_points=min(max_points, self.losses.config.max_points),
                      num_samples=min(num_samples, self.losses.config.num_samples))
        out = Scorer(self.space, self.target, cfg, self.dtype)
        out.losses._planes = self.losses._planes
        return out

    def posed_meshes(self, disc: np.ndarray, unit: torch.Tensor, pose: torch.Tensor, keys: list | None = None):
        """[(rows, world vertices (b,V,3), triangles, yaw (b,))] per topology, plus translations (P,3).
        `keys`: a list to append each topology's part keys (T,) to (`surface.part_keys`)."""
        groups = self.space.program.evaluate(self.space.values(disc, unit), dtype=self.dtype)
        out = []
        if keys is not None:
            keys.extend(part_keys(g.part_id, g.topology.part_names) for g in groups)
        trans = torch.zeros(len(disc), 3, dtype=self.dtype)
        for g in groups:
            p = pose[g.index]
            scale = p[:, 3] if self.space.scale_range > 0 else None
            world, t = place_on_floor(g.vertices, p[:, 0], p[:, 1:3], self.target.floor_height, scale,
                                      centre_xy=True)
            out.append((g.index, world, g.triangles, p[:, 0]))
            trans = trans.index_put((g.index,), t.detach())
        return out, trans

    def score(self, g: Genomes, unit: torch.Tensor | None = None, pose: torch.Tensor | None = None,
              cache: dict | None = None, reuse: bool = False, detach: bool = False) -> dict:
        """(P,) loss terms; differentiable w.r.t. `unit`/`pose` when given as tensors.

        `cache` (a dict the caller keeps between calls on the same genomes, `refine.py`): each
        topology's nearest-triangle proposals (`LossConfig.reuse_proposals` per observed point)
        are stored there, and with `reuse` taken from it instead of recomputed where the same
        rows have the same triangles.

        `detach`: the program is evaluated as in a gradient step (grad mode on, so a refinement's
        last, gradient-free scoring replays the recorded evaluation of its steps instead of
        evaluating in full: a new signature for `geonodes.replay`), the losses without gradients
        (the same floats as under `torch.no_grad()`). On a realistic office chair (dev seed 7791)
        this left 75 of its 91 full evaluations; with the coverage bounds' contiguous per-axis
        arrays (`losses.point_to_mesh_distance`) CPU per object 0.936x on realistic dev seeds
        7790-7791, 7780-7781, 7770-7771 (18 objects) and 0.951x on clean 7780, 7770 (6), chairs
        0.85-0.97x (bench_fit_cpu side by side with main, load 1-12; a rerun of 7791 at load 3-4:
        0.964x, its chairs 0.91x and 1.00x), every fit the same."""
        if detach:
            with torch.enable_grad():
                meshes, trans = self._meshes(g, unit, pose)
            with torch.no_grad():
                return self._score(g, [(r, w.detach(), t, y.detach()) for r, w, t, y in meshes[0]],
                                   trans.detach(), meshes[1], cache, reuse)
        meshes, trans = self._meshes(g, unit, pose)
        return self._score(g, meshes[0], trans, meshes[1], cache, reuse)

    def _meshes(self, g: Genomes, unit: torch.Tensor | None, pose: torch.Tensor | None):
        if unit is None:
            unit = torch.from_numpy(g.unit).to(self.dtype)
        if pose is None:
            pose = torch.from_numpy(g.pose).to(self.dtype)
        self.evaluations += len(g)
        keys = [] if self.losses.part_sampler is not None else None
        meshes, trans = self.posed_meshes(g.disc, unit, pose, keys)
        return (meshes, keys), trans

    def _score(self, g: Genomes, meshes: list, trans: torch.Tensor, keys: list | None, cache: dict | None,
               reuse: bool) -> dict:
        P = len(g)
        keys = keys or [None] * len(meshes)
        shapes = [(tuple(m[2].shape),) for m in meshes]  # each batch's topologies' triangle shapes
        slack = self.pad_slack if cache is None else self.pad_slack_refine
        if slack >= 0 and len(meshes) > 1:
            groups = merge_groups([(len(m[0]), m[1].shape[1], m[2].shape[0]) for m in meshes], slack)
            shapes = [tuple(tuple(meshes[j][2].shape) for j in i) for i in groups]
            keys = [keys[i[0]] if len(i) == 1 or keys[0] is None
                    else pad_keys([meshes[j] for j in i], [keys[j] for j in i]) for i in groups]
            meshes = [meshes[i[0]] if len(i) == 1 else pad_meshes([meshes[j] for j in i]) for i in groups]
        result: dict = {}
        for (rows, world, tris, yaw), shape, parts in zip(meshes, shapes, keys):
            if cache is None:
                terms = self.losses.terms(world, tris, yaw, parts=parts)
            else:
                key = (tuple(rows.tolist()), shape)
                hit = cache.get(key) if reuse else None
                terms = self.losses.terms(world, tris, yaw, proposals=hit, parts=parts,
                                          propose=0 if hit is not None else self.losses.config.reuse_proposals)
                if "proposals" in terms:
                    cache[key] = terms.pop("proposals")
            for k, v in terms.items():
                if k not in result:
                    result[k] = torch.zeros(P, dtype=v.dtype)
                result[k] = result[k].index_put((rows,), v)
        result["translation"] = trans
        return result


def local_extents(space: SearchSpace, disc: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """(P,3) extents of the shapes' boxes in their own frame (no pose), at least 1 mm."""
    with torch.no_grad():
        groups = space.program.evaluate(space.values(disc, torch.from_numpy(unit).float()))
    local = np.zeros((len(disc), 3))
    for g in groups:
        v = g.vertices
        if v.shape[1]:
            local[g.index.numpy()] = (v.amax(1) - v.amin(1)).double().numpy()
    return np.maximum(local, 1e-3)


def yaw_hypotheses(target: ObjectTarget) -> tuple[np.ndarray, np.ndarray]:
    """The 4 axis-aligned yaws of the observed footprint's principal axes, and its centre."""
    yaw0, centre = target.footprint_pose()
    return np.array([yaw0 + k * math.pi / 2 for k in range(4)]), centre
