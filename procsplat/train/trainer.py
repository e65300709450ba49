"""`procsplat train`: scan -> fitted procedural objects -> joint photometric optimisation -> exports.

Stages, each resumable: load the scene (the built-in synthetic demo when no scene is given), fit a
program to every object of a known category (each saved under <run>/fits/ as it finishes), anchor
Gaussians on the fitted surfaces and seed background Gaussians from the scan, then optimise
everything jointly -- shape parameters, poses and Gaussian attributes -- with 0.8 L1 + 0.2 D-SSIM
on RGB, L1 on depth, a regulariser that keeps anchored Gaussians on their faces and, for learnable
shapes, each object's fitting loss against the training frames' depth (`geometry.ShapeEvidence`,
--geometry-weight), which keeps photometric gradients from trading geometry for appearance. Every
8th frame is held out for evaluation.

`Trainer.step()` is one optimisation step; observers (the live viewer, a test) subscribe with
`trainer.callbacks.append(cb)`, where cb may define `on_fit(spec, doc)` and
`on_step(trainer, loss)`.
"""
from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from procsplat.errors import ProcsplatError
from procsplat.fit.spec import ObjectSpec
from procsplat.run.rundir import CHECKPOINT, load_checkpoint, model_from_state, save_checkpoint, write_json
from procsplat.train.config import TrainConfig
from procsplat.train.image_metrics import photometric_loss, psnr, ssim


def gt_specs(scene_path: Path) -> list:
    from procsplat.run.rundir import read_json

    gt_file = Path(scene_path) / "gt.json"
    if not gt_file.is_file():
        raise ProcsplatError(f"{gt_file}: --fit gt needs a synthetic scene with gt.json")
    gt = read_json(gt_file, "ground truth")
    return [ObjectSpec(o["instance_id"], o["category"], o["program"], o["parameters"], o["yaw"], o["translation"])
            for o in gt["objects"]]


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


def adam(groups: list) -> torch.optim.Adam:
    """Adam (eps 1e-15) over the parameter groups, fused where this torch has a fused kernel for their
    device (CPU from torch 2.4): one call per tensor instead of about ten ops, which matters for a
    procedural model's ~40 small tensors (bench seed 7, CPU: 2.5 -> 1.5 ms per step; the same updates to
    within an ulp)."""
    try:
        return torch.optim.Adam(groups, eps=1e-15, fused=True)
    except RuntimeError:  # no fused kernel for this device in this torch
        return torch.optim.Adam(groups, eps=1e-15)


def _jsonable(d):
    if isinstance(d, dict):
        return {k: _jsonable(v) for k, v in d.items()}
    if isinstance(d, (list, tuple)):
        return [_jsonable(v) for v in d]
    if isinstance(d, Path):
        return str(d)
    return d


