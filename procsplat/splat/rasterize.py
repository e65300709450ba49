"""Differentiable 3D Gaussian rasterisation: one entry point, two backends.

(Over 500 lines on purpose: the forward pass and its hand-written backward share one band/chunk
schedule and must change together.)

`rasterize` mirrors `gsplat.rasterization` (classic 3DGS, pinhole cameras, no batch
dimensions). Backend "gsplat" calls gsplat's CUDA kernels; backend "torch" is a CPU/any-device
implementation with the same conventions:

* projection: EWA splatting exactly like gsplat's `_fully_fused_projection` (Jacobian with the
  1.3x-FOV clamp, eps2d added to the 2D covariance, radius = ceil(3.33 sigma) per axis, near/far
  culling, off-screen culling);
* colours: real SH like gsplat's `_spherical_harmonics`, then ``clamp_min(c + 0.5, 0)``;
* compositing: pixel centres at +0.5, ``alpha = min(0.999, o * exp(-sigma))``, samples with
  ``sigma < 0`` or ``alpha < 1/255`` skipped, front to back by depth (ties by Gaussian index),
  and a pixel stops at the first sample that would bring transmittance to <= 1e-4 (that sample
  is not composited), as in gsplat's `rasterize_to_pixels` kernel.

The torch backend is "packed": it lists the (Gaussian, pixel) pairs that can reach the alpha
threshold inside each Gaussian's bounding box, as one integer key (pixel, depth rank) each;
a single integer sort groups them by pixel, front to back. The pixels of a band of image rows
are composited at once with a segmented cumulative sum of log(1 - alpha) (float64
accumulation), and the backward pass is hand-written (`_BandComposite`). Bands hold about
`CACHE_PAIRS` pairs, so that their per-pair arrays stay in the CPU caches; consecutive bands
form chunks of at most `max_pairs_per_chunk` pairs, and with several chunks each is
gradient-checkpointed so memory stays bounded. Speed: scripts/bench_raster.py.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from procsplat.errors import ProcsplatError

ALPHA_THRESHOLD = 1.0 / 255.0  # gsplat's ALPHA_THRESHOLD: fainter samples are skipped
MAX_ALPHA = 0.999
TRANSMITTANCE_STOP = 1e-4  # a pixel is done before the sample that brings T to <= this
RADIUS_SIGMAS = 3.33  # gsplat's bounding-box extent in standard deviations
# Row bands of about this many (Gaussian, pixel) box pairs keep a band's per-pair arrays in
# the CPU caches: ~25-35% less time than one band for the whole image (scripts/bench_raster.py,
# 10k Gaussians at 320x240; 2^17 .. 2^19 all do about as well, 2^16 and below pay overheads).
CACHE_PAIRS = 1 << 18
RENDER_MODES = ("RGB", "RGB+ED")
BACKENDS = ("auto", "torch", "gsplat")


class Projection(NamedTuple):
    """Per camera and Gaussian screen-space quantities, gsplat layout (C, N, ...)."""

    radii: Tensor  # (C, N, 2) int32, 0 where culled
    means2d: Tensor  # (C, N, 2) pixels
    depths: Tensor  # (C, N) camera z
    conics: Tensor  # (C, N, 3) inverse 2D covariance (a, b, c): sigma = .5(a dx^2 + c dy^2) + b dx dy
    covars2d: Tensor  # (C, N, 3) 2D covariance (xx, xy, yy) including eps2d


def quat_scale_to_covar(quats: Tensor, scales: Tensor) -> Tensor:
    """World covariances R S S^T R^T (N, 3, 3) from wxyz quaternions (any norm) and scales."""
    w, x, y, z = F.normalize(quats, p=2, dim=-1).unbind(-1)
    sx, sy, sz = scales.unbind(-1)
    # Rows of M = R diag(s), written out per entry: batched 3x3 matmuls (and their autograd)
    # are several times slower than these elementwise ops on CPU.
    m = [[(1 - 2 * (y * y + z * z)) * sx, 2 * (x * y - w * z) * sy, 2 * (x * z + w * y) * sz],
         [2 * (x * y + w * z) * sx, (1 - 2 * (x * x + z * z)) * sy, 2 * (y * z - w * x) * sz],
         [2 * (x * z - w * y) * sx, 2 * (y * z + w * x) * sy, (1 - 2 * (x * x + y * y)) * sz]]
    c = {(i, j): m[i][0] * m[j][0] + m[i][1] * m[j][1] + m[i][2] * m[j][2]
         for i in range(3) for j in range(i, 3)}
    return torch.stack([c[0, 0], c[0, 1], c[0, 2], c[0, 1], c[1, 1], c[1, 2],
                        c[0, 2], c[1, 2], c[2, 2]], dim=-1).reshape(quats.shape[:-1] + (3, 3))


def project_gaussians(
    means: Tensor,  # (N, 3)
    covars: Tensor,  # (N, 3, 3)
    viewmats: Tensor,  # (C, 4, 4)
    Ks: Tensor,  # (C, 3, 3)
    width: int,
    height: int,
    eps2d: float = 0.3,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
) -> Projection:
    """EWA projection with gsplat's pinhole conventions (see `_fully_fused_projection`).

    Written per matrix entry on (C, N) tensors, for speed (see `quat_scale_to_covar`).
    """
    R = [[viewmats[:, i, j, None] for j in range(3)] for i in range(3)]  # (C, 1) each
    mx, my, mz = means.unbind(-1)
    tx, ty, tz = (R[i][0] * mx + R[i][1] * my + R[i][2] * mz + viewmats[:, i, 3, None]
                  for i in range(3))
    depths = tz
    in_depth = (tz > near_plane) & (tz < far_plane)
    # Culled Gaussians (behind the camera, tz ~ 0) must not put inf/nan into the autograd graph.
    tz = torch.where(in_depth, tz, torch.ones_like(tz))

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # (C, 1)
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    # The Jacobian is evaluated at a point clamped to 1.3x the field of view (gsplat/3DGS).
    lim_x_pos, lim_x_neg = (width - cx) / fx + 0.3 * tan_fovx, cx / fx + 0.3 * tan_fovx
    lim_y_pos, lim_y_neg = (height - cy) / fy + 0.3 * tan_fovy, cy / fy + 0.3 * tan_fovy
    jx = tz * torch.clamp(tx / tz, min=-lim_x_neg, max=lim_x_pos)
    jy = tz * torch.clamp(ty / tz, min=-lim_y_neg, max=lim_y_pos)
    # J = [[fx/tz, 0, -fx jx/tz^2], [0, fy/tz, -fy jy/tz^2]]; with T = J R_view (2 x 3) the
    # 2D covariance is T Sigma T^T.
    j00, j11 = fx / tz, fy / tz
    j02, j12 = -j00 * jx / tz, -j11 * jy / tz
    T0 = [j00 * R[0][k] + j02 * R[2][k] for k in range(3)]
    T1 = [j11 * R[1][k] + j12 * R[2][k] for k in range(3)]
    S = [[covars[:, i, j] for j in range(3)] for i in range(3)]  # (N,) each
    W0 = [T0[0] * S[0][k] + T0[1] * S[1][k] + T0[2] * S[2][k] for k in range(3)]
    W1 = [T1[0] * S[0][k] + T1[1] * S[1][k] + T1[2] * S[2][k] for k in range(3)]
    cxx = W0[0] * T0[0] + W0[1] * T0[1] + W0[2] * T0[2] + eps2d
    cxy = W0[0] * T1[0] + W0[1] * T1[1] + W0[2] * T1[2]
    cyy = W1[0] * T1[0] + W1[1] * T1[1] + W1[2] * T1[2] + eps2d
    det = (cxx * cyy - cxy * cxy).clamp(min=1e-10)
    conics = torch.stack([cyy / det, -cxy / det, cxx / det], dim=-1)
    means2d = torch.stack([fx * tx / tz + cx, fy * ty / tz + cy], dim=-1)

    with torch.no_grad():
        radius = torch.stack(
            [torch.ceil(RADIUS_SIGMAS * cxx.sqrt()), torch.ceil(RADIUS_SIGMAS * cyy.sqrt())], -1
        )
        inside = (
            (means2d[..., 0] + radius[..., 0] > 0)
            & (means2d[..., 0] - radius[..., 0] < width)
            & (means2d[..., 1] + radius[..., 1] > 0)
            & (means2d[..., 1] - radius[..., 1] < height)
        )
        keep = in_depth & (det > 0) & inside
        radii = torch.where(keep[..., None], radius, torch.zeros_like(radius)).int()
    return Projection(radii, means2d, depths, conics, torch.stack([cxx, cxy, cyy], dim=-1))


# Real SH bases in gsplat's order (Sloan, "Efficient Spherical Harmonic Evaluation", JCGT 2013).
def sh_bases(degree: int, dirs: Tensor) -> Tensor:
    """(..., (degree+1)^2) real SH basis values at unit directions (..., 3), degree 0..4."""
    if not 0 <= degree <= 4:
        raise ValueError(f"sh_degree must be in 0..4, got {degree}")
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, 0.2820947917738781)]
    if degree >= 1:
        a = -0.48860251190292
        out += [a * y, -a * z, a * x]
    if degree >= 2:
        z2 = z * z
        b = -1.092548430592079 * z
        c1, s1 = x * x - y * y, 2 * x * y
        out += [0.5462742152960395 * s1, b * y, 0.9461746957575601 * z2 - 0.3153915652525201,
                b * x, 0.5462742152960395 * c1]
    if degree >= 3:
        tc = -2.285228997322329 * z2 + 0.4570457994644658
        tb = 1.445305721320277 * z
        ta = -0.5900435899266435
        c2, s2 = x * c1 - y * s1, x * s1 + y * c1
        out += [ta * s2, tb * s1, tc * y, z * (1.865881662950577 * z2 - 1.119528997770346),
                tc * x, tb * c1, ta * c2]
    if degree >= 4:
        td = z * (-4.683325804901025 * z2 + 2.007139630671868)
        tc = 3.31161143515146 * z2 - 0.47308734787878
        tb = -1.770130769779931 * z
        ta = 0.6258357354491763
        c3, s3 = x * c2 - y * s2, x * s2 + y * c2
        out += [ta * s3, tb * s2, tc * s1, td * y,
                1.984313483298443 * z2 * (1.865881662950577 * z2 - 1.119528997770346)
                - 1.006230589874905 * (0.9461746957575601 * z2 - 0.3153915652525201),
                td * x, tc * c1, tb * c2, ta * c3]
    return torch.stack(out, dim=-1)


def eval_sh(degree: int, dirs: Tensor, coeffs: Tensor) -> Tensor:
    """Colours (..., 3) from SH coefficients (..., K, 3), K >= (degree+1)^2; dirs need no norm."""
    n = (degree + 1) ** 2
    bases = sh_bases(degree, F.normalize(dirs, p=2, dim=-1))
    return (bases[..., None] * coeffs[..., :n, :]).sum(dim=-2)


@functools.lru_cache(maxsize=1)
def gsplat_cuda_available() -> bool:
    """True when CUDA is usable and gsplat's CUDA extension loads (built or buildable)."""
    if not torch.cuda.is_available():
        return False
    try:
        from gsplat.cuda._backend import _C
    except Exception:  # gsplat reports build/load failures with many exception types
        return False
    return _C is not None


