"""procsplat.splat.rasterize against gsplat's PyTorch oracles and the brute-force reference."""

import math
import subprocess
import sys
import textwrap

import pytest
import torch

from raster_reference import rasterize_reference
from procsplat.splat.rasterize import (
    _bits,
    _pair_keys,
    eval_sh,
    gsplat_cuda_available,
    project_gaussians,
    quat_scale_to_covar,
    rasterize,
)

gsplat_torch = pytest.importorskip("gsplat.cuda._torch_impl")


def random_scene(n, width, height, seed=0, dtype=torch.float64, sh_degree=None, n_cams=1,
                 n_behind=0, scale_range=(0.01, 0.15), opacity_range=(0.01, 0.99)):
    """Gaussians 2-5 m in front of camera 0 (some optionally behind it), C cameras."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=g, dtype=dtype)

    means = torch.cat([(rand(n, 2) - 0.5) * 2.5, 2.0 + 3.0 * rand(n, 1)], 1)
    means[:n_behind, 2] *= -1.0
    quats = torch.randn(n, 4, generator=g, dtype=dtype)
    lo, hi = math.log(scale_range[0]), math.log(scale_range[1])
    scales = torch.exp(lo + (hi - lo) * rand(n, 3))
    opacities = opacity_range[0] + (opacity_range[1] - opacity_range[0]) * rand(n)
    if sh_degree is None:
        colors = rand(n, 3)
    else:
        colors = 0.3 * torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g, dtype=dtype)
    f = 0.8 * width
    Ks = torch.tensor([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=dtype)
    Ks = Ks.expand(n_cams, 3, 3).clone()
    viewmats = torch.eye(4, dtype=dtype).expand(n_cams, 4, 4).clone()
    for c in range(1, n_cams):  # small rotations about y plus a shift
        a = 0.15 * c
        viewmats[c, :3, :3] = torch.tensor(
            [[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]], dtype=dtype)
        viewmats[c, :3, 3] = torch.tensor([0.1 * c, -0.05 * c, 0.2], dtype=dtype)
    return means, quats, scales, opacities, colors, viewmats, Ks


def render_and_grads(fn, scene, width, height, weights, **kwargs):
    params = [t.clone().requires_grad_(True) for t in scene[:5]]
    out = fn(*params, *scene[5:], width, height, **kwargs)
    colors, alphas = out[0], out[1]
    loss = (colors * weights).sum() + (alphas * weights[..., :1]).sum() * 0.7
    return colors, alphas, torch.autograd.grad(loss, params)


# --- projection and colours against gsplat's PyTorch oracles --------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_projection_matches_gsplat_fully_fused_projection(dtype):
    W, H = 64, 48
    scene = random_scene(500, W, H, seed=1, dtype=dtype, n_cams=3, n_behind=40)
    means, quats, scales, _, _, viewmats, Ks = scene
    means[40:60, 0] += 20.0  # far off-screen to the right: culled by the image bounds
    ours = project_gaussians(means, quat_scale_to_covar(quats, scales), viewmats, Ks, W, H,
                             near_plane=0.05, far_plane=4.0)
    covars, _ = gsplat_torch._quat_scale_to_covar_preci(quats, scales, True, False, triu=False)
    radii, means2d, depths, conics, _ = gsplat_torch._fully_fused_projection(
        means, covars, viewmats, Ks, W, H, near_plane=0.05, far_plane=4.0)
    assert torch.equal(ours.radii, radii)
    visible = (radii > 0).all(-1)
    assert 0 < visible.sum() < visible.numel()  # culling happened, and not everything
    assert not visible[:, :40].any()  # behind the camera
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(ours.means2d[visible], means2d[visible], **tol)
    torch.testing.assert_close(ours.conics[visible], conics[visible], **tol)
    torch.testing.assert_close(ours.depths, depths, **tol)


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 4])
def test_sh_colours_match_gsplat_spherical_harmonics(degree):
    g = torch.Generator().manual_seed(degree)
    dirs = torch.randn(200, 3, generator=g, dtype=torch.float64) * 3.0
    coeffs = torch.randn(200, 25, 3, generator=g, dtype=torch.float64)
    expected = gsplat_torch._spherical_harmonics(degree, dirs, coeffs)
    torch.testing.assert_close(eval_sh(degree, dirs, coeffs), expected, rtol=1e-12, atol=1e-12)


# --- packed rasteriser against the brute-force reference (float64) ---------------------------

@pytest.mark.parametrize("sh_degree", [None, 3])
@pytest.mark.parametrize("render_mode", ["RGB", "RGB+ED"])
@pytest.mark.parametrize("max_pairs", [1 << 23, 300])  # one pass; many checkpointed bands
def test_images_and_gradients_match_reference(sh_degree, render_mode, max_pairs):
    W, H = 40, 30
    scene = random_scene(300, W, H, seed=2, sh_degree=sh_degree, n_cams=2, n_behind=5)
    backgrounds = torch.rand(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    weights = torch.rand(2, H, W, 4 if render_mode == "RGB+ED" else 3, dtype=torch.float64,
                         generator=torch.Generator().manual_seed(4))
    kw = dict(sh_degree=sh_degree, backgrounds=backgrounds, render_mode=render_mode)
    c1, a1, g1 = render_and_grads(rasterize, scene, W, H, weights, backend="torch",
                                  max_pairs_per_chunk=max_pairs, **kw)
    c2, a2, g2 = render_and_grads(rasterize_reference, scene, W, H, weights, **kw)
    assert a2.max() > 0.9 and a2.min() < 0.1  # both covered and empty pixels
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-4)
    torch.testing.assert_close(a1, a2, rtol=0, atol=1e-4)
    for name, x, y in zip(["means", "quats", "scales", "opacities", "colors"], g1, g2):
        assert y.abs().max() > 1e-3, name  # the gradient is not trivially zero
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-4, msg=f"d loss / d {name}")


def test_transmittance_stop_matches_reference_on_dense_scene():
    """Opaque, overlapping splats: many pixels reach T <= 1e-4 and stop early."""
    W, H = 24, 20
    scene = random_scene(400, W, H, seed=5, scale_range=(0.1, 0.4), opacity_range=(0.6, 1.0))
    weights = torch.rand(1, H, W, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    c1, a1, g1 = render_and_grads(rasterize, scene, W, H, weights, backend="torch")
    c2, a2, g2 = render_and_grads(rasterize_reference, scene, W, H, weights)
    assert (a2 > 1 - 1e-3).float().mean() > 0.5  # the stop is exercised
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-4)
    torch.testing.assert_close(a1, a2, rtol=0, atol=1e-4)
    for x, y in zip(g1, g2):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-4)



def thin_rotated_scene(n, width, height, seed):
    """Flat splats (one axis 0.5-2 mm, like anchored ones) turned every way and seen at an angle:
    thin, diagonal screen ellipses whose boxes are mostly below the alpha threshold."""
    scene = list(random_scene(n, width, height, seed=seed, scale_range=(0.05, 0.3)))
    g = torch.Generator().manual_seed(seed + 1)
    scene[2][:, 2] = 5e-4 + 1.5e-3 * torch.rand(n, generator=g, dtype=torch.float64)
    return scene


def test_thin_rotated_gaussians_match_reference():
    W, H = 40, 30
    scene = thin_rotated_scene(150, W, H, seed=11)
    weights = torch.rand(1, H, W, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(12))
    c1, a1, g1 = render_and_grads(rasterize, scene, W, H, weights, backend="torch")
    c2, a2, g2 = render_and_grads(rasterize_reference, scene, W, H, weights)
    torch.testing.assert_close(c1, c2, rtol=0, atol=1e-4)
    torch.testing.assert_close(a1, a2, rtol=0, atol=1e-4)
    for name, x, y in zip(["means", "quats", "scales", "opacities", "colors"], g1, g2):
        assert y.abs().max() > 1e-3, name
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-4, msg=f"d loss / d {name}")


def test_pair_listing_is_exact_to_the_ellipse():
    """The pairs listed per Gaussian are the pixels whose centre has o exp(-sigma) >= 1/255 (plus
    those within the 0.01 px rounding margin), not its box: thin rotated ellipses fill a small
    part of their box."""
    W, H = 64, 48
    means, quats, scales, opacities, _, viewmats, Ks = thin_rotated_scene(60, W, H, seed=13)
    proj = project_gaussians(means, quat_scale_to_covar(quats, scales), viewmats, Ks, W, H)
    keep = (proj.radii[0] > 0).all(-1)
    mx, my = proj.means2d[0, keep].unbind(-1)
    a, b, c = proj.conics[0, keep].unbind(-1)
    op = opacities[keep]
    m = int(keep.sum())
    whole = torch.zeros(m, dtype=torch.int32), torch.full((m,), W, dtype=torch.int32)
    rows = torch.zeros(m, dtype=torch.int32), torch.full((m,), H, dtype=torch.int32)
    wbits, gbits = _bits(W), _bits(m)
    keys = _pair_keys(torch.stack([mx, my, a, b, c, op.log()]), *whole, *rows, 0, wbits, gbits,
                      small=False)
    listed = torch.zeros(m, H, 1 << wbits, dtype=torch.bool)
    g, pix = keys & ((1 << gbits) - 1), keys >> gbits
    listed[g, pix >> wbits, pix & ((1 << wbits) - 1)] = True
    listed = listed[:, :, :W]
    ys, xs = torch.meshgrid(torch.arange(H, dtype=means.dtype) + 0.5,
                            torch.arange(W, dtype=means.dtype) + 0.5, indexing="ij")
    dx, dy = mx[:, None, None] - xs, my[:, None, None] - ys
    sigma = 0.5 * (a[:, None, None] * dx * dx + c[:, None, None] * dy * dy) \
        + b[:, None, None] * dx * dy
    reach = op[:, None, None] * torch.exp(-sigma) >= 1.0 / 255.0
    assert keys.numel() == listed.sum()  # each pair once
    assert not (reach & ~listed).any()  # every pixel that can composite is listed
    near = op[:, None, None] * torch.exp(-sigma) >= 0.95 / 255.0  # the 0.01 px margin's reach
    assert not (listed & ~near).any()  # and nothing well below the threshold
    box = ((2 * proj.radii[0, keep, 0] + 1) * (2 * proj.radii[0, keep, 1] + 1)).sum()
    assert reach.sum() > 1000 and listed.sum() < 0.5 * box  # thin: most of the 3.33-sigma box is skipped


def one_pixel_scene(opacities, depths, colors):
    """Isotropic splats centred on the single pixel of a 1x1 image (sigma = 0 there)."""
    n = len(opacities)
    dt = torch.float64
    means = torch.tensor([[0.0, 0.0, z] for z in depths], dtype=dt)
    quats = torch.tensor([[1.0, 0.0, 0.0, 0.0]] * n, dtype=dt)
    scales = torch.full((n, 3), 0.05, dtype=dt)
    Ks = torch.tensor([[[10.0, 0, 0.5], [0, 10.0, 0.5], [0, 0, 1]]], dtype=dt)
    return (means, quats, scales, torch.tensor(opacities, dtype=dt),
            torch.tensor(colors, dtype=dt), torch.eye(4, dtype=dt)[None], Ks)


@pytest.mark.parametrize("fn", [rasterize, rasterize_reference])
def test_compositing_semantics_by_hand(fn):
    red, green, blue = [1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]
    # Front to back by depth, whatever the input order; alpha = o at the centre.
    scene = one_pixel_scene([0.5, 0.5], [3.0, 2.0], [red, green])
    colors, alphas = fn(*scene, 1, 1)[:2]
    torch.testing.assert_close(colors[0, 0, 0], torch.tensor([0.25, 0.5, 0], dtype=torch.float64))
    torch.testing.assert_close(alphas[0, 0, 0, 0].item(), 0.75)
    # alpha is clamped to 0.999; the second sample would bring T to 1e-6 <= 1e-4, so it is not
    # composited, and neither is anything behind it.
    scene = one_pixel_scene([1.0, 1.0, 1.0], [2.0, 3.0, 4.0], [red, green, blue])
    colors, alphas = fn(*scene, 1, 1, backgrounds=torch.ones(1, 3, dtype=torch.float64))[:2]
    torch.testing.assert_close(colors[0, 0, 0],
                               torch.tensor([0.999 + 0.001, 0.001, 0.001], dtype=torch.float64))
    torch.testing.assert_close(alphas[0, 0, 0, 0].item(), 0.999)
    # Below 1/255 a sample is skipped entirely.
    scene = one_pixel_scene([0.003, 0.5], [2.0, 3.0], [red, green])
    colors, alphas = fn(*scene, 1, 1)[:2]
    torch.testing.assert_close(colors[0, 0, 0], torch.tensor([0, 0.5, 0], dtype=torch.float64))


def test_clamped_alpha_has_no_opacity_gradient():
    """Above 0.999 alpha is constant (gsplat's backward agrees); the splat behind still counts."""
    scene = one_pixel_scene([1.0, 0.5, 0.7], [2.0, 3.0, 2.5], [[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    means, quats, scales = scene[0].clone(), scene[1], scene[2]
    means[1:, 0] = 0.004  # off-centre enough to stay below the clamp
    scene = (means, quats, scales) + scene[3:]
    weights = torch.ones(1, 1, 1, 3, dtype=torch.float64)
    _, _, g1 = render_and_grads(rasterize, scene, 1, 1, weights)
    _, _, g2 = render_and_grads(rasterize_reference, scene, 1, 1, weights)
    assert g2[3][0] == 0 and g2[3][2] != 0
    for x, y in zip(g1, g2):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-12)


def test_expected_depth_and_alpha_ranges():
    W, H = 40, 30
    scene = random_scene(200, W, H, seed=7)
    colors, alphas, meta = rasterize(*scene, W, H, render_mode="RGB+ED")
    assert colors.shape == (1, H, W, 4) and alphas.shape == (1, H, W, 1)
    assert alphas.min() >= 0 and alphas.max() <= 1
    covered = alphas[..., 0] > 1e-3
    depth = colors[..., 3][covered]
    visible = (meta["radii"] > 0).all(-1)
    # expected depth is a convex combination of the composited Gaussians' depths
    assert depth.min() >= meta["depths"][visible].min() - 1e-9
    assert depth.max() <= meta["depths"][visible].max() + 1e-9
    # a lone splat renders its own depth wherever it is visible
    scene = one_pixel_scene([0.5], [2.5], [[1.0, 1.0, 1.0]])
    colors, alphas, _ = rasterize(*scene, 1, 1, render_mode="RGB+ED")
    torch.testing.assert_close(colors[0, 0, 0, 3].item(), 2.5)


def test_background_fills_uncovered_pixels():
    W, H = 32, 24
    scene = random_scene(30, W, H, seed=8, scale_range=(0.01, 0.03))
    bg = torch.tensor([[0.2, 0.4, 0.6]], dtype=torch.float64)
    plain, alphas, _ = rasterize(*scene, W, H)
    with_bg, alphas_bg, _ = rasterize(*scene, W, H, backgrounds=bg)
    torch.testing.assert_close(alphas, alphas_bg)
    torch.testing.assert_close(with_bg, plain + (1 - alphas) * bg[:, None, None, :])
    empty = alphas[0, ..., 0] == 0
    assert empty.any()
    assert torch.equal(with_bg[0][empty], bg.expand(int(empty.sum()), 3))


def test_empty_scene_renders_background_and_zero_gradients():
    W, H = 16, 12
    scene = random_scene(0, W, H)
    bg = torch.tensor([[0.1, 0.2, 0.3]], dtype=torch.float64)
    colors, alphas, g = render_and_grads(rasterize, scene, W, H,
                                         torch.ones(1, H, W, 3, dtype=torch.float64),
                                         backgrounds=bg)
    assert torch.equal(alphas, torch.zeros(1, H, W, 1, dtype=torch.float64))
    assert torch.equal(colors, bg[:, None, None].expand(1, H, W, 3))
    assert all(t.numel() == 0 for t in g)


def test_gaussians_behind_camera_are_invisible_with_finite_gradients():
    W, H = 32, 24
    scene = random_scene(60, W, H, seed=9, n_behind=20)
    means = scene[0]
    means[:5, 2] = 0.0  # exactly in the camera plane: projection divides by z
    weights = torch.ones(1, H, W, 3, dtype=torch.float64)
    colors, alphas, grads = render_and_grads(rasterize, scene, W, H, weights, backend="torch")
    front = tuple(t[20:] for t in scene[:5]) + scene[5:]
    colors_front, alphas_front, _ = render_and_grads(rasterize, front, W, H, weights,
                                                     backend="torch")
    torch.testing.assert_close(colors, colors_front, rtol=0, atol=1e-12)
    torch.testing.assert_close(alphas, alphas_front, rtol=0, atol=1e-12)
    for g in grads:
        assert torch.isfinite(g).all()
        assert torch.equal(g[:20], torch.zeros_like(g[:20]))
    # all behind: nothing at all
    behind = tuple(t[:20] for t in scene[:5]) + scene[5:]
    colors, alphas, _ = rasterize(*behind, W, H)
    assert torch.equal(alphas, torch.zeros_like(alphas))


def test_float32_matches_float64():
    W, H = 48, 36
    scene64 = random_scene(400, W, H, seed=10)
    scene32 = tuple(t.float() for t in scene64)
    c64, a64, _ = rasterize(*scene64, W, H)
    c32, a32, _ = rasterize(*scene32, W, H)
    assert c32.dtype == torch.float32
    # Rare samples on the 1/255 threshold may flip between precisions; almost all agree.
    close = ((c32.double() - c64).abs() < 1e-4).all(-1)
    assert close.float().mean() > 0.995


def test_meta_and_auto_backend_on_cpu():
    W, H = 20, 16
    scene = random_scene(50, W, H, seed=11, n_cams=2)
    colors, alphas, meta = rasterize(*scene, W, H, backend="auto")
    assert meta["backend"] == "torch"
    assert meta["radii"].shape == (2, 50, 2) and meta["radii"].dtype == torch.int32
    assert meta["means2d"].shape == (2, 50, 2) and meta["conics"].shape == (2, 50, 3)
    assert meta["depths"].shape == (2, 50) and meta["n_cameras"] == 2
    assert meta["n_pairs"] > 0


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: {**s, "means": s["means"][:, :2]}, "means must be"),
        (lambda s: {**s, "quats": s["quats"][:-1]}, "quats must have shape"),
        (lambda s: {**s, "opacities": s["opacities"].float()}, "opacities is torch.float32"),
        (lambda s: {**s, "colors": s["colors"][:, None]}, "colors must have shape"),
        (lambda s: {**s, "render_mode": "D"}, "render_mode"),
        (lambda s: {**s, "backend": "cuda"}, "backend must be"),
        (lambda s: {**s, "sh_degree": 1}, "SH coefficients for sh_degree=1"),
        (lambda s: {**s, "width": 0}, "width and height"),
        (lambda s: {**s, "backgrounds": torch.zeros(2, 3, dtype=torch.float64)},
         "backgrounds must have shape"),
    ],
)
def test_bad_inputs_raise_clear_errors(change, message):
    names = ["means", "quats", "scales", "opacities", "colors", "viewmats", "Ks"]
    kwargs = dict(zip(names, random_scene(5, 8, 8)), width=8, height=8)
    with pytest.raises(ValueError, match=message):
        rasterize(**change(kwargs))


