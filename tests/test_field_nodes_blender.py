"""What the random field programs (tests/fieldfuzz.py) found, each pinned against live Blender
(bpy): Compare on vectors in every mode (LENGTH, AVERAGE, DOT_PRODUCT with C, DIRECTION with
Angle, Blender's >= in NOT_EQUAL of DOT_PRODUCT), Float to Integer's rounding modes at halves,
Delete Geometry keeping the points in EDGE_FACE / ONLY_FACE modes, and normals and square roots
exactly as Blender rounds them (4.2's Newell face normals for every face size, sqrtf correctly
rounded), where a tie (a comparison of a value that is 0 up to rounding) reads the last bit."""
import numpy as np
import pytest
import torch

from fieldtools import GI, compare_batch, set_position_program, value_sets
from geonodes.nodes.compare_nodes import COMPARE_MODES, COMPARE_OPS
from geonodes.program import load_program
from irtools import fparams, link, node, program

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


@pytest.mark.parametrize("mode", COMPARE_MODES)
@pytest.mark.parametrize("op", COMPARE_OPS)
def test_compare_vector_modes(mode, op):
    """Selection = compare(position, (a, b, 0.5)) with C = c and Angle = c + 1 (fields on both
    sides of the threshold), Offset = (0, 0, 1)."""
    nodes = [node("P", "GeometryNodeInputPosition"), node("B", "ShaderNodeCombineXYZ", {}, {"Z": 0.5}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "VECTOR", "operation": op, "mode": mode}),
             node("A1", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.0}),
             node("Up", "FunctionNodeInputVector", {"vector": [0.0, 0.0, 1.0]})]
    links = [link((GI, "a"), ("B", "X")), link((GI, "b"), ("B", "Y")), link(("P", "Position"), ("Cmp", "A_VEC3")),
             link(("B", "Vector"), ("Cmp", "B_VEC3")), link((GI, "c"), ("Cmp", "C")), link((GI, "c"), ("A1", "Value")),
             link(("A1", "Value"), ("Cmp", "Angle")), link((GI, "e"), ("Cmp", "Epsilon"))]
    ir = set_position_program(nodes, links, fparams("a", "b", "c", "e"), offset=("Up", "Vector"),
                              selection=("Cmp", "Result"), mesh="ico")
    sets = value_sets("abce", 10, seed=sum(map(ord, op + mode)))
    sets += [{"a": 0.0, "b": 0.0, "c": 0.0, "e": 0.0}, {"a": 0.3, "b": -0.2, "c": 0.1, "e": 0.5}]
    compare_batch(ir, sets)


@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "CEILING", "TRUNCATE"])
def test_float_to_integer(rounding):
    """Offset z = float_to_int(x * a) / 4 over a grid whose x are quarters: halves (both signs,
    std::round away from zero), integers and values just off them."""
    nodes = [node("P", "GeometryNodeInputPosition"), node("S", "ShaderNodeSeparateXYZ"),
             node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("F", "FunctionNodeFloatToInt", {"rounding_mode": rounding}),
             node("D", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.25}), node("C", "ShaderNodeCombineXYZ")]
    links = [link(("P", "Position"), ("S", "Vector")), link(("S", "X"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")),
             link(("M", "Value"), ("F", "Float")), link(("F", "Integer"), ("D", "Value")), link(("D", "Value"), ("C", "Z"))]
    grid = node("Mesh", "GeometryNodeMeshGrid", {}, {"Size X": 4.0, "Size Y": 1.0, "Vertices X": 17, "Vertices Y": 2})
    ir = program([grid, node("SP", "GeometryNodeSetPosition")] + nodes,
                 links + [link(("Mesh", "Mesh"), ("SP", "Geometry")), link(("C", "Vector"), ("SP", "Offset")),
                          link(("SP", "Geometry"), ("Group Output", "Out"))], fparams("a"))
    compare_batch(ir, [{"a": 1.0}, {"a": 2.0}, {"a": -1.0}, {"a": 1.0000001}, {"a": 0.9999999}, {"a": 3.0}])


@pytest.mark.parametrize("mode", ["EDGE_FACE", "ONLY_FACE"])
@pytest.mark.parametrize("then", ["EDGE", "FACE", "POINT", None])
def test_delete_every_edge_keeps_the_points(mode, then):
    """Deleting every edge (a single value, not a field) in EDGE_FACE / ONLY_FACE mode keeps the
    points (Blender's mesh_copy_selection_keep_verts); deleting edges of the points that are left
    (EDGE_FACE: none) keeps them too."""
    nodes = [node("C", "GeometryNodeMeshCircle", {"fill_type": "NGON"}, {"Vertices": 6}),
             node("D1", "GeometryNodeDeleteGeometry", {"domain": "EDGE", "mode": mode}, {"Selection": True})]
    links = [link(("C", "Mesh"), ("D1", "Geometry"))]
    last = ("D1", "Geometry")
    if then:
        nodes.append(node("D2", "GeometryNodeDeleteGeometry", {"domain": then, "mode": "ALL"}, {"Selection": True}))
        links.append(link(last, ("D2", "Geometry")))
        last = ("D2", "Geometry")
    compare_batch(program(nodes, links + [link(last, ("Group Output", "Out"))]), [{}])


def _normal_offset_program(mesh):
    """Points lifted by fract(index * 0.37) / 2 (exact in float32), then moved by their Normal
    read on `domain` (a FACE or EDGE field reaches the points by Blender's interpolation)."""
    return [mesh, node("I", "GeometryNodeInputIndex"), node("Fr", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.37}),
            node("Fc", "ShaderNodeMath", {"operation": "FRACT"}), node("H", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.5}),
            node("Z", "ShaderNodeCombineXYZ"), node("S1", "GeometryNodeSetPosition"), node("N", "GeometryNodeInputNormal"),
            node("S2", "GeometryNodeSetPosition")], [
        link(("I", "Index"), ("Fr", "Value")), link(("Fr", "Value"), ("Fc", "Value")), link(("Fc", "Value"), ("H", "Value")),
        link(("H", "Value"), ("Z", "Z")), link(("Mesh", "Mesh"), ("S1", "Geometry")), link(("Z", "Vector"), ("S1", "Offset")),
        link(("S1", "Geometry"), ("S2", "Geometry")), link(("S2", "Geometry"), ("Group Output", "Out"))]


