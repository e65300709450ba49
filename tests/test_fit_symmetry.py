"""Near-symmetric turns of a fitted shape (`procsplat.fit.symmetry`) and `search.last_symmetry`."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.metrics import chamfer, truth_genome
from procsplat.fit.pose import place_on_floor
from procsplat.fit.refine import refine
from procsplat.fit.search import last_symmetry, preset
from procsplat.fit.symmetry import local_mesh, near_turns, turn_angles, turned
from procsplat.fit.synthetic import CameraRig, synthetic_object

# A backless chair on a five-star base with a 2 cm elliptic seat (dev seed 7781's chair, rounded).
STAR_CHAIR = {"Legs Type": 2, "Has Back": False, "Has Arms": False, "Seat Shape": 1, "Seat Width": 0.58,
              "Seat Depth": 0.56, "Seat Height": 0.47, "Star Radius": 0.32}
FOUR_LEGS = {"Legs Type": 0, "Has Back": True, "Has Arms": False, "Seat Shape": 0, "Seat Width": 0.46,
             "Seat Depth": 0.44}

ROUND_PEDESTAL = {"Legs Type": 1, "Has Back": False, "Has Arms": False, "Seat Shape": 1, "Seat Width": 0.5,
                  "Seat Depth": 0.5}


@pytest.fixture(scope="module")
def star_chair():
    torch.set_num_threads(1)
    prog = load_program("chair")
    target, truth = synthetic_object(prog, STAR_CHAIR, yaw=0.75, xy=(0.2, -0.1),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=5)
    return prog, target, truth


def _world(space, g):
    """World vertices (V,3) and triangles of genome g's first row, posed as the search poses it."""
    v, t = local_mesh(space, g)
    pose = torch.from_numpy(g.pose[:1])
    w, _ = place_on_floor(torch.from_numpy(v)[None], pose[:, 0], pose[:, 1:3], 0.0, centre_xy=True)
    return w[0].numpy(), t


def test_turn_angles_leave_out_quarter_turns_and_reject_bad_orders():
    got = [round(math.degrees(a)) for a in turn_angles((4, 5, 8))]
    assert got == [45, 72, 135, 144, 216, 225, 288, 315]
    with pytest.raises(ValueError, match="orders"):
        turn_angles((1, 5))


def test_bad_symmetry_orders_are_a_clear_error_before_the_search(star_chair):
    from procsplat.errors import ProcsplatError
    from procsplat.fit.search import genetic_search

    prog, target, _ = star_chair
    with pytest.raises(ProcsplatError, match="symmetry_orders"):
        genetic_search(prog, target, preset("fast", symmetry_orders=(1, 5)))


def test_a_five_star_chair_is_near_symmetric_under_its_star_turns_only(star_chair):
    prog, _, truth = star_chair
    space = SearchSpace(prog)
    turns = near_turns(*local_mesh(space, truth_genome(space, truth)), (3, 5, 6, 7, 8), 0.003)
    assert [round(math.degrees(a)) for a, _, _ in turns] == [72, 144, 216, 288]
    assert all(d < 0.003 for _, _, d in turns)
    # A four-legged chair with a back: nothing (a quarter turn would not count either).
    params = {**prog.defaults, **FOUR_LEGS}
    g = truth_genome(space, replace(truth, parameters=params))
    assert near_turns(*local_mesh(space, g), (3, 5, 6, 7, 8), 0.003) == []


def test_turned_copies_lie_where_the_shape_lies(star_chair):
    """Each turned genome's world mesh overlays the incumbent's (the turn is about the star's
    column, not the footprint box centre the pose turns about)."""
    prog, _, truth = star_chair
    space = SearchSpace(prog)
    g = truth_genome(space, truth)
    turns = near_turns(*local_mesh(space, g), (5,), 0.003)
    base = _world(space, g)
    out = turned(space, g, turns)
    for r in range(len(out)):
        assert chamfer(*base, *_world(space, out.take([r])), n=1000) < 0.004
        assert abs(math.remainder(out.pose[r, 0] - g.pose[0, 0] - turns[r][0], 2 * math.pi)) < 1e-9


def test_last_symmetry_turns_back_a_star_chair_fitted_72_degrees_off(star_chair):
    prog, target, truth = star_chair
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    g = truth_genome(space, truth)
    turns = near_turns(*local_mesh(space, g), (5,), 0.003)
    off, off_loss = refine(scorer, turned(space, g, turns[:1]), 15)  # settled 72 degrees off
    cfg = preset("default")
    best, loss = last_symmetry(scorer, off, float(off_loss[0]), cfg)
    assert loss < float(off_loss[0])
    assert abs(math.degrees(math.remainder(best.pose[0, 0] - truth.yaw, 2 * math.pi))) < 3.0
    with torch.no_grad():
        assert float(scorer.score(best)["total"][0]) == pytest.approx(loss, rel=1e-5)
    # Switched off, or a shape without near-symmetries: unchanged, nothing refined.
    same, same_loss = last_symmetry(scorer, off, float(off_loss[0]), replace(cfg, symmetry_steps=0))
    assert same_loss == float(off_loss[0]) and np.array_equal(same.pose, off.pose)
    # No near-symmetry (four legs and a back), or one under every turn tried (a round seat on a
    # pedestal: no yaw to find): unchanged, nothing refined.
    for params in (FOUR_LEGS, ROUND_PEDESTAL):
        other = truth_genome(space, replace(truth, parameters={**prog.defaults, **params}))
        before = scorer.evaluations
        kept, kept_loss = last_symmetry(scorer, other, 1.0, cfg)
        assert kept_loss == 1.0 and np.array_equal(kept.pose, other.pose) and scorer.evaluations == before
