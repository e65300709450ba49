"""Benchmark: procsplat's torch rasteriser (forward + backward) vs gsplat's CPU tile intersection.

Peer: `gsplat.cuda._torch_impl._isect_tiles`, gsplat's own PyTorch reference for *only* the
tile-intersection step of its CPU path (the step before any compositing), run on the same
Gaussians projected by gsplat's `_fully_fused_projection`. Our figure is the whole render:
projection, colours, compositing and the backward pass to every Gaussian parameter.

    python scripts/bench_raster.py            # 10k Gaussians, 320x240
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch
import tyro

from procsplat.splat.rasterize import rasterize


@dataclass
class BenchConfig:
    n_gaussians: int = 10_000
    width: int = 320
    height: int = 240
    rounds: int = 3  # each round: `repeats` timed fwd+bwd of ours, then one run of the peer
    repeats: int = 3
    seed: int = 0
    threads: int = 1  # torch threads (the peer is a Python loop: one core whatever this is)


def random_gaussians(n: int, width: int, height: int, seed: int):
    """Seeded splats inside the view frustum, 2-6 m deep, with sizes of trained indoor 3DGS
    splats (scales log-uniform in 1-5 cm, i.e. sigma of ~1-8 px here), random orientations,
    opacities uniform in [0.05, 1] and RGB colours."""
    g = torch.Generator().manual_seed(seed)
    f = 0.9 * width  # ~58 degree horizontal field of view
    K = torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    z = 2.0 + 4.0 * torch.rand(n, generator=g)
    u = (torch.rand(n, generator=g) * 1.2 - 0.1) * width
    v = (torch.rand(n, generator=g) * 1.2 - 0.1) * height
    means = torch.stack([(u - K[0, 2]) / f * z, (v - K[1, 2]) / f * z, z], dim=-1)
    quats = torch.randn(n, 4, generator=g)
    scales = torch.exp(math.log(0.01) + math.log(5.0) * torch.rand(n, 3, generator=g))
    opacities = 0.05 + 0.95 * torch.rand(n, generator=g)
    colors = torch.rand(n, 3, generator=g)
    return means, quats, scales, opacities, colors, torch.eye(4)[None], K[None]


def time_ours(cfg: BenchConfig, scene, repeats: int) -> tuple[list, list, list, int, float]:
    """Forward, forward+backward (wall) and forward+backward CPU seconds of `repeats` runs
    (after one warm-up run)."""
    means, quats, scales, opacities, colors, viewmats, Ks = scene
    params = [t.clone().requires_grad_(True) for t in (means, quats, scales, opacities, colors)]
    fwd, total, cpu = [], [], []
    for _ in range(repeats + 1):  # first run warms up allocator and caches
        for p in params:
            p.grad = None
        t0, c0 = time.perf_counter(), time.process_time()
        img, alpha, meta = rasterize(*params, viewmats, Ks, cfg.width, cfg.height,
                                     backend="torch")
        t1 = time.perf_counter()
        (img.square().sum() + alpha.sum()).backward()
        t2, c2 = time.perf_counter(), time.process_time()
        fwd.append(t1 - t0)
        total.append(t2 - t0)
        cpu.append(c2 - c0)
    return fwd[1:], total[1:], cpu[1:], meta["n_pairs"], alpha.mean().item()


def time_gsplat_isect(cfg: BenchConfig, scene) -> tuple[float, float, int]:
    """Wall and CPU seconds of one `_isect_tiles` call, and its number of intersections."""
    from gsplat.cuda._torch_impl import (
        _fully_fused_projection,
        _isect_tiles,
        _quat_scale_to_covar_preci,
    )

    means, quats, scales, _, _, viewmats, Ks = scene
    covars, _ = _quat_scale_to_covar_preci(quats, scales, True, False, triu=False)
    radii, means2d, depths, _, _ = _fully_fused_projection(
        means, covars, viewmats, Ks, cfg.width, cfg.height)
    tile_size = 16  # gsplat.rasterization's default
    tile_width = math.ceil(cfg.width / tile_size)
    tile_height = math.ceil(cfg.height / tile_size)
    t0, c0 = time.perf_counter(), time.process_time()
    _, isect_ids, _ = _isect_tiles(means2d, radii, depths, tile_size, tile_width, tile_height,
                                   sort=True)
    return time.perf_counter() - t0, time.process_time() - c0, isect_ids.numel()


def measure(cfg: BenchConfig) -> dict:
    """Interleaved rounds, so that both sides see the same machine load (it is shared).

    Per round: the median of `repeats` of ours and one run of the peer; a ratio reported is
    the median over rounds of (peer / ours) in the same round. Wall-clock is the figure; CPU
    time of this process is shown too, as it is less sensitive to other processes taking turns
    on the cores (with one torch thread, both sides use one core).
    """
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    scene = random_gaussians(cfg.n_gaussians, cfg.width, cfg.height, cfg.seed)
    fwd, total, cpu, isect, isect_cpu, ratios, cpu_ratios = [], [], [], [], [], [], []
    for _ in range(cfg.rounds):
        f, t, c, n_pairs, coverage = time_ours(cfg, scene, cfg.repeats)
        i, ic, n_isects = time_gsplat_isect(cfg, scene)
        fwd += f
        total += t
        cpu += c
        isect.append(i)
        isect_cpu.append(ic)
        ratios.append(i / statistics.median(t))
        cpu_ratios.append(ic / statistics.median(c))
    med = statistics.median
    return dict(fwd=med(fwd), total=med(total), cpu=med(cpu), isect=med(isect),
                isect_cpu=med(isect_cpu), ratio=med(ratios), ratios=ratios,
                cpu_ratio=med(cpu_ratios), n_pairs=n_pairs, coverage=coverage,
                n_isects=n_isects, threads=torch.get_num_threads())


def report(cfg: BenchConfig, r: dict) -> None:
    print(f"scene: {cfg.n_gaussians} Gaussians, {cfg.width}x{cfg.height}, "
          f"{r['n_pairs']} composited (Gaussian, pixel) pairs, mean alpha {r['coverage']:.2f}; "
          f"torch threads: {r['threads']}")
    print(f"procsplat torch rasterize: forward {r['fwd'] * 1e3:.0f} ms, forward+backward "
          f"{r['total'] * 1e3:.0f} ms wall, {r['cpu'] * 1e3:.0f} ms CPU "
          f"(median of {cfg.rounds} x {cfg.repeats})")
    print(f"gsplat _isect_tiles (CPU reference, tile intersection only, {r['n_isects']} "
          f"intersections): {r['isect'] * 1e3:.0f} ms wall, {r['isect_cpu'] * 1e3:.0f} ms CPU "
          f"(median of {cfg.rounds})")
    per_round = ", ".join(f"{x:.1f}" for x in r["ratios"])
    print(f"ratio gsplat isect only / procsplat fwd+bwd: {r['ratio']:.1f}x wall "
          f"(rounds: {per_round}), {r['cpu_ratio']:.1f}x CPU time; target >= 5x")


def main(cfg: BenchConfig) -> None:
    report(cfg, measure(cfg))


if __name__ == "__main__":
    main(tyro.cli(BenchConfig))
