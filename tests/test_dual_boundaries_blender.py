"""Dual Mesh with Keep Boundaries on open meshes against live Blender: the face centres, the
boundary edges' midpoints (in edge order) and the boundary vertices as points, the boundary
vertices' faces closed through them, the dual's edges in Blender's order (the EDGE-domain Index
probe, tests/edgetools.py), and face / point attributes carried across (faces' to the points,
the extra points' from the face Blender pairs them with; points' to the faces)."""
import pytest

from edgetools import bend, edge_index_program, mesh_source
from fieldtools import compare_batch, value_sets
from irtools import fparams, link, node, program

pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

OPEN = ["grid", "moved_grid", "circle_fan", "cylinder_fan", "curve_ring", "fill_triangles", "fill_ngons_hole", "cone"]
DUAL = (node("D", "GeometryNodeDualMesh", {}, {"Keep Boundaries": True}), "Mesh", "Dual Mesh")


@pytest.mark.parametrize("kind", OPEN)
def test_keep_boundaries_mesh_and_edge_order(kind):
    compare_batch(edge_index_program(kind, [bend(), DUAL]), value_sets("ab", 4, seed=3, lo=-1.0, hi=1.0))


@pytest.mark.parametrize("kind", ["grid", "circle_fan", "curve_ring", "fill_ngons_hole"])
def test_keep_boundaries_attributes(kind):
    """'fa' = sin(1.3 i) stored on faces and 'pa' = cos(1.3 i) on points before the dual, read
    on its points after it (x, y offsets)."""
    nodes, links, last = mesh_source(kind)
    b = bend()
    nodes += [b[0]] + b[3]
    links += b[4] + [link(last, ("BSP", "Geometry"))]
    nodes += [node("I", "GeometryNodeInputIndex"), node("K", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.3}),
              node("S", "ShaderNodeMath", {"operation": "SINE"}), node("C", "ShaderNodeMath", {"operation": "COSINE"}),
              node("SF", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "FACE"}, {"Name": "fa"}),
              node("SPt", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "POINT"}, {"Name": "pa"}),
              DUAL[0], node("RF", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "fa"}),
              node("RP", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "pa"}),
              node("V", "ShaderNodeCombineXYZ"), node("SP2", "GeometryNodeSetPosition")]
    links += [link(("I", "Index"), ("K", "Value")), link(("K", "Value"), ("S", "Value")), link(("K", "Value"), ("C", "Value")),
              link(("BSP", "Geometry"), ("SF", "Geometry")), link(("S", "Value"), ("SF", "Value")),
              link(("SF", "Geometry"), ("SPt", "Geometry")), link(("C", "Value"), ("SPt", "Value")),
              link(("SPt", "Geometry"), ("D", "Mesh")), link(("D", "Dual Mesh"), ("SP2", "Geometry")),
              link(("RF", "Attribute"), ("V", "X")), link(("RP", "Attribute"), ("V", "Y")), link(("V", "Vector"), ("SP2", "Offset")),
              link(("SP2", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a", "b")), value_sets("ab", 4, seed=4, lo=-1.0, hi=1.0))
