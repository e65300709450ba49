"""Joint training keeps geometry: the shape evidence (each object's fitting loss on the training frames'
depth) pulls perturbed shapes back towards the truth and keeps true shapes where they are, while the
photometric loss optimises the same parameters."""
import json

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.data.config import SceneConfig
from procsplat.data.synth import SynthConfig, generate
from procsplat.fit.metrics import parameter_errors
from procsplat.splat.init import InitConfig
from procsplat.train.config import TrainConfig
from procsplat.train.bench_splat import perturbed
from procsplat.train.trainer import Trainer, gt_specs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return generate(SynthConfig(out=tmp_path_factory.mktemp("scene"), seed=3, num_frames=8, width=96, height=72,
                                num_objects=2, categories=("table",)), progress=False)


def errors(specs, truth) -> tuple[np.ndarray, np.ndarray]:
    """Per object: float parameter MAE (cm, the fit benchmark's metric) and translation error (cm)."""
    mae, trans = [], []
    for s, t in zip(specs, truth):
        mae.append(parameter_errors(load_program(t.program), s.parameters, t.parameters)[1])
        trans.append(100 * float(np.linalg.norm(np.subtract(s.translation, t.translation))))
    return np.array(mae), np.array(trans)


def train_from(scene, start: list, tmp_path, steps: int, **kw):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "start.json").write_text(json.dumps({"objects": [s.to_json() for s in start]}))
    cfg = TrainConfig(data=SceneConfig(scene=str(scene), width=96), out=tmp_path, fits_from=tmp_path / "start.json",
                      steps=steps, init=InitConfig(max_background=3000, max_gaussians_per_object=800), **kw)
    trainer = Trainer(cfg, log=lambda *a: None)
    trainer.prepare()
    for _ in range(steps):
        trainer.step()
    return trainer


def test_evidence_terms_are_the_fitting_loss(scene, tmp_path):
    """The term is the fit's loss: near zero on the true shapes, larger a few cm off, and it has a
    gradient for every learnable shape float and the pose."""
    truth = gt_specs(scene)
    t_true = train_from(scene, truth, tmp_path / "a", 0)
    t_off = train_from(scene, perturbed(truth, 0.03, seed=0), tmp_path / "b", 0)
    assert len(t_true.evidence) == 2
    with torch.no_grad():
        true_loss, off_loss = float(t_true.evidence.loss(t_true.model)), float(t_off.evidence.loss(t_off.model))
    assert true_loss < 0.5 * off_loss
    t_off.evidence.loss(t_off.model).backward()
    for obj in t_off.model.objects:
        assert obj.translation.grad is not None and obj.translation.grad[:2].abs().sum() > 0
        assert obj.floats.grad is not None and obj.floats.grad.abs().sum() > 0


def test_joint_training_repairs_shapes_a_few_cm_off(scene, tmp_path):
    truth = gt_specs(scene)
    start = perturbed(truth, 0.03, seed=0)
    mae0, trans0 = errors(start, truth)
    trainer = train_from(scene, start, tmp_path, 60)
    mae, trans = errors(trainer.model.current_specs(), truth)
    assert mae.mean() < 0.6 * mae0.mean(), (mae0, mae)
    assert np.all(mae < mae0), (mae0, mae)
    assert np.all(trans < 0.4 * trans0), (trans0, trans)


def test_joint_training_keeps_true_shapes(scene, tmp_path):
    truth = gt_specs(scene)
    trainer = train_from(scene, truth, tmp_path, 30)
    mae, trans = errors(trainer.model.current_specs(), truth)
    assert mae.mean() < 0.6 and np.all(mae < 1.0), mae  # cm; photometric gradients alone: 2-3 cm here
    assert np.all(trans < 1.0), trans


def test_geometry_weight_zero_or_frozen_shapes_build_no_evidence(scene, tmp_path):
    truth = gt_specs(scene)
    assert train_from(scene, truth, tmp_path / "a", 0, geometry_weight=0.0).evidence is None
    assert train_from(scene, truth, tmp_path / "b", 0, joint_shape=False).evidence is None


def test_shapes_step_on_their_schedule_only(scene, tmp_path):
    """shape_every=3: floats and poses move on steps 3 and 6 only (each after its cycle's evidence and
    photometric gradient), the Gaussians on every step."""
    truth = gt_specs(scene)
    trainer = train_from(scene, perturbed(truth, 0.03, seed=0), tmp_path, 0, shape_every=3)
    assert len(trainer.evidence) == 2

    def shapes():
        objects = trainer.model.objects
        return torch.cat([torch.cat([o.floats, o.yaw[None], o.translation]) for o in objects]).detach().clone()

    before, means = shapes(), trainer.model.background.means.detach().clone()
    for step in range(1, 8):
        trainer.step()
        now, now_means = shapes(), trainer.model.background.means.detach().clone()
        assert (now != before).any() == (step % 3 == 0), step
        assert (now_means != means).any(), step
        before, means = now, now_means
    assert trainer.shapes.shape_steps == 2 and trainer.shapes.pending == 1


