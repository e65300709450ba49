"""Per-pixel evidence for fit targets: measured depth noise, edge-aware smoothing, per-viewing-side
points with slab weights (`procsplat.fit.observe`), and coverage that matches a point only to
surface facing its cameras (`losses.point_to_mesh_distance(directions=...)`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from procsplat.data.placed import box_mesh
from procsplat.fit.losses import point_to_mesh_distance
from procsplat.fit.loss_config import LossConfig
from procsplat.fit.losses import CandidateLosses
from procsplat.fit.observe import depth_noise_scale, ray_means, side_of, side_voxels, smooth_depth
from procsplat.fit.target import ObjectTarget, TargetConfig, voxel_downsample
from procsplat.geometry import look_at

K = np.array([[200.0, 0, 80], [0, 200.0, 60], [0, 0, 1]])


def _tilted_plane(z0: float = 2.0, slope: float = 0.002, shape=(120, 160)) -> np.ndarray:
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    return (z0 + slope * (cols - shape[1] / 2) + 0.5 * slope * (rows - shape[0] / 2)).astype(np.float64)


def test_noise_scale_is_measured_from_the_frames():
    rng = np.random.default_rng(0)
    c = 1.5e-3
    frames = []
    for z0 in (1.0, 2.0, 3.0):
        z = _tilted_plane(z0)
        frames.append(z + rng.normal(size=z.shape) * c * z * z)
    assert depth_noise_scale(frames) == pytest.approx(c, rel=0.15)
    assert depth_noise_scale([_tilted_plane(z0) for z0 in (1.0, 2.0)]) < 1e-5  # a render: no noise
    assert depth_noise_scale([np.zeros((10, 10))]) == 0.0  # no valid pixel


def test_smoothing_averages_noise_and_keeps_depth_edges_and_holes():
    rng = np.random.default_rng(1)
    c = 2e-3
    clean = np.full((60, 80), 3.0)
    clean[:, 40:] = 2.0  # a 1 m depth edge
    noisy = clean + rng.normal(size=clean.shape) * c * clean ** 2
    noisy[10:14, 10:14] = 0.0  # a hole
    out = smooth_depth(noisy.astype(np.float32), c)
    assert out.dtype == np.float32 and np.all(out[10:14, 10:14] == 0)
    inner = (np.r_[3:8, 16:57][:, None], np.r_[3:37, 43:77][None])  # away from the edge and the hole
    assert np.std((out - clean)[inner]) < 0.4 * np.std((noisy - clean)[inner])
    assert np.all(np.abs(out[:, 38:40] - 3.0) < 0.1) and np.all(np.abs(out[:, 40:42] - 2.0) < 0.1)
    assert smooth_depth(noisy, 0.0) is noisy


def test_side_voxels_split_opposite_views_and_weigh_each_voxel_once():
    p = np.array([[0.005, 0.005, 0.005], [0.006, 0.004, 0.005], [0.007, 0.005, 0.006]])
    d = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    pts, dirs, w = side_voxels(p, d, 0.02)
    assert len(pts) == 2 and np.allclose(w, 0.5)
    assert sorted(side_of(dirs).tolist()) == [2, 3]
    assert np.allclose(np.sort(dirs[:, 1]), [-1, 1])
    assert np.allclose(pts[np.argmax(dirs[:, 1])], p[:2].mean(0))


def test_slab_weights_make_a_thick_noise_slab_count_like_a_thin_surface():
    rng = np.random.default_rng(2)
    n = 20000
    yz = rng.uniform(0, 0.4, size=(n, 2))  # a 40 x 40 cm wall at x = 3 m, seen along +x from the origin
    thin = np.c_[np.full(n, 3.0), yz]
    thick = thin + np.c_[rng.normal(size=n) * 0.02, np.zeros((n, 2))]  # 2 cm noise along the rays
    rays = np.tile([1.0, 0.0, 0.0], (n, 1))
    ranges = np.full(n, 3.0)
    _, _, w_thin = side_voxels(thin, rays, 0.02, ranges, noise_scale=0.02 / 9)
    pts, _, w_thick = side_voxels(thick, rays, 0.02, ranges, noise_scale=0.02 / 9)
    _, _, w_plain = side_voxels(thick, rays, 0.02)
    assert w_plain.sum() > 2.5 * w_thin.sum()  # voxel counting: the slab weighs ~3x the surface
    assert w_thick.sum() == pytest.approx(w_thin.sum(), rel=0.35)
    core = np.abs(pts[:, 0] - 3.0) < 0.01
    assert w_thick[core].mean() > 2 * w_thick[~core].mean()  # fringe voxels (few noisy pixels) weigh less


def test_coverage_distance_only_to_faces_facing_the_camera():
    v, t = box_mesh((0.0, 0.0, 0.0), (1.0, 0.006, 1.0))  # a 6 mm panel, front face y = 0.006 (normal +y)
    verts = torch.tensor(v).unsqueeze(0)
    tris = torch.from_numpy(t)
    # seen from the front (rays going -y), 2 cm behind the panel: depth noise
    pts = torch.tensor([[0.5, -0.02, 0.5], [0.3, 0.03, 0.6]], dtype=torch.float64)
    dirs = torch.tensor([[0.0, -1.0, 0.0], [0.0, -1.0, 0.0]], dtype=torch.float64)
    plain = point_to_mesh_distance(pts, verts, tris, k=4)
    facing = point_to_mesh_distance(pts, verts, tris, k=4, directions=dirs)
    assert plain[0].tolist() == pytest.approx([0.02, 0.024])
    assert facing[0].tolist() == pytest.approx([0.026, 0.024])
    # the same from proposals kept for refinement
    d, kept = point_to_mesh_distance(pts, verts, tris, k=4, propose=8, directions=dirs)
    assert torch.allclose(d, facing)
    assert torch.allclose(point_to_mesh_distance(pts, verts, tris, k=4, proposals=kept, directions=dirs), facing)
    # a lone triangle facing away: no surface can have given that pixel
    lone = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]], dtype=torch.float64)  # normal +y
    one = torch.tensor([[0, 1, 2]])
    far = point_to_mesh_distance(pts[:1], lone, one, k=1, directions=-dirs[:1], far=0.15)  # seen from behind
    assert far.item() == 0.15
    assert point_to_mesh_distance(pts[:1], lone, one, k=1, directions=dirs[:1]).item() == pytest.approx(0.02)


def test_targets_keep_side_points_with_their_ray_directions():
    """A wall seen by two cameras from opposite sides: its side points carry directions from each
    camera, and clean depth is left as it is (noise measured 0)."""
    H, W = 120, 160
    depth = np.full((H, W), 2.0, np.float32)
    mask = np.zeros((H, W), bool)
    mask[30:90, 40:120] = True
    front = np.eye(4)
    front[:3, 3] = [0.0, 0.0, -2.0]  # OpenCV camera at z = -2 looking +z
    back = np.eye(4)
    back[:3, :3] = np.diag([-1.0, 1.0, -1.0])  # turned around, at z = +2 looking -z
    back[:3, 3] = [0.0, 0.0, 2.0]
    t = ObjectTarget.from_frames([depth, depth], [K, K], [front, back], [mask, mask], floor_height=-1.0,
                                 config=TargetConfig(side_points=True, smooth_radius=3))
    off = ObjectTarget.from_frames([depth, depth], [K, K], [front, back], [mask, mask], floor_height=-1.0)
    assert t.noise_scale == 0.0 and off.side_points is None
    assert np.array_equal(t.points, off.points)
    assert len(t.side_points) > len(t.points) and t.side_weights.sum() == pytest.approx(len(t.points), rel=0.05)
    z = t.side_dirs[:, 2]
    assert np.all(np.abs(np.abs(z) - 1) < 0.2) and (z > 0).any() and (z < 0).any()
    assert np.allclose(np.linalg.norm(t.side_dirs, axis=1), 1.0)


def test_ray_means_collapse_a_noise_cloud_along_the_rays_and_keep_separate_surfaces():
    rng = np.random.default_rng(3)
    n = 20000
    yz = rng.uniform(0, 0.4, size=(n, 2))  # a 40 x 40 cm wall at x = 3 m seen along +x, 2 cm noise along the rays
    wall = np.c_[3.0 + rng.normal(size=n) * 0.02, yz]
    rays = np.tile([1.0, 0.0, 0.0], (n, 1))
    ranges = np.full(n, 3.0)
    c = 0.02 / 9
    grid = voxel_downsample(wall, 0.02)
    pts = ray_means(wall, rays, ranges, 0.02, c)
    assert np.percentile(np.abs(grid[:, 0] - 3.0), 90) > 0.03  # voxel means keep the noise slab
    assert np.percentile(np.abs(pts[:, 0] - 3.0), 90) < 0.01  # means along the ray lie on the wall
    assert len(pts) == pytest.approx(400, rel=0.1)  # one point per 2 x 2 cm column
    # a second wall 40 cm behind it stays separate; seen from the other side, nothing is averaged in
    both = np.r_[wall, wall + [0.4, 0.0, 0.0]]
    two = ray_means(both, np.r_[rays, rays], np.r_[ranges, ranges], 0.02, c)
    assert np.percentile(np.minimum(np.abs(two[:, 0] - 3.0), np.abs(two[:, 0] - 3.4)), 90) < 0.01
    opposite = ray_means(both, np.r_[rays, -rays], np.r_[ranges, ranges], 0.02, c)
    assert np.percentile(np.minimum(np.abs(opposite[:, 0] - 3.0), np.abs(opposite[:, 0] - 3.4)), 90) < 0.01
    # a floor seen at grazing incidence (along +x, 1 m of it in each column) keeps points along it
    floor = np.c_[rng.uniform(2.0, 3.0, n), rng.uniform(0, 0.4, n), rng.normal(size=n) * 0.002]
    along = ray_means(floor, rays, ranges, 0.02, c)
    assert np.ptp(along[:, 0]) > 0.8 and np.all(np.abs(along[:, 2]) < 0.01)
    # noiseless depth: pieces of one voxel along the ray
    assert len(ray_means(floor, rays, ranges, 0.02, 0.0)) > 20 * len(along) / 2


def _sheet_frames(seed: int, c: float = 3e-3, views: int = 8):
    """A 50 x 50 cm vertical sheet (the plane y = 0, 0.5 <= z <= 1) seen from the front by cameras at
    2.8 m, depth noise sigma = c z^2 (3e-3: a dark part on a structured-light sensor, 2.4 cm here)."""
    rng = np.random.default_rng(seed)
    H, W = 120, 160
    rows, cols = np.mgrid[:H, :W]
    cam_dirs = np.stack([(cols + 0.5 - K[0, 2]) / K[0, 0], (rows + 0.5 - K[1, 2]) / K[1, 1], np.ones((H, W))], -1)
    depths, poses, masks = [], [], []
    for i in range(views):
        a = np.radians(-40 + 80 * i / (views - 1))
        eye = np.array([2.8 * np.sin(a), 2.8 * np.cos(a), 1.4])
        pose = look_at(eye, [0.0, 0.0, 0.75])
        d = cam_dirs @ pose[:3, :3].T  # each pixel's world ray, unit camera z
        t = -eye[1] / d[..., 1]  # camera depth of the plane y = 0
        hit = eye + d * t[..., None]
        mask = (t > 0) & (np.abs(hit[..., 0]) < 0.25) & (hit[..., 2] > 0.5) & (hit[..., 2] < 1.0)
        depths.append(np.where(mask, t + rng.normal(size=t.shape) * c * t * t, 0.0).astype(np.float32))
        poses.append(pose)
        masks.append(mask)
    return depths, [K] * views, poses, masks


@pytest.mark.parametrize("seed", [0, 1])
def test_a_noisy_thin_sheet_is_fitted_thin_with_ray_means_and_thick_without(seed):
    """The office-chair mesh back: a 6 mm sheet seen through 2.4 cm of depth noise. Voxel means form a
    ~9 cm slab that a 6 cm thick box covers better than the true sheet; means along the rays do not."""
    def total(target, half):
        v, tri = box_mesh((-0.25, -half, 0.5), (0.25, half, 1.0))
        return float(CandidateLosses(target, LossConfig()).terms(torch.tensor(v)[None], torch.from_numpy(tri))["total"][0])

    frames = _sheet_frames(seed)
    on = ObjectTarget.from_frames(*frames, floor_height=0.5, config=TargetConfig(ray_means=True))
    off = ObjectTarget.from_frames(*frames, floor_height=0.5, config=TargetConfig(ray_means=False))
    assert on.noise_scale == pytest.approx(3e-3, rel=0.3)
    assert total(on, 0.003) < 0.5 * total(on, 0.03)
    assert total(off, 0.003) > total(off, 0.03)
    assert np.array_equal(on.points, off.points) and np.array_equal(on.free_points, off.free_points)  # only coverage's points change
    assert off.ray_points is None and len(on.ray_points) < 0.5 * len(on.points)


def test_ray_means_leave_noiseless_targets_unchanged():
    H, W = 120, 160
    depth = _tilted_plane(2.0).astype(np.float32)
    mask = np.zeros((H, W), bool)
    mask[30:90, 40:120] = True
    pose = np.eye(4)
    on = ObjectTarget.from_frames([depth], [K], [pose], [mask], floor_height=-1.0, config=TargetConfig(ray_means=True))
    off = ObjectTarget.from_frames([depth], [K], [pose], [mask], floor_height=-1.0, config=TargetConfig(ray_means=False))
    assert on.noise_scale < TargetConfig().min_noise_scale
    assert on.ray_points is None and np.array_equal(on.points, off.points)
