"""The viser viewer: refusal of bad run dirs, live edits on the model worker, a real browser moving a
slider, and saved edits that `procsplat export` turns into the same splats."""
from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "tests" / "data" / "blender"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ply_means(path: Path) -> np.ndarray:
    from plyfile import PlyData

    v = PlyData.read(str(path))["vertex"]
    return np.stack([np.asarray(v["x"]), np.asarray(v["y"]), np.asarray(v["z"])], 1)


def copy_run(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest


def open_test_session(run: Path, cameras: int = 2):
    from procsplat.view.config import ViewConfig
    from procsplat.view.server import open_session

    return open_session(ViewConfig(run=run, port=free_port(), host="127.0.0.1", cameras=cameras,
                                   environment_map=False))


def editable_parameters(obj) -> list:
    """Continuous, active parameters of an object that are not at their maximum."""
    values = obj.parameters_dict()
    return [p for p in obj.program.parameters if p.kind == "float" and obj.program.is_active(p.name, values)
            and values[p.name] < p.max - 1e-3 * (p.max - p.min)]


def editable_parameter(obj):
    params = editable_parameters(obj)
    assert params, f"object {obj.instance_id}: no editable parameter"
    return params[0]


def most_visible_parameter(run: Path, index: int = 0):
    """The parameter whose maximum moves the object's surface the most (on a separate copy of the model)."""
    from procsplat.run.rundir import load_run

    obj = load_run(run)[1].objects[index]
    with torch.no_grad():
        v0 = obj.mesh()[0].clone()
        moves = []
        for p in editable_parameters(obj):
            old = obj.parameters_dict()[p.name]
            obj.set_parameters({p.name: p.max})
            moves.append(((obj.mesh()[0] - v0).norm(dim=1).max().item(), p.name))
            obj.set_parameters({p.name: old})
    return obj.program.parameter(max(moves)[1])


# -- refusal -----------------------------------------------------------------------------------
def test_refuses_missing_and_incomplete_run_dirs(tmp_path, capsys):
    from procsplat.cli import main
    from procsplat.run.rundir import RunDirError, load_run

    with pytest.raises(RunDirError, match="run directory not found"):
        load_run(tmp_path / "nope")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "scene.json").write_text("{}")
    with pytest.raises(RunDirError, match="incomplete run directory, missing model.pt, splats.ply"):
        load_run(partial)
    (partial / "model.pt").write_bytes(b"not a checkpoint")
    (partial / "splats.ply").write_bytes(b"")
    with pytest.raises(RunDirError, match=r"scene.json: not a procsplat scene document"):
        load_run(partial)
    (partial / "scene.json").write_text(json.dumps({"schema": "procsplat-scene", "version": 1, "objects": []}))
    with pytest.raises(RunDirError, match=r"model.pt: not a procsplat checkpoint"):
        load_run(partial)

    assert main(["view", str(tmp_path / "nope"), "--port", str(free_port())]) == 2
    assert "procsplat view: error:" in capsys.readouterr().err
    assert main(["view", str(partial), "--port", str(free_port())]) == 2
    assert "model.pt" in capsys.readouterr().err


