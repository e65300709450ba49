"""The library for real interiors: every discrete value is its own shape, every combination of
discrete values stands on the floor centred, the office-chair and pedestal-foot variants have the
parts they should, the new programs (desk, nightstand, trash_bin, toilet) too, scan labels map to
them, and a synthetic scene of them generates."""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch

from geonodes.library import PROGRAMS
from geonodes.program import load_program

NEW_PROGRAMS = ("desk", "nightstand", "trash_bin", "toilet")


def _domain(p) -> list:
    return [False, True] if p.kind == "bool" else list(range(int(p.min), int(p.max) + 1))


def _activate(prog, name: str, values: dict) -> None:
    """Set values so that parameter `name` is active (its first clause, transitively)."""
    for cond in (prog.parameter(name).active_if or [[]])[0]:
        values[cond["param"]] = cond["equals"]
        _activate(prog, cond["param"], values)


def _mesh(prog, values: dict):
    return prog.evaluate_one(values, dtype=torch.float64)


def _parts(mesh) -> list[dict]:
    """Per primitive instance: vertex count, polygon sizes, lower and upper corner, centre."""
    out = []
    offsets, loops, fp = mesh.face_offsets.numpy(), mesh.face_vertices.numpy(), mesh.face_part_id.numpy()
    v = mesh.vertices.numpy()
    for pid in np.unique(fp):
        faces = np.flatnonzero(fp == pid)
        idx = np.unique(np.concatenate([loops[offsets[f]:offsets[f + 1]] for f in faces]))
        lo, hi = v[idx].min(0), v[idx].max(0)
        out.append({"n": len(idx), "sides": sorted({int(offsets[f + 1] - offsets[f]) for f in faces}),
                    "lo": lo, "hi": hi, "size": hi - lo, "centre": (lo + hi) / 2})
    return out


def _on_floor(parts) -> list[dict]:
    return [q for q in parts if abs(q["lo"][2]) < 1e-9]


# ------------------------------------------------------------------------------------------
# Every program
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PROGRAMS)
def test_every_discrete_value_gives_its_own_mesh(name):
    """With its conditions met, each value of an int or bool parameter gives a different mesh."""
    prog = load_program(name)
    base = prog.sample(1, seed=5)[0]
    for p in prog.parameters:
        if p.kind == "float":
            continue
        values = dict(base)
        _activate(prog, p.name, values)
        meshes = {v: _mesh(prog, {**values, p.name: v}).vertices for v in _domain(p)}
        for (a, va), (b, vb) in itertools.combinations(meshes.items(), 2):
            assert va.shape != vb.shape or not torch.allclose(va, vb, atol=1e-6), \
                f"{name}: '{p.name}' = {a} and = {b} give the same mesh"


def _discrete_combinations(prog) -> list[dict]:
    """Every combination of the discrete values, inactive parameters left at their defaults
    (so each distinct shape appears once)."""
    discrete = [p for p in prog.parameters if p.kind != "float"]
    seen, out = set(), []
    for combo in itertools.product(*[_domain(p) for p in discrete]):
        values = dict(zip([p.name for p in discrete], combo))
        key = tuple((p.name, values[p.name]) for p in discrete if prog.is_active(p.name, values))
        if key not in seen:
            seen.add(key)
            out.append(dict(key))
    return out


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_discrete_combination_stands_on_the_floor_centred(name):
    prog = load_program(name)
    combos = _discrete_combinations(prog)
    for seed in (1, 2):
        floats = prog.sample(1, seed=seed)[0]
        sets = [{**floats, **c} for c in combos]
        groups = prog.evaluate(prog.stack(sets, dtype=torch.float64), dtype=torch.float64)
        assert sum(len(g.index) for g in groups) == len(sets)
        for g in groups:
            v = g.vertices.numpy()
            lo, hi = v.min(1), v.max(1)  # (b, 3)
            assert np.isfinite(v).all()
            bad = np.flatnonzero((np.abs(lo[:, 2]) > 1e-6) | (np.abs(lo[:, :2] + hi[:, :2]).max(1) > 1e-6))
            assert len(bad) == 0, f"{name}: not on the floor / centred: {json.dumps(sets[int(g.index[bad[0]])])}"


