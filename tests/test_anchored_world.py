"""`procsplat.splat.model.anchored_world` (the anchored Gaussians' world transform with a hand-written
backward, all objects at once) against the per-set autograd formulas it replaces: forward bitwise,
gradients of every input (parameters, shading knots, the face frames a shape cycle differentiates) to
1e-12, and torch's gradcheck. Small table/chair programs, CPU, float64."""
import pytest
import torch

from geonodes import load_program
from procsplat.splat.model import (
    SH_C0,
    AnchoredGaussians,
    BackgroundGaussians,
    GaussianSet,
    ProceduralObject,
    SceneModel,
    _AnchoredWorld,
    anchored_world,
)

PARAMS = ("bary_logits", "offset", "angle", "log_scales_plane", "log_scale_normal", "sh0", "shN", "shading")


def reference_world(a: AnchoredGaussians, frames, eye):
    """The per-set autograd formulas (`AnchoredGaussians.world` before the fused function)."""
    corners, normal, qf = frames
    w = torch.softmax(a.bary_logits, dim=1)
    means = (w[:, :1] * corners[:, 0] + w[:, 1:2] * corners[:, 1] + w[:, 2:] * corners[:, 2]
             + a.offset[:, None] * normal)
    half = 0.5 * a.angle
    ch, sh = torch.cos(half), torch.sin(half)
    qw, qx, qy, qz = qf.unbind(1)
    q = torch.stack([qw * ch - qz * sh, qx * ch + qy * sh, qy * ch - qx * sh, qz * ch + qw * sh], dim=1)
    q = torch.where(q[:, :1] < 0, -q, q)
    log_scales = torch.cat([a.log_scales_plane, a.log_scale_normal[:, None]], dim=1)
    if eye is None:
        cos = torch.ones(1, dtype=means.dtype)
    else:
        ray = means.detach() - eye.to(means.dtype)
        cos = (ray * normal.detach()).sum(1).abs() / ray.norm(dim=1).clamp(min=1e-12)
    g = a.gain(cos)[:, None, None]
    sh0 = (g * (SH_C0 * a.sh0 + 0.5) - 0.5) / SH_C0
    return GaussianSet(means, q, log_scales, a.opacity_logits, sh0, g * a.shN)


