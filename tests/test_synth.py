"""`procsplat synth`: deterministic scenes that the ScanNet reader loads back exactly."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from procsplat.cli import main
from procsplat.data.readers import load_scene
from geonodes.render import render_mesh
from procsplat.data.synth import SynthConfig, generate

SMALL = dict(num_frames=6, width=128, height=96, num_objects=2, categories=("chair", "table"))


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory):
    return generate(SynthConfig(out=tmp_path_factory.mktemp("s"), seed=5, **SMALL), progress=False)


def test_same_seed_same_bytes_other_seed_other_scene(tmp_path, scene_dir):
    again = generate(SynthConfig(out=tmp_path / "a", seed=5, **SMALL), progress=False)
    assert digest(again) == digest(scene_dir)
    other = generate(SynthConfig(out=tmp_path / "b", seed=6, **SMALL), progress=False)
    a, b = json.loads((scene_dir / "gt.json").read_text()), json.loads((other / "gt.json").read_text())
    assert a["objects"] != b["objects"]


def test_reader_round_trip(scene_dir):
    gt = json.loads((scene_dir / "gt.json").read_text())
    scene = load_scene(scene_dir)
    assert len(scene.frames) == gt["num_frames"] == 6
    np.testing.assert_allclose(scene.frames.K, np.array(gt["K"]), atol=1e-5)
    np.testing.assert_allclose(np.stack([scene.frames.poses[i] for i in range(6)]), np.array(gt["cam_to_world"]),
                               atol=1e-6)  # .sens stores float32 poses
    labels = {o.id: o.label for o in scene.objects}
    for o in gt["objects"]:
        assert labels[o["instance_id"]] == o["category"]
    assert {labels[b["instance_id"]] for b in gt["background"]} == {"floor", "wall"}
    # the scene's floor estimate is the true floor (a floor slab's underside once put it 5 cm low)
    assert abs(scene.floor_height - gt["floor_height"]) < 1e-3
    # depth equals a fresh render of the scene mesh from the stored pose, to the millimetre
    mesh = scene.mesh
    for i in (0, 3):
        frame = scene.frames[i]
        r = render_mesh(torch.from_numpy(mesh.vertices.astype(np.float64)), torch.from_numpy(mesh.faces.astype(np.int64)),
                        torch.from_numpy(scene.frames.K), torch.from_numpy(scene.frames.poses[i]), 128, 96)
        ref = r["depth"].numpy()
        both = (ref > 0) & (frame.depth > 0)
        assert both.mean() > 0.95
        assert np.abs(frame.depth[both] - ref[both]).max() <= 0.0006
        # instance masks: every object visible in the frame has its id in the mask
        mask = scene.instance_mask(i)
        assert set(np.unique(mask)) - {0} <= set(labels)


def test_noise_and_holes(tmp_path, scene_dir):
    noisy = generate(SynthConfig(out=tmp_path, seed=5, depth_noise=True, holes=True, **SMALL), progress=False)
    clean_scene, noisy_scene = load_scene(scene_dir), load_scene(noisy)
    d0, d1 = clean_scene.frames[2].depth, noisy_scene.frames[2].depth
    assert (d1 == 0).mean() > (d0 == 0).mean() + 0.01  # holes
    both = (d0 > 0) & (d1 > 0)
    diff = np.abs(d0[both] - d1[both])
    assert 0.0005 < np.median(diff) < 0.02  # millimetre-scale noise


def test_cli_and_existing_output(tmp_path, capsys):
    args = ["synth", "--out", str(tmp_path), "--seed", "1", "--num-frames", "2", "--width", "64", "--height", "48",
            "--num-objects", "1", "--categories", "table"]
    assert main(args) == 0
    assert (tmp_path / "synth0001_00" / "gt.json").is_file()
    assert main(args) == 2  # refuses to overwrite
    assert "exists" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "x"), "--categories", "spaceship", "--num-frames", "1"]) == 2
    assert not (tmp_path / "x" / "synth0000_00").exists()


def test_texture_frame_recorded_and_checked(tmp_path):
    """gt.json records the texture frame; the ground truth refuses a scene textured in another one, and
    `ensure_scene` makes such a scene again (a scene from before the key counts as "world")."""
    from dataclasses import replace

    from procsplat.data.synth import GroundTruth, ensure_scene
    from procsplat.errors import ProcsplatError

    cfg = SynthConfig(out=tmp_path, seed=5, num_frames=1, width=32, height=24, num_objects=1, categories=("table",))
    path = ensure_scene(cfg, progress=False)
    gt = json.loads((path / "gt.json").read_text())
    assert gt["texture_frame"] == "part"
    del gt["texture_frame"]  # as written before the key existed
    (path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(ProcsplatError, match="'world' frame"):
        GroundTruth(cfg, path)
    GroundTruth(replace(cfg, texture_frame="world"), path)
    assert ensure_scene(cfg, progress=False) == path
    assert json.loads((path / "gt.json").read_text())["texture_frame"] == "part"
    GroundTruth(cfg, path)
    with pytest.raises(ProcsplatError, match="texture_frame"):
        generate(replace(cfg, texture_frame="uv", overwrite=True), progress=False)
