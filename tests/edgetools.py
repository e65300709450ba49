"""Programs probing Blender's edge order (tests/test_edges*.py): a mesh, then the EDGE-domain
Index made visible on the points: Store Named Attribute 'ei' = sin(1.3 * Index) on the EDGE
domain, read back on the points (the mean of a point's edges' values, so a point moves by
where its edges are in the order), Set Position offset z = ei * a."""
from __future__ import annotations

import copy

from fieldtools import GI
from irtools import fparams, link, node, program

# Mesh sources: name -> (nodes, links, (node, output) of the mesh). Each names its mesh node 'M0'.
PRIMITIVES = {
    "line": [node("M0", "GeometryNodeMeshLine", {}, {"Count": 5})],
    "grid": [node("M0", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 1.5, "Vertices X": 4, "Vertices Y": 3})],
    "cube": [node("M0", "GeometryNodeMeshCube", {}, {"Size": [1.0, 2.0, 0.5], "Vertices X": 3, "Vertices Y": 2,
                                                     "Vertices Z": 4})],
    "cylinder": [node("M0", "GeometryNodeMeshCylinder", {"fill_type": "NGON"},
                      {"Vertices": 6, "Radius": 0.8, "Side Segments": 2})],
    "cylinder_fan": [node("M0", "GeometryNodeMeshCylinder", {"fill_type": "TRIANGLE_FAN"},
                          {"Vertices": 5, "Radius": 0.8, "Fill Segments": 2})],
    "cone": [node("M0", "GeometryNodeMeshCone", {"fill_type": "NGON"}, {"Vertices": 7, "Side Segments": 3})],
    "circle": [node("M0", "GeometryNodeMeshCircle", {"fill_type": "NONE"}, {"Vertices": 6})],
    "circle_fan": [node("M0", "GeometryNodeMeshCircle", {"fill_type": "TRIANGLE_FAN"}, {"Vertices": 6})],
    "uvsphere": [node("M0", "GeometryNodeMeshUVSphere", {}, {"Segments": 7, "Rings": 5})],
    "ico": [node("M0", "GeometryNodeMeshIcoSphere", {}, {"Radius": 1.0, "Subdivisions": 1})],
    "ico3": [node("M0", "GeometryNodeMeshIcoSphere", {}, {"Radius": 1.0, "Subdivisions": 3})],
}

# Curve to Mesh sources (edges in fill_mesh_topology's order): an open Bezier swept by a circle
# with caps, a circle swept by an open arc, a cyclic and an open curve without a profile; Fill
# Curve (edges in the triangulation's order): a circle as triangles, a ring (a hole) as n-gons.
CURVE_MESHES = {
    "curve_tube": [node("B", "GeometryNodeCurveQuadraticBezier", {}, {"Resolution": 4, "Middle": [0.3, 0.8, 0.4]}),
                   node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 5, "Radius": 0.2}),
                   node("M0", "GeometryNodeCurveToMesh", {}, {"Fill Caps": True})],
    "curve_ring": [node("B", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 6}),
                   node("P", "GeometryNodeCurveArc", {}, {"Resolution": 3, "Radius": 0.3}),
                   node("M0", "GeometryNodeCurveToMesh")],
    "curve_wire": [node("B", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 7}),
                   node("M0", "GeometryNodeCurveToMesh")],
    "curve_wire_open": [node("B", "GeometryNodeCurveQuadraticBezier", {}, {"Resolution": 5}),
                        node("M0", "GeometryNodeCurveToMesh")],
    "fill_triangles": [node("B", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 9}),
                       node("M0", "GeometryNodeFillCurve", {"mode": "TRIANGLES"})],
    "fill_ngons_hole": [node("B", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 8}),
                        node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 5, "Radius": 0.4}),
                        node("J", "GeometryNodeJoinGeometry"), node("M0", "GeometryNodeFillCurve", {"mode": "NGONS"})],
}
CURVE_MESH_LINKS = {
    "curve_tube": [(("B", "Curve"), ("M0", "Curve")), (("P", "Curve"), ("M0", "Profile Curve"))],
    "curve_ring": [(("B", "Curve"), ("M0", "Curve")), (("P", "Curve"), ("M0", "Profile Curve"))],
    "curve_wire": [(("B", "Curve"), ("M0", "Curve"))],
    "curve_wire_open": [(("B", "Curve"), ("M0", "Curve"))],
    "fill_triangles": [(("B", "Curve"), ("M0", "Curve"))],
    "fill_ngons_hole": [(("B", "Curve"), ("J", "Geometry")), (("P", "Curve"), ("J", "Geometry"), 1),
                        (("J", "Geometry"), ("M0", "Curve"))],
}