@pytest.mark.parametrize("domain", ["POINT", "FACE"])
@pytest.mark.parametrize("mesh", ["cube", "cylinder", "grid"])
def test_normals_are_blenders_to_the_bit(mesh, domain):
    """Vertex normals and face normals (triangles, quads and n-gons: Newell's method for all,
    as 4.2's normals_calc_faces) equal Blender's exactly in float32, as do square roots: a
    comparison of a component that is 0 up to rounding then decides as Blender's does."""
    from geonodes.blender import evaluate_in_blender
    from fieldtools import mesh_node

    nodes, links = _normal_offset_program(mesh_node(mesh))
    if domain == "POINT":
        links.append(link(("N", "Normal"), ("S2", "Offset")))
    else:  # captured on faces, read on points: the mean of the faces' normals
        nodes.append(node("K", "GeometryNodeCaptureAttribute", {"domain": "FACE", "capture_items": [["Value", "FLOAT_VECTOR"]]}))
        links = [x for x in links if x["to"] != ["S2", "Geometry"]] + [
            link(("S1", "Geometry"), ("K", "Geometry")), link(("N", "Normal"), ("K", "Value")),
            link(("K", "Geometry"), ("S2", "Geometry")), link(("K", "Attribute"), ("S2", "Offset"))]
    nodes.append(node("Q", "ShaderNodeVectorMath", {"operation": "LENGTH"}))
    nodes.append(node("R", "ShaderNodeMath", {"operation": "SQRT"}))
    nodes.append(node("RZ", "ShaderNodeCombineXYZ"))
    nodes.append(node("S3", "GeometryNodeSetPosition"))
    links = [x for x in links if x["to"] != ["Group Output", "Out"]] + [
        link(("S2", "Geometry"), ("S3", "Geometry")), link(("N", "Normal"), ("Q", "Vector")) if domain == "POINT" else
        link(("K", "Attribute"), ("Q", "Vector")), link(("Q", "Value"), ("R", "Value")), link(("R", "Value"), ("RZ", "X")),
        link(("RZ", "Vector"), ("S3", "Offset")), link(("S3", "Geometry"), ("Group Output", "Out"))]
    ir = program(nodes, links)
    ours = load_program(ir).evaluate_one({}, dtype=torch.float32).vertices.detach().numpy()
    ref = evaluate_in_blender(ir, [{}])[0]["vertices"].astype(np.float32)
    assert ours.shape == ref.shape
    assert np.array_equal(ours, ref), float(np.abs(ours - ref).max())


