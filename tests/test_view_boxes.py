"""`procsplat view --scene`: boxes placed on a scan, programs fitted into them (the `--objects-from` path), the
boxes file they save, and a real browser clicking "Add box", "Fit" and "Save boxes"."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from synthboxes import boxed_room, gt_boxes
from test_viewer import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, VIEWPORT, copy_run, free_port


@pytest.fixture(scope="module")
def scan(tmp_path_factory):
    """A synthetic room (a table and a chair) written as a 7-Scenes folder (no labels), and its true boxes."""
    root = tmp_path_factory.mktemp("boxview")
    scene_dir, seven = boxed_room(root)
    gt = {o["instance_id"]: o for o in json.loads((scene_dir / "gt.json").read_text())["objects"]}
    return seven, {b["id"]: b for b in gt_boxes(scene_dir)}, gt


def open_scan_view(seven: Path, ga, **overrides):
    from procsplat.data.config import SceneConfig
    from procsplat.view.config import ViewConfig
    from procsplat.view.scan import open_scan_session

    cfg = ViewConfig(data=SceneConfig(scene=str(seven), width=160, max_frames=16), port=free_port(), host="127.0.0.1",
                     cameras=2, environment_map=False, ga=ga, **overrides)
    return open_scan_session(cfg)


def in_box_frame(points: np.ndarray, box: dict) -> np.ndarray:
    c, s = math.cos(box["yaw"]), math.sin(box["yaw"])
    d = points - np.asarray(box["center"])
    return np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]], 1)


# -- the boxes file ------------------------------------------------------------------------------
def test_written_boxes_read_back_and_bad_ones_are_refused(tmp_path):
    from procsplat.data.boxes import Box, read_boxes, write_boxes

    boxes = [Box(2, "chair", (-1.1077626864424572, 0.25, 0.45), (0.5, 0.55, 0.9), 2.4127),
             Box(5, "trash_bin", (0.1, 0.2, 0.25), (0.3, 0.3, 0.5), -0.1)]
    path = write_boxes(tmp_path / "sub" / "boxes.json", boxes, margin=0.03)
    assert read_boxes(path) == (boxes, 0.03)  # exactly: floats survive the text
    assert sorted(p.name for p in path.parent.iterdir()) == ["boxes.json"]  # no temporary file left
    for bad in ([], [boxes[0], boxes[0]], [Box(1, "plant", (0, 0, 0), (1, 1, 1))], [Box(1, "chair", (0, 0, 0), (1, 0, 1))]):
        with pytest.raises(ValueError):
            write_boxes(tmp_path / "bad.json", bad)
    assert not (tmp_path / "bad.json").exists()


def test_view_needs_a_run_or_a_scene(tmp_path, capsys):
    from procsplat.cli import main

    assert main(["view", "--port", str(free_port())]) == 2
    assert "give a run directory" in capsys.readouterr().err
    assert main(["view", str(tmp_path), "--scene", str(tmp_path), "--port", str(free_port())]) == 2
    assert "without a run directory" in capsys.readouterr().err
    assert main(["view", "--scene", str(tmp_path / "nope"), "--port", str(free_port())]) == 2
    assert "scene path not found" in capsys.readouterr().err


def test_gizmo_turns_boxes_about_up_only():
    from procsplat.view.boxes import yaw_of, yaw_quaternion
    import viser.transforms as vtf

    for yaw in (-3.0, -0.4, 0.0, 1.2, 3.1):
        assert yaw_of(yaw_quaternion(yaw)) == pytest.approx(yaw)
        tilted = vtf.SO3.from_z_radians(yaw) @ vtf.SO3.from_x_radians(0.3)  # a drag on a tilt ring
        assert yaw_of(tilted.wxyz) == pytest.approx(yaw)


# -- placing, fitting, saving (no browser) ------------------------------------------------------
@pytest.mark.slow
def test_box_placed_in_the_viewer_fits_the_object_and_saves_for_the_cli(scan, tmp_path, capsys):
    """A box around the synthetic chair -> Fit (ga:fast) lands on the true chair; the saved boxes file is what
    `procsplat fit --objects-from` reads, and fitting it there gives the viewer's result (one fitting path)."""
    from procsplat.cli import main
    from procsplat.data.boxes import read_boxes
    from procsplat.fit.search import preset
    from procsplat.view.worker import PARAM

    seven, boxes, gt = scan
    chair = next(i for i, o in gt.items() if o["category"] == "chair")
    table = next(i for i, o in gt.items() if o["category"] == "table")
    server, session = open_scan_view(seven, preset("fast"), boxes_out=tmp_path / "boxes.json")
    editor = session.editor
    try:
        assert len(session.points.points) > 10_000 and len(session.nodes.frustums) == 2
        # The table's box, placed by default then moved and sized as the GUI would; the chair's given at once.
        b = boxes[table]
        t = editor.add_box("table", box_id=table)
        assert editor.boxes[t].size == (1.2, 0.8, 0.75)  # a typical table to start from
        editor.set_box(t, center=b["center"], size=b["size"], yaw=b["yaw"] + 2 * math.pi)
        assert editor.boxes[t].yaw == pytest.approx(math.atan2(math.sin(b["yaw"]), math.cos(b["yaw"])))
        np.testing.assert_allclose(editor.boxes[t].gizmo.position, b["center"], atol=1e-6)
        np.testing.assert_allclose(editor.boxes[t].solid.dimensions, b["size"], atol=1e-6)
        b = boxes[chair]
        c = editor.add_box("chair", center=b["center"], size=b["size"], yaw=b["yaw"], box_id=chair)
        assert editor.boxes[c].node == f"/boxes/box_{chair}"

        doc = editor.fit(c).result(600)
        assert doc is not None and doc["program"] == "chair", session.status.content
        assert "fitted `chair`" in session.status.content and not editor.progress.visible
        assert editor.progress.value == 100.0  # the GA's generations drove the progress bar to its end
        mesh = editor.meshes[c]
        local = in_box_frame(mesh.vertices.astype(np.float64), b)  # the fitted chair, in the true box's frame
        centre = (local.min(0) + local.max(0)) / 2
        assert np.abs(centre).max() < 0.03, centre  # centred in the true box within 3 cm
        assert np.linalg.norm(np.subtract(doc["pose"]["translation"][:2], gt[chair]["translation"][:2])) < 0.03

        # The fitted program's controls edit it live (the run viewer's controls and edit rule).
        obj = editor.fitted.objects[c]
        values = obj.parameters_dict()
        p = next(q for q in obj.program.parameters if q.kind == "float" and obj.program.is_active(q.name, values))
        assert editor.controls[c].params[p.name].value == pytest.approx(values[p.name])
        v0 = mesh.vertices.copy()
        editor.edit_worker.edit(c, PARAM, p.name, p.max if values[p.name] < (p.min + p.max) / 2 else p.min)
        assert editor.edit_worker.wait_idle(60)
        assert np.abs(mesh.vertices - v0).max() > 1e-3

        saved = editor.save()
        assert saved == tmp_path / "boxes.json" and f"--objects-from {saved}" in session.status.content
        assert read_boxes(saved)[0] == editor.current_boxes()
    finally:
        session.close()
        server.stop()

    capsys.readouterr()
    assert main(["fit", "--scene", str(seven), "--objects-from", str(saved), "--objects", str(chair), "--width", "160",
                 "--max-frames", "16", "--out", str(tmp_path / "fits"), "ga:fast"]) == 0
    assert "2 objects from boxes" in capsys.readouterr().out
    cli = json.loads((tmp_path / "fits" / "seven" / f"object_{chair:03d}.json").read_text())
    assert cli["program"] == "chair"
    np.testing.assert_allclose(cli["pose"]["translation"], doc["pose"]["translation"], atol=1e-6)
    assert cli["pose"]["yaw"] == pytest.approx(doc["pose"]["yaw"], abs=1e-6)
    assert cli["parameters"] == pytest.approx(doc["parameters"], abs=1e-6)


