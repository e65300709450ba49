"""`procsplat train` with no scene: the built-in demo, end to end, with its defaults."""
import json

import pytest

from procsplat.cli import main

pytestmark = pytest.mark.slow


def test_demo_train_with_defaults(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "held-out PSNR" in out
    run = tmp_path / "synth2024_00"
    for name in ("splats.ply", "scene.json", "model.pt", "metrics.json", "turntable.gif"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    scene = json.loads((run / "scene.json").read_text())
    assert scene["objects"], "the demo's furniture was fitted with programs"
    assert metrics["psnr"] > 18.0
    print(f"demo: PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.3f}, {metrics['num_gaussians']} Gaussians, "
          f"{metrics['seconds']:.0f} s")
