"""Names of what the compiler supports, importable without torch: the Blender importer and
`geonodes info FILE.blend` check a file against them before anything is evaluated.

tests/test_nodes.py checks that `COMPILED_NODE_TYPES` is exactly the node registry
(`geonodes.nodes.REGISTRY`).
"""
from __future__ import annotations

SCALAR_TYPES = ("FLOAT", "INT", "BOOLEAN", "VECTOR", "ROTATION")
# Socket types whose values the compiler never computes with: kept as constants (a material,
# an attribute name, a colour) and passed to nodes that ignore them.
OPAQUE_TYPES = ("MATERIAL", "OBJECT", "COLLECTION", "STRING", "IMAGE", "TEXTURE", "RGBA")
ALL_TYPES = SCALAR_TYPES + ("GEOMETRY",) + OPAQUE_TYPES

# Node types the evaluator handles itself (they are about groups, not values).
GROUP_TYPES = ("GeometryNodeGroup", "NodeGroupInput", "NodeGroupOutput")
# Node types with an evaluation function in geonodes.nodes.
COMPILED_NODE_TYPES = frozenset({
    "FunctionNodeBooleanMath", "FunctionNodeCompare", "FunctionNodeFloatToInt", "FunctionNodeInputBool", "FunctionNodeInputInt", "FunctionNodeInputVector",
    "GeometryNodeBoundBox", "GeometryNodeCaptureAttribute", "GeometryNodeDeleteGeometry", "GeometryNodeInputID", "GeometryNodeInputIndex", "GeometryNodeInputNamedAttribute",
    "GeometryNodeInputNormal", "GeometryNodeInputPosition", "GeometryNodeInstanceOnPoints", "GeometryNodeJoinGeometry",
    "GeometryNodeMeshCircle", "GeometryNodeMeshCone", "GeometryNodeMeshCube", "GeometryNodeMeshCylinder",
    "GeometryNodeMeshGrid", "GeometryNodeMeshIcoSphere", "GeometryNodeMeshLine", "GeometryNodeMeshUVSphere",
    "GeometryNodeMenuSwitch", "GeometryNodeRealizeInstances", "GeometryNodeRemoveAttribute", "GeometryNodeSeparateGeometry",
    "GeometryNodeSetID", "GeometryNodeSetMaterial", "GeometryNodeSetMaterialIndex",
    "GeometryNodeSetPosition", "GeometryNodeSetShadeSmooth", "GeometryNodeStoreNamedAttribute",
    "GeometryNodeSwitch", "GeometryNodeTransform", "ShaderNodeCombineXYZ", "ShaderNodeMapRange", "ShaderNodeMath", "ShaderNodeMix",
    "ShaderNodeSeparateXYZ", "ShaderNodeValue", "ShaderNodeVectorMath",
    # curves
    "GeometryNodeCurveArc", "GeometryNodeCurvePrimitiveBezierSegment", "GeometryNodeCurvePrimitiveCircle",
    "GeometryNodeCurvePrimitiveLine", "GeometryNodeCurveQuadraticBezier", "GeometryNodeCurveToMesh",
    "GeometryNodeCurveToPoints", "GeometryNodeFillCurve",
    "GeometryNodeResampleCurve", "GeometryNodeSetCurveRadius",
})
# Mesh operations (geonodes/nodes/mesh_ops.py and the modules it names).
COMPILED_NODE_TYPES |= frozenset({
    "GeometryNodeDualMesh", "GeometryNodeExtrudeMesh", "GeometryNodeFlipFaces", "GeometryNodeMergeByDistance", "GeometryNodeMeshToPoints", "GeometryNodePointsToVertices",
    "GeometryNodeScaleElements", "GeometryNodeSubdivideMesh", "GeometryNodeSubdivisionSurface", "GeometryNodeTriangulate",
})
# Node types whose outputs can be fields: a program without any has single values only.
FIELD_SOURCE_TYPES = ("GeometryNodeInputPosition", "GeometryNodeInputIndex", "GeometryNodeInputNormal",
                      "GeometryNodeInputID", "GeometryNodeInputNamedAttribute", "GeometryNodeCaptureAttribute",
                      "GeometryNodeExtrudeMesh", "GeometryNodeCurveToPoints")
# Node types the importer drops: they do not change the program's output (a Viewer only shows
# a value in Blender's editor; reroutes become direct links).
DROPPED_NODE_TYPES = frozenset({"NodeFrame", "NodeReroute", "GeometryNodeViewer"})


def is_supported(node_type: str) -> bool:
    return node_type in COMPILED_NODE_TYPES or node_type in GROUP_TYPES or node_type in DROPPED_NODE_TYPES
