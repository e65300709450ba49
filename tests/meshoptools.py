"""Programs for the mesh operation nodes (tests/test_mesh_ops_blender.py): a mesh, moved by
parameters so that rows differ, then the node under test, then the output."""
from __future__ import annotations

from fieldtools import GI, mesh_node
from irtools import fparams, link, node, program

MESHES = ("grid", "ico", "cube", "cylinder")


def base_mesh(kind: str):
    """fieldtools.mesh_node, and 'uvsphere' (7 segments, 5 rings: triangle fans at the poles)."""
    if kind == "uvsphere":
        return node("Mesh", "GeometryNodeMeshUVSphere", {}, {"Segments": 7, "Rings": 5})
    return mesh_node(kind)


def moved_mesh(mesh: str):
    """Nodes and links of `mesh` with its points moved per row: offset (a*x*y + 0.1*x*x + 0.05*y,
    b*z, a*b*x) (fields, so quads bend and face sizes differ between rows; the constant terms
    break the meshes' symmetries, where a quad's two diagonals would tie); output ('SP', 'Geometry')."""
    nodes = [base_mesh(mesh), node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("XY", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("AXY", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("BZ", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("AB", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("ABX", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("Off", "ShaderNodeCombineXYZ"),
             node("XX", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("XX1", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.1}),
             node("Y5", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.05}),
             node("SP", "GeometryNodeSetPosition")]
    links = [link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "X"), ("XY", "Value")), link(("Sep", "Y"), ("XY", "Value_001")),
             link(("XY", "Value"), ("AXY", "Value")), link((GI, "a"), ("AXY", "Value_001")),
             link(("Sep", "Z"), ("BZ", "Value")), link((GI, "b"), ("BZ", "Value_001")),
             link((GI, "a"), ("AB", "Value")), link((GI, "b"), ("AB", "Value_001")),
             link(("AB", "Value"), ("ABX", "Value")), link(("Sep", "X"), ("ABX", "Value_001")),
             link(("Sep", "X"), ("XX", "Value")), link(("Sep", "X"), ("XX", "Value_001")),
             link(("XX", "Value"), ("XX1", "Value")), link(("AXY", "Value"), ("XX1", "Value_002")),
             link(("Sep", "Y"), ("Y5", "Value")), link(("XX1", "Value"), ("Y5", "Value_002")),
             link(("Y5", "Value"), ("Off", "X")), link(("BZ", "Value"), ("Off", "Y")), link(("ABX", "Value"), ("Off", "Z")),
             link(("Mesh", "Mesh"), ("SP", "Geometry")), link(("Off", "Vector"), ("SP", "Offset"))]
    return nodes, links


def selection_nodes(threshold_param="c", axis="X", name="Cmp"):
    """A selection field `name`.Result = position.axis > c + 0.0123 (on the consuming node's domain)."""
    return ([node(name + "P", "GeometryNodeInputPosition"), node(name + "S", "ShaderNodeSeparateXYZ"),
             node(name + "T", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 0.0123}),
             node(name, "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"})],
            [link((name + "P", "Position"), (name + "S", "Vector")), link((name + "S", axis), (name, "A")),
             link((GI, threshold_param), (name + "T", "Value")), link((name + "T", "Value"), (name, "B"))])


def op_program(mesh: str, op: dict, geometry_in: str, geometry_out: str, extra_nodes=(), extra_links=(),
               params=("a", "b", "c"), after=()):
    """moved_mesh -> op -> (after nodes as (node, in, out)) -> output."""
    nodes, links = moved_mesh(mesh)
    nodes = nodes + [op] + list(extra_nodes)
    links = links + [link(("SP", "Geometry"), (op["name"], geometry_in))] + list(extra_links)
    last = (op["name"], geometry_out)
    for extra, inp, out in after:
        nodes.append(extra)
        links.append(link(last, (extra["name"], inp)))
        last = (extra["name"], out)
    links.append(link(last, ("Group Output", "Out")))
    return program(nodes, links, fparams(*params))


def merge_program(mesh="grid", selection=False):
    """A grid joined with itself moved by (0, 1.5 + a * 0.0015, b * 0.0005): the seam rows are
    within Distance 0.001 where a and b are small enough; scaled in x by c + 1.2; merged
    (selection: x > d + 0.0123)."""
    nodes = [node("Mesh", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 1.5, "Vertices X": 4, "Vertices Y": 3}),
             node("T", "GeometryNodeTransform"), node("V", "ShaderNodeCombineXYZ"),
             node("A", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.0015, "Value_002": 1.5}),
             node("B", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.0005}),
             node("J", "GeometryNodeJoinGeometry"), node("S", "GeometryNodeTransform"), node("SV", "ShaderNodeCombineXYZ", {}, {"Y": 1.0, "Z": 1.0}),
             node("C", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.2}),
             node("M", "GeometryNodeMergeByDistance", {}, {"Distance": 0.001})]
    links = [link(("Group Input", "a"), ("A", "Value")), link(("Group Input", "b"), ("B", "Value")),
             link(("A", "Value"), ("V", "Y")), link(("B", "Value"), ("V", "Z")), link(("V", "Vector"), ("T", "Translation")),
             link(("Mesh", "Mesh"), ("T", "Geometry")), link(("Mesh", "Mesh"), ("J", "Geometry"), 0),
             link(("T", "Geometry"), ("J", "Geometry"), 1), link(("J", "Geometry"), ("S", "Geometry")),
             link(("Group Input", "c"), ("C", "Value")), link(("C", "Value"), ("SV", "X")), link(("SV", "Vector"), ("S", "Scale")),
             link(("S", "Geometry"), ("M", "Geometry")), link(("M", "Geometry"), ("Group Output", "Out"))]
    if selection:
        sel, sel_links = selection_nodes("d")
        nodes += sel
        links += sel_links + [link(("Cmp", "Result"), ("M", "Selection"))]
    return program(nodes, links, fparams("a", "b", "c", "d"))


