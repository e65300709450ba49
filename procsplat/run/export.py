"""Exports of a run directory (the files a user opens; `rundir` holds the model and scene document).

    splats.ply       all Gaussians, world space, standard 3DGS layout (gsplat-compatible viewers)
    meshes/          one .ply per procedural object (world space)
    renders/         held-out frames: ground truth | render (PNG)
    metrics.json     PSNR / SSIM on held-out frames, counts, timings
    turntable.gif    an orbit inside the region the training cameras covered, looking at the objects
    turntables/      one orbit per procedural object, its anchored Gaussians alone (`orbit`)

`procsplat export RUN --params edited.json` (or `--set "ID:Name=value"`) re-evaluates the programs with
edited parameters (and poses) and rewrites splats.ply, scene.json, model.pt and the meshes (or writes
them to `--out DIR`): anchored Gaussians follow float edits, and a discrete edit re-anchors them on the
new topology (`procsplat.splat.reanchor`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import torch
import tyro

from geonodes.meshio import atomic_write, write_mesh
from procsplat.errors import ProcsplatError
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
    edited parameters (float and discrete: a discrete edit re-anchors the object's Gaussians) and poses."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")]
    """A finished run directory."""
    params: Optional[Path] = None
    """An edited scene.json (or a subset: {"objects": [{"instance_id", "parameters", "pose"}]})."""
    set: Annotated[list[str], tyro.conf.UseAppendAction, tyro.conf.arg(metavar="ID:NAME=VALUE")] = \
        field(default_factory=list)
    """One parameter of one object, e.g. --set "3:Has Arms=true" --set "3:Seat Height=0.5" (applied after
    --params; bools true/false/1/0)."""
    out: Optional[Path] = None
    """Write the edited run here (model.pt, scene.json, splats.ply, meshes/: a run `procsplat view` opens)
    instead of rewriting RUN_DIR."""
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per core, waiting threads sleep)."""


def parse_set_edits(model, items: list) -> dict:
    """`--set ID:NAME=VALUE` items -> an edit document ({"objects": [...]}) for `apply_edit`."""
    from geonodes.cli import parse_value
    from geonodes.errors import GeonodesError

    by_id = {obj.instance_id: obj for obj in model.objects}
    entries: dict = {}
    for item in items:
        head, colon, rest = str(item).partition(":")
        name, eq, text = rest.partition("=")
        try:
            iid = int(head)
        except ValueError:
            iid = None
        if not colon or not eq or iid is None:
            raise ProcsplatError(f"--set '{item}': expected \"ID:Name=value\" (an object's instance id)")
        if iid not in by_id:
            raise ProcsplatError(f"--set '{item}': unknown instance_id {iid} (known: {sorted(by_id)})")
        try:
            value = parse_value(by_id[iid].program.parameter(name.strip()), text)
        except GeonodesError as e:
            raise ProcsplatError(f"--set '{item}': object {iid}: {e}") from None
        entries.setdefault(iid, {})[name.strip()] = value
    return {"objects": [{"instance_id": iid, "parameters": params} for iid, params in entries.items()]}


def run_export(cfg: ExportConfig) -> Path:
    run = Path(cfg.run)
    info, model = load_run(run)
    if cfg.params is not None:
        apply_edit(model, read_json(cfg.params, "edits"), str(cfg.params))
    if cfg.set:
        apply_edit(model, parse_set_edits(model, cfg.set), "--set")
    out = run if cfg.out is None else Path(cfg.out)
    export_model(out, model, info.scene_name, info.source)
    return out
