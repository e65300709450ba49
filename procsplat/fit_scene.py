"""Fit a shape program to every object of a scene whose category has one (`procsplat fit`).

For each object: the frames that see it (instance masks), an `ObjectTarget` from their depth,
then the memetic GA of `procsplat.fit.search`. Objects of unknown categories stay background;
objects with too few observed points are skipped with a warning.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from procsplat.categories import program_for
from procsplat.gaussian_model import ObjectSpec

MIN_MASK_PIXELS = 50


@dataclass
class FitConfig:
    """Settings of `procsplat fit`."""

    scene: str
    """Scene folder (ScanNet raw/exported, 7-Scenes style) or a ScanNet scene id under $SCANNET_ROOT."""
    out: Path = Path("fits")
    """Writes <out>/<scene>/object_<id>.json, .ply, .png and summary.json."""
    objects: tuple[int, ...] = ()
    """Instance ids to fit (default: every object of a known category)."""
    preset: str = "default"
    """fast | default | paper (the paper's GA settings)."""
    width: int = 320
    """Frames are resized to this width for fitting."""
    max_frames: int = 60
    seed: int = 0


def object_frames(scene, instance_id: int, max_views: int = 24):
    """(depths, Ks, poses, masks) of the frames where the object is visible (most pixels first)."""
    counts = []
    for i in range(len(scene.frames)):
        n = int((scene.instance_mask(i) == instance_id).sum())
        if n >= MIN_MASK_PIXELS:
            counts.append((n, i))
    chosen = sorted(i for _, i in sorted(counts, reverse=True)[:max_views])
    K = np.asarray(scene.frames.K, np.float64)
    depths = [np.asarray(scene.frames[i].depth, np.float32) for i in chosen]
    masks = [scene.instance_mask(i) == instance_id for i in chosen]
    poses = [np.asarray(scene.frames.poses[i], np.float64) for i in chosen]
    return depths, [K] * len(chosen), poses, masks


def fit_object(scene, obj, program_name: str, preset: str = "default", seed: int = 0):
    """FitResult of one object, or None (with a warning) when it cannot be fitted."""
    from geonodes import load_program
    from procsplat.fit.search import genetic_search, preset as ga_preset
    from procsplat.fit.target import ObjectTarget, TooFewPointsError

    depths, Ks, poses, masks = object_frames(scene, obj.id)
    label = f"{obj.id} {obj.label}"
    if not depths:
        warnings.warn(f"fit: object '{label}' skipped: not visible in any frame", RuntimeWarning, stacklevel=2)
        return None
    try:
        target = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=scene.floor_height, label=label)
    except TooFewPointsError as e:
        warnings.warn(f"fit: object '{label}' skipped: {e}", RuntimeWarning, stacklevel=2)
        return None
    return genetic_search(load_program(program_name), target, ga_preset(preset, seed=seed))


def fit_scene(scene, preset: str = "default", seed: int = 0, objects=(), log=print, progress: bool = True,
              on_fit=None):
    """[(ObjectSpec, FitResult)] for every fittable object of the scene; on_fit(spec, result) after each."""
    from rich.progress import track

    todo = []
    for obj in scene.objects:
        name = program_for(obj.label)
        if name is None or (objects and obj.id not in objects):
            continue
        todo.append((obj, name))
    if scene.masks is None and todo:
        raise ValueError(f"scene {scene.name!r} has no instance masks: objects cannot be isolated for fitting")
    out = []
    for obj, name in track(todo, description="fitting objects", disable=not progress or not todo):
        result = fit_object(scene, obj, name, preset, seed)
        if result is None:
            continue
        log(f"  object {obj.id} ({obj.label} -> {name}): loss {result.loss:.4f}, "
            f"{result.evaluations} evaluations, {result.seconds:.1f} s")
        spec = ObjectSpec(obj.id, name, name, dict(result.parameters), float(result.yaw),
                          [float(x) for x in np.asarray(result.translation)], float(result.scale))
        out.append((spec, result))
        if on_fit is not None:
            on_fit(spec, result)
    return out


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


def run_fit(cfg: FitConfig) -> Path:
    from geonodes.meshio import write_mesh
    from geonodes import load_program
    from procsplat.train import TrainConfig, load_training_scene

    scene, _ = load_training_scene(TrainConfig(scene=cfg.scene, width=cfg.width, max_frames=cfg.max_frames))
    out = Path(cfg.out) / scene.name
    out.mkdir(parents=True, exist_ok=True)
    fitted = fit_scene(scene, cfg.preset, cfg.seed, cfg.objects)
    summary = []
    for spec, result in fitted:
        stem = out / f"object_{spec.instance_id:03d}_{spec.program}"
        doc = {**spec.to_json(), "loss": result.loss, "terms": result.terms, "evaluations": result.evaluations,
               "seconds": result.seconds, "method": result.method}
        stem.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
        mesh = load_program(spec.program).evaluate_one(spec.parameters, dtype=torch.float64)
        from procsplat.splats import yaw_matrix

        world = (mesh.vertices * spec.scale) @ yaw_matrix(torch.tensor(spec.yaw, dtype=torch.float64)).T \
            + torch.tensor(spec.translation, dtype=torch.float64)
        mesh.vertices = world
        write_mesh(stem.with_suffix(".ply"), mesh)
        plot_curve(stem.with_suffix(".png"), result.curve, f"{spec.program} #{spec.instance_id}: best loss")
        summary.append(doc)
    (out / "summary.json").write_text(json.dumps({"scene": scene.name, "objects": summary}, indent=1) + "\n")
    print(f"fitted {len(fitted)} objects of {scene.name}; results in {out}")
    return out


def load_fit_summary(path: Path) -> list:
    doc = json.loads(Path(path).read_text())
    return [ObjectSpec.from_json(d) for d in doc["objects"]]

