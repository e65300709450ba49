"""`procsplat fit` on a synthetic scan: outputs per object, category mapping, skipped objects."""
import json

import numpy as np
import pytest

from procsplat.data.categories import program_for
from procsplat.cli import main
from procsplat.data.synth import SynthConfig, generate


def test_category_mapping():
    assert program_for("Office Chairs") == "chair"
    assert program_for("kitchen cabinets") == "cabinet"
    assert program_for("couch") == "sofa" and program_for("desk") == "desk"
    assert program_for("bookcase") == "bookshelf" and program_for("bed") == "bed"
    assert program_for("wall") is None and program_for("floor") is None and program_for("lamp") is None


@pytest.mark.slow
def test_fit_cli_writes_params_mesh_and_curve(tmp_path):
    scene = generate(SynthConfig(out=tmp_path / "scenes", seed=21, num_frames=16, width=160, height=120,
                                 num_objects=1, categories=("table",)), progress=False)
    gt = json.loads((scene / "gt.json").read_text())["objects"][0]
    assert main(["fit", "--scene", str(scene), "--out", str(tmp_path / "fits"), "--width", "160", "ga:fast"]) == 0
    out = tmp_path / "fits" / scene.name
    summary = json.loads((out / "summary.json").read_text())
    assert [o["instance_id"] for o in summary["objects"]] == [gt["instance_id"]]
    fit = summary["objects"][0]
    stem = out / f"object_{gt['instance_id']:03d}_table"
    for suffix in (".ply", ".png"):
        assert stem.with_suffix(suffix).is_file()
    assert (out / f"object_{gt['instance_id']:03d}.json").is_file()
    # the fitted table stands where the true one does (pose within a few centimetres / the footprint)
    assert np.linalg.norm(np.array(fit["pose"]["translation"][:2]) - np.array(gt["translation"][:2])) < 0.15
    assert abs(fit["parameters"]["Height"] - gt["parameters"]["Height"]) < 0.05


@pytest.mark.slow
def test_object_with_too_few_points_is_skipped(tmp_path):
    """A camera path that never sees the object well: a warning, no crash, nothing fitted."""
    from procsplat.fit.scene import fit_scene
    from procsplat.data.readers import load_scene

    scene_dir = generate(SynthConfig(out=tmp_path, seed=3, num_frames=2, width=24, height=18, num_objects=1,
                                     categories=("chair",)), progress=False)
    scene = load_scene(scene_dir)
    with pytest.warns(RuntimeWarning, match="skipped"):
        fitted = fit_scene(scene, "fast", progress=False, log=lambda *a: None)
    assert fitted == []