def rasterize(
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
    backend: str = "auto",
    *,
    eps2d: float = 0.3,
    max_pairs_per_chunk: int = 1 << 23,
) -> tuple[Tensor, Tensor, dict]:
    """Render N Gaussians into C cameras.

    Args:
        means (N, 3), quats (N, 4) wxyz (normalised here), scales (N, 3) linear,
        opacities (N,) in [0, 1].
        colors: (N, K, 3) SH coefficients when `sh_degree` is given, else (N, 3) RGB.
        viewmats (C, 4, 4) world-to-camera (OpenCV: x right, y down, z forward), Ks (C, 3, 3).
        backgrounds: optional (C, 3) colour behind the splats.
        render_mode: "RGB", or "RGB+ED" which appends expected depth sum(w z) / sum(w).
        backend: "torch", "gsplat" (CUDA only) or "auto" (gsplat when the tensors are on CUDA
            and gsplat's CUDA extension works, else torch).
        max_pairs_per_chunk: torch backend memory bound, (Gaussian, pixel) pairs per band.

    Returns:
        render_colors (C, H, W, 3 or 4), render_alphas (C, H, W, 1), meta (radii, means2d,
        depths, conics, opacities, width, height, n_cameras, backend, ...).
    """
    _check_inputs(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                  sh_degree, backgrounds, render_mode, backend)
    if backend == "auto":
        backend = "gsplat" if means.is_cuda and gsplat_cuda_available() else "torch"
    if backend == "gsplat":
        if not means.is_cuda:
            raise ProcsplatError("backend='gsplat' needs CUDA tensors; got device "
                             f"{means.device} (use backend='torch' or 'auto')")
        if not gsplat_cuda_available():
            raise ProcsplatError("backend='gsplat': gsplat's CUDA extension is not available")
        return _rasterize_gsplat(means, quats, scales, opacities, colors, viewmats, Ks, width,
                                 height, near_plane, far_plane, sh_degree, backgrounds,
                                 render_mode, eps2d)
    return _rasterize_torch(means, quats, scales, opacities, colors, viewmats, Ks, width,
                            height, near_plane, far_plane, sh_degree, backgrounds, render_mode,
                            eps2d, max_pairs_per_chunk)


