"""Selections at exactly zero on round primitives and after quarter turns: Blender builds them
in float32, so points at quarter turns lie a rounding step off zero (cos(float32(pi / 2)) =
-4.4e-8) and `z < 0` on a UV sphere also takes its equator ring, `x > 0` on a cylinder drops
the points at +-90 degrees. A half sphere or half cylinder made this way must have Blender's
faces, not the exact circle's."""
import pytest

from fieldtools import GI, compare_batch, value_sets
from irtools import fparams, link, node, program

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

SOURCES = {
    "uvsphere": ("GeometryNodeMeshUVSphere", {}, [{"Segments": s, "Rings": r} for s, r in ((8, 4), (12, 6), (7, 10), (16, 8))]),
    "cylinder": ("GeometryNodeMeshCylinder", {"fill_type": "NGON"}, [{"Vertices": v} for v in (4, 8, 12, 20, 36)]),
    "circle": ("GeometryNodeMeshCircle", {"fill_type": "TRIANGLE_FAN"}, [{"Vertices": v} for v in (4, 8, 12, 20, 36)]),
    "cone": ("GeometryNodeMeshCone", {"fill_type": "NGON"}, [{"Vertices": v, "Side Segments": 2} for v in (8, 16, 28)]),
}


def half_program(type_, props, inputs, axis, op):
    """The primitive with the points where position.axis `op` 0 deleted, then moved by a."""
    nodes = [node("M", type_, props, inputs), node("P", "GeometryNodeInputPosition"), node("S", "ShaderNodeSeparateXYZ"),
             node("C", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": op}, {"B": 0.0}),
             node("D", "GeometryNodeDeleteGeometry", {"domain": "POINT"}), node("X", "ShaderNodeCombineXYZ"),
             node("SP", "GeometryNodeSetPosition")]
    links = [link(("P", "Position"), ("S", "Vector")), link(("S", axis), ("C", "A")), link(("M", "Mesh"), ("D", "Geometry")),
             link(("C", "Result"), ("D", "Selection")), link((GI, "a"), ("X", "Z")), link(("D", "Geometry"), ("SP", "Geometry")),
             link(("X", "Vector"), ("SP", "Offset")), link(("SP", "Geometry"), ("Group Output", "Out"))]
    return program(nodes, links, fparams("a"))


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("axis,op", [("Z", "LESS_THAN"), ("X", "GREATER_THAN"), ("Y", "LESS_THAN"), ("X", "LESS_EQUAL")])
def test_half_primitives(kind, axis, op):
    type_, props, configs = SOURCES[kind]
    for inputs in configs:
        compare_batch(half_program(type_, props, inputs, axis, op), value_sets("a", 2, seed=5))


@pytest.mark.parametrize("rotation", [[1.5707964, 0.0, 0.0], [0.0, 1.5707964, 0.0], [0.0, 0.0, 1.5707964],
                                      [3.1415927, 0.0, 0.0], [0.0, 0.0, 0.7853982], [1.5707964, 0.0, 1.5707964]])
@pytest.mark.parametrize("kind", ["grid", "cylinder"])
def test_quarter_turns_then_half(kind, rotation):
    """Transform by quarter turns (Blender 4.2: Euler -> quaternion -> matrix, cos 90 degrees
    = 3.4e-8), then the points with x > 0 / z < 0 deleted."""
    source = {"grid": ("GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 5}),
              "cylinder": ("GeometryNodeMeshCylinder", {"fill_type": "NGON"}, {"Vertices": 8})}[kind]
    for axis, op in (("X", "GREATER_THAN"), ("Z", "LESS_THAN"), ("Y", "LESS_THAN")):
        ir = half_program(*source, axis, op)
        ir["groups"][0]["nodes"].append(node("T", "GeometryNodeTransform", {}, {"Rotation": rotation}))
        ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["D", "Geometry"]]
        ir["groups"][0]["links"] += [link(("M", "Mesh"), ("T", "Geometry")), link(("T", "Geometry"), ("D", "Geometry"))]
        compare_batch(ir, value_sets("a", 2, seed=6))
