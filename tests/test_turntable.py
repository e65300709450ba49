"""Turntable paths: the scene orbit stays inside the region the training cameras covered and looks at
the objects; every procedural object gets its own turntable."""
import math

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from procsplat.geometry import look_at
from procsplat.run.orbit import Cameras, camera_region, object_orbit, room_orbit


def _angle_to(c2w: np.ndarray, target) -> float:
    """Degrees between the camera's view direction (+z) and the direction to `target`."""
    to = np.asarray(target, np.float64) - c2w[:3, 3]
    cos = float(c2w[:3, 2] @ to / np.linalg.norm(to))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def _inside(points_xy, n, d, tol=1e-9) -> bool:
    return bool(np.all(points_xy @ n.T <= d + tol))


def _scan_path(num=40, a=3.1, b=2.6, seed=0):
    """Camera centres like a scan walking around a room (an ellipse with jitter, eye height)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * math.pi, num, endpoint=False) + 0.7
    c = np.stack([a * np.cos(t) + 0.5, b * np.sin(t) - 0.3, 1.5 + 0.2 * rng.uniform(size=num)], 1)
    c[:, :2] += rng.normal(scale=0.05, size=(num, 2))
    return c


@pytest.mark.parametrize("seed", [0, 1])
def test_room_orbit_inside_camera_region_and_looking_at_target(seed):
    centres = _scan_path(seed=seed)
    target = np.array([0.8, -0.1, 0.5])
    poses = room_orbit(centres, target, 24, margin=0.3)
    assert len(poses) == 24
    eyes = np.array([p[:3, 3] for p in poses])
    lo, hi = centres.min(0) - 0.05, centres.max(0) + 0.05
    assert np.all(eyes >= lo) and np.all(eyes <= hi)
    n, d, _ = camera_region(centres[:, :2])
    assert _inside(eyes[:, :2], n, d - 0.3 + 1e-6)  # the hull, moved inward by the margin
    for p in poses:
        assert _angle_to(p, target) < 1.0
        assert np.allclose(p[:3, :3].T @ p[:3, :3], np.eye(3), atol=1e-9)
    # a real orbit, not a point: it goes around the target
    assert np.ptp(eyes[:, 0]) > 3 and np.ptp(eyes[:, 1]) > 2


def test_room_orbit_degenerate_paths():
    line = np.stack([np.linspace(-2, 2, 10), np.zeros(10), np.full(10, 1.5)], 1)  # cameras on a line
    poses = room_orbit(line, [0.0, 1.5, 0.4], 8)
    eyes = np.array([p[:3, 3] for p in poses])
    assert np.all(np.abs(eyes[:, 1]) <= 0.05 + 1e-9) and np.all(np.abs(eyes[:, 0]) <= 2)
    assert all(_angle_to(p, [0.0, 1.5, 0.4]) < 1.0 for p in poses)
    one = room_orbit(np.array([[1.0, 1.0, 1.4]]), [0.0, 0.0, 0.5], 4)  # a single camera
    assert all(np.all(np.isfinite(p)) and _angle_to(p, [0.0, 0.0, 0.5]) < 1.0 for p in one)


def test_object_orbit_frames_the_box():
    K = np.array([[200.0, 0, 128], [0, 200.0, 96], [0, 0, 1]])
    lo, hi = np.array([1.0, 2.0, 0.0]), np.array([2.9, 2.9, 0.8])
    poses = object_orbit(lo, hi, K, 256, 192, 12, fill=0.85)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    worst = 0.0
    for p in poses:
        assert _angle_to(p, (lo + hi) / 2) < 1.0
        assert p[2, 3] > hi[2]  # from above
        cam = (corners - p[:3, 3]) @ p[:3, :3]
        uv = cam[:, :2] / cam[:, 2:] * [K[0, 0], K[1, 1]] + [K[0, 2], K[1, 2]]
        assert np.all(cam[:, 2] > 0)
        assert np.all(uv >= 0) and np.all(uv <= [256, 192])
        worst = max(worst, float(np.max(np.abs(uv - [128, 96]) / [128, 96])))
    assert 0.8 < worst <= 0.85 + 1e-9  # framed: as close as the fill allows


def test_cameras_scaled_K_keeps_field_of_view():
    cams = Cameras(np.stack([look_at([0, 0, 1], [1, 0, 1])]), np.array([[100.0, 0, 50], [0, 100, 37.5], [0, 0, 1]]),
                   100, 75)
    K, h = cams.scaled_K(256)
    assert h == 192 and K[0, 0] == pytest.approx(256.0) and K[0, 2] == 128


@pytest.mark.slow
def test_training_writes_room_orbit_and_object_turntables(tmp_path):
    """End to end on a tiny synthetic room: the scene turntable's cameras stay inside the room the
    training cameras covered and look at the objects; one turntable per procedural object."""
    from procsplat.data.config import SceneConfig
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.run.export import orbit_target, write_turntable
    from procsplat.splat.init import InitConfig
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    scene = generate(SynthConfig(out=tmp_path / "scene", seed=5, num_frames=8, width=96, height=72, num_objects=2,
                                 categories=("table",)), progress=False)
    cfg = TrainConfig(data=SceneConfig(scene=str(scene), width=96), out=tmp_path / "runs", fit="gt", steps=3,
                      video_frames=6, init=InitConfig(max_background=3000, max_gaussians_per_object=800))
    trainer = Trainer(cfg, log=lambda *a: None)
    trainer.train(progress=False)
    trainer.export(trainer.evaluate())
    run = trainer.run
    frames = iio.imread(run / "turntable.gif")
    assert frames.shape[0] == 6
    objects = sorted((run / "turntables").glob("*.gif"))
    assert [p.name for p in objects] == [f"object_{s.instance_id:03d}_table.gif" for s in trainer.model.specs]
    for p in objects:
        obj = iio.imread(p)
        assert obj.shape[0] == 6 and obj.min() < 200  # something drawn on the white background

    cams = trainer.training_cameras()
    assert len(cams.poses) == len(trainer.train_ids)
    poses = write_turntable(tmp_path / "t.gif", trainer.model, cams, frames=12)
    centres = cams.poses[:, :3, 3]
    lo, hi = centres.min(0) - 0.05, centres.max(0) + 0.05
    target = orbit_target(trainer.model)
    with torch.no_grad():
        boxes = [obj.mesh()[0] for obj in trainer.model.objects]
    expected = np.mean([((v.amin(0) + v.amax(0)) / 2).numpy() for v in boxes], axis=0)
    assert np.allclose(target, expected)
    for p in poses:
        assert np.all(p[:3, 3] >= lo) and np.all(p[:3, 3] <= hi)
        assert _angle_to(p, target) < 1.0
