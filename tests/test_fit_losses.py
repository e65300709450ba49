"""Fitting losses, each term in isolation, on a rendered synthetic box-like object."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.losses import CandidateLosses, LossConfig, robust, support_loss
from procsplat.fit.pose import place_on_floor
from procsplat.fit.surface import SurfaceSampler, closest_point_on_triangle
from procsplat.fit.synthetic import CameraRig, synthetic_object

DATA = Path(__file__).resolve().parent / "data" / "blender"
TABLE = {"Width": 1.2, "Height": 0.75, "Depth": 0.7, "Top Shape": 1, "Top Thickness": 0.05, "Legs Type": 2,
         "Has Mid Board": False}


@pytest.fixture(scope="module")
def table_target():
    prog = load_program(str(DATA / "table.json"))
    target, truth = synthetic_object(prog, TABLE, yaw=0.4, xy=(0.3, -0.2), rig=CameraRig(num_views=4, width=160,
                                                                                         height_px=120), seed=3)
    return prog, target, truth


def _world(truth, shift=(0.0, 0.0, 0.0)):
    v = torch.tensor(truth.vertices + np.asarray(shift), dtype=torch.float64).unsqueeze(0)
    return v, torch.from_numpy(truth.triangles)


def test_closest_point_on_triangle_matches_brute_force():
    gen = torch.Generator().manual_seed(0)
    tri = torch.rand(200, 3, 3, generator=gen, dtype=torch.float64)
    p = torch.rand(200, 3, generator=gen, dtype=torch.float64) * 2 - 0.5
    q = closest_point_on_triangle(p, tri[:, 0], tri[:, 1], tri[:, 2])
    # Brute force: a dense barycentric grid on each triangle.
    n = 120
    u, v = torch.meshgrid(torch.linspace(0, 1, n, dtype=torch.float64), torch.linspace(0, 1, n, dtype=torch.float64),
                          indexing="ij")
    keep = (u + v) <= 1
    u, v = u[keep], v[keep]
    grid = tri[:, :1] + u[None, :, None] * (tri[:, 1:2] - tri[:, :1]) + v[None, :, None] * (tri[:, 2:3] - tri[:, :1])
    brute = (grid - p[:, None]).norm(dim=-1).min(1).values
    exact = (q - p).norm(dim=-1)
    assert torch.all(exact <= brute + 1e-9)
    assert torch.all(brute - exact < 0.02)  # grid spacing bound


def test_surface_samples_follow_vertices_with_gradients():
    sampler = SurfaceSampler(64, seed=1)
    v = torch.tensor([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]], requires_grad=True)
    t = torch.tensor([[0, 1, 2]])
    pts, tri, valid = sampler.sample(v, t)
    assert valid.all() and pts.shape == (1, 64, 3)
    assert torch.all(pts[..., 0] + pts[..., 1] <= 1 + 1e-6) and torch.all(pts >= -1e-6)
    pts.sum().backward()
    assert v.grad.abs().sum() > 0
    pts2, _, _ = sampler.sample(v.detach() + 1.0, t)  # same pattern: a translated mesh, translated samples
    assert torch.allclose(pts2, pts.detach() + 1.0, atol=1e-6)


def test_robust_is_huber_then_constant():
    d = torch.tensor([0.0, 0.01, 0.1, 1.0, 5.0])
    r = robust(d, 0.02, 0.15)
    assert r[0] == 0 and torch.isclose(r[1], torch.tensor(0.01 ** 2 / 0.04))
    assert torch.isclose(r[2], torch.tensor(0.09)) and r[3] == r[4] == pytest.approx(0.14)


def test_perfect_candidate_has_near_zero_coverage(table_target):
    _, target, truth = table_target
    losses = CandidateLosses(target, LossConfig())
    v, t = _world(truth)
    terms = losses.terms(v, t)
    # Near edges the nearest-sample triangle proposal can pick the neighbouring face (<~1 cm off).
    assert terms["coverage"].item() < 5e-3
    assert terms["free_space"].item() < 2e-3
    assert terms["support"].item() < 1e-9
    shifted = losses.terms(*_world(truth, (0.15, 0.0, 0.0)))
    assert shifted["coverage"].item() > 10 * terms["coverage"].item()


def test_support_penalises_floating_candidate(table_target):
    _, target, truth = table_target
    losses = CandidateLosses(target, LossConfig())
    up = losses.terms(*_world(truth, (0.0, 0.0, 0.2)))
    assert up["support"].item() == pytest.approx(0.2, abs=1e-6)
    v = torch.zeros(2, 3, 3)
    v[1, :, 2] = 0.3
    assert torch.allclose(support_loss(v, 0.0), torch.tensor([0.0, 0.3]))


def test_free_space_penalises_candidate_through_seen_empty_space(table_target):
    _, target, truth = table_target
    losses = CandidateLosses(target, LossConfig())
    base = losses.terms(*_world(truth))["free_space"].item()
    # The same table 40 cm to the side stands in space the cameras saw through to the floor.
    moved = losses.terms(*_world(truth, (0.0, 0.4, 0.0)))["free_space"].item()
    assert moved > 0.02 > base
    # Gradients of the free-space term reach the vertices.
    v, t = _world(truth, (0.0, 0.4, 0.0))
    v.requires_grad_(True)
    losses.terms(v, t)["free_space"].sum().backward()
    assert v.grad.abs().sum() > 0


def test_accuracy_ignores_hidden_surface_but_not_visible_surface(table_target):
    _, target, truth = table_target
    losses = CandidateLosses(target, LossConfig())
    base = losses.terms(*_world(truth))["accuracy"].item()
    assert base < 0.01
    # A big extra box far below the floor is hidden behind the observed floor: no accuracy cost.
    v, t = _world(truth)
    box_v = torch.tensor([[x, y, z] for x in (-3.0, -2.0) for y in (-3.0, -2.0) for z in (-2.0, -1.0)],
                         dtype=torch.float64)
    box_t = torch.tensor([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                          [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    hidden_v = torch.cat([v[0], box_v]).unsqueeze(0)
    hidden_t = torch.cat([t, box_t + v.shape[1]])
    assert losses.terms(hidden_v, hidden_t)["accuracy"].item() < base + 0.01
    # The table lifted 30 cm is visible where nothing was observed.
    lifted = losses.terms(*_world(truth, (0.0, 0.0, 0.3)))["accuracy"].item()
    assert lifted > base + 0.02


def test_losses_batch_equals_single(table_target):
    prog, target, truth = table_target
    losses = CandidateLosses(target, LossConfig())
    v, t = _world(truth)
    batch = torch.cat([v, v + torch.tensor([0.0, 0.3, 0.0], dtype=torch.float64)])
    both = losses.terms(batch, t)
    one = losses.terms(batch[1:], t)
    for k in ("coverage", "free_space", "accuracy", "support", "total"):
        assert both[k][1].item() == pytest.approx(one[k][0].item(), rel=1e-6, abs=1e-9)


def test_place_on_floor_rests_lowest_point_on_floor():
    v = torch.tensor([[[0.0, 0.0, -0.5], [1.0, 0.0, 0.3], [0.0, 2.0, 0.1]]])
    world, t = place_on_floor(v, torch.tensor([math.pi / 2]), torch.tensor([[1.0, 2.0]]), 0.25, centre_xy=True)
    assert world[0, :, 2].min().item() == pytest.approx(0.25)
    centre = (world[0, :, :2].min(0).values + world[0, :, :2].max(0).values) / 2
    assert torch.allclose(centre, torch.tensor([1.0, 2.0]), atol=1e-6)


def test_visibility_facing_drops_back_faces(table_target):
    """The observed table top seen from above: with normals up it is seen, with normals down
    (the back face of a board there) no view looks at it."""
    from procsplat.fit.losses import visible_mask

    _, target, _ = table_target
    top = target.points[target.points[:, 2] > target.points[:, 2].max() - 0.01]
    x = torch.from_numpy(top).unsqueeze(0)
    up = torch.zeros_like(x)
    up[..., 2] = 1.0
    assert visible_mask(target, x, 0.03).float().mean() > 0.9
    assert visible_mask(target, x, 0.03, normals=up).float().mean() > 0.9
    assert visible_mask(target, x, 0.03, normals=-up).sum() == 0


def test_accuracy_plane_distance_follows_the_observed_surface(table_target):
    """Surface samples of the true shape lie on the observed tangent planes (within a few mm,
    where the voxel field is 2 cm quantised); moved 2 cm off, they are 2 cm away."""
    from procsplat.fit.losses import sample_fields

    _, target, truth = table_target
    losses = CandidateLosses(target, LossConfig(accuracy_plane=True))
    top = target.points[target.points[:, 2] > target.points[:, 2].max() - 0.01]
    x = torch.from_numpy(top[::3] + np.array([0.003, -0.002, 0.0]))
    on = losses.plane_distance(x)
    assert on.median() < 0.004
    assert sample_fields(target, x.float())[:, 1].median() > on.median()
    off = losses.plane_distance(x + torch.tensor([0.0, 0.0, 0.02], dtype=x.dtype))
    assert (off.median() - 0.02).abs() < 0.004
    x.requires_grad_(True)
    losses.plane_distance(x + torch.tensor([0.0, 0.0, 0.02], dtype=x.dtype)).sum().backward()
    assert x.grad[:, 2].mean() > 0.5  # moving up moves away: the gradient points up


def test_accuracy_with_plane_and_facing_prefers_the_true_shape(table_target):
    _, target, truth = table_target
    for cfg in (LossConfig(), LossConfig(accuracy_plane=True, visibility_facing=True)):
        losses = CandidateLosses(target, cfg)
        base = losses.terms(*_world(truth))["accuracy"].item()
        lifted = losses.terms(*_world(truth, (0.0, 0.0, 0.02)))["accuracy"].item()
        assert base < 0.01 and lifted > base
    assert base < 0.001  # plane + facing: the true shape is nearly free


def test_free_grid_nodes_are_those_inside_free_voxels():
    """One free 3 cm voxel [0.30, 0.33)^3 on a 2 cm grid from 0: the nodes at 0.30 and 0.32 on
    each axis lie inside it (8 nodes); the old +-1 node dilation around its centre also marked
    0.34 (27 nodes, 1-2 cm more free space on some sides). `nearest` indexes the observed point
    nearest each node."""
    from procsplat.fit.target import ObjectTarget

    pts = np.array([[0.1, 0.1, 0.1], [0.6, 0.6, 0.6]])
    free = np.array([[0.315, 0.315, 0.315]])

    def free_nodes(exact):
        t = ObjectTarget(points=pts, free_points=free, floor_height=0.0, box_lo=np.zeros(3),
                         box_hi=np.full(3, 0.8), voxel=0.02, free_voxel=0.03, free_exact=exact)
        f = t.fields(torch.float64)
        return {tuple(n) for n in torch.nonzero(f["grid"][0, 0].permute(2, 1, 0) > 0).tolist()}, f

    new, f = free_nodes(True)
    assert new == {(i, j, k) for i in (15, 16) for j in (15, 16) for k in (15, 16)}
    old, _ = free_nodes(False)
    assert old == {(i, j, k) for i in (15, 16, 17) for j in (15, 16, 17) for k in (15, 16, 17)}
    dims = f["dims"]
    node = lambda i, j, k: (i * dims[1] + j) * dims[2] + k
    assert f["nearest"][node(5, 5, 5)] == 0 and f["nearest"][node(30, 30, 30)] == 1


def test_covered_triangles_are_faces_pressed_against_another_part():
    """A bookshelf's boards end against its back panel and its sides: those end faces are
    flagged (they face a camera that sees the back, one panel thickness behind it); the top
    board's end above the panel, the panel's own inner face (seen from the front) and every
    outer face are not; without a back panel no face pointing backwards is covered."""
    from procsplat.fit.losses import covered_triangles

    prog = load_program("bookshelf")
    base = {"Width": 0.8, "Depth": 0.3, "Height": 1.2, "Board Thickness": 0.02, "Shelf Count": 2, "Divider Count": 0,
            "Back Thickness": 0.015, "Has Legs": False, "Has Plinth": False}

    def faces(params):
        mesh = prog.evaluate_one(params, dtype=torch.float64)
        v, t = mesh.vertices[None], mesh.triangles
        corners = v[0][t]
        n = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        return v[0], corners.mean(1), n / n.norm(dim=-1, keepdim=True), covered_triangles(v, t)[0]

    v, centroid, n, covered = faces({**base, "Has Back Panel": True})
    on_back = (centroid[:, 1] - (v[:, 1].min() + 0.015)).abs() < 1e-6  # the back panel's inner plane
    shelf_ends = on_back & (n[:, 1] < -0.99)
    below_top = centroid[:, 2] < 1.2 - 0.02  # the back panel ends under the top board
    assert (shelf_ends & below_top).sum() == 6 and covered[shelf_ends & below_top].all()
    assert not covered[shelf_ends & ~below_top].any()  # the top board's end above the panel is open
    assert not covered[on_back & (n[:, 1] > 0.99)].any()  # the back wall seen from the front
    outer = ((centroid - v.amin(0)).abs().min(1).values < 1e-6) | ((centroid - v.amax(0)).abs().min(1).values < 1e-6)
    assert not covered[outer].any()
    v, centroid, n, covered = faces({**base, "Has Back Panel": False})
    assert covered.any() and not covered[n[:, 1] < -0.99].any()  # only shelf ends against the sides


def test_covered_gap_skips_the_walls_of_drawer_seams():
    """A cabinet's drawer fronts are 4 mm apart: with `gap` 5 mm the facing walls of each seam (top of
    the lower front, bottom of the upper one) are covered, without it they are not; the fronts' outer
    faces and the top of the highest front (under the top board only where it overhangs) never are,
    nor is a board's own far face (behind it, not in front)."""
    from procsplat.fit.losses import covered_triangles

    prog = load_program("cabinet")
    params = {"Width": 0.9, "Depth": 0.45, "Height": 0.9, "Board Thickness": 0.03, "Top Overhang": 0.01,
              "Has Back": True, "Front Type": 2, "Drawer Count": 3, "Has Handles": False, "Has Legs": False}
    mesh = prog.evaluate_one(params, dtype=torch.float64)
    v, t = mesh.vertices[None], mesh.triangles
    corners = v[0][t]
    n = torch.linalg.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    n = n / n.norm(dim=-1, keepdim=True)
    centroid = corners.mean(1)
    ymax = v[0, :, 1].max()
    front = centroid[:, 1] > ymax - 0.03 + 1e-6  # the drawer fronts (3 cm) stand before the carcass
    seam = front & (n[:, 2].abs() > 0.99) & (centroid[:, 2] > 0.05) & (centroid[:, 2] < 0.9 - 0.03 - 0.01)
    assert seam.sum() == 8  # 2 seams x 2 walls x 2 triangles
    plain, gapped = covered_triangles(v, t)[0], covered_triangles(v, t, gap=0.005)[0]
    assert not plain[seam].any() and gapped[seam].all()
    faces = (centroid[:, 1] > ymax - 1e-6) & (n[:, 1] > 0.99)
    assert faces.sum() == 6 and not gapped[faces].any()
    top = front & (n[:, 2] > 0.99) & (centroid[:, 2] > 0.9 - 0.03 - 0.01)  # under the top board's 1 cm overhang only
    assert top.sum() == 2 and not gapped[top].any()
    assert torch.equal(plain, gapped & plain) and (gapped & ~plain).sum() == 8  # nothing else is added
    wide = covered_triangles(v, t, gap=0.05)[0]  # wider than the 3 cm fronts: still not their own far side
    assert not wide[faces].any()


