"""Nodes about attributes and ids (Store Named Attribute, Set ID, Capture Attribute), nodes that
leave the mesh as it is, and the Menu Switch.

Set Material, Set Material Index, Set Shade Smooth and Remove Named Attribute change data the
compiler does not model (materials, flags), never vertex positions or faces: they pass their
geometry through. Store Named Attribute and Set ID store their values (on a dense mesh, see
geometry.dense) only in programs that read them back (a Named Attribute or ID input);
elsewhere nothing can observe them and the geometry passes through symbolic. Storing the
`position` attribute moves the mesh's points, as Set Position does.
"""
from __future__ import annotations

import torch

from ..errors import IRError
from ..fields import Field, is_field
from ..geometry import dense_struct, with_data
from ..node_types import OPAQUE_TYPES
from . import S, node
from .field_nodes import ATTRIBUTE_TYPES, each_mesh, mesh_context, move_points
from .math_nodes import SWITCH_DEFAULTS, SWITCH_TYPES

_SELECTION = S("Selection", "BOOLEAN", True)
_ATTRIBUTE_TYPES = ATTRIBUTE_TYPES
_STORABLE = ("POINT", "EDGE", "FACE", "CORNER")  # domains attributes are kept on
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


@node("GeometryNodeSetID", inputs=[S("Geometry", "GEOMETRY"), _SELECTION, S("ID", "INT", 0)],
      outputs=[S("Geometry", "GEOMETRY")])
def set_id(n):
    geometry = n.get("Geometry")
    if not n.program_uses("GeometryNodeInputID"):
        return {"Geometry": geometry}
    return {"Geometry": store(n, geometry, "id", "POINT", n.get("ID"), n.get("Selection"))}


def store(n, geometry, name: str, domain: str, value, selection):
    """Geometry with attribute `name` set to `value` (a field or single value) on `domain` where
    `selection` holds (elsewhere it keeps its values, or zeros when it had none there)."""
    if domain not in _STORABLE:
        raise IRError(f"{n.where}: attributes on the {domain} domain are not supported")

    def write(prim, rows, struct):
        ctx = mesh_context(prim, rows, domain)
        new = ctx.grid(value)
        full_shape = (prim.dense.shape[0], ctx.n) + tuple(new.shape[2:])
        had = prim.attributes.get(name)
        if had is not None and had[0] == domain and had[1].dtype == new.dtype and had[1].shape == full_shape:
            full = had[1]
        else:  # a new attribute (or one of another domain or type, which Blender replaces)
            full = new.new_zeros(full_shape)
        old = full.index_select(0, rows)
        sel = ctx.grid(selection)
        new = torch.where(sel.view(sel.shape + (1,) * (new.dim() - 2)), new, old)
        full = new if rows.shape[0] == full.shape[0] else full.index_copy(0, rows, new)
        attributes = dict(prim.attributes)
        attributes[name] = (domain, full)
        return dense_struct(with_data(prim, attributes=attributes), struct)

    return each_mesh(n, geometry, write, points=domain == "POINT")
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
    geometry = n.get("Geometry")
    if name == "position":  # the one attribute that is the mesh itself: its points move there
        if n.props["domain"] != "POINT":
            raise IRError(f"{n.where}: storing 'position' is supported on the POINT domain only")
        if n.props["data_type"] != "FLOAT_VECTOR":  # Blender keeps the built-in vector attribute as it is
            return {"Geometry": geometry}
        value = n.get("Value")
        return {"Geometry": each_mesh(n, geometry, lambda prim, rows, struct: move_points(
            prim, rows, struct, n.get("Selection"), value, n.constant((0.0, 0.0, 0.0), "VECTOR")), points=True)}
    if not n.program_uses("GeometryNodeInputNamedAttribute") or not name:
        return {"Geometry": geometry}
    if n.props["data_type"] not in ("FLOAT", "INT", "BOOLEAN", "FLOAT_VECTOR"):
        raise IRError(f"{n.where}: reading back a {n.props['data_type']} attribute is not supported")
    return {"Geometry": store(n, geometry, name, n.props["domain"], n.get("Value"), n.get("Selection"))}


# Capture Attribute (Blender 4.2+: a list of items): item data_type -> socket type
_CAPTURE_TYPES = {"FLOAT": "FLOAT", "INT": "INT", "BOOLEAN": "BOOLEAN", "FLOAT_VECTOR": "VECTOR"}


def capture_ids(i: int) -> tuple:
    """(input, output) socket identifiers of a Capture Attribute's i-th item (as Blender names
    the items of a new node)."""
    return ("Value", "Attribute") if i == 0 else (f"Value_{i}", f"Attribute_{i}")


def _capture_sockets(props):
    ins, outs = [S("Geometry", "GEOMETRY")], [S("Geometry", "GEOMETRY")]
    for i, (_, data_type) in enumerate(props["capture_items"]):
        if data_type not in _CAPTURE_TYPES:
            raise IRError(f"capturing a {data_type} is not supported (supported: {', '.join(_CAPTURE_TYPES)})")
        t = _CAPTURE_TYPES[data_type]
        a, b = capture_ids(i)
        ins.append(S(a, t, SWITCH_DEFAULTS[t]))
        outs.append(S(b, t))
    return ins, outs


@node("GeometryNodeCaptureAttribute", sockets=_capture_sockets,
      properties={"domain": "POINT", "capture_items": [["Value", "FLOAT"]]}, choices={"domain": _DOMAINS})
def capture_attribute(n):
    """Each item's field evaluated on the geometry (on `domain`) and kept with it: the output
    field reads those values back, wherever the geometry goes (zeros on geometry without them).
    Single values are passed through as they are."""
    geometry = n.get("Geometry")
    out = {}
    for i in range(len(n.props["capture_items"])):
        a, b = capture_ids(i)
        value = n.get(a)
        if not is_field(value):
            out[b] = value
            continue
        key = f"<capture {'/'.join(n.key)} {i}>"  # an anonymous attribute: no name can clash
        geometry = store(n, geometry, key, n.props["domain"], value, n.constant(True, "BOOLEAN"))
        t = _CAPTURE_TYPES[n.props["capture_items"][i][1]]
        out[b] = Field(lambda ctx, key=key, t=t: _read(ctx, key, t, n.dtype))
    out["Geometry"] = geometry
    return out


def _read(ctx, key: str, type_: str, dtype):
    stored = ctx.mesh.attributes.get(key)
    if stored is None:  # geometry that was not captured: zeros
        count = ctx.b * ctx.n
        device = ctx.rows.device
        if type_ == "VECTOR":
            return torch.zeros(count, 3, dtype=dtype, device=device)
        return torch.zeros(count, dtype={"FLOAT": dtype, "INT": torch.int64, "BOOLEAN": torch.bool}[type_],
                           device=device)
    return ctx.from_domain(stored[1], stored[0])


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

