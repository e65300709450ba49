"""Node semantics against hand-computed values (Blender's definitions), incl. conversions."""
import math

import pytest
import torch

from geonodes.errors import IRError
from geonodes.program import load_program
from irtools import fparams, link, node, probe, program

GI = "Group Input"


def math_value(op, a, b=0.0, c=0.0, clamp=False):
    nodes = [node("M", "ShaderNodeMath", {"operation": op, "use_clamp": clamp})]
    links = [link((GI, "a"), ("M", "Value")), link((GI, "b"), ("M", "Value_001")), link((GI, "c"), ("M", "Value_002"))]
    return float(probe(nodes, links, ("M", "Value"), fparams("a", "b", "c"), a=a, b=b, c=c)[0])


CASES = [  # op, a, b, c, Blender's result
    ("ADD", 1.5, 2.25, 0, 3.75), ("SUBTRACT", 1, 3, 0, -2), ("MULTIPLY", -2, 3.5, 0, -7),
    ("DIVIDE", 3, 2, 0, 1.5), ("DIVIDE", 3, 0, 0, 0.0),  # safe division
    ("MULTIPLY_ADD", 2, 3, 4, 10), ("POWER", 2, 10, 0, 1024), ("POWER", -8, 1 / 3, 0, 0.0),
    ("POWER", -2, 3, 0, -8), ("LOGARITHM", 8, 2, 0, 3), ("LOGARITHM", -1, 2, 0, 0.0),
    ("SQRT", 9, 0, 0, 3), ("SQRT", -4, 0, 0, 0.0), ("INVERSE_SQRT", 4, 0, 0, 0.5), ("INVERSE_SQRT", 0, 0, 0, 0.0),
    ("ABSOLUTE", -3, 0, 0, 3), ("EXPONENT", 1, 0, 0, math.e), ("MINIMUM", 2, -1, 0, -1), ("MAXIMUM", 2, -1, 0, 2),
    ("LESS_THAN", 1, 2, 0, 1), ("LESS_THAN", 2, 2, 0, 0), ("GREATER_THAN", 3, 2, 0, 1), ("SIGN", -0.2, 0, 0, -1),
    ("SIGN", 0, 0, 0, 0), ("COMPARE", 1.0, 1.05, 0.1, 1), ("COMPARE", 1.0, 1.2, 0.1, 0), ("COMPARE", 1.0, 1.0, 0.0, 1),
    ("SMOOTH_MIN", 1, 1, 1, 1 - 1 / 6), ("SMOOTH_MAX", 1, 1, 1, 1 + 1 / 6), ("SMOOTH_MIN", 1, 3, 0, 1),
    ("ROUND", 2.5, 0, 0, 3), ("ROUND", -2.5, 0, 0, -2), ("FLOOR", -1.5, 0, 0, -2), ("CEIL", -1.5, 0, 0, -1),
    ("TRUNC", -1.7, 0, 0, -1), ("TRUNC", 1.7, 0, 0, 1), ("FRACT", -1.25, 0, 0, 0.75),
    ("MODULO", -7, 3, 0, -1), ("MODULO", 7, 0, 0, 0), ("FLOORED_MODULO", -7, 3, 0, 2),
    ("WRAP", 5.5, 2, 0, 1.5), ("WRAP", 1, 2, 2, 2), ("SNAP", 7.3, 2, 0, 6), ("SNAP", 7.3, 0, 0, 0),
    ("PINGPONG", 3, 2, 0, 1), ("PINGPONG", 1, 0, 0, 0), ("SINE", math.pi / 2, 0, 0, 1), ("COSINE", 0, 0, 0, 1),
    ("TANGENT", math.pi / 4, 0, 0, 1), ("ARCSINE", 2, 0, 0, math.pi / 2), ("ARCCOSINE", -3, 0, 0, math.pi),
    ("ARCTANGENT", 1, 0, 0, math.pi / 4), ("ARCTAN2", 1, -1, 0, 3 * math.pi / 4), ("SINH", 1, 0, 0, math.sinh(1)),
    ("COSH", 1, 0, 0, math.cosh(1)), ("TANH", 1, 0, 0, math.tanh(1)), ("RADIANS", 180, 0, 0, math.pi),
    ("DEGREES", math.pi, 0, 0, 180),
]


@pytest.mark.parametrize("op,a,b,c,expected", CASES)
def test_math_operations(op, a, b, c, expected):
    assert math_value(op, a, b, c) == pytest.approx(expected, abs=1e-9)