def test_accuracy_skips_drawer_seams_a_camera_cannot_see_into():
    """A rendered cabinet with 3 handle-less drawer fronts 4 cm thick: the seams' walls face the
    cameras above and lie within `visibility_margin` behind the observed front, so without
    `covered_gap` they were scored as seen surface up to 4 cm off the data (the true shape's accuracy
    2.8e-4, 3.3x that of the same cabinet with 2 doors and one vertical seam); with it, 0.9e-4."""
    prog = load_program("cabinet")
    params = {"Width": 1.36, "Depth": 0.54, "Height": 0.555, "Board Thickness": 0.039, "Top Overhang": 0.0096,
              "Has Back": False, "Front Type": 2, "Drawer Count": 3, "Has Handles": False, "Has Legs": True,
              "Leg Height": 0.14, "Leg Size": 0.043}
    target, _ = synthetic_object(prog, params, yaw=0.4, xy=(0.3, -0.2), rig=CameraRig(num_views=4), seed=3)

    def accuracy(gap, p):
        mesh = prog.evaluate_one(p, dtype=torch.float64)
        world, _ = place_on_floor(mesh.vertices[None], torch.tensor([0.4], dtype=torch.float64),
                                  torch.tensor([[0.3, -0.2]], dtype=torch.float64), 0.0)
        return float(CandidateLosses(target, LossConfig(covered_gap=gap)).terms(world, mesh.triangles)["accuracy"][0])

    doors = {**params, "Front Type": 1, "Door Count": 2}
    assert accuracy(0.0, params) > 2 * accuracy(0.0, doors)
    assert accuracy(0.005, params) < 0.5 * accuracy(0.0, params)
    assert accuracy(0.005, params) < 1.7 * accuracy(0.005, doors)