# -- server side -------------------------------------------------------------------------------
@pytest.mark.slow
def test_edits_move_mesh_and_splats_on_the_worker(run_dir, tmp_path):
    from procsplat.view.worker import PARAM, TRANSLATION

    server, session = open_test_session(copy_run(run_dir, tmp_path / "run"))
    try:
        assert session.nodes.names == [f"/objects/{o.instance_id}_{Path(o.category).stem}"
                                       for o in session.model.objects]
        assert session.nodes.background is not None and len(session.nodes.frustums) == 2  # the scan is readable
        obj = session.model.objects[0]
        p = editable_parameter(obj)
        splats, mesh = session.nodes.splats[0], session.nodes.meshes[0]
        c0, v0 = splats.centers.copy(), mesh.vertices.copy()
        other = session.nodes.splats[1].centers.copy()
        batches = session.worker.batches
        values = np.linspace(p.min, p.max, 30)
        for x in values:  # a dragged slider: many updates, coalesced into few evaluations
            session.worker.edit(0, PARAM, p.name, float(x))
        assert session.worker.wait_idle(60)
        assert session.worker.batches - batches < len(values)
        assert session.model.objects[0].parameters_dict()[p.name] == pytest.approx(p.max)
        assert np.abs(mesh.vertices - v0).max() > 1e-3
        assert np.abs(splats.centers - c0).max() > 1e-3
        np.testing.assert_array_equal(session.nodes.splats[1].centers, other)  # other objects untouched
        # What the clients get is exactly the model's anchored splats.
        with torch.no_grad():
            expect = session.model.anchored[0].world().means.numpy().astype(np.float32)
        np.testing.assert_allclose(splats.centers, expect, atol=1e-6)

        session.worker.edit(0, PARAM, p.name, p.max + 10)  # refused (the one edit rule), value kept
        assert session.worker.wait_idle(60)
        assert "out of range" in session.status.content and f"object {obj.instance_id}" in session.status.content
        session.worker.edit(0, TRANSLATION, None, (1.0, 2.0, 0.0))
        assert session.worker.wait_idle(60)
        assert session.model.objects[0].parameters_dict()[p.name] == pytest.approx(p.max)
        assert session.model.objects[0].translation.tolist() == [1.0, 2.0, 0.0]

        discrete = [q for q in obj.program.parameters if q.kind == "int"]
        assert discrete, "the chair program has int parameters"
        current = obj.parameters_dict()[discrete[0].name]
        target = current + 1 if current < discrete[0].max else current - 1
        session.worker.edit(0, PARAM, discrete[0].name, target)  # re-anchors the Gaussians on the new topology
        assert session.worker.wait_idle(60)
        assert obj.parameters_dict()[discrete[0].name] == target, session.status.content
        with torch.no_grad():  # the clients get the new topology and the re-anchored splats
            assert mesh.faces.shape == tuple(obj.mesh()[1].shape)
            np.testing.assert_allclose(splats.centers, session.model.anchored[0].world().means.numpy(), atol=1e-6)
        session.worker.edit(0, PARAM, discrete[0].name, discrete[0].max + 1)  # refused: out of its range
        assert session.worker.wait_idle(60)
        assert "out of range" in session.status.content

        session.reset().result(60)
        np.testing.assert_allclose(splats.centers, c0, atol=1e-6)
        np.testing.assert_allclose(mesh.vertices, v0, atol=1e-6)
    finally:
        session.close()
        server.stop()


@pytest.mark.slow
def test_saved_edits_export_to_matching_splats(run_dir, tmp_path):
    from procsplat.cli import main
    from procsplat.view.worker import PARAM, YAW

    run = copy_run(run_dir, tmp_path / "run")
    before = ply_means(run / "splats.ply")
    server, session = open_test_session(run, cameras=0)
    try:
        p = editable_parameter(session.model.objects[0])
        session.worker.edit(0, PARAM, p.name, (p.min + p.max) / 2 + 0.3 * (p.max - p.min))
        session.worker.edit(1, YAW, None, float(session.model.objects[1].yaw) + 0.7)
        saved = session.save_scene().result(60)
        exported = session.export_splats().result(60)
        shown = [s.centers.copy() for s in session.nodes.splats]
    finally:
        session.close()
        server.stop()
    assert saved == run / "edited" / "scene.json" and exported == run / "edited" / "splats.ply"
    doc = json.loads(saved.read_text())
    assert doc["schema"] == "procsplat-scene" and len(doc["objects"]) == 2

    assert main(["export", str(run), "--params", str(saved)]) == 0
    after = ply_means(run / "splats.ply")
    viewer_ply = ply_means(exported)
    assert after.shape == before.shape == viewer_ply.shape
    assert np.abs(after - before).max() > 1e-3  # the edits are in
    np.testing.assert_allclose(after, viewer_ply, atol=1e-5)
    n0 = len(shown[0])
    np.testing.assert_allclose(after[:n0], shown[0], atol=1e-5)  # and it is what the viewer showed
    np.testing.assert_allclose(after[n0:n0 + len(shown[1])], shown[1], atol=1e-5)


# -- in a real browser ---------------------------------------------------------------------------
VIEWPORT = {"width": 1100, "height": 750}
# The 3D view without viser's GUI panel (right, ~330 px) and its software-WebGL notice (top left).
SCENE_CLIP = {"x": 0, "y": 160, "width": VIEWPORT["width"] - 360, "height": VIEWPORT["height"] - 160}


def canvas_shot(page) -> np.ndarray:
    from io import BytesIO

    from PIL import Image

    return np.asarray(Image.open(BytesIO(page.screenshot(clip=SCENE_CLIP)))).astype(np.int16)


def wait_stable(page, timeout: float = 90.0) -> np.ndarray:
    """A screenshot equal to the one taken a moment before (the scene has finished loading/sorting)."""
    last, end = canvas_shot(page), time.time() + timeout
    while time.time() < end:
        time.sleep(1.0)
        shot = canvas_shot(page)
        if np.array_equal(shot, last):
            return shot
        last = shot
    raise AssertionError("the page never settled: consecutive screenshots keep changing")


