"""Batched evaluation, gradients, dtypes and devices of compiled programs; search ranges and limits."""
import copy
import json
import re
from pathlib import Path

import pytest
import torch

from geonodes.errors import IRError, ParameterError
from geonodes.geometry import Rows
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


def test_pieces_with_their_own_sums_equal_single_calls(monkeypatch):
    """A batch whose pieces take partly their own parts' sums, partly the shared ones
    (CoefficientTable.own_sums), gives every row bitwise what it gives alone."""
    from geonodes.geometry import CoefficientTable
    table = load_program(DATA / "table.json")
    taken = []
    own_sums = CoefficientTable.own_sums
    monkeypatch.setattr(CoefficientTable, "own_sums",
                        lambda self, parts, rows: taken.append(own_sums(self, parts, rows)) or taken[-1])
    sets = table.sample(200, seed=5)
    groups = table.evaluate(table.stack(sets))
    assert any(t is None for t in taken) and any(t is not None for t in taken)
    monkeypatch.undo()
    for g in groups:
        for j, i in enumerate(g.index.tolist()):
            assert torch.equal(table.evaluate_one(sets[i]).vertices, g.vertices[j])


@pytest.mark.parametrize("name", PROGRAMS)
def test_transposed_vector_stacks_give_the_contiguous_stacks_values(name, monkeypatch):
    """Large batches stack Combine XYZ and primitive size columns as a transposed view
    (geometry.stack_columns): vertices and gradients are bitwise those of torch.stack(-1)."""
    import geonodes.geometry.vertices as vertices
    import geonodes.nodes.math_nodes as math_nodes
    prog = load_program(DATA / f"{name}.json")
    prog.replay_max_batch = 0
    sets = prog.sample(256, seed=11)
    floats = [p.name for p in prog.parameters if p.kind == "float"]

    def run():
        values = prog.stack(sets, dtype=torch.float64)
        for f in floats:
            values[f].requires_grad_(True)
        groups = prog.evaluate(values, dtype=torch.float64)
        loss = sum((g.vertices * torch.linspace(-1, 1, g.vertices.numel(), dtype=torch.float64)
                    .view_as(g.vertices)).sum() for g in groups)
        return groups, torch.autograd.grad(loss, [values[f] for f in floats], allow_unused=True)

    strided = []
    monkeypatch.setattr(vertices, "stack_columns", lambda xs: strided.append(1) or _stack_columns(xs))
    monkeypatch.setattr(math_nodes, "stack_columns", vertices.stack_columns)
    groups, grads = run()
    assert strided
    monkeypatch.setattr(vertices, "stack_columns", lambda xs: torch.stack(xs, -1))
    monkeypatch.setattr(math_nodes, "stack_columns", vertices.stack_columns)
    groups_c, grads_c = run()
    for g, h in zip(groups, groups_c, strict=True):
        assert torch.equal(g.index, h.index) and torch.equal(g.vertices, h.vertices)
    assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(grads, grads_c, strict=True))


def _stack_columns(xs):
    from geonodes.geometry import stack_columns
    out = stack_columns(xs)
    assert not out.is_contiguous() or xs[0].shape[0] < 128 or xs[0].dim() != 1
    return out


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


# ---- search ranges and limits ----------------------------------------------------------------

def test_saved_values_evaluate_even_outside_the_search_range():
    """Float32 storage (cabinet Depth 0.6000000238 vs max 0.6, bed Width 0.8999999762 vs min 0.9)
    and saved values the spec excludes (chair Bottom Size Scale 0.5 vs [0.7, 1], sofa L Depth
    1.39 vs [0.3, 1]) evaluate, with or without range checks, and only real excursions warn."""
    cases = {("cabinet", "Depth"): 0.6000000238418579, ("bed", "Width"): 0.8999999761581421,
             ("chair", "Bottom Size Scale"): 0.5, ("sofa", "L Depth"): 1.3899999856948853}
    for (name, param), saved in cases.items():
        prog = load_program(DATA / f"{name}.json")
        assert prog.parameter(param).default == pytest.approx(saved, abs=1e-7)  # its shortest float32 decimal
        mesh = prog.evaluate_one({param: saved}, dtype=torch.float64)
        assert torch.allclose(mesh.vertices, prog.evaluate_one(dtype=torch.float64).vertices, atol=1e-6)
        warnings = prog.outside_search_range({param: saved})
        assert warnings == ([] if name in ("cabinet", "bed") else
                            [f"parameter '{param}' = {saved:g} is outside its search range "
                             f"{prog.parameter(param).describe_range()}; evaluating it anyway"])


