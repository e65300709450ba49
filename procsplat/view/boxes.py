"""Boxes placed on a scan in the viewer, programs fitted into them, and the boxes file they make.

The GUI half of `--objects-from boxes.json` (`procsplat.data.boxes`): "Add box" puts an oriented
box on the scan -- a transform gizmo whose child nodes are the box (translucent faces and a
wireframe), turned about +Z only (any tilt a drag gives is projected back to a yaw) -- and a folder
with its category (the programs of `procsplat/data/categories.py`), centre, size and yaw. "Fit"
runs `procsplat.fit.scene.fit_boxes`, the path `procsplat fit --objects-from` takes (the boxes
become the scene's objects and masks, then `fit_scene`'s GA), on a background thread with the GA's
generations as progress, then shows the fitted program's mesh with a control per parameter.
"Save boxes" writes the file `procsplat train --scene S --objects-from FILE` reads.

Threads: viser's callbacks only change box state (under a lock) and post work. Fits run one at a
time on `fit_worker` (the only thread that touches the scan's masks after start-up); the fitted
objects belong to `edit_worker` (an `EditWorker`, as in the run viewer), whose thread applies
parameter edits and re-evaluates meshes.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import numpy as np
import torch

from procsplat.data.boxes import DEFAULT_MARGIN, Box, write_boxes
from procsplat.data.categories import SYNONYMS
from procsplat.view.convert import mesh_arrays
from procsplat.view.gui import add_object_folder, sync_controls, update_active
from procsplat.view.worker import EditWorker

CATEGORIES = list(SYNONYMS)  # the program names; a box's category is one of them
# A new box's size per category (metres: x, y, z), a typical piece of furniture to start from.
TYPICAL_SIZE = {"chair": (0.5, 0.5, 0.9), "table": (1.2, 0.8, 0.75), "desk": (1.2, 0.6, 0.75),
                "sofa": (1.9, 0.9, 0.85), "cabinet": (0.8, 0.5, 1.0), "nightstand": (0.5, 0.4, 0.55),
                "bed": (2.0, 1.5, 0.6), "bookshelf": (0.8, 0.3, 1.8), "trash_bin": (0.35, 0.35, 0.5),
                "toilet": (0.4, 0.65, 0.75), "floor_lamp": (0.45, 0.45, 1.6), "round_table": (0.9, 0.9, 0.74)}
BOX_COLOR, FIT_COLOR = (255, 170, 40), (90, 200, 255)
MIN_SIZE = 0.05


def yaw_of(wxyz) -> float:
    """The rotation about +Z of a quaternion (its x axis projected on the floor plane)."""
    w, x, y, z = (float(a) for a in wxyz)
    return math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def yaw_quaternion(yaw: float) -> tuple:
    return (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))


@dataclass
class PlacedBox:
    """One box in the editor: its state (what `box()` returns) and the handles that show it."""

    id: int
    category: str
    center: tuple
    size: tuple
    yaw: float = 0.0
    gizmo: object = None
    solid: object = None
    wire: object = None
    folder: object = None
    gui: dict = field(default_factory=dict)
    fit: Optional[dict] = None  # the last fit's document (procsplat fit's object_NNN.json)

    def box(self) -> Box:
        return Box(self.id, self.category, tuple(float(x) for x in self.center),
                   tuple(float(x) for x in self.size), float(self.yaw))

    @property
    def node(self) -> str:
        return f"/boxes/box_{self.id}"


class BoxEditor:
    """Boxes on a scan (`scene`, a procsplat Scene in the world frame the viewer draws) and their fits."""

    def __init__(self, server, scene, ga, save_path: Path = Path("boxes.json"), margin: float = DEFAULT_MARGIN,
                 report=print, scene_arg: str = ""):
        self.server, self.scene, self.ga, self.margin = server, scene, ga, float(margin)
        self.save_path, self.scene_arg = Path(save_path), scene_arg or str(getattr(scene, "source", ""))
        self._report = report
        self._lock = threading.RLock()
        self.boxes: dict[int, PlacedBox] = {}
        self.fitted = SimpleNamespace(objects={})  # box id -> ProceduralObject (owned by edit_worker)
        self.meshes: dict = {}  # box id -> mesh handle of its fitted program
        self.controls: dict = {}  # box id -> ObjectControls of its fitted program
        self.edit_worker = EditWorker(self.fitted, self._publish, report)
        self.fit_worker = EditWorker(None, lambda _: None, report)
        self._build_gui()

    # -- GUI -----------------------------------------------------------------------------------
    def _build_gui(self) -> None:
        gui = self.server.gui
        with gui.add_folder("boxes"):
            gui.add_markdown("Place a box around an object, pick its category, then **Fit** a program into it. "
                             "Drag the gizmo to move it, its blue ring to turn it.")
            self.new_category = gui.add_dropdown("category", options=CATEGORIES, initial_value="chair")
            self.add_button = gui.add_button("Add box", icon="box")
            self.add_button.on_click(lambda e: self.add_box(self.new_category.value, near=self._look_at(e.client)))
            self.fit_all_button = gui.add_button("Fit all boxes", icon="wand")
            self.fit_all_button.on_click(lambda _e: self.fit_all())
            self.progress = gui.add_progress_bar(0.0, visible=False)
            self.path_input = gui.add_text("boxes file", initial_value=str(self.save_path))
            self.save_button = gui.add_button("Save boxes", icon="device-floppy")
            self.save_button.on_click(lambda _e: self._save_clicked())

    def _look_at(self, client) -> Optional[np.ndarray]:
        try:
            return None if client is None else np.asarray(client.camera.look_at, np.float64)
        except Exception:  # noqa: BLE001 - a client without a camera yet: the default place
            return None

    def _save_clicked(self) -> None:
        try:
            self.save(Path(self.path_input.value))
        except Exception as e:  # noqa: BLE001 - shown, the viewer goes on
            self._report(f"save boxes: {e}")

    # -- boxes (any thread) ---------------------------------------------------------------------
    def add_box(self, category: str = "chair", center=None, size=None, yaw: float = 0.0, near=None,
                box_id: Optional[int] = None) -> int:
        """Place a box; returns its id. Default centre: on the floor below `near` (the clicking client's
        look-at point) or the scan's centre; default size: a typical one of the category."""
        if category not in TYPICAL_SIZE:
            raise ValueError(f"category {category!r}: not one of {', '.join(CATEGORIES)}")
        size = tuple(float(x) for x in (size if size is not None else TYPICAL_SIZE[category]))
        if center is None:
            lo, hi = (np.asarray(b, np.float64) for b in self.scene.bounds)
            xy = (lo[:2] + hi[:2]) / 2 if near is None else np.asarray(near, np.float64)[:2]
            center = (float(xy[0]), float(xy[1]), float(self.scene.floor_height) + size[2] / 2)
        with self._lock:
            box_id = box_id if box_id is not None else max(self.boxes, default=0) + 1
            if box_id in self.boxes:
                raise ValueError(f"box id {box_id} is taken")
            b = PlacedBox(box_id, category, tuple(float(x) for x in center), size, float(yaw))
            self.boxes[box_id] = b
            self._draw(b)
        self._report(f"box {box_id}: {category} added")
        return box_id

    def set_box(self, box_id: int, category: Optional[str] = None, center=None, size=None,
                yaw: Optional[float] = None) -> None:
        """Change a box (what its GUI controls and gizmo do) and show it."""
        with self._lock:
            b = self.boxes[box_id]
            if category is not None:
                if category not in TYPICAL_SIZE:
                    raise ValueError(f"category {category!r}: not one of {', '.join(CATEGORIES)}")
                b.category = category
            if center is not None:
                b.center = tuple(float(x) for x in center)
            if size is not None:
                b.size = tuple(max(MIN_SIZE, float(x)) for x in size)
            if yaw is not None:
                b.yaw = math.atan2(math.sin(yaw), math.cos(yaw))
            self._sync(b)

    def remove_box(self, box_id: int) -> None:
        with self._lock:
            b = self.boxes.pop(box_id)
            b.gizmo.remove()  # its children (the box) go with it
            b.folder.remove()

        def drop(model):
            if box_id in model.objects:
                del model.objects[box_id]
                self.meshes.pop(box_id).remove()
                self.controls.pop(box_id)
        self.edit_worker.call(drop)
        self._report(f"box {box_id} removed")

    def current_boxes(self) -> list[Box]:
        with self._lock:
            return [b.box() for b in sorted(self.boxes.values(), key=lambda b: b.id)]

    def save(self, path: Optional[Path] = None) -> Path:
        """Write the boxes file (`procsplat.data.boxes.write_boxes`: the format `--objects-from` reads, atomically)."""
        path = write_boxes(Path(path) if path is not None else self.save_path, self.current_boxes(), self.margin)
        self._report(f"saved {len(self.boxes)} box(es) to `{path}`  \n`procsplat train --scene {self.scene_arg} "
                     f"--objects-from {path}`")
        return path

    # -- drawing --------------------------------------------------------------------------------
    def _draw(self, b: PlacedBox) -> None:
        scene, gui = self.server.scene, self.server.gui
        b.gizmo = scene.add_transform_controls(b.node, scale=max(0.3, 0.6 * max(b.size)), active_axes=(True, True, True),
                                               position=b.center, wxyz=yaw_quaternion(b.yaw))
        b.solid = scene.add_box(f"{b.node}/solid", color=BOX_COLOR, dimensions=b.size, opacity=0.15,
                                cast_shadow=False, receive_shadow=False)
        b.wire = scene.add_box(f"{b.node}/wire", color=BOX_COLOR, dimensions=b.size, wireframe=True)
        b.gizmo.on_update(lambda e, b=b: self._gizmo_moved(b, e))
        with gui.add_folder(f"box {b.id}", expand_by_default=True) as b.folder:
            g = b.gui
            g["category"] = gui.add_dropdown("category", options=CATEGORIES, initial_value=b.category)
            g["center"] = gui.add_vector3("center (m)", initial_value=b.center, step=0.01)
            g["size"] = gui.add_vector3("size (m)", initial_value=b.size, min=(MIN_SIZE,) * 3, step=0.01)
            g["yaw"] = gui.add_number("yaw (deg)", initial_value=round(math.degrees(b.yaw), 2), step=1.0)
            g["fit"] = gui.add_button("Fit", icon="wand")
            g["remove"] = gui.add_button("Remove box", icon="trash")
        g["category"].on_update(self._from_client(b, lambda: {"category": g["category"].value}))
        g["center"].on_update(self._from_client(b, lambda: {"center": g["center"].value}))
        g["size"].on_update(self._from_client(b, lambda: {"size": g["size"].value}))
        g["yaw"].on_update(self._from_client(b, lambda: {"yaw": math.radians(g["yaw"].value)}))
        g["fit"].on_click(lambda _e, i=b.id: self.fit(i))
        g["remove"].on_click(lambda _e, i=b.id: self.remove_box(i))

    def _from_client(self, b: PlacedBox, read):
        def callback(event) -> None:
            if event.client is None:  # our own update of the control (_sync): nothing to do
                return
            try:
                self.set_box(b.id, **read())
            except (KeyError, ValueError) as e:  # a removed box, an odd value
                self._report(str(e))
        return callback

    def _gizmo_moved(self, b: PlacedBox, _event) -> None:
        with self._lock:
            if b.id not in self.boxes:
                return
            yaw = yaw_of(b.gizmo.wxyz)
            self.set_box(b.id, center=tuple(b.gizmo.position), yaw=yaw)

    def _sync(self, b: PlacedBox) -> None:
        """Show a box's state on its nodes and controls (only what differs, so no echo reaches a dragging client)."""
        with self.server.atomic():
            if not np.allclose(b.gizmo.position, b.center):
                b.gizmo.position = b.center
            q = yaw_quaternion(b.yaw)
            if not np.allclose(b.gizmo.wxyz, q, atol=1e-6):  # also undoes any tilt: the box turns about +Z only
                b.gizmo.wxyz = q
            for node in (b.solid, b.wire):
                if not np.allclose(node.dimensions, b.size):
                    node.dimensions = b.size
        g = b.gui
        for name, value in (("category", b.category), ("center", b.center), ("size", b.size),
                            ("yaw", round(math.degrees(b.yaw), 2))):
            old = g[name].value
            same = old == value if isinstance(value, str) else np.allclose(old, value, atol=1e-4)
            if not same:
                g[name].value = value

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, box_id: int) -> Future:
        """Fit a program into one box on the background thread; a Future of its fit document (None when
        the box holds too little of the scan to fit, said in the status) that resolves once it is shown."""
        boxes = self.current_boxes()  # the state the click saw (every box: where boxes overlap the smallest wins)
        label = f"box {box_id}"
        if box_id not in {b.id for b in boxes}:
            raise KeyError(f"{label}: no such box")

        def run(_model):
            from procsplat.fit.scene import fit_boxes

            self._set_progress(0.0, f"{label}: selecting its pixels in {len(self.scene.frames)} frames")
            lines = []

            def generation(_id, done, total, loss):
                self._set_progress(100.0 * done / total, f"{label}: generation {done}/{total}, best loss {loss:.4g}"
                                   + (" (final refinement)" if done == total else ""))
            try:
                fitted = fit_boxes(self.scene, boxes, self.margin, self.ga, objects=(box_id,), log=lines.append,
                                   progress=False, on_generation=generation)
            finally:
                self.progress.visible = False
            if not fitted:
                self._report(f"{label}: not fitted: " + (lines[-1] if lines else "nothing to fit"))
                return None
            spec, doc = fitted[0]
            self.edit_worker.call(lambda model: self._show_fit(model, spec, doc)).result()
            with self._lock:
                if box_id in self.boxes:
                    self.boxes[box_id].fit = doc
            self._report(f"{label}: fitted `{spec.program}`, loss {doc['loss']:.4g} in {doc['seconds']:.1f} s")
            return doc
        run.__name__ = f"fit {label}"
        self._set_progress(0.0, f"{label}: waiting for the fit before it" if not self.fit_worker.wait_idle(0)
                           else f"{label}: starting")
        return self.fit_worker.call(run)

    def fit_all(self) -> list:
        """Fit every box, one after the other (Futures in id order)."""
        return [self.fit(b.id) for b in self.current_boxes()]

    def _set_progress(self, value: float, text: str) -> None:
        self.progress.visible = True
        self.progress.value = value
        self._report(text)

    def _show_fit(self, model, spec, doc) -> None:
        """On the edit worker: the fitted program as an editable object (replacing the box's last fit)."""
        from geonodes import load_program
        from procsplat.splat.model import ProceduralObject

        box_id = spec.instance_id
        obj = ProceduralObject(load_program(spec.program), spec.parameters, spec.yaw, spec.translation, spec.scale,
                               instance_id=box_id, category=spec.category)
        if box_id in model.objects:
            self.meshes.pop(box_id).remove()
            self.controls.pop(box_id).folder.remove()
        model.objects[box_id] = obj
        v, t = self._mesh(obj)
        self.meshes[box_id] = self.server.scene.add_mesh_simple(f"/fitted/box_{box_id}/mesh", v, t, color=FIT_COLOR,
                                                               opacity=0.8, side="double")
        with self._lock:
            folder = self.boxes[box_id].folder if box_id in self.boxes else None
        if folder is not None:
            with folder:
                self.controls[box_id] = add_object_folder(self.server.gui, box_id, obj, spec.program,
                                                          self.edit_worker, True, expand=True)
        else:  # removed while it was fitted
            self.controls[box_id] = add_object_folder(self.server.gui, box_id, obj, spec.program, self.edit_worker,
                                                      True)
        sync_controls(self.controls[box_id], obj, True)

    @staticmethod
    def _mesh(obj) -> tuple:
        with torch.no_grad():
            return mesh_arrays(obj.mesh())

    def _publish(self, ids: list) -> None:
        """After parameter edits (edit worker): re-evaluate the changed objects' meshes."""
        for i in ids:
            obj = self.fitted.objects.get(i)
            if obj is None:
                continue
            v, t = self._mesh(obj)
            mesh = self.meshes[i]
            with self.server.atomic():
                if mesh.faces.shape != t.shape or not np.array_equal(mesh.faces, t):
                    mesh.faces = t
                mesh.vertices = v
            update_active(self.controls[i], obj, True)

    def close(self) -> None:
        self.fit_worker.stop()
        self.edit_worker.stop()
