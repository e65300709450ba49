"""Consistent scenes: objects of one program that look alike share one discrete assignment.

Why: fitted one by one, two chairs of the same model in a real scan got different discrete
parameters (arms on one, none on the other; round vs square legs), each seen from other sides
and each search ending in its own local minimum. A scene usually holds several copies of one
model, so the evidence of all copies should decide the shared topology.

The pass (`make_consistent`, run by `fit_scene` after all objects are fitted, switch
`GAConfig.consistent`):
1. Groups: fitted objects of one program whose fitted boxes agree within `extent_tolerance`
   (relative, per extent: height, and the footprint's short and long side, so a table fitted
   turned by 90 degrees with Width and Depth swapped still matches). Greedy complete linkage in
   instance order: an object joins the first group all of whose members it matches. Discrete
   changes that move the box (an office chair's five-star base, its arm pads) therefore split
   groups: those are different models, not the ambiguity this pass resolves (board arms, round
   legs, back styles keep the box).
2. Assignments: the distinct discrete assignments of a group's members, compared on their
   active values only (a dormant Slat Count differs without changing any shape).
3. Every member is re-scored under every assignment of its group: its own one refined for
   `steps` Adam steps from its fit (never worse than the fit: `refine` keeps each candidate's
   best state), each other one from `starts` of these starts, the best after a no-grad score:
   its own floats and pose; its own floats resized to its observed box (`sweep.box_matched`:
   the discrete change may need other sizes); the floats of the first member that chose that
   assignment, at its own yaw and its 3 quarter turns (same model: the donor's sizes, including
   what the change switches on, which were dormant in this member's own fit).
4. The assignment with the lowest summed loss over the members is adopted by all of them when
   that sum is at most (1 + `loss_tolerance`) x the sum of their own assignments' losses (after
   the same refinement). The tolerance (default 2 %) is a prior for "copies of one model": a
   member seen from one side cannot tell arms on its far side from none (its losses under both
   differ by a fraction of a percent), so the better-seen member decides; a change that costs
   any member more than that shows in the sum and is refused. Each member that changes takes its
   best genome under the shared assignment (floats and pose re-optimised as above); members whose
   own assignment it is keep their fit.
5. Refused, the member whose loss rises most under the best shared assignment leaves and the rest
   are tested again from the same scores (`accepted_subsets`), so a look-alike of another model in
   the group (fitted boxes within 10 %: two different chairs can be) does not keep the copies of
   one model from sharing; the members left over are tested among themselves the same way.

Recorded: `group` (int, 1..) in each member's fit document and ObjectSpec (None for objects in
no group, or in a group whose shared assignment was refused), `consistency` in the document of
every re-scored member (loss before, discrete values it had before when they changed, the
pass's evaluations and seconds), and `group_list` gives the top-level list (`summary.json`,
`scene.json`): group id, program, instance ids and the shared discrete values.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from procsplat.geometry import yaw_matrix

from .candidates import Genomes, Scorer, SearchSpace
from .refine import refine
from .result import result_from
from .spec import ObjectSpec
from .sweep import box_matched


@dataclass
class ConsistencyConfig:
    """The consistency post-pass of `fit_scene` (switched by `GAConfig.consistent`)."""

    extent_tolerance: float = 0.10
    """Objects group when each fitted box extent (height, footprint short and long side) agrees
    within this fraction of the larger one."""
    steps: int = 10
    """Adam steps each member gets under each assignment of its group (its own one included)."""
    starts: int = 2
    """Starts refined per member and assignment (the best of own floats, own floats box-matched,
    and the donor's floats in 4 quarter turns)."""
    loss_tolerance: float = 0.02
    """A shared assignment is adopted when its summed loss is <= (1 + this) x the sum of the
    members' own assignments' losses."""


# -- genomes and boxes -------------------------------------------------------------------------------------
def spec_genome(space: SearchSpace, spec: ObjectSpec) -> Genomes:
    """One ObjectSpec as the search encodes candidates: pose (yaw, footprint-box centre, log scale)."""
    disc, unit = space.from_dict(spec.parameters)
    local = space.program.evaluate_one(space.to_dict(disc, unit), dtype=torch.float64).vertices.numpy()
    scale = float(spec.scale)
    centre = scale * (local[:, :2].min(0) + local[:, :2].max(0)) / 2 if len(local) else np.zeros(2)
    R = yaw_matrix(float(spec.yaw)).numpy()[:2, :2]
    xy = R @ centre + np.asarray(spec.translation, np.float64)[:2]
    log_scale = float(np.clip(math.log(scale), -space.scale_range, space.scale_range))
    return Genomes(disc[None], unit[None], np.array([[float(spec.yaw), xy[0], xy[1], log_scale]]))


def box_extents(program, parameters: dict, scale: float = 1.0) -> np.ndarray:
    """(height, footprint short side, footprint long side) of a shape, metres (at least 1 mm)."""
    with torch.no_grad():
        v = program.evaluate_one(parameters, dtype=torch.float64).vertices.numpy()
    if not len(v):
        return np.full(3, 1e-3)
    ext = (v.max(0) - v.min(0)) * float(scale)
    return np.maximum(np.array([ext[2], min(ext[0], ext[1]), max(ext[0], ext[1])]), 1e-3)


def similar(a: np.ndarray, b: np.ndarray, tolerance: float) -> bool:
    return bool(np.all(np.abs(a - b) <= tolerance * np.maximum(a, b)))


def active_key(space: SearchSpace, disc: np.ndarray, unit: np.ndarray) -> tuple:
    """The discrete assignment as it shapes the object: inactive values are None."""
    params = space.to_dict(disc, unit)
    return tuple(int(disc[j]) if space.program.is_active(p.name, params) else None
                 for j, p in enumerate(space.discrete))


def find_groups(programs: list[str], extents: list[np.ndarray], tolerance: float) -> list[list[int]]:
    """Groups (lists of >= 2 indices, in order) of items with one program and similar extents."""
    groups: list[list[int]] = []
    for i, (prog, ext) in enumerate(zip(programs, extents)):
        for g in groups:
            if programs[g[0]] == prog and all(similar(ext, extents[j], tolerance) for j in g):
                g.append(i)
                break
        else:
            groups.append([i])
    return [g for g in groups if len(g) >= 2]


def group_list(specs: list) -> list[dict]:
    """The groups of ObjectSpecs (their `group` field): [{group, program, instance_ids, discrete}],
    `discrete` being the searched discrete parameters every member carries (the first member's)."""
    from geonodes import load_program

    by_group: dict[int, list] = {}
    for spec in specs:
        if spec.group is not None:
            by_group.setdefault(int(spec.group), []).append(spec)
    out = []
    for gid in sorted(by_group):
        members = sorted(by_group[gid], key=lambda s: s.instance_id)
        space = SearchSpace(load_program(members[0].program))
        out.append({"group": gid, "program": members[0].program, "instance_ids": [s.instance_id for s in members],
                    "discrete": {p.name: members[0].parameters.get(p.name) for p in space.discrete}})
    return out


# -- the pass --------------------------------------------------------------------------------------------------
def rescore_member(scorer: Scorer, own: Genomes, assignments: list[np.ndarray], own_index: int,
                   donors: list[Genomes], cfg: ConsistencyConfig, refine_config) -> list[tuple[Genomes, float]]:
    """[(best genome, loss)] of one member under each assignment (see the module doc, step 3)."""
    rows, tags = [], []
    for a, disc in enumerate(assignments):
        if a == own_index:
            rows.append(own.take([0]))
            tags.append(a)
            continue
        x = own.take([0])
        x.disc[0] = disc
        starts = [x, box_matched(scorer, x)]
        y = own.take([0, 0, 0, 0])
        y.disc[:] = disc
        y.unit[:] = donors[a].unit[0]
        y.pose[:, 0] += np.arange(4) * (math.pi / 2)
        starts.append(y)
        rows.extend(starts)
        tags.extend([a] * sum(len(s) for s in starts))
    cands, tags = Genomes.concat(rows), np.array(tags)
    with torch.no_grad():
        fit = scorer.score(cands)["total"].double().numpy()
    chosen = np.concatenate([np.flatnonzero(tags == a)[np.argsort(fit[tags == a], kind="stable")[:cfg.starts]]
                             for a in range(len(assignments))])
    refined, loss = refine(scorer, cands.take(chosen), cfg.steps, refine_config)
    out = []
    for a in range(len(assignments)):
        rows_a = np.flatnonzero(tags[chosen] == a)
        i = int(rows_a[np.argmin(loss[rows_a])])
        out.append((refined.take([i]), float(loss[i])))
    return out


def accepted_subsets(members: list, own: dict, losses: dict, tolerance: float) -> list[tuple]:
    """[(subset, assignment, shared sum, own sum)]: the members that adopt one shared assignment.

    All members first: the assignment (one of theirs) with the lowest summed loss is accepted when that
    sum is <= (1 + tolerance) x their own assignments' sum. Refused, the member whose loss rises most
    under it (ratio to its own) leaves and the rest are tested again (no new scoring), down to two;
    an accepted subset's members are done and the others start over, so copies of one model are
    still found when a look-alike of another model fell into their group. losses[i][a]: member i's
    loss under assignment a; own[i]: its own assignment."""
    out, rest = [], list(members)
    while len(rest) >= 2:
        subset, accepted = list(rest), None
        while len(subset) >= 2:
            candidates = sorted({own[i] for i in subset})
            sums = {a: sum(losses[i][a] for i in subset) for a in candidates}
            own_sum = sum(losses[i][own[i]] for i in subset)
            a = min(candidates, key=lambda c: (sums[c], c))
            if sums[a] <= (1.0 + tolerance) * own_sum:
                accepted = (subset, a, sums[a], own_sum)
                break
            subset.remove(max(subset, key=lambda i: losses[i][a] / max(losses[i][own[i]], 1e-12)))
        if accepted is None:
            rest.remove(subset[0])  # left alone: in no group
        else:
            out.append(accepted)
            rest = [i for i in rest if i not in accepted[0]]
    return out


def make_consistent(entries: list, target_of, ga, log=print) -> tuple[list, list[dict]]:
    """The consistency pass over fitted objects (module doc).

    entries: [(ObjectSpec, fit document)] as `fit_scene` returns them; target_of(instance_id) -> the
    object's ObjectTarget (None when it cannot be built: the object stays out of every group);
    ga: the GAConfig (its `consistency`, `loss`, `refine_config` and `scale_range`). Returns the
    entries with updated specs and documents (every document gets its `group`) and `group_list`."""
    from geonodes import load_program

    cfg = ga.consistency
    entries = [(spec, dict(doc)) for spec, doc in entries]
    programs = {name: load_program(name) for name in dict.fromkeys(spec.program for spec, _ in entries)}
    spaces = {name: SearchSpace(prog, ga.scale_range) for name, prog in programs.items()}
    extents = [box_extents(programs[s.program], s.parameters, s.scale) for s, _ in entries]
    groups = find_groups([s.program for s, _ in entries], extents, cfg.extent_tolerance)
    group_of: dict[int, int] = {}
    gid = 0
    for members in groups:
        t0 = time.perf_counter()
        program = entries[members[0]][0].program
        space = spaces[program]
        targets = {i: target_of(entries[i][0].instance_id) for i in members}
        members = [i for i in members if targets[i] is not None]
        if len(members) < 2:
            continue
        genomes = {i: spec_genome(space, entries[i][0]) for i in members}
        keys, assignments, donors, own = [], [], [], {}
        for i in members:
            key = active_key(space, genomes[i].disc[0], genomes[i].unit[0])
            if key not in keys:
                keys.append(key)
                assignments.append(genomes[i].disc[0].copy())
                donors.append(genomes[i])
            own[i] = keys.index(key)
        if len(assignments) == 1:  # already consistent: no scoring
            scorers, scores = {}, {i: [(genomes[i], 0.0)] for i in members}
            subsets = [(members, 0, 0.0, 0.0)]
        else:
            scorers = {i: Scorer(space, targets[i], ga.loss) for i in members}
            scores = {i: rescore_member(scorers[i], genomes[i], assignments, own[i], donors, cfg, ga.refine_config)
                      for i in members}
            subsets = accepted_subsets(members, own, {i: [loss for _, loss in scores[i]] for i in members},
                                       cfg.loss_tolerance)
        seconds = time.perf_counter() - t0
        for subset, a, shared_sum, own_sum in subsets:
            gid += 1
            ids = ", ".join(str(entries[i][0].instance_id) for i in subset)
            shared = space.to_dict(assignments[a], genomes[subset[0]].unit[0])
            for i in subset:
                spec, doc = entries[i]
                group_of[i] = gid
                if own[i] == a:  # its own assignment: the fit stays (inactive discrete values unified)
                    params = {**spec.parameters, **{q.name: shared[q.name] for q in space.discrete}}
                    doc["parameters"] = params
                    entries[i] = (replace(spec, parameters=dict(params)), doc)
                    continue
                r = result_from(scorers[i], scores[i][a][0], doc.get("method", "ga"), 0, 0.0, [])
                changed = {q.name: spec.parameters.get(q.name) for q in space.discrete
                           if r.parameters.get(q.name) != spec.parameters.get(q.name)}
                record = {"loss_before": float(doc.get("loss", float("nan"))), "discrete_before": changed,
                          "evaluations": scorers[i].evaluations, "seconds": seconds / len(members)}
                new = ObjectSpec(spec.instance_id, spec.category, spec.program, dict(r.parameters), float(r.yaw),
                                 [float(x) for x in np.asarray(r.translation)], float(r.scale), gid)
                doc.update(new.to_json())
                doc.update({"loss": r.loss, "terms": r.terms, "consistency": record})
                entries[i] = (new, doc)
            if len(assignments) == 1:
                log(f"  consistency: {program} {ids} share their discrete values already (group {gid})")
            else:
                values = {q.name: int(v) for q, v, k in zip(space.discrete, assignments[a], keys[a]) if k is not None}
                log(f"  consistency: {program} {ids} share {values} (group {gid}): summed loss {own_sum:.5f} own -> "
                    f"{shared_sum:.5f} shared, {len(assignments)} assignments tried, {seconds:.1f} s")
        alone = [entries[i][0].instance_id for i in members if i not in group_of]
        if alone:
            log(f"  consistency: {program} {', '.join(map(str, alone))}: own discrete values kept (no shared "
                f"assignment within {100 * cfg.loss_tolerance:g} % of the summed own losses; {seconds:.1f} s)")
    out = []
    for k, (spec, doc) in enumerate(entries):
        doc["group"] = group_of.get(k)
        out.append((replace(spec, group=group_of.get(k)), doc))
    return out, group_list([spec for spec, _ in out])
