"""Fields without Blender: values of the inputs on known meshes, batches against single rows,
gradients through field nodes by finite differences, and fields where single values belong."""
import pytest
import torch

from fieldtools import GI, finite_difference_check, set_position_program
from geonodes.errors import IRError
from geonodes.program import load_program
from irtools import fparams, link, node

POS = [node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ")]
POS_LINKS = [link(("P", "Position"), ("Sep", "Vector"))]


def wave_program(mesh="grid"):
    """Offset z = sin(x * a) * b + c on selected vertices (y > d), then a transform by (b, 0, a)."""
    nodes = POS + [node("Ax", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("S", "ShaderNodeMath", {"operation": "SINE"}),
                   node("MA", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}), node("C", "ShaderNodeCombineXYZ"),
                   node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
                   node("TV", "ShaderNodeCombineXYZ")]
    links = POS_LINKS + [link(("Sep", "X"), ("Ax", "Value")), link((GI, "a"), ("Ax", "Value_001")),
                         link(("Ax", "Value"), ("S", "Value")), link(("S", "Value"), ("MA", "Value")),
                         link((GI, "b"), ("MA", "Value_001")), link((GI, "c"), ("MA", "Value_002")),
                         link(("MA", "Value"), ("C", "Z")), link(("Sep", "Y"), ("Cmp", "A")), link((GI, "d"), ("Cmp", "B")),
                         link((GI, "b"), ("TV", "X")), link((GI, "a"), ("TV", "Z"))]
    after = [(node("T", "GeometryNodeTransform"), "Geometry", "Geometry")]
    ir = set_position_program(nodes, links, fparams("a", "b", "c", "d"), offset=("C", "Vector"),
                              selection=("Cmp", "Result"), mesh=mesh, after=after)
    ir["groups"][0]["links"].append(link(("TV", "Vector"), ("T", "Translation")))
    return ir


def test_position_and_index_values():
    """Position := (index, 0, 0) + Position: each vertex of a cube moves along x by its index."""
    nodes = [node("I", "GeometryNodeInputIndex"), node("C", "ShaderNodeCombineXYZ")]
    links = [link(("I", "Index"), ("C", "X"))]
    ir = set_position_program(nodes, links, (), offset=("C", "Vector"), mesh="cube")
    plain = set_position_program([], [], (), mesh="cube")
    moved = load_program(ir).evaluate_one({}, dtype=torch.float64).vertices
    base = load_program(plain).evaluate_one({}, dtype=torch.float64).vertices
    assert torch.equal(moved[:, 0] - base[:, 0], torch.arange(8, dtype=torch.float64))
    assert torch.equal(moved[:, 1:], base[:, 1:])


def test_batch_equals_rows():
    prog = load_program(wave_program())
    sets = [{"a": a, "b": b, "c": c, "d": d} for a, b, c, d in
            [(0.5, 1.0, 0.0, -0.1), (-1.5, 0.3, 0.2, 0.4), (2.0, -1.0, 1.0, 9.0), (0.0, 0.0, 0.0, -9.0)]]
    (group,) = prog.evaluate(prog.stack(sets))
    for i, s in enumerate(sets):
        one = prog.evaluate_one(s).vertices
        torch.testing.assert_close(group.vertices[i], one, rtol=0, atol=1e-6)


@pytest.mark.parametrize("mesh", ["grid", "ico"])
def test_gradients_through_fields(mesh):
    finite_difference_check(wave_program(mesh), {"a": 0.7, "b": -0.4, "c": 0.25, "d": -0.2}, "abc")


def test_gradients_through_map_range_and_mix():
    nodes = POS + [node("MR", "ShaderNodeMapRange", {"interpolation_type": "SMOOTHSTEP"}),
                   node("Mix", "ShaderNodeMix", {"data_type": "VECTOR"})]
    links = POS_LINKS + [link(("Sep", "X"), ("MR", "Value")), link((GI, "a"), ("MR", "From Min")),
                         link((GI, "b"), ("MR", "To Max")), link(("MR", "Result"), ("Mix", "Factor_Float")),
                         link(("P", "Position"), ("Mix", "A_Vector")), link((GI, "c"), ("Mix", "B_Vector"))]
    ir = set_position_program(nodes, links, fparams("a", "b", "c"), position=("Mix", "Result_Vector"))
    finite_difference_check(ir, {"a": -0.9, "b": 0.8, "c": 0.3}, "abc")


def test_field_into_single_value_input_is_an_error():
    nodes = [node("P", "GeometryNodeInputPosition"), node("T", "GeometryNodeTransform")]
    links = [link(("P", "Position"), ("T", "Translation"))]
    ir = set_position_program(nodes, links, (), after=[])
    ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["Group Output", "Out"]]
    ir["groups"][0]["links"] += [link(("SP", "Geometry"), ("T", "Geometry")), link(("T", "Geometry"), ("Group Output", "Out"))]
    with pytest.raises(IRError, match="node 'T'.*field"):
        load_program(ir).evaluate_one({})
    nodes = [node("I", "GeometryNodeInputIndex"), node("L", "GeometryNodeMeshLine")]
    ir = set_position_program(nodes, [link(("I", "Index"), ("L", "Count"))], ())
    ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["Group Output", "Out"]]
    ir["groups"][0]["links"].append(link(("L", "Mesh"), ("Group Output", "Out")))
    with pytest.raises(IRError, match="node 'L'.*'Count'.*field"):
        load_program(ir).evaluate_one({})


