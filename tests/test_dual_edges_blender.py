"""Dual Mesh's edges in Blender's order (made face by face around each vertex, an old edge's dual
when first met), against live Blender through the nodes that read edge order: Subdivide Mesh,
Extrude Mesh EDGES and Mesh to Points EDGES after a Dual Mesh, on bent meshes (an Ico Sphere
too: the dual's edges follow its faces, whatever its own edge order)."""
import pytest

from fieldtools import compare_batch, value_sets
from irtools import node
from meshoptools import op_program

pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

AFTER = {
    "subdivide": [(node("X", "GeometryNodeSubdivideMesh", {}, {"Level": 2}), "Mesh", "Mesh")],
    "extrude": [(node("X", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.1, 0.2, 0.3]}), "Mesh", "Mesh")],
    "points": [(node("X", "GeometryNodeMeshToPoints", {"mode": "EDGES"}), "Mesh", "Points"),
               (node("V", "GeometryNodePointsToVertices"), "Points", "Mesh")],
}


@pytest.mark.parametrize("after", sorted(AFTER))
@pytest.mark.parametrize("mesh", ["cube", "cylinder", "uvsphere", "ico"])
def test_dual_mesh_edge_order(mesh, after):
    ir = op_program(mesh, node("D", "GeometryNodeDualMesh"), "Mesh", "Dual Mesh", after=AFTER[after])
    compare_batch(ir, value_sets("abc", 4, seed=17, lo=-1.0, hi=1.0))
