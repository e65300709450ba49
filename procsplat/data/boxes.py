"""Objects given as oriented boxes (`--objects-from boxes.json`): procedural objects for any RGB-D scan,
without instance labels.

File format (JSON; the scene's world frame: metres, +Z up, the floor of an estimated-up scan at
z = 0, the frame of `procsplat fit`'s meshes, `scene.json` and the viewer):

    {"objects": [
        {"id": 1, "category": "chair", "center": [1.2, 0.4, 0.45], "size": [0.5, 0.55, 0.9], "yaw": 0.3},
        ...],
     "margin": 0.02}

- `category`: a scan label with a shape program (`procsplat/data/categories.py`: chair, table, desk,
  sofa, cabinet, nightstand, bed, bookshelf, trash bin, toilet and their synonyms).
- `center`: the box centre [x, y, z]; `size`: its full extent [sx, sy, sz] > 0 along its own x and y
  (after `yaw`) and along +Z; `yaw` (optional, default 0): radians about +Z, counter-clockwise.
- `id` (optional, default its position + 1): the instance id, an int >= 1, unique; output files are
  named by it (`object_NNN.json`).
- `margin` (optional, default 0.02 m): how far the box is grown sideways and upwards when selecting
  pixels (annotation slack).

A box's per-frame mask: the pixels whose back-projected depth point lies inside the box grown by
`margin` sideways and upwards, and at least `SUPPORT_CLEARANCE` (1 cm) above the higher of the
box's bottom and the floor, so the surface the object stands on is not part of it. Where boxes
overlap, a pixel belongs to the smallest box holding it. A bare list of objects is accepted too.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procsplat.data.categories import SYNONYMS, program_for
from procsplat.data.scene import Frame, MaskSource, MissingSceneFile, SceneObject, SceneReadError

SUPPORT_CLEARANCE = 0.01
DEFAULT_MARGIN = 0.02
_FIELDS = {"id", "category", "center", "size", "yaw"}


@dataclass(frozen=True)
class Box:
    """One object as an oriented box in the world frame."""

    id: int
    category: str
    center: tuple
    size: tuple
    yaw: float = 0.0

    def corners(self) -> np.ndarray:
        """(8, 3) world corners."""
        h = np.asarray(self.size, np.float64) / 2
        local = np.array([[x, y, z] for x in (-h[0], h[0]) for y in (-h[1], h[1]) for z in (-h[2], h[2])])
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        R = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return local @ R.T + np.asarray(self.center, np.float64)

    def contains(self, points: np.ndarray, margin: float, floor_height: float) -> np.ndarray:
        """(N,) bool: points inside the box grown by `margin` sideways and up, and more than
        SUPPORT_CLEARANCE above the higher of its bottom and the floor."""
        d = np.asarray(points, np.float64) - np.asarray(self.center, np.float64)
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
        hx, hy, hz = (np.asarray(self.size, np.float64) / 2).tolist()
        bottom = max(self.center[2] - hz, floor_height) + SUPPORT_CLEARANCE
        z = points[:, 2]
        return ((np.abs(u) <= hx + margin) & (np.abs(v) <= hy + margin) & (z >= bottom)
                & (z <= self.center[2] + hz + margin))


def _number_list(value, n: int, where: str, positive: bool = False) -> tuple:
    ok = (isinstance(value, list) and len(value) == n
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in value))
    if not ok:
        raise SceneReadError(f"{where}: expected a list of {n} finite numbers, got {json.dumps(value)}")
    if positive and any(x <= 0 for x in value):
        raise SceneReadError(f"{where}: sizes must be > 0 (metres), got {json.dumps(value)}")
    return tuple(float(x) for x in value)


def read_boxes(path) -> tuple[list[Box], float]:
    """(boxes, margin) of a boxes file; any problem is a SceneReadError naming the file and field."""
    path = Path(path)
    if not path.is_file():
        raise MissingSceneFile(f"{path}: objects file (--objects-from) not found")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SceneReadError(f"{path}: invalid JSON ({e})") from None
    margin = DEFAULT_MARGIN
    if isinstance(doc, dict):
        unknown = set(doc) - {"objects", "margin"}
        if unknown:
            raise SceneReadError(f"{path}: unknown top-level field(s) {sorted(unknown)} (allowed: objects, margin)")
        if "margin" in doc:
            margin = doc["margin"]
            if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin <= 0.5:
                raise SceneReadError(f"{path}: margin: expected metres in [0, 0.5], got {json.dumps(margin)}")
        if "objects" not in doc:
            raise SceneReadError(f"{path}: objects: field missing (a list of boxes)")
        items = doc["objects"]
    else:
        items = doc
    if not isinstance(items, list) or not items:
        raise SceneReadError(f"{path}: objects: expected a non-empty list of boxes, got {json.dumps(items)[:60]}")
    boxes, seen = [], {}
    for k, item in enumerate(items):
        where = f"{path}: objects[{k}]"
        if not isinstance(item, dict):
            raise SceneReadError(f"{where}: expected an object with category, center, size, "
                                 f"got {json.dumps(item)[:60]}")
        unknown = set(item) - _FIELDS
        if unknown:
            raise SceneReadError(f"{where}: unknown field(s) {sorted(unknown)} (allowed: {', '.join(sorted(_FIELDS))})")
        for name in ("category", "center", "size"):
            if name not in item:
                raise SceneReadError(f"{where}.{name}: field missing")
        category = item["category"]
        if not isinstance(category, str) or program_for(category) is None:
            raise SceneReadError(f"{where}.category: {json.dumps(category)} has no shape program (known: "
                                 f"{', '.join(SYNONYMS)} and synonyms in procsplat/data/categories.py)")
        center = _number_list(item["center"], 3, f"{where}.center")
        size = _number_list(item["size"], 3, f"{where}.size", positive=True)
        yaw = item.get("yaw", 0.0)
        if isinstance(yaw, bool) or not isinstance(yaw, (int, float)) or not math.isfinite(yaw):
            raise SceneReadError(f"{where}.yaw: expected radians (a finite number), got {json.dumps(yaw)}")
        ident = item.get("id", k + 1)
        if isinstance(ident, bool) or not isinstance(ident, int) or ident < 1:
            raise SceneReadError(f"{where}.id: expected an int >= 1, got {json.dumps(ident)}")
        if ident in seen:
            raise SceneReadError(f"{where}.id: {ident} is also objects[{seen[ident]}]'s id (ids must be unique)")
        seen[ident] = k
        boxes.append(Box(ident, category, center, size, float(yaw)))
    return boxes, float(margin)


def box_instance_masks(boxes: list[Box], floor_height, margin: float = DEFAULT_MARGIN):
    """Function Frame -> (H, W) int32 instance ids: each valid depth pixel whose world point lies in a
    box (`Box.contains`) gets that box's id, the smallest box's where several hold it.
    `floor_height` is a number or a function returning it (read at the first mask)."""
    order = sorted(boxes, key=lambda b: -float(np.prod(b.size)))  # largest first: smaller ones overwrite

    def compute(frame: Frame) -> np.ndarray:
        floor = floor_height() if callable(floor_height) else float(floor_height)
        out = np.zeros(frame.depth.shape, np.int32)
        rows, cols = np.nonzero(frame.depth > 0)
        if not len(rows):
            return out
        z = frame.depth[rows, cols].astype(np.float64)
        K = frame.K
        y = (rows + 0.5 - K[1, 2]) / K[1, 1] * z
        x = (cols + 0.5 - K[0, 2] - K[0, 1] * y / z) / K[0, 0] * z
        P = np.stack([x, y, z], 1) @ frame.cam_to_world[:3, :3].T + frame.cam_to_world[:3, 3]
        for box in order:
            inside = box.contains(P, margin, floor)
            out[rows[inside], cols[inside]] = box.id
        return out

    return compute


def boxes_document(boxes: list[Box], margin: float = DEFAULT_MARGIN) -> dict:
    """The document `read_boxes` reads back as (boxes, margin)."""
    return {"objects": [{"id": int(b.id), "category": b.category, "center": [float(x) for x in b.center],
                         "size": [float(x) for x in b.size], "yaw": float(b.yaw)} for b in boxes],
            "margin": float(margin)}


def write_boxes(path, boxes: list[Box], margin: float = DEFAULT_MARGIN) -> Path:
    """Write a boxes file (`--objects-from`) atomically: a reader never sees half of it. Refuses (ValueError)
    what `read_boxes` would refuse: no boxes, a repeated id, a size <= 0, a category without a program."""
    from geonodes.meshio import atomic_write

    ids = [b.id for b in boxes]
    if not boxes or len(set(ids)) != len(ids) or min(ids) < 1:
        raise ValueError(f"boxes: need at least one box and unique ids >= 1, got ids {ids}")
    for b in boxes:
        if program_for(b.category) is None or min(b.size) <= 0:
            raise ValueError(f"box {b.id}: category {b.category!r} needs a program and sizes > 0, got {b.size}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = boxes_document(boxes, margin)
    text = ('{"objects": [\n' + ",\n".join("  " + json.dumps(o) for o in doc["objects"])
            + f'],\n "margin": {json.dumps(doc["margin"])}}}\n')  # one box a line, as in the README
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path


def set_boxes(scene, boxes: list[Box], margin: float = DEFAULT_MARGIN):
    """Make the boxes the scene's objects (their ids, categories, and per-frame masks by
    `box_instance_masks`), replacing its labelled objects; returns the scene."""
    scene.masks = MaskSource(scene.frames, box_instance_masks(boxes, lambda: scene.floor_height, margin))
    scene.objects = [SceneObject(b.id, b.category, b.corners().astype(np.float32), scene.masks) for b in boxes]
    return scene


def attach_boxes(scene, path, log=print):
    """Replace the scene's objects (and instance masks) by the boxes of `path`; returns the scene."""
    boxes, margin = read_boxes(path)
    replaced = f" (replacing its {len(scene.objects)} labelled objects)" if scene.objects else ""
    set_boxes(scene, boxes, margin)
    names = ", ".join(f"{b.id} {b.category}" for b in boxes[:8]) + (", ..." if len(boxes) > 8 else "")
    log(f"{path}: {len(boxes)} object{'s' if len(boxes) != 1 else ''} from boxes ({names}){replaced}")
    return scene
