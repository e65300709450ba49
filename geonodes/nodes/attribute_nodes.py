"""Nodes that leave the mesh as it is (materials, shading, attributes, ids) and the Menu Switch.

Set Material, Set Material Index, Set Shade Smooth, Set ID, Store Named Attribute and Remove
Named Attribute change data the compiler does not model (materials, flags, attributes), never
vertex positions or faces: they pass their geometry through. Their other inputs are not
evaluated. Fields that read what they store (Named Attribute, Material Index, ID inputs) are
not supported yet, so nothing downstream can observe the difference.
"""
from __future__ import annotations

from ..errors import IRError
from ..node_types import OPAQUE_TYPES
from . import S, node
from .math_nodes import SWITCH_DEFAULTS, SWITCH_TYPES

_SELECTION = S("Selection", "BOOLEAN", True)
# Store Named Attribute: data_type -> type of its Value socket
_ATTRIBUTE_TYPES = {"FLOAT": "FLOAT", "INT": "INT", "INT8": "INT", "BOOLEAN": "BOOLEAN", "FLOAT_VECTOR": "VECTOR",
                    "FLOAT2": "VECTOR", "QUATERNION": "ROTATION", "FLOAT_COLOR": "RGBA", "BYTE_COLOR": "RGBA"}
_DOMAINS = ("POINT", "EDGE", "FACE", "CORNER", "CURVE", "INSTANCE", "LAYER")


def _pass_geometry(n):
    return {"Geometry": n.get("Geometry")}


def _passing(type_: str, *inputs, properties=None, choices=None):
    node(type_, inputs=[S("Geometry", "GEOMETRY"), *inputs], outputs=[S("Geometry", "GEOMETRY")],
         properties=properties, choices=choices)(_pass_geometry)


_passing("GeometryNodeSetMaterial", _SELECTION, S("Material", "MATERIAL"))
_passing("GeometryNodeSetMaterialIndex", _SELECTION, S("Material Index", "INT", 0))
_passing("GeometryNodeSetShadeSmooth", _SELECTION, S("Shade Smooth", "BOOLEAN", True),
         properties={"domain": "FACE"}, choices={"domain": ("EDGE", "FACE")})
_passing("GeometryNodeSetID", _SELECTION, S("ID", "INT", 0))
_passing("GeometryNodeRemoveAttribute", S("Name", "STRING", ""),
         properties={"pattern_mode": "EXACT"}, choices={"pattern_mode": ("EXACT", "WILDCARD")})


def _store_sockets(props):
    value = _ATTRIBUTE_TYPES[props["data_type"]]
    return ([S("Geometry", "GEOMETRY"), _SELECTION, S("Name", "STRING", ""),
             S("Value", value, SWITCH_DEFAULTS.get(value))], [S("Geometry", "GEOMETRY")])


@node("GeometryNodeStoreNamedAttribute", sockets=_store_sockets,
      properties={"data_type": "FLOAT", "domain": "POINT"},
      choices={"data_type": tuple(_ATTRIBUTE_TYPES), "domain": _DOMAINS})
def store_named_attribute(n):
    name = n.get("Name").value
    if name == "position":  # the one attribute that is the mesh itself
        raise IRError(f"{n.where}: storing the 'position' attribute moves vertices; not supported")
    return {"Geometry": n.get("Geometry")}


MENU_SWITCH_TYPES = SWITCH_TYPES + OPAQUE_TYPES


def _menu_switch_sockets(props):
    t = props["data_type"]
    items = range(len(props["items"]))
    return ([S(f"Item_{i}", t, SWITCH_DEFAULTS.get(t)) for i in items],
            [S("Output", t)] + [S(f"Item_{i}", "BOOLEAN") for i in items])  # 5.0: "is this item chosen"


@node("GeometryNodeMenuSwitch", sockets=_menu_switch_sockets,
      properties={"data_type": "GEOMETRY", "menu": "A", "items": ["A", "B"]},
      choices={"data_type": MENU_SWITCH_TYPES})
def menu_switch(n):
    """The input of the item the (unlinked) menu names; `menu` and `items` are item names."""
    items, menu = list(n.props["items"]), n.props["menu"]
    out = {f"Item_{i}": n.constant(name == menu, "BOOLEAN") for i, name in enumerate(items)}
    if menu not in items:
        raise IRError(f"{n.where}: menu item '{menu}' is not one of the node's items {items}")
    out["Output"] = n.get(f"Item_{items.index(menu)}")
    return out

