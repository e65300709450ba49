"""Discrete neighbourhood sweep, vertical-surface yaw and the nearest-triangle distance."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.candidates import Genomes, Scorer, SearchSpace
from procsplat.fit.losses import point_to_mesh_distance
from procsplat.fit.metrics import truth_genome
from procsplat.fit.surface import closest_point_on_triangle
from procsplat.fit.sweep import discrete_sweep, neighbours
from procsplat.fit.synthetic import CameraRig, synthetic_object
from procsplat.fit.target import vertical_surface_yaw

TABLE = {"Width": 1.4, "Height": 0.75, "Depth": 0.7, "Top Shape": 0, "Top Thickness": 0.04, "Legs Type": 2,
         "Panel Thickness": 0.05, "Has Mid Board": True, "Mid Board Z Scale": 0.2}


@pytest.fixture(scope="module")
def mid_board_table():
    torch.set_num_threads(1)
    prog = load_program("table")
    target, truth = synthetic_object(prog, TABLE, yaw=0.4, xy=(0.1, -0.2),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=3)
    return prog, target, truth


def _genome(space, params, truth):
    return truth_genome(space, replace(truth, parameters=params))


def test_sweep_switches_on_a_missing_part(mid_board_table):
    """The incumbent lacks the mid board (its height parameter at a wrong value): one sweep
    round finds the switch together with a height that explains the board."""
    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    wrong = dict(truth.parameters, **{"Has Mid Board": False, "Mid Board Z Scale": 0.45})
    g = _genome(space, wrong, truth)
    with torch.no_grad():
        loss0 = float(scorer.score(g)["total"][0])
    best, loss = discrete_sweep(scorer, g, loss0, np.random.default_rng(0), rounds=2, samples=8, steps=10)
    got = space.to_dict(best.disc[0], best.unit[0])
    assert got["Has Mid Board"] is True
    assert loss < 0.5 * loss0
    assert abs(got["Mid Board Z Scale"] - 0.2) < 0.08


def test_sweep_stops_after_a_round_with_a_small_gain(mid_board_table, monkeypatch):
    """The first round switches the mid board on (a large gain): with min_gain 0 a second round
    looks for more; with a min_gain above that round's gain the sweep stops after it."""
    import procsplat.fit.sweep as sweep

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    g = _genome(space, dict(truth.parameters, **{"Has Mid Board": False, "Mid Board Z Scale": 0.45}), truth)
    with torch.no_grad():
        loss0 = float(scorer.score(g)["total"][0])
    rounds = []
    real = sweep.neighbours
    monkeypatch.setattr(sweep, "neighbours", lambda *a, **k: rounds.append(1) or real(*a, **k))
    for min_gain, expected in ((0.0, 2), (0.999, 1)):
        rounds.clear()
        _, loss = discrete_sweep(scorer, g, loss0, np.random.default_rng(0), rounds=2, samples=8, steps=10,
                                 min_gain=min_gain)
        assert loss < 0.5 * loss0 and len(rounds) == expected, (min_gain, len(rounds))


def test_neighbours_change_one_active_discrete_value_and_turn(mid_board_table):
    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    g = _genome(space, truth.parameters, truth)
    cands, ids = neighbours(Scorer(space, target), g, samples=4, rng=np.random.default_rng(1))
    changed = (cands.disc != g.disc).sum(1)
    turned = np.abs(np.round((cands.pose[:, 0] - g.pose[0, 0]) / (math.pi / 2))) % 4
    assert set(ids[:3]) == {0, 1, 2} and np.all(changed[:3] == 0) and set(turned[:3]) == {1, 2, 3}
    # Every other row changes exactly one discrete parameter that is active for the incumbent, or
    # that one plus parameters it switches on (Legs Type 2 -> 0 activates Round Legs, Has Apron).
    names = [p.name for p in space.discrete]
    for row in range(3, len(cands)):
        diff = [names[j] for j in np.flatnonzero(cands.disc[row] != g.disc[0])]
        assert 1 <= len(diff) <= 3
        assert any(prog.is_active(n, truth.parameters) for n in diff)
    # Round Legs / Has Apron are inactive with panel legs: never changed on their own.
    for row in range(3, len(cands)):
        diff = [names[j] for j in np.flatnonzero(cands.disc[row] != g.disc[0])]
        assert diff != ["Round Legs"] and diff != ["Has Apron"]


