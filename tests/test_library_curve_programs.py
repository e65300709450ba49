"""The library programs written with the curve and mesh-operation nodes: floor_lamp (a pole and a
shade swept by Curve to Mesh, a base from an extruded Mesh Circle) and round_table (an extruded,
tapered circle top; legs on Curve to Points of a circle): their shapes, scan labels, a batch of
every discrete combination against Blender, and synthetic fits that recover the discrete
parameters of a lamp and of a round table."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from geonodes.program import load_program

PROGRAMS = ("floor_lamp", "round_table")


def _parts(mesh) -> list[dict]:
    """Per part: its points, lowest and highest z, largest distance from the part's z axis."""
    offsets, loops, fp = mesh.face_offsets.numpy(), mesh.face_vertices.numpy(), mesh.face_part_id.numpy()
    v = mesh.vertices.numpy()
    out = []
    for pid in np.unique(fp):
        idx = np.unique(np.concatenate([loops[offsets[f]:offsets[f + 1]] for f in np.flatnonzero(fp == pid)]))
        pts = v[idx]
        centre = (pts.min(0) + pts.max(0)) / 2
        out.append({"pts": pts, "lo": pts[:, 2].min(), "hi": pts[:, 2].max(), "centre": centre,
                    "r": np.hypot(pts[:, 0] - centre[0], pts[:, 1] - centre[1]).max()})
    return out


def _radius_at(part, z) -> float:
    near = np.abs(part["pts"][:, 2] - z) < 1e-7
    return float(np.hypot(*(part["pts"][near, :2] - part["centre"][:2]).T).max())


LAMP = {"Base Type": 0, "Base Radius": 0.2, "Base Thickness": 0.03, "Height": 1.6, "Pole Radius": 0.015,
        "Arched": False, "Arch Reach": 0.5, "Shade Height": 0.3, "Shade Bottom Radius": 0.22,
        "Shade Top Radius": 0.12}


@pytest.mark.parametrize("arched", [False, True])
def test_floor_lamp_shade_and_pole(arched):
    mesh = load_program("floor_lamp").evaluate_one({**LAMP, "Arched": arched}, dtype=torch.float64)
    base, pole, shade = _parts(mesh)
    assert base["lo"] == pytest.approx(0.0, abs=1e-9) and base["hi"] == pytest.approx(0.03)
    assert base["r"] == pytest.approx(0.2, abs=1e-6)
    top = 1.6 - (0.5 * 0.25 if arched else 0.0)
    assert shade["hi"] == pytest.approx(top) and shade["lo"] == pytest.approx(top - 0.3)
    assert _radius_at(shade, top - 0.3) == pytest.approx(0.22, abs=1e-6)  # a truncated cone, wide at the bottom
    assert _radius_at(shade, top) == pytest.approx(0.12, abs=1e-6)
    assert len(shade["pts"]) == 64 and len(mesh.face_offsets) > 1  # two rims of 32, open (no caps)
    assert pole["lo"] == pytest.approx(0.03, abs=1e-3)  # (arched: its first ring tilts towards the next point)
    # the shade hangs at the arch's end, 0.5 from the pole's axis; straight: on the pole's axis
    base_to_shade = shade["centre"][:2] - base["centre"][:2]
    assert np.hypot(*base_to_shade) == pytest.approx(0.5 if arched else 0.0, abs=1e-6)
    if not arched:
        assert pole["r"] == pytest.approx(0.015, abs=1e-6) and pole["hi"] == pytest.approx(1.6 - 0.15)


def test_floor_lamp_square_base():
    base = _parts(load_program("floor_lamp").evaluate_one({**LAMP, "Base Type": 1}, dtype=torch.float64))[0]
    assert len(base["pts"]) == 8 and base["r"] == pytest.approx(0.2 * math.sqrt(2), abs=1e-6)


TABLE = {"Diameter": 1.0, "Height": 0.75, "Top Thickness": 0.04, "Edge Taper": 0.9, "Support Type": 1,
         "Pedestal Radius": 0.05, "Foot Radius": 0.25, "Leg Count": 4, "Leg Radius": 0.02, "Leg Inset": 0.1}


@pytest.mark.parametrize("count", [3, 4, 5])
def test_round_table_legs_around_a_circle(count):
    parts = _parts(load_program("round_table").evaluate_one({**TABLE, "Leg Count": count}, dtype=torch.float64))
    underside, slab, legs = parts[0], parts[1], parts[2:]
    assert len(legs) == count
    assert underside["lo"] == underside["hi"] == pytest.approx(0.71)
    assert _radius_at(slab, 0.71) == pytest.approx(0.5, abs=1e-6) and _radius_at(slab, 0.75) == pytest.approx(0.45)
    angles = sorted(math.atan2(q["centre"][1], q["centre"][0]) % (2 * math.pi) for q in legs)
    assert np.allclose(np.diff(angles), 2 * math.pi / count, atol=1e-6)
    for q in legs:
        assert np.hypot(*q["centre"][:2]) == pytest.approx(0.4, abs=1e-6)
        assert q["lo"] == pytest.approx(0.0, abs=1e-9) and q["hi"] == pytest.approx(0.71)


