"""Blender's UI name and Add-menu group of every node type the compiler knows (importable without
torch or bpy), and the README's node table made from them (`scripts/node_table.py` writes it;
tests check it against the registry, and the names against bpy)."""
from __future__ import annotations

from .node_types import COMPILED_NODE_TYPES, DROPPED_NODE_TYPES, GROUP_TYPES

# Add-menu group -> {bl_idname: UI name}, in Blender 4.2's menu order. It may name types not (yet)
# supported (other branches' nodes): the table lists the supported ones only.
MENU = {
    "Attribute": {"GeometryNodeCaptureAttribute": "Capture Attribute",
                  "GeometryNodeRemoveAttribute": "Remove Named Attribute",
                  "GeometryNodeStoreNamedAttribute": "Store Named Attribute"},
    "Input > Constant": {"FunctionNodeInputBool": "Boolean", "FunctionNodeInputInt": "Integer",
                         "ShaderNodeValue": "Value", "FunctionNodeInputVector": "Vector"},
    "Geometry": {"GeometryNodeBoundBox": "Bounding Box", "GeometryNodeJoinGeometry": "Join Geometry",
                 "GeometryNodeMergeByDistance": "Merge by Distance", "GeometryNodeDeleteGeometry": "Delete Geometry",
                 "GeometryNodeSeparateGeometry": "Separate Geometry", "GeometryNodeTransform": "Transform Geometry"},
    "Geometry > Read": {"GeometryNodeInputID": "ID", "GeometryNodeInputIndex": "Index",
                        "GeometryNodeInputNamedAttribute": "Named Attribute", "GeometryNodeInputNormal": "Normal",
                        "GeometryNodeInputPosition": "Position"},
    "Geometry > Write": {"GeometryNodeSetID": "Set ID", "GeometryNodeSetPosition": "Set Position"},
    "Curve > Operations": {"GeometryNodeCurveToMesh": "Curve to Mesh", "GeometryNodeCurveToPoints": "Curve to Points",
                           "GeometryNodeFillCurve": "Fill Curve", "GeometryNodeResampleCurve": "Resample Curve"},
    "Curve > Primitives": {"GeometryNodeCurveArc": "Arc",
                           "GeometryNodeCurvePrimitiveBezierSegment": "Bézier Segment",
                           "GeometryNodeCurvePrimitiveCircle": "Curve Circle",
                           "GeometryNodeCurvePrimitiveLine": "Curve Line",
                           "GeometryNodeCurveQuadraticBezier": "Quadratic Bézier"},
    "Curve > Write": {"GeometryNodeSetCurveRadius": "Set Curve Radius"},
    "Instances": {"GeometryNodeInstanceOnPoints": "Instance on Points",
                  "GeometryNodeRealizeInstances": "Realize Instances"},
    "Mesh > Operations": {"GeometryNodeDualMesh": "Dual Mesh", "GeometryNodeExtrudeMesh": "Extrude Mesh",
                          "GeometryNodeFlipFaces": "Flip Faces", "GeometryNodeMeshToPoints": "Mesh to Points",
                          "GeometryNodeScaleElements": "Scale Elements", "GeometryNodeSubdivideMesh": "Subdivide Mesh",
                          "GeometryNodeSubdivisionSurface": "Subdivision Surface", "GeometryNodeTriangulate": "Triangulate"},
    "Mesh > Primitives": {"GeometryNodeMeshCone": "Cone", "GeometryNodeMeshCube": "Cube",
                          "GeometryNodeMeshCylinder": "Cylinder", "GeometryNodeMeshGrid": "Grid",
                          "GeometryNodeMeshIcoSphere": "Ico Sphere", "GeometryNodeMeshCircle": "Mesh Circle",
                          "GeometryNodeMeshLine": "Mesh Line", "GeometryNodeMeshUVSphere": "UV Sphere"},
    "Mesh > Write": {"GeometryNodeSetShadeSmooth": "Set Shade Smooth"},
    "Point": {"GeometryNodePointsToVertices": "Points to Vertices"},
    "Material": {"GeometryNodeSetMaterial": "Set Material", "GeometryNodeSetMaterialIndex": "Set Material Index"},
    "Utilities": {"GeometryNodeMenuSwitch": "Menu Switch", "GeometryNodeSwitch": "Switch"},
    "Utilities > Math": {"FunctionNodeBooleanMath": "Boolean Math", "FunctionNodeCompare": "Compare",
                         "FunctionNodeFloatToInt": "Float to Integer",
                         "ShaderNodeMapRange": "Map Range", "ShaderNodeMath": "Math", "ShaderNodeMix": "Mix"},
    "Utilities > Vector": {"ShaderNodeCombineXYZ": "Combine XYZ", "ShaderNodeSeparateXYZ": "Separate XYZ",
                           "ShaderNodeVectorMath": "Vector Math"},
    "Group": {"GeometryNodeGroup": "Group", "NodeGroupInput": "Group Input", "NodeGroupOutput": "Group Output"},
    "Layout and output (dropped: no effect on the mesh)": {"NodeFrame": "Frame", "NodeReroute": "Reroute",
                                                           "GeometryNodeViewer": "Viewer"},
}
UI_NAMES = {t: name for group in MENU.values() for t, name in group.items()}
TABLE_START, TABLE_END = "<!-- node table: scripts/node_table.py -->", "<!-- end of node table -->"


def supported_types() -> frozenset:
    return COMPILED_NODE_TYPES | frozenset(GROUP_TYPES) | DROPPED_NODE_TYPES


def markdown_table() -> str:
    """The README's table: one row per menu group, its supported nodes by UI name with their
    bl_idname."""
    supported = supported_types()
    missing = supported - set(UI_NAMES)
    if missing:
        raise ValueError(f"node types without a UI name in geonodes/node_names.py: {sorted(missing)}")
    lines = [TABLE_START, "", f"{len(COMPILED_NODE_TYPES)} node types evaluated, plus groups and layout nodes:", "",
             "| Blender menu | nodes (UI name: `bl_idname`) |", "|---|---|"]
    for group, nodes in MENU.items():
        cells = ", ".join(f"{name}: `{t}`" for t, name in sorted(nodes.items(), key=lambda kv: kv[1])
                          if t in supported)
        if cells:
            lines.append(f"| {group} | {cells} |")
    return "\n".join(lines + ["", TABLE_END])


def table_in(text: str) -> str | None:
    """The node table in a README's text (markers included), or None."""
    a, b = text.find(TABLE_START), text.find(TABLE_END)
    return None if a < 0 or b < a else text[a:b + len(TABLE_END)]