def _check_inputs(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                  sh_degree, backgrounds, render_mode, backend) -> None:
    def fail(msg: str):
        raise ValueError(f"rasterize: {msg}")

    if backend not in BACKENDS:
        fail(f"backend must be one of {BACKENDS}, got {backend!r}")
    if render_mode not in RENDER_MODES:
        fail(f"render_mode must be one of {RENDER_MODES}, got {render_mode!r}")
    if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
        fail(f"width and height must be positive ints, got {width!r} x {height!r}")
    if means.ndim != 2 or means.shape[1] != 3:
        fail(f"means must be (N, 3), got {tuple(means.shape)}")
    N = means.shape[0]
    expected = {"quats": (quats, (N, 4)), "scales": (scales, (N, 3)),
                "opacities": (opacities, (N,))}
    if viewmats.ndim != 3 or viewmats.shape[1:] != (4, 4):
        fail(f"viewmats must be (C, 4, 4), got {tuple(viewmats.shape)}")
    C = viewmats.shape[0]
    expected["Ks"] = (Ks, (C, 3, 3))
    if backgrounds is not None:
        expected["backgrounds"] = (backgrounds, (C, 3))
    if sh_degree is None:
        expected["colors"] = (colors, (N, 3))
    else:
        if not (isinstance(sh_degree, int) and 0 <= sh_degree <= 4):
            fail(f"sh_degree must be None or an int in 0..4, got {sh_degree!r}")
        k_min = (sh_degree + 1) ** 2
        if colors.ndim != 3 or colors.shape[0] != N or colors.shape[2] != 3 \
                or colors.shape[1] < k_min:
            fail(f"colors must be (N={N}, K>={k_min}, 3) SH coefficients for sh_degree="
                 f"{sh_degree}, got {tuple(colors.shape)}")
    for name, (tensor, shape) in expected.items():
        if tuple(tensor.shape) != shape:
            fail(f"{name} must have shape {shape}, got {tuple(tensor.shape)}")
    for name, tensor in [("quats", quats), ("scales", scales), ("opacities", opacities),
                         ("colors", colors), ("viewmats", viewmats), ("Ks", Ks)] + (
            [("backgrounds", backgrounds)] if backgrounds is not None else []):
        if tensor.dtype != means.dtype or tensor.device != means.device:
            fail(f"{name} is {tensor.dtype} on {tensor.device}; means is {means.dtype} on "
                 f"{means.device} (all inputs must match)")
    if not means.dtype.is_floating_point:
        fail(f"inputs must be floating point, got {means.dtype}")


