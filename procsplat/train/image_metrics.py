"""Photometric losses and metrics: L1, SSIM (11x11 Gaussian window, as in 3DGS), PSNR."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _window(size: int = 11, sigma: float = 1.5, dtype=torch.float32, device=None) -> torch.Tensor:
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None].repeat(3, 1, 1, 1)


def ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of two (H,W,3) images in [0,1] (same definition as the 3DGS code)."""
    return ssim_map(a, b).mean()


def ssim_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per pixel and channel SSIM (3,H,W) of two (H,W,3) images (zero-padded 11x11 windows, as 3DGS)."""
    x, y = a.permute(2, 0, 1)[None], b.permute(2, 0, 1)[None]
    w = _window(dtype=x.dtype, device=x.device)
    mu_x = F.conv2d(x, w, padding=5, groups=3)
    mu_y = F.conv2d(y, w, padding=5, groups=3)
    sxx = F.conv2d(x * x, w, padding=5, groups=3) - mu_x ** 2
    syy = F.conv2d(y * y, w, padding=5, groups=3) - mu_y ** 2
    sxy = F.conv2d(x * y, w, padding=5, groups=3) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    m = ((2 * mu_x * mu_y + c1) * (2 * sxy + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (sxx + syy + c2))
    return m[0]


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else -10.0 * math.log10(mse)


def masked_psnr(a: torch.Tensor, b: torch.Tensor, mask) -> float:
    """PSNR of two (H,W,3) images in [0,1] over the pixels where the (H,W) mask is true (e.g. an object's
    pixels): the mean squared error of those pixels' channels. NaN for an empty mask."""
    mask = torch.as_tensor(mask, dtype=torch.bool, device=a.device)
    if not bool(mask.any()):
        return float("nan")
    return psnr(a[mask], b[mask])


def masked_ssim(a: torch.Tensor, b: torch.Tensor, mask) -> float:
    """SSIM of two (H,W,3) images averaged over the masked pixels (windows still see their neighbours,
    as in the whole-image SSIM). NaN for an empty mask."""
    mask = torch.as_tensor(mask, dtype=torch.bool, device=a.device)
    if not bool(mask.any()):
        return float("nan")
    return float(ssim_map(a, b)[:, mask].mean())


def photometric_loss(render: torch.Tensor, target: torch.Tensor, ssim_weight: float = 0.2) -> torch.Tensor:
    """3DGS's loss: (1 - w) L1 + w (1 - SSIM)."""
    return (1 - ssim_weight) * (render - target).abs().mean() + ssim_weight * (1 - ssim(render, target))