@pytest.mark.parametrize("name", NEW_PROGRAMS)
def test_new_program_has_conditional_parameters(name):
    prog = load_program(name)
    assert any(p.active_if for p in prog.parameters)
    assert sum(p.kind != "float" for p in prog.parameters) >= 2


# ------------------------------------------------------------------------------------------
# Office chairs (chair Legs Type 2, 3; Back Style 2, 3; Arm Style 1)
# ------------------------------------------------------------------------------------------

def test_variant_parameters_are_dormant_elsewhere():
    chair, table = load_program("chair"), load_program("table")
    for legs in range(4):
        values = {"Legs Type": legs}
        assert chair.is_active("Star Radius", values) == chair.is_active("Caster Radius", values) == (legs == 2)
        assert chair.is_active("Tube Radius", values) == (legs == 3)
        assert chair.is_active("Column Radius", values) == (legs in (1, 2))
        assert chair.is_active("Base Radius", values) == (legs == 1)
        assert chair.is_active("Legs Size", values) == (legs == 0)
        assert table.is_active("Foot Type", values) == (legs == 3)
        assert table.is_active("Base Radius", values) == (legs in (1, 3))
    assert not chair.is_active("Arm Style", {"Has Arms": False})
    assert chair.is_active("Arm Style", {"Has Arms": True})
    assert [chair.is_active("Slat Count", {"Has Back": True, "Back Style": s}) for s in range(4)] == \
        [False, True, False, False]
    # and they change nothing there
    star = {**CHAIR, "Legs Type": 2}
    a = _mesh(chair, {**star, "Tube Radius": 0.008, "Base Radius": 0.18, "Legs Size": 0.025})
    b = _mesh(chair, {**star, "Tube Radius": 0.016, "Base Radius": 0.32, "Legs Size": 0.06})
    assert torch.equal(a.vertices, b.vertices)
    assert not torch.equal(a.vertices, _mesh(chair, {**star, "Star Radius": 0.29}).vertices)


CHAIR = {"Seat Height": 0.48, "Seat Width": 0.5, "Seat Depth": 0.48, "Seat Thickness": 0.06, "Seat Shape": 0,
         "Has Back": True, "Back Height": 0.5, "Back Thickness": 0.04, "Back Tilt": 0.0, "Back Style": 0,
         "Has Arms": False}


def test_five_star_base_has_a_caster_at_each_arm_tip():
    chair = load_program("chair")
    values = {**CHAIR, "Legs Type": 2, "Star Radius": 0.33, "Caster Radius": 0.03, "Column Radius": 0.03}
    parts = _parts(_mesh(chair, values))
    wheels = _on_floor(parts)
    assert len(wheels) == 5, f"{len(wheels)} parts on the floor, expected 5 casters"
    axis = np.mean([w["centre"][:2] for w in wheels], axis=0)
    for w in wheels:
        assert abs(np.linalg.norm(w["centre"][:2] - axis) - 0.33) < 0.01  # at the arm tips
        assert abs(w["hi"][2] - 0.06) < 1e-6  # a wheel of radius 0.03
    angles = sorted(math.degrees(math.atan2(*(w["centre"][:2] - axis)[::-1])) % 360 for w in wheels)
    assert np.allclose(np.diff(angles), 72.0, atol=0.5)
    # a gas column rises from the hub on the axis to the mechanism under the seat
    columns = [q for q in parts if np.allclose(q["centre"][:2], axis, atol=1e-6) and q["size"][0] < 0.07
               and q["size"][2] > 0.1]
    assert len(columns) == 1 and abs(columns[0]["size"][0] - 0.06) < 1e-6


