"""The shape schedule of joint training (`procsplat.train.shapestep`): a cycle's meshes are evaluated once,
the shapes' gradient at the cycle's end is that of the cycle's mean loss, and edits start a new cycle.
Small: a table, a few background Gaussians, 32x24 renders on the CPU."""
import numpy as np
import pytest
import torch

from geonodes.render import look_at
from procsplat.errors import ProcsplatError
from procsplat.fit.spec import ObjectSpec
from procsplat.splat.model import BackgroundGaussians, SceneModel
from procsplat.train.image_metrics import photometric_loss
from procsplat.train.shapestep import ShapeSchedule

W, H = 32, 24
K = torch.tensor([[30.0, 0.0, W / 2], [0.0, 30.0, H / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)


def model() -> SceneModel:
    spec = ObjectSpec(3, "table", "table", {}, 0.4, [0.1, -0.2, 0.0])
    gen = torch.Generator().manual_seed(0)
    points = torch.rand(60, 3, generator=gen, dtype=torch.float64) * torch.tensor([3.0, 3.0, 1.5]) - \
        torch.tensor([1.5, -1.0, 0.0])
    bg = BackgroundGaussians(points, torch.rand(60, 3, generator=gen, dtype=torch.float64), scale=0.05)
    return SceneModel([spec], bg, per_area=400.0, max_per_object=300, seed=0)


def camera(eye):
    return torch.linalg.inv(torch.from_numpy(look_at(eye, (0.1, -0.2, 0.4))))


CAMERAS = [camera((2.0, -2.5, 1.6)), camera((-2.2, -1.5, 1.2)), camera((0.5, -3.0, 2.0))]
TARGETS = [torch.full((H, W, 3), c) for c in (0.2, 0.6, 0.4)]


def loss(m: SceneModel, k: int, **kw) -> torch.Tensor:
    rgb, _, _ = m.render(CAMERAS[k], K, W, H, with_depth=False, **kw)
    return photometric_loss(rgb, TARGETS[k])


def shape_grads(m: SceneModel) -> list:
    return [None if p.grad is None else p.grad.clone() for o in m.objects for p in (o.floats, o.yaw, o.translation)]


def test_shape_every_below_one_is_refused():
    with pytest.raises(ProcsplatError, match="shape-every"):
        ShapeSchedule(0)


def test_cycle_gradient_is_the_gradient_of_the_cycles_mean_loss():
    """Three steps of a 3-step cycle: no shape gradient until the last, then exactly that of the mean of
    the three frames' losses rendered from the programs' meshes directly."""
    m = model()
    sched = ShapeSchedule(every=3)
    first = None
    for step in range(3):
        frames = sched.frames(m)
        first = first or frames
        assert frames is first  # one evaluation per cycle
        loss(m, step, frames=frames).backward()
        assert sched.after_backward(step) == (step == 2)
        if step < 2:
            assert all(g is None for g in shape_grads(m))
    scheduled = shape_grads(m)
    assert sched.shape_steps == 1 and sched.pending == 0
    m.zero_grad(set_to_none=True)
    (sum(loss(m, k, meshes=m.meshes()) for k in range(3)) / 3).backward()
    direct = shape_grads(m)
    for a, b in zip(scheduled, direct):  # (the render is float32: its gradients agree to ~1e-5)
        assert b.abs().max() > 0
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6 * float(b.abs().max()))


def test_the_render_is_the_models_own():
    """The cycle's frames render exactly what the model renders from its programs."""
    m = model()
    sched = ShapeSchedule(every=4)
    with torch.no_grad():
        a, _, _ = m.render(CAMERAS[0], K, W, H, frames=sched.frames(m))
        b, _, _ = m.render(CAMERAS[0], K, W, H)
    torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_an_edit_starts_a_new_cycle():
    m = model()
    sched = ShapeSchedule(every=4)
    frames = sched.frames(m)
    loss(m, 0, frames=frames).backward()
    sched.after_backward(0)
    assert sched.pending == 1
    before = m.gaussians(frames=frames)[0].means.detach().clone()
    m.objects[0].set_parameters({m.objects[0].float_names[0]: float(m.objects[0].floats[0].detach()) + 0.05})
    frames = sched.frames(m)
    assert sched.pending == 0  # the old mesh's gradient is dropped
    after = m.gaussians(frames=frames)[0].means.detach()
    with torch.no_grad():
        torch.testing.assert_close(after, m.gaussians()[0].means, rtol=0, atol=1e-12)
    assert (after - before).abs().max() > 1e-3


def test_frozen_shapes_evaluate_once_and_take_no_gradient():
    m = model()
    sched = ShapeSchedule(every=2, learnable=False)
    frames = sched.frames(m)
    assert all(not x.requires_grad for f in frames for x in f)
    for step in range(4):
        assert sched.frames(m) is frames
        loss(m, step % 3, frames=frames).backward()
        assert not sched.after_backward(step)
    assert all(g is None for g in shape_grads(m))
    assert np.isfinite(float(loss(m, 0, frames=frames)))


def test_settled_shapes_step_on_the_longer_cycle_and_stay_untouched_between():
    """every 2 up to step 4, then every 4: shape steps end steps 1, 3, 7, 11; on every other step the
    programs' parameters take no gradient (an optimiser step leaves them where they are)."""
    m = model()
    sched = ShapeSchedule(every=2, settled_every=4, settle_step=4)
    assert [sched.cycle(s) for s in (0, 3, 4, 11)] == [2, 2, 4, 4]
    assert sched.period(0) == 2 and sched.period(4) == 4  # no evidence: whole cycles only
    opt = torch.optim.Adam([p for o in m.objects for p in (o.floats, o.yaw, o.translation)], lr=1e-2)
    shape_steps = []
    for step in range(12):
        before = [p.detach().clone() for o in m.objects for p in (o.floats, o.yaw, o.translation)]
        opt.zero_grad(set_to_none=True)
        loss(m, step % 3, frames=sched.frames(m)).backward()
        stepped = sched.after_backward(step)
        assert stepped == sched.is_shape_step(step)
        if stepped:
            shape_steps.append(step)
            assert all(g is not None and g.abs().sum() > 0 for g in shape_grads(m)[:1])
        else:
            assert all(g is None for g in shape_grads(m))
        opt.step()
        after = [p.detach() for o in m.objects for p in (o.floats, o.yaw, o.translation)]
        assert any((a != b).any() for a, b in zip(after, before)) == stepped, step
    assert shape_steps == [1, 3, 7, 11] and sched.shape_steps == 4


@pytest.mark.parametrize("kw", [{"settled_every": 0}, {"evidence_every": 0}])
def test_settled_and_evidence_periods_below_one_are_refused(kw):
    with pytest.raises(ProcsplatError, match="must be at least 1"):
        ShapeSchedule(2, **kw)
