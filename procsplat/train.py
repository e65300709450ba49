"""`procsplat train`: scan -> fitted procedural objects -> joint photometric optimisation -> exports.

Stages (each resumable): load the scene (the built-in synthetic demo when no scene is given),
fit a program to every object of a known category, anchor Gaussians on the fitted surfaces and
seed background Gaussians from the scan, then optimise everything jointly -- shape parameters,
poses and Gaussian attributes -- with 0.8 L1 + 0.2 D-SSIM on RGB, L1 on depth and regularisers
that keep anchored Gaussians on their faces. Every 8th frame is held out for evaluation.
"""
from __future__ import annotations

import json
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch

from procsplat.gaussian_model import (ObjectSpec, SceneModel, background_from_frames, near_surface_masks,
                                      seen_in_frames)
from procsplat.image_metrics import photometric_loss, psnr, ssim

DEMO_SEED = 2024
CHECKPOINT = "checkpoints/latest.pt"


@dataclass
class TrainConfig:
    """Settings of `procsplat train` (defaults run the demo on a CPU in minutes)."""

    scene: Optional[str] = None
    """ScanNet scene id (e.g. scene0011_00, looked up under --scannet-root or $SCANNET_ROOT), or a
    path to a scene folder (ScanNet raw/exported, 7-Scenes style). None: the built-in demo."""
    scannet_root: Optional[Path] = None
    out: Path = Path("runs")
    """Runs are written to <out>/<run-name>/."""
    run_name: str = ""
    """Defaults to the scene name."""
    fit: Literal["ga", "gt", "none"] = "ga"
    """How objects get their programs: "ga" (memetic search, the method), "gt" (ground truth of a
    synthetic scene's gt.json: an oracle for experiments), "none" (free Gaussians only)."""
    fit_preset: str = "fast"
    fits_from: Optional[Path] = None
    """Use the objects of a `procsplat fit` summary.json instead of fitting again."""
    joint_shape: bool = True
    """Optimise shape parameters and poses jointly with the Gaussians (False: shapes frozen)."""
    steps: int = 250
    width: int = 224
    """Training/evaluation image width (frames are resized, intrinsics scaled)."""
    max_frames: int = 48
    stride: int = 1
    holdout_every: int = 8
    sh_degree: int = 1
    gaussians_per_m2: float = 3000.0
    max_gaussians_per_object: int = 4000
    max_background: int = 15000
    background_voxel: float = 0.05
    depth_weight: float = 0.2
    offset_weight: float = 10.0
    checkpoint_every: int = 50
    resume: bool = False
    """Continue from <run>/checkpoints/latest.pt."""
    backend: Literal["auto", "torch", "gsplat"] = "auto"
    seed: int = 0
    video_frames: int = 24
    view: bool = False
    """Serve the viewer during training (fitted shapes as they come, splats as they optimise),
    then the finished run for editing until Ctrl-C (see `procsplat view`)."""
    port: int = 8080
    host: str = "127.0.0.1"