def test_round_table_pedestal():
    parts = _parts(load_program("round_table").evaluate_one({**TABLE, "Support Type": 0}, dtype=torch.float64))
    foot, column = parts[2], parts[3]
    assert foot["r"] == pytest.approx(0.25, abs=1e-6) and foot["hi"] == pytest.approx(0.03)
    assert column["r"] == pytest.approx(0.05, abs=1e-6) and column["hi"] == pytest.approx(0.71)


def test_scan_labels():
    from procsplat.data.categories import program_for
    for label in ("lamp", "Floor Lamps", "standing lamp"):
        assert program_for(label) == "floor_lamp", label
    assert program_for("round table") == "round_table"
    assert program_for("table") == "table" and program_for("coffee table") == "table"


def _discrete_sets(prog, seed: int) -> list[dict]:
    discrete = [p for p in prog.parameters if p.kind != "float"]
    domains = [[False, True] if p.kind == "bool" else range(int(p.min), int(p.max) + 1) for p in discrete]
    sets = []
    for k, combo in enumerate(itertools.product(*domains)):
        floats = prog.sample(1, seed=seed + k)[0]
        sets.append({**floats, **dict(zip([p.name for p in discrete], combo))})
    return sets


@pytest.mark.blender
@pytest.mark.parametrize("name", PROGRAMS)
def test_every_discrete_combination_in_one_batch_equals_blender(name):
    """The batch (float32, rows of every topology together) against Blender, vertices within 1e-5."""
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    import json
    from fieldtools import compare_batch
    from geonodes.library import json_path

    prog = load_program(name)
    compare_batch(json.loads(json_path(name).read_text()), _discrete_sets(prog, 3) + _discrete_sets(prog, 40))


def _fit(name: str, values: dict):
    from procsplat.fit.metrics import evaluate_fit
    from procsplat.fit.search import genetic_search, preset
    from procsplat.fit.synthetic import CameraRig, synthetic_object

    torch.set_num_threads(1)
    prog = load_program(name)
    target, truth = synthetic_object(prog, values, yaw=0.5, xy=(0.2, 0.1),
                                     rig=CameraRig(num_views=4, width=160, height_px=120), seed=11)
    result = genetic_search(prog, target, preset("fast", population=24, keep=8, offspring=14, generations=4,
                                                 final_steps=20, seed=5))
    return result, evaluate_fit(prog, result, truth)


@pytest.mark.slow
def test_fit_recovers_an_arched_lamp_on_a_square_base():
    result, m = _fit("floor_lamp", {**LAMP, "Base Type": 1, "Arched": True, "Arch Reach": 0.6, "Height": 1.7})
    assert m["discrete_acc"] == 1.0, m["discrete_misses"]
    assert result.parameters["Base Type"] == 1 and result.parameters["Arched"] is True
    assert m["chamfer_cm"] < 2.0 and m["yaw_err_deg"] < 5.0
    assert abs(result.parameters["Arch Reach"] - 0.6) < 0.05 and abs(result.parameters["Height"] - 1.7) < 0.05


@pytest.mark.slow
def test_fit_recovers_a_three_legged_round_table():
    result, m = _fit("round_table", {**TABLE, "Leg Count": 3, "Leg Radius": 0.03, "Edge Taper": 0.95})
    assert m["discrete_acc"] == 1.0, m["discrete_misses"]
    assert result.parameters["Support Type"] == 1 and result.parameters["Leg Count"] == 3
    assert m["chamfer_cm"] < 3.0 and abs(result.parameters["Diameter"] - 1.0) < 0.05


@pytest.mark.parametrize("name, values", [("floor_lamp", LAMP), ("floor_lamp", {**LAMP, "Arched": True}),
                                          ("floor_lamp", {**LAMP, "Base Type": 1}), ("round_table", TABLE),
                                          ("round_table", {**TABLE, "Support Type": 0})])
def test_gradients_of_every_float_parameter(name, values):
    """Autograd through the sweeps, extrusions and instances against central differences."""
    import json
    from fieldtools import finite_difference_check
    from geonodes.library import json_path

    prog = load_program(name)
    active = [p.name for p in prog.parameters if p.kind == "float" and prog.is_active(p.name, values)]
    finite_difference_check(json.loads(json_path(name).read_text()), values, active)


def test_every_category_has_a_typical_box_size_in_the_viewer():
    """The box editor offers every mapped program; a new box of each starts at a typical size."""
    pytest.importorskip("viser")
    from procsplat.view.boxes import CATEGORIES, TYPICAL_SIZE
    assert set(CATEGORIES) == set(TYPICAL_SIZE) and {"floor_lamp", "round_table"} <= set(CATEGORIES)
