"""The compiler against Blender: stored goldens (no bpy needed) and live bpy evaluation.

Goldens (tests/data/blender, made by scripts/make_goldens.py with Blender) hold 256 parameter
sets per shared program: the saved values, then random sets within the search ranges
(`_goldens`) or over every parameter's widened range within Blender's limits
(`_wide_goldens`). The compiler must give the same vertices (max abs error <= 1e-5), the same
polygons (same vertex cycles, same order), and the same triangles for triangles and quads
(see irtools.mesh_mismatch).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from geonodes.blender import read_goldens, sample_within_limits
from geonodes.program import load_program
from irtools import mesh_mismatch

DATA = Path(__file__).resolve().parent / "data" / "blender"
PROGRAMS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "blender-programs"
PROGRAMS = ("chair", "table", "sofa", "cabinet", "bed")
GOLDENS = ("goldens", "wide_goldens")


def _typed(prog, values: dict) -> dict:
    """Golden values are stored as floats; give each parameter its kind back."""
    kinds = {p.name: p.kind for p in prog.parameters}
    cast = {"float": float, "int": lambda v: int(round(v)), "bool": bool}
    return {name: cast[kinds[name]](v) for name, v in values.items()}


def _compare(prog, sets, refs, label):
    failures = []
    for i, (values, ref) in enumerate(zip(sets, refs)):
        mesh = prog.evaluate_one(_typed(prog, values), dtype=torch.float64)
        why = mesh_mismatch(mesh, ref)
        if why is not None:
            failures.append(f"{label} set {i} {json.dumps(values)}: {why}")
    assert not failures, f"{len(failures)}/{len(sets)} sets differ from Blender:\n" + \
        "\n".join(failures[:10])


@pytest.mark.parametrize("goldens", GOLDENS)
@pytest.mark.parametrize("name", PROGRAMS)
def test_compiler_matches_blender_goldens(name, goldens):
    sets, refs = read_goldens(DATA / f"{name}_{goldens}.npz")
    assert len(sets) == 256
    prog = load_program(DATA / f"{name}.json")
    assert _typed(prog, sets[0]) == prog.defaults  # set 0: the file's saved values
    _compare(prog, sets, refs, f"{name} {goldens}")


@pytest.mark.parametrize("name", PROGRAMS)
def test_wide_goldens_leave_the_search_ranges(name):
    """The wide goldens are only a wider oracle if every parameter leaves its search range."""
    sets, _ = read_goldens(DATA / f"{name}_wide_goldens.npz")
    prog = load_program(DATA / f"{name}.json")
    for p in prog.parameters:
        values = [s[p.name] for s in sets]
        if p.kind == "bool":
            assert set(values) == {0.0, 1.0}, p.name
        else:
            assert min(values) < p.min and max(values) > p.max, p.name


@pytest.mark.parametrize("name", PROGRAMS)
def test_goldens_cover_every_discrete_value(name):
    """The goldens are only a good oracle if every bool/int value occurs in them."""
    sets, _ = read_goldens(DATA / f"{name}_goldens.npz")
    prog = load_program(DATA / f"{name}.json")
    for p in prog.parameters:
        if p.sample and p.kind in ("int", "bool"):
            seen = {int(round(s[p.name])) for s in sets}
            assert set(range(int(p.min), int(p.max) + 1)) <= seen, p.name  # set 0 may lie outside


@pytest.mark.blender
@pytest.mark.skipif(not PROGRAMS_DIR.is_dir(), reason=f"{PROGRAMS_DIR} is missing")
@pytest.mark.parametrize("spec", [False, True], ids=["no spec", "spec"])
@pytest.mark.parametrize("name", PROGRAMS)
def test_saved_state_matches_live_blender(name, spec):
    """A file's saved values evaluate (inside its spec's ranges or not) as Blender evaluates
    the file untouched, with or without a spec."""
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.blender import evaluate_in_blender, import_blend

    blend = PROGRAMS_DIR / f"{name}.blend"
    ir = import_blend(blend, PROGRAMS_DIR / "configs" / f"sp_{name}.json" if spec else None)
    (ref,) = evaluate_in_blender(blend, [{}])
    prog = load_program(ir)
    assert mesh_mismatch(prog.evaluate_one(dtype=torch.float64), ref) is None
    assert mesh_mismatch(prog.evaluate_one(prog.defaults, dtype=torch.float64), ref) is None


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.skipif(not PROGRAMS_DIR.is_dir(), reason=f"{PROGRAMS_DIR} is missing")
@pytest.mark.parametrize("name", PROGRAMS)
def test_compiler_matches_live_blender(name):
    """256 fresh sets (a seed the goldens never used) within Blender's limits, no spec."""
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.blender import evaluate_in_blender, import_blend

    blend = PROGRAMS_DIR / f"{name}.blend"
    ir = import_blend(blend)
    sets = sample_within_limits(ir["parameters"], 256, seed=1000 + PROGRAMS.index(name))
    refs = evaluate_in_blender(blend, sets)
    _compare(load_program(ir), sets, refs, f"{name} (live)")
