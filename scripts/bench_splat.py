"""Procedural Gaussian splatting ablation on a synthetic scene, and the CPU rasteriser's speed.

    python scripts/bench_splat.py [--seed 7] [--steps 300]

Prints held-out PSNR and Gaussian count for
  (a) anchored + background Gaussians with joint shape optimisation (the method),
  (b) the same with shape parameters and poses frozen,
  (c) free Gaussians only (no programs) with the same Gaussian budget,
all from the same GA fits (fitted once) and the same number of steps; then the CPU rasteriser's
forward+backward time for 10k Gaussians at 320x240 and its ratio to gsplat's own CPU reference
for only the tile-intersection step (`_isect_tiles`) on the same Gaussians (scripts/bench_raster.py:
one torch thread, interleaved rounds, wall and CPU time).
"""
from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
import tempfile

import tyro


@dataclass
class BenchSplatConfig:
    seed: int = 7
    """Scene seed (not the demo's)."""
    steps: int = 300
    frames: int = 40
    width: int = 256
    preset: str = "fast"
    """GA preset of the fits (fast, default, paper)."""
    out: Path = Path(tempfile.gettempdir()) / "procsplat_bench_splat"


def raster_figures():
    spec = importlib.util.spec_from_file_location("bench_raster", Path(__file__).with_name("bench_raster.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the file executes
    spec.loader.exec_module(mod)
    cfg = mod.BenchConfig()
    return mod, cfg, mod.measure(cfg)


def main(cfg: BenchSplatConfig) -> None:
    from procsplat.data.config import SceneConfig
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.fit.scene import fit_scene
    from procsplat.fit.search import preset
    from procsplat.splat.init import InitConfig
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    scene_dir = Path(cfg.out) / "scenes" / f"synth{cfg.seed:04d}_00"
    if not (scene_dir / "gt.json").is_file():
        generate(SynthConfig(out=Path(cfg.out) / "scenes", seed=cfg.seed, num_frames=cfg.frames, width=320,
                             height=240, num_objects=3), progress=False)
    scene = load_scene(scene_dir, width=cfg.width)
    t0 = time.time()
    fitted = fit_scene(scene, preset(cfg.preset, seed=cfg.seed), progress=False, log=lambda *a: None)
    fits = Path(cfg.out) / "fits.json"
    fits.write_text(json.dumps({"objects": [spec.to_json() for spec, _ in fitted]}))
    print(f"scene {scene.name}: {len(scene.frames)} frames, {len(fitted)} objects fitted "
          f"(GA preset {cfg.preset}, {time.time() - t0:.0f} s)")
    rows = []
    common = dict(data=SceneConfig(scene=str(scene_dir), width=cfg.width), out=Path(cfg.out) / "runs",
                  steps=cfg.steps, checkpoint_every=10 ** 9, seed=cfg.seed)
    variants = [("a) anchored + background, joint shape", dict(fits_from=fits, joint_shape=True)),
                ("b) anchored + background, shape frozen", dict(fits_from=fits, joint_shape=False))]
    budget = None
    for name, kw in variants + [("c) free Gaussians only, same budget", dict(fit="none"))]:
        if kw.get("fit") == "none":
            kw["init"] = InitConfig(max_background=budget)
        t = time.time()
        trainer = Trainer(TrainConfig(run_name=name[:2].strip(") "), **common, **kw), log=lambda *a: None)
        trainer.train(progress=False)
        metrics = trainer.evaluate()
        count = len(trainer.model.gaussians()[0])
        budget = budget or count
        rows.append((name, metrics["psnr"], metrics["ssim"], count, time.time() - t))
    print(f"{'variant':42s} {'PSNR':>7s} {'SSIM':>6s} {'Gaussians':>10s} {'seconds':>8s}")
    for name, p, s, n, sec in rows:
        print(f"{name:42s} {p:7.2f} {s:6.3f} {n:10d} {sec:8.0f}")
    mod, rc, r = raster_figures()
    mod.report(rc, r)


if __name__ == "__main__":
    main(tyro.cli(BenchSplatConfig))
