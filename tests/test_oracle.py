"""The compiler against Blender: stored goldens (no bpy needed) and live bpy evaluation.

Goldens (tests/data/blender, made by scripts/make_goldens.py with Blender) hold >= 200 random
parameter sets per shared program. The compiler must give the same vertices (max abs error
<= 1e-5), the same polygons (same vertex cycles, same order), and the same triangles for
triangles and quads (Blender splits a quad (0,1,2),(0,2,3); n-gons are polyfilled by Blender,
so only their triangle count is compared).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from geonodes.blender import read_goldens, sample_parameter_sets
from geonodes.program import load_program

DATA = Path(__file__).resolve().parent / "data" / "blender"
PROGRAMS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "blender-programs"
PROGRAMS = ("chair", "table", "sofa", "cabinet", "bed")
VERTEX_TOL = 1e-5


def _typed(prog, values: dict) -> dict:
    """Golden values are stored as floats; give each parameter its kind back."""
    kinds = {p.name: p.kind for p in prog.parameters}
    cast = {"float": float, "int": lambda v: int(round(v)), "bool": bool}
    return {name: cast[kinds[name]](v) for name, v in values.items()}


def _mismatch(mesh, ref) -> str | None:
    """Why the compiler's mesh differs from Blender's, or None when they agree."""
    verts = mesh.vertices.detach().cpu().numpy()
    if verts.shape != ref["vertices"].shape:
        return f"vertex count {len(verts)} != Blender's {len(ref['vertices'])}"
    err = float(np.abs(verts - ref["vertices"]).max()) if len(verts) else 0.0
    if err > VERTEX_TOL:
        worst = int(np.abs(verts - ref["vertices"]).max(axis=1).argmax())
        return f"max vertex error {err:.3g} (vertex {worst})"
    offsets = mesh.face_offsets.cpu().numpy()
    if not np.array_equal(offsets, ref["face_offsets"]):
        return (f"polygon sizes differ ({len(offsets) - 1} polygons vs Blender's "
                f"{len(ref['face_offsets']) - 1})")
    if not np.array_equal(mesh.face_vertices.cpu().numpy(), ref["face_vertices"]):
        return "polygon vertex cycles differ"
    tris, ref_tris = mesh.triangles.cpu().numpy(), ref["loop_triangles"]
    if tris.shape != ref_tris.shape:
        return f"triangle count {len(tris)} != Blender's {len(ref_tris)}"
    # both triangulations list each polygon's n-2 triangles consecutively, polygon by polygon
    sizes = np.diff(offsets)
    first = np.concatenate([[0], np.cumsum(sizes - 2)])[:-1]
    rows = np.concatenate([np.arange(f, f + s - 2) for f, s in zip(first, sizes) if s <= 4]
                          or [np.zeros(0, dtype=np.int64)])
    if not np.array_equal(tris[rows], ref_tris[rows]):
        return "triangles of triangles/quads differ"
    return None


def _compare(prog, sets, refs, label):
    failures = []
    for i, (values, ref) in enumerate(zip(sets, refs)):
        mesh = prog.evaluate_one(_typed(prog, values), dtype=torch.float64)
        why = _mismatch(mesh, ref)
        if why is not None:
            failures.append(f"{label} set {i} {json.dumps(values)}: {why}")
    assert not failures, f"{len(failures)}/{len(sets)} sets differ from Blender:\n" + \
        "\n".join(failures[:10])


@pytest.mark.parametrize("name", PROGRAMS)
def test_compiler_matches_blender_goldens(name):
    sets, refs = read_goldens(DATA / f"{name}_goldens.npz")
    assert len(sets) >= 200
    prog = load_program(DATA / f"{name}.json")
    _compare(prog, sets, refs, name)


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
@pytest.mark.slow
@pytest.mark.skipif(not PROGRAMS_DIR.is_dir(), reason=f"{PROGRAMS_DIR} is missing")
@pytest.mark.parametrize("name", PROGRAMS)
def test_compiler_matches_live_blender(name):
    pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")
    from geonodes.blender import evaluate_in_blender, import_blend

    blend = PROGRAMS_DIR / f"{name}.blend"
    ir = import_blend(blend, PROGRAMS_DIR / "configs" / f"sp_{name}.json")
    # a seed the goldens never used, so these are fresh shapes
    sets = sample_parameter_sets(ir["parameters"], 60, seed=1000 + PROGRAMS.index(name))
    refs = evaluate_in_blender(blend, sets)
    _compare(load_program(ir), sets, refs, f"{name} (live)")