def test_cantilever_frame_is_two_runners_joined_at_the_front_rising_to_the_seat():
    chair = load_program("chair")
    parts = _parts(_mesh(chair, {**CHAIR, "Legs Type": 3, "Tube Radius": 0.012}))
    floor = _on_floor(parts)
    assert len(floor) == 3
    runners = [q for q in floor if q["size"][1] > 0.4]
    bars = [q for q in floor if q["size"][0] > 0.4]
    assert len(runners) == 2 and len(bars) == 1
    assert bars[0]["centre"][1] > 0.2  # joined at the front (y+)
    under_seat = 0.48 - 0.06
    uprights = [q for q in parts if q["size"][2] > 0.3 and q["hi"][2] <= under_seat + 1e-9]
    assert len(uprights) == 2 and all(q["centre"][1] > 0.2 for q in uprights)  # rising at the front
    assert all(abs(q["hi"][2] - under_seat) < 1e-6 or q["lo"][2] > 0 for q in uprights)
    assert all(q["size"][0] < 0.025 + 1e-9 for q in runners + uprights)  # tubes


def _back_parts(values):
    chair = load_program("chair")
    parts = _parts(_mesh(chair, values))
    return [q for q in parts if q["lo"][2] >= 0.48 - 1e-9]  # above the seat (no arms)


def test_upholstered_back_is_a_thick_cushion_with_a_rounded_top():
    parts = _back_parts({**CHAIR, "Back Style": 2})
    assert len(parts) == 2
    cushion, top = sorted(parts, key=lambda q: q["n"])
    assert abs(cushion["size"][1] - 0.08) < 1e-6  # twice the back thickness
    assert top["n"] == 48 and 24 in top["sides"]  # a 24-sided elliptic cap
    assert abs(top["hi"][2] - (0.48 + 0.5)) < 1e-6
    panel = _back_parts({**CHAIR, "Back Style": 0})
    assert len(panel) == 1 and abs(panel[0]["size"][1] - 0.04) < 1e-6


def test_mesh_back_is_a_thin_tubular_frame_round_a_sheet():
    parts = _back_parts({**CHAIR, "Back Style": 3})
    tubes = [q for q in parts if q["n"] == 24]
    sheets = [q for q in parts if q["n"] == 8]
    assert len(parts) == 5 and len(tubes) == 4 and len(sheets) == 1
    assert sheets[0]["size"][1] < 0.01 and sheets[0]["size"][0] > 0.4 and sheets[0]["size"][2] > 0.4


def test_arm_pads_stand_on_posts_beside_the_seat():
    chair = load_program("chair")
    base = {**CHAIR, "Has Back": False, "Legs Type": 2, "Has Arms": True, "Arm Height": 0.22, "Arm Width": 0.06,
            "Arm Thickness": 0.03}
    pads = _parts(_mesh(chair, {**base, "Arm Style": 1}))
    boards = _parts(_mesh(chair, {**base, "Arm Style": 0}))
    assert len(pads) == len(boards) + 2  # a bracket more per side
    seat_half = 0.25
    top = 0.48 + 0.22
    arm_pads = [q for q in pads if abs(q["hi"][2] - top) < 1e-6]
    assert len(arm_pads) == 2 and all(q["n"] == 32 for q in arm_pads)  # rounded pads
    assert all(abs(q["centre"][0]) > seat_half for q in arm_pads)  # beside the seat, not on it
    posts = [q for q in pads if q["size"][2] > 0.2 and abs(q["centre"][0]) > seat_half]
    assert len(posts) == 2 and all(q["lo"][2] < 0.48 - 0.06 for q in posts)  # from under the seat


# ------------------------------------------------------------------------------------------
# Pedestal tables on a foot (table Legs Type 3)
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("foot, arms", [(0, 2), (1, 4), (2, 5)])
def test_table_pedestal_foot(foot, arms):
    table = load_program("table")
    values = {"Width": 1.0, "Depth": 1.0, "Top Shape": 1, "Legs Type": 3, "Base Radius": 0.35,
              "Pedestal Radius": 0.06, "Foot Type": foot}
    floor = _on_floor(_parts(_mesh(table, values)))
    assert len(floor) == arms
    if foot == 0:  # two crossing bars through the column, 2 x the reach long
        assert sorted(np.round([q["size"][0] for q in floor], 6)) == [0.07, 0.7]
        assert all(np.allclose(q["centre"][:2], 0, atol=1e-9) for q in floor)
        return
    angles = sorted(math.degrees(math.atan2(q["centre"][1], q["centre"][0])) % 360 for q in floor)
    assert np.allclose(np.diff(angles), 360 / arms, atol=0.5)  # glides evenly spaced
    assert all(abs(np.linalg.norm(q["centre"][:2]) - (0.35 - 0.025)) < 1e-6 for q in floor)