class Trainer:
    """One run: `Trainer(cfg)` loads the scan; `prepare()` fits (or reuses fits) and builds the model
    (or resumes its checkpoint); `step()` optimises once; `train()` loops with progress and checkpoints."""

    def __init__(self, cfg: TrainConfig, log=print, callbacks: list | None = None, fit_missing: bool = True):
        from procsplat.data.config import open_scene

        self.cfg, self.log = cfg, log
        self.fit_missing = fit_missing  # False: every object's fit must be in <run>/fits/ already (batch)
        self.callbacks = list(callbacks or [])
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        self.scene, self.scene_path = open_scene(cfg.data, demo_root=cfg.out, log=log)
        self.run = Path(cfg.out) / (cfg.run_name or self.scene.name)
        self.train_ids, self.test_ids = split_frames(len(self.scene.frames), cfg.holdout_every)
        if not self.train_ids:
            raise ProcsplatError(f"{self.scene_path}: {len(self.scene.frames)} usable frame(s), none left for "
                                 f"training after holding out every {cfg.holdout_every}th")
        self.step_count = 0
        self.seconds_before = 0.0  # training seconds of earlier sessions of this run (resume)
        self.model = self.optimizer = None
        self.device = torch.device(cfg.device)
        self.densify_state = None  # DensifyStrategy accumulators (cfg.densify)
        self.detail = None  # DetailState: anchored densification (cfg.detail)
        self._info = None  # the last training render's rasteriser meta (densification reads it)
        self.evidence = None  # ShapeEvidence: the observed depth each learnable shape is held to
        self.shapes = None  # ShapeSchedule: the objects' meshes per step and when the shapes step
        self._session_start = time.monotonic()
        self.specs: list = []
        self._rng = random.Random(cfg.seed)

    def _emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, event, None)
            if fn is not None:
                fn(*args)

    # -- stages ----------------------------------------------------------------------------------
    def fit(self) -> list:
        cfg = self.cfg
        if cfg.fit == "none":
            return []
        if cfg.fits_from is not None:
            from procsplat.fit.scene import load_fit_summary

            return load_fit_summary(cfg.fits_from)
        if cfg.fit == "gt":
            return gt_specs(self.scene_path)
        from procsplat.fit.scene import FitStore, fit_scene

        store = FitStore(self.run / "fits")
        existing = {p.name for p in store.folder.glob("object_*.json")}
        fitted = fit_scene(self.scene, replace(cfg.ga, seed=cfg.seed), log=self.log,
                           on_fit=lambda spec, doc: self._emit("on_fit", spec, doc), store=store,
                           fit_missing=self.fit_missing)
        # fits reused from an interrupted session count towards the run's time
        self.seconds_before += sum(float(doc.get("seconds", 0.0)) for spec, doc in fitted
                                   if store.path(spec.instance_id).name in existing)
        return [spec for spec, _ in fitted]

    def training_frames(self) -> list:
        frames = []
        for i in self.train_ids:
            rgb, depth, K, w2c = frame_tensors(self.scene, i)
            frames.append((rgb.numpy(), depth.numpy(), K.numpy(), torch.linalg.inv(w2c).numpy()))
        return frames

    def prepare(self) -> None:
        """Fit and initialise, or resume: fitted objects from <run>/fits/, the model, optimiser, step,
        RNG and time so far from <run>/checkpoints/latest.pt."""
        from procsplat.splat.init import initialise_model

        cfg = self.cfg
        self._session_start = time.monotonic()
        self.run.mkdir(parents=True, exist_ok=True)
        write_json(self.run / "config.json", _jsonable(asdict(cfg)))
        ckpt = self.run / CHECKPOINT
        if cfg.resume and ckpt.is_file():
            state = load_checkpoint(ckpt)
            self.model = model_from_state(state, ckpt).to(self.device)
            self.specs = list(self.model.specs)
            train = state.get("train")
            if not isinstance(train, dict):
                raise ProcsplatError(f"{ckpt}: field 'train' missing (a model.pt, not a training checkpoint)")
            self._make_optimizer()
            try:
                self.optimizer.load_state_dict(train["optimizer"])
                self.step_count = int(train["step"])
                self.seconds_before = float(train.get("seconds", 0.0))
                torch.set_rng_state(train["torch_rng"])
                self._rng.setstate((train["py_rng"][0], tuple(train["py_rng"][1]), train["py_rng"][2]))
            except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as e:
                raise ProcsplatError(f"{ckpt}: cannot restore the training state ({type(e).__name__}: {e})") from None
            self.log(f"resumed {self.run} at step {self.step_count}/{cfg.steps}")
            self._make_evidence()
            self._make_densify()
            return
        if cfg.resume:
            self.log(f"no checkpoint at {ckpt}: training from the start")
        else:  # a fresh run in this folder: earlier checkpoints are not reused, nor earlier fits unless
            if self.fit_missing:  # they were made beforehand as this run's input (fit_missing=False)
                shutil.rmtree(self.run / "fits", ignore_errors=True)
            ckpt.unlink(missing_ok=True)
        self.specs = self.fit()
        self.model = initialise_model(self.specs, self.training_frames(), cfg.init, seed=cfg.seed).to(self.device)
        self._make_optimizer()
        self._make_evidence()
        self._make_densify()

    def _make_densify(self) -> None:
        """With cfg.densify: the strategy's state, scene_scale as gsplat's (1.1 x the largest distance of a
        training camera from their mean). With cfg.detail.fraction: the anchored densification's state."""
        from procsplat.splat.detail import DetailState

        self.detail = None
        if self.cfg.detail.fraction > 0 and len(self.model.anchored):
            self.detail = DetailState(self.model, self.cfg.detail, self.cfg.steps)
            self.detail.next = max(self.detail.next, self.step_count)
            self._detail_gen = torch.Generator().manual_seed(self.cfg.seed)
        self.densify_state = None
        if self.cfg.densify:
            centres = np.stack([np.asarray(self.scene.frames.poses[i], np.float64)[:3, 3] for i in self.train_ids])
            scale = 1.1 * float(np.linalg.norm(centres - centres.mean(0), axis=1).max())
            self.densify_state = self.cfg.strategy.initialize_state(scene_scale=scale)

    def _make_evidence(self) -> None:
        """With learnable shapes, each object's fitting loss on the training frames' depth (see
        `procsplat.train.geometry`)."""
        from procsplat.train.geometry import ShapeEvidence

        from procsplat.train.shapestep import ShapeSchedule

        self.evidence = None
        if self.cfg.joint_shape and self.cfg.geometry_weight > 0 and len(self.model.objects):
            self.evidence = ShapeEvidence(self.scene, self.train_ids, self.model, log=self.log)
        self.shapes = ShapeSchedule(self.cfg.shape_every, self.cfg.joint_shape, self.evidence,
                                    self.cfg.geometry_weight, self.cfg.shape_every_settled, self.settle_step(),
                                    self.cfg.evidence_every)

    def settle_step(self) -> int | None:
        """The step from which shapes step every cfg.shape_every_settled steps: cfg.shape_settle_at of the run,
        after at least cfg.shape_settle_min shape steps at cfg.shape_every, up to a multiple of both cycle
        lengths (no cycle straddles it); None: never."""
        cfg = self.cfg
        if cfg.shape_settle_at >= 1 or cfg.shape_every_settled == cfg.shape_every:
            return None
        whole = math.lcm(max(int(cfg.shape_every), 1), max(int(cfg.shape_every_settled), 1))
        step = max(int(cfg.shape_settle_at * cfg.steps), int(cfg.shape_settle_min) * int(cfg.shape_every))
        return -(-step // whole) * whole

    def _make_optimizer(self) -> None:
        m, lr, groups = self.model, self.cfg.optim, []
        for a in m.anchored:
            groups += [{"params": [a.bary_logits], "lr": lr.bary}, {"params": [a.offset], "lr": lr.offset},
                       {"params": [a.angle], "lr": lr.angle},
                       {"params": [a.log_scales_plane, a.log_scale_normal], "lr": lr.anchored_scales},
                       {"params": [a.opacity_logits], "lr": lr.anchored_opacity},
                       {"params": [a.sh0], "lr": lr.anchored_sh0}, {"params": [a.shN], "lr": lr.anchored_shN},
                       {"params": [a.shading], "lr": lr.anchored_shading}]
        if self.cfg.joint_shape:
            for o in m.objects:
                groups += [{"params": [o.floats], "lr": lr.shape}, {"params": [o.yaw], "lr": lr.yaw},
                           {"params": [o.translation], "lr": lr.translation}]
        b = m.background
        if b is not None and len(b.means):
            groups += [{"params": [b.means], "lr": lr.means}, {"params": [b.quats], "lr": lr.quats},
                       {"params": [b.log_scales], "lr": lr.scales}, {"params": [b.opacity_logits], "lr": lr.opacity},
                       {"params": [b.sh0], "lr": lr.sh0}, {"params": [b.shN], "lr": lr.shN}]
        self.optimizer = adam(groups)

    # -- optimisation ------------------------------------------------------------------------------
    def loss(self, i: int):
        """The step's loss on frame i: photometric, depth and stay-on-face terms (the shape evidence,
        constant within a shape cycle, is `self.shapes`' to differentiate)."""
        rgb_t, depth_t, K, w2c = (t.to(self.device) for t in frame_tensors(self.scene, i))
        h, w = rgb_t.shape[:2]
        frames = self.shapes.frames(self.model)  # the shape cycle's (see `procsplat.train.shapestep`)
        rgb, depth, _, self._info = self.model.render(w2c, K, w, h, backend=self.cfg.backend, meta=True,
                                                      frames=frames)
        if self.densify_state is not None or self.detail is not None:
            self.cfg.strategy.step_pre_backward(self._info)
        loss = photometric_loss(rgb, rgb_t)
        valid = depth_t > 0
        if self.cfg.depth_weight > 0 and bool(valid.any()):
            loss = loss + self.cfg.depth_weight * (depth - depth_t)[valid].abs().mean()
        for a in self.model.anchored:  # keep anchored Gaussians on (not off) their faces
            loss = loss + self.cfg.offset_weight * (a.offset ** 2).mean()
        return loss

    def step(self) -> float:
        """One optimisation step on a random training frame; returns its loss (with the shape
        evidence at its last evaluation). Shapes and poses step on `cfg.shape_every`'s schedule
        (`cfg.shape_every_settled` from `settle_step()` on)."""
        if self.model is None:
            self.prepare()
        if self.step_count == self.prune_step():
            self.prune_anchored()
        if self.is_convert_step(self.step_count):
            self.convert_background()
        if self.detail is not None and self.detail.due(self.step_count, self.shapes.pending == 0):
            self.detail.refine(self.model, self.optimizer, self.step_count, self._detail_gen)
            self.shapes.invalidate()  # the faces changed: a new shape cycle
        i = self._rng.choice(self.train_ids)
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.loss(i)
        loss.backward()
        value = float(loss.item()) + self.shapes.evidence_value()
        self.shapes.after_backward(self.step_count)  # on a shape step: the shapes' gradient
        self._densify()
        if self.detail is not None:
            self.detail.accumulate(self.model, self._info, self.step_count)
        self._info = None
        self.optimizer.step()
        self.step_count += 1
        self._emit("on_step", self, value)
        return value

    def prune_step(self) -> int | None:
        """The step at whose start anchored Gaussians are pruned (cfg.prune_anchored), at a shape cycle's
        start; None: never."""
        cfg = self.cfg
        if cfg.prune_anchored <= 0 or not len(self.model.anchored):
            return None
        step, settle = int(cfg.prune_anchored_at * cfg.steps), self.settle_step()
        every = cfg.shape_every_settled if settle is not None and step >= settle else cfg.shape_every
        step = step // every * every  # the start of its cycle (the settle step starts one of each length)
        return step if 0 < step < cfg.steps else None

    def prune_anchored(self) -> list[int]:
        """Remove the cfg.prune_anchored least contributing anchored Gaussians of each object (their
        contribution summed over the training frames); returns how many per object."""
        from procsplat.splat.densify import prune_anchored

        views = []
        for i in self.train_ids:
            rgb, _, K, w2c = frame_tensors(self.scene, i)
            views.append((w2c.to(self.device), K.to(self.device), rgb.shape[1], rgb.shape[0]))
        removed = prune_anchored(self.model, self.optimizer, views, self.cfg.prune_anchored, self.cfg.backend)
        self.shapes.invalidate()  # the faces changed: a new shape cycle
        self.log(f"pruned {', '.join(map(str, removed))} anchored Gaussians (per object) of least contribution "
                 f"at step {self.step_count}")
        return removed

    def is_convert_step(self, step: int) -> bool:
        """Whether background Gaussians on objects' surfaces are converted at the start of `step`
        (cfg.convert: every `every` steps rounded up to whole shape cycles, from `start` to `stop` of the run)."""
        c, cfg = self.cfg.convert, self.cfg
        if c.every <= 0 or not len(self.model.anchored) or not c.start * cfg.steps <= step < c.stop * cfg.steps:
            return False
        whole = math.lcm(max(int(cfg.shape_every), 1), max(int(cfg.shape_every_settled), 1))
        return step > 0 and step % (-(-int(c.every) // whole) * whole) == 0

    def convert_background(self) -> list[int]:
        """Background Gaussians on objects' surfaces become anchored ones (`procsplat.splat.convert`)."""
        from procsplat.splat.convert import convert_background

        done = convert_background(self.model, self.optimizer, self.cfg.convert, self.densify_state)
        self.shapes.invalidate()  # the faces changed: a new shape cycle
        self.log(f"converted {', '.join(map(str, done))} background Gaussians (per object) at step {self.step_count}")
        return done

    def _densify(self) -> None:
        """cfg.densify: the strategy's post-backward step on the background Gaussians (the last rows of
        the render, after every object's anchored ones)."""
        b = self.model.background
        if self.densify_state is None or b is None or not len(b.means):
            return
        offset = sum(int(a.face.shape[0]) for a in self.model.anchored)
        self.cfg.strategy.step_post_backward(b, self.optimizer, self.densify_state, self.step_count, self._info,
                                             offset=offset)

    def train(self, progress: bool = True) -> None:
        """Steps up to cfg.steps, a checkpoint every cfg.checkpoint_every steps and at the end."""
        from procsplat.progress import Progress

        if self.model is None:
            self.prepare()
        cfg = self.cfg
        with Progress("train", cfg.steps, done=self.step_count, enabled=progress) as bar:
            while self.step_count < cfg.steps:
                loss = self.step()
                bar.update(self.step_count, loss=loss)
                if self.step_count % cfg.checkpoint_every == 0 or self.step_count == cfg.steps:
                    self.save_checkpoint()

    def complete(self) -> list[int]:
        """Gaussians on the object surface no training frame sees (`procsplat.splat.complete`), coloured
        from the trained ones of the same part; returns how many per object. After training: the
        optimiser is rebuilt, and the last checkpoint keeps the model as trained (a resumed run
        completes it again, the same way)."""
        from procsplat.splat.complete import complete_unseen

        if self.model is None:
            self.prepare()
        added = complete_unseen(self.model.cpu(), self.training_frames(), self.cfg.init.gaussians_per_m2,
                                self.cfg.complete, seed=self.cfg.seed)
        self.model.to(self.device)
        if any(added):
            self.log(f"completed the unseen surface: {', '.join(str(n) for n in added)} Gaussians added "
                     f"(per object, coloured from their parts' trained Gaussians)")
        self._make_optimizer()
        return added

    def seconds(self) -> float:
        """Wall time of this run so far, summed over every session (resumes) of it."""
        return self.seconds_before + time.monotonic() - self._session_start

    def save_checkpoint(self) -> None:
        st = self._rng.getstate()
        save_checkpoint(self.run / CHECKPOINT, self.model, {
            "step": self.step_count, "optimizer": self.optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
            "py_rng": [st[0], list(st[1]), st[2]], "seconds": self.seconds()})

    # -- evaluation ----------------------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict:
        psnrs, ssims, renders = [], [], []
        for i in self.test_ids:
            rgb_t, _, K, w2c = frame_tensors(self.scene, i)
            rgb, _, _ = self.model.render(w2c, K, rgb_t.shape[1], rgb_t.shape[0], backend=self.cfg.backend,
                                          with_depth=False)
            rgb = rgb.clamp(0, 1).cpu()
            psnrs.append(psnr(rgb, rgb_t))
            ssims.append(float(ssim(rgb, rgb_t)))
            renders.append((i, rgb, rgb_t))
        return {"psnr": float(np.mean(psnrs)) if psnrs else None, "ssim": float(np.mean(ssims)) if ssims else None,
                "num_test_frames": len(self.test_ids), "renders": renders}

    def export(self, evaluation: dict) -> None:
        from procsplat.run.export import export_run

        backend = self.cfg.backend
        if self.device.type != "cpu":  # the exports read tensors as numpy arrays: on the CPU
            self.model.cpu()
            backend = "auto"
        export_run(self.run, self.model, self.scene.name, self.scene_path, evaluation,
                   {"steps": self.step_count, "seconds": self.seconds(), "joint_shape": self.cfg.joint_shape,
                    "fit": self.cfg.fit}, cameras=self.training_cameras(), video_frames=self.cfg.video_frames,
                   backend=backend)

    def training_cameras(self):
        """The training frames' cameras (the turntables stay where they were)."""
        from procsplat.run.orbit import Cameras

        f = self.scene.frames
        return Cameras(np.stack([np.asarray(f.poses[i], np.float64) for i in self.train_ids]),
                       np.asarray(f.K, np.float64), int(f.width), int(f.height))


def _holds_finished_work(run: Path) -> bool:
    return any((run / d).is_dir() and any((run / d).iterdir()) for d in ("fits", "checkpoints")) or \
        (run / "model.pt").is_file()


def run_train(cfg: TrainConfig, progress: bool = True, log=print, callbacks: list | None = None,
              fit_missing: bool = True) -> Path:
    """The whole pipeline; a run that fails leaves no run folder behind unless it holds finished work
    (fitted objects, checkpoints), which --resume picks up. fit_missing=False: the objects were fitted
    before (into <run>/fits/, with cfg.resume so they are kept) and none is fitted here."""
    trainer = Trainer(cfg, log=log, callbacks=callbacks, fit_missing=fit_missing)
    existed = trainer.run.exists()
    try:
        trainer.prepare()
        log(f"scene {trainer.scene.name}: {len(trainer.scene.frames)} frames ({len(trainer.train_ids)} train, "
            f"{len(trainer.test_ids)} held out); {len(trainer.specs)} procedural objects; run {trainer.run}")
        trainer.train(progress=progress)
        trainer.complete()
        evaluation = trainer.evaluate()
        trainer.export(evaluation)
    except BaseException:
        if not existed and trainer.run.exists() and not _holds_finished_work(trainer.run):
            shutil.rmtree(trainer.run, ignore_errors=True)
        raise
    log(f"held-out PSNR {evaluation['psnr']:.2f} dB, SSIM {evaluation['ssim']:.3f} on "
        f"{evaluation['num_test_frames']} frames; outputs in {trainer.run}")
    return trainer.run
