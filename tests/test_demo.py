"""`procsplat train` with no scene: the built-in demo, end to end, with its defaults."""
import json

import pytest

pytestmark = pytest.mark.slow


def test_demo_train_with_defaults(demo_run):
    for name in ("splats.ply", "scene.json", "model.pt", "metrics.json", "turntable.gif", "config.json"):
        assert (demo_run / name).is_file(), name
    assert sorted((demo_run / "renders").glob("heldout_*.png"))
    metrics = json.loads((demo_run / "metrics.json").read_text())
    scene = json.loads((demo_run / "scene.json").read_text())
    assert scene["objects"], "the demo's furniture was fitted with programs"
    assert metrics["fit"] == "ga" and metrics["joint_shape"]
    assert metrics["psnr"] > 18.0
    print(f"demo: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.3f}, {metrics['num_gaussians']} Gaussians, "
          f"{len(scene['objects'])} objects, {metrics['seconds']:.0f} s")
