"""Coverage inside each observed point's measured depth-noise band (`TargetConfig.point_noise`,
`LossConfig.coverage_noise`, `observe.pixel_noise` / `observe.point_noise`)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from procsplat.data.placed import box_mesh
from procsplat.fit.losses import CandidateLosses, LossConfig
from procsplat.fit.target import ObjectTarget, TargetConfig

K = np.array([[200.0, 0, 80], [0, 200.0, 60], [0, 0, 1]])
H, W = 120, 160


def _sheet_frames(c: float, seed: int = 0, noisier_half: float = 1.0):
    """A 6 mm sheet in the plane z = 0 (about 1.2 x 0.9 m) seen from both sides by cameras 3 m away,
    depth noise sigma = c z^2 (`noisier_half` x that on the sheet's x > 0 half)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((H, W), bool)
    mask[30:90, 40:120] = True
    front = np.eye(4)
    front[:3, 3] = [0.0, 0.0, -3.0]  # OpenCV camera at z = -3 looking +z
    back = np.eye(4)
    back[:3, :3] = np.diag([-1.0, 1.0, -1.0])  # turned around, at z = +3 looking -z
    back[:3, 3] = [0.0, 0.0, 3.0]
    depths = []
    for pose in (front, back, front, back):
        z = np.full((H, W), 2.997)
        cols = np.arange(W)[None] + np.zeros((H, 1))
        x_world = (cols + 0.5 - K[0, 2]) / K[0, 0] * z * pose[0, 0]
        scale = np.where(x_world > 0, noisier_half, 1.0)
        depths.append(np.where(mask, z + rng.normal(size=z.shape) * c * z * z * scale, 0.0).astype(np.float32))
    return depths, [K] * 4, [front, back, front, back], [mask] * 4


def _boxes(half: float):
    """(1,8,3) vertices, (12,3) triangles of a 1.2 x 0.9 m board of thickness 2 half centred on z = 0."""
    v, t = box_mesh((-0.6, -0.45, -half), (0.6, 0.45, half))
    return torch.tensor(v).unsqueeze(0), torch.from_numpy(t)


def _totals(target, k: float) -> dict:
    losses = CandidateLosses(target, LossConfig(coverage_noise=k))
    out = {}
    for name, half in (("thin", 0.003), ("slab", 0.03)):
        v, t = _boxes(half)
        terms = losses.terms(v, t)
        out[name] = {key: float(terms[key][0]) for key in ("coverage", "accuracy", "free_space")}
        w = losses.config.weights  # the sheet lies in a plane z = const: no floor support term
        out[name]["total"] = w.coverage * out[name]["coverage"] + w.accuracy * out[name]["accuracy"] \
            + w.free_space * out[name]["free_space"]
    return out


def test_clean_depth_measures_no_noise_and_leaves_the_loss_unchanged():
    depths, Ks, poses, masks = _sheet_frames(0.0)
    on = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0, config=TargetConfig(point_noise=True))
    off = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0)
    assert on.noise_scale == 0.0 and np.all(on.point_sigma == 0) and off.point_sigma is None
    assert np.array_equal(on.points, off.points)
    assert CandidateLosses(on, LossConfig(coverage_noise=3.0)).band is None
    assert _totals(on, 3.0) == _totals(off, 0.0)
    # a render's curved surfaces measure c up to ~1e-4 (dev seeds: 7e-5): below min_noise_scale, no band
    depths, Ks, poses, masks = _sheet_frames(5e-5)
    faint = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0, config=TargetConfig(point_noise=True))
    assert 0 < faint.noise_scale < TargetConfig().min_noise_scale and np.all(faint.point_sigma == 0)


def test_point_sigma_follows_the_measured_noise_and_its_noisier_parts():
    c = 1.5e-3
    depths, Ks, poses, masks = _sheet_frames(c, noisier_half=2.0)
    t = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0, config=TargetConfig(point_noise=True))
    assert len(t.point_sigma) == len(t.points)
    quiet = t.point_sigma[t.points[:, 0] < -0.15]
    loud = t.point_sigma[t.points[:, 0] > 0.15]
    # the measured c is the median of both halves; each half's sigma follows its own pixels
    assert np.median(loud) / np.median(quiet) == pytest.approx(2.0, rel=0.25)
    assert np.median(quiet) == pytest.approx(c * 9, rel=0.5)


def test_a_noisy_thin_sheet_prefers_a_thin_sheet_with_the_noise_band():
    """2.7 cm noise at 3 m (a dark part's doubled sensor noise): the voxel means form a slab several
    cm thick, which a 6 cm board covers better than the true 6 mm sheet. Inside the noise band
    coverage charges neither, and accuracy (the board's faces 3 cm off the observed surface) decides.
    Observed points averaged along the rays (`TargetConfig.ray_means`) have no slab: there
    plain coverage prefers the sheet."""
    depths, Ks, poses, masks = _sheet_frames(3e-3)
    t = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0,
                                 config=TargetConfig(point_noise=True, ray_means=False))
    plain, banded = _totals(t, 0.0), _totals(t, 2.0)
    assert plain["slab"]["coverage"] < plain["thin"]["coverage"]
    assert plain["slab"]["total"] < plain["thin"]["total"]
    assert banded["thin"]["coverage"] < 0.2 * plain["thin"]["coverage"]
    assert banded["thin"]["total"] < banded["slab"]["total"]
    ray = _totals(ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0,
                                           config=TargetConfig(point_noise=True, ray_means=True)), 0.0)
    assert ray["thin"]["coverage"] < 0.7 * ray["slab"]["coverage"]
    assert ray["thin"]["total"] < ray["slab"]["total"]


@pytest.mark.parametrize("ray_means", [False, True])
def test_the_band_is_kept_through_the_coverage_subset(ray_means):
    depths, Ks, poses, masks = _sheet_frames(1.5e-3)
    t = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=-1.0,
                                 config=TargetConfig(point_noise=True, ray_means=ray_means))
    losses = CandidateLosses(t, LossConfig(coverage_noise=2.0, max_points=50))
    assert losses.band.shape == (50,) == losses.points.shape[:1]
    pts, sigma = (t.ray_points, t.ray_sigma) if ray_means else (t.points, t.point_sigma)
    assert (t.ray_points is not None) == ray_means and len(sigma) == len(pts)
    sigma_of = {tuple(p): s for p, s in zip(np.round(pts, 9).tolist(), sigma.tolist())}
    expect = [2.0 * sigma_of[tuple(p)] for p in np.round(losses.points.numpy(), 9).tolist()]
    assert losses.band.numpy() == pytest.approx(expect)