@pytest.mark.parametrize("op", ["scale_faces", "scale_edges", "extrude_vertices"])
def test_edge_attributes_through_scale_and_vertex_extrusion(op):
    """An EDGE attribute (index * 0.1 + a) stored before Scale Elements (the edges stay, with
    their values and their order) or Extrude Mesh VERTICES (a new edge mixes the edges at its
    source point, Blender's copy_with_mixing), read back on the points (the mean of their edges)
    and by Index on the EDGE domain (the edge order kept)."""
    store = [node("I", "GeometryNodeInputIndex"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.1}),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "EDGE"}, {"Name": "w"})]
    links = [link(("I", "Index"), ("M", "Value")), link((GI, "a"), ("M", "Value_002")), link(("Mesh", "Mesh"), ("St", "Geometry")),
             link(("M", "Value"), ("St", "Value"))]
    if op == "extrude_vertices":
        o = node("O", "GeometryNodeExtrudeMesh", {"mode": "VERTICES"}, {"Offset": [0.0, 0.0, 0.3], "Offset Scale": 1.0})
        sel = [node("OI", "GeometryNodeInputIndex"), node("OC", "FunctionNodeCompare", {"data_type": "INT", "operation": "LESS_THAN"},
                                                        {"B_INT": 5})]
        links += [link(("St", "Geometry"), ("O", "Mesh")), link(("OI", "Index"), ("OC", "A_INT")), link(("OC", "Result"), ("O", "Selection"))]
        out = ("O", "Mesh")
    else:
        o = node("O", "GeometryNodeScaleElements", {"domain": "FACE" if op == "scale_faces" else "EDGE"}, {"Scale": 0.7})
        sel = []
        links.append(link(("St", "Geometry"), ("O", "Geometry")))
        out = ("O", "Geometry")
    read = [node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "w"}), node("RC", "ShaderNodeCombineXYZ"),
            node("SP", "GeometryNodeSetPosition"), node("EI", "GeometryNodeInputIndex"),
            node("K", "GeometryNodeCaptureAttribute", {"domain": "EDGE", "capture_items": [["Value", "FLOAT"]]}),
            node("EM", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.01})]
    links += [link(out, ("K", "Geometry")), link(("EI", "Index"), ("EM", "Value")), link(("EM", "Value"), ("K", "Value")),
              link(("R", "Attribute"), ("RC", "Z")), link(("K", "Attribute"), ("RC", "X")), link(("K", "Geometry"), ("SP", "Geometry")),
              link(("RC", "Vector"), ("SP", "Offset")), link(("SP", "Geometry"), ("Group Output", "Out"))]
    from fieldtools import mesh_node

    ir = program([mesh_node("grid"), *store, o, *sel, *read], links, fparams("a"))
    compare_batch(ir, [{"a": 0.0}, {"a": 0.5}, {"a": -1.0}])


@pytest.mark.parametrize("mode", ["ONLY_FACE", "EDGE_FACE"])
def test_scale_edges_after_deleting_faces(mode):
    """Scale Elements on EDGES of a grid whose faces (some or all) were deleted: its loose edges
    are known (Delete Geometry keeps them in Blender's order), so they scale as Blender's."""
    from fieldtools import mesh_node

    nodes = [mesh_node("grid"), node("I", "GeometryNodeInputIndex"),
             node("C", "FunctionNodeCompare", {"data_type": "INT", "operation": "LESS_THAN"}, {"B_INT": 4}),
             node("D", "GeometryNodeDeleteGeometry", {"domain": "FACE", "mode": mode}),
             node("S", "GeometryNodeScaleElements", {"domain": "EDGE"})]
    links = [link(("Mesh", "Mesh"), ("D", "Geometry")), link(("I", "Index"), ("C", "A_INT")), link(("C", "Result"), ("D", "Selection")),
             link(("D", "Geometry"), ("S", "Geometry")), link((GI, "a"), ("S", "Scale")), link(("S", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a")), [{"a": 0.5}, {"a": 1.3}, {"a": -0.4}])


@pytest.mark.parametrize("domain", ["EDGE", "FACE"])
@pytest.mark.parametrize("data_type", ["FLOAT", "BOOLEAN"])
def test_attributes_through_extruded_edges(domain, data_type):
    """EDGE and FACE attributes through Extrude Mesh EDGES (Blender's extrude_mesh_edges): a copy
    of an edge takes its edge's value, a connecting edge mixes the selected edges at its point, a
    new face mixes the faces of its edge (none: zero); read back on the points."""
    from fieldtools import mesh_node

    nodes = [mesh_node("grid"), node("I", "GeometryNodeInputIndex"),
             node("M", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.15}),
             node("W", "ShaderNodeMath", {"operation": "FRACT"}),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": data_type, "domain": domain}, {"Name": "w"}),
             node("EI", "GeometryNodeInputIndex"), node("EC", "FunctionNodeCompare", {"data_type": "INT", "operation": "NOT_EQUAL"},
                                                        {"B_INT": 3}),
             node("X", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.0, 0.2, 0.5], "Offset Scale": 1.0}),
             node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "w"}), node("RC", "ShaderNodeCombineXYZ"),
             node("SP", "GeometryNodeSetPosition")]
    links = [link(("I", "Index"), ("M", "Value")), link((GI, "a"), ("M", "Value_002")), link(("M", "Value"), ("W", "Value")),
             link(("Mesh", "Mesh"), ("St", "Geometry")), link(("W", "Value"), ("St", "Value")),
             link(("St", "Geometry"), ("X", "Mesh")), link(("EI", "Index"), ("EC", "A_INT")), link(("EC", "Result"), ("X", "Selection")),
             link(("X", "Mesh"), ("SP", "Geometry")), link(("R", "Attribute"), ("RC", "Z")), link(("RC", "Vector"), ("SP", "Offset")),
             link(("SP", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a")), [{"a": 0.0}, {"a": 0.35}, {"a": 0.8}])
