"""What the Blender modules share: IR and Blender socket type names, node properties that are
ignored or are menu sockets in 5.0, the lazy `bpy` import, and atomic JSON writing."""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import IRError


IR_FORMAT = "geonodes-ir"
IR_VERSION = 1
# Custom property on an exported object carrying what a .blend cannot hold natively
# (parameter ranges, `active_if`, categories, the program name), so export -> import round-trips.
IR_META_PROPERTY = "geonodes_ir_meta"

# socket.type (node sockets) -> IR socket type
_NODE_SOCKET_TYPES = {"VALUE": "FLOAT", "INT": "INT", "BOOLEAN": "BOOLEAN", "VECTOR": "VECTOR",
                      "ROTATION": "ROTATION", "GEOMETRY": "GEOMETRY"}
# interface socket_type prefix -> IR socket type (subtypes like NodeSocketFloatDistance included)
_INTERFACE_TYPES = (("NodeSocketFloat", "FLOAT"), ("NodeSocketInt", "INT"),
                    ("NodeSocketBool", "BOOLEAN"), ("NodeSocketVector", "VECTOR"),
                    ("NodeSocketRotation", "ROTATION"), ("NodeSocketGeometry", "GEOMETRY"))
_IR_TO_INTERFACE = {ir: bl for bl, ir in _INTERFACE_TYPES}
_PARAM_KIND = {"FLOAT": "float", "INT": "int", "BOOLEAN": "bool"}
# Node properties that do not change what a node computes.
_IGNORED_PROPERTIES = {"is_active_output", "color_tag", "warning_propagation", "location_absolute"}
# 5.0 menu input sockets that older Blender had as node properties: (node type, socket) -> property
_MENU_PROPERTIES = {
    ("GeometryNodeTransform", "Mode"): ("mode", {"Components": "COMPONENTS", "Matrix": "MATRIX"}),
}
_DROPPED_NODES = {"NodeFrame", "NodeReroute"}
# Above this magnitude an interface soft limit means "unbounded" (Blender uses +-FLT_MAX, +-2^31).
_UNBOUNDED = 1e9


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
