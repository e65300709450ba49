"""Baseline searches in the GA's harness (same space, scorer, seeding and final refinement).

Each runs until an evaluation budget or a time budget is spent, then gives its best candidate
the same final Adam refinement as the GA, so differences come from the search itself.

coordinate_descent  as in the PyTorchGeoNodes reference code: one coordinate at a time over a
                    grid (ints/bools: all values; floats: `grid` values across the range; yaw:
                    the 4 principal-axes hypotheses and small offsets; x, y: offsets), keep the
                    best, cycle until the budget is spent.
random_search       batches of seeded random candidates (box-seeded like the GA's first
                    generation), keep the best.
cma_es              random search for a quarter of the budget, then CMA-ES (`cma` package) on
                    the float parameters + yaw + x, y for the best two discrete configurations,
                    splitting the rest of the budget.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .candidates import Genomes, Scorer, SearchSpace
from .losses import LossConfig
from .pose import wrap_angle
from .refine import RefineConfig, refine
from .search import FitResult, initial_population, result_from


@dataclass
class BaselineConfig:
    max_evaluations: int = 1500
    max_seconds: float = float("inf")
    """Search stops at whichever budget runs out first (the final refinement comes after)."""
    batch: int = 64
    grid: int = 8
    final_steps: int = 80
    loss: LossConfig = field(default_factory=LossConfig)
    refine_config: RefineConfig = field(default_factory=RefineConfig)
    seed: int = 0


class _Budget:
    def __init__(self, scorer: Scorer, cfg: BaselineConfig):
        self.scorer, self.cfg, self.t0 = scorer, cfg, time.perf_counter()

    def left(self) -> int:
        if time.perf_counter() - self.t0 >= self.cfg.max_seconds:
            return 0
        return max(self.cfg.max_evaluations - self.scorer.evaluations, 0)


def _score(scorer: Scorer, g: Genomes) -> np.ndarray:
    with torch.no_grad():
        return scorer.score(g)["total"].double().numpy()


def _finish(scorer: Scorer, best: Genomes, cfg: BaselineConfig, method: str, t0: float, curve: list) -> FitResult:
    if cfg.final_steps > 0:
        best, fit = refine(scorer, best, cfg.final_steps, cfg.refine_config)
        curve.append((scorer.evaluations, float(fit[0])))
    return result_from(scorer, best, method, scorer.evaluations, time.perf_counter() - t0, curve)


def _start(program, target, cfg):
    """What every baseline begins with: clock, seeded RNG, search space, scorer, budget."""
    t0 = time.perf_counter()
    space = SearchSpace(program)
    scorer = Scorer(space, target, cfg.loss)
    return t0, np.random.default_rng(cfg.seed), space, scorer, _Budget(scorer, cfg)


def random_search(program, target, config: BaselineConfig = BaselineConfig()) -> FitResult:
    cfg = config
    t0, rng, space, scorer, budget = _start(program, target, cfg)
    best, best_fit, curve = None, np.inf, []
    while True:
        n = min(cfg.batch, budget.left() // 2)  # the box seeding evaluates 1 shape per candidate too
        if n < 1:
            break
        g, used = initial_population(space, target, n, rng, math.radians(3.0), 0.03, oversample=1)
        scorer.evaluations += used
        fit = _score(scorer, g)
        i = int(np.argmin(fit))
        if fit[i] < best_fit:
            best, best_fit = g.take([i]), float(fit[i])
        curve.append((scorer.evaluations, best_fit))
    if best is None:
        raise ValueError("random_search: the budget allows no evaluation")
    return _finish(scorer, best, cfg, "random", t0, curve)


def coordinate_descent(program, target, config: BaselineConfig = BaselineConfig()) -> FitResult:
    cfg = config
    t0, rng, space, scorer, budget = _start(program, target, cfg)
    # Start: the best of a small box-seeded population (the reference starts from defaults).
    g, used = initial_population(space, target, 8, rng, 0.0, 0.0, oversample=2)
    scorer.evaluations += used
    fit = _score(scorer, g)
    i = int(np.argmin(fit))
    best, best_fit = g.take([i]), float(fit[i])
    curve = [(scorer.evaluations, best_fit)]
    coords = [("disc", j) for j in range(space.num_discrete)] + [("unit", j) for j in range(len(space.floats))]
    coords += [("yaw", 0), ("x", 1), ("y", 2)]
    while budget.left() > 0:
        improved = False
        for kind, j in coords:
            if budget.left() <= 0:
                break
            if kind == "disc":
                values = np.arange(space.disc_lo[j], space.disc_hi[j] + 1)
            elif kind == "unit":
                values = (np.arange(cfg.grid) + 0.5) / cfg.grid
            elif kind == "yaw":
                base = best.pose[0, 0]
                values = np.concatenate([base + np.arange(1, 4) * math.pi / 2,
                                         base + np.radians([-10, -5, -2, 2, 5, 10])])
            else:
                values = best.pose[0, j] + np.array([-0.2, -0.1, -0.05, -0.02, 0.02, 0.05, 0.1, 0.2])
            cand = best.take(np.zeros(len(values), dtype=np.int64))
            if kind == "disc":
                cand.disc[:, j] = values
            elif kind == "unit":
                cand.unit[:, j] = values
            else:
                cand.pose[:, j] = values
            fit = _score(scorer, cand)
            i = int(np.argmin(fit))
            if fit[i] < best_fit - 1e-9:
                best, best_fit, improved = cand.take([i]), float(fit[i]), True
            curve.append((scorer.evaluations, best_fit))
        if not improved and budget.left() > 0:
            # Converged on this grid: a few gradient steps move floats off the grid so the next
            # sweep can improve again.
            best, f = refine(scorer, best, 5, cfg.refine_config)
            best_fit = float(f[0])
            curve.append((scorer.evaluations, best_fit))
    best.pose[:, 0] = wrap_angle(best.pose[:, 0])
    return _finish(scorer, best, cfg, "coord", t0, curve)


def cma_es(program, target, config: BaselineConfig = BaselineConfig()) -> FitResult:
    import cma

    cfg = config
    t0, rng, space, scorer, budget = _start(program, target, cfg)
    # Phase 1: random search for the discrete part.
    pool, pool_fit = [], []
    while (scorer.evaluations < cfg.max_evaluations // 4 and time.perf_counter() - t0 < cfg.max_seconds / 4
           and budget.left() > 0):
        n = min(cfg.batch, max(budget.left() // 2, 1))
        g, used = initial_population(space, target, n, rng, math.radians(3.0), 0.03, oversample=1)
        scorer.evaluations += used
        pool.append(g)
        pool_fit.append(_score(scorer, g))
    pool_g = Genomes.concat(pool)
    fit = np.concatenate(pool_fit)
    order = np.argsort(fit, kind="stable")
    starts, seen = [], set()
    for i in order:
        key = tuple(pool_g.disc[i])
        if key not in seen:
            seen.add(key)
            starts.append(int(i))
        if len(starts) == 2:
            break
    best, best_fit = pool_g.take([order[0]]), float(fit[order[0]])
    curve = [(scorer.evaluations, best_fit)]
    F = len(space.floats)
    yaw_unit, xy_unit = 0.5, 0.1  # CMA works in units where a step of 1 is 0.5 rad / 0.1 m
    for s_i, start in enumerate(starts):
        share = budget.left() // (len(starts) - s_i)
        stop_at = scorer.evaluations + share
        time_left = cfg.max_seconds - (time.perf_counter() - t0)
        stop_time = time.perf_counter() + time_left / (len(starts) - s_i)
        s0 = pool_g.take([start])
        x0 = np.concatenate([s0.unit[0], [s0.pose[0, 0] / yaw_unit], s0.pose[0, 1:3] / xy_unit])
        es = cma.CMAEvolutionStrategy(x0, 0.15, {"seed": int(rng.integers(1, 2**31)), "verbose": -9,
                                                 "popsize": 16})
        while scorer.evaluations < stop_at and time.perf_counter() < stop_time and budget.left() > 0:
            xs = np.array(es.ask())
            g = s0.take(np.zeros(len(xs), dtype=np.int64))
            g.unit = np.clip(xs[:, :F], 0, 1)
            g.pose[:, 0] = xs[:, F] * yaw_unit
            g.pose[:, 1:3] = xs[:, F + 1:F + 3] * xy_unit
            f = _score(scorer, g)
            # Out-of-range floats are clipped; a penalty keeps CMA's mean inside the box.
            f_pen = f + np.square(xs[:, :F] - g.unit).sum(1)
            es.tell(list(xs), f_pen.tolist())
            i = int(np.argmin(f))
            if f[i] < best_fit:
                best, best_fit = g.take([i]), float(f[i])
            curve.append((scorer.evaluations, best_fit))
    best.pose[:, 0] = wrap_angle(best.pose[:, 0])
    return _finish(scorer, best, cfg, "cma", t0, curve)
