"""Fit a shape program to every object of a scene whose category has one (`procsplat fit`).

For each object: the frames that see it (instance masks), an `ObjectTarget` from their depth,
then the memetic GA of `procsplat.fit.search`. Objects of unknown categories stay background;
objects with too few observed points are skipped with a warning. After all fits, the consistency
pass (`procsplat.fit.consistency`, `GAConfig.consistent`) lets look-alike objects of one program
share one discrete assignment.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
import tyro

from procsplat.data.categories import program_for
from procsplat.data.config import SceneConfig
from procsplat.errors import ProcsplatError
from procsplat.fit.search import PRESETS, GAConfig, GAPreset, preset
from procsplat.fit.spec import ObjectSpec

MIN_MASK_PIXELS = 50


@dataclass
class FitConfig:
    """`procsplat fit`: fit a shape program to every object of a scan (memetic GA)."""

    data: Annotated[SceneConfig, tyro.conf.arg(name="")] = field(
        default_factory=lambda: SceneConfig(width=320, max_frames=60))
    out: Path = Path("fits")
    """Writes <out>/<scene>/object_<id>.json (as each object finishes), _<program>.ply and .png, and
    summary.json (with the scan's world_from_source: the meshes and poses are in the world frame)."""
    objects: tuple[int, ...] = ()
    """Instance ids to fit (default: every object of a known category)."""
    resume: bool = False
    """Reuse the objects already fitted in <out>/<scene>/ (a run that was interrupted)."""
    ga: GAPreset = field(default_factory=lambda: PRESETS["default"])
    """The search (a preset, then its flags)."""


class FitStore:
    """Fitted objects in a folder, one `object_NNN.json` each, written the moment a search finishes, so
    an interrupted run keeps every finished fit. A skipped object is stored with its reason."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, instance_id: int) -> Path:
        return self.folder / f"object_{instance_id:03d}.json"

    def load(self, instance_id: int) -> dict | None:
        from procsplat.run.rundir import read_json

        p = self.path(instance_id)
        if not p.is_file():
            return None
        doc = read_json(p, "fitted object")
        if "skipped" not in doc:
            try:
                ObjectSpec.from_json(doc)
            except (KeyError, TypeError, ValueError) as e:
                raise ProcsplatError(f"{p}: not a fitted object ({type(e).__name__}: {e}); delete it to fit again") \
                    from None
        return doc

    def save(self, instance_id: int, doc: dict) -> None:
        from procsplat.run.rundir import write_json

        write_json(self.path(instance_id), doc)


def fittable_objects(scene, objects=()) -> list:
    """[(SceneObject, program name)] of the objects whose category has a program."""
    return [(obj, program_for(obj.label)) for obj in scene.objects
            if program_for(obj.label) is not None and (not objects or obj.id in objects)]


def why_no_objects(scene) -> str:
    """One line saying why a scene gives no procedural object."""
    if scene.masks is None or not scene.objects:
        return (f"scene {scene.name!r} has no instance labels (ScanNet's aggregation and segments), so no object can "
                "be isolated for fitting; every surface stays background Gaussians (give the objects as boxes: "
                "--objects-from boxes.json)")
    labels = sorted({o.label for o in scene.objects})
    shown = ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")
    return (f"none of the {len(scene.objects)} labelled objects of {scene.name!r} has a category with a shape "
            f"program (labels: {shown}; programs: see procsplat/data/categories.py)")


def object_frames(scene, instance_id: int, max_views: int = 24):
    """(depths, Ks, poses, masks) of the frames where the object is visible (most pixels first)."""
    counts = []
    for i in range(len(scene.frames)):
        n = int((scene.instance_mask(i) == instance_id).sum())
        if n >= MIN_MASK_PIXELS:
            counts.append((n, i))
    chosen = sorted(i for _, i in sorted(counts, reverse=True)[:max_views])
    K = np.asarray(scene.frames.K, np.float64)
    depths = [np.array(scene.frames[i].depth, np.float32) for i in chosen]  # writable copies (frames are shared)
    masks = [scene.instance_mask(i) == instance_id for i in chosen]
    poses = [np.asarray(scene.frames.poses[i], np.float64) for i in chosen]
    return depths, [K] * len(chosen), poses, masks


def object_target(scene, obj):
    """(ObjectTarget, None) of one object, or (None, why) when it has too little evidence."""
    from procsplat.fit.target import ObjectTarget, TooFewPointsError

    depths, Ks, poses, masks = object_frames(scene, obj.id)
    if not depths:
        return None, "not visible in any frame"
    try:
        return ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=scene.floor_height,
                                        label=f"{obj.id} {obj.label}"), None
    except TooFewPointsError as e:
        return None, str(e)


def fit_object(scene, obj, program_name: str, ga: GAConfig, targets: dict | None = None, on_generation=None):
    """(FitResult, None) of one object, or (None, why) when it cannot be fitted (also warned).
    With `targets`, the object's ObjectTarget is kept there under its id (for the consistency pass).
    on_generation: genetic_search's progress callback."""
    from geonodes import load_program
    from procsplat.fit.search import genetic_search

    target, why = object_target(scene, obj)
    if target is not None:
        result = genetic_search(load_program(program_name), target, ga, on_generation=on_generation)
        if targets is not None:
            target._fields.clear()  # the distance grids are rebuilt when needed: keep only points and views
            targets[obj.id] = target
        return result, None
    warnings.warn(f"fit: object '{obj.id} {obj.label}' skipped: {why}", RuntimeWarning, stacklevel=2)
    return None, why


def fit_doc(spec: ObjectSpec, result) -> dict:
    return {**spec.to_json(), "loss": result.loss, "terms": result.terms, "evaluations": result.evaluations,
            "seconds": result.seconds, "method": result.method, "curve": [list(c) for c in result.curve]}


def fit_scene(scene, ga: GAConfig | str = "default", objects=(), log=print, progress: bool = True,
              on_fit=None, store: FitStore | None = None, fit_missing: bool = True, on_generation=None) -> list:
    """[(ObjectSpec, fit document)] for every fittable object of the scene.

    on_fit(spec, doc) after each new fit. With a `store`, each fit is saved as it finishes and the
    objects it already holds are reused (one line says how many). fit_missing=False: every object must
    be in the store already (fitted elsewhere, e.g. by `procsplat batch`'s fit tasks); one that is not is
    an error, never fitted here. Then, with `ga.consistent`, the consistency pass
    (`procsplat.fit.consistency`): look-alike objects of one program share one discrete assignment;
    every document gets its `group` (None: in no group) and is saved again when the pass changed it.
    on_fit sees each fit as its search left it. on_generation(instance id, generation, generations, best
    loss) after each GA generation."""
    from procsplat.progress import Progress

    ga = preset(ga) if isinstance(ga, str) else ga
    todo = fittable_objects(scene, objects)
    if not todo or scene.masks is None:
        log(f"no procedural objects: {why_no_objects(scene)}")
        return []
    docs = {obj.id: store.load(obj.id) for obj, _ in todo} if store is not None else {}
    if not fit_missing:
        if store is None:
            raise ValueError("fit_scene(fit_missing=False) needs the store that holds the fits")
        missing = [str(obj.id) for obj, _ in todo if docs.get(obj.id) is None]
        if missing:
            raise ProcsplatError(f"{store.folder}: no fit of object(s) {', '.join(missing)} of {scene.name!r} "
                                 "(they are fitted beforehand here, not by this run)")
    reused = sum(d is not None for d in docs.values())
    if reused:
        log(f"reusing {reused} of {len(todo)} fitted objects from {store.folder}")
    from procsplat.fit.workers import map_unordered, worker_count

    targets = {}
    pending = [(obj, name) for obj, name in todo if docs.get(obj.id) is None]
    # live per-generation progress (the viewer) needs the fit in this process
    workers = 1 if on_generation is not None else worker_count(ga.workers, len(pending))
    if workers > 1:
        log(f"fitting {len(pending)} objects in {workers} processes (one torch thread each)")

    def fit_one(item):
        obj, name = item
        step = None if on_generation is None else (lambda *a, i=obj.id: on_generation(i, *a))
        kept = {} if ga.consistent else None
        result, why = fit_object(scene, obj, name, ga, kept, step)
        return result, why, None if kept is None else kept.get(obj.id)

    with Progress("fitting objects", len(todo), done=len(todo) - len(pending), enabled=progress) as bar:
        for n, (k, (result, why, target)) in enumerate(map_unordered(fit_one, pending, workers)):
            obj, name = pending[k]
            if target is not None:
                targets[obj.id] = target
            spec = None
            if result is None:
                doc = {"instance_id": obj.id, "label": obj.label, "skipped": why}
            else:
                spec = ObjectSpec(obj.id, name, name, dict(result.parameters), float(result.yaw),
                                  [float(x) for x in np.asarray(result.translation)], float(result.scale))
                doc = fit_doc(spec, result)
            if store is not None:  # saved before it is reported: a fit the log names is on disk
                store.save(obj.id, doc)
            docs[obj.id] = doc
            if spec is not None:
                log(f"  object {obj.id} ({obj.label} -> {name}): loss {result.loss:.4f}, "
                    f"{result.evaluations} evaluations, {result.seconds:.1f} s")
                if on_fit is not None:
                    on_fit(spec, doc)
            bar.update(len(todo) - len(pending) + n + 1)
    out = [(ObjectSpec.from_json(docs[obj.id]), docs[obj.id]) for obj, _ in todo if "skipped" not in docs[obj.id]]
    if not out:
        log(f"no procedural objects: all {len(todo)} objects of known categories were skipped (too few observed "
            "points or not visible)")
    elif ga.consistent and len(out) >= 2 and any("group" not in doc for _, doc in out):
        # (skipped when every document already went through the pass: a resumed, finished fit)
        from procsplat.fit.consistency import make_consistent

        objs = {obj.id: obj for obj, _ in todo}

        def target_of(instance_id: int):
            if instance_id not in targets:
                targets[instance_id] = object_target(scene, objs[instance_id])[0]
            return targets[instance_id]

        before = {spec.instance_id: doc for spec, doc in out}
        out, _ = make_consistent(out, target_of, ga, log=log)
        if store is not None:  # only what the pass changed: a reused document stays as it was
            for spec, doc in out:
                if doc != before[spec.instance_id]:
                    store.save(spec.instance_id, doc)
    return out


def fit_boxes(scene, boxes: list, margin: float | None = None, ga: GAConfig | str = "default", objects=(),
              **kwargs) -> list:
    """`fit_scene` on the objects given as boxes (`procsplat.data.boxes.Box`), what `--objects-from` does
    with a file: the boxes replace the scene's objects and masks (`set_boxes`), then the objects (all, or the
    ids in `objects`) are fitted. The viewer's "Fit" calls this."""
    from procsplat.data.boxes import DEFAULT_MARGIN, set_boxes

    set_boxes(scene, boxes, DEFAULT_MARGIN if margin is None else margin)
    return fit_scene(scene, ga, objects, **kwargs)


def plot_curve(path: Path, curve: list, title: str, size=(480, 300)) -> None:
    """Fitness curve (best loss vs evaluations) as a small PNG, drawn with PIL."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    x0, y0, x1, y1 = 50, 20, size[0] - 15, size[1] - 35
    draw.rectangle([x0, y0, x1, y1], outline="black")
    draw.text((x0, 4), title, fill="black")
    if curve:
        ev = np.array([c[0] for c in curve], float)
        loss = np.log10(np.maximum(np.array([c[1] for c in curve], float), 1e-9))
        ex = (ev - ev.min()) / max(np.ptp(ev), 1e-9)
        ly = (loss - loss.min()) / max(np.ptp(loss), 1e-9)
        pts = [(x0 + e * (x1 - x0), y1 - v * (y1 - y0)) for e, v in zip(ex, ly)]
        draw.line(pts, fill=(200, 40, 40), width=2)
        draw.text((x0, y1 + 4), f"0 .. {int(ev.max())} evaluations", fill="black")
        draw.text((2, y0), f"{10 ** loss.max():.3g}", fill="black")
        draw.text((2, y1 - 10), f"{10 ** loss.min():.3g}", fill="black")
    img.save(path)


def run_fit(cfg: FitConfig, log=print) -> Path:
    from geonodes.meshio import write_mesh
    from procsplat.data.config import open_scene
    from procsplat.run.rundir import write_json
    from procsplat.splat.model import ProceduralObject

    scene, _ = open_scene(cfg.data, log=log)
    out = Path(cfg.out) / scene.name
    store = FitStore(out)
    if not cfg.resume:
        for obj, _ in fittable_objects(scene, cfg.objects):
            store.path(obj.id).unlink(missing_ok=True)
    fitted = fit_scene(scene, cfg.ga, cfg.objects, log=log, store=store)
    for spec, doc in fitted:
        stem = out / f"object_{spec.instance_id:03d}_{spec.program}"
        from geonodes import load_program

        obj = ProceduralObject(load_program(spec.program), spec.parameters, spec.yaw, spec.translation, spec.scale)
        with torch.no_grad():
            write_mesh(stem.with_suffix(".ply"), obj.world_mesh())
        plot_curve(stem.with_suffix(".png"), doc.get("curve", []), f"{spec.program} #{spec.instance_id}: best loss")
    from procsplat.fit.consistency import group_list

    up = scene.up_estimate.describe(scene.name) if scene.up_estimate is not None else scene.up_source
    write_json(out / "summary.json", {"scene": scene.name, "objects": [doc for _, doc in fitted],
                                      "groups": group_list([spec for spec, _ in fitted]),
                                      "world_from_source": scene.world_from_source.tolist(), "up": up})
    log(f"fitted {len(fitted)} objects of {scene.name}; results in {out}")
    return out


def load_fit_summary(path: Path) -> list:
    from procsplat.run.rundir import read_json

    doc = read_json(path, "fit summary")
    try:
        return [ObjectSpec.from_json(d) for d in doc["objects"]]
    except (KeyError, TypeError, ValueError) as e:
        raise ProcsplatError(f"{path}: not a `procsplat fit` summary ({type(e).__name__}: {e})") from None