def _view_target(mask_cols: int):
    """One 16x16 view from the origin along +Z: columns < 8 an object at 2 m (its mask: columns
    < `mask_cols`), the rest background at 3 m."""
    from types import SimpleNamespace

    from procsplat.fit.target import DepthView

    depth = np.full((16, 16), 3.0, np.float32)
    depth[:, :8] = 2.0
    mask = np.zeros((16, 16), bool)
    mask[:, :mask_cols] = True
    K = np.array([[100.0, 0, 8], [0, 100.0, 8], [0, 0, 1]])
    return SimpleNamespace(views=[DepthView(depth=depth, K=K, cam_to_world=np.eye(4), mask=mask)])


def _at(u: float, z: float) -> list:
    """The point at depth z whose pixel is (u, 8) in `_view_target`'s view (pixel centres at +0.5)."""
    return [(u + 0.5 - 8) * z / 100.0, 0.5 * z / 100.0, z]


def test_visible_mask_evidence_drops_silhouette_and_unmasked_samples():
    """Accuracy's evidence test (`LossConfig.accuracy_evidence`): a sample in front of the
    background is seen through only away from the silhouette (its pixel beside the object's
    shows the background by pixel quantisation); one where the depth agrees counts only inside
    the object's mask (an eroded mask drops the object's own border); occluded never."""
    from procsplat.fit.losses import visible_mask

    target = _view_target(mask_cols=6)
    x = torch.tensor([[_at(12, 2.0),  # in front of the background, far from the object: seen through
                       _at(8, 2.0),   # in front of the background, beside the object's silhouette
                       _at(3, 2.0),   # on the object, inside its mask
                       _at(7, 2.0),   # on the object, outside its (eroded) mask
                       _at(3, 2.5)]], dtype=torch.float64)  # behind the object: occluded
    old = visible_mask(target, x, 0.03)[0].tolist()
    new = visible_mask(target, x, 0.03, evidence=True)[0].tolist()
    assert old == [True, True, True, True, False]
    assert new == [True, False, True, False, False]


