"""`procsplat train --view`: the viewer while training runs, then the editable viewer of the finished run.

During training the trainer's thread owns the model. `update_from_model` takes a detached copy
of what is drawn (meshes and Gaussians) on that thread -- a few milliseconds, at most every
`min_interval` seconds -- and the viewer's own thread converts and sends it, keeping only the
newest copy when the browser side falls behind. Nothing is editable until `finish(run)` reopens
the exported run in a `ViewerSession`, whose worker then owns a fresh model.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from procsplat.view.convert import mesh_arrays, object_node, splat_arrays
from procsplat.view.scene_nodes import SceneNodes
from procsplat.view.server import ViewerSession, aim_initial_camera, start_server
from procsplat.view.worker import EditWorker


class TrainingView:
    def __init__(self, port: int = 8080, host: str = "127.0.0.1", environment_map: bool = True,
                 min_interval: float = 0.5, cameras: int = 8):
        self.server = start_server(host, port, environment_map)
        self.min_interval, self.cameras = min_interval, cameras
        self.nodes: Optional[SceneNodes] = None
        self.session: Optional[ViewerSession] = None
        self._lock = threading.Lock()
        self._latest = None  # newest snapshot not yet sent
        self._last = 0.0
        self._fit_nodes: dict = {}
        self.updates_sent = 0
        # The viewer's thread: conversion and sending happen here, never on the trainer's thread.
        self.worker = EditWorker(None, lambda _indices: None, self._report)
        self._build_gui()
        print(f"procsplat train: viewer at http://{host}:{self.server.get_port()}", flush=True)

    @staticmethod
    def from_train_config(cfg) -> "TrainingView":
        return TrainingView(port=cfg.port, host=getattr(cfg, "host", "127.0.0.1"))

    def _build_gui(self) -> None:
        gui = self.server.gui
        gui.add_markdown("**procsplat · training**")
        with gui.add_folder("progress"):
            self.stage = gui.add_markdown("starting")
            self.bar = gui.add_progress_bar(0.0, animated=True)
            self.stats = gui.add_markdown("")

    def _report(self, text: str) -> None:
        self.stage.content = text

    def set_stage(self, text: str) -> None:
        """A line in the progress panel (e.g. 'fitting programs', 'exporting')."""
        self._report(text)

    # -- trainer callbacks (`Trainer.callbacks`) -------------------------------------------------------
    def on_fit(self, spec, doc: dict) -> None:
        self.show_fit_candidate(spec.instance_id, spec.category, spec.program, spec.parameters, spec.yaw,
                                spec.translation, doc.get("loss"), spec.scale)

    def on_step(self, trainer, loss: float) -> None:
        self.update_from_model(trainer.model, trainer.step_count, loss, trainer.cfg.steps)

    # -- the GA's current best shape ------------------------------------------------------------
    def show_fit_candidate(self, instance_id: int, category: str, program, parameters: dict, yaw: float,
                           translation, score: Optional[float] = None, scale: float = 1.0) -> None:
        """Draw (or move) the fitted shape of one object while the search runs: a mesh under /fit/."""
        def draw(_model):
            from geonodes import load_program
            from procsplat.geometry import object_to_world

            prog = load_program(program) if isinstance(program, (str, Path)) else program
            with torch.no_grad():
                m = prog.evaluate_one(parameters, dtype=torch.float64)
                v = object_to_world(m.vertices, yaw, translation, scale)
            verts, tris = mesh_arrays((v, m.triangles, None))
            name = "/fit" + object_node(instance_id, category, str(program))[len("/objects"):]
            old = self._fit_nodes.pop(name, None)
            if old is not None:
                old.remove()
            self._fit_nodes[name] = self.server.scene.add_mesh_simple(name, verts, tris, color=(255, 160, 60),
                                                                     opacity=0.7, side="double")
            if score is not None:
                self._report(f"fitting: object {instance_id} best score {score:.4g}")
        self.worker.call(draw)

    # -- training steps -------------------------------------------------------------------------
    def update_from_model(self, model, step: int, loss: float, total_steps: Optional[int] = None) -> bool:
        """Show the model as it optimises (called on the trainer's thread); False when throttled."""
        now = time.monotonic()
        final = total_steps is not None and step >= total_steps
        if not final and now - self._last < self.min_interval:
            return False
        self._last = now
        with torch.no_grad():
            objects = []
            for o, a, s in zip(model.objects, model.anchored, model.specs):
                v, t, p = o.mesh()
                mesh = (v.detach().clone(), t.clone(), p)
                g = a.world(mesh)
                objects.append((object_node(o.instance_id, o.category, s.program), mesh,
                                type(g)(*(x.detach().clone() for x in vars(g).values()))))
            bg = None
            if model.background is not None and len(model.background.means):
                g = model.background.world()
                bg = type(g)(*(x.detach().clone() for x in vars(g).values()))
        with self._lock:
            pending = self._latest is not None
            self._latest = (step, float(loss), total_steps, objects, bg)
        if not pending:
            self.worker.call(self._send)
        return True

    def _send(self, _model) -> None:
        with self._lock:
            snapshot, self._latest = self._latest, None
        if snapshot is None:
            return
        step, loss, total, objects, bg = snapshot
        first = self.nodes is None
        if first:
            self.nodes = SceneNodes(self.server)
        with self.server.atomic():
            if bg is not None:
                self.nodes.set_background(splat_arrays(bg))
            for k, (name, mesh, g) in enumerate(objects):
                v, t = mesh_arrays(mesh)
                if k < len(self.nodes.names):
                    self.nodes.update_object(k, v, t, splat_arrays(g))
                else:
                    self.nodes.add_object(name, v, t, splat_arrays(g))
        if first:
            pts = np.concatenate([g.means.numpy() for _, _, g in objects] + ([bg.means.numpy()] if bg else []))
            if len(pts):
                self.nodes.add_floor(pts, None)
                aim_initial_camera(self.server, pts)
            for node in self._fit_nodes.values():  # the search is over: the trained objects replace its shapes
                node.remove()
            self._fit_nodes.clear()
        self.updates_sent += 1
        self._report("training")
        self.stats.content = f"step {step}" + (f" / {total}" if total else "") + f"  \nloss {loss:.4f}"
        if total:
            self.bar.value = min(100.0, 100.0 * step / total)

    # -- after training ----------------------------------------------------------------------------
    def finish(self, run) -> "TrainingView":
        """Reopen the exported run as the editable viewer (same server, same clients)."""
        from procsplat.run.rundir import load_run

        self.worker.wait_idle(60)
        self.worker.stop()
        info, model = load_run(run)
        self.server.scene.reset()
        self.server.gui.reset()
        self.session = ViewerSession(self.server, model, info, cameras=self.cameras,
                                     title=f"procsplat · {info.scene_name} (trained)")
        return self

    def wait(self, stop: Optional[threading.Event] = None) -> None:
        """Serve until Ctrl-C (or `stop` is set), then shut down."""
        from procsplat.view.server import serve_until_stopped

        serve_until_stopped(stop, self.close)

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        self.worker.stop()
        self.server.stop()
