"""Curve to Mesh's and Fill Curve's edges in Blender's order (fill_mesh_topology, the
triangulation's), seen through Index on the
EDGE domain and through nodes that need the order: Subdivide Mesh and Extrude EDGES."""
import pytest

from edgetools import CURVE_MESHES, edge_index_program, subdivide_program
from fieldtools import compare_batch, value_sets
from irtools import node

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


@pytest.mark.parametrize("kind", sorted(CURVE_MESHES))
def test_edge_index_of_curve_meshes(kind):
    compare_batch(edge_index_program(kind), value_sets("ab", 4, seed=31))


@pytest.mark.parametrize("kind", sorted(CURVE_MESHES))
def test_subdivide_curve_meshes(kind):
    compare_batch(subdivide_program(kind, 1), value_sets("ab", 4, seed=32))


@pytest.mark.parametrize("kind", ["curve_tube", "curve_wire", "fill_ngons_hole"])
def test_extrude_edges_of_curve_meshes(kind):
    op = (node("X", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.0, 0.1, 0.2]}), "Mesh", "Mesh")
    compare_batch(edge_index_program(kind, [op]), value_sets("ab", 4, seed=33))
