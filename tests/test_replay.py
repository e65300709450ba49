"""Replayed evaluations (geonodes/replay.py): small batches replay the recorded torch calls of
an earlier evaluation; results and gradients must be those of the full evaluator, and a
replay must give way to a full evaluation whenever the recorded path no longer applies.
`python -m pytest -p replaycheck ...` (tests/replaycheck.py) checks every small evaluation of
any test session the same way."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from geonodes.library import PROGRAMS
from geonodes.program import load_program
from geonodes.replay import GuardFailed, record, replay
from irtools import link, node, program

PROGRAMS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "blender-programs"
BLENDS = ["chair", "table", "sofa", "cabinet", "bed"]


def _full(prog, values, dtype):
    limit, prog.replay_max_batch = prog.replay_max_batch, 0
    try:
        return prog.evaluate(values, dtype=dtype)
    finally:
        prog.replay_max_batch = limit


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert torch.equal(x.index, y.index)
        assert x.vertices.dtype == y.vertices.dtype and torch.equal(x.vertices, y.vertices)
        assert x.topology is y.topology


def _replays_like_full(prog, n=6, seed=0):
    sets = prog.sample(n, seed=seed)
    before = prog._replays.replayed
    for dtype in (torch.float32, torch.float64):
        for s in sets:
            full = _full(prog, prog.stack([s], dtype=dtype), dtype)
            for _ in range(3):  # full (fills caches), recorded, replayed
                _assert_same(prog.evaluate(prog.stack([s], dtype=dtype), dtype=dtype), full)
        # Other float values on the recorded paths: replays, or full evaluations where a guard fails
        for s, t in zip(sets, sets[1:] + sets[:1]):
            mixed = {k: (t[k] if prog.parameter(k).kind == "float" else v) for k, v in s.items()}
            _assert_same(prog.evaluate(prog.stack([mixed], dtype=dtype), dtype=dtype),
                         _full(prog, prog.stack([mixed], dtype=dtype), dtype))
    assert prog._replays.replayed > before


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_library_programs_replay_exactly_as_they_evaluate(name):
    _replays_like_full(load_program(name))


@pytest.mark.parametrize("name", BLENDS)
def test_blender_programs_replay_exactly_as_they_evaluate(name):
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.blender import import_blend

    ir = import_blend(PROGRAMS_DIR / f"{name}.blend", PROGRAMS_DIR / "configs" / f"sp_{name}.json")
    _replays_like_full(load_program(ir), n=4, seed=1)


def test_batches_up_to_the_limit_replay_and_larger_ones_do_not():
    prog = load_program("table")
    values = prog.stack(prog.sample(4, seed=2))
    for _ in range(3):
        _assert_same(prog.evaluate(values), _full(prog, values, torch.float32))
    assert prog._replays.replayed >= 1
    prog.replay_max_batch = 8
    big = prog.stack(prog.sample(16, seed=2))
    n = prog._replays.replayed
    for _ in range(3):
        prog.evaluate(big)
    assert prog._replays.replayed == n


@pytest.mark.parametrize("name", ["chair", "table"])
def test_large_batches_replay_new_float_values_exactly(name):
    """A batch of 256 replays when its integer values come again (picked by their digest),
    with other float values too (a refinement's population), bitwise as the full evaluator,
    gradients included; other integer values evaluate in full."""
    prog = load_program(name)
    sets, others = prog.sample(256, seed=4), prog.sample(256, seed=5)
    floats = [p.name for p in prog.parameters if p.kind == "float"]

    def values_of(mixed):
        values = prog.stack(mixed, dtype=torch.float64)
        for f in floats:
            values[f].requires_grad_(True)
        return values

    for _ in range(2):  # full (fills caches), recorded
        prog.evaluate(values_of(sets), dtype=torch.float64)
    for source in (sets, others, sets):
        values = values_of([{**s, **{f: t[f] for f in floats}} for s, t in zip(sets, source)])
        n = prog._replays.replayed
        groups = prog.evaluate(values, dtype=torch.float64)
        assert prog._replays.replayed == n + 1
        full = _full(prog, values, torch.float64)
        _assert_same(groups, full)
        grads = [torch.autograd.grad(sum(g.vertices.sum() for g in gs), [values[f] for f in floats],
                                     allow_unused=True) for gs in (groups, full)]
        assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(*grads))
    other = prog.stack(others)
    n = prog._replays.replayed
    _assert_same(prog.evaluate(other), _full(prog, other, torch.float32))
    assert prog._replays.replayed == n


def _grads(prog, base, names, replayed: bool):
    """d(weighted vertex sum)/d(float parameters), the floats given as the splat model gives
    them (0-dim elements of one leaf vector, procsplat.splat.model.world_mesh)."""
    limit = prog.replay_max_batch
    prog.replay_max_batch = limit if replayed else 0
    try:
        values = dict(base)
        xs = torch.tensor([float(base[k]) for k in names], dtype=torch.float64, requires_grad=True)
        values.update({k: xs[i] for i, k in enumerate(names)})
        mesh = prog.evaluate_one(values, dtype=torch.float64)
        weights = torch.linspace(-1, 1, mesh.vertices.numel(), dtype=torch.float64).view_as(mesh.vertices)
        (mesh.vertices * weights).sum().backward()
        return xs.grad
    finally:
        prog.replay_max_batch = limit


@pytest.mark.parametrize("name", ["chair", "desk"])
def test_gradients_through_replays_are_the_full_evaluators(name):
    prog = load_program(name)
    base = prog.sample(1, seed=4)[0]
    names = [p.name for p in prog.parameters if p.kind == "float"]
    want = _grads(prog, base, names, replayed=False)
    for _ in range(3):
        assert torch.equal(_grads(prog, base, names, replayed=True), want)
    assert prog._replays.replayed >= 1
    assert bool(want.abs().sum() > 0)


def test_replayed_gradients_match_finite_differences():
    prog = load_program("bed")
    base = prog.sample(1, seed=5)[0]
    names = [p.name for p in prog.parameters if p.kind == "float"][:4]
    fixed = {k: v for k, v in base.items() if k not in names}
    for _ in range(2):  # full, recorded: gradcheck's evaluations replay
        prog.evaluate({**fixed, **{k: torch.tensor([float(base[k])], dtype=torch.float64) for k in names}},
                      dtype=torch.float64)

    def f(*xs):
        (group,) = prog.evaluate({**fixed, **dict(zip(names, xs))}, dtype=torch.float64)
        return group.vertices

    xs = [torch.tensor([float(base[k])], dtype=torch.float64, requires_grad=True) for k in names]
    n = prog._replays.replayed
    assert torch.autograd.gradcheck(f, xs, eps=1e-6, atol=1e-6)
    assert prog._replays.replayed > n


def _switch_on_a_float():
    """A cube, or a 3-vertex line when Size < 1: the topology follows a float."""
    nodes = [
        node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "LESS_THAN"}, {"B": 1.0}),
        node("Cube", "GeometryNodeMeshCube", {}, {"Vertices X": 2, "Vertices Y": 2, "Vertices Z": 2}),
        node("Line", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 3}),
        node("Sw", "GeometryNodeSwitch", {"input_type": "GEOMETRY"}),
    ]
    links = [link(("Group Input", "Size"), ("Cmp", "A")), link(("Group Input", "Size"), ("Cube", "Size")),
             link(("Cmp", "Result"), ("Sw", "Switch")), link(("Cube", "Mesh"), ("Sw", "False")),
             link(("Line", "Mesh"), ("Sw", "True")), link(("Sw", "Output"), ("Group Output", "Out"))]
    return load_program(program(nodes, links, [{"name": "Size", "kind": "float", "default": 2.0}]))


def test_a_float_that_changes_the_path_falls_back_to_the_full_evaluator():
    prog = _switch_on_a_float()
    for size in [2.0, 2.0, 2.0, 3.0, 0.5, 0.5, 0.5, 0.25, 4.0, 0.75]:
        values = {"Size": torch.tensor([size])}
        got = prog.evaluate(values)
        _assert_same(got, _full(prog, values, torch.float32))
        assert got[0].vertices.shape[1] == (3 if size < 1 else 8)
    assert prog._replays.replayed >= 4 and prog._replays.missed >= 1


def test_record_guards_values_read_into_python():
    x = torch.tensor([1.0, 2.0])

    def f():
        return [x * 2] if bool(x.sum() > 0) else [x - 1]

    out, trace = record(f, {"x": x})
    assert trace is not None and torch.equal(out[0], x * 2)
    assert torch.equal(replay(trace, {"x": torch.tensor([3.0, 4.0])})[0], torch.tensor([6.0, 8.0]))
    with pytest.raises(GuardFailed):
        replay(trace, {"x": torch.tensor([-3.0, -4.0])})


def test_record_guards_arrays_read_into_numpy():
    x = torch.tensor([1.0, -2.0])

    def f():
        k = (x > 0).detach().cpu().numpy()  # how the evaluator reads masks and counts
        return [x * 2] if k[0] else [x - 1]

    _, trace = record(f, {"x": x})
    assert torch.equal(replay(trace, {"x": torch.tensor([3.0, -4.0])})[0], torch.tensor([6.0, -8.0]))
    for flipped in ([-3.0, -4.0], [3.0, 4.0]):  # the whole array read is the guard
        with pytest.raises(GuardFailed):
            replay(trace, {"x": torch.tensor(flipped)})


def test_record_checks_shapes_of_data_dependent_results():
    x = torch.tensor([1.0, -2.0, 3.0])

    def f():
        return [x[x > 0] * 2]

    _, trace = record(f, {"x": x})
    assert torch.equal(replay(trace, {"x": torch.tensor([5.0, 6.0, -1.0])})[0], torch.tensor([10.0, 12.0]))
    with pytest.raises(GuardFailed):
        replay(trace, {"x": torch.tensor([5.0, 6.0, 1.0])})


def test_alternating_paths_are_both_kept_and_replayed():
    prog = _switch_on_a_float()
    sizes = [2.0, 0.5] * 20
    for size in sizes:
        values = {"Size": torch.tensor([size])}
        _assert_same(prog.evaluate(values), _full(prog, values, torch.float32))
    r = prog._replays
    assert r.recorded == 2 and r.replayed >= len(sizes) - 3


def test_unused_results_are_dropped_but_shapes_python_read_still_guard():
    x = torch.tensor([1.0, -2.0, 3.0])

    def f():
        unused = x * 3  # dropped from replays
        positive = x[x > 0]  # unused too, but Python reads its shape
        return [x + 1] if positive.shape[0] == 2 and unused.dim() == 1 else [x - 1]

    _, trace = record(f, {"x": x})
    assert torch.equal(replay(trace, {"x": torch.tensor([4.0, 5.0, -6.0])})[0], torch.tensor([5.0, 6.0, -5.0]))
    with pytest.raises(GuardFailed):
        replay(trace, {"x": torch.tensor([4.0, 5.0, 6.0])})


def test_unused_splits_are_dropped_and_the_results_after_them_replay():
    x = torch.tensor([1.0, -2.0, 3.0, 4.0])

    def f():
        halves = x.split([2, 2])  # a dropped op with several results
        y = x * 2
        return [y + 1, y.unbind(0)[3]]

    _, trace = record(f, {"x": x})
    out = replay(trace, {"x": torch.tensor([0.5, 1.0, 2.0, -3.0])})
    assert torch.equal(out[0], torch.tensor([2.0, 3.0, 5.0, -5.0])) and out[1].item() == -6.0
    assert any(getattr(op[0], "__name__", "") == "split" for op in trace.ops)


def test_record_refuses_writes_into_tensors_made_elsewhere():
    x, outside = torch.tensor([1.0]), torch.zeros(1)

    def f():
        outside.add_(x)
        return [outside * 1]

    assert record(f, {"x": x})[1] is None
    made_inside = record(lambda: [torch.zeros(1).add_(x)], {"x": x})[1]
    assert made_inside is not None
    for _ in range(2):  # the zeros it writes into are made afresh on every replay
        assert torch.equal(replay(made_inside, {"x": torch.tensor([5.0])})[0], torch.tensor([5.0]))

    def through_a_view():
        z = torch.zeros(2)
        z.view(2, 1).unsqueeze(0).add_(x)  # written through views of constants
        return [z * 1]

    _, trace = record(through_a_view, {"x": x})
    for _ in range(2):
        assert torch.equal(replay(trace, {"x": torch.tensor([5.0])})[0], torch.tensor([5.0, 5.0]))


def test_results_made_from_constants_alone_are_computed_once_and_stay_fresh_outputs():
    x = torch.tensor([1.0, 2.0])
    table = torch.tensor([3.0, 4.0])

    def f():
        c = (table * 2).to(torch.float64)  # constants only: folded
        index = torch.arange(2)  # a result: made on every replay
        return [x + c, index]

    _, trace = record(f, {"x": x})
    out1 = replay(trace, {"x": torch.tensor([10.0, 20.0], dtype=torch.float64)})
    out2 = replay(trace, {"x": torch.tensor([1.0, 1.0], dtype=torch.float64)})
    assert torch.equal(out1[0], torch.tensor([16.0, 28.0], dtype=torch.float64))
    assert torch.equal(out2[0], torch.tensor([7.0, 9.0], dtype=torch.float64))
    assert out1[1] is not out2[1] and torch.equal(out1[1], torch.arange(2))
