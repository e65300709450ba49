"""Mesh operation nodes without Blender: gradients by finite differences (float64), and the
errors of what is not supported. (Their agreement with Blender: test_mesh_ops_blender.py.)"""
import pytest

from fieldtools import finite_difference_check
from irtools import link, node
from meshoptools import op_program, selection_nodes

VALUES = {"a": 0.37, "b": -0.61, "c": 0.05}


def selected(op, mesh="grid", socket="Selection", geometry=("Mesh", "Mesh"), **kw):
    sel, sel_links = selection_nodes()
    return op_program(mesh, op, geometry[0], geometry[1], sel, sel_links + [link(("Cmp", "Result"), (op["name"], socket))],
                      **kw)


@pytest.mark.parametrize("op", [node("F", "GeometryNodeFlipFaces"),
                                node("F", "GeometryNodeTriangulate", {"quad_method": "SHORTEST_DIAGONAL"})])
def test_gradients_pass_through(op):
    finite_difference_check(selected(op), VALUES, ["a", "b"])