@pytest.mark.slow
def test_opening_a_boxes_file_and_a_box_holding_nothing(scan, tmp_path):
    """--objects-from preloads its boxes (and is where Save writes); a box over empty floor says why it is not fitted."""
    from procsplat.data.boxes import Box, read_boxes, write_boxes
    from procsplat.fit.search import preset

    seven, boxes, _ = scan
    path = write_boxes(tmp_path / "mine.json", [Box(b["id"], b["category"], tuple(b["center"]), tuple(b["size"]),
                                                    b["yaw"]) for b in boxes.values()], margin=0.04)
    from procsplat.data.config import SceneConfig
    from procsplat.view.config import ViewConfig
    from procsplat.view.scan import open_scan_session

    cfg = ViewConfig(data=SceneConfig(scene=str(seven), width=160, max_frames=16, objects_from=path),
                     port=free_port(), cameras=0, environment_map=False, ga=preset("fast", generations=1))
    server, session = open_scan_session(cfg)
    try:
        editor = session.editor
        assert editor.current_boxes() == read_boxes(path)[0] and editor.margin == 0.04
        empty = editor.add_box("chair", center=(9.0, 9.0, 0.45))
        # A drag of its gizmo (what the client's update runs): moved, and turned on a tilt ring -> only its yaw stays.
        import viser.transforms as vtf

        b = editor.boxes[empty]
        b.gizmo.wxyz = (vtf.SO3.from_z_radians(0.7) @ vtf.SO3.from_y_radians(0.4)).wxyz
        b.gizmo.position = (9.0, 9.5, 0.45)
        editor._gizmo_moved(b, None)
        assert b.yaw == pytest.approx(0.7) and b.center == pytest.approx((9.0, 9.5, 0.45))
        np.testing.assert_allclose(b.gizmo.wxyz, vtf.SO3.from_z_radians(0.7).wxyz, atol=1e-6)
        assert b.gui["yaw"].value == pytest.approx(math.degrees(0.7), abs=0.01)
        np.testing.assert_allclose(b.gui["center"].value, (9.0, 9.5, 0.45), atol=1e-6)
        with pytest.warns(RuntimeWarning, match="skipped"):
            assert editor.fit(empty).result(120) is None
        assert f"box {empty}: not fitted" in session.status.content
        assert empty not in editor.meshes
        editor.remove_box(empty)
        assert editor.edit_worker.wait_idle(10) and empty not in editor.boxes
        assert editor.save() == path
        assert read_boxes(path) == (editor.current_boxes(), 0.04)
    finally:
        session.close()
        server.stop()