def test_math_clamp():
    assert math_value("ADD", 0.7, 0.7, clamp=True) == 1.0
    assert math_value("SUBTRACT", 0.2, 0.7, clamp=True) == 0.0


def vmath(op, a, b=(0, 0, 0), c=(0, 0, 0), scale=1.0, out="Vector"):
    nodes = [node("V", "ShaderNodeVectorMath", {"operation": op},
                  {"Vector": list(a), "Vector_001": list(b), "Vector_002": list(c), "Scale": scale})]
    return probe(nodes, [], ("V", out)).tolist()


def test_vector_math():
    assert vmath("ADD", (1, 2, 3), (1, 1, 1)) == [2, 3, 4]
    assert vmath("DIVIDE", (1, 2, 3), (2, 0, 3)) == [0.5, 0.0, 1.0]  # safe per component
    assert vmath("CROSS_PRODUCT", (1, 0, 0), (0, 1, 0)) == [0, 0, 1]
    assert vmath("DOT_PRODUCT", (1, 2, 3), (4, 5, 6), out="Value") == [32.0] * 3
    assert vmath("LENGTH", (3, 4, 0), out="Value") == [5.0] * 3
    assert vmath("DISTANCE", (1, 1, 1), (1, 4, 5), out="Value") == [5.0] * 3
    assert vmath("SCALE", (1, 2, 3), scale=2.0) == [2, 4, 6]
    assert vmath("NORMALIZE", (0, 0, 0)) == [0, 0, 0]
    assert vmath("NORMALIZE", (0, 3, 4)) == pytest.approx([0, 0.6, 0.8])
    assert vmath("PROJECT", (1, 1, 0), (2, 0, 0)) == [1, 0, 0]
    assert vmath("REFLECT", (1, -1, 0), (0, 2, 0)) == pytest.approx([1, 1, 0])
    assert vmath("FACEFORWARD", (1, 2, 3), (0, 0, 1), (0, 0, -1)) == [1, 2, 3]
    assert vmath("FACEFORWARD", (1, 2, 3), (0, 0, 1), (0, 0, 1)) == [-1, -2, -3]
    assert vmath("SNAP", (7.3, -1.5, 2), (2, 1, 0)) == [6, -2, 0]
    assert vmath("MINIMUM", (1, 5, 3), (2, 4, 3)) == [1, 4, 3]
    assert vmath("MODULO", (-7, 7, 1), (3, 3, 2)) == [-1, 1, 1]


def test_combine_separate_and_inputs():
    nodes = [node("V", "FunctionNodeInputVector", {"vector": [1.0, -2.0, 3.5]}), node("S", "ShaderNodeSeparateXYZ"),
             node("C", "ShaderNodeCombineXYZ"), node("I", "FunctionNodeInputInt", {"integer": 7})]
    links = [link(("V", "Vector"), ("S", "Vector")), link(("S", "Z"), ("C", "X")), link(("S", "X"), ("C", "Y")),
             link(("I", "Integer"), ("C", "Z"))]
    assert probe(nodes, links, ("C", "Vector")).tolist() == [3.5, 1.0, 7.0]


def line_count(source_nodes, source):
    """Vertex count of a Mesh Line whose INT Count is linked from `source` (an implicit conversion)."""
    nodes = list(source_nodes) + [node("L", "GeometryNodeMeshLine", {"mode": "OFFSET"})]
    links = [link(source, ("L", "Count")), link(("L", "Mesh"), ("Group Output", "Out"))]
    return load_program(program(nodes, links)).evaluate_one().vertices.shape[0]


def test_float_to_int_truncates():
    assert line_count([node("F", "ShaderNodeValue", {"value": 3.99})], ("F", "Value")) == 3
    assert line_count([node("F", "ShaderNodeValue", {"value": -0.9})], ("F", "Value")) == 0


def switch_picks_true(source_nodes, source):
    nodes = list(source_nodes) + [
        node("T", "GeometryNodeMeshCube", inputs={"Size": [2.0, 2.0, 2.0]}),
        node("Fl", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1}),
        node("S", "GeometryNodeSwitch", {"input_type": "GEOMETRY"})]
    links = [link(source, ("S", "Switch")), link(("T", "Mesh"), ("S", "True")), link(("Fl", "Mesh"), ("S", "False")),
             link(("S", "Output"), ("Group Output", "Out"))]
    return load_program(program(nodes, links)).evaluate_one().vertices.shape[0] == 8


