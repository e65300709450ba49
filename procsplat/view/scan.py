"""`procsplat view --scene PATH`: a scan (no run yet) in the browser, to place boxes and fit programs into them.

Scene nodes: /scan/points (the depth frames back-projected, coloured, subsampled), /cameras/frame_<n>
(frustums with thumbnails), /floor, /boxes/box_<id> (gizmo; /solid and /wire, the box) and
/fitted/box_<id>/mesh (the program fitted into it). The world is the scan's as `procsplat fit` and
`procsplat train` open it with the same flags (--width, --max-frames, --up, ...): +Z up, floor at
z = 0 where the up was estimated, so the saved boxes are where those commands put the objects.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np

from procsplat.view.boxes import BoxEditor
from procsplat.view.scene_nodes import SceneNodes

POINT_SIZE = 0.012


def scan_points(scene, max_points: int = 150_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(points (N,3) float32 in the world frame, colours (N,3) uint8): every frame's valid depth pixels
    back-projected, at most `max_points` of them (an even random subsample)."""
    from procsplat.geometry import backproject

    frames = scene.frames
    n = len(frames)
    if n == 0:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint8)
    first = frames[0]
    step = max(1, int(np.sqrt(first.width * first.height * n / max(1, 4 * max_points))))  # ~4x the points kept
    pts, cols = [], []
    for i in range(n):
        f = frames[i]
        world, rows, cc = backproject(f.depth, f.K, f.cam_to_world, step=step, return_pixels=True)
        pts.append(world.astype(np.float32))
        cols.append(f.rgb[rows, cc])
    P, C = np.concatenate(pts), np.concatenate(cols)
    if len(P) > max_points:
        keep = np.sort(np.random.default_rng(seed).choice(len(P), max_points, replace=False))
        P, C = P[keep], C[keep]
    return P, C.astype(np.uint8)


class ScanSession:
    """A scan on a viser server with a `BoxEditor` (`editor`): its boxes, fits and the saved boxes file."""

    def __init__(self, server, scene, ga, scene_arg: str = "", boxes=(), margin: Optional[float] = None,
                 save_path: Path = Path("boxes.json"), cameras: int = 8, max_points: int = 150_000):
        from procsplat.data.boxes import DEFAULT_MARGIN
        from procsplat.view.server import aim_initial_camera

        self.server, self.scene = server, scene
        self.nodes = SceneNodes(server)
        pts, cols = scan_points(scene, max_points)
        self.points = server.scene.add_point_cloud("/scan/points", pts, cols, point_size=POINT_SIZE,
                                                   point_shape="rounded")
        self.nodes.add_floor(pts, scene.floor_height)
        if cameras > 0:
            self.nodes.add_cameras(scene, count=cameras)
        aim_initial_camera(server, pts)
        gui = server.gui
        gui.add_markdown(f"**procsplat · {scene.name}**  \n{len(scene.frames)} frames, {len(pts)} points shown  \n"
                         f"scan `{scene_arg or scene.source}`")
        self.status = gui.add_markdown("ready: **Add box** around an object, then **Fit**")
        with gui.add_folder("display"):
            show_points = gui.add_checkbox("scan points", True)
            show_cams = gui.add_checkbox("cameras", True)
            size = gui.add_slider("point size (m)", min=0.002, max=0.05, step=0.001, initial_value=POINT_SIZE)
        show_points.on_update(lambda _e: setattr(self.points, "visible", show_points.value))
        show_cams.on_update(lambda _e: self.nodes.set_cameras_visible(show_cams.value))
        size.on_update(lambda _e: setattr(self.points, "point_size", size.value))
        self.editor = BoxEditor(server, scene, ga, save_path=save_path,
                                margin=DEFAULT_MARGIN if margin is None else margin, report=self._report,
                                scene_arg=scene_arg)
        for b in boxes:
            self.editor.add_box(b.category, b.center, b.size, b.yaw, box_id=b.id)
        if boxes:
            self._report(f"{len(boxes)} box(es) from `{save_path}`: **Fit** one, move it, or add more")

    def _report(self, text: str) -> None:
        self.status.content = text

    def close(self) -> None:
        self.editor.close()


def open_scan_session(cfg):
    """(server, ScanSession) for `procsplat view --scene` (a ViewConfig): the scan is opened, and the boxes of
    --objects-from read, before a port is bound, so a bad scan or boxes file is refused first."""
    from procsplat.data.boxes import read_boxes
    from procsplat.data.categories import program_for
    from procsplat.data.config import open_scene
    from procsplat.view.server import start_server

    scene, path = open_scene(replace(cfg.data, objects_from=None))
    boxes, margin = [], None
    if cfg.data.objects_from is not None:
        boxes, margin = read_boxes(cfg.data.objects_from)
        boxes = [replace(b, category=program_for(b.category)) for b in boxes]  # the GUI lists program names
    save_path = cfg.boxes_out or cfg.data.objects_from or Path("boxes.json")
    server = start_server(cfg.host, cfg.port, cfg.environment_map)
    try:
        session = ScanSession(server, scene, cfg.ga, scene_arg=cfg.data.scene or str(path), boxes=boxes,
                              margin=margin, save_path=save_path, cameras=cfg.cameras, max_points=cfg.points)
    except BaseException:
        server.stop()
        raise
    return server, session


def run_scan_view(cfg, stop=None) -> int:
    from procsplat.view.server import serve_until_stopped

    server, session = open_scan_session(cfg)
    print(f"procsplat view: {session.scene.name} at http://{cfg.host}:{server.get_port()}: Add box, Fit, Save boxes "
          "(Ctrl-C to stop)", flush=True)

    def close():
        session.close()
        server.stop()

    serve_until_stopped(stop, close)
    return 0
