"""Exports of a run directory (the files a user opens; `rundir` holds the model and scene document).

    splats.ply       all Gaussians, world space, standard 3DGS layout (gsplat-compatible viewers)
    meshes/          one .ply per procedural object (world space)
    renders/         held-out frames: ground truth | render (PNG)
    metrics.json     PSNR / SSIM on held-out frames, counts, timings
    turntable.gif    an orbit inside the region the training cameras covered, looking at the objects
    turntables/      one orbit per procedural object, its anchored Gaussians alone (`orbit`)

`procsplat export RUN --params edited.json` re-evaluates the programs with edited parameters
(and poses) and rewrites splats.ply, scene.json, model.pt and the meshes: anchored Gaussians follow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import torch
import tyro

from geonodes.meshio import atomic_write, write_mesh
from procsplat.run.orbit import Cameras, object_orbit, room_orbit
from procsplat.run.rundir import apply_edit, load_run, read_json, save_run, write_json


def write_splats(path: Path, model) -> int:
    from procsplat.splat.ply import save_splats_ply

    with torch.no_grad():
        g, _ = model.gaussians()
        save_splats_ply(path, means=g.means.float(), scales=g.log_scales.float(), quats=g.quats.float(),
                        opacities=g.opacity_logits.float(), sh0=g.sh0.float(), shN=g.shN.float())  # atomic
    return len(g)


def object_stem(spec) -> str:
    """`object_NNN_<category>`: the file name (without suffix) of an object's mesh and turntable."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(spec.category or spec.program or "object").stem)
    return f"object_{spec.instance_id:03d}_{name}"


def write_meshes(folder: Path, model) -> list:
    """One world-space .ply per object (geonodes' mesh writer: polygons and part ids)."""
    paths = []
    Path(folder).mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for spec, obj in zip(model.current_specs(), model.objects):
            path = Path(folder) / f"{object_stem(spec)}.ply"
            write_mesh(path, obj.world_mesh())
            paths.append(path)
    return paths


def write_png(path: Path, image: np.ndarray) -> None:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: iio.imwrite(tmp, (np.clip(image, 0, 1) * 255).astype(np.uint8), extension=".png"))


def orbit_target(model) -> np.ndarray:
    """What the scene turntable looks at: the centre of the procedural objects' bounding boxes (their
    mean), or with none the median of the Gaussians."""
    with torch.no_grad():
        if len(model.objects):
            boxes = [obj.mesh()[0] for obj in model.objects]
            return np.mean([((v.amin(0) + v.amax(0)) / 2).numpy() for v in boxes if len(v)], axis=0)
        g, _ = model.gaussians()
        return np.median(g.means.numpy(), axis=0) if len(g) else np.zeros(3)


def _write_gif(path: Path, images: list) -> None:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(Path(path), lambda tmp: iio.imwrite(tmp, np.stack(images), extension=".gif", duration=80, loop=0))


def render_orbit(gaussians, sh_degree: int, poses: list, K: np.ndarray, width: int, height: int,
                 backend: str = "auto", background=(0.0, 0.0, 0.0)) -> list:
    """uint8 (H,W,3) images of a GaussianSet from camera-to-world `poses`."""
    from procsplat.splat.model import render_gaussians

    Kt = torch.as_tensor(K, dtype=torch.float64)
    images = []
    with torch.no_grad():
        for c2w in poses:
            rgb, _, _ = render_gaussians(gaussians, sh_degree, torch.linalg.inv(torch.from_numpy(c2w)), Kt, width,
                                         height, backend, background, with_depth=False)
            images.append((rgb.clamp(0, 1).numpy() * 255).round().astype(np.uint8))
    return images


def write_turntable(path: Path, model, cameras: Cameras, frames: int = 24, width: int = 256,
                    backend: str = "auto") -> list:
    """An orbit inside the region the training `cameras` covered (`room_orbit`), looking at the
    objects, with the training cameras' field of view; returns its camera-to-world poses."""
    K, height = cameras.scaled_K(width)
    poses = room_orbit(np.asarray(cameras.poses)[:, :3, 3], orbit_target(model), frames)
    with torch.no_grad():
        g, _ = model.gaussians()
    _write_gif(Path(path), render_orbit(g, model.sh_degree, poses, K, width, height, backend))
    return poses


def write_object_turntables(folder: Path, model, cameras: Cameras, frames: int = 24, width: int = 256,
                            backend: str = "auto") -> list:
    """`<folder>/object_NNN_<category>.gif` per procedural object: its anchored Gaussians alone on
    white, circled from a little above (`object_orbit`), sides the scan never saw included."""
    K, height = cameras.scaled_K(width)
    paths = []
    with torch.no_grad():
        for spec, obj, anchored in zip(model.current_specs(), model.objects, model.anchored):
            v = obj.mesh()[0]
            if not len(v):
                continue
            poses = object_orbit(v.amin(0).numpy(), v.amax(0).numpy(), K, width, height, frames)
            path = Path(folder) / f"{object_stem(spec)}.gif"
            _write_gif(path, render_orbit(anchored.world(), model.sh_degree, poses, K, width, height, backend,
                                          background=(1.0, 1.0, 1.0)))
            paths.append(path)
    return paths


def export_model(run: Path, model, scene_name: str, source) -> int:
    """model.pt, scene.json, splats.ply and meshes/ of a run; returns the number of Gaussians."""
    save_run(run, model, scene_name, source)
    n = write_splats(Path(run) / "splats.ply", model)
    write_meshes(Path(run) / "meshes", model)
    return n


def export_run(run: Path, model, scene_name: str, source, evaluation: dict, metrics: dict, *, cameras: Cameras,
               video_frames: int = 24, backend: str = "auto") -> None:
    """Everything a finished training run writes (see the module doc); the turntables' paths stay
    where the training `cameras` were."""
    n = export_model(run, model, scene_name, source)
    for i, rgb, gt in evaluation["renders"]:
        write_png(Path(run) / "renders" / f"heldout_{i:04d}.png", np.concatenate([gt.numpy(), rgb.numpy()], axis=1))
    write_turntable(Path(run) / "turntable.gif", model, cameras, frames=video_frames, backend=backend)
    write_object_turntables(Path(run) / "turntables", model, cameras, frames=video_frames, backend=backend)
    write_json(Path(run) / "metrics.json", {
        "psnr": evaluation["psnr"], "ssim": evaluation["ssim"], "lpips": None,
        "lpips_note": "LPIPS needs pretrained network weights, which cannot be downloaded here",
        "num_test_frames": evaluation["num_test_frames"], "num_gaussians": n,
        "num_objects": len(model.objects), **metrics})


@dataclass
class ExportConfig:
    """`procsplat export`: rewrite a run's splats.ply, scene.json, model.pt and meshes, optionally with
    edited parameters."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")]
    """A finished run directory."""
    params: Optional[Path] = None
    """An edited scene.json (or a subset: {"objects": [{"instance_id", "parameters", "pose"}]})."""
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per core, waiting threads sleep)."""


def run_export(cfg: ExportConfig) -> Path:
    run = Path(cfg.run)
    info, model = load_run(run)
    if cfg.params is not None:
        apply_edit(model, read_json(cfg.params, "edits"), str(cfg.params))
    export_model(run, model, info.scene_name, info.source)
    return run