def _atomic_save(obj, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def demo_scene_path(out: Path) -> Path:
    """The built-in demo: a synthetic scene with a fixed seed, generated once under <out>/_demo."""
    from procsplat.synth import SynthConfig, generate

    cfg = SynthConfig(out=Path(out) / "_demo", seed=DEMO_SEED, num_frames=48, width=320, height=240,
                      num_objects=3)
    path = Path(cfg.out) / cfg.resolved_scene_id()
    if not (path / "gt.json").is_file():
        generate(cfg)
    return path


def load_training_scene(cfg: TrainConfig):
    from procsplat.readers import load_scene

    if cfg.scene is None:
        path = demo_scene_path(cfg.out)
        return load_scene(path, width=cfg.width, max_frames=cfg.max_frames, stride=cfg.stride), path
    candidate = Path(cfg.scene)
    if candidate.exists():
        return load_scene(candidate, width=cfg.width, max_frames=cfg.max_frames, stride=cfg.stride), candidate
    if cfg.scannet_root is not None:
        os.environ["SCANNET_ROOT"] = str(cfg.scannet_root)
    scene = load_scene(None, scene=cfg.scene, width=cfg.width, max_frames=cfg.max_frames, stride=cfg.stride)
    return scene, scene.source


def gt_specs(scene_path: Path) -> list:
    gt_file = Path(scene_path) / "gt.json"
    if not gt_file.is_file():
        raise FileNotFoundError(f"{gt_file}: --fit gt needs a synthetic scene with gt.json")
    gt = json.loads(gt_file.read_text())
    return [ObjectSpec(o["instance_id"], o["category"], o["program"], o["parameters"], o["yaw"], o["translation"])
            for o in gt["objects"]]


def fit_specs(cfg: TrainConfig, scene, scene_path: Path, log, on_fit=None) -> list:
    if cfg.fit == "none":
        return []
    if cfg.fits_from is not None:
        from procsplat.fit_scene import load_fit_summary

        return load_fit_summary(cfg.fits_from)
    if cfg.fit == "gt":
        return gt_specs(scene_path)
    from procsplat.fit_scene import fit_scene

    return [spec for spec, _ in fit_scene(scene, preset=cfg.fit_preset, seed=cfg.seed, log=log, on_fit=on_fit)]


def split_frames(n: int, every: int) -> tuple[list, list]:
    test = [i for i in range(n) if every > 0 and i % every == 0]
    train = [i for i in range(n) if i not in set(test)]
    return train, test


def frame_tensors(scene, i: int):
    f = scene.frames[i]
    rgb = torch.from_numpy(f.rgb.astype(np.float32) / 255.0)
    depth = torch.from_numpy(np.array(f.depth, np.float32))
    K = torch.from_numpy(np.asarray(scene.frames.K, np.float64))
    c2w = torch.from_numpy(np.asarray(scene.frames.poses[i], np.float64))
    return rgb, depth, K, torch.linalg.inv(c2w)


class Trainer:
    def __init__(self, cfg: TrainConfig, log=print, on_fit=None):
        """on_fit(spec, result): called after each object is fitted (the viewer draws it)."""
        self.cfg, self.log = cfg, log
        self.on_step = None  # on_step(model, step, loss, total_steps), e.g. the training viewer
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.scene, self.scene_path = load_training_scene(cfg)
        self.run = Path(cfg.out) / (cfg.run_name or self.scene.name)
        self.train_ids, self.test_ids = split_frames(len(self.scene.frames), cfg.holdout_every)
        self.step = 0
        ckpt = self.run / CHECKPOINT
        if cfg.resume and ckpt.is_file():
            state = torch.load(ckpt, weights_only=False)
            self.specs = [ObjectSpec.from_json(d) for d in state["specs"]]
            self.model = self._build(self.specs, background_points=state["background_size"])
            self.model.load_state_dict(state["model"])
            self._make_optimizer()
            self.optimizer.load_state_dict(state["optimizer"])
            self.step = int(state["step"])
            torch.set_rng_state(state["torch_rng"])
            random.setstate(state["py_rng"])
            self.log(f"resumed {self.run} at step {self.step}/{cfg.steps}")
        else:
            if cfg.resume:
                self.log(f"no checkpoint at {ckpt}: starting from scratch")
            self.run.mkdir(parents=True, exist_ok=True)
            self.specs = fit_specs(cfg, self.scene, self.scene_path, self.log, on_fit)
            self.model = self._build(self.specs)
            self._make_optimizer()
        (self.run / "config.json").write_text(json.dumps(_jsonable(asdict(cfg)), indent=1) + "\n")

    # -- construction ------------------------------------------------------------------------
    def _build(self, specs, background_points: int | None = None) -> SceneModel:
        cfg = self.cfg
        model = SceneModel(specs, None, sh_degree=cfg.sh_degree, per_area=cfg.gaussians_per_m2,
                           max_per_object=cfg.max_gaussians_per_object, seed=cfg.seed)
        frames = []
        for i in self.train_ids:
            rgb, depth, K, w2c = frame_tensors(self.scene, i)
            frames.append((rgb.numpy(), depth.numpy(), K.numpy(), torch.linalg.inv(w2c).numpy()))
        # Anchored Gaussians on faces no training view sees (insides of cabinets, undersides:
        # about half of them on the synthetic scenes) cannot be fitted and never show; their
        # share of the budget goes to the background instead.
        spare = 0
        with torch.no_grad():
            for a in model.anchored:
                seen = torch.from_numpy(seen_in_frames(a.world().means.numpy(), frames))
                if 0 < int(seen.sum()) < len(seen):
                    spare += len(seen) - int(seen.sum())
                    a.prune(seen.nonzero()[:, 0])
            surface = [a.world().means.numpy() for a in model.anchored]
        frames = frames[::3]
        # Background Gaussians go wherever the fitted surfaces do not explain the scan: observed
        # points farther than a background splat's own size from every anchored Gaussian
        # (not whole instance masks, which would leave the parts a fit misses uncovered).
        masks = near_surface_masks(frames, surface, radius=0.6 * cfg.background_voxel)
        model.background = background_from_frames(frames, masks, voxel=cfg.background_voxel,
                                                  max_points=cfg.max_background + spare, seed=cfg.seed,
                                                  sh_degree=cfg.sh_degree)
        if background_points is not None:  # resuming: the background had been pruned to this size
            model.background.prune(torch.arange(min(background_points, len(model.background.means))))
        _init_colors(model, frames)
        return model

    def _make_optimizer(self) -> None:
        m, groups = self.model, []
        for a in m.anchored:
            groups += [{"params": [a.bary_logits], "lr": 0.02}, {"params": [a.offset], "lr": 1e-3},
                       {"params": [a.angle], "lr": 0.01},
                       {"params": [a.log_scales_plane, a.log_scale_normal], "lr": 0.005},
                       {"params": [a.opacity_logits], "lr": 0.05}, {"params": [a.sh0], "lr": 0.005},
                       {"params": [a.shN], "lr": 0.00025}]
        if self.cfg.joint_shape:
            for o in m.objects:
                groups += [{"params": [o.floats], "lr": 2e-3}, {"params": [o.yaw], "lr": 2e-3},
                           {"params": [o.translation], "lr": 1e-3}]
        b = m.background
        if b is not None and len(b.means):
            groups += [{"params": [b.means], "lr": 1e-4 * 4}, {"params": [b.quats], "lr": 0.001},
                       {"params": [b.log_scales], "lr": 0.005}, {"params": [b.opacity_logits], "lr": 0.05},
                       {"params": [b.sh0], "lr": 0.005}, {"params": [b.shN], "lr": 0.00025}]
        self.optimizer = torch.optim.Adam(groups, eps=1e-15)

    # -- optimisation ------------------------------------------------------------------------
    def loss(self, i: int):
        rgb_t, depth_t, K, w2c = frame_tensors(self.scene, i)
        h, w = rgb_t.shape[:2]
        rgb, depth, _ = self.model.render(w2c, K, w, h, backend=self.cfg.backend)
        loss = photometric_loss(rgb, rgb_t)
        valid = depth_t > 0
        if self.cfg.depth_weight > 0 and bool(valid.any()):
            loss = loss + self.cfg.depth_weight * (depth - depth_t)[valid].abs().mean()
        for a in self.model.anchored:  # keep anchored Gaussians on (not off) their faces
            loss = loss + self.cfg.offset_weight * (a.offset ** 2).mean()
        return loss

    def train(self, progress: bool = True) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        cfg = self.cfg
        if self.step >= cfg.steps:
            return
        rng = random.Random(cfg.seed * 1000 + self.step)
        with Progress(TextColumn("[bold]train"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TextColumn("loss {task.fields[loss]:.4f}"), TimeRemainingColumn(),
                      disable=not progress) as bar:
            task = bar.add_task("train", total=cfg.steps, completed=self.step, loss=0.0)
            while self.step < cfg.steps:
                i = rng.choice(self.train_ids)
                self.optimizer.zero_grad(set_to_none=True)
                loss = self.loss(i)
                loss.backward()
                self.optimizer.step()
                self.step += 1
                bar.update(task, completed=self.step, loss=loss.item())
                if self.on_step is not None:
                    self.on_step(self.model, self.step, loss.item(), cfg.steps)
                if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                    self.save_checkpoint()

    def save_checkpoint(self) -> None:
        state = {"step": self.step, "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "specs": [s.to_json() for s in self.specs], "torch_rng": torch.get_rng_state(),
                 "py_rng": random.getstate(),
                 "background_size": 0 if self.model.background is None else len(self.model.background.means)}
        _atomic_save(state, self.run / CHECKPOINT)

    # -- evaluation --------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict:
        psnrs, ssims, renders = [], [], []
        for i in self.test_ids:
            rgb_t, _, K, w2c = frame_tensors(self.scene, i)
            rgb, _, _ = self.model.render(w2c, K, rgb_t.shape[1], rgb_t.shape[0], backend=self.cfg.backend,
                                          with_depth=False)
            rgb = rgb.clamp(0, 1)
            psnrs.append(psnr(rgb, rgb_t))
            ssims.append(float(ssim(rgb, rgb_t)))
            renders.append((i, rgb, rgb_t))
        return {"psnr": float(np.mean(psnrs)) if psnrs else None, "ssim": float(np.mean(ssims)) if ssims else None,
                "num_test_frames": len(self.test_ids), "renders": renders}


def _init_colors(model: SceneModel, frames: list) -> None:
    """Anchored Gaussians start with the colour of the nearest observed point."""
    from scipy.spatial import cKDTree

    pts, cols = [], []
    for rgb, depth, K, c2w in frames:
        h, w = depth.shape
        ys, xs = np.mgrid[0:h:2, 0:w:2]
        d = depth[ys, xs]
        keep = d > 0
        x = (xs[keep] + 0.5 - K[0, 2]) / K[0, 0] * d[keep]
        y = (ys[keep] + 0.5 - K[1, 2]) / K[1, 1] * d[keep]
        pts.append(np.stack([x, y, d[keep]], 1) @ c2w[:3, :3].T + c2w[:3, 3])
        cols.append(rgb[ys[keep], xs[keep]])
    if not pts or not len(np.concatenate(pts)):
        return
    tree = cKDTree(np.concatenate(pts))
    colors = np.concatenate(cols)
    from procsplat.splats import rgb_to_sh0

    with torch.no_grad():
        for a in model.anchored:
            means = a.world().means.detach().numpy()
            _, idx = tree.query(means, k=1)
            a.sh0.copy_(rgb_to_sh0(torch.from_numpy(colors[idx]).double())[:, None, :])


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [_jsonable(v) for v in d]
    if isinstance(d, Path):
        return str(d)
    return d


def run_train(cfg: TrainConfig, progress: bool = True) -> Path:
    from procsplat.export import export_run

    t0 = time.time()
    view = None
    if cfg.view:
        from viewer.training import TrainingView

        view = TrainingView.from_train_config(cfg)

    def on_fit(spec, result):
        if view is not None:
            view.show_fit_candidate(spec.instance_id, spec.category, spec.program, spec.parameters, spec.yaw,
                                    spec.translation, result.loss)

    trainer = Trainer(cfg, on_fit=on_fit)
    trainer.on_step = view.update_from_model if view is not None else None
    trainer.log(f"scene {trainer.scene.name}: {len(trainer.scene.frames)} frames "
                f"({len(trainer.train_ids)} train, {len(trainer.test_ids)} held out); "
                f"{len(trainer.specs)} procedural objects; run {trainer.run}")
    trainer.train(progress=progress)
    metrics = trainer.evaluate()
    export_run(trainer, metrics, seconds=time.time() - t0)
    trainer.log(f"held-out PSNR {metrics['psnr']:.2f} dB, SSIM {metrics['ssim']:.3f} "
                f"on {metrics['num_test_frames']} frames; outputs in {trainer.run}")
    if view is not None:
        view.finish(trainer.run).wait()
    return trainer.run
