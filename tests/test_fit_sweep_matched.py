"""The sweep's shape-matched neighbours (`sweep.shape_matched`, `neighbours(matched=)`): a change
whose shared floats mean another geometry under the new value (a chair back's thickness is the
panel's, half the upholstered cushion's) starts from floats that reproduce the incumbent's shape."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from geonodes import load_program
from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.metrics import truth_genome
from procsplat.fit.sweep import neighbours, shape_matched
from procsplat.fit.synthetic import CameraRig, synthetic_object

UPHOLSTERED = {"Seat Height": 0.47, "Seat Width": 0.5, "Seat Depth": 0.45, "Seat Thickness": 0.03, "Seat Shape": 0,
               "Legs Type": 0, "Legs Size": 0.035, "Round Legs": False, "Has Middle Support": False,
               "Has Back": True, "Back Height": 0.42, "Back Thickness": 0.02, "Back Tilt": 0.12, "Back Style": 2,
               "Has Arms": False}


def _chair():
    torch.set_num_threads(1)
    prog = load_program("chair")
    target, truth = synthetic_object(prog, UPHOLSTERED, yaw=0.3, xy=(0.2, -0.1),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=3)
    space = SearchSpace(prog)
    return space, Scorer(space, target), truth


def _value(space, g, i, name):
    return space.to_dict(g.disc[i], g.unit[i])[name]


def test_a_panel_back_changed_to_upholstered_keeps_its_depth():
    """Fitted as a 4 cm panel (what the upholstered 2 cm back's cushion looks like), the change to the
    upholstered style with the incumbent's own 4 cm builds an 8 cm cushion; the matched row halves the
    thickness, keeps the height and tilt near the incumbent's and scores below the incumbent, which the
    plain neighbours' Back Style 2 rows (own values, box-matched) do not."""
    space, scorer, truth = _chair()
    g = truth_genome(space, replace(truth, parameters=dict(truth.parameters, **{"Back Style": 0,
                                                                                "Back Thickness": 0.04})))
    style = [p.name for p in space.discrete].index("Back Style")
    with torch.no_grad():
        incumbent = float(scorer.score(g)["total"][0])
    plain, _ = neighbours(scorer, g, 0, np.random.default_rng(0), box=True)
    cands, ids = neighbours(scorer, g, 0, np.random.default_rng(0), box=True, matched=12)
    assert len(cands) > len(plain)
    extra = cands.take(np.arange(len(plain), len(cands)))
    rows = np.flatnonzero(extra.disc[:, style] == 2)
    assert len(rows) == 1
    r = int(rows[0])
    assert abs(_value(space, extra, r, "Back Thickness") - 0.02) < 0.004
    assert abs(_value(space, extra, r, "Back Height") - 0.42) < 0.04
    assert abs(_value(space, extra, r, "Back Tilt") - 0.12) < 0.03
    # only the Back category moved, and the row is the same neighbour as the plain Back Style 2 rows
    names = [p.name for p in space.floats]
    moved = {names[k] for k in np.flatnonzero(np.abs(extra.unit[r] - g.unit[0]) > 1e-9)}
    assert moved and moved <= {"Back Height", "Back Thickness", "Back Tilt"}
    assert ids[len(plain) + r] == ids[np.flatnonzero(cands.disc[:len(plain), style] == 2)[0]]
    with torch.no_grad():
        matched = float(scorer.score(extra.take([r]))["total"][0])
        own = scorer.score(plain.take(np.flatnonzero(plain.disc[:, style] == 2)))["total"].double().numpy()
    assert matched < incumbent < own.min()


def test_shape_matched_moves_only_free_floats_and_keeps_the_lowest_state():
    space, _, truth = _chair()
    g = truth_genome(space, truth)
    rows = g.take([0, 0])
    rows.disc[:, [p.name for p in space.discrete].index("Back Style")] = 0
    free = np.zeros((2, len(space.floats)), dtype=bool)
    free[0, [p.name for p in space.floats].index("Back Thickness")] = True
    out = shape_matched(space, rows, g, free, steps=8)
    assert np.array_equal(out.unit[1], g.unit[0]) and np.array_equal(out.disc, rows.disc)
    assert np.array_equal(out.unit[0, ~free[0]], g.unit[0, ~free[0]])
    assert _value(space, out, 0, "Back Thickness") > 0.03  # a panel as deep as the 2 cm back's 4 cm cushion