@pytest.mark.slow
def test_the_command_serves_the_scan_until_stopped(scan, capsys):
    import threading

    from procsplat.data.config import SceneConfig
    from procsplat.view.config import ViewConfig
    from procsplat.view.scan import run_scan_view

    seven, _, _ = scan
    stop = threading.Event()
    stop.set()
    port = free_port()
    assert run_scan_view(ViewConfig(data=SceneConfig(scene=str(seven), width=96, max_frames=4), port=port,
                                    cameras=0, environment_map=False), stop) == 0
    assert f"procsplat view: seven at http://127.0.0.1:{port}: Add box, Fit, Save boxes" in capsys.readouterr().out


@pytest.mark.slow
def test_run_viewer_boxes_start_from_the_runs_objects(run_dir, tmp_path):
    """`procsplat view RUN --boxes`: a box per object of the run (its fitted shapes' bounds, in the run's world
    frame: the true boxes within 2 cm), Fit into one, Save to RUN/edited/boxes.json."""
    from procsplat.data.boxes import read_boxes
    from procsplat.fit.search import preset
    from procsplat.view.config import ViewConfig
    from procsplat.view.server import open_session

    run = copy_run(run_dir, tmp_path / "run")
    source = Path(json.loads((run / "scene.json").read_text())["source"])
    truth = {b["id"]: b for b in gt_boxes(source)}
    tiny = preset("fast", population=8, keep=2, offspring=5, generations=1, refine_steps=0, final_steps=2,
                  sweep_rounds=0)
    server, session = open_session(ViewConfig(run=run, port=free_port(), cameras=0, environment_map=False,
                                              boxes=True, ga=tiny))
    try:
        editor = session.editor
        assert sorted(editor.boxes) == sorted(truth) and "from the fitted objects" in session.status.content
        for i, b in editor.boxes.items():
            assert b.category == Path(truth[i]["category"]).stem
            assert np.abs(np.subtract(b.center, truth[i]["center"])).max() < 0.02, (i, b.center, truth[i])
            assert np.abs(np.subtract(b.size, truth[i]["size"])).max() < 0.04, (i, b.size, truth[i])
        chair = next(i for i, b in editor.boxes.items() if b.category == "chair")
        doc = editor.fit(chair).result(300)
        assert doc is not None and doc["program"] == "chair" and chair in editor.meshes
        saved = editor.save()
        assert saved == run / "edited" / "boxes.json" and read_boxes(saved)[0] == editor.current_boxes()
    finally:
        session.close()
        server.stop()