# ------------------------------------------------------------------------------------------
# New programs
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("count, floor_parts", [(0, 4), (1, 3), (2, 2)])
def test_desk_pedestals(count, floor_parts):
    desk = load_program("desk")
    values = {"Width": 1.4, "Pedestal Count": count, "End Type": 0, "Pedestal Width": 0.4}
    floor = _on_floor(_parts(_mesh(desk, values)))
    assert len(floor) == floor_parts  # four legs; a pedestal and two legs; two pedestals
    pedestals = [q for q in floor if abs(q["size"][0] - 0.4) < 1e-6]
    assert len(pedestals) == count
    if count == 1:
        assert pedestals[0]["centre"][0] > 0  # at the right (x+) end


def test_desk_extras_sit_under_the_top_between_the_supports():
    desk = load_program("desk")
    values = {"Width": 1.6, "Depth": 0.7, "Height": 0.75, "Top Thickness": 0.03, "Pedestal Count": 1,
              "Pedestal Width": 0.4, "End Type": 1, "Panel Thickness": 0.03, "Has Modesty Panel": True,
              "Modesty Height": 0.3, "Has Keyboard Tray": True, "Tray Depth": 0.3}
    parts = _parts(_mesh(desk, values))
    plain = _parts(_mesh(desk, {**values, "Has Modesty Panel": False, "Has Keyboard Tray": False}))
    assert len(parts) == len(plain) + 4  # modesty panel, tray, two rails
    modesty = [q for q in parts if abs(q["size"][2] - 0.3) < 1e-6]
    assert len(modesty) == 1 and modesty[0]["centre"][1] < -0.3 and abs(modesty[0]["hi"][2] - 0.72) < 1e-6
    knee = 1.6 - 0.02 * 2 - 0.4 - 0.03
    assert abs(modesty[0]["size"][0] - knee) < 1e-6
    tray = [q for q in parts if abs(q["size"][1] - 0.3) < 1e-6 and q["size"][0] > 0.5]
    assert len(tray) == 1 and tray[0]["hi"][2] < 0.72 and tray[0]["centre"][1] > 0


@pytest.mark.parametrize("rows, cols", [(1, 1), (3, 1), (4, 2), (6, 2)])
def test_nightstand_drawer_grid(rows, cols):
    stand = load_program("nightstand")
    values = {"Width": 0.9, "Height": 0.9, "Drawer Count": rows, "Drawer Columns": cols, "Handle Type": 0,
              "Has Open Shelf": False, "Base Type": 0}
    parts = _parts(_mesh(stand, values))
    fronts = [q for q in parts if abs(q["size"][1] - 0.018) < 1e-6]
    assert len(parts) == 2 + rows * cols and len(fronts) == rows * cols
    assert len({round(float(q["centre"][0]), 6) for q in fronts}) == cols
    assert len({round(float(q["centre"][2]), 6) for q in fronts}) == rows
    with_knobs = _parts(_mesh(stand, {**values, "Handle Type": 2}))
    assert sum(q["n"] == 24 for q in with_knobs) == rows * cols  # a 12-sided knob on every drawer


