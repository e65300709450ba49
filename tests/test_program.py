"""Batched evaluation, gradients, dtypes and devices of compiled programs."""
from pathlib import Path

import pytest
import torch

from geonodes.program import load_program

DATA = Path(__file__).parent / "data" / "blender"
PROGRAMS = ["chair", "table", "sofa", "cabinet", "bed"]


@pytest.fixture(scope="module")
def chair():
    return load_program(DATA / "chair.json")


@pytest.mark.slow
def test_batch_of_1024_equals_single_calls(chair):
    sets = chair.sample(1024, seed=7)
    groups = chair.evaluate(chair.stack(sets, dtype=torch.float64), dtype=torch.float64)
    assert sorted(i for g in groups for i in g.index.tolist()) == list(range(1024))
    assert len(groups) > 1  # a mixed population: several topologies
    for g in groups:
        for j, i in enumerate(g.index.tolist()):
            single = chair.evaluate_one(sets[i], dtype=torch.float64)
            assert torch.equal(single.vertices, g.vertices[j])
            assert torch.equal(single.face_vertices, g.topology.face_vertices)
            assert torch.equal(single.triangles, g.triangles)


@pytest.mark.parametrize("name", PROGRAMS)
def test_gradients_match_finite_differences(name):
    prog = load_program(DATA / f"{name}.json")
    base = prog.sample(3, seed=3)[2]
    floats = [p.name for p in prog.parameters if p.kind == "float" and p.sample]
    x0 = torch.tensor([base[n] for n in floats], dtype=torch.float64)

    def f(x):
        values = {**base, **{n: x[i] for i, n in enumerate(floats)}}
        return prog.evaluate_one(values, dtype=torch.float64).vertices

    x = x0.clone().requires_grad_(True)
    weights = torch.randn_like(f(x0), generator=torch.Generator().manual_seed(0))
    (f(x) * weights).sum().backward()
    eps = 1e-6
    for i, n in enumerate(floats):
        dx = torch.zeros_like(x0)
        dx[i] = eps
        fd = ((f(x0 + dx) - f(x0 - dx)) * weights).sum() / (2 * eps)
        assert float(x.grad[i]) == pytest.approx(float(fd), abs=1e-6, rel=1e-5), n
    assert x.grad.abs().sum() > 0


def test_every_float_parameter_receives_gradient_somewhere():
    """Across a few parameter sets, each active float parameter moves some vertex."""
    prog = load_program(DATA / "chair.json")
    sets = [s for s in prog.sample(40, seed=1)]
    for name in [p.name for p in prog.parameters if p.kind == "float"]:
        moved = False
        for s in sets:
            if not prog.is_active(name, s):
                continue
            x = torch.tensor(s[name], dtype=torch.float64, requires_grad=True)
            v = prog.evaluate_one({**s, name: x}, dtype=torch.float64).vertices
            if not v.requires_grad:  # e.g. the "or" dependencies of the original spec
                continue
            g = torch.autograd.grad(v.pow(2).sum(), x)[0]
            if float(g.abs()) > 0:
                moved = True
                break
        assert moved, name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dtypes(chair, dtype):
    groups = chair.evaluate(chair.stack(chair.sample(16, seed=0), dtype=dtype), dtype=dtype)
    assert all(g.vertices.dtype == dtype for g in groups)


def test_scalars_broadcast_and_defaults(chair):
    (g,) = chair.evaluate({"Seat Height": torch.tensor([0.4, 0.5, 0.6])})
    assert g.vertices.shape[0] == 3
    assert not torch.equal(g.vertices[0], g.vertices[2])
    one = chair.evaluate_one()
    assert torch.equal(one.vertices, chair.evaluate_one(chair.defaults).vertices)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu(chair):
    sets = chair.stack(chair.sample(64, seed=2), dtype=torch.float64)
    cpu = chair.evaluate(sets, dtype=torch.float64)
    gpu = chair.evaluate({k: v.cuda() for k, v in sets.items()}, dtype=torch.float64)
    for a, b in zip(cpu, gpu):
        assert torch.allclose(a.vertices, b.vertices.cpu(), atol=1e-9)


def test_sampling_is_seeded_and_within_ranges(chair):
    a, b = chair.sample(50, seed=4), chair.sample(50, seed=4)
    assert a == b and a != chair.sample(50, seed=5)
    for s in a:
        for p in chair.parameters:
            if p.sample and p.kind != "bool":
                assert p.min <= s[p.name] <= p.max


def test_active_if_hides_dependent_parameters(chair):
    assert chair.is_active("Back Height", {"Has Back": True})
    assert not chair.is_active("Back Height", {"Has Back": False})
    assert not chair.is_active("Bottom Thickness", {"Legs Type": 0})
