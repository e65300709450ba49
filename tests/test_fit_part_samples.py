"""Per-part surface samples (`surface.PartSampler`, `LossConfig.part_samples`): a part's samples stay
where they are when another part is added or removed, so an optional part is judged by its own
surface; padded and unpadded scoring agree."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from procsplat.fit.bench import resolve_program
from procsplat.fit.candidates import Scorer
from procsplat.fit.losses import LossConfig
from procsplat.fit.surface import PartSampler, SurfaceSampler, part_keys
from test_fit_padded import population, _scorers  # noqa: F401 (fixture: a population of several topologies)
from test_fit_sweep import mid_board_table  # noqa: F401


def _table(apron: bool, round_legs: bool = False):
    prog = resolve_program("table")
    g = prog.evaluate({"Has Apron": torch.tensor([apron]), "Round Legs": torch.tensor([round_legs])},
                      batch=1, dtype=torch.float64)[0]
    names = [g.topology.part_names[i] for i in g.part_id.tolist()]
    return g.vertices, g.triangles, part_keys(g.part_id, g.topology.part_names), names


def _by_part(sampler, v, t, keys, names):
    pts, tri, valid, live = sampler.sample(v, t, keys)
    assert bool(valid.all())
    out = {}
    for p, i, ok in zip(pts[0].tolist(), tri[0].tolist(), live[0].tolist()):
        if ok:
            out.setdefault(names[i], []).append(tuple(p))
    return out


def test_other_parts_keep_their_samples_when_a_part_is_added():
    sampler = PartSampler(400.0, seed=3)
    with_apron = _by_part(sampler, *_table(True))
    without = _by_part(sampler, *_table(False))
    assert any("Apron" in n for n in with_apron) and not any("Apron" in n for n in without)
    for name, pts in without.items():
        assert with_apron[name] == pts, name  # the same points, in the same order
    # The whole-area stratified sampler moves them (what this sampler is for).
    v1, t1, _, n1 = _table(True)
    v0, t0, _, n0 = _table(False)
    s = SurfaceSampler(800)
    a = {tuple(p) for p in s.sample(v1, t1)[0][0].tolist()}
    b = {tuple(p) for p in s.sample(v0, t0)[0][0].tolist()}
    assert len(a & b) < 0.5 * len(b)


def test_counts_follow_each_parts_area_and_legs_differ_only_on_legs():
    density = 500.0
    sampler = PartSampler(density)
    v, t, keys, names = _table(True)
    parts = _by_part(sampler, v, t, keys, names)
    a, b, c = v[0][t].unbind(1)
    area = 0.5 * torch.linalg.cross(b - a, c - a).norm(dim=-1)
    for name in set(names):
        want = float(area[[n == name for n in names]].sum()) * density
        k = sum(1 for n in dict.fromkeys(zip(names, keys.tolist())) if n[0] == name)  # instances of the name
        assert abs(len(parts[name]) - want) <= k, name
    square, round_ = _by_part(sampler, *_table(True, False)), _by_part(sampler, *_table(True, True))
    assert set(square) - set(round_) == {"Leg/Square Leg"} and set(round_) - set(square) == {"Leg/Round Leg"}
    for name in set(square) & set(round_):
        assert square[name] == round_[name]


def test_samples_carry_gradients_and_bad_input_is_refused():
    v, t, keys, _ = _table(True)
    v = v.clone().requires_grad_(True)
    pts, _, _, live = PartSampler(300.0).sample(v, t, keys)
    (pts * live[..., None]).sum().backward()
    assert v.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="density"):
        PartSampler(0.0)
    with pytest.raises(ValueError, match="part keys"):
        PartSampler(300.0).sample(v.detach(), t, keys[:-1])


def test_part_sampled_scoring_is_the_same_padded_or_alone(population):
    """Each row's terms do not depend on which other topologies share its loss call."""
    space, target, g = population
    alone, padded = _scorers(space, target)
    cfg = replace(LossConfig(), part_samples=True)
    for s in (alone, padded):
        s.losses = Scorer(space, target, cfg).losses
    with torch.no_grad():
        a, b = alone.score(g), padded.score(g)
        plain = Scorer(space, target).score(g)
    for k in ("coverage", "free_space", "accuracy", "total"):
        assert torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-7), k
    assert torch.equal(a["coverage"], plain["coverage"])  # only the sampled terms change
    assert not torch.allclose(a["accuracy"], plain["accuracy"])
    one = alone.score(g.take([3]))
    assert torch.allclose(one["total"], a["total"][3:4], rtol=1e-5, atol=1e-7)