def connected_merge_program(mesh="grid", selection=False, mode="CONNECTED"):
    """moved_mesh -> Merge by Distance (CONNECTED, or `mode`) with Distance = 0.9 * d (per row:
    from no merge to whole regions collapsing, chains of edges included, polygons left touching
    themselves); selection: x > c + 0.0123."""
    extra = [node("D", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.9})]
    links = [link((GI, "d"), ("D", "Value")), link(("D", "Value"), ("M", "Distance"))]
    if selection:
        sel, sel_links = selection_nodes("c")
        extra += sel
        links += sel_links + [link(("Cmp", "Result"), ("M", "Selection"))]
    return op_program(mesh, node("M", "GeometryNodeMergeByDistance", {"mode": mode}), "Geometry", "Geometry",
                      extra, links, params=("a", "b", "c", "d"))


def corner_normal_program(mesh="cube", smooth="FACE"):
    """moved_mesh -> Set Shade Smooth (smooth None: Set Material Index instead; "FACE": the faces
    with x > c + 0.0123 smooth; "EDGE": those edges smooth) -> Store Named Attribute 'n' =
    Normal on the CORNER domain -> Set Position offset = (n read on points: the mean of the
    point's corners) * a."""
    extra = [node("N", "GeometryNodeInputNormal"),
             node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT_VECTOR", "domain": "CORNER"}, {"Name": "n"}),
             node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT_VECTOR"}, {"Name": "n"}),
             node("Sc", "ShaderNodeVectorMath", {"operation": "SCALE"})]
    links = [link(("N", "Normal"), ("St", "Value")), link(("R", "Attribute"), ("Sc", "Vector")), link((GI, "a"), ("Sc", "Scale")),
             link(("SS", "Geometry"), ("St", "Geometry"))]
    if smooth is None:
        op = node("SS", "GeometryNodeSetMaterialIndex")
    else:
        op = node("SS", "GeometryNodeSetShadeSmooth", {"domain": smooth})
        sel, sel_links = selection_nodes("c")
        extra += sel
        links += sel_links + [link(("Cmp", "Result"), ("SS", "Selection"))]
    after = [(node("SP2", "GeometryNodeSetPosition"), "Geometry", "Geometry")]
    ir = op_program(mesh, op, "Geometry", "Geometry", extra, links, after=after)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["SP2", "Geometry"]] + [
        link(("St", "Geometry"), ("SP2", "Geometry")), link(("Sc", "Vector"), ("SP2", "Offset"))]
    return ir


def pinched_ngon_program(mode="ALL"):
    """An 8-gon (Mesh Circle, N-Gon fill) pinched: offset (b * y, y * (a * x * x - 1), 0), so its
    points 2 and 6 meet at the centre where b = 0 (for any a); then Merge by Distance (0.01):
    the polygon touches itself at the merged point and is split in two quads (Blender's
    weld_poly_split_recursive). a changes the quads' shapes; b != 0 keeps the points apart."""
    nodes = [node("Mesh", "GeometryNodeMeshCircle", {"fill_type": "NGON"}, {"Vertices": 8, "Radius": 1.0}),
             node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("XX", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("AXX", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"},
                                                                           {"Value_002": -1.0}),
             node("Y", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("BY", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("Off", "ShaderNodeCombineXYZ"), node("SP", "GeometryNodeSetPosition"),
             node("M", "GeometryNodeMergeByDistance", {"mode": mode}, {"Distance": 0.01})]
    links = [link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "X"), ("XX", "Value")), link(("Sep", "X"), ("XX", "Value_001")),
             link(("XX", "Value"), ("AXX", "Value")), link((GI, "a"), ("AXX", "Value_001")),
             link(("AXX", "Value"), ("Y", "Value")), link(("Sep", "Y"), ("Y", "Value_001")),
             link(("Sep", "Y"), ("BY", "Value")), link((GI, "b"), ("BY", "Value_001")),
             link(("BY", "Value"), ("Off", "X")), link(("Y", "Value"), ("Off", "Y")),
             link(("Mesh", "Mesh"), ("SP", "Geometry")), link(("Off", "Vector"), ("SP", "Offset")),
             link(("SP", "Geometry"), ("M", "Geometry")), link(("M", "Geometry"), ("Group Output", "Out"))]
    return program(nodes, links, fparams("a", "b"))