def bent_normals_program():
    """z += x * y * b, then Offset = Normal * a; then faces with x > 0.2 deleted."""
    nodes = [node("P0", "GeometryNodeInputPosition"), node("S0", "ShaderNodeSeparateXYZ"),
             node("XY", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("XYb", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("C0", "ShaderNodeCombineXYZ"), node("SP0", "GeometryNodeSetPosition"),
             node("N", "GeometryNodeInputNormal"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}, {"B": 0.2})]
    links = [link(("P0", "Position"), ("S0", "Vector")), link(("S0", "X"), ("XY", "Value")),
             link(("S0", "Y"), ("XY", "Value_001")), link(("XY", "Value"), ("XYb", "Value")),
             link((GI, "b"), ("XYb", "Value_001")), link(("XYb", "Value"), ("C0", "Z")), link(("C0", "Vector"), ("SP0", "Offset")),
             link(("N", "Normal"), ("K", "Vector")), link((GI, "a"), ("K", "Scale")), link(("S0", "X"), ("Cmp", "A"))]
    after = [(node("D", "GeometryNodeDeleteGeometry", {"domain": "FACE"}), "Geometry", "Geometry")]
    ir = set_position_program(nodes, links, fparams("a", "b"), offset=("K", "Vector"), mesh="ico", after=after)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
    g["links"] += [link(("Mesh", "Mesh"), ("SP0", "Geometry")), link(("SP0", "Geometry"), ("SP", "Geometry")),
                   link(("Cmp", "Result"), ("D", "Selection"))]
    return ir


def test_gradients_through_corner_normals():
    """Normal on the CORNER domain (its face's normal), stored and read back on points."""
    from meshoptools import corner_normal_program
    finite_difference_check(corner_normal_program("ico"), {"a": 0.3, "b": 0.4, "c": 0.1}, "ab")


def test_gradients_through_normals_and_delete():
    ir = bent_normals_program()
    mesh = load_program(ir).evaluate_one({"a": 0.3, "b": 0.4})
    assert 0 < mesh.vertices.shape[0] < 12  # some of the ico sphere's 12 points are gone
    finite_difference_check(ir, {"a": 0.3, "b": 0.4}, "ab")


def test_missing_named_attribute_reads_zeros():
    nodes = [node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "nothing"}),
             node("Sw", "GeometryNodeSwitch", {"input_type": "VECTOR"}, {"False": [0.0, 0.0, 5.0]})]
    links = [link(("R", "Exists"), ("Sw", "Switch")), link(("R", "Attribute"), ("Sw", "True"))]
    ir = set_position_program(nodes, links, (), offset=("Sw", "Output"), mesh="cube")
    base = load_program(set_position_program([], [], (), mesh="cube")).evaluate_one({}).vertices
    moved = load_program(ir).evaluate_one({}).vertices
    assert torch.equal(moved - base, torch.tensor([0.0, 0.0, 5.0]).expand_as(base))


