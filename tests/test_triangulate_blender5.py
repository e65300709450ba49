"""Triangulate in files saved by Blender 4.3+ (its rewrite: the new triangles first, n-gons' then
quads', quads split (2, 0, 1), (0, 2, 3) or (1, 3, 0), (3, 1, 2), new edges by mesh_calc_edges),
against goldens measured with bpy 5.0.1 (scripts/make_blender5_goldens.py: programs saved by Blender
5.0 and imported from those files, every quad and n-gon method on six primitives, bent and flat, all
or all but one face selected): the same points, faces and edges (Mesh to Points on EDGES) as Blender
5.0. The same programs said to be saved by 4.2 triangulate as 4.2 does (tests/test_mesh_ops_blender.py
checks that against live Blender 4.2)."""
import copy
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from geonodes.ir import saved_version
from geonodes.program import load_program

DATA = Path(__file__).parent / "data" / "blender5"
PROGRAMS = json.loads(gzip.open(DATA / "triangulate.json.gz", "rt").read())
GOLDENS = np.load(DATA / "triangulate.npz")
CASES = sorted(k for k in PROGRAMS)


def _faces(offsets, loops) -> list:
    return [tuple(int(v) for v in loops[offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]


@pytest.mark.parametrize("case", CASES)
def test_triangulate_as_blender5(case):
    ir = PROGRAMS[case]
    assert saved_version(ir["source"]) == (5, 0)
    mesh = load_program(ir).evaluate_one({}, dtype=torch.float64)
    ref = GOLDENS[f"{case}/vertices"]
    assert mesh.vertices.shape == ref.shape
    assert np.abs(mesh.vertices.numpy() - ref).max() < 1e-5
    assert _faces(mesh.face_offsets.numpy(), mesh.face_vertices.numpy()) == \
        _faces(GOLDENS[f"{case}/face_offsets"], GOLDENS[f"{case}/face_vertices"])


def test_the_saving_version_decides():
    """A 4.2 file keeps 4.2's order (each quad's last triangle in its place, the others after
    every face); the same program from 5.0 puts the new triangles first."""
    ir = PROGRAMS["grid-FIXED-CLIP-0.0-2/mesh"]
    old = copy.deepcopy(ir)
    old["source"]["saved_by"] = "4.2.3"
    five = load_program(ir).evaluate_one({})
    four = load_program(old).evaluate_one({})
    f5 = _faces(five.face_offsets.numpy(), five.face_vertices.numpy())
    f4 = _faces(four.face_offsets.numpy(), four.face_vertices.numpy())
    # the grid's face 0 is (0, 3, 4, 1), split on its corners 0-2: 4.3+ makes (2, 0, 1) first, 4.2
    # keeps (0, 2, 3) in its place; face 2 (3, 6, 7, 4) is not selected: last in 4.3+, third in 4.2
    assert f5[0] == (4, 0, 3) and f4[0] == (0, 4, 1)
    assert f5[-1] == f4[2] == (3, 6, 7, 4) and len(f5) == len(f4) == 11 and sorted(f5) != sorted(f4)


@pytest.mark.parametrize("source, expected", [({"saved_by": "5.0.119", "blender": "4.2.3"}, (5, 0)),
                                              ({"blender": "4.3.1"}, (4, 3)), ({}, (4, 2)),
                                              ({"saved_by": "garbage"}, (4, 2))])
def test_saved_version(source, expected):
    assert saved_version(source) == expected
