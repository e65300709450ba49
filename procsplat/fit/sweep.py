"""Discrete neighbourhood sweep: every single change of one active discrete parameter of the
incumbent, tried with fresh values for whatever that change switches on.

Why: a GA mutation that switches on a part (a table's mid board, a sofa's second arm) comes
with the part's own parameters at random values; it usually scores worse than the incumbent
and dies, so switches that need a coordinated change are rarely found. Here each neighbour
(one discrete parameter set to another value) is scored with `samples` random draws of the
parameters that become active through the change (others keep the incumbent's values), the
best draw of every neighbour gets `probe_steps` gradient steps; the best `refine_top` of those
and the best `refine_top` pairwise combinations of the best `pair_pool` get `steps` more, and
the best of all replaces the incumbent when its loss is lower. Repeated until nothing wins.
Besides the random draws, every change is tried with the incumbent's own dormant values of what
it switches on, and once more resized to the observed box (`box_matched`). Each combination of
switched-on discrete values is a neighbour of its own, first tried in all four quarter turns.
Optionally (`extend`) the best few refined neighbours within 2x the incumbent's loss get
`extra_steps` more before the comparison. With `own_combos` (GAConfig default 8) every combination of
switched-on discrete values is also tried with the incumbent's floats, and with `anchors` a change that
resizes the footprint box also keeps each side of the incumbent's box in place (`anchored`).

Draws cycle through quarter turns of the yaw, and quarter turns alone are neighbours too: a
change like a rectangular -> round table top lands in a local minimum with width and depth
swapped when the old yaw is kept (measured on a table with panel legs: 0.0087 vs 0.0024 for the
true shape), and refinement cannot turn an object by 90 degrees.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import torch

from .candidates import Genomes, Scorer, local_extents
from .losses import point_to_mesh_distance
from .pose import wrap_angle
from .refine import Adam, RefineConfig, refine
from .surface import SurfaceSampler, sample_mesh_surface


def neighbours(scorer: Scorer, best: Genomes, samples: int, rng: np.random.Generator, box: bool = False,
               own_combos: int = 0, anchors: bool = False, box_turns: bool = False, matched: int = 0):
    """(Genomes, neighbour id per row): quarter turns of best[0] and every change of one of its
    active discrete parameters.
    `own_combos` (> 0): when a change switches on discrete parameters with at most this many
    combinations of values, every combination is also tried with the incumbent's own floats
    (its own pose; `GAConfig.sweep_own_combos`). `anchors`: each change's row with the incumbent's
    own values whose footprint box differs from the incumbent's also comes with each side of the
    incumbent's box kept in place (`anchored`). `box_turns` (with `box`): the incumbent's quarter
    and three-quarter turns are resized to the observed box too. `matched` (> 0): each change's row
    with the incumbent's own values also comes with the floats of its category that were active
    before and stay active moved for this many steps to reproduce the incumbent's own shape
    (`shape_matched`).
    Measured (2026-12-06, `scripts/bench_fit_cpu.py`, realistic scenes of dev seeds; these were search misses,
    the fit's loss above the refined truth's): own combos alone found a pedestal table's true foot, which came
    only with random floats before (7751 #2 Legs/Foot Type 1/1 -> 3/0, loss 0.00326 -> 0.00246, truth 0.00249,
    MAE 3.61 -> 0.89 cm) and a cabinet's drawer count (7781 #2, 6 -> 2 in the sweep, 0.001461 -> 0.001448);
    anchors alone a chair's five-star base (7760 #2, 0.00325 -> 0.00307, truth 0.00318; the true legs with the
    incumbent's floats scored 0.0324 centred, 0.00329 with the back side kept, incumbent 0.00326); box turns
    alone fixed nothing and moved a table (7760 #3) to MAE 2.28 cm from 0.41 (loss 1.02x). All three on
    realistic 7750/7751/7760/7781 (12 objects): discrete 80.5 -> 89.2 % (mean per object), MAE 1.38 -> 1.31 cm,
    yaw 0.37 -> 0.35 deg, evaluations +4.6 %; clean 7750/7760/7780 (7 objects): the same fits, evaluations
    +1.8 %, CPU 13.7 -> 13.8 s/object.
    Own combos + anchors (the defaults), realistic 7750/7751/7760/7781 (12 objects): discrete 82.1 -> 89.3 %,
    MAE 1.38 -> 1.15 cm, yaw 0.37 -> 0.35 deg, loss <= refined truth 50 -> 67 %, evaluations +3.7 %; the 3 changed
    fits all lower in loss, the other 9 the same; run side by side on realistic 7760, CPU 12.1 -> 13.0 s/object
    (+7 %); clean 7750/7760 (4 objects) the same fits."""
    space = scorer.space
    program = space.program
    disc0, unit0, pose0 = best.disc[0], best.unit[0], best.pose[0]
    now = space.to_dict(disc0, unit0)
    active_now = {p.name: program.is_active(p.name, now) for p in program.parameters}
    rows_d, rows_u, rows_turn, ids = [], [], [], []
    for turn in (1, 2, 3):  # the incumbent turned by a quarter, half, three quarters
        rows_d.append(disc0.copy())
        rows_u.append(unit0.copy())
        rows_turn.append(turn)
        ids.append(turn - 1)
    nid = 3
    own_rows, own_free = [], []  # each change's row with the incumbent's own values, unturned; what it redraws
    for j, p in enumerate(space.discrete):
        if not active_now[p.name]:
            continue  # changing it changes nothing
        for value in range(int(space.disc_lo[j]), int(space.disc_hi[j]) + 1):
            if value == disc0[j]:
                continue
            disc = disc0.copy()
            disc[j] = value
            new = space.to_dict(disc, unit0)
            on_d = [k for k, q in enumerate(space.discrete)
                    if k != j and not active_now[q.name] and program.is_active(q.name, new)]
            on_f = [k for k, q in enumerate(space.floats) if not active_now[q.name] and program.is_active(q.name, new)]
            # Floats of the changed parameter's own category are drawn afresh too: a sofa's back
            # cushions switched off need a back 8 cm thicker, which neither the incumbent's value
            # nor the box (`box_matched`: the outer size does not change) gives, and 15 steps
            # from there did not reach (clean seed 5100: the true shape scored 0.00002, the fit
            # with cushions 0.00078).
            on_f += [k for k, q in enumerate(space.floats) if k not in on_f and p.category and q.category == p.category
                     and program.is_active(q.name, new)]
            # The incumbent's own (dormant) values of what the change switches on, in 4 turns,
            # then `samples` fresh draws: a bookshelf fitted with legs still carries the plinth
            # it had before; legs off with that plinth, turned 180 degrees, was its way out.
            # Each combination of values of what the change switches on is a neighbour of its
            # own: a bookshelf's legs off with its dormant plinth on (0.0125) and off (0.0014,
            # the truth's shape) must both get their probe steps, not only the better draw.
            draws = 4 + samples if (on_d or on_f) else 4
            combos = {}
            for i in range(draws):
                d, u = disc.copy(), unit0.copy()
                if i >= 4:
                    for k in on_d:
                        d[k] = rng.integers(space.disc_lo[k], space.disc_hi[k] + 1)
                    if on_f:
                        u[on_f] = rng.uniform(size=len(on_f))
                key = tuple(int(d[k]) for k in on_d)
                # A drawn combination's first row comes in all 4 turns (the others cycle through them).
                turns = [(i + t) % 4 for t in range(4)] if i >= 4 and key not in combos else [i % 4]
                if key not in combos:
                    combos[key] = nid
                    nid += 1
                if i == 0:
                    own_rows.append(len(ids))
                    own_free.append([k for k in on_f if active_now[space.floats[k].name]])
                for turn in turns:
                    rows_d.append(d)
                    rows_u.append(u)
                    rows_turn.append(turn)
                    ids.append(combos[key])
            if own_combos and on_d:  # every combination of what it switches on, with the incumbent's floats
                ranges = [range(int(space.disc_lo[k]), int(space.disc_hi[k]) + 1) for k in on_d]
                if math.prod(len(r) for r in ranges) <= own_combos:
                    for key in itertools.product(*ranges):
                        d = disc.copy()
                        d[on_d] = key
                        if key not in combos:
                            combos[key] = nid
                            nid += 1
                        rows_d.append(d)
                        rows_u.append(unit0.copy())
                        rows_turn.append(0)
                        ids.append(combos[key])
    pose = np.repeat(pose0[None], len(ids), 0)
    pose[:, 0] += np.array(rows_turn) * (math.pi / 2)
    out, ids = Genomes(np.stack(rows_d), np.stack(rows_u), pose), np.array(ids)
    if anchors and own_rows:
        extra, of = anchored(space, out.take(own_rows), best.take([0]))
        out = Genomes.concat([out, extra])
        ids = np.concatenate([ids, ids[np.array(own_rows, dtype=np.int64)[of]]])
    if box:  # each discrete change once more, resized to the observed box
        _, first = np.unique(ids, return_index=True)
        first = first[(ids[first] >= 3) | (box_turns & (ids[first] != 1))]
        if len(first):
            out = Genomes.concat([out, box_matched(scorer, out.take(first))])
            ids = np.concatenate([ids, ids[first]])
    if matched > 0:
        has = [k for k, f in enumerate(own_free) if f]
        if has:
            free = np.zeros((len(has), len(space.floats)), dtype=bool)
            for r, k in enumerate(has):
                free[r, own_free[k]] = True
            rows = np.array(own_rows, dtype=np.int64)[has]
            out = Genomes.concat([out, shape_matched(space, out.take(rows), best.take([0]), free, matched)])
            ids = np.concatenate([ids, ids[rows]])
    return out, ids


def shape_matched(space, g: Genomes, best: Genomes, free: np.ndarray, steps: int, lr: float = 0.08,
                  samples: int = 150) -> Genomes:
    """g with its floats where `free` (P,F) is True moved so that each row's shape (its own frame, no
    pose) reproduces best[0]'s: `steps` Adam steps on the symmetric chamfer between best's surface
    samples and each row's (distance from best's samples to the row's mesh, and from the row's
    differentiable samples to the nearest of best's), keeping each row's lowest state.
    Why: the same float can mean a different geometry under another discrete value (a chair
    back's thickness is the panel's, half the upholstered cushion's, 1.25x the mesh frame's
    diameter), so a change with the incumbent's own values builds its part at another size than
    the one the incumbent had fitted, and random draws of that category move every other float
    of it too: a realistic chair fitted with a panel back 4.0 cm thick (0.000933) screened its
    true upholstered back at 0.00208 with that thickness (gated out of the sweep's second round at
    2x) and at 0.00087 with the 2.0 cm that reproduces the panel (refined truth 0.00047).
    Measured with 12 steps (`GAConfig.sweep_matched_steps`, off by default; 2026-12-06, bench-fit against main
    c92c642 on the same dev seeds, load 5-10; main's 7830 from its session-10 run). Realistic: 7830-7831 88.9 ->
    94.4 % (that chair now upholstered, loss 0.000917 -> 0.000466, truth 0.000469); 7790-7791 88.9 % both (MAE 1.57
    -> 0.67 cm: a table's wrong round top became a wrong apron at a loss below the truth's); 7780-7781 89.7 -> 86.2
    % (a mesh-backed chair fitted with a panel back at 0.002833, main 0.002847 with the true mesh back, refined
    truth 0.002891: the realistic loss prefers a panel over a mesh back, as on 7791 #1 and 7740 #2 in both
    versions); 7740-7741 90.6 -> 87.5 % (a chair's legs round at 0.000962, main 0.000971 square, truth 0.000996);
    misses 11 -> 12; MAE and yaw the same or lower on 7790, 7780 and 7740. Clean: 7830, 7780, 7740 the same discrete
    values, 7790 100 -> 96.6 % (a table's hidden apron at 0.000020, main 0.000063 without, truth 0.000023).
    `scripts/bench_fit_cpu.py --seeds 7831 7791 7740` (realistic, 8 objects, side by side): discrete 86.8 -> 89.5 %,
    MAE 0.71 -> 0.61 cm, yaw 0.20 -> 0.15 deg, CPU 18.1 -> 19.0 s/object (chairs +6.5 %). Off: the search misses it
    fixes are as many as the loss misses it exposes."""
    out = g.take(np.arange(len(g)))
    if len(g) == 0 or not free.any():
        return out
    with torch.no_grad():
        mesh = space.program.evaluate(space.values(best.disc[:1], torch.from_numpy(best.unit[:1]).double()),
                                      dtype=torch.float64)[0]
    ref = torch.from_numpy(sample_mesh_surface(mesh.vertices[0].numpy(), mesh.triangles.numpy(), samples * 2))
    sampler = SurfaceSampler(samples)
    mask = torch.from_numpy(free)
    unit = torch.tensor(g.unit, dtype=torch.float64, requires_grad=True)
    opt = Adam([(unit, lr)])
    best_loss = np.full(len(g), np.inf)
    for step in range(steps + 1):
        loss = torch.zeros(len(g), dtype=torch.float64)
        for grp in space.program.evaluate(space.values(g.disc, unit), dtype=torch.float64):
            if grp.triangles.shape[-2] == 0:
                continue
            to_row = point_to_mesh_distance(ref, grp.vertices, grp.triangles).mean(1)
            pts, _, _ = sampler.sample(grp.vertices, grp.triangles)
            to_ref = torch.cdist(pts, ref.expand(len(pts), -1, -1)).amin(2).mean(1)
            loss = loss.index_put((grp.index,), to_row + to_ref)
        now = loss.detach().numpy()
        better = now < best_loss
        out.unit[better] = unit.detach().numpy()[better]
        best_loss[better] = now[better]
        if step == steps:
            break
        opt.zero_grad()
        loss.sum().backward()
        unit.grad *= mask
        opt.step()
        with torch.no_grad():
            unit.clamp_(0.0, 1.0)
    return out


def local_boxes(space, disc: np.ndarray, unit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P,2) low and high corners of the shapes' footprint boxes in their own frame."""
    with torch.no_grad():
        groups = space.program.evaluate(space.values(disc, torch.from_numpy(unit).float()))
    lo, hi = np.zeros((len(disc), 2)), np.zeros((len(disc), 2))
    for g in groups:
        if g.vertices.shape[1]:
            lo[g.index.numpy()] = g.vertices[..., :2].amin(1).double().numpy()
            hi[g.index.numpy()] = g.vertices[..., :2].amax(1).double().numpy()
    return lo, hi


def anchored(space, g: Genomes, best: Genomes, tolerance: float = 0.01) -> tuple[Genomes, np.ndarray]:
    """(rows, index into g of each): every row of g whose footprint box is more than `tolerance`
    (m) longer or shorter than best[0]'s along an axis of its own frame, moved along that axis so
    that one side of best's box stays in place (each side a row). The pose places the footprint
    box's centre, so a change that grows the box on one side only (a chair's five-star base
    reaching beyond the seat's front) shifts the parts that did not change: a realistic chair's
    true legs with the incumbent's floats scored 0.0324 centred, 0.00329 with the back side kept
    (the incumbent 0.00326); 15 steps from the centred row reached 0.00353."""
    lo0, hi0 = local_boxes(space, best.disc[:1], best.unit[:1])
    lo, hi = local_boxes(space, g.disc, g.unit)
    rows, of = [], []
    for i in range(len(g)):
        yaw = g.pose[i, 0]
        R = np.array([[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]])
        for ax in range(2):
            if abs((hi[i, ax] - lo[i, ax]) - (hi0[0, ax] - lo0[0, ax])) <= tolerance:
                continue
            for shift in (lo0[0, ax] - lo[i, ax], hi0[0, ax] - hi[i, ax]):
                row = g.take([i])
                local = np.zeros(2)
                local[ax] = shift + (lo[i, ax] + hi[i, ax] - lo0[0, ax] - hi0[0, ax]) / 2
                row.pose[0, 1:3] += R @ local
                rows.append(row)
                of.append(i)
    if not rows:
        return g.take(np.zeros(0, dtype=np.int64)), np.zeros(0, dtype=np.int64)
    return Genomes.concat(rows), np.array(of, dtype=np.int64)


def box_matched(scorer: Scorer, g: Genomes, iterations: int = 2, h: float = 0.02, damping: float = 1e-4) -> Genomes:
    """g with its float parameters moved so that each shape's box matches the observed box
    (`ObjectTarget.footprint_box`, axes by the genome's yaw): damped minimum-norm Gauss-Newton
    steps on the box extents, Jacobian by finite differences (inactive floats do not move them,
    so they stay). Why: a discrete change that alters the shape's size (a round seat replaced by
    a rectangular one must shrink by 10-20 cm; a sofa that gains an arm must grow by its width)
    starts far from the data, and refinement from there lands in another local minimum."""
    space = scorer.space
    P, F = g.unit.shape
    out = g.take(np.arange(P))
    if F == 0 or P == 0:
        return out
    yaw0, _, ext = scorer.target.footprint_box()
    odd = (np.round((g.pose[:, 0] - yaw0) / (math.pi / 2)).astype(np.int64) % 2) == 1
    goal = np.where(odd[:, None], ext[[1, 0, 2]][None], ext[None])  # (P,3) in each shape's own frame
    eye = np.eye(F)
    for _ in range(iterations):
        step = np.where(out.unit < 0.5, h, -h)  # (P,F), stays inside [0, 1]
        units = np.concatenate([out.unit[:, None], out.unit[:, None] + step[:, :, None] * eye[None]], 1)
        ext_all = local_extents(space, np.repeat(out.disc, F + 1, 0), units.reshape(-1, F)).reshape(P, F + 1, 3)
        J = (ext_all[:, 1:] - ext_all[:, :1]) / step[:, :, None]  # (P,F,3) d extent / d unit
        r = goal - ext_all[:, 0]  # (P,3)
        A = np.transpose(J, (0, 2, 1))  # (P,3,F)
        lhs = A @ J + damping * np.eye(3)[None]
        du = (J @ np.linalg.solve(lhs, r[:, :, None]))[:, :, 0]
        out.unit = np.clip(out.unit + du, 0.0, 1.0)
    return out


def pairs(top: Genomes, best: Genomes) -> tuple[Genomes, list]:
    """Both changes of every two of the `top` neighbours that change different discrete values
    (a bookshelf's plinth removed AND one more shelf: each alone scored 0.016, far worse than the
    incumbent's 0.0076, while the true shape scores 0.0022). Floats changed by either neighbour
    are taken from it. Also returns the (a, b) rows of `top` of each pair."""
    d0, u0 = best.disc[0], best.unit[0]
    out, of = [], []
    for a in range(len(top)):
        for b in range(a + 1, len(top)):
            da, db = top.disc[a] != d0, top.disc[b] != d0
            if not da.any() or not db.any() or (da & db).any():
                continue
            disc = np.where(da, top.disc[a], np.where(db, top.disc[b], d0))
            unit = np.where(np.abs(top.unit[a] - u0) > 0, top.unit[a], top.unit[b])
            out.append(Genomes(disc[None], unit[None], top.pose[a:a + 1].copy()))
            of.append((a, b))
    return (Genomes.concat(out) if out else top.take(np.zeros(0, dtype=np.int64))), of


def discrete_sweep(scorer: Scorer, best: Genomes, best_loss: float, rng: np.random.Generator, rounds: int = 3,
                   samples: int = 8, refine_top: int = 4, steps: int = 15, probe_steps: int = 3, pair_pool: int = 10,
                   config: RefineConfig = RefineConfig(), box: bool = False, extend: int = 0,
                   extra_steps: int = 0, min_gain: float = 0.0, screen: Scorer | None = None,
                   later_margin: float = 0.0, abandon: tuple[int, float] | None = None,
                   extend_rounds: int = 0, trace: list | None = None, own_combos: int = 0, anchors: bool = False,
                   box_turns: bool = False, matched: int = 0) -> tuple[Genomes, float]:
    """Improve the single genome `best` (loss `best_loss`) by discrete neighbourhood moves;
    another round only after one that lowered the loss by more than `min_gain` (relative).
    `screen`: the Scorer (e.g. `Scorer.coarse`) that ranks the unrefined neighbours and pairs
    (the best draw of each neighbour, the pairs worth refining); refinements and every loss
    returned or compared use `scorer`.
    `later_margin` (> 0): from the second round on, only neighbours whose best screened draw is
    below this times the incumbent's screened loss are probed (none: the sweep ends).
    `abandon` (k, factor): a refined row whose loss after k of its `steps` is above factor times
    the incumbent's stops there (`refine`'s `abandon`).
    `extend_rounds` (> 0): only the first this many rounds extend (`extend`, `extra_steps`); 0: all.
    `trace`: when a list, one dict per round (screened, probed and refined losses, the winner).
    `own_combos`, `anchors`, `box_turns`, `matched`: more neighbours (`neighbours`)."""
    screen = screen or scorer
    for r in range(rounds):
        cands, ids = neighbours(scorer, best, samples, rng, box, own_combos, anchors, box_turns, matched)
        gate = later_margin > 0 and r > 0
        with torch.no_grad():
            fit = screen.score(Genomes.concat([cands, best]) if gate or trace is not None else cands)["total"]
        fit = fit.double().numpy()
        own = float(fit[-1]) if len(fit) > len(cands) else float("nan")  # the incumbent's screened loss
        fit = fit[:len(cands)]
        # The best draw of each neighbour gets a few steps (a change like adding a sofa arm only
        # scores well once the width has followed), then the best neighbours get the rest.
        order = np.lexsort((fit, ids))
        first = order[np.r_[True, ids[order][1:] != ids[order][:-1]]]
        info = {"round": r, "incumbent": best_loss, "incumbent_screen": own, "screen": fit[first].tolist(),
                "ids": ids[first].tolist()} if trace is not None else None
        if gate:
            first = first[fit[first] < later_margin * own]
            if len(first) == 0:
                if info is not None:
                    info["stopped"] = "gate"
                    trace.append(info)
                break
        probed, probe_loss = refine(scorer, cands.take(first), probe_steps, config)
        rank = np.argsort(probe_loss, kind="stable")
        ranked = probed.take(rank)
        chosen = [ranked.take(np.arange(min(refine_top, len(ranked))))]
        origin = [(int(ids[first[k]]),) for k in rank[:refine_top]]
        both, pair_of = pairs(ranked.take(np.arange(min(pair_pool, len(ranked)))), best)
        if len(both):  # pairs are cheap to score: only the best few are refined
            with torch.no_grad():
                pair_fit = screen.score(both)["total"].double().numpy()
            pick = np.argsort(pair_fit, kind="stable")[:refine_top]
            chosen.append(both.take(pick))
            origin += [tuple(int(ids[first[rank[k]]]) for k in pair_of[j]) for j in pick]
        hist = [] if trace is not None else None
        bound = (abandon[0], abandon[1] * best_loss) if abandon is not None else None
        refined, loss = refine(scorer, Genomes.concat(chosen), steps, config, abandon=bound, history=hist)
        if extend and extra_steps and (extend_rounds <= 0 or r < extend_rounds):  # the closest few get longer
            close = np.argsort(loss, kind="stable")[:extend]
            close = close[loss[close] < 2 * best_loss]
            if len(close):
                more, more_loss = refine(scorer, refined.take(close), extra_steps, config)
                refined.unit[close], refined.pose[close] = more.unit, more.pose
                loss[close] = np.minimum(loss[close], more_loss)
        i = int(np.argmin(loss))
        if info is not None:
            info.update(probed=[int(ids[f]) for f in first], probe=probe_loss.tolist(), origin=origin,
                        refined=loss.tolist(), history=np.array(hist).tolist(), winner=origin[i],
                        won=bool(loss[i] < best_loss))
            trace.append(info)
        if not loss[i] < best_loss:
            break
        gain = (best_loss - float(loss[i])) / max(best_loss, 1e-12)
        best, best_loss = refined.take([i]), float(loss[i])
        if gain <= min_gain:
            break
    return best, best_loss


def refine_if_better(scorer: Scorer, cands: Genomes, best: Genomes, best_loss: float,
                     cfg, top: int = 0, gain: float = 0.0) -> tuple[Genomes, float]:
    """(genome, loss): the candidate scoring lowest, refined for `sweep_steps`, when it scores below
    `best_loss` unrefined and still does after (`top` > 0: the `top` lowest refined `final_steps`
    whatever they score unrefined, the lowest after when below (1 - `gain`) x `best_loss`);
    otherwise best, best_loss."""
    with torch.no_grad():
        loss = scorer.score(cands)["total"].double().numpy()
    pick = np.argsort(loss, kind="stable")[:max(top, 1)]
    if top <= 0 and not loss[pick[0]] < best_loss:
        return best, best_loss
    out, out_loss = refine(scorer, cands.take(pick), cfg.final_steps if top > 0 else cfg.sweep_steps,
                           cfg.refine_config)
    i = int(np.argmin(out_loss))
    bar = best_loss * (1.0 - gain) if top > 0 else best_loss
    return (out.take([i]), float(out_loss[i])) if out_loss[i] < bar else (best, best_loss)


def last_turn(scorer: Scorer, best: Genomes, best_loss: float, cfg) -> tuple[Genomes, float]:
    """(genome, loss): best[0], or a quarter/half turn of it refined for `sweep_steps` when that
    scores lower. The final refinement can settle a nearly symmetric shape (a bookshelf without
    back panel) where the half-turned shape fits better (measured 0.00031 vs 0.00014
    unrefined); the sweep's own turn neighbours were tried before it."""
    turned = best.take([0, 0, 0])
    turned.pose[:, 0] = wrap_angle(turned.pose[:, 0] + np.arange(1, 4) * (math.pi / 2))
    return refine_if_better(scorer, turned, best, best_loss, cfg)


def last_flip(scorer: Scorer, best: Genomes, best_loss: float, cfg) -> tuple[Genomes, float]:
    """(genome, loss): best[0], or the best single change of one active discrete parameter (the
    incumbent's own values of whatever it switches on, same pose) by `refine_if_better` (with
    `GAConfig.flip_refine_top`). The sweep ran before the final refinement: that
    refinement can move the floats to where another value wins outright (a realistic bed
    fitted without legs, 0.010940; the same floats with its true legs 0.010757, and 0.010740
    refined)."""
    flips, ids = neighbours(scorer, best, 0, np.random.default_rng(0))
    flips = flips.take(np.flatnonzero((ids >= 3) & (flips.pose[:, 0] == best.pose[0, 0])))
    if len(flips) == 0:
        return best, best_loss
    return refine_if_better(scorer, flips, best, best_loss, cfg, cfg.flip_refine_top, cfg.flip_refine_gain)
