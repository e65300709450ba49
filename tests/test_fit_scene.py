"""`procsplat fit` on a synthetic scan: outputs per object, category mapping, skipped objects."""
import json

import numpy as np
import pytest

from procsplat.data.categories import program_for
from procsplat.cli import main
from procsplat.data.synth import SynthConfig, generate
from procsplat.geometry import backproject
from synthboxes import TINY_GA, boxed_room, gt_boxes


def test_category_mapping():
    assert program_for("Office Chairs") == "chair"
    assert program_for("kitchen cabinets") == "cabinet"
    assert program_for("couch") == "sofa" and program_for("desk") == "desk"
    assert program_for("bookcase") == "bookshelf" and program_for("bed") == "bed"
    assert program_for("wall") is None and program_for("floor") is None and program_for("plant") is None


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


# -- objects given as boxes (--objects-from): any RGB-D scan, no instance labels --------------------------------
@pytest.fixture(scope="module")
def boxed_scan(tmp_path_factory):
    """A synthetic room (a table and a chair) written as a 7-Scenes folder (no labels), and its true boxes."""
    root = tmp_path_factory.mktemp("boxed")
    scene_dir, seven = boxed_room(root)
    boxes = root / "boxes.json"
    boxes.write_text(json.dumps({"objects": gt_boxes(scene_dir)}))
    return scene_dir, seven, boxes


def test_box_masks_match_the_true_instances(boxed_scan):
    """Each box's pixels are the object's (the labelled scan's own masks: IoU > 0.98) and none of the floor's."""
    from pathlib import Path

    from procsplat.data.config import SceneConfig, open_scene

    scene_dir, _, boxes = boxed_scan
    labelled, _ = open_scene(SceneConfig(scene=str(scene_dir), width=160), log=lambda *a: None)
    lines = []
    boxed, _ = open_scene(SceneConfig(scene=str(scene_dir), width=160, objects_from=Path(boxes)), log=lines.append)
    assert lines[-1].startswith(f"{boxes}: 2 objects from boxes (1 table, 2 chair)") and "replacing" in lines[-1]
    assert [(o.id, o.label) for o in boxed.objects] == [(1, "table"), (2, "chair")]
    for oid in (1, 2):
        inter = union = 0
        for i in range(len(boxed.frames)):
            a, b = labelled.instance_mask(i) == oid, boxed.instance_mask(i) == oid
            inter, union = inter + (a & b).sum(), union + (a | b).sum()
            if b.any():  # no floor: every box pixel is > 1 cm above it
                frame = boxed.frames[i]
                z = backproject(frame.depth, frame.K, frame.cam_to_world, b)[:, 2]
                assert z.min() > 0.009
        assert inter / union > 0.98, (oid, inter / union)


@pytest.mark.slow
def test_fit_into_boxes_of_an_unlabelled_scan(boxed_scan, tmp_path, capsys):
    """`procsplat fit` on a 7-Scenes folder with boxes.json: the right programs, near the true poses."""
    scene_dir, seven, boxes = boxed_scan
    gt = {o["instance_id"]: o for o in json.loads((scene_dir / "gt.json").read_text())["objects"]}
    assert main(["fit", "--scene", str(seven), "--objects-from", str(boxes), "--width", "160",
                 "--out", str(tmp_path / "fits"), *TINY_GA]) == 0
    out = capsys.readouterr().out
    assert "up [" in out and "from the floor plane" in out and "2 objects from boxes" in out
    summary = json.loads((tmp_path / "fits" / "seven" / "summary.json").read_text())
    fitted = {o["instance_id"]: o for o in summary["objects"]}
    assert sorted(fitted) == sorted(gt)
    for oid, fit in fitted.items():
        assert fit["program"] == gt[oid]["program"]
        error = np.linalg.norm(np.array(fit["pose"]["translation"][:2]) - np.array(gt[oid]["translation"][:2]))
        assert error < 0.15, (oid, error)
        assert (tmp_path / "fits" / "seven" / f"object_{oid:03d}_{fit['program']}.ply").is_file()


@pytest.mark.parametrize("change, field, message", [
    (lambda b: b[0].pop("size"), "objects[0].size", "field missing"),
    (lambda b: b[1].update(category="plant"), "objects[1].category", '"plant" has no shape program'),
    (lambda b: b[0].update(size=[0.5, -0.2, 0.7]), "objects[0].size", "must be > 0"),
    (lambda b: b[1].update(center=[0, 1]), "objects[1].center", "list of 3 finite numbers"),
    (lambda b: b[1].update(id=b[0]["id"]), "objects[1].id", "unique"),
    (lambda b: b[0].update(colour="red"), "objects[0]", "unknown field(s) ['colour']"),
])
def test_bad_boxes_file_is_one_clear_error(boxed_scan, tmp_path, capsys, change, field, message):
    _, seven, boxes = boxed_scan
    doc = json.loads(boxes.read_text())
    change(doc["objects"])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["fit", "--scene", str(seven), "--objects-from", str(bad), "--out", str(tmp_path / "fits"),
                 *TINY_GA]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in err[0], err
    assert err[0].startswith(f"procsplat fit: error: {bad}: {field}") and message in err[0], err[0]
    assert not (tmp_path / "fits").exists()