def test_every_combination_of_switched_on_values_is_its_own_neighbour_in_all_turns(mid_board_table):
    """Legs Type 2 -> 0 switches on Round Legs and Has Apron: each drawn combination of their
    values is one neighbour (one id, one set of discrete values) and is tried in all 4 quarter
    turns, so the best turn of every combination reaches the probe steps."""
    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    g = _genome(space, truth.parameters, truth)
    cands, ids = neighbours(Scorer(space, target), g, samples=8, rng=np.random.default_rng(2))
    turned = (np.round((cands.pose[:, 0] - g.pose[0, 0]) / (math.pi / 2)).astype(int)) % 4
    by_values = {}
    for i in np.unique(ids[ids >= 3]):
        rows = np.flatnonzero(ids == i)
        assert set(turned[rows]) == {0, 1, 2, 3}
        assert np.all(cands.disc[rows] == cands.disc[rows[0]])
        by_values.setdefault(tuple(cands.disc[rows[0]]), []).append(i)
    assert all(len(v) == 1 for v in by_values.values())
    legs = [p.name for p in space.discrete].index("Legs Type")
    combos = {tuple(cands.disc[r]) for r in np.flatnonzero((ids >= 3) & (cands.disc[:, legs] == 0))}
    assert len(combos) >= 3  # several (Round Legs, Has Apron) combinations drawn with legs type 0


def _box_points(yaw: float, size=(1.2, 0.5, 0.8), step=0.02) -> np.ndarray:
    sx, sy, sz = size
    pts = []
    for x in np.arange(-sx / 2, sx / 2 + 1e-9, step):
        for z in np.arange(0, sz + 1e-9, step):
            pts += [(x, -sy / 2, z), (x, sy / 2, z)]
    for y in np.arange(-sy / 2, sy / 2 + 1e-9, step):
        for z in np.arange(0, sz + 1e-9, step):
            pts += [(-sx / 2, y, z)]  # three sides seen: a partial view
    p = np.array(pts)
    c, s = math.cos(yaw), math.sin(yaw)
    return p @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T


def test_vertical_surface_yaw_of_a_box_and_of_a_cylinder():
    for yaw in (0.3, -1.0, 2.0):
        got = vertical_surface_yaw(_box_points(yaw))
        d = (got - yaw) % (math.pi / 2)
        assert math.degrees(min(d, math.pi / 2 - d)) < 0.5
    a = np.linspace(0, 2 * math.pi, 200, endpoint=False)
    z = np.arange(0, 0.8, 0.02)
    cyl = np.array([(0.4 * math.cos(t), 0.4 * math.sin(t), h) for t in a for h in z])
    assert vertical_surface_yaw(cyl) is None  # no dominant direction: the caller falls back


def test_nearest_triangle_distance_is_exact_with_gradients():
    """Proposals by lower bounds (boxes in the candidate's frame, planes) find the nearest triangle: the distances and vertex gradients
    equal the differentiable minimum over ALL triangles, for a turned round table and a cabinet
    with handles (points on its drawer fronts, next to the handles, are at distance 0:
    nearest surface samples put them on the handles)."""
    torch.manual_seed(0)
    from procsplat.geometry import yaw_matrix
    from procsplat.fit.surface import sample_mesh_surface

    cabinet = {"Front Type": 1, "Drawer Count": 3, "Has Handles": True, "Width": 0.7, "Height": 0.6,
               "Depth": 0.6}
    for name, params in (("table", TABLE), ("table", {**TABLE, "Top Shape": 1}), ("cabinet", cabinet)):
        mesh = load_program(name).evaluate_one(params, dtype=torch.float64)
        yaw = torch.tensor([0.4, 2.0], dtype=torch.float64)
        local = torch.stack([mesh.vertices, mesh.vertices * 1.1])
        verts = (local @ yaw_matrix(yaw).transpose(1, 2) + torch.tensor([0.3, -0.2, 0.0])).requires_grad_(True)
        tris = mesh.triangles
        on = torch.from_numpy(sample_mesh_surface(verts[0].detach().numpy(), tris.numpy(), 400, seed=1))
        pts = torch.cat([on, on[:200] + 0.05 * torch.randn(200, 3, dtype=torch.float64)])
        d = point_to_mesh_distance(pts, verts, tris, yaw, k=4)
        corner = verts[:, tris]  # (2,T,3,3) reference: every triangle, differentiable minimum
        p = pts[None, :, None].expand(2, -1, tris.shape[0], 3)
        q = closest_point_on_triangle(p, *(corner[:, None, :, i] for i in range(3)))
        all_d = (p - q).square().sum(-1).clamp_min(1e-18).sqrt()
        ref = all_d.min(-1).values
        assert torch.allclose(d, ref, atol=1e-12), name
        # Gradients where the nearest triangle is unique (not on the surface, not nearest to an edge).
        two = all_d.detach().topk(2, -1, largest=False).values
        unique = (two[..., 1] - two[..., 0] > 1e-6) & (two[..., 0] > 1e-6)
        (g,) = torch.autograd.grad((d * unique).sum(), verts)
        (g_ref,) = torch.autograd.grad((ref * unique).sum(), verts)
        assert unique.sum() > 150 and torch.allclose(g, g_ref, atol=1e-10), name
        assert d[0, :400].max() < 1e-8, name


