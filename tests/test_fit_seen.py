"""`metrics.seen_share`: which discrete misses a scan has any evidence on."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from geonodes.render import render_mesh
from procsplat.fit.bench import evidence_ceiling, resolve_program, unseen_misses
from procsplat.fit.metrics import evidence_chance, seen_share
from procsplat.fit.synthetic import SyntheticTruth
from procsplat.fit.target import ObjectTarget
from procsplat.geometry import look_at, object_to_world

SHELF = {"Width": 1.0, "Height": 1.8, "Depth": 0.32, "Shelf Count": 5, "Divider Count": 1, "Has Back Panel": True,
         "Has Legs": False, "Has Plinth": True}
YAW = 0.4


@pytest.fixture(scope="module")
def bookshelf():
    prog = resolve_program("bookshelf")
    params = {**prog.defaults, **SHELF}
    mesh = prog.evaluate_one(params, dtype=torch.float64)
    world = object_to_world(mesh.vertices, YAW, np.zeros(3)).numpy()
    truth = SyntheticTruth("bookshelf", params, YAW, np.zeros(3), world, mesh.triangles.numpy())
    return prog, truth


def _target(truth, side: float) -> ObjectTarget:
    """Depth views from 3 cameras 2.5 m away on one side of the shape (`side` +1 or -1 along
    its own y axis), the floor rendered with it."""
    v, t = truth.vertices, truth.triangles
    floor = np.array([[-6.0, -6, 0], [6, -6, 0], [6, 6, 0], [-6, 6, 0]])
    V = torch.from_numpy(np.concatenate([v, floor]))
    F = torch.from_numpy(np.concatenate([t, np.array([[0, 1, 2], [0, 2, 3]]) + len(v)]))
    ids = torch.cat([torch.ones(len(t), dtype=torch.int64), torch.full((2,), 2, dtype=torch.int64)])
    K = np.array([[180.0, 0, 80], [0, 180.0, 60], [0, 0, 1]])
    centre = (v.min(0) + v.max(0)) / 2
    depths, poses, masks = [], [], []
    for turn in (-0.5, 0.0, 0.5):  # azimuths around the side's outward direction
        a = YAW + side * math.pi / 2 + turn
        eye = centre + np.array([2.5 * math.cos(a), 2.5 * math.sin(a), 0.4])
        pose = look_at(eye, centre)
        out = render_mesh(V, F, torch.from_numpy(K), torch.from_numpy(pose), 160, 120, face_ids=ids, shading=False)
        depths.append(out["depth"].numpy())
        poses.append(pose)
        masks.append((out["id"].numpy() == 1) & (depths[-1] > 0))
    return ObjectTarget.from_frames(depths, [K] * 3, poses, masks, floor_height=0.0)


def test_shelves_behind_the_back_panel_are_unseen_and_seen_from_the_front(bookshelf):
    prog, truth = bookshelf
    back, front = _target(truth, -1.0), _target(truth, +1.0)
    for name, value in (("Shelf Count", 7), ("Divider Count", 3)):
        changed = {**truth.parameters, name: value}
        hidden, shown = seen_share(prog, truth, changed, back), seen_share(prog, truth, changed, front)
        assert hidden < 0.1 < 0.5 < shown, (name, hidden, shown)
    # The outline is seen from behind too: the sides of a wider shelf stand in seen-through space.
    assert seen_share(prog, truth, {**truth.parameters, "Width": 1.2}, back) > 0.5
    assert seen_share(prog, truth, dict(truth.parameters), back) == 1.0  # nothing disputed


def test_unseen_misses_counts_only_the_unevidenced_ones():
    rows = [{"method": "ga", "discrete_misses": [{"seen_share": 0.02}, {"seen_share": 0.4}]},
            {"method": "ga", "discrete_misses": [{"seen_share": 0.09}]},
            {"method": "coord", "discrete_misses": [{"seen_share": 0.0}]}]
    assert unseen_misses(rows).startswith("ga: 2 of 3 discrete misses")
    assert unseen_misses([{"method": "ga", "discrete_misses": []}]) == "ga: no discrete misses"


def test_evidence_chance_counts_what_only_one_side_saw(bookshelf):
    """From behind (a back panel) the shelf and divider counts are guesses; from the front they are seen."""
    prog, truth = bookshelf
    free_back, hits_back = evidence_chance(prog, truth, _target(truth, -1.0))
    free_front, hits_front = evidence_chance(prog, truth, _target(truth, +1.0))
    counts = [p for p in prog.parameters if p.name in ("Shelf Count", "Divider Count")]
    guess = sum(1.0 / (p.max - p.min + 1) for p in counts)  # every value alike: 1/k each
    assert {"Shelf Count", "Divider Count"} <= set(free_back) and len(free_front) < 2, (free_back, free_front)
    n = sum(1 for p in prog.parameters if p.kind != "float" and p.sample and prog.is_active(p.name, truth.parameters))
    assert hits_back <= n - 2 + guess + 1e-9 < n - 1 < hits_front <= n


def test_evidence_ceiling_line():
    rows = [{"method": "ga", "num_discrete": 4, "no_evidence": ["Has Back"], "chance_hits": 3.5,
             "discrete_misses": [{"name": "Has Back"}, {"name": "Has Legs"}]},
            {"method": "ga", "num_discrete": 6, "no_evidence": [], "chance_hits": 6.0, "discrete_misses": []},
            {"method": "coord", "num_discrete": 4, "no_evidence": ["A", "B", "C", "D"], "chance_hits": 1.0,
             "discrete_misses": []}]
    line = evidence_ceiling(rows)
    assert line.startswith("ga: 1 of 10 true discrete parameters")
    assert line.endswith("at 95.0 %; on the other 9 the fits got 88.9 %"), line
    assert evidence_ceiling([{"method": "ga", "num_discrete": 0}]) == "ga: no discrete parameters"