def test_gsplat_backend_on_cpu_tensors_is_refused():
    with pytest.raises(ValueError, match="needs CUDA tensors"):
        rasterize(*random_scene(5, 8, 8), 8, 8, backend="gsplat")


def test_gsplat_cuda_backend_matches_torch_backend():
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available: the gsplat backend cannot run here")
    if not gsplat_cuda_available():
        pytest.skip("gsplat's CUDA extension does not build/load on this machine")
    W, H = 64, 48
    scene = [t.float().cuda() for t in random_scene(500, W, H, seed=12, sh_degree=2, n_cams=2)]
    bg = torch.rand(2, 3, device="cuda")
    out_gsplat = rasterize(*scene, W, H, sh_degree=2, backgrounds=bg, render_mode="RGB+ED",
                           backend="gsplat")
    out_torch = rasterize(*scene, W, H, sh_degree=2, backgrounds=bg, render_mode="RGB+ED",
                          backend="torch")
    assert out_gsplat[2]["backend"] == "gsplat"
    torch.testing.assert_close(out_gsplat[0], out_torch[0], rtol=0, atol=2e-3)
    torch.testing.assert_close(out_gsplat[1], out_torch[1], rtol=0, atol=2e-3)


@pytest.mark.slow
def test_memory_stays_bounded_at_640x480_with_100k_gaussians():
    """Forward + backward in a fresh process; peak RSS includes Python, torch and gsplat."""
    code = textwrap.dedent("""
        import math, torch
        from procsplat.splat.rasterize import rasterize
        g = torch.Generator().manual_seed(0)
        n, W, H = 100_000, 640, 480
        f = 0.9 * W
        z = 2.0 + 4.0 * torch.rand(n, generator=g)
        u, v = torch.rand(n, generator=g) * W, torch.rand(n, generator=g) * H
        means = torch.stack([(u - W / 2) / f * z, (v - H / 2) / f * z, z], -1)
        scales = torch.exp(math.log(0.01) + math.log(5.0) * torch.rand(n, 3, generator=g))
        params = [t.requires_grad_(True) for t in (means, torch.randn(n, 4, generator=g),
                  scales, torch.rand(n, generator=g), torch.rand(n, 3, generator=g))]
        K = torch.tensor([[[f, 0, W / 2], [0, f, H / 2], [0, 0, 1]]])
        colors, alphas, meta = rasterize(*params, torch.eye(4)[None], K, W, H,
                                         max_pairs_per_chunk=1 << 22)
        (colors.sum() + alphas.sum()).backward()
        assert all(torch.isfinite(p.grad).all() for p in params)
        # VmHWM: this process's own peak (ru_maxrss keeps the forking pytest's RSS across exec)
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
        print(meta["n_pairs"], int(hwm) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    n_pairs, peak_mb = map(int, out.stdout.split())
    assert n_pairs > 10_000_000  # a heavy scene: unchunked it would need several GB
    assert peak_mb < 2048, f"peak RSS {peak_mb} MiB"
