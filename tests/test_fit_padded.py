"""Several topologies scored in one padded loss call (`candidates.pad_meshes`, `merge_groups`)
give each candidate the losses and gradients it gets scored with its own topology alone."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from procsplat.fit.candidates import Scorer, SearchSpace, merge_groups, pad_meshes
from procsplat.fit.refine import RefineConfig, refine
from procsplat.fit.search import initial_population
from test_fit_sweep import mid_board_table  # noqa: F401 (the fixture: a table with a mid board)


@pytest.fixture(scope="module")
def population(mid_board_table):
    prog, target, _ = mid_board_table
    space = SearchSpace(prog)
    g, _ = initial_population(space, target, 24, np.random.default_rng(1), 0.05, 0.03)
    return space, target, g


def _scorers(space, target):
    alone, padded = Scorer(space, target), Scorer(space, target)
    alone.pad_slack = alone.pad_slack_refine = -1.0
    padded.pad_slack = padded.pad_slack_refine = float("inf")
    return alone, padded


def test_population_has_several_topologies_that_merge(population):
    space, target, g = population
    groups = space.program.evaluate(space.values(g.disc, torch.from_numpy(g.unit).float()))
    counts = {tuple(x.triangles.shape) for x in groups}
    assert len(groups) >= 4 and len(counts) >= 3  # the test below pads different triangle counts
    sizes = [(len(x.index), x.vertices.shape[1], x.triangles.shape[0]) for x in groups]
    assert len(merge_groups(sizes, float("inf"))) == 1


def test_padded_scoring_equals_per_topology_scoring(population):
    space, target, g = population
    alone, padded = _scorers(space, target)
    for dtype in (torch.float32, torch.float64):
        alone.dtype = padded.dtype = dtype
        unit = [torch.tensor(g.unit, dtype=dtype, requires_grad=True) for _ in range(2)]
        pose = [torch.tensor(g.pose, dtype=dtype, requires_grad=True) for _ in range(2)]
        a = alone.score(g, unit[0], pose[0])
        b = padded.score(g, unit[1], pose[1])
        tol = 1e-6 if dtype == torch.float32 else 1e-12
        for k in ("coverage", "free_space", "accuracy", "support", "total", "translation"):
            assert torch.allclose(a[k], b[k], rtol=tol, atol=tol), k
        assert float(a["total"].detach().std()) > 0.01  # different shapes, different losses
        a["total"].sum().backward()
        b["total"].sum().backward()
        assert torch.allclose(unit[0].grad, unit[1].grad, rtol=1e-4, atol=tol)
        assert torch.allclose(pose[0].grad, pose[1].grad, rtol=1e-4, atol=tol)
        assert unit[0].grad.abs().sum() > 0


def test_padded_refinement_matches(population):
    """Refinement scores its batch padded: fresh proposals every step give the same steps and
    losses. Reused proposals (`RefineConfig.proposal_refresh`) are keyed by the padded batch;
    where bounds tie, topk over a padded row may keep another of the tied triangles as the 8th
    proposal, so a later reuse step can differ slightly; the returned losses are exact."""
    space, target, g = population
    alone, padded = _scorers(space, target)
    alone.dtype = padded.dtype = torch.float64
    top = g.take(np.arange(8))
    ra, la = refine(alone, top, 6, RefineConfig(proposal_refresh=1))
    rb, lb = refine(padded, top, 6, RefineConfig(proposal_refresh=1))
    assert np.allclose(la, lb, rtol=1e-9, atol=1e-12)
    assert np.allclose(ra.unit, rb.unit, atol=1e-9) and np.allclose(ra.pose, rb.pose, atol=1e-9)
    ra, la = refine(alone, top, 6)
    rb, lb = refine(padded, top, 6)
    assert np.allclose(la, lb, rtol=1e-3)
    with torch.no_grad():
        exact = alone.score(rb)["total"].double().numpy()
    assert np.allclose(lb, exact, rtol=1e-9, atol=1e-12)


def test_padding_triangles_are_never_sampled_and_keep_the_box(population):
    space, target, g = population
    scorer = Scorer(space, target)
    meshes, _ = scorer.posed_meshes(g.disc, torch.from_numpy(g.unit).float(), torch.from_numpy(g.pose).float())
    rows, v, t, yaw = pad_meshes(meshes)
    assert v.shape[0] == len(g) and t.shape[:2] == (len(g), max(m[2].shape[0] for m in meshes))
    _, tri, valid = scorer.losses.sampler.sample(v, t)
    i = 0
    for m in meshes:
        n, T = len(m[0]), m[2].shape[0]
        assert int(tri[i:i + n].max()) < T  # samples lie on the row's own triangles
        assert torch.equal(v[i:i + n].amin(1), m[1].amin(1)) and torch.equal(v[i:i + n].amax(1), m[1].amax(1))
        i += n
    assert valid.all()


def test_merge_groups_bounds_the_padding():
    sizes = [(1, 10, 100), (2, 10, 100), (1, 12, 120), (3, 0, 0), (1, 30, 400)]
    # slack 0: only equal triangle counts; no triangles: alone.
    assert sorted(map(sorted, merge_groups(sizes, 0.0))) == [[0, 1], [2], [3], [4]]
    # 3 rows padded from 100 to 120 triangles cost 60 triangle-rows: within 100, not the 400's.
    assert sorted(map(sorted, merge_groups(sizes, 100.0))) == [[0, 1, 2], [3], [4]]
    assert sorted(map(sorted, merge_groups(sizes, float("inf")))) == [[0, 1, 2, 4], [3]]
