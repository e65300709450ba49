"""Procedural vs free Gaussian splats on synthetic scenes with ground truth (`procsplat.train.bench_splat`).

    python scripts/bench_splat.py [--seeds 7 8 9] [--steps 200] [--start perturbed|ga] [--threads 1]

For each scene, at equal steps: (a) anchored + background Gaussians with joint shape training, (b) the
same with shapes frozen, (c) free Gaussians with gsplat-style densification at each of `--budgets`
(caps, multiples of (a)'s count). Prints per scene and on average: held-out and novel-view PSNR/SSIM
(whole images and object pixels), depth error, shape-parameter MAE before and after joint training,
Gaussians on objects, edit fidelity, the time per training step of (a) and (c) at equal Gaussian
count; its last line is `summary: heldout_delta_db=... novel_delta_db=... edit_drop_db=...
joint_mae_delta_cm=... object_gaussian_ratio=...`. Every figure is documented in the module.
"""
from __future__ import annotations

import tyro

from procsplat.train.bench_splat import BenchSplatConfig, run

if __name__ == "__main__":
    run(tyro.cli(BenchSplatConfig))
