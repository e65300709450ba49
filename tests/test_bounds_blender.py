"""Bounding Box (its box mesh, Min and Max) and the constant input nodes (Value, Integer,
Boolean, Vector) against live Blender: meshes joined with instances and point clouds, the
bounds then used downstream."""
import pytest

from fieldtools import GI, compare_batch, value_sets
from irtools import fparams, link, node, program

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

OUT = ("Group Output", "Out")


def scene():
    """A cube turned and moved by a, a UV sphere scaled by b on the points of a line
    (instances, not realized), a point cloud of a grid's points with radius 0.3."""
    nodes = [node("C", "GeometryNodeMeshCube", {}, {"Size": [1.0, 0.4, 0.7]}), node("CT", "GeometryNodeTransform"),
             node("CX", "ShaderNodeCombineXYZ"), node("CR", "ShaderNodeCombineXYZ"),
             node("S", "GeometryNodeMeshUVSphere", {}, {"Segments": 9, "Rings": 5, "Radius": 0.25}),
             node("L", "GeometryNodeMeshLine", {}, {"Count": 3, "Offset": [0.4, 0.1, -0.3]}),
             node("I", "GeometryNodeInstanceOnPoints"), node("G", "GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 2}),
             node("MP", "GeometryNodeMeshToPoints", {}, {"Radius": 0.3}), node("J", "GeometryNodeJoinGeometry")]
    links = [link((GI, "a"), ("CX", "X")), link((GI, "b"), ("CX", "Z")), link((GI, "a"), ("CR", "Z")),
             link((GI, "b"), ("CR", "X")), link(("C", "Mesh"), ("CT", "Geometry")), link(("CX", "Vector"), ("CT", "Translation")),
             link(("CR", "Vector"), ("CT", "Rotation")), link(("L", "Mesh"), ("I", "Points")), link(("S", "Mesh"), ("I", "Instance")),
             link((GI, "b"), ("I", "Scale")), link(("G", "Mesh"), ("MP", "Mesh")),
             link(("CT", "Geometry"), ("J", "Geometry")), link(("I", "Instances"), ("J", "Geometry"), 1),
             link(("MP", "Points"), ("J", "Geometry"), 2)]
    return nodes, links


@pytest.mark.parametrize("parts", ["all", "mesh", "instances"])
def test_bounding_box_mesh(parts):
    nodes, links = scene()
    if parts != "all":
        keep = {"mesh": ("CT", "Geometry"), "instances": ("I", "Instances")}[parts]
        links = [lk for lk in links if lk["to"] != ["J", "Geometry"] or tuple(lk["from"]) == keep]
    nodes.append(node("BB", "GeometryNodeBoundBox"))
    links += [link(("J", "Geometry"), ("BB", "Geometry")), link(("BB", "Bounding Box"), OUT)]
    compare_batch(program(nodes, links, fparams("a", "b")), value_sets("ab", 8, seed=41, lo=-1.5, hi=1.5))


def test_min_and_max_place_geometry():
    """A grid moved by Max and scaled by Max - Min (Transform), joined with the scene realized."""
    nodes, links = scene()
    nodes += [node("BB", "GeometryNodeBoundBox"), node("D", "ShaderNodeVectorMath", {"operation": "SUBTRACT"}),
              node("G2", "GeometryNodeMeshGrid", {}, {"Vertices X": 2, "Vertices Y": 3}), node("T2", "GeometryNodeTransform"),
              node("R", "GeometryNodeRealizeInstances"), node("J2", "GeometryNodeJoinGeometry")]
    links += [link(("J", "Geometry"), ("BB", "Geometry")), link(("BB", "Max"), ("D", "Vector")),
              link(("BB", "Min"), ("D", "Vector_001")), link(("G2", "Mesh"), ("T2", "Geometry")),
              link(("BB", "Max"), ("T2", "Translation")), link(("D", "Vector"), ("T2", "Scale")),
              link(("J", "Geometry"), ("R", "Geometry")), link(("R", "Geometry"), ("J2", "Geometry")),
              link(("T2", "Geometry"), ("J2", "Geometry"), 1), link(("J2", "Geometry"), OUT)]
    compare_batch(program(nodes, links, fparams("a", "b")), value_sets("ab", 8, seed=42, lo=-1.5, hi=1.5))


def test_constant_input_nodes():
    """Value, Integer, Boolean and Vector nodes feeding a cylinder, a switch and a transform."""
    nodes = [node("V", "ShaderNodeValue", {"value": 0.75}), node("N", "FunctionNodeInputInt", {"integer": 7}),
             node("B", "FunctionNodeInputBool", {"boolean": True}), node("VX", "FunctionNodeInputVector", {"vector": [0.1, -0.2, 0.3]}),
             node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("C", "GeometryNodeMeshCylinder", {"fill_type": "NGON"}),
             node("SW", "GeometryNodeSwitch", {"input_type": "FLOAT"}, {"False": 0.5}), node("T", "GeometryNodeTransform")]
    links = [link(("V", "Value"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")), link(("M", "Value"), ("C", "Radius")),
             link(("N", "Integer"), ("C", "Vertices")), link(("B", "Boolean"), ("SW", "Switch")), link(("V", "Value"), ("SW", "True")),
             link(("SW", "Output"), ("C", "Depth")), link(("C", "Mesh"), ("T", "Geometry")), link(("VX", "Vector"), ("T", "Translation")),
             link(("T", "Geometry"), OUT)]
    compare_batch(program(nodes, links, fparams("a")), value_sets("a", 6, seed=43, lo=0.1, hi=2.0))
