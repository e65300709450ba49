"""The shipped library: committed IR is fresh, random samples are valid furniture meshes,
dependencies hide parameters, and (with bpy) Blender evaluates the same meshes."""
from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

from geonodes.ir import parse_ir
from geonodes.library import PROGRAMS, build, json_path
from geonodes.program import load_program

SAMPLES = 120
BOX_XY, BOX_Z = 3.0, 3.0


@pytest.mark.parametrize("name", PROGRAMS)
def test_committed_json_equals_fresh_build(name):
    assert json.loads(json_path(name).read_text()) == build(name), \
        f"geonodes/library/{name}.json is stale: run python scripts/build_library.py"


@pytest.mark.parametrize("name", PROGRAMS)
def test_authored_ir_parses_and_loads_by_name(name):
    ir = parse_ir(build(name))
    prog = load_program(name)
    assert prog.name == name == ir.name
    assert [p.name for p in prog.parameters] == [p.name for p in ir.parameters]


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_parameter_is_documented(name):
    doc = importlib.import_module(f"geonodes.library.{name}").__doc__
    for p in load_program(name).parameters:
        assert p.name in doc, f"{name}: parameter '{p.name}' is missing from the module docstring"


def _activate(prog, name: str, values: dict) -> None:
    """Set values so that parameter `name` is active (its first clause, transitively)."""
    for cond in (prog.parameter(name).active_if or [[]])[0]:
        values[cond["param"]] = cond["equals"]
        _activate(prog, cond["param"], values)


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_parameter_changes_the_shape_somewhere(name):
    """No dead parameter: moving it (with its conditions met) moves some vertex."""
    prog = load_program(name)
    base = prog.sample(1, seed=3)[0]
    for p in prog.parameters:
        values = dict(base)
        _activate(prog, p.name, values)
        assert prog.is_active(p.name, values), f"{name}: could not activate '{p.name}'"
        lo, hi = dict(values), dict(values)
        if p.kind == "bool":
            lo[p.name], hi[p.name] = False, True
        else:
            lo[p.name], hi[p.name] = p.min, p.max
        a = prog.evaluate_one(lo, dtype=torch.float64).vertices
        b = prog.evaluate_one(hi, dtype=torch.float64).vertices
        assert a.shape != b.shape or not torch.allclose(a, b), f"{name}: '{p.name}' changes nothing"


def _polygon_areas(vertices: np.ndarray, offsets: np.ndarray, loops: np.ndarray) -> np.ndarray:
    """Vector area of each polygon (fan of its loops)."""
    areas = np.zeros(len(offsets) - 1)
    for k in range(3, int(np.diff(offsets).max()) + 1):
        faces = np.flatnonzero(np.diff(offsets) == k)
        if len(faces) == 0:
            continue
        idx = loops[offsets[faces][:, None] + np.arange(k)]  # (f, k)
        pts = vertices[idx]
        cross = np.cross(pts[:, 1:-1] - pts[:, :1], pts[:, 2:] - pts[:, :1]).sum(1)
        areas[faces] = 0.5 * np.linalg.norm(cross, axis=1)
    return areas


@pytest.mark.parametrize("name", PROGRAMS)
def test_random_samples_are_valid_meshes(name):
    prog = load_program(name)
    sets = prog.sample(SAMPLES, seed=11)
    groups = prog.evaluate(prog.stack(sets, dtype=torch.float64), dtype=torch.float64)
    assert sum(len(g.index) for g in groups) == SAMPLES
    for g in groups:
        t = g.topology
        offsets, loops = t.face_offsets.numpy(), t.face_vertices.numpy()
        assert len(offsets) > 1 and g.vertices.shape[1] > 0, f"{name}: empty mesh"
        assert int(np.diff(offsets).min()) >= 3
        for j, i in enumerate(g.index.tolist()):
            v = g.vertices[j].numpy()
            where = f"{name} sample {i} {json.dumps(sets[i])}"
            assert np.isfinite(v).all(), f"{where}: non-finite vertices"
            lo, hi = v.min(0), v.max(0)
            assert abs(lo[2]) < 1e-9, f"{where}: lowest point at z={lo[2]}"
            assert np.allclose(lo[:2] + hi[:2], 0.0, atol=1e-9), f"{where}: not centred in x, y"
            assert (hi[:2] <= BOX_XY).all() and hi[2] <= BOX_Z, f"{where}: outside the sane box ({hi})"
            areas = _polygon_areas(v, offsets, loops)
            assert areas.min() > 1e-6, f"{where}: degenerate face {int(areas.argmin())} (area {areas.min():.3g})"
            assert len(np.unique(t.face_part.numpy())) >= 2, f"{where}: a single part"


