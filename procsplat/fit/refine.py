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
    groups = [{"params": [unit], "lr": config.lr_unit}, {"params": [yaw], "lr": config.lr_yaw},
              {"params": [xy], "lr": config.lr_xy}]
    if log_scale.requires_grad:
        groups.append({"params": [log_scale], "lr": config.lr_scale})
    opt = torch.optim.Adam(groups)  # Adam is invariant to gradient scale: one group per unit
    best = g.take(np.arange(len(g)))
    best_loss = np.full(len(g), np.inf)
    base = [grp["lr"] for grp in opt.param_groups]
    for step in range(steps + 1):
        pose = torch.cat([yaw[:, None], xy, log_scale[:, None]], 1)
        total = scorer.score(g, unit, pose)["total"]
        loss_now = total.detach().double().numpy()
        better = loss_now < best_loss
        if better.any():
            best.unit[better] = unit.detach().double().numpy()[better]
            best.pose[better] = pose.detach().double().numpy()[better]
            best_loss[better] = loss_now[better]
        if step == steps:
            break
        opt.zero_grad()
        total.sum().backward()
        f = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))) if config.cosine else 1.0
        for grp, lr in zip(opt.param_groups, base):
            grp["lr"] = lr * f
        opt.step()
        with torch.no_grad():
            unit.clamp_(0.0, 1.0)
            r = scorer.space.scale_range
            log_scale.clamp_(-r, r)
    best.pose[:, 0] = (best.pose[:, 0] + math.pi) % (2 * math.pi) - math.pi
    return best, best_loss
