"""Coarse-to-fine fitting (`Scorer.coarse`, `GAConfig.coarse_points`, the sweep's `screen`) and
the covered-face test's sparse edge check (`losses.covered_triangles`)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.losses import _plane_and_outside, _triangle_planes, covered_triangles
from procsplat.fit.metrics import truth_genome
from procsplat.fit.search import genetic_search, initial_population, preset
from procsplat.fit.surface import triangle_corners
from procsplat.fit.sweep import discrete_sweep
from test_fit_sweep import mid_board_table  # noqa: F401 (the fixture: a table with a mid board)


@pytest.fixture(scope="module")
def population(mid_board_table):
    prog, target, _ = mid_board_table
    space = SearchSpace(prog)
    g, _ = initial_population(space, target, 16, np.random.default_rng(2), 0.05, 0.03)
    return space, target, g


def test_coarse_scorer_at_full_size_scores_exactly_like_the_full_one(population):
    space, target, g = population
    full = Scorer(space, target)
    assert len(target.points) > 300  # else the coarse scorer below would not be coarser
    same = full.coarse(10**6, 10**6)
    with torch.no_grad():
        a, b = full.score(g), same.score(g)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert same.losses._planes is full.losses._planes  # the observed tangent planes are built once


def test_coarse_scorer_sees_fewer_points_and_samples_and_ranks_alike(population):
    space, target, g = population
    full = Scorer(space, target)
    coarse = full.coarse(300, 200)
    assert coarse.losses.points.shape[0] == 300 and coarse.losses.sampler.num_samples == 200
    assert full.losses.config.max_points == 1000  # the full scorer's own config is untouched
    with torch.no_grad():
        a = full.score(g)["total"].double().numpy()
        b = coarse.score(g)["total"].double().numpy()
    assert not np.allclose(a, b)  # really another estimate of the loss
    assert int(np.argmin(a)) == int(np.argmin(b))
    assert np.corrcoef(a, b)[0, 1] > 0.9


def _covered_dense(vertices, triangles, tol=1e-4):
    """The covered-face test with the edge lines evaluated for every pair (the implementation
    before the sparse edge check), at centroids then near corners."""
    b, T = vertices.shape[0], triangles.shape[-2]
    corners = triangle_corners(vertices, triangles)
    n = torch.linalg.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0])
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    planes = _triangle_planes(vertices, triangles)

    def on_opposite(points, owner_normals):
        hom = torch.cat([points, points.new_ones(*points.shape[:2], 1)], -1)
        plane, outside = _plane_and_outside(hom @ planes, T)
        return ((plane.abs() < tol) & (outside < tol) & ((owner_normals @ n.transpose(1, 2)) < -0.99)).any(-1)

    centroid = corners.mean(2)
    covered = on_opposite(centroid, n)
    near = centroid[:, :, None] + 0.9 * (corners - centroid[:, :, None])  # (b,T,3,3)
    at = on_opposite(near.reshape(b, -1, 3), n.repeat_interleave(3, 1)).reshape(b, T, 3).all(-1)
    return covered & at


def test_sparse_covered_faces_match_the_dense_test(population):
    space, _, g = population
    groups = space.program.evaluate(space.values(g.disc, torch.from_numpy(g.unit).float()))
    total = 0
    for grp in groups:
        want = _covered_dense(grp.vertices, grp.triangles)
        assert torch.equal(covered_triangles(grp.vertices, grp.triangles), want)
        total += int(want.sum())
    assert total > 0  # legs pressed against the top: contact faces exist to be found


def test_sweep_screened_coarsely_returns_full_losses(mid_board_table):
    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    wrong = dict(truth.parameters, **{"Has Mid Board": False, "Mid Board Z Scale": 0.45})
    g = truth_genome(space, replace(truth, parameters=wrong))
    with torch.no_grad():
        loss0 = float(scorer.score(g)["total"][0])
    screen = scorer.coarse(200, 200)
    best, loss = discrete_sweep(scorer, g, loss0, np.random.default_rng(0), rounds=1, samples=8, steps=10,
                                screen=screen)
    assert screen.evaluations > 0  # the neighbours were ranked by the coarse scorer
    assert space.to_dict(best.disc[0], best.unit[0])["Has Mid Board"] is True
    with torch.no_grad():
        assert abs(float(scorer.score(best)["total"][0]) - loss) <= 1e-6 * max(loss, 1e-9)


def test_coarse_ga_counts_both_scorers_and_reports_the_full_loss(mid_board_table):
    prog, target, truth = mid_board_table
    cfg = preset("fast", population=16, keep=4, offspring=10, generations=2, final_steps=5, seed=3,
                 coarse_points=200, coarse_samples=200)
    r = genetic_search(prog, target, cfg)
    off = genetic_search(prog, target, replace(cfg, coarse_points=0))
    assert r.evaluations > cfg.population * cfg.generations and off.evaluations > 0
    # The reported loss is the full loss of the returned shape, not a coarse estimate.
    assert r.loss == pytest.approx(r.terms["coverage"] + 2 * r.terms["free_space"] + 0.5 * r.terms["accuracy"]
                                   + r.terms["support"], rel=1e-5)
    assert r.curve[-1] == (r.evaluations, pytest.approx(r.loss, rel=1e-5))


def test_sweep_screen_points_coarsen_only_the_sweeps_screening(mid_board_table, monkeypatch):
    import procsplat.fit.search as search

    prog, target, truth = mid_board_table
    seen = []

    def spy(scorer, *a, screen=None, **k):  # the real sweep, recording the scorers it was given
        seen.append((scorer, screen))
        return discrete_sweep(scorer, *a, screen=screen, **k)

    monkeypatch.setattr(search, "discrete_sweep", spy)
    cfg = preset("fast", population=16, keep=4, offspring=10, generations=2, final_steps=5, seed=3, sweep_rounds=1)
    off = genetic_search(prog, target, cfg)
    on = genetic_search(prog, target, replace(cfg, sweep_screen_points=200, sweep_screen_samples=150))
    (full_off, screen_off), (full_on, screen_on) = seen
    assert screen_off is full_off  # off: the full loss screens
    assert screen_on is not full_on and screen_on.evaluations > 0
    assert screen_on.losses.points.shape[0] == 200 and screen_on.losses.sampler.num_samples == 150
    # The generations are untouched: the same curve (evaluations and full losses) up to the sweep.
    n = cfg.generations + 1
    assert on.curve[:n] == off.curve[:n]
    # The screen's evaluations are counted; the reported loss is the full loss of the result.
    # (result_from re-scores the result once after the count)
    assert on.evaluations == full_on.evaluations - 1 + screen_on.evaluations
    assert on.loss == pytest.approx(on.terms["coverage"] + 2 * on.terms["free_space"] + 0.5 * on.terms["accuracy"]
                                    + on.terms["support"], rel=1e-5)
    # With coarse-to-fine on, its coarse scorer screens (sweep_screen_points does not add a third).
    seen.clear()
    genetic_search(prog, target, replace(cfg, coarse_points=300, coarse_samples=300, sweep_screen_points=200))
    assert seen[0][1].losses.points.shape[0] == 300
