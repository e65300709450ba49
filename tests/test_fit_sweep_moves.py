"""The sweep's optional neighbours: every combination of switched-on discrete values with the
incumbent's floats (`own_combos`), footprint-side anchors (`anchors`), box-matched quarter turns
(`box_turns`)."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.metrics import truth_genome
from procsplat.fit.sweep import local_boxes, neighbours
from procsplat.fit.synthetic import CameraRig, synthetic_object

PEDESTAL = {"Width": 1.6, "Depth": 0.6, "Height": 0.75, "Top Shape": 0, "Top Thickness": 0.04, "Legs Type": 3,
            "Foot Type": 0, "Pedestal Radius": 0.12, "Base Radius": 0.35}
STAR_CHAIR = {"Seat Height": 0.48, "Seat Width": 0.56, "Seat Depth": 0.40, "Seat Thickness": 0.05, "Seat Shape": 0,
              "Legs Type": 2, "Column Radius": 0.025, "Base Radius": 0.19, "Base Thickness": 0.04,
              "Star Radius": 0.30, "Caster Radius": 0.03, "Has Back": True, "Back Height": 0.57,
              "Back Thickness": 0.03, "Back Tilt": 0.27, "Back Style": 2, "Has Arms": False}


def _scene(name, params, seed):
    torch.set_num_threads(1)
    prog = load_program(name)
    target, truth = synthetic_object(prog, params, yaw=0.3, xy=(0.2, -0.1),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=seed)
    space = SearchSpace(prog)
    return prog, space, Scorer(space, target), truth


def _loss(scorer, g):
    with torch.no_grad():
        return scorer.score(g)["total"].double().numpy()


def test_own_combos_try_every_switched_on_value_with_the_incumbents_floats():
    """A pedestal table fitted with a plain pedestal (Legs Type 1) keeps a dormant Foot Type 1: the
    change to Legs Type 3 with that dormant value scores far worse than with the true foot, which
    without `own_combos` only comes with random floats."""
    prog, space, scorer, truth = _scene("table", PEDESTAL, seed=5)
    wrong = dict(truth.parameters, **{"Legs Type": 1, "Foot Type": 1})
    g = truth_genome(space, replace(truth, parameters=wrong))
    names = [p.name for p in space.discrete]
    legs, foot = names.index("Legs Type"), names.index("Foot Type")

    def true_foot_own_floats(cands):
        return (cands.disc[:, legs] == 3) & (cands.disc[:, foot] == 0) & np.all(cands.unit == g.unit[0], 1)

    plain, _ = neighbours(scorer, g, 0, np.random.default_rng(0))
    assert not true_foot_own_floats(plain).any()
    cands, ids = neighbours(scorer, g, 0, np.random.default_rng(0), own_combos=8)
    rows = np.flatnonzero(true_foot_own_floats(cands))
    assert len(rows) == 1 and np.allclose(cands.pose[rows[0]], g.pose[0])
    # one id per combination: Foot Type 0, 1, 2 with Legs Type 3 are three neighbours
    legs3 = np.flatnonzero(cands.disc[:, legs] == 3)
    assert len(set(ids[legs3])) == 3
    dormant = _loss(scorer, plain.take(np.flatnonzero(plain.disc[:, legs] == 3)))
    assert _loss(scorer, cands.take(rows))[0] < 0.5 * dormant.min()


def test_anchors_keep_a_side_of_the_incumbents_footprint_in_place():
    """A chair fitted with a disc base (Legs Type 1), refined onto the data: its five-star base
    (true) reaches beyond the seat's front, so the neighbour placed by its footprint centre shifts
    the seat and back; a row with the back side of the incumbent's box kept scores near the truth."""
    from procsplat.fit.refine import refine

    prog, space, scorer, truth = _scene("chair", STAR_CHAIR, seed=7)
    wrong = dict(truth.parameters, **{"Legs Type": 1})
    g, _ = refine(scorer, truth_genome(space, replace(truth, parameters=wrong)), 40)
    legs = [p.name for p in space.discrete].index("Legs Type")
    plain, plain_ids = neighbours(scorer, g, 0, np.random.default_rng(0))
    cands, ids = neighbours(scorer, g, 0, np.random.default_rng(0), anchors=True)
    assert len(cands) > len(plain) and np.array_equal(ids[:len(plain)], plain_ids)
    star = lambda c: (c.disc[:, legs] == 2) & (np.abs(c.pose[:, 0] - g.pose[0, 0]) < 1e-9)
    extra = np.flatnonzero(star(cands))
    extra = extra[extra >= len(plain)]
    assert len(extra) >= 2  # both sides of the grown axis
    # each anchored row keeps one side of the incumbent's world footprint box along that axis
    lo0, hi0 = local_boxes(space, g.disc, g.unit)
    lo, hi = local_boxes(space, cands.disc[extra], cands.unit[extra])
    c, s = math.cos(g.pose[0, 0]), math.sin(g.pose[0, 0])
    R = np.array([[c, -s], [s, c]])
    local = (R.T @ (cands.pose[extra, 1:3] - g.pose[0, 1:3]).T).T  # shift in the shape's own frame
    kept = [np.isclose(local[k] + lo[k] - (lo[k] + hi[k]) / 2, lo0[0] - (lo0[0] + hi0[0]) / 2, atol=1e-6).any()
            or np.isclose(local[k] + hi[k] - (lo[k] + hi[k]) / 2, hi0[0] - (lo0[0] + hi0[0]) / 2, atol=1e-6).any()
            for k in range(len(extra))]
    assert all(kept)
    centred = _loss(scorer, plain.take(np.flatnonzero(star(plain))))
    anchored = _loss(scorer, cands.take(extra))
    assert anchored.min() < 0.5 * centred.min(), (anchored, centred)


def test_box_turns_resize_the_odd_quarter_turns():
    """With `box_turns` the incumbent's quarter and three-quarter turns come once more resized to
    the observed box (width and depth swapped): their extents match the observed box better than
    the plain turns'."""
    from procsplat.fit.candidates import local_extents

    prog, space, scorer, truth = _scene("table", PEDESTAL, seed=5)
    g = truth_genome(space, truth)
    plain, plain_ids = neighbours(scorer, g, 0, np.random.default_rng(0), box=True)
    cands, ids = neighbours(scorer, g, 0, np.random.default_rng(0), box=True, box_turns=True)
    assert len(cands) == len(plain) + 2
    new = np.flatnonzero(np.isin(ids, [0, 2]))
    new = new[new >= 3]
    assert len(new) == 2 and np.allclose(cands.pose[new], cands.pose[[0, 2]])
    assert not np.any(np.isin(plain_ids[np.flatnonzero(np.any(plain.unit != g.unit[0], 1))], [0, 2]))
    own = local_extents(space, g.disc, g.unit)[0]  # the true shape: 1.6 x 0.6 m
    resized = local_extents(space, cands.disc[new], cands.unit[new])
    # turned by a quarter, the observed box is 0.6 x 1.6 in the shape's own frame (the program's
    # ranges stop the resized rows at 0.8 x 0.8)
    goal = own[[1, 0, 2]]
    assert np.all(np.abs(resized - goal).sum(1) < np.abs(own - goal).sum() - 0.5)
