"""IR -> Blender: the IR's node groups built on a new mesh object's Geometry Nodes modifier,
saved as a .blend."""
from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from ..errors import IRError
from .common import (_IR_TO_INTERFACE, CAPTURE, IR_FORMAT, IR_META_PROPERTY, MENU_SWITCH, OPAQUE_TYPES, _bpy, menu_property,
                     menu_value)

# Opaque socket type -> the bpy.data collection its values (data-block names) live in
_ID_COLLECTIONS = {"MATERIAL": "materials", "OBJECT": "objects", "COLLECTION": "collections",
                   "IMAGE": "images", "TEXTURE": "textures"}


def build_blender_tree(ir: dict, reset: bool = True):
    """Create the IR's node groups on a new mesh object with a Geometry Nodes modifier.

    Returns (object, modifier, identifiers) where identifiers maps each group name to
    {IR interface identifier: Blender's identifier} (Blender names new sockets itself).
    `reset` starts from an empty file first (drops everything in the current session).
    """
    bpy = _bpy()
    _check_ir_shape(ir)
    if reset:
        bpy.ops.wm.read_factory_settings(use_empty=True)
    groups = {}
    identifiers = {}
    # Create every group (with its interface) before any node, so group nodes can point at them.
    soft = {p["socket"]: p["limits"]["soft"] for p in ir.get("parameters", []) if "limits" in p}
    for g in ir["groups"]:
        tree = bpy.data.node_groups.new(g["name"], "GeometryNodeTree")
        if tree.name != g["name"]:
            raise IRError(f"group '{g['name']}': name clashes with an existing Blender group")
        groups[g["name"]] = tree
        identifiers[g["name"]] = _build_interface(tree, g, soft if g["name"] == ir["main_group"] else {})
    for g in ir["groups"]:
        _build_group(groups[g["name"]], g, groups, identifiers)

    source = ir.get("source", {})
    mesh = bpy.data.meshes.new(source.get("object", "Object"))
    obj = bpy.data.objects.new(source.get("object", "Object"), mesh)
    bpy.context.scene.collection.objects.link(obj)
    mod = obj.modifiers.new(source.get("modifier", "GeometryNodes"), "NODES")
    mod.node_group = groups[ir["main_group"]]
    main_ids = identifiers[ir["main_group"]]
    for p in ir.get("parameters", []):
        _set_modifier_input(mod, main_ids[p["socket"]], p["kind"], p["default"])
    meta = {"name": ir.get("name"),
            "parameters": [{k: p.get(k) for k in ("name", "min", "max", "category", "sample",
                                                  "active_if")}
                           for p in ir.get("parameters", [])]}
    obj[IR_META_PROPERTY] = json.dumps(meta)
    return obj, mod, identifiers


def _check_ir_shape(ir):
    if not isinstance(ir, dict) or ir.get("format") != IR_FORMAT:
        raise IRError(f"not a {IR_FORMAT} document (field 'format')")
    names = [g.get("name") for g in ir.get("groups", [])]
    if ir.get("main_group") not in names:
        raise IRError(f"main_group '{ir.get('main_group')}' is not among the groups")


def _build_interface(tree, g, soft_limits):
    ids = {}
    for direction, items in (("OUTPUT", g.get("outputs", [])), ("INPUT", g.get("inputs", []))):
        for item in items:
            stype = _IR_TO_INTERFACE.get(item["type"])
            if stype is None:
                raise IRError(f"group '{g['name']}' interface socket '{item['name']}': "
                              f"unsupported type {item['type']}")
            sock = tree.interface.new_socket(item["name"], in_out=direction, socket_type=stype)
            if item["identifier"] in soft_limits:
                sock.min_value, sock.max_value = soft_limits[item["identifier"]]
            if direction == "INPUT" and "default" in item and item["type"] != "GEOMETRY":
                sock.default_value = _blender_value(item["default"], item["type"])
            ids[item["identifier"]] = sock.identifier
    return ids


def _blender_value(value, ir_type):
    """An IR value as Blender takes it: opaque data-blocks by name (a material the file lacks
    is made, empty; other missing data-blocks stay unset)."""
    if ir_type not in _ID_COLLECTIONS or value is None:
        return value
    collection = getattr(_bpy().data, _ID_COLLECTIONS[ir_type])
    found = collection.get(value)
    if found is None and ir_type == "MATERIAL":
        found = collection.new(value)
    return found


def _find_socket(sockets, identifier, where):
    for s in sockets:
        if s.identifier == identifier and s.enabled:
            return s
    for s in sockets:
        if s.identifier == identifier:
            return s
    raise IRError(f"{where}: no socket '{identifier}'")