def _rasterize_gsplat(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                      near_plane, far_plane, sh_degree, backgrounds, render_mode, eps2d):
    import gsplat

    # packed=False keeps meta in the (C, N, ...) layout that the torch backend returns.
    render_colors, render_alphas, meta = gsplat.rasterization(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, sh_degree=sh_degree,
        packed=False, backgrounds=backgrounds, render_mode=render_mode,
        rasterize_mode="classic", camera_model="pinhole",
    )
    meta["backend"] = "gsplat"
    return render_colors, render_alphas, meta


def _rasterize_torch(means, quats, scales, opacities, colors, viewmats, Ks, width, height,
                     near_plane, far_plane, sh_degree, backgrounds, render_mode, eps2d,
                     max_pairs_per_chunk):
    C = viewmats.shape[0]
    proj = project_gaussians(means, quat_scale_to_covar(quats, scales), viewmats, Ks, width,
                             height, eps2d, near_plane, far_plane)
    if sh_degree is None:
        feats = colors[None].expand(C, -1, -1)  # (C, N, 3)
    else:
        campos = torch.linalg.inv(viewmats)[:, :3, 3]  # (C, 3)
        dirs = means[None] - campos[:, None]  # (C, N, 3)
        feats = torch.clamp_min(eval_sh(sh_degree, dirs, colors[None]) + 0.5, 0.0)
    if render_mode == "RGB+ED":
        feats = torch.cat([feats, proj.depths[..., None]], dim=-1)

    images, alphas, n_pairs = [], [], 0
    for cam in range(C):
        img, alpha, pairs = composite_camera(
            proj.means2d[cam], proj.conics[cam], opacities, feats[cam], proj.depths[cam],
            proj.radii[cam], proj.covars2d[cam], width, height, max_pairs_per_chunk)
        if backgrounds is not None:
            bg = backgrounds[cam]
            if render_mode == "RGB+ED":  # depth channel has no background, as in gsplat
                bg = torch.cat([bg, bg.new_zeros(1)])
            img = img + (1.0 - alpha) * bg
        images.append(img)
        alphas.append(alpha)
        n_pairs += pairs
    render_colors = torch.stack(images).reshape(C, height, width, -1)
    render_alphas = torch.stack(alphas).reshape(C, height, width, 1)
    if render_mode == "RGB+ED":
        render_colors = torch.cat(
            [render_colors[..., :-1],
             render_colors[..., -1:] / render_alphas.clamp(min=1e-10)], dim=-1)
    meta = {
        "radii": proj.radii, "means2d": proj.means2d, "depths": proj.depths,
        "conics": proj.conics, "opacities": opacities[None].expand(C, -1),
        "width": width, "height": height, "n_cameras": C, "backend": "torch",
        "n_pairs": n_pairs,
    }
    return render_colors, render_alphas, meta


