"""Micro-benchmark: one training step of (a) procedural vs (c) free Gaussians, alternating in one process.

    python scripts/bench_step.py [--seed 7] [--steps 200] [--rounds 7] [--profile] [--trained-free]

The scene, the start shapes and (a) are `scripts/bench_splat.py`'s (`procsplat.train.bench_splat`): (a)
anchored + background Gaussians with joint shape training, trained `--steps` steps and completed; (c) a
fresh free model of exactly (a)'s Gaussian count (no densification), as in that bench's timing line.
Then rounds of whole shape cycles of (a) and as many steps of (c), one after the other: the figure is the
median over rounds of (a)'s time per step / (c)'s in the same round, so load on a shared machine hits
both sides alike; wall-clock and this process's CPU time (one torch thread: the CPU time leaves out the
time other processes hold the core, so its ratio is the steadier one under load). Also prints, for one
training frame, (Gaussian, pixel) pairs per Gaussian of each model (and of (a)'s anchored and background
Gaussians apart): in the opacity-aware boxes, listed by the rasteriser, reaching alpha >= 1/255, and
composited. `--profile` adds a cProfile (CPU time) of each model's timed steps; `--trained-free` also
times (c1), that bench's budget-1x free model (densified up to (a)'s count while trained `--steps` steps).
"""
from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import tyro

from procsplat.train.bench_splat import BenchSplatConfig, perturbed, short_schedule, train


@dataclass
class StepBenchConfig:
    seed: int = 7
    steps: int = 200
    """Training steps of (a) before timing (its Gaussians' sizes after training matter)."""
    rounds: int = 7
    cycles: int = 3
    """Whole shape cycles of (a) per round (and as many steps of (c))."""
    threads: int = 1
    profile: bool = False
    trained_free: bool = False
    """Also time (c1) bench_splat's budget-1x free model (densified to (a)'s count in `--steps` steps)."""


class _Scene:  # what `bench_splat.train` reads of a SceneBench
    def __init__(self, path: Path, seed: int):
        self.path, self.seed = path, seed


def scene(cfg: BenchSplatConfig, seed: int) -> _Scene:
    from procsplat.data.synth import SynthConfig, ensure_scene

    synth = SynthConfig(out=Path(cfg.out) / "scenes", seed=seed, num_frames=cfg.frames, width=cfg.width,
                        height=cfg.height, num_objects=cfg.objects, texture_frame=cfg.texture_frame)
    return _Scene(ensure_scene(synth, progress=False), seed)


def pair_counts(trainer) -> dict:
    """(Gaussian, pixel) pairs per Gaussian at the first training frame, {group: {box, listed, alpha,
    composited, gaussians}} for all Gaussians and, for a procedural model, its anchored and background
    ones rendered apart: pairs in the opacity-aware boxes, listed by the rasteriser, whose pixel centre
    has o exp(-sigma) >= 1/255 (counted by brute force), composited (front to back, before the
    transmittance stop)."""
    from procsplat.splat import rasterize as R
    from procsplat.splat.model import GaussianSet, render_gaussians
    from procsplat.train.trainer import frame_tensors

    rgb_t, _, K, w2c = frame_tensors(trainer.scene, trainer.train_ids[0])
    h, w = rgb_t.shape[:2]
    eye = torch.linalg.inv(w2c.double())[:3, 3]
    with torch.no_grad():
        g, ranges = trainer.model.gaussians(frames=trainer.shapes.frames(trainer.model), eye=eye)
    fields = ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")
    groups = {"all": (0, len(g))}
    if ranges:
        groups.update(anchored=(0, ranges[-1][1]), background=(ranges[-1][1], len(g)))
    keys_fn, comp = R._pair_keys, R._BandComposite.forward
    counts: dict = {}

    def keys(table, x0, x1, y0, y1, *a, **k):
        out = keys_fn(table, x0, x1, y0, y1, *a, **k)
        counts["box"] += int(((x1 - x0) * (y1 - y0)).sum())
        counts["listed"] += out.numel()
        return out

    def forward(ctx, params, feats, sel, x0, x1, y0, y1, row0, row1, width):
        mx, my, a, b, c, op = params.index_select(1, sel).double()
        for i in range(sel.numel()):  # every pixel of the Gaussian's box rows in this band
            dy = my[i] - (torch.arange(int(y0[i]), int(y1[i]), dtype=torch.float64)[:, None] + 0.5)
            dx = mx[i] - (torch.arange(int(x0[i]), int(x1[i]), dtype=torch.float64)[None, :] + 0.5)
            sigma = 0.5 * (a[i] * dx * dx + c[i] * dy * dy) + b[i] * dx * dy
            counts["alpha"] += int((op[i] * torch.exp(-sigma) >= R.ALPHA_THRESHOLD).sum())
        return comp(ctx, params, feats, sel, x0, x1, y0, y1, row0, row1, width)

    out = {}
    R._pair_keys, R._BandComposite.forward = keys, forward
    try:
        for name, (lo, hi) in groups.items():
            counts.update(box=0, listed=0, alpha=0)
            part = GaussianSet(*[getattr(g, f)[lo:hi] for f in fields])
            with torch.no_grad():
                info = render_gaussians(part, trainer.model.sh_degree, w2c, K, w, h, backend="torch", meta=True)[3]
            n = max(hi - lo, 1)
            out[name] = {k: v / n for k, v in counts.items()} | {"composited": info["n_pairs"] / n,
                                                                 "gaussians": hi - lo}
    finally:
        R._pair_keys, R._BandComposite.forward = keys_fn, comp
    return out