def test_trash_bin_is_open_or_closed():
    bin_ = load_program("trash_bin")
    for shape, sides in ((0, 32), (1, 4)):
        values = {"Shape": shape, "Height": 0.5, "Width": 0.3, "Depth": 0.25, "Taper": 0.8}
        open_parts = _parts(_mesh(bin_, {**values, "Top Type": 0}))
        wall = max(open_parts, key=lambda q: q["size"][2])
        assert wall["sides"] == [4] and wall["n"] == 2 * sides  # an open shell: side quads only
        assert abs(wall["hi"][2] - 0.5) < 1e-6
        lid = max(_parts(_mesh(bin_, {**values, "Top Type": 2, "Lid Height": 0.05})), key=lambda q: q["hi"][2])
        assert sides in lid["sides"] and abs(lid["lo"][2] - 0.5) < 1e-6  # a closed lid on the mouth
    mesh = _mesh(bin_, {"Shape": 0, "Width": 0.3, "Taper": 0.6, "Top Type": 0})
    v = mesh.vertices.numpy()
    assert np.ptp(v[v[:, 2] < 1e-9][:, 0]) < np.ptp(v[:, 0]) * 0.61  # tapered: narrower at the bottom


def test_toilet_tank_or_pipe_and_lid():
    toilet = load_program("toilet")
    values = {"Rim Height": 0.4, "Bowl Width": 0.37, "Bowl Length": 0.5, "Seat Thickness": 0.02,
              "Has Tank": True, "Tank Width": 0.45, "Tank Depth": 0.2, "Tank Height": 0.35}
    for has_tank in (True, False):
        parts = _parts(_mesh(toilet, {**values, "Has Tank": has_tank, "Lid Type": 2}))
        back = min(parts, key=lambda q: q["centre"][1] + (0 if q["lo"][2] > 0.39 else 10))
        if has_tank:
            assert abs(back["size"][0] - 0.45) < 1e-6 and abs(back["lo"][2] - 0.4) < 1e-6
        else:
            assert back["size"][0] < 0.2  # a pipe and valve, no tank
        raised = [q for q in parts if abs(q["size"][2] - 0.475) < 1e-6 and q["size"][1] < 0.03]
        assert len(raised) == 1 and abs(raised[0]["lo"][2] - 0.42) < 1e-6  # upright on the seat
    closed = _parts(_mesh(toilet, {**values, "Lid Type": 1}))
    none = _parts(_mesh(toilet, {**values, "Lid Type": 0}))
    assert len(closed) == len(none) + 1
    assert max(q["hi"][2] for q in closed if q["size"][1] > 0.4) == pytest.approx(0.44)


# ------------------------------------------------------------------------------------------
# Scan labels and synthetic scenes
# ------------------------------------------------------------------------------------------

def test_scan_labels_map_to_the_new_programs():
    from procsplat.data.categories import SYNONYMS, program_for

    assert set(SYNONYMS) <= set(PROGRAMS)
    expected = {"chair": ["office chair", "desk chair", "swivel chair", "rolling chair", "Office Chairs"],
                "desk": ["desk", "computer desk", "writing desk", "desks"],
                "nightstand": ["nightstand", "night stand", "dresser", "chest of drawers", "drawers", "Dressers"],
                "trash_bin": ["trash can", "trash bin", "garbage bin", "wastebasket", "recycling bin", "trash cans"],
                "toilet": ["toilet", "Toilets"], "table": ["table", "coffee table"], "cabinet": ["kitchen cabinets"]}
    for program, labels in expected.items():
        for label in labels:
            assert program_for(label) == program, label


def test_synthetic_scene_of_the_new_programs(tmp_path):
    from procsplat.data.readers import load_scene
    from procsplat.data.categories import program_for
    from procsplat.data.synth import SynthConfig, generate

    scene_dir = generate(SynthConfig(out=tmp_path, seed=7, num_frames=3, width=64, height=48, num_objects=5,
                                     categories=("chair",) + NEW_PROGRAMS), progress=False)
    gt = json.loads((scene_dir / "gt.json").read_text())["objects"]
    assert len(gt) >= 3
    labels = {o.id: o.label for o in load_scene(scene_dir).objects}
    assert [program_for(labels[o["instance_id"]]) for o in gt] == [o["program"] for o in gt]
    assert sum(program_for(label) is not None for label in labels.values()) == len(gt)  # walls, floor: background
