"""Normal, ID, Named Attribute (after Store Named Attribute / Set ID) and Capture Attribute
against live Blender (bpy), through Set Position; interpolation between domains included."""
import pytest

from fieldtools import GI, compare_batch, set_position_program, value_sets
from irtools import fparams, link, node

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


def scaled(source, param="a"):
    """Nodes scaling a vector field `source` by parameter `param` (node 'K')."""
    return [node("K", "ShaderNodeVectorMath", {"operation": "SCALE"})], [
        link(source, ("K", "Vector")), link((GI, param), ("K", "Scale"))]


@pytest.mark.parametrize("mesh", ["grid", "ico", "cylinder", "cube"])
def test_normal_on_points(mesh):
    """Offset = vertex normal * a, after a first Set Position that bends the mesh (z += x * y * b)."""
    nodes, links = scaled(("N", "Normal"))
    nodes += [node("N", "GeometryNodeInputNormal")]
    pre = [node("P0", "GeometryNodeInputPosition"), node("S0", "ShaderNodeSeparateXYZ"),
           node("XY", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("XYb", "ShaderNodeMath", {"operation": "MULTIPLY"}),
           node("C0", "ShaderNodeCombineXYZ"), node("SP0", "GeometryNodeSetPosition")]
    pre_links = [link(("P0", "Position"), ("S0", "Vector")), link(("S0", "X"), ("XY", "Value")),
                 link(("S0", "Y"), ("XY", "Value_001")), link(("XY", "Value"), ("XYb", "Value")),
                 link((GI, "b"), ("XYb", "Value_001")), link(("XYb", "Value"), ("C0", "Z")),
                 link(("C0", "Vector"), ("SP0", "Offset"))]
    ir = set_position_program(nodes + pre, links + pre_links, fparams("a", "b"), offset=("K", "Vector"), mesh=mesh)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
    g["links"] += [link(("Mesh", "Mesh"), ("SP0", "Geometry")), link(("SP0", "Geometry"), ("SP", "Geometry"))]
    compare_batch(ir, value_sets("ab", 12, seed=3))


@pytest.mark.parametrize("domain,source", [("FACE", "Normal"), ("FACE", "Position"), ("CORNER", "Position"),
                                           ("EDGE", "Position"), ("EDGE", "Normal"), ("CORNER", "Normal")])
def test_captured_on_a_domain_read_on_points(domain, source):
    """Face normals / positions captured on another domain (a face's: the mean of its points),
    read on points (the mean of the point's faces / corners / edges) after a rotation;
    Offset = that * a."""
    inp = node("N", "GeometryNodeInputNormal") if source == "Normal" else node("N", "GeometryNodeInputPosition")
    nodes = [inp, node("Cap", "GeometryNodeCaptureAttribute",
                                                        {"domain": "FACE", "capture_items": [["Value", "FLOAT_VECTOR"]]}),
             node("Sh", "GeometryNodeTransform"), node("RV", "ShaderNodeCombineXYZ")]
    nodes2, links2 = scaled(("Cap", "Attribute"))
    links = links2 + [link(("N", source), ("Cap", "Value")), link(("Mesh", "Mesh"), ("Sh", "Geometry")),
                      link(("Sh", "Geometry"), ("Cap", "Geometry")), link((GI, "b"), ("RV", "X")), link((GI, "a"), ("RV", "Y")),
                      link(("RV", "Vector"), ("Sh", "Rotation"))]
    nodes[1]["properties"]["domain"] = domain
    ir = set_position_program(nodes + nodes2, links, fparams("a", "b"), offset=("K", "Vector"), mesh="ico")
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"] or lk["from"][0] == "Cap"]
    g["links"].append(link(("Cap", "Geometry"), ("SP", "Geometry")))
    compare_batch(ir, value_sets("ab", 12, seed=4))


@pytest.mark.parametrize("mesh", ["cube", "ico", "cylinder", "grid"])
@pytest.mark.parametrize("smooth", [None, "FACE", "EDGE"])
def test_normal_on_corners(mesh, smooth):
    """Blender 4.2's Normal on the CORNER domain is its face's normal, for smooth and sharp faces
    and edges alike (Set Shade Smooth on some faces / edges changes nothing): stored on corners,
    read on points (the mean of a point's corners, not its vertex normal)."""
    from meshoptools import corner_normal_program
    compare_batch(corner_normal_program(mesh, smooth), value_sets("abc", 8, seed=3, lo=-1.0, hi=1.0))


def test_capture_position_before_transform():
    """Position captured on points, then the mesh is transformed: Position := captured * a."""
    nodes = [node("P", "GeometryNodeInputPosition"),
             node("Cap", "GeometryNodeCaptureAttribute", {"domain": "POINT",
                                                         "capture_items": [["Pos", "FLOAT_VECTOR"], ["X", "FLOAT"]]}),
             node("Sep", "ShaderNodeSeparateXYZ"), node("T", "GeometryNodeTransform", {}, {"Translation": [0, 0, 3]}),
             node("Add", "ShaderNodeVectorMath", {"operation": "ADD"})]
    n2, l2 = scaled(("Cap", "Attribute"))
    links = l2 + [link(("P", "Position"), ("Cap", "Value")), link(("P", "Position"), ("Sep", "Vector")),
                  link(("Sep", "X"), ("Cap", "Value_1")), link(("Mesh", "Mesh"), ("Cap", "Geometry")),
                  link(("Cap", "Geometry"), ("T", "Geometry")), link(("K", "Vector"), ("Add", "Vector")),
                  link(("Cap", "Attribute_1"), ("Add", "Vector_001"))]
    ir = set_position_program(nodes + n2, links, fparams("a"), position=("Add", "Vector"), mesh="cylinder")
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
    g["links"].append(link(("T", "Geometry"), ("SP", "Geometry")))
    compare_batch(ir, value_sets("a", 8, seed=5))


@pytest.mark.parametrize("data_type,domain", [("FLOAT", "POINT"), ("FLOAT", "FACE"), ("INT", "POINT"), ("INT", "FACE"),
                                              ("BOOLEAN", "POINT"), ("INT", "CORNER"),
                                              ("BOOLEAN", "FACE"), ("FLOAT_VECTOR", "POINT"), ("FLOAT_VECTOR", "CORNER")])
def test_named_attribute_round_trip(data_type, domain):
    """Store Named Attribute (x * a, selected where y > b) on a domain, joined with a mesh
    without it, read back on points as FLOAT_VECTOR, used as Offset."""
    value_type = {"FLOAT": "FLOAT", "INT": "INT", "BOOLEAN": "BOOLEAN", "FLOAT_VECTOR": "VECTOR"}[data_type]
    nodes = [node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": data_type, "domain": domain}, {"Name": "w"}),
             node("J", "GeometryNodeJoinGeometry"), node("Cube", "GeometryNodeMeshCube"),
             node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "w"})]
    src = ("P", "Position") if value_type == "VECTOR" else ("M", "Value")
    links = [link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "X"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")),
             link(("Sep", "Y"), ("Cmp", "A")), link((GI, "b"), ("Cmp", "B")), link(("Cmp", "Result"), ("St", "Selection")),
             link(src, ("St", "Value")), link(("Mesh", "Mesh"), ("St", "Geometry")), link(("St", "Geometry"), ("J", "Geometry")),
             link(("Cube", "Mesh"), ("J", "Geometry"), 1)]
    ir = set_position_program(nodes, links, fparams("a", "b"), offset=("R", "Attribute"))
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
    g["links"].append(link(("J", "Geometry"), ("SP", "Geometry")))
    compare_batch(ir, value_sets("ab", 12, seed=6, lo=-3, hi=3))