def _build_group(tree, g, groups, identifiers):
    gwhere = f"group '{g['name']}'"
    made = {}
    for n in g["nodes"]:
        where = f"{gwhere} node '{n['name']}'"
        try:
            node = tree.nodes.new(n["type"])
        except RuntimeError as exc:
            raise IRError(f"{where}: Blender has no node type '{n['type']}'") from exc
        node.name = n["name"]
        if n["type"] == "GeometryNodeGroup":
            if n.get("group") not in groups:
                raise IRError(f"{where}: calls unknown group '{n.get('group')}'")
            node.node_tree = groups[n["group"]]
        props = dict(n.get("properties", {}))
        if n["type"] == MENU_SWITCH:
            _build_menu_switch(node, props.pop("items", ["A", "B"]), props.pop("menu", None), where)
        if n["type"] == CAPTURE:
            node.capture_items.clear()
            for name, data_type in props.pop("capture_items", [["Value", "FLOAT"]]):
                item = node.capture_items.new({"FLOAT_VECTOR": "VECTOR"}.get(data_type, "FLOAT"), name)
                item.data_type = data_type  # new() takes a socket type, the item keeps an attribute type
        for pid, val in props.items():
            _set_property(node, pid, val, where)
        made[n["name"]] = node

    def socket_id(node_name, ident, is_output):
        node = made[node_name]
        if node.bl_idname == "NodeGroupInput" and is_output:
            return identifiers[g["name"]].get(ident, ident)
        if node.bl_idname == "NodeGroupOutput" and not is_output:
            return identifiers[g["name"]].get(ident, ident)
        if node.bl_idname == "GeometryNodeGroup":
            return identifiers[node.node_tree.name].get(ident, ident)
        if node.bl_idname == MENU_SWITCH and ident.startswith("Item_"):  # IR: items by position
            items = [s for s in node.inputs if s.identifier.startswith("Item_")]
            return items[int(ident[5:])].identifier
        return ident

    for n in g["nodes"]:
        node, where = made[n["name"]], f"{gwhere} node '{n['name']}'"
        for ident, val in n.get("inputs", {}).items():
            sock = _find_socket(node.inputs, socket_id(n["name"], ident, False), where)
            try:
                sock.default_value = _blender_value(val, _socket_ir_type(sock))
            except (AttributeError, TypeError, ValueError) as exc:
                raise IRError(f"{where} socket '{ident}': cannot set value {val!r} ({exc})") from exc

    # Links: a multi-input socket lists its newest link first, so create them last-order first.
    indexed = list(enumerate(g.get("links", [])))
    indexed.sort(key=lambda t: (-t[1].get("order", 0), t[0]))
    for _, link in indexed:
        (fn, fs), (tn, ts) = link["from"], link["to"]
        for nn in (fn, tn):
            if nn not in made:
                raise IRError(f"{gwhere}: link refers to unknown node '{nn}'")
        out = _find_socket(made[fn].outputs, socket_id(fn, fs, True), f"{gwhere} node '{fn}'")
        inp = _find_socket(made[tn].inputs, socket_id(tn, ts, False), f"{gwhere} node '{tn}'")
        tree.links.new(out, inp)


def _socket_ir_type(sock):
    return sock.type if sock.type in OPAQUE_TYPES else None


def _build_menu_switch(node, items, menu, where):
    while len(node.enum_items) > len(items):
        node.enum_items.remove(node.enum_items[-1])
    while len(node.enum_items) < len(items):
        node.enum_items.new(f"Item {len(node.enum_items)}")
    for item, name in zip(node.enum_items, items):
        item.name = name
    if menu is not None:
        try:
            node.inputs["Menu"].default_value = menu
        except TypeError as exc:
            raise IRError(f"{where}: menu item '{menu}' is not one of {items}") from exc


def _menu_items(sock) -> list:
    """A menu socket's item names. bpy lists the items of a built-in node's menu only in the
    error for a value that is not one (measured with bpy 5.0.1)."""
    try:
        sock.default_value = "\x01"
    except TypeError as exc:
        found = re.search(r"not found in \((.*)\)", str(exc))
        if found:
            return re.findall(r"'((?:[^'\\]|\\.)*)'", found.group(1))
    return []


def _set_property(node, pid, val, where):
    if node.bl_idname == "ShaderNodeValue" and pid == "value":  # the Value node keeps it on its output
        node.outputs[0].default_value = float(val)
        return
    if not hasattr(node, pid):  # a Blender where this option is a menu socket (5.0)
        for sock in node.inputs:
            if sock.type == "MENU" and menu_property(node.bl_idname, sock.identifier) == pid:
                names = [n for n in _menu_items(sock) if menu_value(node.bl_idname, sock.identifier, n) == val]
                if not names:
                    raise IRError(f"{where}: menu '{sock.identifier}' has no item for {pid} = {val!r}")
                sock.default_value = names[0]
                return
    if not hasattr(node, pid):
        raise IRError(f"{where}: Blender's {node.bl_idname} has no property '{pid}'")
    try:
        setattr(node, pid, set(val) if isinstance(val, list) and
                isinstance(getattr(node, pid), set) else val)
    except (TypeError, ValueError) as exc:
        raise IRError(f"{where}: cannot set property '{pid}' to {val!r} ({exc})") from exc


def _set_modifier_input(mod, ident, kind, value):
    mod[ident] = {"float": float, "int": int, "bool": bool}[kind](value)


def export_blend(ir: dict, out_path) -> Path:
    """Write the IR as a .blend (a mesh object with the program as Geometry Nodes modifier)."""
    bpy = _bpy()
    out_path = Path(out_path)
    build_blender_tree(ir)
    fd, tmp = tempfile.mkstemp(suffix=".blend", dir=out_path.parent or ".")
    os.close(fd)
    os.unlink(tmp)  # Blender writes the file itself; a pre-existing one would get a .blend1
    try:
        bpy.ops.wm.save_as_mainfile(filepath=tmp, check_existing=False, compress=True)
        os.replace(tmp, out_path)
    finally:
        for leftover in (tmp, tmp + "1"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return out_path
