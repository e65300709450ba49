"""`procsplat view RUN --boxes`: the box editor (`procsplat.view.boxes`) on a finished run's scan.

The scan is opened as the run's training opened it (its config.json `data`: width, frames, up), so the
boxes are in the run's world frame. The editor starts with a box per object of the run: the boxes of
the `--objects-from` file it was trained with when that file is still readable, otherwise each fitted
program's mesh bounds in its own (yawed) frame. Adding a box for an object the run missed, fitting
into it and saving gives a boxes file for retraining with every object:
`procsplat train --scene SOURCE --objects-from RUN/edited/boxes.json`.
"""
from __future__ import annotations

import json
import math
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import torch

from procsplat.data.boxes import Box
from procsplat.data.categories import program_for
from procsplat.errors import ProcsplatError


def run_scene_config(run: Path, source: str):
    """The SceneConfig of a run's training (config.json `data`), pointing at its scan wherever it is found."""
    from procsplat.data.config import SceneConfig
    from procsplat.view.scene_nodes import source_candidates

    try:
        data = json.loads((Path(run) / "config.json").read_text())["data"]
    except (OSError, ValueError, KeyError, TypeError):
        data = {}
    known = {f.name for f in fields(SceneConfig)}
    cfg = SceneConfig(**{k: v for k, v in (data if isinstance(data, dict) else {}).items() if k in known})
    for k in ("scannet_root", "objects_from"):
        if getattr(cfg, k) is not None:
            cfg = replace(cfg, **{k: Path(getattr(cfg, k))})
    found = [p for p in source_candidates(source, Path(run)) if p.exists()] if source else []
    if not found:
        raise ProcsplatError(f"{run}: its scan {source!r} is not readable here; boxes need the scan "
                             "(fitting reads its depth)")
    return replace(cfg, scene=str(found[0]))


def object_box(obj, category: str) -> Box:
    """The box of a fitted object: its mesh's bounds in the object's yawed frame, in the world."""
    with torch.no_grad():
        v = obj.mesh()[0].detach().double().numpy()
    yaw = float(obj.yaw.detach())
    c, s = math.cos(yaw), math.sin(yaw)
    local = np.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], v[:, 2]], 1)
    lo, hi = local.min(0), local.max(0)
    m = (lo + hi) / 2
    center = (c * m[0] - s * m[1], s * m[0] + c * m[1], m[2])
    return Box(int(obj.instance_id), category, tuple(float(x) for x in center),
               tuple(float(max(x, 0.05)) for x in hi - lo), math.atan2(s, c))


def run_boxes(model, scene_cfg) -> tuple[list[Box], float | None, str]:
    """(boxes, margin or None, where they came from) of a run's objects (see the module doc)."""
    from procsplat.data.boxes import read_boxes

    if scene_cfg.objects_from is not None and Path(scene_cfg.objects_from).is_file():
        boxes, margin = read_boxes(scene_cfg.objects_from)
        return [replace(b, category=program_for(b.category)) for b in boxes], margin, str(scene_cfg.objects_from)
    boxes = []
    for obj, spec in zip(model.objects, model.specs):
        category = program_for(Path(str(obj.category)).stem) or program_for(Path(str(spec.program)).stem)
        if category is not None:
            boxes.append(object_box(obj, category))
    return boxes, None, "the fitted objects"


def attach_box_editor(session, ga, save_path: Path | None = None):
    """Give a ViewerSession a BoxEditor on its run's scan (`session.editor`), prefilled by `run_boxes`."""
    from procsplat.data.config import open_scene
    from procsplat.view.boxes import BoxEditor

    run = session.info.run
    cfg = run_scene_config(run, session.info.source)
    scene, path = open_scene(replace(cfg, objects_from=None), log=lambda *_: None)
    boxes, margin, origin = run_boxes(session.model, cfg)
    save_path = save_path or run / "edited" / "boxes.json"
    editor = BoxEditor(session.server, scene, ga, save_path=save_path, report=session._report, scene_arg=str(path),
                       **({} if margin is None else {"margin": margin}))
    for b in boxes:
        editor.add_box(b.category, b.center, b.size, b.yaw, box_id=b.id)
    session._report(f"{len(boxes)} box(es) from {origin}; add boxes for missed objects, **Fit**, **Save boxes**")
    return editor