def test_id_with_and_without_set_id():
    """Offset x = ID * 0.1: the index where no id is stored; after Set ID (index * a truncated,
    selected where x > b), the stored ids."""
    for with_set_id in (False, True):
        nodes = [node("ID", "GeometryNodeInputID"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.1}),
                 node("C", "ShaderNodeCombineXYZ"), node("I", "GeometryNodeInputIndex"),
                 node("IA", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("SID", "GeometryNodeSetID"),
                 node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
                 node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"})]
        links = [link(("ID", "ID"), ("M", "Value")), link(("M", "Value"), ("C", "X")),
                 link(("I", "Index"), ("IA", "Value")), link((GI, "a"), ("IA", "Value_001")), link(("IA", "Value"), ("SID", "ID")),
                 link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "X"), ("Cmp", "A")), link((GI, "b"), ("Cmp", "B")),
                 link(("Cmp", "Result"), ("SID", "Selection"))]
        ir = set_position_program(nodes, links, fparams("a", "b"), offset=("C", "Vector"))
        if with_set_id:
            g = ir["groups"][0]
            g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
            g["links"] += [link(("Mesh", "Mesh"), ("SID", "Geometry")), link(("SID", "Geometry"), ("SP", "Geometry"))]
        compare_batch(ir, value_sets("ab", 10, seed=8, lo=-3, hi=3))