def composite_camera(means2d: Tensor, conics: Tensor, opacities: Tensor, feats: Tensor,
                     depths: Tensor, radii: Tensor, covars2d: Tensor, width: int, height: int,
                     max_pairs_per_chunk: int) -> tuple[Tensor, Tensor, int]:
    """Alpha-composite one camera's projected Gaussians.

    Returns the un-backgrounded image (H*W, D), accumulated alpha (H*W, 1) and the number of
    composited (Gaussian, pixel) pairs.
    """
    with torch.no_grad():
        # Gaussians that can reach the alpha threshold somewhere, front to back (stable sort:
        # equal depths keep index order, like gsplat's radix sort of (tile, depth) keys).
        visible = (radii > 0).all(-1) & (opacities >= ALPHA_THRESHOLD)
        ids = visible.nonzero()[:, 0]
        ids = ids[torch.sort(depths[ids], stable=True).indices]
        # Opacity-aware box (gsplat's CUDA projection, arXiv 2402.00525 B.2): outside it,
        # o * exp(-sigma) < 1/255. The 1.001 margin guards rounding against the threshold test.
        op = opacities[ids].double()
        extend = torch.sqrt(2.0 * torch.log(op / ALPHA_THRESHOLD)).mul(1.001)
        extend = extend.clamp(max=RADIUS_SIGMAS)
        rx = torch.minimum(torch.ceil(extend * covars2d[ids, 0].double().sqrt()),
                           radii[ids, 0].double())
        ry = torch.minimum(torch.ceil(extend * covars2d[ids, 2].double().sqrt()),
                           radii[ids, 1].double())
        mx, my = means2d[ids, 0].double(), means2d[ids, 1].double()
        # pixel x is covered when |x + 0.5 - mx| <= rx
        x0 = torch.ceil(mx - rx - 0.5).clamp(0, width).int()
        x1 = (torch.floor(mx + rx - 0.5) + 1).clamp(0, width).int()
        y0 = torch.ceil(my - ry - 0.5).clamp(0, height).int()
        y1 = (torch.floor(my + ry - 0.5) + 1).clamp(0, height).int()
        nonempty = (x1 > x0) & (y1 > y0)
        ids, x0, x1, y0, y1 = ids[nonempty], x0[nonempty], x1[nonempty], y0[nonempty], y1[nonempty]
        # Bands of rows sized for the cache (the per-pair passes are memory-bound), grouped
        # into chunks of at most `max_pairs_per_chunk` pairs for the memory bound.
        bands = _row_bands(x1 - x0, y0, y1, height, min(CACHE_PAIRS, max_pairs_per_chunk))
        chunks = _group_bands(bands, max_pairs_per_chunk)

    D = feats.shape[-1]
    if ids.numel() == 0:
        # Still part of the graph, so backward() on an empty render gives zero gradients.
        connect = 0.0 * (feats.sum() + means2d.sum() + conics.sum() + opacities.sum())
        img = feats.new_zeros(height * width, D) + connect
        alpha = feats.new_zeros(height * width, 1) + connect
        return img, alpha, 0
    # Per visible Gaussian in depth order, as rows (1D gathers/scatters are ~5x faster than
    # row-wise ones on CPU): (mx, my, conic a, b, c, opacity) and features (D, M).
    params = torch.cat([means2d.index_select(0, ids), conics.index_select(0, ids),
                        opacities.index_select(0, ids)[:, None]], dim=1).t().contiguous()
    feats = feats.index_select(0, ids).t().contiguous()
    checkpointed = len(chunks) > 1 and torch.is_grad_enabled()
    images, alphas, n_pairs = [], [], 0
    for chunk in chunks:
        args = (params, feats, x0, x1, y0, y1, width, chunk)
        if checkpointed:  # recompute the chunk in backward instead of keeping its pairs
            img, alpha, pairs = checkpoint(_composite_bands, *args, use_reentrant=False)
        else:
            img, alpha, pairs = _composite_bands(*args)
        images.append(img)
        alphas.append(alpha)
        n_pairs += int(pairs)
    return torch.cat(images), torch.cat(alphas), n_pairs


def _composite_bands(params: Tensor, feats: Tensor, x0: Tensor, x1: Tensor, y0: Tensor,
                     y1: Tensor, width: int, bands: list) -> tuple[Tensor, Tensor, Tensor]:
    """Composite consecutive row bands (see `composite_camera`), one `_BandComposite` each."""
    images, alphas, n_pairs = [], [], 0
    for row0, row1 in bands:
        in_band = ((y0 < row1) & (y1 > row0)).nonzero()[:, 0].int()
        img, alpha, pairs = _BandComposite.apply(
            params, feats, in_band, x0[in_band], x1[in_band], y0[in_band].clamp(min=row0),
            y1[in_band].clamp(max=row1), row0, row1, width)
        images.append(img)
        alphas.append(alpha)
        n_pairs = n_pairs + pairs
    return torch.cat(images), torch.cat(alphas), n_pairs


