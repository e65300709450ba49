"""The trainer's optimiser (`procsplat.train.trainer.adam`): fused where torch has the kernel, the same
updates as torch's plain Adam, and it survives the parameter swaps densification makes."""
import pytest
import torch

from procsplat.splat.densify import DensifyStrategy
from procsplat.splat.model import BackgroundGaussians
from procsplat.train.trainer import adam

FUSED_ON_CPU = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)


def groups(tensors: list, lrs: list) -> list:
    return [{"params": [t], "lr": lr} for t, lr in zip(tensors, lrs)]


@pytest.mark.skipif(not FUSED_ON_CPU, reason="torch < 2.4 has no fused Adam on the CPU")
def test_fused_on_the_cpu():
    assert adam(groups([torch.zeros(3, dtype=torch.float64, requires_grad=True)], [0.1])).defaults["fused"]


def test_the_same_updates_as_plain_adam():
    gen = torch.Generator().manual_seed(0)
    start = [torch.randn(n, generator=gen, dtype=torch.float64) for n in (30, 7, 1)]
    lrs = [0.02, 0.005, 1e-3]
    mine = [t.clone().requires_grad_(True) for t in start]
    ref = [t.clone().requires_grad_(True) for t in start]
    a, b = adam(groups(mine, lrs)), torch.optim.Adam(groups(ref, lrs), eps=1e-15)
    for _ in range(50):
        for p, q in zip(mine, ref):
            p.grad = torch.randn(p.shape, generator=gen, dtype=p.dtype)
            q.grad = p.grad.clone()
        a.step()
        b.step()
    moved = max(float((p.detach() - s).abs().max()) for p, s in zip(ref, start))
    assert moved > 1e-3  # the comparison below is not between two unmoved sets
    for p, q in zip(mine, ref):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=1e-12)


def test_densification_swaps_keep_the_optimiser_working():
    gen = torch.Generator().manual_seed(1)
    bg = BackgroundGaussians(torch.rand(20, 3, generator=gen, dtype=torch.float64),
                             torch.rand(20, 3, generator=gen, dtype=torch.float64), scale=0.05)
    names = ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")
    opt = adam(groups([getattr(bg, n) for n in names], [1e-3] * len(names)))
    for _ in range(2):
        for n in names:
            getattr(bg, n).grad = torch.ones_like(getattr(bg, n))
        opt.step()
    kept = torch.arange(0, 20, 2)
    moments = opt.state[bg.means]["exp_avg"][kept].clone()
    DensifyStrategy.remove(bg, opt, {"grad2d": None, "count": None}, torch.arange(20) % 2 == 1)
    DensifyStrategy.duplicate(bg, opt, {"grad2d": None, "count": None}, torch.arange(10) < 3)
    assert bg.means.shape == (13, 3) and opt.param_groups[0]["params"][0] is bg.means
    state = opt.state[bg.means]
    torch.testing.assert_close(state["exp_avg"][:10], moments)
    assert float(state["exp_avg"][10:].abs().max()) == 0.0  # new Gaussians start with zero moments
    before = bg.means.detach().clone()
    for n in names:
        getattr(bg, n).grad = torch.ones_like(getattr(bg, n))
    opt.step()
    assert float((bg.means.detach() - before).abs().min()) > 0  # every row stepped, the new ones too
