"""Candidate encoding (genomes) and batched scoring through the compiled program.

A genome is (discrete values, float values in unit range, pose). Pose = (yaw, x, y,
log scale) where (x, y) is the world position of the centre of the shape's footprint box
(so changing a width does not shift the object) and the height comes from the floor
(`pose.place_on_floor`). Only parameters with `sample` true and a non-empty range are searched;
the others keep their defaults.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .losses import CandidateLosses, LossConfig
from .pose import place_on_floor
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


class Scorer:
    """Scores genomes on one target: one program.evaluate call per batch; counts evaluations."""

    def __init__(self, space: SearchSpace, target: ObjectTarget, loss: LossConfig = LossConfig(),
                 dtype=torch.float32):
        self.space = space
        self.target = target
        self.losses = CandidateLosses(target, loss)
        self.dtype = dtype
        self.evaluations = 0

    def posed_meshes(self, disc: np.ndarray, unit: torch.Tensor, pose: torch.Tensor):
        """[(rows, world vertices (b,V,3), triangles, yaw (b,))] per topology, plus translations (P,3)."""
        groups = self.space.program.evaluate(self.space.values(disc, unit), dtype=self.dtype)
        out = []
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
              cache: dict | None = None, reuse: bool = False) -> dict:
        """(P,) loss terms; differentiable w.r.t. `unit`/`pose` when given as tensors.

        `cache` (a dict the caller keeps between calls on the same genomes, `refine.py`): each
        topology's nearest-triangle proposals (`LossConfig.reuse_proposals` per observed point)
        are stored there, and with `reuse` taken from it instead of recomputed where the same
        rows have the same triangles."""
        if unit is None:
            unit = torch.from_numpy(g.unit).to(self.dtype)
        if pose is None:
            pose = torch.from_numpy(g.pose).to(self.dtype)
        P = len(g)
        self.evaluations += P
        meshes, trans = self.posed_meshes(g.disc, unit, pose)
        result: dict = {}
        for rows, world, tris, yaw in meshes:
            if cache is None:
                terms = self.losses.terms(world, tris, yaw)
            else:
                key = (tuple(rows.tolist()), tuple(tris.shape))
                hit = cache.get(key) if reuse else None
                terms = self.losses.terms(world, tris, yaw, proposals=hit,
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
