"""Exports of a run directory (the files a user opens; `rundir` holds the model and scene document).

    splats.ply       all Gaussians, world space, standard 3DGS layout (gsplat-compatible viewers)
    meshes/          one .ply per procedural object (world space)
    renders/         held-out frames: ground truth | render (PNG)
    metrics.json     PSNR / SSIM on held-out frames, counts, timings
    turntable.gif    a short orbit around the scene

`procsplat export RUN --params edited.json` re-evaluates the programs with edited parameters
(and poses) and rewrites splats.ply, scene.json, model.pt and the meshes: anchored Gaussians follow.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import torch
import tyro

from geonodes.meshio import atomic_write, write_mesh
from procsplat.geometry import look_at
from procsplat.run.rundir import apply_edit, load_run, read_json, save_run, write_json


def write_splats(path: Path, model) -> int:
    from procsplat.splat.ply import save_splats_ply

    with torch.no_grad():
        g, _ = model.gaussians()
        save_splats_ply(path, means=g.means.float(), scales=g.log_scales.float(), quats=g.quats.float(),
                        opacities=g.opacity_logits.float(), sh0=g.sh0.float(), shN=g.shN.float())  # atomic
    return len(g)


def write_meshes(folder: Path, model) -> list:
    """One world-space .ply per object (geonodes' mesh writer: polygons and part ids)."""
    paths = []
    Path(folder).mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        for spec, obj in zip(model.current_specs(), model.objects):
            name = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(spec.category or spec.program or "object").stem)
            path = Path(folder) / f"object_{spec.instance_id:03d}_{name}.ply"
            write_mesh(path, obj.world_mesh())
            paths.append(path)
    return paths


def write_png(path: Path, image: np.ndarray) -> None:
    import imageio.v3 as iio

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: iio.imwrite(tmp, (np.clip(image, 0, 1) * 255).astype(np.uint8), extension=".png"))


def orbit_poses(center: np.ndarray, radius: float, height: float, n: int) -> list:
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
    atomic_write(Path(path), lambda tmp: iio.imwrite(tmp, np.stack(images), extension=".gif", duration=80, loop=0))


def export_model(run: Path, model, scene_name: str, source) -> int:
    """model.pt, scene.json, splats.ply and meshes/ of a run; returns the number of Gaussians."""
    save_run(run, model, scene_name, source)
    n = write_splats(Path(run) / "splats.ply", model)
    write_meshes(Path(run) / "meshes", model)
    return n


def export_run(run: Path, model, scene_name: str, source, evaluation: dict, metrics: dict,
               video_frames: int = 24, backend: str = "auto") -> None:
    """Everything a finished training run writes (see the module doc)."""
    n = export_model(run, model, scene_name, source)
    for i, rgb, gt in evaluation["renders"]:
        write_png(Path(run) / "renders" / f"heldout_{i:04d}.png", np.concatenate([gt.numpy(), rgb.numpy()], axis=1))
    write_turntable(Path(run) / "turntable.gif", model, frames=video_frames, backend=backend)
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


def run_export(cfg: ExportConfig) -> Path:
    run = Path(cfg.run)
    info, model = load_run(run)
    if cfg.params is not None:
        apply_edit(model, read_json(cfg.params, "edits"), str(cfg.params))
    export_model(run, model, info.scene_name, info.source)
    return run