def test_evidence_reuses_its_nearest_triangles_between_searches(scene, tmp_path):
    """Coverage's nearest-triangle search every `refresh`-th evaluation: while the shapes move by
    training-sized steps the term and its gradient are those of a search on every evaluation."""
    from procsplat.errors import ProcsplatError
    from procsplat.train.geometry import ShapeEvidence

    truth = gt_specs(scene)
    t = train_from(scene, perturbed(truth, 0.03, seed=0), tmp_path, 0)
    every = ShapeEvidence(t.scene, t.train_ids, t.model, log=lambda *a: None, refresh=1)
    reuse = ShapeEvidence(t.scene, t.train_ids, t.model, log=lambda *a: None, refresh=3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        with torch.no_grad():
            for obj in t.model.objects:  # about one shape step (2 mm) each
                obj.floats.add_(0.002 * torch.randn(obj.floats.shape, generator=gen, dtype=torch.float64))
                obj.translation[:2].add_(0.002 * torch.randn(2, generator=gen, dtype=torch.float64))
        values, grads = [], []
        for ev in (every, reuse):
            t.model.zero_grad()
            loss = ev.loss(t.model)
            loss.backward()
            values.append(float(loss))
            grads.append(torch.cat([torch.cat([o.floats.grad, o.translation.grad]) for o in t.model.objects]))
        assert values[1] == pytest.approx(values[0], rel=1e-9)
        assert torch.allclose(grads[1], grads[0], rtol=1e-7, atol=1e-12)
    assert every.searches == 5 * len(every) and reuse.searches == 2 * len(reuse)  # evaluations 1 and 4
    with pytest.raises(ProcsplatError, match="refresh"):
        ShapeEvidence(t.scene, t.train_ids, t.model, log=lambda *a: None, refresh=0)


def test_evidence_gradient_is_reused_between_its_evaluations(scene, tmp_path):
    """evidence_every=2: the evidence is evaluated on shape steps 1, 3, ...; the step between applies the
    last evaluation's vertex gradient to its own (moved) mesh, which points where a fresh evaluation's
    does, and the evaluations themselves give exactly the term's gradient."""
    from procsplat.train.geometry import ShapeEvidence
    from procsplat.train.shapestep import ShapeSchedule

    truth = gt_specs(scene)
    t = train_from(scene, perturbed(truth, 0.03, seed=0), tmp_path, 0)
    m, w = t.model, 10.0
    evidence = ShapeEvidence(t.scene, t.train_ids, m, log=lambda *a: None, refresh=1)
    direct_evidence = ShapeEvidence(t.scene, t.train_ids, m, log=lambda *a: None, refresh=1)
    sched = ShapeSchedule(every=1, evidence=evidence, weight=w, evidence_every=2)

    def grads():
        return torch.cat([torch.cat([o.floats.grad, o.yaw.grad[None], o.translation.grad]) for o in m.objects])

    def direct():
        m.zero_grad(set_to_none=True)
        value = w * direct_evidence.loss(m)
        value.backward()
        return float(value), grads()

    gen = torch.Generator().manual_seed(0)
    for step in range(4):
        m.zero_grad(set_to_none=True)
        sched.frames(m)  # no photometric loss: the shape gradient is the evidence's alone
        assert sched.evidence_evaluations == step // 2 + 1
        assert sched.after_backward(step)
        scheduled = grads()
        value, exact = direct()
        if step % 2 == 0:  # evaluated here: exactly the term and its gradient
            assert sched.evidence_value() == pytest.approx(value, rel=1e-9)
            torch.testing.assert_close(scheduled, exact, rtol=1e-7, atol=1e-12)
        else:  # reused: the previous mesh's vertex gradient, on this mesh
            cos = float(scheduled @ exact / (scheduled.norm() * exact.norm()))
            assert cos > 0.95 and float((scheduled - exact).norm() / exact.norm()) < 0.5, cos  # 0.97, 0.37 here
            assert not torch.equal(scheduled, exact)
        with torch.no_grad():  # about one shape step (2 mm) each
            for obj in m.objects:
                obj.floats.add_(0.002 * torch.randn(obj.floats.shape, generator=gen, dtype=torch.float64))
                obj.translation[:2].add_(0.002 * torch.randn(2, generator=gen, dtype=torch.float64))
