"""Cheaper sweeps: refinement rows that stop early (`refine`'s abandon) and later sweep rounds that
probe only neighbours screening near the incumbent (`discrete_sweep`'s later_margin)."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.candidates import Scorer, SearchSpace
from procsplat.fit.metrics import truth_genome
from procsplat.fit.refine import refine
from procsplat.fit.sweep import discrete_sweep
from procsplat.fit.synthetic import CameraRig, synthetic_object

TABLE = {"Width": 1.4, "Height": 0.75, "Depth": 0.7, "Top Shape": 0, "Top Thickness": 0.04, "Legs Type": 2,
         "Panel Thickness": 0.05, "Has Mid Board": True, "Mid Board Z Scale": 0.2}


@pytest.fixture(scope="module")
def table():
    torch.set_num_threads(1)
    prog = load_program("table")
    target, truth = synthetic_object(prog, TABLE, yaw=0.4, xy=(0.1, -0.2),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=3)
    space = SearchSpace(prog)
    return space, Scorer(space, target), truth


def _rows(space, truth):
    """The true shape, slightly off, and two shapes far off (floats moved by 0.3 and 0.5)."""
    g = truth_genome(space, truth).take([0, 0, 0, 0])
    g.unit[1] = np.clip(g.unit[1] + 0.05, 0, 1)
    g.unit[2] = np.clip(g.unit[2] + 0.3, 0, 1)
    g.unit[3] = np.clip(g.unit[3] - 0.5, 0, 1)
    g.pose[:, 1:3] += 0.03
    return g


def test_refine_without_a_reachable_bound_is_unchanged(table):
    space, scorer, truth = table
    g = _rows(space, truth)
    a, la = refine(scorer, g, 8)
    b, lb = refine(scorer, g, 8, abandon=(3, float("inf")))
    assert np.array_equal(la, lb) and np.array_equal(a.unit, b.unit) and np.array_equal(a.pose, b.pose)


def test_refine_stops_rows_above_the_bound_and_goes_on_with_the_rest(table):
    space, scorer, truth = table
    g = _rows(space, truth)
    full_hist, stop_hist = [], []
    _, full = refine(scorer, g, 10, history=full_hist)
    after3 = np.nanmin(np.array(full_hist[:3]), 0)
    bound = float(np.sort(after3)[1]) * 1.001  # the two best rows go on
    got, loss = refine(scorer, g, 10, abandon=(3, bound), history=stop_hist)
    stop_hist = np.array(stop_hist)
    assert stop_hist.shape == (11, 4)
    going = after3 <= bound
    assert going.sum() == 2
    assert np.isnan(stop_hist[3:, ~going]).all() and not np.isnan(stop_hist[:, going]).any()
    # kept their best of the first 3 states (re-scored exactly where proposals were reused: never above)
    assert (loss[~going] <= after3[~going] * (1 + 1e-6)).all() and np.allclose(loss[~going], after3[~going], rtol=0.01)
    assert (loss[going] < after3[going]).all()  # the others went on descending
    with torch.no_grad():  # returned losses are the scorer's own for the returned genomes
        assert np.allclose(scorer.score(got)["total"].double().numpy(), loss, rtol=1e-5)
    # every row stopped: the refinement ends there
    _, none_left = refine(scorer, g, 10, abandon=(3, 0.0))
    assert (none_left <= after3 * (1 + 1e-6)).all() and np.allclose(none_left, after3, rtol=0.01)


def test_later_rounds_probe_only_neighbours_screening_near_the_incumbent(table):
    """Switching the mid board on wins round 1; with a margin the second round probes only
    neighbours whose screened loss is under margin x the incumbent's, and a margin no neighbour
    meets ends the sweep without probing."""
    space, scorer, truth = table
    wrong = dict(truth.parameters, **{"Has Mid Board": False, "Mid Board Z Scale": 0.45})
    g = truth_genome(space, replace(truth, parameters=wrong))
    with torch.no_grad():
        loss0 = float(scorer.score(g)["total"][0])
    for margin in (1.5, 1e-6):
        trace = []
        best, loss = discrete_sweep(scorer, g, loss0, np.random.default_rng(0), rounds=2, samples=8, steps=10,
                                    later_margin=margin, trace=trace)
        assert space.to_dict(best.disc[0], best.unit[0])["Has Mid Board"] is True and loss < 0.5 * loss0
        first, second = trace
        assert len(first["probed"]) == len(first["ids"])  # round 1 probes every neighbour
        near = [i for i, s in zip(second["ids"], second["screen"]) if s < margin * second["incumbent_screen"]]
        if margin > 1:
            assert 0 < len(near) < len(second["ids"]) and second["probed"] == near
        else:
            assert near == [] and second["stopped"] == "gate" and "probed" not in second


def test_extension_only_in_the_first_rounds(table, monkeypatch):
    """`extend_rounds` 1: the closest refined rows get `extra_steps` more in the first round only
    (0: in every round). The refinements themselves are the real ones, counted by round."""
    import procsplat.fit.sweep as sweep_module
    space, scorer, truth = table
    wrong = dict(truth.parameters, **{"Has Mid Board": False, "Mid Board Z Scale": 0.45})
    g = truth_genome(space, replace(truth, parameters=wrong))
    with torch.no_grad():
        loss0 = float(scorer.score(g)["total"][0])
    real = sweep_module.refine
    for extend_rounds in (0, 1):
        trace, extended = [], []

        def counted(scorer_, genomes, steps, *args, **kwargs):
            if steps == 7:  # extra_steps below: an extension, in round len(trace)
                extended.append(len(trace))
            return real(scorer_, genomes, steps, *args, **kwargs)

        monkeypatch.setattr(sweep_module, "refine", counted)
        best, loss = discrete_sweep(scorer, g, loss0, np.random.default_rng(0), rounds=2, samples=8, steps=10,
                                    extend=2, extra_steps=7, extend_rounds=extend_rounds, trace=trace)
        assert len(trace) == 2 and space.to_dict(best.disc[0], best.unit[0])["Has Mid Board"] is True
        if extend_rounds == 0:
            assert extended == [0, 1]
        else:
            assert extended == [0]
