"""A refinement's last, gradient-free scoring (`Scorer.score(..., detach=True)`) evaluates the
program as its gradient steps did, so it replays their recorded evaluation (`geonodes.replay`)
instead of evaluating in full under a new signature, and gives the same loss terms, bit for
bit, as scoring under `torch.no_grad()`."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from procsplat.fit.bench import resolve_program
from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.losses import LossConfig
from procsplat.fit.refine import refine
from procsplat.fit.search import initial_population
from procsplat.fit.synthetic import CameraRig, synthetic_object


@pytest.fixture(scope="module", params=["chair", "table"])
def setup(request):
    program = resolve_program(request.param)
    rng = np.random.default_rng(3)
    params = program.sample(1, seed=3)[0]
    target, _ = synthetic_object(program, params, float(rng.uniform(-math.pi, math.pi)), (0.3, -0.2),
                                 rig=CameraRig(num_views=3), seed=3)
    space = SearchSpace(program)
    g, _ = initial_population(space, target, 6, np.random.default_rng(5), 0.05, 0.03)
    return Scorer(space, target, LossConfig(max_points=300, num_samples=200)), g


def test_detached_scoring_replays_and_equals_no_grad(setup):
    scorer, g = setup
    unit = torch.tensor(g.unit, dtype=torch.float32, requires_grad=True)
    pose = torch.tensor(g.pose, dtype=torch.float32, requires_grad=True)
    for _ in range(3):  # a refinement's first steps: evaluated in full, recorded, replayed
        scorer.score(g, unit, pose)["total"].sum().backward()
    replays = scorer.space.program._replays
    before = replays.replayed
    got = scorer.score(g, unit, pose, detach=True)
    assert replays.replayed == before + 1
    assert not got["total"].requires_grad
    with torch.no_grad():
        want = scorer.score(g, unit, pose)
    assert set(got) == set(want)
    for k in want:
        assert torch.equal(got[k], want[k]), k


def test_refine_equals_refine_with_a_no_grad_last_scoring(setup, monkeypatch):
    """The refinement as before (its last scoring under `torch.no_grad()`): the same genomes and
    losses, bit for bit."""
    scorer, g = setup
    out, loss = refine(scorer, g, 5)
    plain = Scorer.score

    def no_grad_last(self, genomes, unit=None, pose=None, cache=None, reuse=False, detach=False):
        if not detach:
            return plain(self, genomes, unit, pose, cache, reuse)
        with torch.no_grad():
            return plain(self, genomes, unit, pose, cache, reuse)

    monkeypatch.setattr(Scorer, "score", no_grad_last)
    ref, ref_loss = refine(scorer, g, 5)
    np.testing.assert_array_equal(loss, ref_loss)
    np.testing.assert_array_equal(out.unit, ref.unit)
    np.testing.assert_array_equal(out.pose, ref.pose)
