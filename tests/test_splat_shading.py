"""Anchored Gaussians' shading gain: a per-object function of |cos| between the view ray and the face normal."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.spec import ObjectSpec
from procsplat.geometry import look_at
from procsplat.run.rundir import model_from_state, model_state
from procsplat.splat.model import SH_C0, SHADING_KNOTS, AnchoredGaussians, ProceduralObject, SceneModel

HEADLIGHT = [0.3 + 0.7 * k / (SHADING_KNOTS - 1) for k in range(SHADING_KNOTS)]  # linear in |cos|, as synth's


def anchored_table(count=200) -> AnchoredGaussians:
    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.2, -0.1, 0.0], 1.0, 7, "table")
    a = AnchoredGaussians(obj, count=count, seed=1)
    with torch.no_grad():
        a.sh0.copy_(torch.rand(count, 1, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
        a.shN.normal_(0.0, 0.05)
    return a


def base_rgb(sh0):
    return sh0[:, 0, :] * SH_C0 + 0.5


def test_gain_is_one_at_the_start_and_interpolates_its_knots():
    a = anchored_table()
    cos = torch.linspace(0, 1, 9, dtype=torch.float64)
    assert torch.allclose(a.gain(cos), torch.ones(9, dtype=torch.float64))
    eye = torch.tensor([2.0, -1.5, 1.6], dtype=torch.float64)
    g0, g1 = a.world(), a.world(eye=eye)
    for f in ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN"):
        assert torch.allclose(getattr(g0, f), getattr(g1, f))
    with torch.no_grad():
        a.shading.copy_(torch.tensor(HEADLIGHT, dtype=torch.float64).log())
    # piecewise linear in log gain: exact at the knots, between them exp of the linear blend
    assert torch.allclose(a.gain(torch.tensor([0.0, 0.25, 1.0], dtype=torch.float64)),
                          torch.tensor([0.3, 0.475, 1.0], dtype=torch.float64))
    mid = a.gain(torch.tensor([0.125], dtype=torch.float64))
    assert mid.item() == pytest.approx(math.sqrt(0.3 * 0.475))
    assert a.gain(torch.tensor([1.7, -0.2], dtype=torch.float64)).tolist() == pytest.approx([1.0, 0.3])


def test_colour_is_scaled_by_the_gain_at_each_gaussians_view_angle():
    a = anchored_table()
    with torch.no_grad():
        a.shading.copy_(torch.tensor(HEADLIGHT, dtype=torch.float64).log())
    eye = torch.tensor([2.0, -1.5, 1.6], dtype=torch.float64)
    head_on, seen = a.world(), a.world(eye=eye)
    # head-on (no camera): the gain at |cos| 1, here 1
    assert torch.allclose(head_on.sh0, a.sh0) and torch.allclose(head_on.shN, a.shN)
    v, t, _ = a.obj.mesh()
    v, tri = v.detach(), t[a.face]
    n = torch.linalg.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    ray = seen.means.detach() - eye
    cos = ((n * ray).sum(1) / n.norm(dim=1) / ray.norm(dim=1)).abs()
    expected = 0.3 + 0.7 * cos  # the knots lie on this line; exp-blends between them stay within 3 %
    ratio = base_rgb(seen.sh0.detach()) / base_rgb(a.sh0.detach())
    assert torch.allclose(ratio, expected[:, None].expand(-1, 3), rtol=0.03)
    assert float(cos.min()) < 0.3 and float(cos.max()) > 0.7  # faces at grazing and head-on angles
    assert torch.allclose(seen.shN.detach(), a.shN.detach() * (ratio[:, :1, None]), rtol=1e-9, atol=1e-12)


def test_gradients_reach_the_gain_through_a_render_and_it_is_saved():
    model = SceneModel([ObjectSpec(0, "table", "table", {}, 0.0, [0.0, 0.0, 0.0])], None, per_area=200.0,
                       max_per_object=300, seed=0)
    c2w = look_at((0.0, -1.0, 3.0), (0.0, 0.0, 0.75))
    K = torch.tensor([[30.0, 0, 24], [0, 30.0, 16], [0, 0, 1]], dtype=torch.float64)
    rgb, _, _ = model.render(torch.from_numpy(np.linalg.inv(c2w)), K, 48, 32, backend="torch")
    rgb.sum().backward()
    grad = model.anchored[0].shading.grad
    assert grad is not None and bool((grad != 0).any())
    with torch.no_grad():
        model.anchored[0].shading.copy_(torch.tensor(HEADLIGHT, dtype=torch.float64).log())
    state = model_state(model)
    again = model_from_state(state, "test")
    assert torch.equal(again.anchored[0].shading, model.anchored[0].shading)
    # a model saved before objects had a shading gain loads with none (1 everywhere)
    old = dict(state, model={k: v for k, v in state["model"].items() if not k.endswith(".shading")})
    assert torch.equal(model_from_state(old, "test").anchored[0].shading, torch.zeros(SHADING_KNOTS, dtype=torch.float64))
