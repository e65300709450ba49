"""Exports of a run directory.

    splats.ply       all Gaussians, world space, standard 3DGS layout (gsplat-compatible viewers)
    scene.json       versioned: per object program, parameters, pose, Gaussian count
    model.pt         the splat model in its anchored form (what `procsplat export` and the viewer use)
    meshes/          one .ply per procedural object (world space)
    renders/         held-out frames: ground truth | render (PNG)
    metrics.json     PSNR / SSIM on held-out frames, counts, timings
    turntable.gif    a short orbit around the scene

`procsplat export RUN --params edited.json` re-evaluates the programs with edited parameters
(and poses) and rewrites splats.ply, scene.json and the meshes: anchored Gaussians follow.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import torch
import tyro

SCENE_SCHEMA = "procsplat-scene"
SCENE_VERSION = 1
RUN_FILES = ("scene.json", "model.pt", "splats.ply")


def _atomic_write(path: Path, write) -> None:
    from geonodes.meshio import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)


def write_json(path: Path, doc: dict) -> None:
    _atomic_write(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1) + "\n"))


def scene_document(model, scene_name: str, source) -> dict:
    objects = []
    for spec, a in zip(model.current_specs(), model.anchored):
        objects.append({**spec.to_json(), "num_gaussians": int(a.face.shape[0])})
    nb = 0 if model.background is None else int(model.background.means.shape[0])
    return {"schema": SCENE_SCHEMA, "version": SCENE_VERSION, "scene": scene_name, "source": str(source),
            "up": [0, 0, 1], "sh_degree": model.sh_degree, "objects": objects,
            "background": {"num_gaussians": nb}}


def write_splats(path: Path, model) -> int:
    from procsplat.splat_ply import save_splats_ply

    with torch.no_grad():
        g, _ = model.gaussians()
        save_splats_ply(path, means=g.means.float(), scales=g.log_scales.float(), quats=g.quats.float(),
                        opacities=g.opacity_logits.float(), sh0=g.sh0.float(), shN=g.shN.float())  # atomic
    return len(g)


def write_meshes(folder: Path, model) -> list:
    from procsplat.readers.scannet_write import write_mesh_ply

    paths = []
    with torch.no_grad():
        for spec, obj in zip(model.current_specs(), model.objects):
            v, t, _ = obj.mesh()
            path = Path(folder) / f"object_{spec.instance_id:03d}_{spec.category or 'object'}.ply"
            _atomic_write(path, lambda tmp: write_mesh_ply(tmp, v.numpy(), t.numpy()))
            paths.append(path)
    return paths


def save_model(path: Path, model) -> None:
    state = {"specs": [s.to_json() for s in model.specs], "model": model.state_dict(),
             "sh_degree": model.sh_degree, "background_size": 0 if model.background is None
             else int(model.background.means.shape[0])}
    _atomic_write(Path(path), lambda tmp: torch.save(state, tmp))


def load_model(run: Path):
    """Rebuild a SceneModel from <run>/model.pt (no scan needed)."""
    from procsplat.gaussian_model import ObjectSpec, SceneModel
    from procsplat.splats import BackgroundGaussians

    path = Path(run) / "model.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (is {run} a finished procsplat run?)")
    try:
        state = torch.load(path, weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a corrupt file to the user
        raise ValueError(f"{path}: cannot read the model ({e})") from None
    specs = [ObjectSpec.from_json(d) for d in state["specs"]]
    n = state["background_size"]
    sh = state["sh_degree"]
    background = BackgroundGaussians(torch.zeros(n, 3), torch.zeros(n, 3), 0.01, sh_degree=sh) if n else None
    counts = [int(state["model"][f"anchored.{k}.face"].shape[0]) for k in range(len(specs))]
    model = SceneModel(specs, background, sh_degree=sh, counts=counts)
    model.load_state_dict(state["model"])
    return model


def orbit_poses(center: np.ndarray, radius: float, height: float, n: int) -> list:
    from procsplat.synth import look_at

    return [look_at(center + np.array([radius * math.cos(2 * math.pi * k / n), radius * math.sin(2 * math.pi * k / n),
                                       height]), center) for k in range(n)]


def write_turntable(path: Path, model, frames: int = 24, width: int = 256, height: int = 192,
                    backend: str = "auto") -> None:
    import imageio.v3 as iio

    with torch.no_grad():
        g, _ = model.gaussians()
        pts = g.means.numpy()
        center = np.median(pts, axis=0)
        center[2] = 0.5
        radius = float(np.percentile(np.linalg.norm(pts[:, :2] - center[:2], axis=1), 60)) + 0.5
        f = 0.9 * width
        K = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=torch.float64)
        images = []
        for c2w in orbit_poses(center, radius, 1.2, frames):
            rgb, _, _ = model.render(torch.linalg.inv(torch.from_numpy(c2w)), K, width, height, backend=backend,
                                     with_depth=False)
            images.append((rgb.clamp(0, 1).numpy() * 255).astype(np.uint8))
    _atomic_write(Path(path), lambda tmp: iio.imwrite(tmp, np.stack(images), extension=".gif", duration=80, loop=0))


def export_run(trainer, metrics: dict, seconds: float) -> None:
    import imageio.v3 as iio

    run, model, cfg = trainer.run, trainer.model, trainer.cfg
    n = write_splats(run / "splats.ply", model)
    save_model(run / "model.pt", model)
    write_json(run / "scene.json", scene_document(model, trainer.scene.name, trainer.scene_path))
    write_meshes(run / "meshes", model)
    for i, rgb, gt in metrics["renders"]:
        pair = np.concatenate([gt.numpy(), rgb.numpy()], axis=1)
        _atomic_write(run / "renders" / f"heldout_{i:04d}.png",
                      lambda tmp: iio.imwrite(tmp, (pair * 255).astype(np.uint8), extension=".png"))
    write_turntable(run / "turntable.gif", model, frames=cfg.video_frames, backend=cfg.backend)
    write_json(run / "metrics.json", {
        "psnr": metrics["psnr"], "ssim": metrics["ssim"], "lpips": None,
        "lpips_note": "LPIPS needs pretrained network weights, which cannot be downloaded here",
        "num_test_frames": metrics["num_test_frames"], "num_gaussians": n,
        "num_objects": len(model.objects), "steps": trainer.step, "seconds": seconds,
        "joint_shape": cfg.joint_shape, "fit": cfg.fit})


@dataclass
class ExportConfig:
    """Settings of `procsplat export`."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")]
    """A finished run directory."""
    params: Optional[Path] = None
    """An edited scene.json (or a subset: {"objects": [{"instance_id", "parameters", "pose"}]})."""


