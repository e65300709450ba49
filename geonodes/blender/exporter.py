"""IR -> Blender: the IR's node groups built on a new mesh object's Geometry Nodes modifier,
saved as a .blend."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..errors import IRError
from .common import _IR_TO_INTERFACE, _MENU_PROPERTIES, IR_FORMAT, IR_META_PROPERTY, _bpy


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
    for g in ir["groups"]:
        tree = bpy.data.node_groups.new(g["name"], "GeometryNodeTree")
        if tree.name != g["name"]:
            raise IRError(f"group '{g['name']}': name clashes with an existing Blender group")
        groups[g["name"]] = tree
        identifiers[g["name"]] = _build_interface(tree, g)
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


def _build_interface(tree, g):
    ids = {}
    for direction, items in (("OUTPUT", g.get("outputs", [])), ("INPUT", g.get("inputs", []))):
        for item in items:
            stype = _IR_TO_INTERFACE.get(item["type"])
            if stype is None:
                raise IRError(f"group '{g['name']}' interface socket '{item['name']}': "
                              f"unsupported type {item['type']}")
            sock = tree.interface.new_socket(item["name"], in_out=direction, socket_type=stype)
            if direction == "INPUT" and "default" in item and item["type"] != "GEOMETRY":
                sock.default_value = item["default"]
            ids[item["identifier"]] = sock.identifier
    return ids


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
        for pid, val in n.get("properties", {}).items():
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
        return ident

    for n in g["nodes"]:
        node, where = made[n["name"]], f"{gwhere} node '{n['name']}'"
        for ident, val in n.get("inputs", {}).items():
            sock = _find_socket(node.inputs, socket_id(n["name"], ident, False), where)
            try:
                sock.default_value = val
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


def _set_property(node, pid, val, where):
    for (ntype, sock_id), (prop, items) in _MENU_PROPERTIES.items():
        if node.bl_idname == ntype and prop == pid and not hasattr(node, pid):
            inverse = {v: k for k, v in items.items()}
            _find_socket(node.inputs, sock_id, where).default_value = inverse[val]
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