def test_unsupported_cases_name_the_node():
    # (Deleting a Mesh Line's edges, once an error here, follows Blender: tests/test_edges_blender.py.)
    from irtools import program
    cap = node("Cap", "GeometryNodeCaptureAttribute", {"capture_items": [["M", "FLOAT4X4"]]})
    with pytest.raises(IRError, match="node 'Cap'.*FLOAT4X4"):
        load_program(program([cap], []))


def test_gradients_through_capture_and_named_attributes():
    """Position * a captured on faces, stored as a named attribute on points, read back after a
    transform by b: position := attribute + (0, 0, b)."""
    nodes = [node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
             node("Cap", "GeometryNodeCaptureAttribute", {"domain": "FACE", "capture_items": [["V", "FLOAT_VECTOR"]]}),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "w"}),
             node("T", "GeometryNodeTransform"), node("TV", "ShaderNodeCombineXYZ"),
             node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "w"}),
             node("Add", "ShaderNodeVectorMath", {"operation": "ADD"})]
    links = [link(("P", "Position"), ("K", "Vector")), link((GI, "a"), ("K", "Scale")), link(("K", "Vector"), ("Cap", "Value")),
             link(("Mesh", "Mesh"), ("Cap", "Geometry")), link(("Cap", "Geometry"), ("St", "Geometry")),
             link(("Cap", "Attribute"), ("St", "Value")), link(("St", "Geometry"), ("T", "Geometry")),
             link((GI, "b"), ("TV", "Z")), link(("TV", "Vector"), ("T", "Translation")),
             link(("R", "Attribute"), ("Add", "Vector")), link(("TV", "Vector"), ("Add", "Vector_001"))]
    ir = set_position_program(nodes, links, fparams("a", "b"), position=("Add", "Vector"), mesh="cylinder")
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]] + [link(("T", "Geometry"), ("SP", "Geometry"))]
    finite_difference_check(ir, {"a": 0.8, "b": -0.3}, "ab")


def test_gradients_through_instance_fields():
    """Cubes on a grid's points with Rotation z = index * a and Scale = 1 + x * b, realized."""
    nodes = POS + [node("G", "GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 2}), node("C", "GeometryNodeMeshCube"),
                   node("I", "GeometryNodeInstanceOnPoints"), node("R", "GeometryNodeRealizeInstances"),
                   node("Ix", "GeometryNodeInputIndex"), node("Ra", "ShaderNodeMath", {"operation": "MULTIPLY"}),
                   node("RV", "ShaderNodeCombineXYZ"), node("Sb", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_002": 1.0})]
    links = POS_LINKS + [link(("G", "Mesh"), ("I", "Points")), link(("C", "Mesh"), ("I", "Instance")),
                         link(("I", "Instances"), ("R", "Geometry")), link(("R", "Geometry"), ("Group Output", "Out")),
                         link(("Ix", "Index"), ("Ra", "Value")), link((GI, "a"), ("Ra", "Value_001")), link(("Ra", "Value"), ("RV", "Z")),
                         link(("RV", "Vector"), ("I", "Rotation")), link(("Sep", "X"), ("Sb", "Value")),
                         link((GI, "b"), ("Sb", "Value_001")), link(("Sb", "Value"), ("I", "Scale"))]
    from irtools import program
    finite_difference_check(program(nodes, links, fparams("a", "b")), {"a": 0.4, "b": 0.3}, "ab")
