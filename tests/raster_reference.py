"""Brute-force reference rasteriser for tests: every Gaussian against every pixel.

It shares no code with `procsplat.splat.rasterize`: projection and SH colours come from gsplat's own
PyTorch reference (`gsplat.cuda._torch_impl`), and compositing is the plain dense transcription
of gsplat's CUDA forward kernel (no bounding boxes, no pairs, no sorting of pixels):
a (pixels x Gaussians) alpha matrix in depth order, `torch.cumprod` of (1 - alpha), and the
transmittance stop of the kernel. Memory is O(C * H * W * N): tiny images only.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

MAX_DENSE_ENTRIES = 50_000_000


def rasterize_reference(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    width: int,
    height: int,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    sh_degree: Optional[int] = None,
    backgrounds: Optional[Tensor] = None,
    render_mode: str = "RGB",
    eps2d: float = 0.3,
) -> tuple[Tensor, Tensor]:
    """Same arguments and outputs (minus meta) as `procsplat.splat.rasterize.rasterize`."""
    from gsplat.cuda._torch_impl import (
        _fully_fused_projection,
        _quat_scale_to_covar_preci,
        _spherical_harmonics,
    )

    C, N = viewmats.shape[0], means.shape[0]
    if C * height * width * max(N, 1) > MAX_DENSE_ENTRIES:
        raise ValueError(f"rasterize_reference is dense: {C}x{height}x{width} pixels x {N} "
                         f"Gaussians exceeds {MAX_DENSE_ENTRIES} entries")
    covars, _ = _quat_scale_to_covar_preci(quats, scales, True, False, triu=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(
        means, covars, viewmats, Ks, width, height, eps2d=eps2d, near_plane=near_plane,
        far_plane=far_plane)
    if sh_degree is None:
        feats = colors[None].expand(C, -1, -1)
    else:
        campos = torch.inverse(viewmats)[:, :3, 3]
        dirs = means[None] - campos[:, None]
        feats = _spherical_harmonics(sh_degree, dirs, colors[None].expand(C, -1, -1, -1))
        feats = torch.clamp_min(feats + 0.5, 0.0)
    if render_mode == "RGB+ED":
        feats = torch.cat([feats, depths[..., None]], dim=-1)
    elif render_mode != "RGB":
        raise ValueError(f"render_mode must be 'RGB' or 'RGB+ED', got {render_mode!r}")

    ys, xs = torch.meshgrid(torch.arange(height, dtype=means.dtype),
                            torch.arange(width, dtype=means.dtype), indexing="ij")
    pixels = torch.stack([xs.flatten(), ys.flatten()], -1) + 0.5  # (P, 2) pixel centres
    images, alphas = [], []
    for cam in range(C):
        order = torch.sort(depths[cam], stable=True).indices  # front to back, ties by index
        valid = (radii[cam] > 0).all(-1)[order]
        m2d, con = means2d[cam][order], conics[cam][order]
        delta = m2d[None] - pixels[:, None]  # (P, N, 2)
        sigma = (0.5 * (con[:, 0] * delta[..., 0] ** 2 + con[:, 2] * delta[..., 1] ** 2)
                 + con[:, 1] * delta[..., 0] * delta[..., 1])
        alpha = torch.clamp_max(opacities[order] * torch.exp(-sigma), 0.999)
        used = valid & (sigma >= 0) & (alpha >= 1.0 / 255.0)
        alpha = torch.where(used, alpha, torch.zeros_like(alpha))  # skipped = transparent
        t_after = torch.cumprod(1.0 - alpha, dim=1)
        t_before = torch.cat([torch.ones_like(t_after[:, :1]), t_after[:, :-1]], dim=1)
        # The kernel stops *before* the first sample that would bring T to <= 1e-4.
        weights = torch.where(t_after > 1e-4, alpha * t_before, torch.zeros_like(alpha))
        img = weights @ feats[cam][order]
        acc = weights.sum(1, keepdim=True)
        if backgrounds is not None:
            bg = backgrounds[cam]
            if render_mode == "RGB+ED":
                bg = torch.cat([bg, bg.new_zeros(1)])
            img = img + (1.0 - acc) * bg
        images.append(img.reshape(height, width, -1))
        alphas.append(acc.reshape(height, width, 1))
    render_colors, render_alphas = torch.stack(images), torch.stack(alphas)
    if render_mode == "RGB+ED":
        render_colors = torch.cat(
            [render_colors[..., :-1],
             render_colors[..., -1:] / render_alphas.clamp(min=1e-10)], dim=-1)
    return render_colors, render_alphas
