"""Gradient refinement of candidates: Adam on float parameters (unit range) and pose.

Discrete values stay fixed. Float parameters live in [0, 1] (their range mapped linearly) and
are projected back into it after every step; yaw, footprint centre and log scale are free
(log scale clamped to the search space's range). Every candidate keeps the best state it
visited, so refinement never makes a candidate worse.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .candidates import Genomes, Scorer


@dataclass
class RefineConfig:
    lr_unit: float = 0.02
    """Adam step on float parameters in unit range (0.02 of a 1 m range = 2 cm)."""
    lr_yaw: float = 0.02
    lr_xy: float = 0.01
    lr_scale: float = 0.01
    cosine: bool = True
    """Cosine decay of the learning rates to 10 % over the steps."""
    proposal_refresh: int = 4
    """Coverage's nearest-triangle proposals are searched afresh every this many steps and
    reused in between (`Scorer.score`'s cache; 1: every step). Reused ones can only
    overestimate a distance, and the returned losses are exact (re-scored where the best state
    came from a step with reused proposals)."""


class Adam:
    """torch.optim.Adam's update (betas 0.9 and 0.999, eps 1e-8, bias-corrected) for a few
    tensors, each with its own learning rate. Not torch's optimizer: constructing the first one
    in a process imports torch._dynamo, 1.2 s of CPU (measured 2026-12-05: 1.16-1.21 s; a
    realistic bookshelf's whole fit is 13-15 s)."""

    def __init__(self, params: list, betas: tuple = (0.9, 0.999), eps: float = 1e-8):
        self.params = [(p, lr, torch.zeros_like(p), torch.zeros_like(p)) for p, lr in params]
        self.b1, self.b2 = betas
        self.eps = eps
        self.t = 0

    def zero_grad(self) -> None:
        for p, *_ in self.params:
            p.grad = None

    def step(self, lr_factor: float = 1.0) -> None:
        """One update with every learning rate times `lr_factor`."""
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        with torch.no_grad():
            for p, lr, m, v in self.params:
                if p.grad is None:
                    continue
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                p.addcdiv_(m, (v.sqrt() / math.sqrt(c2)).add_(self.eps), value=-lr * lr_factor / c1)


def refine(scorer: Scorer, g: Genomes, steps: int, config: RefineConfig = RefineConfig(),
           abandon: tuple[int, float] | None = None, history: list | None = None):
    """Refine genomes in one batch for `steps` Adam steps. Returns (genomes, total loss (P,)).

    `abandon` (k, bound): after k steps, rows whose best loss so far is above `bound` stop there
    (keeping their best state and its loss) and the others go on alone, so their remaining steps
    cost only their own rows; the cosine schedule stays the one of `steps`. `history`: when a
    list, every step's losses (P,) are appended (NaN for stopped rows)."""
    if len(g) == 0:
        return g, np.zeros(0)
    dtype = scorer.dtype
    best = g.take(np.arange(len(g)))
    best_loss = np.full(len(g), np.inf)
    exact = np.ones(len(g), dtype=bool)  # best_loss without reused proposals
    live = np.arange(len(g))  # rows still stepping
    cur = g.take(live)
    unit = torch.tensor(cur.unit, dtype=dtype, requires_grad=True)
    p0 = torch.tensor(cur.pose, dtype=dtype)
    yaw = p0[:, 0].clone().requires_grad_(True)
    xy = p0[:, 1:3].clone().requires_grad_(True)
    log_scale = p0[:, 3].clone().requires_grad_(scorer.space.scale_range > 0)
    groups = [(unit, config.lr_unit), (yaw, config.lr_yaw), (xy, config.lr_xy)]
    if log_scale.requires_grad:
        groups.append((log_scale, config.lr_scale))
    opt = Adam(groups)  # Adam is invariant to gradient scale: one learning rate per unit
    cache = {} if config.proposal_refresh > 1 else None
    for step in range(steps + 1):
        if abandon is not None and step == abandon[0] and 0 < step < steps:
            keep = best_loss[live] <= abandon[1]
            if not keep.all():
                if not keep.any():
                    break
                live = live[keep]
                cur = cur.take(np.flatnonzero(keep))
                opt.params, (unit, yaw, xy, log_scale) = _subset(opt.params, (unit, yaw, xy, log_scale), keep)
                cache = {} if cache is not None else None  # cached proposals are keyed by batch rows
        pose = torch.cat([yaw[:, None], xy, log_scale[:, None]], 1)
        if step == steps:  # the last state needs no gradient: scored exactly (the program's evaluation
            total = scorer.score(cur, unit, pose, detach=True)["total"]  # replayed as in the steps)
            reused = False
        else:
            reused = cache is not None and step % config.proposal_refresh != 0
            total = scorer.score(cur, unit, pose, cache=cache, reuse=reused)["total"]
        loss_now = total.detach().double().numpy()
        if history is not None:
            row = np.full(len(g), np.nan)
            row[live] = loss_now
            history.append(row)
        better = loss_now < best_loss[live]
        if better.any():
            rows = live[better]
            best.unit[rows] = unit.detach().double().numpy()[better]
            best.pose[rows] = pose.detach().double().numpy()[better]
            best_loss[rows] = loss_now[better]
            exact[rows] = not reused
        if step == steps:
            break
        opt.zero_grad()
        total.sum().backward()
        f = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))) if config.cosine else 1.0
        opt.step(f)
        with torch.no_grad():
            unit.clamp_(0.0, 1.0)
            r = scorer.space.scale_range
            log_scale.clamp_(-r, r)
    best.pose[:, 0] = (best.pose[:, 0] + math.pi) % (2 * math.pi) - math.pi
    if not exact.all():
        rows = np.flatnonzero(~exact)
        with torch.no_grad():
            best_loss[rows] = scorer.score(best.take(rows))["total"].double().numpy()
    return best, best_loss


def _subset(state: list, tensors: tuple, keep: np.ndarray) -> tuple[list, tuple]:
    """Adam's (param, lr, m, v) list and the parameter tensors, cut to the rows `keep`; the new
    leaves replace the old ones in the optimiser (same learning rates and moments)."""
    idx = torch.from_numpy(np.flatnonzero(keep))
    new = {}
    for t in tensors:
        cut = t.detach()[idx].clone().requires_grad_(t.requires_grad)
        new[id(t)] = cut
    out_state = [(new[id(p)], lr, m[idx].clone(), v[idx].clone()) for p, lr, m, v in state]
    return out_state, tuple(new[id(t)] for t in tensors)