def _row_bands(widths: Tensor, y0: Tensor, y1: Tensor, height: int,
               budget: int) -> list[tuple[int, int, int]]:
    """Split image rows into bands whose (Gaussian, pixel) box pairs stay within `budget`:
    (first row, end row, box pairs) each.

    A single row above the budget still forms its own band (rows are not split further).
    """
    per_row = torch.zeros(height + 1, dtype=torch.int64, device=widths.device)
    per_row.index_add_(0, y0.long(), widths.long())
    per_row.index_add_(0, y1.long(), -widths.long())
    per_row = torch.cumsum(per_row[:height], 0).tolist()
    bands, start, acc = [], 0, 0
    for row, n in enumerate(per_row):
        if acc + n > budget and row > start:
            bands.append((start, row, acc))
            start, acc = row, 0
        acc += n
    bands.append((start, height, acc))
    return bands


def _group_bands(bands: list, budget: int) -> list[list[tuple[int, int]]]:
    """Consecutive bands grouped into chunks of at most `budget` box pairs (a band above the
    budget forms its own chunk)."""
    chunks, acc = [[]], 0
    for row0, row1, n in bands:
        if acc + n > budget and chunks[-1]:
            chunks.append([])
            acc = 0
        chunks[-1].append((row0, row1))
        acc += n
    return chunks


def _bits(n: int) -> int:
    """Bits needed to store 0..n-1 (at least 1)."""
    return max(1, (n - 1).bit_length())


def _pair_keys(table: Tensor, x0: Tensor, x1: Tensor, y0: Tensor, y1: Tensor, row0: int,
               wbits: int, gbits: int, small: bool) -> Tensor:
    """Sort keys ((band row << wbits | x) << gbits | g) of the (Gaussian, pixel) pairs that may
    reach alpha >= 1/255, Gaussian-major (int32 when `small`, else int64).

    Per box row the pixels with o exp(-sigma) >= 1/255 form the x-interval where the quadratic
    sigma(dx) <= log(255 o); it is widened by 0.01 px against rounding (the exact alpha test
    comes after the sort) and clipped to the box. This lists ~pi/4 of the box pixels or fewer
    (elongated splats). Consecutive pixels of a run have keys 1 << gbits apart, so all keys are
    one cumsum of a constant step with a jump written at each run start: no per-pair gathers.
    """
    mx, my, a, b, c, log_op = table.double()
    # Per Gaussian: sigma <= s_max = log(255 o) on pixel row dy = my - (y + .5) holds for
    # x + .5 in [mx + q dy - rr, mx + q dy + rr], rr^2 = k1 dy^2 + k2.
    q = b / a
    k1 = (b * b - a * c) / (a * a)
    k2 = 2.0 * (log_op - math.log(ALPHA_THRESHOLD)) / a
    heights = y1 - y0
    g = torch.repeat_interleave(
        torch.arange(heights.numel(), dtype=torch.int32, device=heights.device), heights)
    # one run per (Gaussian, box row); g indexes the band's table
    row = torch.arange(g.numel(), dtype=torch.int32, device=g.device) \
        - _at(torch.cumsum(heights, 0, dtype=torch.int32) - heights - y0, g)
    dy = _at(my - 0.5, g).sub_(row.to(my.dtype))
    centre = _at(mx - 0.5, g).addcmul_(_at(q, g), dy)
    rr2 = _at(k2, g).addcmul_(_at(k1, g), dy * dy)
    rr = rr2.clamp(min=0.0).sqrt_()
    xa = torch.maximum(centre.sub(rr).sub_(0.01).ceil_(), _at(x0.to(my.dtype), g)).long()
    xb = torch.minimum(centre.add_(rr).add_(0.01).floor_().add_(1), _at(x1.to(my.dtype), g))
    xb = xb.long()
    count = (xb - xa).masked_fill_(rr2 < 0, 0)
    runs = (count > 0).nonzero()[:, 0]
    count, first_key = count.index_select(0, runs), (
        ((((row - row0).long() << wbits) + xa) << gbits) + g).index_select(0, runs)
    first = torch.cumsum(count, 0) - count
    n = int(first[-1] + count[-1]) if runs.numel() else 0
    step = 1 << gbits
    keys = torch.full((n,), step, dtype=torch.int32 if small else torch.int64,
                      device=table.device)
    if n:
        last_key = first_key + (count - 1) * step
        jump = first_key - torch.cat([first_key.new_zeros(1), last_key[:-1]])
        keys.index_copy_(0, first, jump.to(keys.dtype))
    # Every partial sum is a real key, so int32 cannot overflow when the keys fit.
    return keys.cumsum_(0)


