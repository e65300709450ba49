"""Subdivide Mesh without Blender: gradients by finite differences, counts, and the cases that are
errors naming the node (a mesh whose edge order is not modelled, attributes)."""
import pytest

from edgetools import edge_index_program, subdivide_program
from fieldtools import finite_difference_check
from geonodes.errors import IRError
from geonodes.program import load_program
from irtools import node


def _one(ir, a=0.4, b=0.3):
    return load_program(ir).evaluate_one({"a": a, "b": b})


@pytest.mark.parametrize("kind,level", [("cube", 1), ("cylinder", 1), ("joined", 1), ("cube", 2), ("joined", 3),
                                        ("cylinder", 2), ("ico", 3)])
def test_gradients(kind, level):
    finite_difference_check(subdivide_program(kind, level), {"a": 0.4, "b": 0.3}, "ab")


def test_counts_and_level_zero():
    cube = _one(subdivide_program("cube", 1))  # 3x2x4 cube: 24 points, 44 edges, 22 quads
    assert cube.vertices.shape[0] == 24 + 44 + 22 and len(cube.face_offsets) - 1 == 4 * 22
    same = _one(subdivide_program("cube", 0))
    assert same.vertices.shape[0] == 24


def test_counts_on_triangles_and_ngons():
    """Blender's counts at level L (res = 2^L + 1, p = res // 2 + 1): a k-gon (k != 4) gets
    1 + k (p-1)(p-2) inner points and k (p-1)^2 quads; a quad (res-2)^2 and (res-1)^2."""
    for level in (2, 3):
        res = 2 ** level + 1
        p = res // 2 + 1
        ico = _one(subdivide_program("ico", level))  # 12 points, 30 edges, 20 triangles
        assert ico.vertices.shape[0] == 12 + 30 * (res - 2) + 20 * (1 + 3 * (p - 1) * (p - 2))
        assert len(ico.face_offsets) - 1 == 20 * 3 * (p - 1) ** 2
        cyl = _one(subdivide_program("cylinder", level))  # 18 points, 30 edges, 12 quads, 2 hexagons
        assert cyl.vertices.shape[0] == 18 + 30 * (res - 2) + 12 * (res - 2) ** 2 + 2 * (1 + 6 * (p - 1) * (p - 2))
        assert len(cyl.face_offsets) - 1 == 12 * (res - 1) ** 2 + 2 * 6 * (p - 1) ** 2


def test_unsupported_cases_name_the_node():
    ops = [(node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}), "Mesh", "Mesh"),
           (node("SD", "GeometryNodeSubdivideMesh", {}, {"Level": 1}), "Mesh", "Mesh")]
    with pytest.raises(IRError, match="'SD'.*edge order is not modelled"):  # BEAUTY n-gons: not modelled
        _one(edge_index_program("cylinder", ops))
    store = (node("A", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "POINT"},
                  {"Name": "w", "Value": 1.0}), "Geometry", "Geometry")
    with pytest.raises(IRError, match="'SD'.*attributes"):
        _one(edge_index_program("grid", [store, ops[1]]))
