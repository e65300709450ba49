"""Programs for the mesh operation nodes (tests/test_mesh_ops_blender.py): a mesh, moved by
parameters so that rows differ, then the node under test, then the output."""
from __future__ import annotations

from fieldtools import GI, mesh_node
from irtools import fparams, link, node, program

MESHES = ("grid", "ico", "cube", "cylinder")


def moved_mesh(mesh: str):
    """Nodes and links of `mesh` with its points moved per row: offset (a*x*y, b*z, a*b*x) (fields,
    so quads bend and face sizes differ between rows); output ('SP', 'Geometry')."""
    nodes = [mesh_node(mesh), node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("XY", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("AXY", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("BZ", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("AB", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("ABX", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("Off", "ShaderNodeCombineXYZ"),
             node("SP", "GeometryNodeSetPosition")]
    links = [link(("P", "Position"), ("Sep", "Vector")), link(("Sep", "X"), ("XY", "Value")), link(("Sep", "Y"), ("XY", "Value_001")),
             link(("XY", "Value"), ("AXY", "Value")), link((GI, "a"), ("AXY", "Value_001")),
             link(("Sep", "Z"), ("BZ", "Value")), link((GI, "b"), ("BZ", "Value_001")),
             link((GI, "a"), ("AB", "Value")), link((GI, "b"), ("AB", "Value_001")),
             link(("AB", "Value"), ("ABX", "Value")), link(("Sep", "X"), ("ABX", "Value_001")),
             link(("AXY", "Value"), ("Off", "X")), link(("BZ", "Value"), ("Off", "Y")), link(("ABX", "Value"), ("Off", "Z")),
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
