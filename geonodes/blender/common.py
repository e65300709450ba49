"""What the Blender modules share: IR and Blender socket type names, node properties that are
ignored or are menu sockets in 5.0, the lazy `bpy` import, and atomic JSON writing."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from ..errors import IRError
from ..node_types import DROPPED_NODE_TYPES, OPAQUE_TYPES  # noqa: F401  (used by the importer)


IR_FORMAT = "geonodes-ir"
IR_VERSION = 1
# Custom property on an exported object carrying what a .blend cannot hold natively
# (parameter ranges, `active_if`, categories, the program name), so export -> import round-trips.
IR_META_PROPERTY = "geonodes_ir_meta"

# socket.type (node sockets) -> IR socket type; the opaque ones keep their Blender name
_NODE_SOCKET_TYPES = {"VALUE": "FLOAT", "INT": "INT", "BOOLEAN": "BOOLEAN", "VECTOR": "VECTOR",
                      "ROTATION": "ROTATION", "GEOMETRY": "GEOMETRY", **{t: t for t in OPAQUE_TYPES}}
# interface socket_type prefix -> IR socket type (subtypes like NodeSocketFloatDistance included)
_INTERFACE_TYPES = (("NodeSocketFloat", "FLOAT"), ("NodeSocketInt", "INT"),
                    ("NodeSocketBool", "BOOLEAN"), ("NodeSocketVector", "VECTOR"),
                    ("NodeSocketRotation", "ROTATION"), ("NodeSocketGeometry", "GEOMETRY"),
                    ("NodeSocketMaterial", "MATERIAL"), ("NodeSocketObject", "OBJECT"),
                    ("NodeSocketCollection", "COLLECTION"), ("NodeSocketString", "STRING"),
                    ("NodeSocketImage", "IMAGE"), ("NodeSocketTexture", "TEXTURE"),
                    ("NodeSocketColor", "RGBA"))
_IR_TO_INTERFACE = {ir: bl for bl, ir in _INTERFACE_TYPES}
_PARAM_KIND = {"FLOAT": "float", "INT": "int", "BOOLEAN": "bool"}
# Node properties that do not change what a node computes (editor state).
_IGNORED_PROPERTIES = {"is_active_output", "color_tag", "warning_propagation", "location_absolute",
                       "active_index", "ui_shortcut"}
# Menu input sockets (Blender 4.1+/5.0 node options exposed as inputs) are read as the node
# property they replace: property = the socket identifier in snake case, value = the item name
# in upper snake case ("Mode" = "Components" -> mode = "COMPONENTS"). These are the exceptions,
# where Blender 4.2's property had other names (measured with bpy 4.2.23 and 5.0.1):
# (node type, socket) -> (property, {item name: value}).
_SUBDIV_CORNERS = "PRESERVE_CORNERS"
_VOXELS = {"Amount": "VOXEL_AMOUNT", "Size": "VOXEL_SIZE"}
_MENU_PROPERTIES = {
    ("GeometryNodeDistributePointsInVolume", "Mode"): ("mode", {"Random": "DENSITY_RANDOM",
                                                                 "Grid": "DENSITY_GRID"}),
    ("GeometryNodeFillCurve", "Mode"): ("mode", {"Triangles": "TRIANGLES", "N-gons": "NGONS"}),
    ("GeometryNodeMeshToVolume", "Resolution Mode"): ("resolution_mode", _VOXELS),
    ("GeometryNodePointsToVolume", "Resolution Mode"): ("resolution_mode", _VOXELS),
    ("GeometryNodeVolumeToMesh", "Resolution Mode"): ("resolution_mode", {"Grid": "GRID", **_VOXELS}),
    ("GeometryNodeSubdivisionSurface", "UV Smooth"): ("uv_smooth", {
        "None": "NONE", "Keep Corners": _SUBDIV_CORNERS,
        "Keep Corners, Junctions": "PRESERVE_CORNERS_AND_JUNCTIONS",
        "Keep Corners, Junctions, Concave": "PRESERVE_CORNERS_JUNCTIONS_AND_CONCAVE",
        "Keep Boundaries": "PRESERVE_BOUNDARIES", "All": "SMOOTH_ALL"}),
    ("GeometryNodeSubdivisionSurface", "Boundary Smooth"): ("boundary_smooth", {
        "Keep Corners": _SUBDIV_CORNERS, "All": "ALL"}),
    ("GeometryNodeTriangulate", "N-gon Method"): ("ngon_method", {"Beauty": "BEAUTY", "Clip": "CLIP"}),
}
# The Menu Switch's menu selects one of its own (user-named) items: read as properties `menu`
# (the selected item's name) and `items` (the names in order), names kept as they are.
MENU_SWITCH = "GeometryNodeMenuSwitch"
CAPTURE = "GeometryNodeCaptureAttribute"


def _upper_snake(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9]+", "_", ascii_name.upper()).strip("_")


def menu_property(node_type: str, socket_id: str) -> str:
    """The node property a menu socket stands for."""
    known = _MENU_PROPERTIES.get((node_type, socket_id))
    return known[0] if known else _upper_snake(socket_id).lower()


def menu_value(node_type: str, socket_id: str, item: str):
    """The property value of menu item `item` (None if the exception table does not know it)."""
    known = _MENU_PROPERTIES.get((node_type, socket_id))
    return known[1].get(item) if known else _upper_snake(item)


def _bpy():
    try:
        import bpy  # noqa: PLC0415 - optional, heavy dependency
    except ImportError as exc:
        raise IRError("bpy is not installed: pip install 'procsplat[blender]' "
                      "to import, export or evaluate .blend programs") from exc
    return bpy


def write_json_atomic(doc: dict, out_path) -> None:
    from geonodes.meshio import atomic_write

    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    atomic_write(Path(out_path), write)