@pytest.mark.parametrize("value,expected", [(1, True), (0, False), (-1, False), (5, True)])
def test_int_to_bool_is_positive(value, expected):
    assert switch_picks_true([node("I", "FunctionNodeInputInt", {"integer": value})], ("I", "Integer")) == expected


@pytest.mark.parametrize("value,expected", [(0.3, True), (0.0, False), (-0.5, False)])
def test_float_to_bool_is_positive(value, expected):
    assert switch_picks_true([node("F", "ShaderNodeValue", {"value": value})], ("F", "Value")) == expected


def test_vector_to_float_is_mean_and_bool_to_float():
    nodes = [node("V", "FunctionNodeInputVector", {"vector": [1.0, 2.0, 6.0]}), node("M", "ShaderNodeMath", {
        "operation": "ADD"}), node("B", "FunctionNodeInputBool", {"boolean": True})]
    links = [link(("V", "Vector"), ("M", "Value")), link(("B", "Boolean"), ("M", "Value_001"))]
    assert float(probe(nodes, links, ("M", "Value"))[0]) == pytest.approx(3.0 + 1.0)


def cube(name, size):
    return node(name, "GeometryNodeMeshCube", inputs={"Size": [size] * 3})


def test_join_geometry_follows_link_order():
    nodes = [cube("A", 1.0), cube("B", 2.0), cube("C", 3.0), node("J", "GeometryNodeJoinGeometry")]
    links = [link(("A", "Mesh"), ("J", "Geometry"), order=2), link(("B", "Mesh"), ("J", "Geometry"), order=0),
             link(("C", "Mesh"), ("J", "Geometry"), order=1), link(("J", "Geometry"), ("Group Output", "Out"))]
    mesh = load_program(program(nodes, links)).evaluate_one()
    firsts = mesh.vertices[::8, 0].tolist()
    assert firsts == [-1.0, -1.5, -0.5]  # B, C, A
    assert mesh.face_part_id.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    assert int(mesh.face_vertices[6 * 4]) == 8  # the second cube's polygons index its own vertices


def test_transform_scales_then_rotates_then_translates():
    nodes = [cube("A", 2.0), node("T", "GeometryNodeTransform", inputs={
        "Translation": [10.0, 0.0, 0.0], "Rotation": [0.0, 0.0, math.pi / 2], "Scale": [2.0, 1.0, 1.0]})]
    links = [link(("A", "Mesh"), ("T", "Geometry")), link(("T", "Geometry"), ("Group Output", "Out"))]
    v = load_program(program(nodes, links)).evaluate_one(dtype=torch.float64).vertices
    # vertex 0 = (-1,-1,-1) -> scale (-2,-1,-1) -> rot z 90deg (1,-2,-1) -> +10 x
    assert v[0].tolist() == pytest.approx([11.0, -2.0, -1.0])


def test_instances_realized_after_own_mesh_and_placed_on_points():
    nodes = [cube("Small", 0.5), cube("Big", 2.0),
             node("Pts", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 3, "Offset": [0.0, 0.0, 5.0]}),
             node("IoP", "GeometryNodeInstanceOnPoints", inputs={"Scale": [2.0, 2.0, 2.0]}),
             node("J", "GeometryNodeJoinGeometry"), node("R", "GeometryNodeRealizeInstances")]
    links = [link(("Pts", "Mesh"), ("IoP", "Points")), link(("Small", "Mesh"), ("IoP", "Instance")),
             link(("IoP", "Instances"), ("J", "Geometry"), order=0), link(("Big", "Mesh"), ("J", "Geometry"), order=1),
             link(("J", "Geometry"), ("R", "Geometry")), link(("R", "Geometry"), ("Group Output", "Out"))]
    mesh = load_program(program(nodes, links)).evaluate_one(dtype=torch.float64)
    v = mesh.vertices
    assert v.shape[0] == 8 + 3 * 8
    assert v[0].tolist() == [-1.0, -1.0, -1.0]  # the mesh component comes first
    for k in range(3):  # then each instance: scaled x2, at the k-th point
        assert v[8 + 8 * k].tolist() == pytest.approx([-0.5, -0.5, -0.5 + 5.0 * k])
    assert mesh.face_part_id.unique().tolist() == [0, 1, 2, 3]


def test_unrealized_instances_are_not_in_the_output():
    nodes = [cube("Small", 0.5), node("Pts", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 2}),
             node("IoP", "GeometryNodeInstanceOnPoints")]
    links = [link(("Pts", "Mesh"), ("IoP", "Points")), link(("Small", "Mesh"), ("IoP", "Instance")),
             link(("IoP", "Instances"), ("Group Output", "Out"))]
    assert load_program(program(nodes, links)).evaluate_one().vertices.shape[0] == 0


