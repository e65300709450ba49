"""`procsplat view RUN_DIR`: a viser server to inspect and edit a finished run.

Scene nodes (names are paths):  /background/splats, /objects/<id>_<category>/splats and /mesh,
/cameras/frame_<n> (frustums with thumbnails, when the scan is readable here), /floor.
The GUI has display toggles, one folder per object (a control per program parameter, yaw,
position, reset) and buttons that save the edited scene.json and export splats.ply into
<run>/edited/. `procsplat export RUN --params <run>/edited/scene.json` reproduces those splats.
With --boxes, the box editor on the run's scan as well (`procsplat.view.run_boxes`).
"""
from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from procsplat.view.config import ViewConfig
from procsplat.view.gui import add_object_folder, sync_controls, update_active
from procsplat.run.rundir import RunInfo, edit_object, load_run
from procsplat.view.scene_nodes import SceneNodes, evaluate_object, open_scan
from procsplat.view.worker import EditWorker

EDITED_DIR = "edited"


def start_server(host: str, port: int, environment_map: bool = True):
    import viser

    # viser's default host is 0.0.0.0: always pass ours.
    server = viser.ViserServer(host=host, port=port, verbose=False)
    server.scene.set_up_direction("+z")
    if not environment_map:
        server.scene.configure_environment_map(None)
    return server


def all_means(model) -> np.ndarray:
    with torch.no_grad():
        g, _ = model.gaussians()
        return g.means.detach().numpy()


def aim_initial_camera(server, pts: np.ndarray) -> None:
    """Every client starts looking at the scene from above one corner."""
    if len(pts) == 0:
        return
    lo, hi = np.percentile(pts, 2, axis=0), np.percentile(pts, 98, axis=0)
    center = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo)) / 2 + 0.5
    server.initial_camera.look_at = tuple(float(x) for x in center)
    server.initial_camera.position = tuple(float(x) for x in center + np.array([0.55, -0.65, 0.55]) * radius)