def _sort_keys_(keys: Tensor) -> Tensor:
    """Ascending in-place sort of unique integer keys (numpy's SIMD sort beats torch's on CPU)."""
    if keys.device.type == "cpu":
        keys.numpy().sort()
        return keys
    return torch.sort(keys).values


def _at(table: Tensor, index: Tensor) -> Tensor:
    return table.index_select(0, index)


class _BandComposite(torch.autograd.Function):
    """Composite rows [row0, row1) from depth-ordered Gaussian boxes, with analytic backward.

    Inputs: params (6, M) = (mx, my, conic a, b, c, opacity) and feats (D, M) in depth order;
    `sel` (int32, ascending) picks the Gaussians of this band, with their pixel boxes
    [x0, x1) x [y0, y1). Outputs: colours (rows*W, D), alphas (rows*W, 1), number of
    composited pairs.

    Every candidate pair gets one integer key (pixel, depth rank): a single sort groups pairs
    by pixel, front to back, and each pair's Gaussian and pixel are decoded from its key with
    shifts and masks, so per-pair values are gathered from small per-Gaussian tables instead
    of being permuted. Pairs below the alpha threshold or past the transmittance stop stay in
    place with alpha 0 (exactly neutral in forward and backward) rather than being compacted.
    Pixel rows are padded to a power-of-two stride so that decoding is shifts only.
    Per-pair temporaries are updated in place: fresh multi-MB buffers cost page faults that
    are comparable to the arithmetic itself.
    The conic is positive definite (eps2d > 0), so sigma >= 0 and gsplat's sigma < 0 skip can
    only trigger on rounding; it is not repeated here.
    """

    @staticmethod
    def forward(ctx, params, feats, sel, x0, x1, y0, y1, row0: int, row1: int, width: int):
        table = params.index_select(1, sel)
        mx, my, a, b, c, op = table
        m, rows, dtype = sel.numel(), row1 - row0, params.dtype
        wbits, gbits = _bits(width), _bits(m)
        n_pad = rows << wbits
        log_op = torch.log(op)
        keys = _pair_keys(torch.stack([mx, my, a, b, c, log_op]), x0, x1, y0, y1, row0, wbits,
                          gbits, small=_bits(rows) + wbits + gbits <= 31)
        pix = _sort_keys_(keys)
        ctx.band = (rows, width, wbits)
        if pix.numel() == 0:  # boxes overlap the band, but no Gaussian reaches a pixel centre in it
            ctx.empty = True
            zeros = params.new_zeros(rows * width, feats.shape[0] + 1)
            count = torch.zeros((), dtype=torch.int64, device=params.device)
            ctx.mark_non_differentiable(count)
            return zeros[:, :-1].contiguous(), zeros[:, -1:].contiguous(), count
        ctx.empty = False
        g = pix & ((1 << gbits) - 1)
        pix >>= gbits  # padded pixel index: row << wbits | x
        # dx = mx - (x + .5), dy = my - (y + .5): the 0.5 and band offset go into the table.
        dx = _at(mx - 0.5, g).sub_(pix & ((1 << wbits) - 1))
        dy = _at(my - (0.5 + row0), g).sub_(pix >> wbits)
        sigma = _at(0.5 * a, g).mul_(dx).addcmul_(_at(b, g), dy).mul_(dx) \
            .addcmul_(_at(0.5 * c, g).mul_(dy), dy)
        alpha = _at(log_op, g).sub_(sigma).exp_().clamp_max_(MAX_ALPHA)
        del sigma
        # Skipped samples (alpha < 1/255) become transparent; threshold_ keeps x > t, so t is
        # the largest value below 1/255 in this dtype.
        F.threshold_(alpha, _below(ALPHA_THRESHOLD, dtype), 0.0)
        log_t = torch.neg(alpha).log1p_()  # alpha <= 0.999: finite
        counts = torch.bincount(pix, minlength=n_pad)
        ends = torch.cumsum(counts, 0)
        # log T after each sample (in-pixel inclusive sum): a global float64 cumsum minus its
        # value before the pixel's first pair, so rounding does not carry across pixels.
        cum = torch.cumsum(log_t, 0, dtype=torch.float64)  # a copy even in float64
        starts = ends - counts
        before = _at(cum, (starts - 1).clamp_(min=0)).masked_fill_(starts == 0, 0.0)
        incl = cum.sub_(_at(before, pix)).to(dtype)
        del cum, before
        # A pixel stops before the sample that would bring T to <= 1e-4; T is monotone, so
        # these are exactly the pairs that gsplat composites.
        alpha.mul_(incl > math.log(TRANSMITTANCE_STOP))
        trans = incl.sub_(log_t).exp_()  # T before the sample
        del log_t
        weights = alpha * trans
        # Image and alpha at once: a CSR (pixel x Gaussian) matrix of weights times the
        # features with a column of ones.
        crow = torch.cat([ends.new_zeros(1), ends]).to(g.dtype)
        with warnings.catch_warnings():  # "sparse CSR support is in beta"
            warnings.simplefilter("ignore", UserWarning)
            w_mat = torch.sparse_csr_tensor(crow, g, weights, (n_pad, m),
                                            check_invariants=False)
        fe1 = torch.cat([feats.index_select(1, sel), feats.new_ones(1, m)]).t()
        out = (w_mat @ fe1.contiguous()).view(rows, 1 << wbits, -1)[:, :width]
        out = out.reshape(rows * width, -1)
        ctx.save_for_backward(params, feats, sel, fe1, table, g, pix, ends, alpha, weights, dx,
                              dy)
        count = torch.count_nonzero(alpha)
        ctx.mark_non_differentiable(count)
        return out[:, :-1].contiguous(), out[:, -1:].contiguous(), count

    @staticmethod
    def backward(ctx, grad_img, grad_acc, _grad_count):
        if ctx.empty:  # nothing was composited: no gradient reaches any input
            return (None,) * 10
        params, feats, sel, fe1, table, g, pix, ends, alpha, weights, dx, dy = ctx.saved_tensors
        rows, width, wbits = ctx.band
        m = sel.numel()
        # Per-pixel gradients in the padded pixel layout, one contiguous row per channel.
        grads = torch.cat([grad_img, grad_acc], dim=1)
        padded = grads.new_zeros(grads.shape[1], rows, 1 << wbits)
        padded[:, :, :width] = grads.t().reshape(-1, rows, width)
        grad_p = [_at(ch.reshape(-1), pix) for ch in padded]  # D+1 x (P,)
        # Each composited sample adds w_i v_i to the loss, v_i = <feat, dL/dcolour> + dL/dalpha.
        v = grad_p.pop()
        for f, gp in zip(fe1.t(), grad_p):
            v.addcmul_(_at(f, g), gp)
        # dL/dalpha_i = T_i v_i - later_i / (1 - alpha_i), later_i = sum_{j > i, same pixel} w_j v_j
        wv = v.mul_(weights)
        cum = torch.cumsum(wv, 0, dtype=torch.float64)  # a copy even in float64
        later = _at(_at(cum, (ends - 1).clamp(min=0)), pix).sub_(cum).to(alpha.dtype)
        del cum
        # alpha = o exp(-sigma) below the 0.999 clamp (constant above it, as in gsplat):
        # dL/dsigma = -h and dL/do = h / o, h = alpha dL/dalpha = w v - later alpha / (1 - alpha).
        odds = torch.rsub(alpha, 1.0)
        odds = torch.div(alpha, odds, out=odds)
        h = wv.sub_(later.mul_(odds)).mul_(alpha < MAX_ALPHA)
        del later, odds

        def scatter(term: Tensor) -> Tensor:
            return table.new_zeros(m).index_add_(0, g, term)

        hdx, hdy = h * dx, h * dy
        s_h, s_dx, s_dy = scatter(h), scatter(hdx), scatter(hdy)
        s_dxdy = scatter(hdx.mul_(dy))
        s_dxdx = scatter(h.mul_(dx).mul_(dx))
        s_dydy = scatter(hdy.mul_(dy))
        mx, my, a, b, c, op = table
        # sigma = .5 (a dx^2 + c dy^2) + b dx dy with dx = mx - px - .5, dy = my - py - .5
        local = torch.stack([
            -(a * s_dx + b * s_dy), -(c * s_dy + b * s_dx),
            -0.5 * s_dxdx, -s_dxdy, -0.5 * s_dydy, s_h / op])
        local_feats = torch.stack([scatter(gp.mul_(weights)) for gp in grad_p])
        grad_params = torch.zeros_like(params).index_add_(1, sel, local)
        grad_feats = torch.zeros_like(feats).index_add_(1, sel, local_feats)
        return grad_params, grad_feats, None, None, None, None, None, None, None, None


@functools.lru_cache(maxsize=None)
def _below(value: float, dtype: torch.dtype) -> float:
    """The largest number of `dtype` that is smaller than `value` rounded to `dtype`."""
    v = torch.tensor(value, dtype=dtype)
    return torch.nextafter(v, torch.tensor(-math.inf, dtype=dtype)).item()