def test_nested_groups_pass_values_and_use_interface_defaults():
    inner = {"name": "inner", "inputs": [{"identifier": "s", "name": "Size", "type": "FLOAT", "default": 4.0},
                                         {"identifier": "t", "name": "Lift", "type": "FLOAT", "default": 0.0}],
             "outputs": [{"identifier": "g", "name": "Geometry", "type": "GEOMETRY"}],
             "nodes": [node("In", "NodeGroupInput"), node("Out", "NodeGroupOutput"),
                       node("Cube", "GeometryNodeMeshCube"), node("V", "ShaderNodeCombineXYZ"),
                       node("T", "GeometryNodeTransform")],
             "links": [link(("In", "s"), ("Cube", "Size")), link(("In", "t"), ("V", "Z")),
                       link(("Cube", "Mesh"), ("T", "Geometry")), link(("V", "Vector"), ("T", "Translation")),
                       link(("T", "Geometry"), ("Out", "g"))]}
    middle = {"name": "middle", "inputs": [{"identifier": "x", "name": "X", "type": "FLOAT", "default": 0.0}],
              "outputs": [{"identifier": "g", "name": "Geometry", "type": "GEOMETRY"}],
              "nodes": [node("In", "NodeGroupInput"), node("Out", "NodeGroupOutput"),
                        node("Call", "GeometryNodeGroup", group="inner")],
              "links": [link(("In", "x"), ("Call", "t")), link(("Call", "g"), ("Out", "g"))]}
    nodes = [node("Call", "GeometryNodeGroup", group="middle")]
    links = [link((GI, "h"), ("Call", "x")), link(("Call", "g"), ("Group Output", "Out"))]
    ir = program(nodes, links, fparams("h"), extra_groups=[inner, middle])
    v = load_program(ir).evaluate_one({"h": 1.5}, dtype=torch.float64).vertices
    assert v[0].tolist() == [-2.0, -2.0, -0.5]  # size from inner's default 4, lift from the parameter


def test_value_switch_mixes_rows_within_a_batch():
    nodes = [node("S", "GeometryNodeSwitch", {"input_type": "FLOAT"}, {"False": 1.0, "True": 2.0}),
             node("C", "ShaderNodeCombineXYZ")]
    links = [link((GI, "flag"), ("S", "Switch")), link(("S", "Output"), ("C", "X")),
             link(("C", "Vector"), ("Probe", "Start Location"))]
    from irtools import value_program
    ir = value_program(nodes, links[:-1], ("C", "Vector"), [{"name": "flag", "kind": "bool", "default": False}])
    groups = load_program(ir).evaluate({"flag": torch.tensor([True, False, True])})
    assert len(groups) == 1  # same topology: one group
    assert groups[0].vertices[:, 0, 0].tolist() == [2.0, 1.0, 2.0]


def test_geometry_switch_splits_topologies():
    nodes = [cube("T", 1.0), node("F", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 3}),
             node("S", "GeometryNodeSwitch", {"input_type": "GEOMETRY"})]
    links = [link((GI, "flag"), ("S", "Switch")), link(("T", "Mesh"), ("S", "True")),
             link(("F", "Mesh"), ("S", "False")), link(("S", "Output"), ("Group Output", "Out"))]
    prog = load_program(program(nodes, links, [{"name": "flag", "kind": "bool", "default": False}]))
    groups = prog.evaluate({"flag": torch.tensor([True, False, True, False])})
    assert [g.index.tolist() for g in groups] == [[0, 2], [1, 3]]
    assert [g.vertices.shape[1] for g in groups] == [8, 3]


def test_bounding_box_and_set_position():
    nodes = [cube("A", 2.0), node("P", "GeometryNodeSetPosition", inputs={"Offset": [0.0, 0.0, 1.0]}),
             node("BB", "GeometryNodeBoundBox")]
    links = [link(("A", "Mesh"), ("P", "Geometry")), link(("P", "Geometry"), ("BB", "Geometry"))]
    assert probe(nodes, links, ("BB", "Max")).tolist() == [1.0, 1.0, 2.0]
    assert probe(nodes, links, ("BB", "Min")).tolist() == [-1.0, -1.0, 0.0]


