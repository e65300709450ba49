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


def refine(scorer: Scorer, g: Genomes, steps: int, config: RefineConfig = RefineConfig()):
    """Refine genomes in one batch for `steps` Adam steps. Returns (genomes, total loss (P,))."""
    if len(g) == 0:
        return g, np.zeros(0)
    dtype = scorer.dtype
    unit = torch.tensor(g.unit, dtype=dtype, requires_grad=True)
    p0 = torch.tensor(g.pose, dtype=dtype)
    yaw = p0[:, 0].clone().requires_grad_(True)
    xy = p0[:, 1:3].clone().requires_grad_(True)
    log_scale = p0[:, 3].clone().requires_grad_(scorer.space.scale_range > 0)
    groups = [(unit, config.lr_unit), (yaw, config.lr_yaw), (xy, config.lr_xy)]
    if log_scale.requires_grad:
        groups.append((log_scale, config.lr_scale))
    opt = Adam(groups)  # Adam is invariant to gradient scale: one learning rate per unit
    best = g.take(np.arange(len(g)))
    best_loss = np.full(len(g), np.inf)
    cache = {} if config.proposal_refresh > 1 else None
    exact = np.ones(len(g), dtype=bool)  # best_loss without reused proposals
    for step in range(steps + 1):
        pose = torch.cat([yaw[:, None], xy, log_scale[:, None]], 1)
        if step == steps:  # the last state needs no gradient: scored exactly
            with torch.no_grad():
                total = scorer.score(g, unit, pose)["total"]
            reused = False
        else:
            reused = cache is not None and step % config.proposal_refresh != 0
            total = scorer.score(g, unit, pose, cache=cache, reuse=reused)["total"]
        loss_now = total.detach().double().numpy()
        better = loss_now < best_loss
        if better.any():
            best.unit[better] = unit.detach().double().numpy()[better]
            best.pose[better] = pose.detach().double().numpy()[better]
            best_loss[better] = loss_now[better]
            exact[better] = not reused
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
