"""Pruning the anchored Gaussians that contribute least to the training views (procsplat.splat.densify)."""
import pytest
import torch

from geonodes.render import look_at
from procsplat.fit.spec import ObjectSpec
from procsplat.splat.densify import contributions, prune_anchored
from procsplat.splat.model import ANCHORED_FIELDS, SceneModel
from procsplat.train.image_metrics import photometric_loss

W, H = 32, 24
K = torch.tensor([[30.0, 0.0, W / 2], [0.0, 30.0, H / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)


def camera(eye):
    return torch.linalg.inv(torch.from_numpy(look_at(eye, (0.1, -0.2, 0.4))))


VIEWS = [(camera(e), K, W, H) for e in ((2.0, -2.5, 1.6), (-2.2, -1.5, 1.2), (0.5, -3.0, 2.0))]


def model() -> SceneModel:
    return SceneModel([ObjectSpec(3, "table", "table", {}, 0.4, [0.1, -0.2, 0.0])], None, per_area=400.0,
                      max_per_object=300, seed=0)


def test_contributions_are_each_gaussians_share_of_the_rendered_alpha():
    m = model()
    c = contributions(m, VIEWS)
    assert len(c) == 1 and c[0].shape == (len(m.anchored[0].face),) and bool((c[0] >= 0).all())
    total = 0.0
    with torch.no_grad():
        for viewmat, k, w, h in VIEWS:
            total += float(m.render(viewmat, k, w, h, with_depth=False)[2].sum())
    assert float(c[0].sum()) == pytest.approx(total, rel=1e-4)  # every pixel's alpha is the sum of its weights


def test_prune_removes_the_least_contributing_and_keeps_the_rest_with_their_moments():
    m = model()
    a = m.anchored[0]
    opt = torch.optim.Adam([{"params": [getattr(a, n)], "lr": 1e-3} for n in ANCHORED_FIELDS])
    target = torch.full((H, W, 3), 0.3)
    rgb, _, _ = m.render(VIEWS[0][0], K, W, H, with_depth=False)
    photometric_loss(rgb, target).backward()
    opt.step()
    n = len(a.face)
    before = contributions(m, VIEWS)[0]
    order = torch.argsort(before, descending=True)
    kept_rows = torch.sort(order[: n - int(0.4 * n)]).values
    moments = opt.state[a.sh0]["exp_avg"][kept_rows].clone()
    face = a.face[kept_rows].clone()
    assert prune_anchored(m, opt, VIEWS, 0.4) == [int(0.4 * n)]
    assert len(a.face) == n - int(0.4 * n) and torch.equal(a.face, face)
    for name in ANCHORED_FIELDS:
        assert getattr(a, name).shape[0] == len(a.face)
    assert min(before[kept_rows]) >= max(before[order[n - int(0.4 * n):]])  # the lowest went
    assert any(p is a.sh0 for g in opt.param_groups for p in g["params"])
    assert torch.equal(opt.state[a.sh0]["exp_avg"], moments)
    opt.zero_grad()  # training goes on with the pruned set
    rgb, _, _ = m.render(VIEWS[1][0], K, W, H, with_depth=False)
    photometric_loss(rgb, target).backward()
    opt.step()
    with pytest.raises(ValueError, match="fraction"):
        prune_anchored(m, opt, VIEWS, 1.0)