def test_values_beyond_the_hard_limits_are_parameter_errors(chair):
    assert chair.parameter("Seat Height").hard == (-3.4028234663852886e38, 3.4028234663852886e38)
    far = chair.evaluate({"Seat Height": torch.tensor([0.5, 40.0, -3.0])})  # any value Blender accepts
    assert sum(len(g.index) for g in far) == 3
    for bad, message in ((torch.tensor([0.5, 1e39], dtype=torch.float64), "= 1e+39 is outside Blender's limits"),
                         (float("inf"), "= inf is not a finite number"),
                         (torch.tensor([0.4, float("nan")]), "= nan is not a finite number")):
        with pytest.raises(ParameterError, match=re.escape(f"parameter 'Seat Height' {message}")):
            chair.evaluate({"Seat Height": bad})
    with pytest.raises(ParameterError, match=r"'Legs Type' = 2147483648 is outside Blender's limits "
                                             r"\[-2147483648, 2147483647\]"):
        chair.evaluate_one({"Legs Type": 2 ** 31})
    assert chair.evaluate({"Seat Height": torch.tensor([1e39])}, check_limits=False)  # unchecked on request


def test_limit_checks_of_large_batches_name_the_first_bad_value(chair):
    """Batches over 8 rows are checked by each parameter's smallest and largest value first."""
    assert sum(len(g.index) for g in chair.evaluate({"Seat Height": torch.linspace(-40.0, 40.0, 16)})) == 16
    for bad, message in ((torch.tensor([0.5] * 15 + [1e39], dtype=torch.float64), "= 1e+39 is outside Blender's limits"),
                         (torch.tensor([0.4] * 9 + [float("nan")] + [-float("inf")] * 6), "= nan is not a finite number"),
                         (torch.tensor([0.4] * 9 + [-float("inf")] + [float("nan")] * 6), "= -inf is not a finite number")):
        with pytest.raises(ParameterError, match=re.escape(f"parameter 'Seat Height' {message}")):
            chair.evaluate({"Seat Height": bad})
    with pytest.raises(ParameterError, match=r"'Legs Type' = 2147483648 is outside Blender's limits"):
        chair.evaluate({"Legs Type": torch.tensor([0] * 15 + [2 ** 31])})
    with pytest.raises(ParameterError, match=r"'Legs Type' = -2147483649 is outside Blender's limits"):
        chair.evaluate({"Legs Type": torch.tensor([-2 ** 31 - 1] + [0] * 15)})


def test_row_indexes_of_many_sets_at_once():
    labels = torch.randint(0, 5, (1000,), generator=torch.Generator().manual_seed(3)).numpy()
    sets = [Rows.from_numpy(labels == k) for k in (3, 0, 4, 1, 2)] + [Rows(0, 1000)]
    every, each = Rows.indexes(sets)
    assert torch.equal(every, torch.cat([r.index() for r in sets]))
    assert [x.tolist() for x in each] == [r.index().tolist() for r in sets]
    assert sorted(every.tolist()) == list(range(1000)) and each[-1].numel() == 0


def test_limits_in_the_ir():
    doc = json.loads((DATA / "cabinet.json").read_text())
    boards = load_program(doc).parameter("Number of Dividing Boards")
    assert (boards.soft, boards.hard) == ((1, 10000), (-2 ** 31, 2 ** 31 - 1))
    assert boards.describe_limits() == "[1, 10000] (soft), [-2147483648, 2147483647] (hard)"
    for bad, message in (({"soft": [2, 1]}, "'limits.soft' has lo 2 > hi 1"),
                         ({"hard": [0, 1]}, r"default 6 is outside the limits \[0, 1\]"),
                         ({"lo": 1}, "'limits' must be")):
        broken = copy.deepcopy(doc)
        next(p for p in broken["parameters"] if p["name"] == boards.name)["limits"] = bad
        with pytest.raises(IRError, match=message):
            load_program(broken)


def test_parameters_without_ranges_get_derived_ones():
    """The rule of geonodes.ranges.derived_range, for IR parameters that give no min/max."""
    from irtools import link, node, program

    params = [{"name": "Size", "kind": "float", "default": 0.4}, {"name": "Shift", "kind": "float", "default": 0.0},
              {"name": "Dip", "kind": "float", "default": -0.5}, {"name": "Count", "kind": "int", "default": 1},
              {"name": "Factor", "kind": "float", "default": 0.3, "limits": {"soft": [0.0, 1.0]}},
              {"name": "Steps", "kind": "int", "default": 3, "limits": {"soft": [2, 1e9]}},
              {"name": "On", "kind": "bool", "default": True}]
    doc = program([node("C", "GeometryNodeMeshCube")], [link(("C", "Mesh"), ("Group Output", "Out"))], params)
    for p in doc["parameters"]:
        del p["min"], p["max"]
    got = {p.name: (p.min, p.max) for p in load_program(doc).parameters}
    assert got == {"Size": (0.2, 0.8), "Shift": (-1.0, 1.0), "Dip": (-1.0, -0.25), "Count": (-1, 3),
                   "Factor": (0.0, 1.0), "Steps": (2, 5), "On": (0, 1)}