def test_cone_with_a_zero_radius_splits_topology_within_a_batch():
    """Blender merges a zero-radius end into one vertex: a float value changes the topology."""
    nodes = [node("C", "GeometryNodeMeshCone", {"fill_type": "NGON"}, {"Vertices": 8})]
    links = [link((GI, "top"), ("C", "Radius Top")), link(("C", "Mesh"), ("Group Output", "Out"))]
    prog = load_program(program(nodes, links, fparams("top")))
    groups = prog.evaluate({"top": torch.tensor([0.0, 0.5, 0.0])})
    assert [g.index.tolist() for g in groups] == [[0, 2], [1]]
    assert [g.vertices.shape[1] for g in groups] == [1 + 8, 8 + 8]


def test_the_node_type_catalog_is_the_registry():
    """geonodes.node_types (torch-free, read by the importer) names exactly what geonodes.nodes registers."""
    from geonodes.node_types import COMPILED_NODE_TYPES
    from geonodes.nodes import REGISTRY

    assert COMPILED_NODE_TYPES == set(REGISTRY)


def test_nodes_that_keep_the_mesh_pass_it_through_with_opaque_values():
    """Set Material (a MATERIAL group input), Shade Smooth, Store Named Attribute (a colour from
    a float), Material Index, ID and Remove Named Attribute leave the cube as it was."""
    chain = ["GeometryNodeSetMaterial", "GeometryNodeSetShadeSmooth", "GeometryNodeStoreNamedAttribute",
             "GeometryNodeSetMaterialIndex", "GeometryNodeSetID", "GeometryNodeRemoveAttribute"]
    nodes = [node("C", "GeometryNodeMeshCube", inputs={"Size": [1.0, 2.0, 3.0]})]
    nodes += [node(f"N{i}", t, {"data_type": "FLOAT_COLOR"} if t == "GeometryNodeStoreNamedAttribute" else {},
                   {"Name": "Col"} if t == "GeometryNodeStoreNamedAttribute" else {}) for i, t in enumerate(chain)]
    links = [link(("C", "Mesh"), ("N0", "Geometry"))]
    links += [link((f"N{i}", "Geometry"), (f"N{i + 1}", "Geometry")) for i in range(len(chain) - 1)]
    links += [link((GI, "Mat"), ("N0", "Material")), link((GI, "a"), ("N2", "Value")),
              link((GI, "a"), ("N3", "Material Index")), link((f"N{len(chain) - 1}", "Geometry"), ("Group Output", "Out"))]
    ir = program(nodes, links, fparams("a"))
    ir["groups"][0]["inputs"].append({"identifier": "Mat", "name": "Mat", "type": "MATERIAL", "default": "Wood"})
    plain = program(nodes[:1], [link(("C", "Mesh"), ("Group Output", "Out"))])
    mesh, cube = load_program(ir).evaluate_one({"a": 2.5}), load_program(plain).evaluate_one()
    assert torch.equal(mesh.vertices, cube.vertices) and torch.equal(mesh.face_vertices, cube.face_vertices)
    assert [p.name for p in load_program(ir).parameters] == ["a"]  # the material is not a parameter
    ir["groups"][0]["links"].append(link(("N2", "Geometry"), ("N1", "Selection")))
    with pytest.raises(IRError, match="cannot link GEOMETRY socket"):
        load_program(ir)


def test_menu_switch_picks_the_named_item_lazily():
    items = ["Box", "Line", "Broken"]
    nodes = [node("B", "GeometryNodeMeshCube"), node("L", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 5}),
             node("X", "GeometryNodeStoreNamedAttribute", {"domain": "FACE"}, {"Name": "position"})]  # X fails if evaluated
    links = [link(("B", "Mesh"), ("M", "Item_0")), link(("L", "Mesh"), ("M", "Item_1")), link(("X", "Geometry"), ("M", "Item_2")),
             link(("M", "Output"), ("Group Output", "Out"))]
    for menu, count in (("Box", 8), ("Line", 5)):
        ms = node("M", "GeometryNodeMenuSwitch", {"data_type": "GEOMETRY", "menu": menu, "items": items})
        assert load_program(program(nodes + [ms], links)).evaluate_one().vertices.shape[0] == count
    for menu, message in (("Broken", "storing 'position' is supported on the POINT domain"),
                          ("Cone", "menu item 'Cone' is not one of the node's items")):
        ms = node("M", "GeometryNodeMenuSwitch", {"data_type": "GEOMETRY", "menu": menu, "items": items})
        with pytest.raises(IRError, match=message):
            load_program(program(nodes + [ms], links)).evaluate_one()