def test_box_matched_resizes_a_shape_to_the_observed_box(mid_board_table):
    """A table 40 cm too narrow and 20 cm too low is resized to the observed box, also when it is
    turned by a quarter (then its depth follows the observed width, up to its range); parameters
    that do not change the box are left alone."""
    from procsplat.fit.candidates import local_extents
    from procsplat.fit.sweep import box_matched

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    small = dict(truth.parameters, Width=1.0, Height=0.55)
    g = _genome(space, small, truth)
    turned = g.take([0])
    turned.pose[0, 0] += math.pi / 2
    turned.unit[0] = space.from_dict(dict(small, Width=small["Depth"], Depth=small["Width"]))[1]
    both = box_matched(scorer, Genomes.concat([g, turned]))
    ext = local_extents(space, both.disc, both.unit)
    _, _, obs = target.footprint_box()
    assert np.allclose(ext[0], obs, atol=0.02)
    # Turned: local x is across the observed box; local y (Depth) stops at its range's maximum.
    depth_max = next(p.max for p in space.floats if p.name == "Depth")
    assert np.allclose(ext[1][[0, 2]], obs[[1, 2]], atol=0.02) and ext[1][1] == pytest.approx(depth_max, abs=0.01)
    got = space.to_dict(both.disc[0], both.unit[0])
    assert abs(got["Width"] - 1.4) < 0.03 and abs(got["Height"] - 0.75) < 0.03
    assert got["Top Thickness"] == pytest.approx(truth.parameters["Top Thickness"], abs=1e-6)


def test_last_turn_turns_back_a_winner_that_settled_a_quarter_turn_off(mid_board_table):
    from procsplat.fit.search import last_turn, preset
    from procsplat.fit.refine import refine

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    g = _genome(space, truth.parameters, truth)
    off = g.take([0])
    off.pose[0, 0] += math.pi / 2
    off, off_loss = refine(scorer, off, 5)
    cfg = preset("default")
    best, loss = last_turn(scorer, off, float(off_loss[0]), cfg)
    assert loss < float(off_loss[0]) / 2
    assert abs(math.remainder(best.pose[0, 0] - g.pose[0, 0], math.pi)) < math.radians(5)
    again, again_loss = last_turn(scorer, best, loss, cfg)  # never worse
    assert again_loss <= loss
    with torch.no_grad():
        assert float(scorer.score(again)["total"][0]) == pytest.approx(again_loss, rel=1e-5)


def test_last_flip_takes_a_single_discrete_change_that_wins_at_the_final_floats(mid_board_table):
    """After the final refinement: the true table with its mid board switched off (the board's
    height kept, dormant) gets the board back from `last_flip`; the true shape keeps itself."""
    from procsplat.fit.search import last_flip, preset

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    cfg = preset("default")
    off = _genome(space, {**truth.parameters, "Has Mid Board": False}, truth)
    with torch.no_grad():
        off_loss = float(scorer.score(off)["total"][0])
    best, loss = last_flip(scorer, off, off_loss, cfg)
    assert loss < off_loss / 2
    assert space.to_dict(best.disc[0], best.unit[0])["Has Mid Board"] is True
    with torch.no_grad():
        assert float(scorer.score(best)["total"][0]) == pytest.approx(loss, rel=1e-5)
    g = _genome(space, truth.parameters, truth)
    with torch.no_grad():
        true_loss = float(scorer.score(g)["total"][0])
    same, same_loss = last_flip(scorer, g, true_loss, cfg)  # nothing beats the truth: unchanged
    assert same_loss == true_loss and np.array_equal(same.disc, g.disc)