def mesh_source(kind: str):
    """(nodes, links, (node, socket)) of a mesh: a primitive, or 'joined' (a grid, a transformed
    cube and a line joined), 'realized' (cubes instanced on a line's points, realized)."""
    if kind in PRIMITIVES:
        return copy.deepcopy(PRIMITIVES[kind]), [], ("M0", "Mesh")
    if kind in CURVE_MESHES:
        return copy.deepcopy(CURVE_MESHES[kind]), [link(*spec) for spec in CURVE_MESH_LINKS[kind]], ("M0", "Mesh")
    if kind.startswith("moved_"):  # meshoptools.moved_mesh: bent per row, symmetries broken
        from meshoptools import moved_mesh
        nodes, links = moved_mesh(kind[len("moved_"):])
        return nodes, links, ("SP", "Geometry")
    if kind == "joined":
        nodes = [dict(copy.deepcopy(PRIMITIVES[k][0]), name=name) for k, name in (("grid", "G"), ("cube", "C"), ("line", "L"))]
        nodes += [node("T", "GeometryNodeTransform", {}, {"Translation": [0.3, 0.0, 1.0], "Rotation": [0.2, 0.1, 0.0]}),
                  node("J", "GeometryNodeJoinGeometry")]
        links = [link(("C", "Mesh"), ("T", "Geometry")), link(("G", "Mesh"), ("J", "Geometry")),
                 link(("T", "Geometry"), ("J", "Geometry"), 1), link(("L", "Mesh"), ("J", "Geometry"), 2)]
        return nodes, links, ("J", "Geometry")
    if kind == "realized":
        nodes = [node("L", "GeometryNodeMeshLine", {}, {"Count": 3}),
                 node("C", "GeometryNodeMeshCube", {}, {"Size": [0.3, 0.2, 0.4], "Vertices X": 2, "Vertices Y": 3}),
                 node("IOP", "GeometryNodeInstanceOnPoints"), node("R", "GeometryNodeRealizeInstances"),
                 node("G", "GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 2}),
                 node("J", "GeometryNodeJoinGeometry")]
        links = [link(("L", "Mesh"), ("IOP", "Points")), link(("C", "Mesh"), ("IOP", "Instance")),
                 link(("G", "Mesh"), ("J", "Geometry")), link(("IOP", "Instances"), ("J", "Geometry"), 1),
                 link(("J", "Geometry"), ("R", "Geometry"))]
        return nodes, links, ("R", "Geometry")
    raise ValueError(kind)


def edge_index_program(kind: str, ops=()):
    """mesh_source(kind) -> ops (nodes as (node, in, out), plus their extra nodes and links via
    (node, in, out, extra nodes, extra links)) -> the edge-index probe -> output."""
    nodes, links, last = mesh_source(kind)
    for op in ops:
        op_node, inp, out = op[:3]
        nodes.append(op_node)
        if len(op) > 3:
            nodes += op[3]
            links += op[4]
        links.append(link(last, (op_node["name"], inp)))
        last = (op_node["name"], out)
    nodes += [node("EI", "GeometryNodeInputIndex"), node("EK", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.3}),
              node("ES", "ShaderNodeMath", {"operation": "SINE"}),
              node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "EDGE"}, {"Name": "ei"}),
              node("ER", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "ei"}),
              node("RA", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("EC", "ShaderNodeCombineXYZ"),
              node("ESP", "GeometryNodeSetPosition")]
    links += [link(("EI", "Index"), ("EK", "Value")), link(("EK", "Value"), ("ES", "Value")),
              link(("ES", "Value"), ("St", "Value")), link(last, ("St", "Geometry")),
              link(("ER", "Attribute"), ("RA", "Value")), link((GI, "a"), ("RA", "Value_001")),
              link(("RA", "Value"), ("EC", "Z")), link(("St", "Geometry"), ("ESP", "Geometry")),
              link(("EC", "Vector"), ("ESP", "Offset")), link(("ESP", "Geometry"), ("Group Output", "Out"))]
    return program(nodes, links, fparams("a", "b"))


def bend():
    """Set Position offset (b * x * y, 0, b * x * x): rows differ, quads stop being planar."""
    extra = [node("BP", "GeometryNodeInputPosition"), node("BS", "ShaderNodeSeparateXYZ"),
             node("BXY", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("BXYb", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("BXX", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("BXXb", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("BC", "ShaderNodeCombineXYZ")]
    links = [link(("BP", "Position"), ("BS", "Vector")), link(("BS", "X"), ("BXY", "Value")), link(("BS", "Y"), ("BXY", "Value_001")),
             link(("BXY", "Value"), ("BXYb", "Value")), link((GI, "b"), ("BXYb", "Value_001")),
             link(("BS", "X"), ("BXX", "Value")), link(("BS", "X"), ("BXX", "Value_001")),
             link(("BXX", "Value"), ("BXXb", "Value")), link((GI, "b"), ("BXXb", "Value_001")),
             link(("BXYb", "Value"), ("BC", "X")), link(("BXXb", "Value"), ("BC", "Z")), link(("BC", "Vector"), ("BSP", "Offset"))]
    return (node("BSP", "GeometryNodeSetPosition"), "Geometry", "Geometry", extra, links)


def subdivide_program(kind, level):
    return edge_index_program(kind, [bend(), (node("SD", "GeometryNodeSubdivideMesh", {}, {"Level": level}), "Mesh", "Mesh")])