@pytest.mark.slow
def test_browser_slider_reshapes_object(demo_run, tmp_path):
    """On the trained demo run (`procsplat train` defaults)."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian: apt-get install -y chromium)")
    from playwright import sync_api  # a dev dependency: missing it is an error, not a skip

    run = copy_run(demo_run, tmp_path / "run")
    p = most_visible_parameter(run)
    server, session = open_test_session(run)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        obj = session.model.objects[0]
        c0 = session.nodes.splats[0].centers.copy()
        v0 = session.nodes.meshes[0].vertices.copy()
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{server.get_port()}")
                label = page.locator("label", has_text=p.name).first
                label.wait_for(timeout=90_000)
                thumb = page.locator(f'[id="{label.get_attribute("for")}"] [role="slider"]')
                assert float(thumb.get_attribute("aria-valuenow")) == pytest.approx(obj.parameters_dict()[p.name])
                before = wait_stable(page)
                (ARTIFACTS / "viewer_before.png").write_bytes(page.screenshot())

                thumb.focus()
                page.keyboard.press("End")  # the slider's keyboard control: jump to the maximum
                deadline = time.time() + 60
                while time.time() < deadline and obj.parameters_dict()[p.name] != pytest.approx(p.max):
                    time.sleep(0.2)
                assert session.worker.wait_idle(60)
                assert obj.parameters_dict()[p.name] == pytest.approx(p.max), "the page's edit never reached the model"
                after = wait_stable(page)
                (ARTIFACTS / "viewer_after.png").write_bytes(page.screenshot())

                late = browser.new_page(viewport=VIEWPORT)  # a client connecting now gets the edited state
                late.goto(f"http://127.0.0.1:{server.get_port()}")
                late_label = late.locator("label", has_text=p.name).first
                late_label.wait_for(timeout=90_000)
                late_thumb = late.locator(f'[id="{late_label.get_attribute("for")}"] [role="slider"]')
                assert float(late_thumb.get_attribute("aria-valuenow")) == pytest.approx(p.max)
            finally:
                browser.close()
        assert np.abs(session.nodes.meshes[0].vertices - v0).max() > 1e-3
        assert np.abs(session.nodes.splats[0].centers - c0).max() > 1e-3
        changed = int((np.abs(after - before).sum(-1) > 24).sum())
        assert changed > 200, f"only {changed} pixels changed on the page"
    finally:
        session.close()
        server.stop()


@pytest.mark.slow
def test_training_view_follows_the_optimisation_then_edits_the_run(run_dir, tmp_path):
    """What `procsplat train --view` does: the view subscribes to the real Trainer (on_fit, on_step), then
    finish(run) reopens the run for editing."""
    from procsplat.data.config import SceneConfig
    from procsplat.fit.spec import ObjectSpec
    from procsplat.splat.init import InitConfig
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer
    from procsplat.view.training import TrainingView

    source = json.loads((run_dir / "scene.json").read_text())["source"]
    view = TrainingView(port=free_port(), environment_map=False, min_interval=0.0, cameras=0)
    seen = []

    class Check:  # runs after the view's own on_step, on the trainer's thread
        def on_step(self, trainer, loss):
            assert view.worker.wait_idle(60)
            with torch.no_grad():
                expect = trainer.model.anchored[1].world().means.numpy().astype(np.float32)
            np.testing.assert_allclose(view.nodes.splats[1].centers, expect, atol=1e-6)
            seen.append((trainer.step_count, loss))

    t = Trainer(TrainConfig(data=SceneConfig(scene=source, width=96, max_frames=8), out=tmp_path / "runs", fit="gt",
                            steps=3, init=InitConfig(max_gaussians_per_object=600, max_background=2000)),
                log=lambda *_: None, callbacks=[view, Check()])
    try:
        view.on_fit(ObjectSpec(7, "chair", str(PROGRAMS / "chair.json"), {}, 0.5, [0.0, 0.0, 0.0], 1.2),
                    {"loss": 0.25})
        assert view.worker.wait_idle(60)
        assert list(view._fit_nodes) == ["/fit/7_chair"]
        t.train(progress=False)
        assert [k for k, _ in seen] == [1, 2, 3]
        assert view.bar.value == 100.0 and "step 3 / 3" in view.stats.content
        assert view._fit_nodes == {}  # the trained objects replaced the search's shapes

        view.finish(run_dir)
        session = view.session
        assert len(session.nodes.names) == 2 and session.nodes.names[0].startswith("/objects/1_")
        assert not session.controls[0].yaw.disabled
    finally:
        view.close()
