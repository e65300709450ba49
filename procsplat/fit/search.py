"""Memetic genetic algorithm over a program's discrete and float parameters plus pose.

One generation: the population (kept elites + offspring + random immigrants) is scored in
one batched call; the best `keep` survive unchanged (elitism); parents are picked by
tournament among them; children take every gene from either parent (uniform crossover; pose
as one block) and are mutated (ints resampled, bools flipped, floats and pose jittered,
occasionally a 90/180 degree yaw turn). The best `refine_fraction` of each generation get
`refine_steps` Adam steps on float parameters and pose (`refine.py`); the winner goes through
a discrete neighbourhood sweep (`sweep.py`), gets `final_steps` more, and a last look at its
quarter turns (`last_turn`), optionally fresh float draws (`last_restart`, off by default) and
single discrete changes (`last_flip`), and last its near-symmetric turns (`last_symmetry`: a
five-star base's 72 degrees). Yaw and footprint
centre start from the observed points (the direction of their vertical surfaces, else the
minimum-area footprint rectangle; 4 axis-aligned yaw hypotheses spread evenly over the first
population).

Everything random draws from one numpy Generator seeded by `seed`: same seed, same result.
Evaluations count shapes evaluated: every scored candidate, every shape of the box-seeding pool,
and every candidate in every refinement step (forward + backward counts once).
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Annotated, Union

import numpy as np
import torch
import tyro

from procsplat.errors import ProcsplatError

from .candidates import Genomes, Scorer, SearchSpace, local_extents
from .consistency import ConsistencyConfig
from .result import FitResult, result_from
from .losses import LossConfig
from .pose import wrap_angle
from .refine import RefineConfig, refine
from .sweep import box_matched, discrete_sweep, last_flip, last_turn
from .symmetry import local_mesh, near_turns, turn_angles, turned
from .target import ObjectTarget


@dataclass
class GAConfig:
    population: int = 64
    keep: int = 16
    offspring: int = 44
    """population - keep - offspring random immigrants join every generation."""
    generations: int = 7
    tournament: int = 3
    mutation_rate: float = 0.15
    """Per-gene probability of mutating a discrete value or float parameter."""
    float_sigma: float = 0.08
    """Float mutation: Gaussian step in unit range."""
    yaw_sigma_deg: float = 4.0
    yaw_turn_prob: float = 0.1
    """Probability of a 90/180/270 degree yaw turn (the principal-axes hypotheses)."""
    xy_sigma: float = 0.03
    init_yaw_sigma_deg: float = 3.0
    init_xy_sigma: float = 0.03
    niche_fraction: float = 0.6
    """For this fraction of the generations the elites are split evenly between the 4 yaw
    hypotheses (niches), and both parents of a child come from one niche, so one early yaw
    winner cannot take over before the discrete parameters had a chance under the others."""
    refine_fraction: float = 0.1
    refine_steps: int = 8
    final_steps: int = 60
    sweep_rounds: int = 3
    """Discrete neighbourhood sweep of the winner before its final refinement (`sweep.py`);
    0 switches it off (the paper preset has none)."""
    sweep_min_gain: float = 0.05
    """A further sweep round only after one that lowered the loss by more than this fraction:
    a bookshelf's third round took 6 of its 26 s for a 0.5 % gain (float polish, which the
    final refinement does anyway)."""
    sweep_samples: int = 8
    sweep_refine: int = 6
    sweep_steps: int = 15
    sweep_probe_steps: int = 3
    """Gradient steps every discrete neighbour gets before the best `sweep_refine` are chosen."""
    sweep_extend: int = 2
    sweep_extra_steps: int = 30
    """The best `sweep_extend` refined neighbours within 2x the incumbent's loss get this many
    more steps (a bookshelf's 3 cm legs swapped for thicker boards: 15 steps 0.00126, 60 steps
    0.00017, incumbent 0.00096). Generations 10 -> 7 paid for these steps and the finer losses
    (20 s per object budget)."""
    sweep_later_margin: float = 2.0
    """From the sweep's second round on, only neighbours whose best screened draw scores below
    this times the incumbent's screened loss are probed and refined (0: all, as in the first).
    A second round mostly follows a turn or a part fixed in the first and finds nothing (the demo
    chair's: neighbours at 4.1x and more, 6.7 of its 16 CPU s); every later-round winner on 6
    synthetic objects screened at 0.52-1.31x (first-round winners up to 4.1x: the first round
    keeps probing all)."""
    sweep_abandon_steps: int = 5
    sweep_abandon_factor: float = 4.0
    """With `sweep_abandon_steps` k > 0: a sweep row whose loss after k of its `sweep_steps` is
    above this times the incumbent's stops there (0: every row gets every step). Winners were at
    0.13-2.23x after 5 steps (6 synthetic objects, 16 rounds). With the margin above: CPU 0.84x
    on those objects (scripts/sweep_rounds.py), the same final losses."""
    sweep_extend_rounds: int = 0
    """Only the sweep's first this many rounds give their closest rows `sweep_extra_steps` more
    (0, the default: every round). A later round follows a win and mostly finds nothing (the
    realistic office chair of seed 7791: its second round 3.8 of 23.7 CPU s, its 2 extended rows
    1.4 s of that, at 1.04x the incumbent, no win). Measured with 1 against 0 (2026-12-06,
    `scripts/bench_fit_cpu.py --seeds 7790 7791 7780 7740 [--clean] --set sweep_extend_rounds=1`,
    12 objects each, load 6-18): evaluations 0.971x (realistic) and 0.963x (clean); realistic
    discrete 83.6 % both, MAE 0.99 -> 0.97 cm, 9 of 12 fits the same; clean discrete 100 -> 98.2 %
    (a table's miss at 0.88x main's loss), MAE 0.15 cm both, 6 fits changed at 0.70-1.47x their
    loss; run side by side on realistic 7791, CPU 24.6 -> 22.9 s/object (0.93x, the same fits).
    Off: a few per cent for a clean miss."""
    sweep_box: bool = True
    """Each discrete neighbour also resized to the observed box (`sweep.box_matched`)."""
    sweep_own_combos: int = 8
    """Sweep: each combination (up to this many) of the values a change switches on, with the incumbent's floats."""
    sweep_anchors: bool = True
    """Sweep: a change that resizes the footprint keeps each side of the incumbent's box (`sweep.anchored`)."""
    sweep_box_turns: bool = False
    """Sweep: the odd quarter turns resized to the observed box (off). All three measured: `sweep.neighbours`."""
    sweep_matched_steps: int = 0
    """Sweep: own-values rows with shared floats matched to the incumbent's shape (0: off; `sweep.shape_matched`)."""
    restart_draws: int = 0
    """`last_restart`: this many fresh draws of all float parameters at the winner's discrete values
    and pose after the final refinement (0, the default: off). Measured with 16 (2026-12-05, replayed
    exactly from the searches' states before `last_flip` on dev seeds 7720-7721 (scene 7721),
    7730-7731, 7740-7741 and 5100, load 12-20): clean 12 objects discrete 97.0 % both, MAE 0.49 ->
    0.28 cm (a bed 4.83 -> 2.08 cm); realistic 14 objects the same discrete values on every one, a
    sofa's loss 4.95x -> 1.04x the refined truth's (MAE 3.54 -> 1.86 cm), but where the loss
    prefers a wrong shape it goes further (a sofa 1.54 -> 2.11 cm); evaluations +115-131 per
    object (~6 %). Off: the discrete accuracy it was meant for did not rise."""
    restart_refine: int = 3
    flip_refine_top: int = 1
    """`last_flip`: the best this many single discrete changes of the final winner (by unrefined loss) are
    refined `final_steps` whatever they score unrefined; the lowest replaces the winner when below
    (1 - `flip_refine_gain`) x its loss (0: only a change scoring lower unrefined, refined `sweep_steps`).
    A change that swaps one part for another scores only once the floats follow it: a bookshelf fitted
    with legs instead of its plinth (7821 #3; the sweep ran at earlier floats) scored legs off at 0.002068
    unrefined against 0.002005 (realistic), 0.002047 after 15 steps, 0.001875 after 60 (truth 0.002085);
    clean 0.000816 against 0.000126, 0.000544, 0.000088 (truth 0.000085). bench-fit on dev seeds 7820,
    7780, 7790, 7760 (22 clean, 23 realistic objects), with the gain: misses fixed 7821 #3 (clean and
    realistic) and 7821 #1's realistic footboard (seen 0 %), none added (realistic 98 -> 100 of 112
    discrete values, clean 104 -> 105 of 111, MAE and yaw not worse); evaluations +61 per object (+3 %),
    CPU quiet (`scripts/bench_fit_cpu.py --seeds 7840`, 0 vs 1): 13.9 -> 16.2 s/object (a chair +4.4 s)."""
    flip_refine_gain: float = 0.05
    """Without it (0), the 60 extra steps alone let changes on hidden surface win: a clean bookshelf's
    divider count (7780 #2, seen 27 %: 0.000137 -> 0.000131, truth 0.000101; 7771 #2, seen 0 %: 0.000329
    -> 0.000314) and a realistic bed's pillow count (7820 #1: 0.001973 -> 0.001941, truth 0.001924),
    gains of 1.6-4.6 %; the true changes gained 6.5 % (7821 #3 realistic), 30 % (clean) and 10 % (7821 #1).
    0.05 is `sweep_min_gain`'s value, chosen after seeing these cases (refining the winner alongside
    instead, as `last_symmetry` does, kept all three wrong changes)."""
    symmetry_turns: bool = True
    """`last_symmetry`: after everything else, the winner turned by the turns that leave its own shape
    nearly unchanged (`symmetry.near_turns`: 2 pi j / k for k in `symmetry_orders`, no quarter turns,
    mean surface distance below `symmetry_tolerance`) and, with itself, refined `symmetry_steps` in
    one batch; the lowest wins. Only near-symmetric shapes pay (a five-star base: 4 turns, 5 rows
    x 60 steps, 2.6 CPU s under load on a 13 s chair; the check itself 0.05-0.25 s). Measured on
    dev seed 7781's backless five-star chair (2 cm elliptic seat), fitted 72 degrees off: clean
    0.000185 -> 0.000143 (refined truth 0.000140), realistic 0.002477 -> 0.002473 (truth 0.002485),
    both then at the true yaw (0.0 / 0.3 degrees); with 30 steps the clean one took a wrong arm
    (0.000151 at 144 degrees against 0.000162 at 0), and the incumbent refined with them keeps the
    comparison fair (those extra steps alone lowered it to 0.000178). Dev seeds 7780-7781, 7790-7791,
    7740-7741 (18 objects each, 2026-12-06, under load): only those two chairs changed; yaw clean
    4.04 -> 0.05 deg, realistic 4.25 -> 0.32 deg, MAE 0.44 -> 0.41 / 1.19 -> 1.18 cm, discrete the
    same (98.9 / 86.4 %), CPU +0.22 / +0.27 s per object (13.68 / 16.13 s)."""
    symmetry_orders: tuple[int, ...] = (3, 5, 6, 8)
    """No 7: its 103 degrees are 13 from a quarter turn, near for anything round enough (a round
    table top on a four-arm foot: 3 mm), and the refinement turns back from there; the others'
    turns lie at least 18 degrees (72) from every quarter turn."""
    symmetry_max_turns: int = 4
    """At most this many turns (the nearest) join the batch; a shape near every turn tried (a round
    seat or top on a pedestal) has no yaw to find and tries none."""
    symmetry_tolerance: float = 0.003
    """Metres of mean surface distance: the true 7781 chair turned by 72/144 degrees (about its
    column) 1.1-1.4 mm, by 45/135/60 degrees (its near-round seat alone) 5-17 mm, a cabinet 3-5 cm."""
    symmetry_steps: int = 60
    coarse_points: int = 0
    """Coarse-to-fine (0: off, the default): the generations (scoring and their refinement
    steps) and the sweep's screening of its neighbours see at most this many observed points and
    `coarse_samples` surface samples per candidate (`Scorer.coarse`); the generations' best
    `keep` are then re-scored with the full loss (`loss.max_points`, `loss.num_samples`), which
    the sweep's refinements and the final refinement use throughout. The result's curve holds
    coarse losses up to the re-scoring, full ones from there on. Measured with 400/400 on dev
    seeds 7720-7721, 7730-7731, 5100-5102 (20 objects each, 2026-12-05, under load): CPU
    seconds 0.77x (clean) and 0.81x (realistic), clean discrete 91.0 -> 94.0 %, but realistic
    85.2 -> 81.2 % (a realistic cabinet and chair ended at 2.4x and 1.15x the loss the full
    search reached: the coarse loss of noisy, bleeding depth picked the wrong basin), so it is
    off until a coarse loss that keeps realistic accuracy is found."""
    coarse_samples: int = 400
    sweep_screen_points: int = 0
    """With coarse-to-fine off (`coarse_points` 0): the sweep's screening alone (the ranking of
    its unrefined neighbours' draws and of its pairs, `sweep.discrete_sweep`'s `screen`) sees at
    most this many observed points and `sweep_screen_samples` surface samples per candidate
    (`Scorer.coarse`); the generations, the sweep's refinements and every loss compared use the
    full loss. 0 (the default): the full loss screens too. Measured with 400/400 against 0 on dev
    seeds 7720-7721, 7730-7731, 5100-5102 (20 objects each, the same cached targets, 1 thread,
    load 2.6-8.2, 2026-12-05): CPU 0.959x (clean) and 0.976x (realistic), chairs 0.89x / 0.93x;
    clean discrete 91.0 -> 92.0 %, MAE 0.49 -> 0.46 cm; realistic 85.1 -> 83.2 %, MAE 1.25 ->
    1.31 cm (a bookshelf and a cabinet each lost a discrete value at a lower loss than before:
    the screen found shapes the loss prefers to the truth), so it stays off."""
    sweep_screen_samples: int = 400
    scale_range: float = 0.0
    """Search a uniform scale with |log scale| <= this (0: no scale)."""
    loss: LossConfig = field(default_factory=LossConfig)
    refine_config: RefineConfig = field(default_factory=RefineConfig)
    seed: int = 0
    consistent: bool = True
    """After all objects of a scene are fitted, objects of one program whose fitted boxes agree
    (`consistency.extent_tolerance`) are re-scored jointly and share one discrete assignment when
    their summed loss under it is at most `consistency.loss_tolerance` above the sum of their own
    (`consistency.py`; `fit_scene` only, not single-object searches). Here rather than in
    FitConfig: the GAConfig is what reaches `fit_scene` from `procsplat fit`, `procsplat train`
    (its `ga:` preset) and Python callers alike."""
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)
    workers: int = 0
    """Objects of a scene fitted at once, each in its own process (`procsplat.fit.workers`;
    `fit_scene` only): 0 = one per available core (1 inside a process running other threads, e.g.
    the viewer), 1 = one after the other here. Each fit gives the same result as alone (its own
    seeded search); two fits at once on 2 cores each take 0.99x their solo time (bench_threads)."""