# -- in a real browser ---------------------------------------------------------------------------
@pytest.mark.slow
def test_browser_adds_a_box_fits_it_and_saves(scan, tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian: apt-get install -y chromium)")
    from playwright import sync_api  # a dev dependency: missing it is an error, not a skip

    from procsplat.data.boxes import read_boxes
    from procsplat.fit.search import preset

    seven, boxes, gt = scan
    chair = next(i for i, o in gt.items() if o["category"] == "chair")
    tiny = preset("fast", population=8, keep=2, offspring=5, generations=2, refine_steps=0, final_steps=2,
                  sweep_rounds=0)
    server, session = open_scan_view(seven, tiny, boxes_out=tmp_path / "boxes.json")
    editor = session.editor
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{server.get_port()}")
                add = page.get_by_role("button", name="Add box")
                add.wait_for(timeout=90_000)
                add.click()
                deadline = time.time() + 30
                while time.time() < deadline and not editor.boxes:
                    time.sleep(0.2)
                assert list(editor.boxes) == [1], "the click never reached the editor"
                assert editor.boxes[1].category == "chair"  # the dropdown's default
                page.get_by_text("box 1", exact=True).wait_for(timeout=30_000)  # its folder appeared
                b = boxes[chair]
                editor.set_box(1, center=b["center"], size=b["size"], yaw=b["yaw"])  # as if dragged into place
                page.get_by_role("button", name="Fit", exact=True).click()
                deadline = time.time() + 300
                while time.time() < deadline and 1 not in editor.meshes:
                    time.sleep(0.5)
                assert 1 in editor.meshes, session.status.content
                page.get_by_text("1_chair", exact=True).wait_for(timeout=30_000)  # the fitted program's folder
                page.locator("label", has_text="Seat Height").first.wait_for(timeout=30_000)  # and its controls
                page.get_by_role("button", name="Save boxes").click()
                deadline = time.time() + 30
                while time.time() < deadline and not (tmp_path / "boxes.json").exists():
                    time.sleep(0.2)
                ARTIFACTS.mkdir(exist_ok=True)
                time.sleep(2.0)
                (ARTIFACTS / "viewer_boxes.png").write_bytes(page.screenshot())
            finally:
                browser.close()
        assert read_boxes(tmp_path / "boxes.json")[0] == editor.current_boxes()
    finally:
        session.close()
        server.stop()