def test_sweep_neighbours_redraw_the_floats_of_the_changed_parameters_category(mid_board_table):
    """Switching a sofa's back cushions off switches nothing on, but the back that remains must
    be thicker: the neighbour comes with fresh draws of the Back category's floats (Back
    Thickness), while floats of other categories (Width) keep the incumbent's values."""
    _, target, _ = mid_board_table
    prog = load_program("sofa")
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    g = space.random(1, np.random.default_rng(1))
    j = [p.name for p in space.discrete].index("Has Back Cushions")
    g.disc[0, [p.name for p in space.discrete].index("Has Back")] = 1
    g.disc[0, j] = 1
    cands, ids = neighbours(scorer, g, 8, np.random.default_rng(0))
    names = [p.name for p in space.floats]
    back, width = names.index("Back Thickness"), names.index("Width")
    flipped = cands.disc[:, j] == 0
    assert flipped.any()
    assert np.unique(cands.unit[flipped, back]).size > 1  # redrawn
    assert np.all(cands.unit[flipped, width] == g.unit[0, width])  # another category: kept


def test_reused_proposals_are_exact_until_the_shape_moves_and_never_below_it():
    """Proposals kept from one call (`propose`) and reused (`proposals`): on the same mesh the
    distances and gradients equal a fresh call's; on a moved mesh (2 cm, a refinement step or
    two) reused ones are an upper bound of the fresh distances and nearly all equal."""
    torch.manual_seed(0)
    from procsplat.fit.surface import sample_mesh_surface

    mesh = load_program("table").evaluate_one(TABLE, dtype=torch.float64)
    yaw = torch.tensor([0.4], dtype=torch.float64)
    from procsplat.geometry import yaw_matrix
    verts = (mesh.vertices[None] @ yaw_matrix(yaw).transpose(1, 2)).requires_grad_(True)
    tris = mesh.triangles
    on = torch.from_numpy(sample_mesh_surface(verts[0].detach().numpy(), tris.numpy(), 300, seed=2))
    pts = on + 0.03 * torch.randn(300, 3, dtype=torch.float64)
    fresh, kept = point_to_mesh_distance(pts, verts, tris, yaw, k=4, propose=8)
    assert kept.shape == (1, 300, 8)
    assert torch.equal(fresh, point_to_mesh_distance(pts, verts, tris, yaw, k=4))
    again = point_to_mesh_distance(pts, verts, tris, yaw, k=4, proposals=kept)
    assert torch.allclose(again, fresh, atol=1e-12)
    (g,) = torch.autograd.grad(again.sum(), verts)
    (g_ref,) = torch.autograd.grad(fresh.sum(), verts)
    assert torch.allclose(g, g_ref, atol=1e-10)
    moved = (verts.detach() * torch.tensor([1.02, 0.98, 1.0], dtype=torch.float64) + 0.01)
    reused = point_to_mesh_distance(pts, moved, tris, yaw, k=4, proposals=kept)
    exact = point_to_mesh_distance(pts, moved, tris, yaw, k=4)
    assert (reused >= exact - 1e-12).all()
    assert (reused - exact).abs().lt(1e-9).float().mean() > 0.95


def test_refinement_with_reused_proposals_returns_exact_losses(mid_board_table):
    """Refinement reuses coverage's proposals between refreshes (`proposal_refresh`); the losses
    it returns are the scorer's own for the returned genomes, and it is never worse than the
    start nor (by much) than refreshing every step."""
    from procsplat.fit.refine import RefineConfig, refine

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    g = _genome(space, truth.parameters, truth).take([0, 0])
    g.unit[1] = np.clip(g.unit[1] + 0.1, 0, 1)
    g.pose[:, 1:3] += 0.04
    with torch.no_grad():
        start = scorer.score(g)["total"].double().numpy()
    got, loss = refine(scorer, g, 12, RefineConfig(proposal_refresh=4))
    with torch.no_grad():
        assert np.allclose(scorer.score(got)["total"].double().numpy(), loss, rtol=1e-6)
    assert (loss <= start).all()
    _, every = refine(scorer, g, 12, RefineConfig(proposal_refresh=1))
    assert (loss <= 1.1 * every).all()


def test_refinement_adam_follows_torchs_adam():
    """refine's own Adam (torch's optimizer costs a torch._dynamo import per process) takes
    torch.optim.Adam's steps, learning rate per tensor and a changing factor included."""
    from procsplat.fit.refine import Adam

    torch.manual_seed(0)
    a = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    c = torch.randn(4, dtype=torch.float64, requires_grad=True)
    b, d = a.detach().clone().requires_grad_(True), c.detach().clone().requires_grad_(True)
    a0 = a.detach().clone()
    mine = Adam([(a, 0.02), (c, 0.01)])
    ref = torch.optim.Adam([{"params": [b], "lr": 0.02}, {"params": [d], "lr": 0.01}])
    for k in range(20):
        f = 0.55 + 0.45 * math.cos(k)
        for x, y, opt in ((a, c, mine), (b, d, ref)):
            opt.zero_grad()
            ((x ** 3).sum() + (y.sin() * y).sum()).backward()
        mine.step(f)
        for grp, lr in zip(ref.param_groups, (0.02, 0.01)):
            grp["lr"] = lr * f
        ref.step()
    assert torch.allclose(a, b, atol=1e-12) and torch.allclose(c, d, atol=1e-12)
    assert (a - a0).abs().max() > 0.05  # it moved