def objects(seed=0):
    """A table and a chair with randomised Gaussian parameters and shading knots (so every gradient
    path carries something), their face frames as leaves (as a shape cycle hands them out)."""
    gen = torch.Generator().manual_seed(seed)
    sets = []
    for k, (name, t) in enumerate((("table", (0.3, -1.0, 0.0)), ("chair", (-1.0, 0.5, 0.0)))):
        obj = ProceduralObject(load_program(name), {}, 0.4 + k, list(t), 1.0, k, name)
        a = AnchoredGaussians(obj, per_area=150.0, max_count=300, seed=k)
        with torch.no_grad():
            for n in PARAMS:
                p = getattr(a, n)
                p.add_(0.3 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
            a.angle.mul_(4.0)  # angles over the whole turn: both signs of the quaternion's w
        sets.append(a)
    frames = [tuple(x.detach().requires_grad_(True) for x in a.face_frames()) for a in sets]
    return sets, frames


def flat(sets, frames):
    return [getattr(a, n) for a in sets for n in PARAMS] + [x for f in frames for x in f]


@pytest.mark.parametrize("eye", [None, torch.tensor([2.0, -3.0, 1.6], dtype=torch.float64)])
def test_fused_world_equals_the_autograd_formulas(eye):
    sets, frames = objects()
    fused = anchored_world(sets, frames, eye)
    refs = [reference_world(a, f, eye) for a, f in zip(sets, frames)]
    ref = GaussianSet.cat(refs)
    fields = ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")
    for name in fields:
        assert torch.equal(getattr(fused, name), getattr(ref, name)), name
    assert bool((ref.quats[:, 0] >= 0).all()) and int(sum(a.face.numel() for a in sets)) == len(fused)
    # gradients of a random linear function of every output, w.r.t. every input
    gen = torch.Generator().manual_seed(5)
    weights = [torch.randn(getattr(ref, n).shape, generator=gen, dtype=torch.float64) for n in fields]
    inputs = flat(sets, frames)
    want = torch.autograd.grad(sum((getattr(ref, n) * w).sum() for n, w in zip(fields, weights)), inputs,
                               allow_unused=True)
    got = torch.autograd.grad(sum((getattr(fused, n) * w).sum() for n, w in zip(fields, weights)), inputs,
                              allow_unused=True)
    for x, gw, gg in zip(inputs, want, got):
        assert gw is not None and gg is not None and gg.shape == x.shape
        assert torch.allclose(gg, gw, rtol=1e-12, atol=1e-12), (gg - gw).abs().max()
    assert all(float(g.abs().max()) > 0 for g in got)  # every input gets a gradient


def test_world_of_one_set_and_the_scene_block_are_the_fused_function():
    sets, frames = objects(1)
    eye = torch.tensor([0.5, 2.5, 1.2], dtype=torch.float64)
    for a, f in zip(sets, frames):
        g, r = a.world(frames=f, eye=eye), reference_world(a, f, eye)
        assert torch.equal(g.means, r.means) and torch.equal(g.sh0, r.sh0) and torch.equal(g.quats, r.quats)
    model = SceneModel([], BackgroundGaussians(torch.rand(5, 3, dtype=torch.float64), torch.rand(5, 3), 0.01))
    model.anchored.extend(sets)
    model.objects.extend(a.obj for a in sets)
    g, ranges = model.gaussians(frames=frames, eye=eye)
    n = [int(a.face.numel()) for a in sets]
    assert ranges == [(0, n[0]), (n[0], n[0] + n[1])] and len(g) == sum(n) + 5
    ref = GaussianSet.cat([reference_world(a, f, eye) for a, f in zip(sets, frames)] + [model.background.world()])
    assert torch.equal(g.means, ref.means) and torch.equal(g.shN, ref.shN)
    # from meshes (frames taken here): the same values and the shapes still get their gradient
    g2, _ = model.gaussians(meshes=model.meshes(), eye=eye)
    assert torch.equal(g2.means, ref.means)
    g2.means[:, 2].sum().backward()
    assert all(a.obj.translation.grad is not None and a.obj.translation.grad[2].item() == pytest.approx(
        a.face.numel()) for a in sets)


def test_fused_world_gradcheck_and_frozen_frames():
    sets, frames = objects(2)
    picked = []
    for a, f in zip(sets, frames):  # a few Gaussians each (gradcheck's numerical Jacobian), away from the
        w = a.world(frames=f).quats[:, 0].detach()  # sign flip at w = 0 (a half-turn frame, angle 0)
        keep = (w > 0.05).nonzero()[:4, 0]
        a.prune(keep)
        picked.append(tuple(x.detach()[keep].clone().requires_grad_(True) for x in f))
    frames = picked
    eye = torch.tensor([1.0, -2.0, 1.5], dtype=torch.float64)
    # the function's order: per set its 8 parameters then its 3 frame tensors
    ordered = [x for a, f in zip(sets, frames) for x in (*(getattr(a, n) for n in PARAMS), *f)]
    # head-on (eye None): with an eye the gain's |cos| moves with the means but is not differentiated
    assert torch.autograd.gradcheck(lambda *xs: _AnchoredWorld.apply(None, (4, 4), *xs), ordered, eps=1e-6,
                                     atol=1e-7)
    # frames without a graph (frozen shapes): no gradient asked of them, the parameters get theirs
    fixed = [tuple(x.detach() for x in f) for f in frames]
    fused = anchored_world(sets, fixed, eye)
    ref = GaussianSet.cat([reference_world(a, f, eye) for a, f in zip(sets, fixed)])
    params = [getattr(a, n) for a in sets for n in PARAMS]
    want = torch.autograd.grad(ref.means.sum() + ref.sh0.sum() + ref.quats[:, 1].sum(), params, allow_unused=True)
    got = torch.autograd.grad(fused.means.sum() + fused.sh0.sum() + fused.quats[:, 1].sum(), params,
                              allow_unused=True)
    for n, gw, gg in zip(PARAMS * 2, want, got):
        if gw is None:  # scales and shN do not reach these outputs
            assert gg is None or float(gg.abs().max()) == 0, n
        else:
            assert torch.allclose(gg, gw, rtol=1e-12, atol=1e-12), n