def apply_edits(model, doc: dict, where: str) -> None:
    if not isinstance(doc, dict) or not isinstance(doc.get("objects"), list):
        raise ValueError(f"{where}: expected a JSON object with an 'objects' list")
    by_id = {obj.instance_id: obj for obj in model.objects}
    for k, entry in enumerate(doc["objects"]):
        if "instance_id" not in entry or int(entry["instance_id"]) not in by_id:
            raise ValueError(f"{where}: objects[{k}]: unknown instance_id {entry.get('instance_id')!r} "
                             f"(known: {sorted(by_id)})")
        obj = by_id[int(entry["instance_id"])]
        params = entry.get("parameters", {})
        for name, value in params.items():
            p = obj.program.parameter(name)
            if p.kind != "bool" and not (p.min <= value <= p.max):
                raise ValueError(f"{where}: objects[{k}]: parameter '{name}' = {value} is out of range "
                                 f"{p.describe_range()}")
            if p.kind != "float" and value != obj.fixed[name]:
                raise ValueError(f"{where}: objects[{k}]: parameter '{name}' is discrete; changing it changes the "
                                 "topology the Gaussians are anchored on (re-run `procsplat train` instead)")
        obj.set_parameters(params)
        pose = entry.get("pose")
        if pose:
            with torch.no_grad():
                obj.yaw.fill_(float(pose.get("yaw", float(obj.yaw))))
                if "translation" in pose:
                    obj.translation.copy_(torch.tensor(pose["translation"], dtype=torch.float64))
                if "scale" in pose:
                    obj.log_scale.fill_(math.log(float(pose["scale"])))


def run_export(cfg: ExportConfig) -> Path:
    run = Path(cfg.run)
    missing = [f for f in RUN_FILES if not (run / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{run}: not a finished run (missing {', '.join(missing)})")
    model = load_model(run)
    if cfg.params is not None:
        try:
            doc = json.loads(Path(cfg.params).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{cfg.params}: cannot read edits ({e})") from None
        apply_edits(model, doc, str(cfg.params))
    old = json.loads((run / "scene.json").read_text())
    write_splats(run / "splats.ply", model)
    save_model(run / "model.pt", model)
    write_json(run / "scene.json", scene_document(model, old.get("scene", run.name), old.get("source", "")))
    write_meshes(run / "meshes", model)
    return run