def test_last_restart_leaves_a_basin_no_refinement_leaves(mid_board_table):
    """The true table's discrete values with Width and Depth swapped at the true yaw: 60 refinement
    steps stop at 10x the truth's loss (Depth 0.79 against 0.70); fresh float draws resized to the
    observed box find the truth's basin. Off (`restart_draws` 0), nothing changes."""
    from procsplat.fit.refine import refine
    from procsplat.fit.search import last_restart, preset

    prog, target, truth = mid_board_table
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    with torch.no_grad():
        true_loss = float(scorer.score(_genome(space, truth.parameters, truth))["total"][0])
    swapped = _genome(space, {**truth.parameters, "Width": 0.7, "Depth": 1.4}, truth)
    swapped, loss = refine(scorer, swapped, 60)
    assert loss[0] > 5 * true_loss
    best, best_loss = last_restart(scorer, swapped, float(loss[0]), preset("default", restart_draws=16))
    assert best_loss < 2 * true_loss
    got = space.to_dict(best.disc[0], best.unit[0])
    assert abs(got["Depth"] - 0.7) < 0.02 and abs(got["Width"] - 1.4) < 0.02
    assert np.array_equal(best.disc, swapped.disc)
    with torch.no_grad():
        assert float(scorer.score(best)["total"][0]) == pytest.approx(best_loss, rel=1e-5)
    same, same_loss = last_restart(scorer, swapped, float(loss[0]), preset("default", restart_draws=0))
    assert same_loss == float(loss[0]) and same is swapped


def test_last_flip_refines_the_best_change_that_needs_its_floats_to_follow():
    """A bookshelf on a plinth fitted with 5 cm legs instead, its dormant plinth 7 cm tall (true
    4.4 cm): legs off scores worse than the incumbent until the plinth height follows, so the
    unrefined test (flip_refine_top 0) keeps the legs; with flip_refine_top 1 the best change is
    refined `final_steps` and the plinth comes back with a lower loss, unless it must gain more than
    it does (`flip_refine_gain`)."""
    from procsplat.fit.search import last_flip, preset

    shelf = {"Back Thickness": 0.004, "Board Thickness": 0.02, "Depth": 0.272, "Divider Count": 0,
             "Has Back Panel": True, "Has Legs": False, "Has Plinth": True, "Height": 1.247, "Leg Height": 0.088,
             "Leg Size": 0.046, "Plinth Height": 0.044, "Shelf Count": 3, "Width": 1.434}
    torch.set_num_threads(1)
    prog = load_program("bookshelf")
    target, truth = synthetic_object(prog, shelf, yaw=0.4, xy=(0.1, -0.2),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=3)
    space = SearchSpace(prog)
    scorer = Scorer(space, target)
    legs = _genome(space, {**shelf, "Has Legs": True, "Leg Height": 0.05, "Plinth Height": 0.07}, truth)
    with torch.no_grad():
        legs_loss = float(scorer.score(legs)["total"][0])
    kept, kept_loss = last_flip(scorer, legs, legs_loss, preset("default", flip_refine_top=0))
    assert kept_loss == legs_loss and space.to_dict(kept.disc[0], kept.unit[0])["Has Legs"] is True
    best, loss = last_flip(scorer, legs, legs_loss, preset("default", flip_refine_top=1))
    assert loss < legs_loss
    got = space.to_dict(best.disc[0], best.unit[0])
    assert got["Has Legs"] is False and got["Has Plinth"] is True
    with torch.no_grad():
        assert float(scorer.score(best)["total"][0]) == pytest.approx(loss, rel=1e-5)
    strict, strict_loss = last_flip(scorer, legs, legs_loss,
                                    preset("default", flip_refine_top=1, flip_refine_gain=1 - loss / legs_loss + 0.01))
    assert strict_loss == legs_loss and space.to_dict(strict.disc[0], strict.unit[0])["Has Legs"] is True
