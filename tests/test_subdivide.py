"""Subdivide Mesh without Blender: gradients by finite differences, counts, and the cases that are
errors naming the node (level 2+, a mesh whose edge order is not modelled, attributes)."""
import pytest

from edgetools import edge_index_program, subdivide_program
from fieldtools import finite_difference_check
from geonodes.errors import IRError
from geonodes.program import load_program
from irtools import node


def _one(ir, a=0.4, b=0.3):
    return load_program(ir).evaluate_one({"a": a, "b": b})


@pytest.mark.parametrize("kind,level", [("cube", 1), ("cylinder", 1), ("joined", 1), ("cube", 2), ("joined", 3)])
def test_gradients(kind, level):
    finite_difference_check(subdivide_program(kind, level), {"a": 0.4, "b": 0.3}, "ab")


def test_counts_and_level_zero():
    cube = _one(subdivide_program("cube", 1))  # 3x2x4 cube: 24 points, 44 edges, 22 quads
    assert cube.vertices.shape[0] == 24 + 44 + 22 and len(cube.face_offsets) - 1 == 4 * 22
    same = _one(subdivide_program("cube", 0))
    assert same.vertices.shape[0] == 24


def test_unsupported_cases_name_the_node():
    with pytest.raises(IRError, match="'SD'.*level 2 on faces other than quads"):
        _one(subdivide_program("cylinder", 2))
    ops = [(node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}), "Mesh", "Mesh"),
           (node("SD", "GeometryNodeSubdivideMesh", {}, {"Level": 1}), "Mesh", "Mesh")]
    with pytest.raises(IRError, match="'SD'.*edge order is not modelled"):  # BEAUTY n-gons: not modelled
        _one(edge_index_program("cylinder", ops))
    store = (node("A", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "POINT"},
                  {"Name": "w", "Value": 1.0}), "Geometry", "Geometry")
    with pytest.raises(IRError, match="'SD'.*attributes"):
        _one(edge_index_program("grid", [store, ops[1]]))