def timed(trainer, n: int, prof: cProfile.Profile | None) -> tuple[float, float]:
    """Wall and CPU (this process) seconds per step of n steps."""
    if prof is not None:
        prof.enable()
    t, c = time.perf_counter(), time.process_time()
    for _ in range(n):
        trainer.step()
    s = ((time.perf_counter() - t) / n, (time.process_time() - c) / n)
    if prof is not None:
        prof.disable()
    return s


def main(cfg: StepBenchConfig) -> None:
    torch.set_num_threads(cfg.threads)
    bc = replace(BenchSplatConfig(), seeds=(cfg.seed,), steps=cfg.steps)
    bench = scene(bc, cfg.seed)
    from procsplat.train.trainer import gt_specs

    start = perturbed(gt_specs(bench.path), bc.perturb_cm / 100.0, cfg.seed)
    fits = Path(bc.out) / "runs" / f"{bench.path.name}_start.json"
    fits.parent.mkdir(parents=True, exist_ok=True)
    fits.write_text(json.dumps({"objects": [s.to_json() for s in start]}))
    t0 = time.perf_counter()
    a, _ = train(bc, bench, "a_step", fits_from=fits, joint_shape=True, init=bc.init)
    n_a = len(a.model.gaussians()[0])
    models = {"a": a, "c": train(replace(bc, steps=0), bench, "c_step", fit="none",
                                 init=replace(bc.init, max_background=n_a))[0]}
    if cfg.trained_free:
        models["c1"] = train(bc, bench, "c1_step", fit="none", densify=True, strategy=short_schedule(cfg.steps, n_a),
                             init=replace(bc.init, max_background=n_a // 2))[0]
    print(f"scene seed {cfg.seed}: (a) {n_a} Gaussians, trained {cfg.steps} steps; (c) fresh, "
          + ("(c1) trained, " if cfg.trained_free else "")
          + f"{', '.join(str(len(t.model.gaussians()[0])) for k, t in models.items() if k != 'a')} Gaussians; "
          f"{time.perf_counter() - t0:.0f} s; torch threads {torch.get_num_threads()}")
    for name, t in models.items():
        for group, p in pair_counts(t).items():
            print(f"pairs per Gaussian, frame 0, ({name}) {group} ({p['gaussians']}): box {p['box']:.1f}, listed "
                  f"{p['listed']:.1f}, alpha>=1/255 {p['alpha']:.1f}, composited {p['composited']:.1f}")
    for t in models.values():
        t.densify_state = None
    n = cfg.cycles * a.shapes.period(a.step_count)
    profs = {k: cProfile.Profile(time.process_time) if cfg.profile else None for k in models}
    for t in models.values():  # warm-up
        timed(t, n, None)
    times: dict = {k: [] for k in models}
    for _ in range(cfg.rounds):
        for k, t in models.items():
            times[k].append(timed(t, n, profs[k]))
    load = os.getloadavg()
    med = statistics.median
    for i, kind in enumerate(("wall", "CPU")):
        for k in models:
            if k == "a":
                continue
            ratios = [x[i] / y[i] for x, y in zip(times["a"], times[k])]
            print(f"step {kind}: (a) {1e3 * med(x[i] for x in times['a']):.1f} ms, ({k}) "
                  f"{1e3 * med(y[i] for y in times[k]):.1f} ms (medians of {cfg.rounds} rounds x {n} steps); ratio "
                  f"a/{k} {med(ratios):.3f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"load average {load[0]:.2f} (CPU time: this process only, robust to other processes on the cores)")
    for name, prof in profs.items():
        if prof is not None:
            out = io.StringIO()
            for key in ("tottime", "cumulative"):
                pstats.Stats(prof, stream=out).sort_stats(key).print_stats(30)
            print(f"--- profile ({name}), {cfg.rounds * n} steps: by own time, then cumulative ---")
            print("\n".join(line for line in out.getvalue().splitlines() if "(" in line or "ncalls" in line))

if __name__ == "__main__":
    main(tyro.cli(StepBenchConfig))
