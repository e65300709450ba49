"""The pieces of scripts/bench_splat.py: gsplat-style densification (`procsplat.splat.densify`), object-pixel
metrics (`procsplat.train.image_metrics`), a synthetic scene's ground truth rendered from anywhere and
edited (`procsplat.data.synth.GroundTruth`), and novel-view cameras (`procsplat.run.orbit.novel_views`)."""
import math

import numpy as np
import pytest
import torch

from procsplat.splat.densify import DensifyStrategy, quat_to_rotmat
from procsplat.splat.model import BackgroundGaussians
from procsplat.train.image_metrics import masked_psnr, masked_ssim, psnr, ssim


# -- densification ---------------------------------------------------------------------------------
def toy(n_extra: int = 0):
    """4 Gaussians: 0 small, 1 large (30 cm), 2 small, 3 nearly transparent; Adam after one step."""
    points = torch.tensor([[0.0, 0, 2], [1, 0, 2], [0, 1, 2], [1, 1, 2]], dtype=torch.float64)
    g = BackgroundGaussians(points, torch.full((4, 3), 0.5), scale=0.01)
    with torch.no_grad():
        g.log_scales[1] = math.log(0.3)
        g.opacity_logits[3] = -8.0  # sigmoid ~ 3e-4 < prune_opa
    opt = torch.optim.Adam([{"params": [getattr(g, n)], "lr": 1e-3} for n in
                            ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")])
    sum(getattr(g, n).sum() for n in ("means", "quats", "log_scales", "opacity_logits", "sh0")).backward()
    opt.step()
    opt.zero_grad()
    return g, opt


def info(grad_px, visible=(1, 1, 1, 1), width: int = 100, height: int = 100):
    """The rasteriser's meta for one camera with the given 2D mean gradients (pixels)."""
    means2d = torch.zeros(1, len(grad_px), 2, requires_grad=True)
    means2d.grad = torch.tensor([[[g, 0.0] for g in grad_px]])
    radii = torch.tensor([[[int(v) * 3, int(v) * 3] for v in visible]], dtype=torch.int32)
    return {"means2d": means2d, "radii": radii, "width": width, "height": height, "n_cameras": 1}


def strategy(**kw) -> DensifyStrategy:
    return DensifyStrategy(**{"refine_start_iter": 0, "refine_every": 1, "reset_every": 10 ** 6, **kw})


def test_grow_and_prune_counts():
    """High gradient: the small Gaussian 0 is duplicated, the large 1 split in two; the transparent 3 is
    pruned: 4 + 1 + 1 - 1 = 5. scene_scale 1: grow_scale3d 1 cm, so 1 cm counts as small."""
    g, opt = toy()
    before = {n: getattr(g, n).detach().clone() for n in ("means", "log_scales", "sh0")}
    s = strategy()
    state = s.initialize_state(scene_scale=1.0)
    done = s.step_post_backward(g, opt, state, step=1, info=info([1e-3, 1e-3, 0.0, 0.0]))
    assert done == {"duplicated": 1, "split": 1, "pruned": 1}
    assert len(g.means) == 5
    # kept in order: 0, 2, (3 pruned), then the duplicate of 0, then the two halves of 1
    assert torch.equal(g.means[0], before["means"][0]) and torch.equal(g.means[1], before["means"][2])
    assert torch.equal(g.means[2], before["means"][0])
    halves = g.means[3:].detach()
    assert not torch.equal(halves[0], halves[1]) and (halves - before["means"][1]).norm(dim=1).max() < 2.0
    assert torch.allclose(torch.exp(g.log_scales[3:]), torch.exp(before["log_scales"][1]) / 1.6)
    # the optimiser holds the new tensors; moments of kept rows stay, new rows start at zero
    held = [p for group in opt.param_groups for p in group["params"]]
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN"):
        assert any(p is getattr(g, name) for p in held)
    m = opt.state[g.means]["exp_avg"]
    assert m.shape == (5, 3) and m[:2].abs().sum() > 0 and m[2:].abs().sum() == 0
    assert len(state["grad2d"]) == 5 and state["grad2d"].abs().sum() == 0  # accumulators restart


def test_nothing_before_the_schedule_and_only_visible_gaussians_accumulate():
    g, opt = toy()
    s = strategy(refine_start_iter=5)
    state = s.initialize_state()
    for step in range(3):
        assert s.step_post_backward(g, opt, state, step=step, info=info([1e-3] * 4, visible=(1, 0, 1, 1))) == {}
    assert len(g.means) == 4
    assert state["count"].tolist() == [3.0, 0.0, 3.0, 3.0]
    assert state["grad2d"][0] == pytest.approx(3 * 1e-3 * 50)  # pixels x width / 2
    s2 = strategy(refine_stop_iter=1)
    assert s2.step_post_backward(g, opt, s2.initialize_state(), step=1, info=info([1e-3] * 4)) == {}


def test_cap_max_grows_the_highest_gradients_first():
    g, opt = toy()
    s = strategy(cap_max=5)
    done = s.step_post_backward(g, opt, s.initialize_state(), step=1, info=info([1e-3, 2e-3, 0.0, 0.0]))
    assert done == {"duplicated": 0, "split": 1, "pruned": 1} and len(g.means) == 4
    g, opt = toy()
    s = strategy(cap_max=4)
    done = s.step_post_backward(g, opt, s.initialize_state(), step=1, info=info([1e-3, 2e-3, 0.0, 0.0]))
    assert done == {"duplicated": 0, "split": 0, "pruned": 1} and len(g.means) == 3


def test_large_gaussians_pruned_after_the_first_reset_and_opacity_reset():
    g, opt = toy()
    s = strategy(reset_every=2, prune_scale3d=0.1)
    state = s.initialize_state(scene_scale=1.0)
    done = s.step_post_backward(g, opt, state, step=2, info=info([0.0] * 4))
    assert done["pruned"] == 1 and done["opacity_reset"]  # step 2 is not past the reset yet: only opacity
    assert torch.sigmoid(g.opacity_logits).max() <= 2 * s.prune_opa + 1e-9
    assert opt.state[g.opacity_logits]["exp_avg"].abs().sum() == 0
    done = s.step_post_backward(g, opt, state, step=3, info=info([0.0] * 3))
    assert done == {"duplicated": 0, "split": 0, "pruned": 1}  # past the reset: the 30 cm one goes
    assert len(g.means) == 2 and torch.exp(g.log_scales).max() < 0.1


def test_quat_to_rotmat():
    q = torch.tensor([[math.cos(0.3), 0.0, 0.0, math.sin(0.3)]], dtype=torch.float64) * 2.0
    R = quat_to_rotmat(q)[0]
    assert torch.allclose(R, torch.tensor([[math.cos(0.6), -math.sin(0.6), 0], [math.sin(0.6), math.cos(0.6), 0],
                                           [0, 0, 1]], dtype=torch.float64))


# -- object-pixel metrics --------------------------------------------------------------------------
def test_masked_psnr_and_ssim():
    a = torch.full((8, 10, 3), 0.5)
    b = a.clone()
    b[:, 5:] += 0.1  # differs on the right half only
    left = torch.zeros(8, 10, dtype=torch.bool)
    left[:, :5] = True
    assert masked_psnr(a, b, left) == math.inf
    assert masked_psnr(a, b, ~left) == pytest.approx(20.0, abs=1e-4)  # mse 0.01
    assert masked_psnr(a, b, torch.ones(8, 10, dtype=torch.bool)) == pytest.approx(psnr(a, b))
    assert masked_psnr(a, b, np.ones((8, 10), bool)) == pytest.approx(23.0103, abs=1e-3)
    assert math.isnan(masked_psnr(a, b, ~torch.ones(8, 10, dtype=torch.bool)))
    assert masked_ssim(a, a, left) == pytest.approx(1.0)
    assert masked_ssim(a, b, torch.ones(8, 10, dtype=torch.bool)) == pytest.approx(float(ssim(a, b)))


# -- ground truth of a synthetic scene, novel views --------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from procsplat.data.synth import SynthConfig, generate

    cfg = SynthConfig(out=tmp_path_factory.mktemp("scene"), seed=3, num_frames=2, width=64, height=48,
                      num_objects=2, categories=("table",))
    return cfg, generate(cfg, progress=False)


def test_ground_truth_renders_the_frames_and_follows_float_edits(tiny):
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import GroundTruth, SynthConfig
    from procsplat.errors import ProcsplatError

    cfg, path = tiny
    gt = GroundTruth(cfg, path)
    scene = load_scene(path, width=64)
    K, pose = np.asarray(scene.frames.K), np.asarray(scene.frames.poses[0])
    r = gt.render(K, pose, 64, 48)
    f = scene.frames[0]
    assert np.abs(r["depth"] - f.depth).max() < 1e-3  # the .sens stores millimetres
    assert np.array_equal(r["id"], scene.instance_mask(0))
    assert np.abs(r["rgb"].astype(int) - f.rgb.astype(int)).mean() < 8  # the .sens stores JPEG colour
    table = gt.objects[0]
    taller = gt.edited({table.instance_id: {"Height": table.parameters["Height"] + 0.1}})
    assert taller.objects[0].vertices[:, 2].max() == pytest.approx(table.vertices[:, 2].max() + 0.1)
    assert np.array_equal(taller.objects[1].vertices, gt.objects[1].vertices)
    assert gt.objects[0].parameters["Height"] == table.parameters["Height"]  # the original is unchanged
    e = taller.render(K, pose, 64, 48)
    changed = e["depth"] != r["depth"]
    mine = (r["id"] == table.instance_id) | (e["id"] == table.instance_id)
    assert changed[mine].any() and not changed[~mine].any()  # only the edited table's pixels change
    discrete = next(n for n, v in table.parameters.items() if isinstance(v, (bool, int)) and not isinstance(v, float))
    with pytest.raises(ProcsplatError, match="discrete"):
        gt.edited({table.instance_id: {discrete: not table.parameters[discrete] if isinstance(
            table.parameters[discrete], bool) else table.parameters[discrete] + 1}})
    with pytest.raises(ProcsplatError, match="not the ones"):
        GroundTruth(SynthConfig(seed=4, num_objects=2, categories=("table",)), path)


def test_novel_views_stay_in_the_room_off_the_path_and_outside_objects():
    from procsplat.run.orbit import novel_views

    boxes = [(np.array([-1.0, -0.5, 0.0]), np.array([0.0, 0.5, 0.8])), (np.array([1.0, 1.0, 0.0]), np.array([1.5, 1.5, 1.0]))]
    path = np.array([[2.6 * math.cos(a), 2.1 * math.sin(a), 1.6] for a in np.linspace(0, 2 * math.pi, 32)])
    views = novel_views(boxes, (-3.5, -3.0), (3.5, 3.0), path)
    assert len(views) >= 8 and {k for _, k in views} == {0, 1}
    heights = set()
    for c2w, k in views:
        eye = c2w[:3, 3]
        assert -3.2 <= eye[0] <= 3.2 and -2.7 <= eye[1] <= 2.7
        assert np.linalg.norm(path - eye, axis=1).min() >= 0.5
        assert not any(np.all(eye > lo - 0.15) and np.all(eye < hi + 0.15) for lo, hi in boxes)
        lo, hi = boxes[k]
        forward = (lo + hi) / 2 - eye
        assert np.dot(c2w[:3, 2], forward / np.linalg.norm(forward)) == pytest.approx(1.0)  # looks at its object
        heights.add(round(float(eye[2]), 3))
    assert heights == {0.6, 2.3}


def test_trainer_densifies_free_gaussians(tiny, tmp_path):
    from procsplat.data.config import SceneConfig
    from procsplat.splat.init import InitConfig
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    _, path = tiny
    cfg = TrainConfig(data=SceneConfig(scene=str(path), width=64), out=tmp_path, fit="none", steps=6, holdout_every=0,
                      init=InitConfig(max_background=300), densify=True,
                      strategy=DensifyStrategy(refine_start_iter=1, refine_every=2, grow_grad2d=1e-6, cap_max=400))
    trainer = Trainer(cfg, log=lambda *a: None)
    trainer.prepare()
    n0 = len(trainer.model.background.means)
    counts = []
    for _ in range(6):
        trainer.step()
        counts.append(len(trainer.model.background.means))
    assert counts[0] == n0 and max(counts) > n0 and max(counts) <= 400  # grew at steps 2 and 4, within the cap
    held = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert all(id(p) in held for p in trainer.model.background.parameters())


def test_parts_wear_their_patterns_through_pose_and_edits(tiny):
    """Each part's pattern lives in its own frame (`SynthConfig.texture_frame` "part"): the texture coordinates
    do not change when the object is posed elsewhere, when an edit moves a part, or when a part turns; a part
    that grows keeps the pattern's scale. Rendered: the edited truth's raised table top, seen from a camera
    raised with it, is unchanged, and so is the table posed elsewhere seen from a camera moved with it (in
    world coordinates the pattern slides over it)."""
    from dataclasses import replace as dc_replace

    from procsplat.data.placed import part_texture_coords
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import GroundTruth

    cfg, path = tiny
    gt = GroundTruth(cfg, path)
    table = gt.objects[0]
    coords = part_texture_coords(table)
    M = np.eye(4)  # the table turned by 0.5 about its origin and moved by (5, 10) cm: posed elsewhere
    M[:3, :3] = [[np.cos(0.5), -np.sin(0.5), 0], [np.sin(0.5), np.cos(0.5), 0], [0, 0, 1]]
    M[:3, 3] = np.asarray(table.translation) + [0.05, 0.1, 0.0] - M[:3, :3] @ np.asarray(table.translation)
    posed = dc_replace(table, yaw=table.yaw + 0.5, translation=(M[:3, :3] @ table.translation + M[:3, 3]).tolist(),
                       vertices=table.vertices @ M[:3, :3].T + M[:3, 3])
    np.testing.assert_allclose(part_texture_coords(posed), coords, atol=1e-9)

    taller = gt.edited({table.instance_id: {"Height": table.parameters["Height"] + 0.1}})
    edited = taller.objects[0]
    moved = part_texture_coords(edited)
    move = edited.vertices[edited.triangles] - table.vertices[table.triangles]  # (T,3 corners,3)
    parts = np.unique(table.part_id)
    rigid = [p for p in parts if np.ptp(move[table.part_id == p].reshape(-1, 3), axis=0).max() < 1e-9]
    grown = [p for p in parts if p not in rigid]
    assert rigid and grown  # the top is lifted, the legs grow
    for p in rigid:
        np.testing.assert_allclose(moved[table.part_id == p], coords[table.part_id == p], atol=1e-9)
    for p in grown:  # same scale: the part's extent in texture coordinates is its extent in metres
        ext = np.ptp(moved[table.part_id == p].reshape(-1, 3), axis=0)
        local = edited.local_vertices()[np.unique(edited.triangles[table.part_id == p])]
        np.testing.assert_allclose(np.sort(ext), np.sort(np.ptp(local, axis=0)), atol=1e-9)
    # a part that turns (about its centre, with the object's rest shape known) carries its pattern too
    rows = table.part_id == rigid[0]
    used = np.unique(table.triangles[rows])
    local = table.local_vertices()
    tilt = np.array([[1.0, 0, 0], [0, np.cos(0.3), -np.sin(0.3)], [0, np.sin(0.3), np.cos(0.3)]])
    turned_local = local.copy()
    turned_local[used] = (local[used] - local[used].mean(0)) @ tilt.T + local[used].mean(0)
    yaw = np.array([[np.cos(table.yaw), -np.sin(table.yaw), 0], [np.sin(table.yaw), np.cos(table.yaw), 0], [0, 0, 1.0]])
    turned = dc_replace(table, vertices=turned_local @ yaw.T + table.translation, rest_vertices=local)
    np.testing.assert_allclose(part_texture_coords(turned)[rows], coords[rows], atol=1e-9)

    scene = load_scene(path, width=64)
    K, pose = np.asarray(scene.frames.K), np.asarray(scene.frames.poses[0])
    raised = pose.copy()
    raised[2, 3] += 0.1
    first = int(np.flatnonzero(gt.mesh().ids == table.instance_id)[0])
    top = first + np.flatnonzero(rows)
    a, b = gt.render(K, pose, 64, 48), taller.render(K, raised, 64, 48)
    on_top = np.isin(a["face"], top) & (a["face"] == b["face"])
    assert on_top.sum() > 20 and (a["rgb"] != b["rgb"]).any(-1)[on_top].mean() < 0.02
    whole = first + np.arange(len(table.triangles))
    for frame, same in (("part", True), ("world", False)):
        fcfg = dc_replace(cfg, texture_frame=frame)
        a = GroundTruth(fcfg).render(K, pose, 64, 48)
        b = GroundTruth(fcfg, objects=[posed] + gt.objects[1:]).render(K, M @ pose, 64, 48)
        on_table = np.isin(a["face"], whole) & (a["face"] == b["face"])
        assert on_table.sum() > 50
        differ = (a["rgb"] != b["rgb"]).any(-1)[on_table].mean()
        assert (differ < 0.02) if same else (differ > 0.1), (frame, differ)