def test_accuracy_evidence_ignores_an_eroded_mask_border():
    """Masks eroded by 2 px (a label mesh misaligned by a few pixels, as on ScanNet) drop the
    true table's border from the observed points: counted from every view it is not hidden from,
    the border made the true shape's accuracy 30x its value with full masks; from views with
    evidence on it, within 2x."""
    from scipy import ndimage

    from procsplat.fit.synthetic import render_object_frames
    from procsplat.fit.target import ObjectTarget

    prog = load_program(str(DATA / "table.json"))
    mesh = prog.evaluate_one(TABLE, dtype=torch.float64)
    world, _ = place_on_floor(mesh.vertices.unsqueeze(0), torch.tensor([0.4], dtype=torch.float64),
                              torch.tensor([[0.3, -0.2]], dtype=torch.float64), 0.0)
    depths, Ks, poses, masks = render_object_frames(world[0].numpy(), mesh.triangles.numpy(), 0.0,
                                                    CameraRig(num_views=4, width=160, height_px=120),
                                                    np.random.default_rng(3))
    eroded = [ndimage.binary_erosion(m, np.ones((5, 5), bool)) for m in masks]
    acc = {}
    for name, mk in (("full", masks), ("eroded", eroded)):
        target = ObjectTarget.from_frames(depths, Ks, poses, mk, floor_height=0.0)
        for evidence in (False, True):
            losses = CandidateLosses(target, LossConfig(accuracy_evidence=evidence, accuracy_deadband=0.0))
            acc[name, evidence] = float(losses.terms(world, mesh.triangles)["accuracy"][0])
    assert acc["eroded", False] > 10 * acc["full", False]
    assert acc["eroded", True] < 2 * acc["full", True]
    assert acc["full", True] <= acc["full", False]


def test_accuracy_deadband_ignores_jitter_inside_half_a_voxel(table_target):
    """Accuracy's deadband (`LossConfig.accuracy_deadband`, half a 2 cm voxel): the true table
    moved 5 mm sideways costs (next to) nothing more (coverage, not accuracy, aligns floats; with
    no deadband it nearly doubles); moved 4 cm it costs 100x more."""
    _, target, truth = table_target
    acc = {}
    for band in (0.0, 0.5):
        losses = CandidateLosses(target, LossConfig(accuracy_deadband=band, accuracy_evidence=True))
        for shift in (0.0, 0.005, 0.04):
            acc[band, shift] = float(losses.terms(*_world(truth, (shift, 0.0, 0.0)))["accuracy"][0])
    assert acc[0.5, 0.0] < 0.05 * acc[0.0, 0.0]  # (a few edge samples more than 1 cm off remain)
    assert acc[0.5, 0.005] - acc[0.5, 0.0] < 0.01 * (acc[0.0, 0.005] - acc[0.0, 0.0])
    assert acc[0.5, 0.04] > 100 * acc[0.5, 0.0]