PRESETS = {
    "fast": GAConfig(population=32, keep=8, offspring=22, generations=5, refine_fraction=0.1, refine_steps=5,
                     final_steps=30),
    "default": GAConfig(),
    # The paper's settings: population 100, keep 32, 64 offspring, 20 generations, top 20 % refined
    # for 50 steps each generation, 500 final steps.
    "paper": GAConfig(population=100, keep=32, offspring=64, generations=20, refine_fraction=0.2,
                      refine_steps=50, final_steps=500, sweep_rounds=0),
}


# A GAConfig field typed GAPreset is a choice of preset on the command line (`ga:fast`, `ga:default`,
# `ga:paper`), each with its own flags to override (`ga:paper --ga.generations 10`).
GAPreset = Union[tuple(Annotated[GAConfig, tyro.conf.subcommand(name, default=cfg)] for name, cfg in PRESETS.items())]


def preset(name: str, **overrides) -> GAConfig:
    if name not in PRESETS:
        raise ProcsplatError(f"unknown fitting preset '{name}' (known: {', '.join(PRESETS)})")
    return replace(PRESETS[name], **overrides)


def initial_population(space: SearchSpace, target: ObjectTarget, n: int, rng: np.random.Generator,
                       yaw_sigma: float, xy_sigma: float, oversample: int = 4) -> tuple[Genomes, int]:
    """n genomes seeded from the observed box; returns (genomes, shape evaluations used).

    `oversample` x n random parameter sets are evaluated (shapes only, no losses) and each gets
    the principal-axes yaw hypothesis whose rotated box best matches the observed box (the
    other of the two equivalent ones, 180 degrees apart, at random). Half of the population
    are the sets whose box matches best (|log| extent ratios), the other half random ones
    from the pool, so a wrong box estimate (partial views) cannot starve the search.
    """
    pool = space.random(max(n * oversample, n), rng)
    yaw0, centre, ext = target.footprint_box()
    local = local_extents(space, pool.disc, pool.unit)
    obs = np.maximum(ext, 1e-3)
    # Hypothesis k even: local x along the principal axis; odd: local y along it.
    cost_even = np.abs(np.log(local[:, 0] / obs[0])) + np.abs(np.log(local[:, 1] / obs[1]))
    cost_odd = np.abs(np.log(local[:, 1] / obs[0])) + np.abs(np.log(local[:, 0] / obs[1]))
    odd = cost_odd < cost_even
    cost = np.minimum(cost_even, cost_odd) + np.abs(np.log(local[:, 2] / obs[2]))
    k = odd.astype(int) + 2 * rng.integers(0, 2, len(pool))
    pool.pose[:, 0] = yaw0 + k * math.pi / 2 + rng.normal(0, yaw_sigma, len(pool))
    pool.pose[:, 1:3] = centre + rng.normal(0, xy_sigma, (len(pool), 2))
    best = np.argsort(cost, kind="stable")[: (n + 1) // 2]
    rest = np.setdiff1d(np.arange(len(pool)), best)
    chosen = np.concatenate([best, rng.choice(rest, n - len(best), replace=False)]) if n > len(best) else best
    return pool.take(chosen), len(pool)


def mutate(space: SearchSpace, g: Genomes, cfg: GAConfig, rng: np.random.Generator) -> Genomes:
    P = len(g)
    D = space.num_discrete
    if D:
        hit = rng.uniform(size=(P, D)) < cfg.mutation_rate
        span = space.disc_hi - space.disc_lo
        # A different value: shift by 1..span (mod span+1) from the current one.
        shift = rng.integers(1, np.maximum(span, 1) + 1, size=(P, D))
        new = space.disc_lo + (g.disc - space.disc_lo + shift) % (span + 1)
        g.disc = np.where(hit & (span > 0), new, g.disc)
    if g.unit.shape[1]:
        hit = rng.uniform(size=g.unit.shape) < cfg.mutation_rate
        g.unit = np.clip(g.unit + hit * rng.normal(0, cfg.float_sigma, g.unit.shape), 0.0, 1.0)
    g.pose[:, 0] += rng.normal(0, math.radians(cfg.yaw_sigma_deg), P)
    turn = rng.uniform(size=P) < cfg.yaw_turn_prob
    g.pose[:, 0] += turn * rng.integers(1, 4, P) * (math.pi / 2)
    g.pose[:, 0] = wrap_angle(g.pose[:, 0])
    g.pose[:, 1:3] += rng.normal(0, cfg.xy_sigma, (P, 2))
    if space.scale_range > 0:
        g.pose[:, 3] = np.clip(g.pose[:, 3] + rng.normal(0, 0.02, P), -space.scale_range, space.scale_range)
    return g


def crossover(a: Genomes, b: Genomes, rng: np.random.Generator) -> Genomes:
    P = len(a)
    md = rng.uniform(size=a.disc.shape) < 0.5
    mu = rng.uniform(size=a.unit.shape) < 0.5
    mp = (rng.uniform(size=(P, 1)) < 0.5)
    return Genomes(np.where(md, a.disc, b.disc), np.where(mu, a.unit, b.unit), np.where(mp, a.pose, b.pose))


def tournament(fitness: np.ndarray, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    entrants = rng.integers(0, len(fitness), size=(n, size))
    return entrants[np.arange(n), np.argmin(fitness[entrants], axis=1)]


def yaw_niche(yaw: np.ndarray, yaw0: float) -> np.ndarray:
    """Which of the 4 principal-axes hypotheses (0..3) each yaw is nearest to."""
    return np.round((yaw - yaw0) / (math.pi / 2)).astype(np.int64) % 4


def select_elites(fit: np.ndarray, niche: np.ndarray | None, keep: int) -> np.ndarray:
    """Indices of the elites of a population sorted by fitness: the global best `keep`, or with
    niches the best keep/4 of each niche, topped up with the best of the rest."""
    if niche is None:
        return np.arange(keep)
    per = max(keep // 4, 1)
    chosen = [i for k in range(4) for i in np.flatnonzero(niche == k)[:per]]
    rest = [i for i in range(len(fit)) if i not in set(chosen)]
    chosen = sorted(chosen + rest[:keep - len(chosen)])[:keep]
    return np.array(chosen, dtype=np.int64)


def pick_parents(elite_fit: np.ndarray, elite_niche: np.ndarray | None, n: int, size: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    a = tournament(elite_fit, n, size, rng)
    if elite_niche is None:
        return a, tournament(elite_fit, n, size, rng)
    b = np.empty_like(a)
    for i, ai in enumerate(a):
        same = np.flatnonzero(elite_niche == elite_niche[ai])
        entrants = same[rng.integers(0, len(same), size)]
        b[i] = entrants[np.argmin(elite_fit[entrants])]
    return a, b


def genetic_search(program, target: ObjectTarget, config: GAConfig = GAConfig(), on_generation=None) -> FitResult:
    """Fit `program` to `target` with the memetic GA; see the module docstring.
    on_generation(done, generations, best loss) after each generation (progress for a GUI)."""
    cfg = config
    if cfg.keep < 1 or cfg.keep + cfg.offspring > cfg.population:
        raise ProcsplatError(f"GAConfig: need 1 <= keep and keep + offspring <= population "
                         f"(got keep {cfg.keep}, offspring {cfg.offspring}, population {cfg.population})")
    if cfg.symmetry_turns and (not cfg.symmetry_orders or min(cfg.symmetry_orders) < 2):
        raise ProcsplatError(f"GAConfig: symmetry_orders must be turn orders >= 2 (got {cfg.symmetry_orders})")
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    space = SearchSpace(program, cfg.scale_range)
    scorer = Scorer(space, target, cfg.loss)
    coarse = scorer.coarse(cfg.coarse_points, cfg.coarse_samples) if cfg.coarse_points > 0 else scorer
    screen = coarse
    if coarse is scorer and cfg.sweep_screen_points > 0 and cfg.sweep_rounds > 0:
        screen = scorer.coarse(cfg.sweep_screen_points, cfg.sweep_screen_samples)

    def evaluations() -> int:
        return scorer.evaluations + sum(s.evaluations for s in {id(coarse): coarse, id(screen): screen}.values()
                                        if s is not scorer)

    yaw_sigma = math.radians(cfg.init_yaw_sigma_deg)
    yaw0 = target.footprint_box()[0]
    pop, used = initial_population(space, target, cfg.population, rng, yaw_sigma, cfg.init_xy_sigma)
    coarse.evaluations += used
    with torch.no_grad():
        fit = coarse.score(pop)["total"].double().numpy()
    curve = [(evaluations(), float(fit.min()))]
    n_refine = max(1, int(round(cfg.refine_fraction * cfg.population))) if cfg.refine_steps > 0 else 0
    for gen in range(cfg.generations):
        order = np.argsort(fit, kind="stable")
        pop, fit = pop.take(order), fit[order]
        if n_refine:  # memetic step: the best of this generation descend a little
            top, top_fit = refine(coarse, pop.take(np.arange(n_refine)), cfg.refine_steps, cfg.refine_config)
            pop.disc[:n_refine], pop.unit[:n_refine], pop.pose[:n_refine] = top.disc, top.unit, top.pose
            fit[:n_refine] = np.minimum(top_fit, fit[:n_refine])
            order = np.argsort(fit, kind="stable")
            pop, fit = pop.take(order), fit[order]
        curve.append((evaluations(), float(fit[0])))
        if on_generation is not None:
            on_generation(gen + 1, cfg.generations, float(fit[0]))
        if gen == cfg.generations - 1:
            break
        niched = gen + 1 < cfg.niche_fraction * cfg.generations
        niche = yaw_niche(pop.pose[:, 0], yaw0) if niched else None
        idx = select_elites(fit, niche, cfg.keep)
        elite, elite_fit = pop.take(idx), fit[idx]
        ia, ib = pick_parents(elite_fit, niche[idx] if niched else None, cfg.offspring, cfg.tournament, rng)
        children = mutate(space, crossover(elite.take(ia), elite.take(ib), rng), cfg, rng)
        n_new = cfg.population - cfg.keep - cfg.offspring
        parts = [children]
        if n_new > 0:
            immigrants, used = initial_population(space, target, n_new, rng, yaw_sigma, cfg.init_xy_sigma)
            coarse.evaluations += used
            parts.append(immigrants)
        fresh = Genomes.concat(parts)
        with torch.no_grad():
            fresh_fit = coarse.score(fresh)["total"].double().numpy()
        pop = Genomes.concat([elite, fresh])
        fit = np.concatenate([elite_fit, fresh_fit])
    order = np.argsort(fit, kind="stable")
    if coarse is not scorer:  # the best few of the coarse loss, re-scored with the full one
        top = pop.take(order[:cfg.keep])
        with torch.no_grad():
            fit = scorer.score(top)["total"].double().numpy()
        pop, order = top, np.argsort(fit, kind="stable")
        curve.append((evaluations(), float(fit[order[0]])))
    best = pop.take(order[:1])
    if cfg.sweep_rounds > 0:
        best, best_loss = discrete_sweep(scorer, best, float(fit[order[0]]), rng, rounds=cfg.sweep_rounds,
                                         samples=cfg.sweep_samples, refine_top=cfg.sweep_refine, steps=cfg.sweep_steps,
                                         probe_steps=cfg.sweep_probe_steps, config=cfg.refine_config, box=cfg.sweep_box,
                                         extend=cfg.sweep_extend, extra_steps=cfg.sweep_extra_steps, screen=screen,
                                         min_gain=cfg.sweep_min_gain, later_margin=cfg.sweep_later_margin,
                                         abandon=(cfg.sweep_abandon_steps, cfg.sweep_abandon_factor)
                                         if cfg.sweep_abandon_steps > 0 else None, anchors=cfg.sweep_anchors,
                                         extend_rounds=cfg.sweep_extend_rounds, own_combos=cfg.sweep_own_combos,
                                         box_turns=cfg.sweep_box_turns, matched=cfg.sweep_matched_steps)
        curve.append((evaluations(), best_loss))
    if cfg.final_steps > 0:
        best, best_fit = refine(scorer, best, cfg.final_steps, cfg.refine_config)
        curve.append((evaluations(), float(best_fit[0])))
        if cfg.sweep_rounds > 0:
            best, loss = last_turn(scorer, best, float(best_fit[0]), cfg)
            curve.append((evaluations(), loss))
            best, loss = last_restart(scorer, best, loss, cfg)
            curve.append((evaluations(), loss))
            best, loss = last_flip(scorer, best, loss, cfg)
            curve.append((evaluations(), loss))
            if cfg.symmetry_turns:
                best, loss = last_symmetry(scorer, best, loss, cfg)
                curve.append((evaluations(), loss))
    return result_from(scorer, best, "ga", evaluations(), time.perf_counter() - t0, curve)


def last_symmetry(scorer: Scorer, best: Genomes, best_loss: float, cfg: GAConfig) -> tuple[Genomes, float]:
    """(genome, loss): best[0], or the lowest of it and its near-symmetric turns (`GAConfig.symmetry_turns`)
    refined together for `symmetry_steps` when that ends below `best_loss`. A shape that is nearly
    its own image under a turn (a five-star base: 72 degrees) settles in whichever of those basins
    the search reached first; only the small asymmetric parts (an elliptic seat, the seat
    mechanism) tell them apart, and only after the floats have followed the turn: unrefined the
    true orientation of a clean chair scored 0.000398 against the incumbent's 0.000185, refined
    0.000143. The incumbent is refined in the same batch, so a turn wins by its basin, not by
    the extra steps."""
    if cfg.symmetry_steps <= 0:
        return best, best_loss
    space = scorer.space
    vertices, triangles = local_mesh(space, best)
    turns = near_turns(vertices, triangles, cfg.symmetry_orders, cfg.symmetry_tolerance)
    if not turns or len(turns) == len(turn_angles(cfg.symmetry_orders)):
        return best, best_loss
    turns = sorted(turns, key=lambda x: x[2])[:cfg.symmetry_max_turns]
    cands = Genomes.concat([best.take([0]), turned(space, best.take([0]), turns)])
    out, loss = refine(scorer, cands, cfg.symmetry_steps, cfg.refine_config)
    i = int(np.argmin(loss))
    return (out.take([i]), float(loss[i])) if loss[i] < best_loss else (best, best_loss)


def last_restart(scorer: Scorer, best: Genomes, best_loss: float, cfg: GAConfig) -> tuple[Genomes, float]:
    """(genome, loss): best[0], or the same discrete values and pose with all floats drawn afresh
    when that ends lower: `restart_draws` draws, each resized to the observed box
    (`sweep.box_matched`), the best `restart_refine` refined for `sweep_steps`, the best of those
    for the rest of `final_steps`. Every float of the winner can sit in one basin together (a
    realistic sofa 7 cm too high in the seat, cushions and arms at their thinnest, legs at their
    longest: 0.00444 against the refined truth's 0.00090), which no single change or one
    category's redraw leaves (1.15x and worse); from 16 fresh draws it reached 0.00094."""
    if cfg.restart_draws <= 0 or best.unit.shape[1] == 0:
        return best, best_loss
    rng = np.random.default_rng(cfg.seed)
    draws = best.take(np.zeros(cfg.restart_draws, dtype=np.int64))
    draws.unit = rng.uniform(size=draws.unit.shape)
    draws = box_matched(scorer, draws)
    with torch.no_grad():
        loss = scorer.score(draws)["total"].double().numpy()
    top = draws.take(np.argsort(loss, kind="stable")[:cfg.restart_refine])
    top, top_loss = refine(scorer, top, cfg.sweep_steps, cfg.refine_config)
    out, out_loss = refine(scorer, top.take([int(np.argmin(top_loss))]), max(cfg.final_steps - cfg.sweep_steps, 0),
                           cfg.refine_config)
    return (out, float(out_loss[0])) if out_loss[0] < best_loss else (best, best_loss)


def warn_skip(label: str, reason: str) -> None:
    warnings.warn(f"fit: object '{label}' skipped: {reason}", RuntimeWarning, stacklevel=2)