class ViewerSession:
    """A run's model on a viser server. After construction only `worker`'s thread touches the model."""

    def __init__(self, server, model, info: RunInfo, cameras: int = 8, title: str = ""):
        self.server, self.model, self.info = server, model, info
        self.initial_specs = copy.deepcopy(model.current_specs())
        self.status = None
        self.editor = None  # a BoxEditor on the run's scan (`procsplat view RUN --boxes`)
        self.nodes = SceneNodes.from_model(server, model)
        self.floor_z = None
        self.camera_note = ""
        scan = None
        if cameras > 0:
            scan, self.camera_note = open_scan(info.source, info.run)
        self.floor_z = self.nodes.add_floor(all_means(model), scan.floor_height if scan is not None else None)
        if scan is not None:
            self.nodes.add_cameras(scan, count=cameras)
        aim_initial_camera(server, all_means(model))
        self.worker = EditWorker(model, self._publish, self._report)
        self._build_gui(title or f"procsplat · {info.scene_name}")

    # -- GUI ---------------------------------------------------------------------------------
    def _build_gui(self, title: str) -> None:
        gui = self.server.gui
        n = sum(len(a.face) for a in self.model.anchored)
        nb = 0 if self.model.background is None else len(self.model.background.means)
        gui.add_markdown(f"**{title}**  \n{len(self.model.objects)} objects, {n} anchored + {nb} background "
                         f"Gaussians  \nrun `{self.info.run}`")
        self.status = gui.add_markdown("ready" + (f"  \ncameras: {self.camera_note}" if self.camera_note else ""))
        with gui.add_folder("display"):
            show_obj = gui.add_checkbox("object splats", True)
            show_bg = gui.add_checkbox("background splats", True)
            show_mesh = gui.add_checkbox("procedural meshes", True)
            wire = gui.add_checkbox("wireframe", False)
            show_cams = gui.add_checkbox("cameras", True)
        show_obj.on_update(lambda _e: self.nodes.set_splats_visible(show_obj.value, show_bg.value))
        show_bg.on_update(lambda _e: self.nodes.set_splats_visible(show_obj.value, show_bg.value))
        show_mesh.on_update(lambda _e: self.nodes.set_mesh_style(show_mesh.value, wire.value))
        wire.on_update(lambda _e: self.nodes.set_mesh_style(show_mesh.value, wire.value))
        show_cams.on_update(lambda _e: self.nodes.set_cameras_visible(show_cams.value))
        with gui.add_folder("edits"):
            gui.add_markdown(f"Outputs go to `{self.info.run / EDITED_DIR}`; "
                             f"`procsplat export {self.info.run} --params .../scene.json` reproduces them.")
            gui.add_button("reset all").on_click(lambda _e: self.reset())
            gui.add_button("save edited scene.json").on_click(lambda _e: self.save_scene())
            gui.add_button("export splats.ply").on_click(lambda _e: self.export_splats())
        self.controls = [add_object_folder(gui, k, obj, spec.program, self.worker, True, on_reset=self.reset)
                         for k, (obj, spec) in enumerate(zip(self.model.objects, self.model.specs))]

    def _report(self, text: str) -> None:
        if self.status is not None:
            self.status.content = text

    # -- worker-thread work ------------------------------------------------------------------
    def _publish(self, indices: list) -> None:
        for k in indices:
            v, t, arrays = evaluate_object(self.model, k)
            self.nodes.update_object(k, v, t, arrays)
            update_active(self.controls[k], self.model.objects[k], True)

    def reset(self, indices: Optional[list] = None):
        """Back to the run's values (all objects, or the given indices); returns a Future."""
        def reset_objects(model):
            ks = range(len(model.objects)) if indices is None else indices
            for k in ks:
                spec = self.initial_specs[k]
                edit_object(model.objects[k], spec.parameters,
                            {"yaw": spec.yaw, "translation": spec.translation, "scale": spec.scale},
                            anchored=model.anchored[k])
            self._publish(list(ks))
            for k in ks:
                sync_controls(self.controls[k], model.objects[k], True)
            self._report(f"reset {len(ks)} object(s)")
        return self.worker.call(reset_objects)

    def save_scene(self, path: Optional[Path] = None):
        """Write the edited scene document (export.scene_document's schema); Future of its path."""
        from procsplat.run.rundir import scene_document, write_json

        path = Path(path) if path is not None else self.info.run / EDITED_DIR / "scene.json"

        def save(model):
            write_json(path, scene_document(model, self.info.scene_name, self.info.source))
            self._report(f"saved `{path}`")
            return path
        return self.worker.call(save)

    def export_splats(self, path: Optional[Path] = None):
        """Write the edited model's splats (standard 3DGS .ply); Future of its path."""
        from procsplat.run.export import write_splats

        path = Path(path) if path is not None else self.info.run / EDITED_DIR / "splats.ply"

        def export(model):
            n = write_splats(path, model)
            self._report(f"exported {n} Gaussians to `{path}`")
            return path
        return self.worker.call(export)

    def close(self) -> None:
        if self.editor is not None:
            self.editor.close()
        self.worker.stop()


def open_session(cfg: ViewConfig):
    """(server, session) for a run: refuses a missing/incomplete run (RunDirError) before binding a port."""
    info, model = load_run(cfg.run)
    server = start_server(cfg.host, cfg.port, cfg.environment_map)
    try:
        session = ViewerSession(server, model, info, cameras=cfg.cameras)
        if cfg.boxes:
            from procsplat.view.run_boxes import attach_box_editor

            try:
                session.editor = attach_box_editor(session, cfg.ga, cfg.boxes_out)
            except BaseException:
                session.close()
                raise
    except BaseException:
        server.stop()
        raise
    return server, session


def serve_until_stopped(stop: Optional[threading.Event], close) -> None:
    """Block until Ctrl-C (or `stop` is set), then call `close()`."""
    try:
        while not (stop is not None and stop.is_set()):
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        close()


def run_view(cfg: ViewConfig, stop: Optional[threading.Event] = None) -> int:
    server, session = open_session(cfg)
    print(f"procsplat view: {session.info.run} at http://{cfg.host}:{server.get_port()} (Ctrl-C to stop)", flush=True)

    def close():
        session.close()
        server.stop()

    serve_until_stopped(stop, close)
    return 0