@pytest.mark.parametrize("name", PROGRAMS)
def test_dependencies_hide_inactive_parameters(name):
    prog = load_program(name)
    dependent = [p for p in prog.parameters if p.active_if]
    assert dependent, f"{name}: no parameter depends on another"
    for p in dependent:
        for clause in p.active_if:
            values = {c["param"]: c["equals"] for c in clause}
            # break every clause: each condition's parameter gets another value
            broken = dict(values)
            for other in p.active_if:
                c = other[0]
                q = prog.parameter(c["param"])
                alternatives = [v for v in ([False, True] if q.kind == "bool" else range(int(q.min), int(q.max) + 1))
                                if v != c["equals"]]
                broken[c["param"]] = alternatives[0]
            if not any(all(broken.get(c["param"]) == c["equals"] for c in cl) for cl in p.active_if):
                assert not prog.is_active(p.name, broken), f"{name}: '{p.name}' active with {broken}"


def test_chair_dependency_examples():
    chair = load_program("chair")
    assert chair.is_active("Middle Offset", {"Legs Type": 0, "Has Middle Support": True})
    assert not chair.is_active("Middle Offset", {"Legs Type": 0, "Has Middle Support": False})
    assert not chair.is_active("Middle Offset", {"Legs Type": 1, "Has Middle Support": True})
    assert not chair.is_active("Slat Count", {"Has Back": False, "Back Style": 1})
    assert chair.is_active("Slat Count", {"Has Back": True, "Back Style": 1})
    assert len(chair.parameters) >= 20


def test_inactive_parameters_do_not_change_the_shape():
    table = load_program("table")
    values = {"Legs Type": 1}
    a = table.evaluate_one({**values, "Leg Size": 0.03}, dtype=torch.float64).vertices
    b = table.evaluate_one({**values, "Leg Size": 0.1}, dtype=torch.float64).vertices
    assert torch.equal(a, b)


def _mismatch(mesh, ref) -> str | None:
    verts = mesh.vertices.numpy()
    if verts.shape != ref["vertices"].shape:
        return f"vertex count {len(verts)} != Blender's {len(ref['vertices'])}"
    err = float(np.abs(verts - ref["vertices"]).max())
    if err > 1e-5:
        return f"max vertex error {err:.3g}"
    if not np.array_equal(mesh.face_offsets.numpy(), ref["face_offsets"]) or \
            not np.array_equal(mesh.face_vertices.numpy(), ref["face_vertices"]):
        return "polygons differ"
    return None


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("name", PROGRAMS)
def test_round_trip_through_blender(name, tmp_path):
    """Export to .blend, evaluate that file in Blender, compare with the compiler."""
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.blender import evaluate_in_blender, export_blend, import_blend

    ir = json.loads(json_path(name).read_text())
    blend = export_blend(ir, tmp_path / f"{name}.blend")
    prog = load_program(name)
    sets = prog.sample(60, seed=2024)
    refs = evaluate_in_blender(blend, sets)
    failures = [f"set {i} {json.dumps(s)}: {why}" for i, (s, ref) in enumerate(zip(sets, refs))
                if (why := _mismatch(prog.evaluate_one(s, dtype=torch.float64), ref)) is not None]
    assert not failures, f"{len(failures)}/{len(sets)} differ from Blender:\n" + "\n".join(failures[:10])
    # the .blend re-imports to the same parameters (ranges, categories, dependencies)
    back = import_blend(blend)
    assert [(p["name"], p["kind"], p["active_if"]) for p in back["parameters"]] == \
        [(p["name"], p["kind"], p["active_if"]) for p in ir["parameters"]]


def test_gallery_renders_every_sample(tmp_path):
    from geonodes.cli import main
    from geonodes.gallery import LABEL_WIDTH
    from PIL import Image

    assert main(["gallery", "-o", str(tmp_path), "--n", "2", "--seed", "1", "--cell", "48",
                 "--programs", "chair,bookshelf"]) == 0
    img = np.asarray(Image.open(tmp_path / "gallery.png"))
    assert img.shape == (2 * 48, LABEL_WIDTH + 2 * 48, 3)
    for row in range(2):
        for col in range(2):
            cell = img[row * 48:(row + 1) * 48, LABEL_WIDTH + col * 48:LABEL_WIDTH + (col + 1) * 48]
            assert (cell < 250).any(axis=-1).mean() > 0.05, f"cell {row},{col} is empty"


@pytest.mark.blender
@pytest.mark.slow
def test_cli_exports_a_library_program_by_name(tmp_path):
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.cli import main

    out = tmp_path / "table.blend"
    assert main(["export-blend", "table", str(out)]) == 0
    assert out.stat().st_size > 0