def test_capture_items_round_trip_through_a_blend(tmp_path):
    """A Capture Attribute whose items were made, removed and made again in Blender (socket
    identifiers Value_2, ...) imports with the IR's positional identifiers and evaluates alike."""
    from geonodes.blender import export_blend, import_blend

    nodes = [node("P", "GeometryNodeInputPosition"),
             node("Cap", "GeometryNodeCaptureAttribute", {"domain": "FACE",
                                                         "capture_items": [["A", "FLOAT"], ["B", "FLOAT_VECTOR"]]}),
             node("K", "ShaderNodeVectorMath", {"operation": "SCALE"})]
    links = [link(("P", "Position"), ("Cap", "Value_1")), link(("Mesh", "Mesh"), ("Cap", "Geometry")),
             link(("Cap", "Attribute_1"), ("K", "Vector")), link((GI, "a"), ("K", "Scale"))]
    ir = set_position_program(nodes, links, fparams("a"), offset=("K", "Vector"), mesh="cube")
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]] + [link(("Cap", "Geometry"), ("SP", "Geometry"))]
    path = export_blend(ir, tmp_path / "capture.blend")
    cap = bpy.data.node_groups["main"].nodes["Cap"]
    cap.capture_items.remove(cap.capture_items[0])  # B is now the first item, with identifier Value_1
    cap.capture_items.new("FLOAT", "C")
    bpy.ops.wm.save_as_mainfile(filepath=str(path))
    back = import_blend(path)
    (cap_ir,) = [n for n in back["groups"][0]["nodes"] if n["name"] == "Cap"]
    assert cap_ir["properties"]["capture_items"] == [["B", "FLOAT_VECTOR"], ["C", "FLOAT"]]
    used = {tuple(lk["from"]) for lk in back["groups"][0]["links"]} | {tuple(lk["to"]) for lk in back["groups"][0]["links"]}
    assert ("Cap", "Value") in used and ("Cap", "Attribute") in used
    compare_batch(back, value_sets("a", 6, seed=14))


@pytest.mark.parametrize("data_type", ["FLOAT_VECTOR", "FLOAT"])
def test_storing_position_moves_points(data_type):
    """Store Named Attribute 'position' (position * a, or the float x * a) where y > b."""
    nodes = [node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
             node("Sep", "ShaderNodeSeparateXYZ"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": data_type, "domain": "POINT"}, {"Name": "position"})]
    links = [link(("P", "Position"), ("K", "Vector")), link((GI, "a"), ("K", "Scale")), link(("P", "Position"), ("Sep", "Vector")),
             link(("Sep", "X"), ("M", "Value")), link((GI, "a"), ("M", "Value_001")),
             link(("K" if data_type == "FLOAT_VECTOR" else "M", "Vector" if data_type == "FLOAT_VECTOR" else "Value"),
                  ("St", "Value")),
             link(("Sep", "Y"), ("Cmp", "A")), link((GI, "b"), ("Cmp", "B")), link(("Cmp", "Result"), ("St", "Selection"))]
    ir = set_position_program(nodes, links, fparams("a", "b"), mesh="ico")
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP", "Geometry"]]
    g["links"] += [link(("Mesh", "Mesh"), ("St", "Geometry")), link(("St", "Geometry"), ("SP", "Geometry"))]
    compare_batch(ir, value_sets("ab", 10, seed=15))
