"""Batches of new integer values (a search's populations) laid out in slots by their integer
values (geonodes/padded.py): the padded batch's node tree and coefficient table replay, the
vertices are gathered for the batch's own rows; groups, vertices and gradients must be the
full evaluator's, bit for bit."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from geonodes.padded import Padding
from geonodes.program import load_program

from test_replay import _full  # the full evaluator, replays off

DATA = Path(__file__).parent / "data" / "blender"


def _values(prog, sets, dtype, grad):
    values = prog.stack(sets, dtype=dtype)
    if grad:
        for p in prog.parameters:
            if p.kind == "float":
                values[p.name].requires_grad_(True)
    return values


def _loss(groups):  # every row weighted apart, so a row's gradient landing on another shows
    return sum((g.vertices * (1.0 + g.index[:, None, None])).sum() for g in groups)


@pytest.mark.parametrize("name", ["chair", "table", "bed", "library:toilet"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_new_populations_replay_padded_exactly(name, dtype):
    prog = load_program(name[8:] if name.startswith("library:") else DATA / f"{name}.json")
    floats = [p.name for p in prog.parameters if p.kind == "float"]
    padded = 0
    for seed in range(8):  # the layout's first batch evaluates in full, the next records, then replays
        sets = prog.sample(512, seed=100 + seed)
        ours, full = _values(prog, sets, dtype, True), _values(prog, sets, dtype, True)
        before = prog._replays.replayed
        groups = prog.evaluate(ours, dtype=dtype)
        padded += prog._replays.replayed > before
        want = _full(prog, full, dtype)
        assert len(groups) == len(want)
        for x, y in zip(groups, want):
            assert torch.equal(x.index, y.index) and x.topology is y.topology
            assert x.vertices.dtype == y.vertices.dtype and torch.equal(x.vertices, y.vertices)
        grads = [torch.autograd.grad(_loss(gs), [v[f] for f in floats], allow_unused=True)
                 for gs, v in ((groups, ours), (want, full))]
        assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(*grads))
    assert padded >= 3 and prog._padding._layouts


def test_floats_that_do_not_ask_for_gradients_stay_without():
    prog = load_program(DATA / "chair.json")
    name = next(p.name for p in prog.parameters if p.kind == "float")
    for seed in range(4):
        values = prog.stack(prog.sample(512, seed=200 + seed))
        values[name].requires_grad_(True)
        groups = prog.evaluate(values)
        assert all(g.vertices.requires_grad for g in groups)
    values = prog.stack(prog.sample(512, seed=300))
    assert not any(g.vertices.requires_grad for g in prog.evaluate(values))


def test_layout_places_every_row_once_in_its_combos_slot():
    padding = Padding()
    rng = np.random.default_rng(0)
    kinds = ["int", "bool"]
    ints = [rng.integers(0, 3, 400), rng.integers(0, 2, 400).astype(bool)]
    layout, src, orig = padding.plan(ints, kinds, 400, torch.device("cpu"))
    assert layout.size == src.shape[0] == orig.shape[0] <= Padding.MAX_GROWTH * 400
    real = orig >= 0
    assert sorted(orig[real].tolist()) == list(range(400))  # every row once
    assert (src[real] == orig[real]).all() and (src[~real] == 400).all()  # padding: row 0, detached
    for k, col in enumerate(ints):  # a row's slot holds its integer values
        assert (layout.values[k].numpy()[real] == col[orig[real]]).all()
    for c in layout.combos:  # a combo's rows first in its slot, in batch order, then padding
        slot = orig[layout.start[c]:layout.start[c] + layout.caps[c]]
        n = int((slot >= 0).sum())
        assert (slot[:n] >= 0).all() and (np.diff(slot[:n]) > 0).all() and (slot[n:] < 0).all()
    starts = {c: layout.start[c] for c in layout.combos}
    assert sorted(starts.values()) == [0] + list(np.cumsum([layout.caps[c] for c in layout.combos])[:-1])
    # The same mixture again fits the layout; more rows of a combo than its slot holds grow it
    again = padding.plan([rng.integers(0, 3, 400), rng.integers(0, 2, 400).astype(bool)], kinds, 400,
                         torch.device("cpu"))
    assert again[0] is layout
    skewed = [np.zeros(400, np.int64), np.zeros(400, bool)]
    grown = padding.plan(skewed, kinds, 400, torch.device("cpu"))
    assert grown is not None and grown[0] is not layout and grown[0].caps[(0, 0)] >= 400
    assert grown[0].size <= Padding.MAX_GROWTH * 400  # the other combos' slots were dropped


def test_batches_of_too_many_combos_are_not_padded():
    padding = Padding()
    ints = [np.arange(64) % 40]
    assert padding.plan(ints, ["int"], 64, torch.device("cpu")) is None
