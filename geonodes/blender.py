"""Everything that talks to Blender: .blend -> IR import, IR -> .blend export, Blender as oracle.

bpy is imported lazily inside the functions that need it (it is an optional extra, heavy, and
not thread-safe: keep every call on one thread). Nothing here runs at program run time.

Facts about Blender this module relies on (measured with bpy 4.2.23 and 5.0.1):
- Multi-input sockets (Join Geometry) evaluate their links in *descending*
  `link.multi_input_sort_id` (the same order as `socket.links`): the link with the highest id
  comes first in the joined geometry. A newly created link gets the highest id so far, so the
  exporter creates the links of a multi-input socket from the last `order` to the first.
- In 5.0 Transform Geometry's mode is a MENU input socket ("Components"/"Matrix") and its
  Transform (matrix) socket stays `enabled` in COMPONENTS mode; the IR keeps `mode` as a property.
- After changing a modifier input, `obj.update_tag()` is needed or the evaluated mesh is stale.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from geonodes.errors import IRError

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


# ------------------------------------------------------------------------------------------
# .blend -> IR
# ------------------------------------------------------------------------------------------

def import_blend(blend_path, spec_path=None, object_name: str | None = None) -> dict:
    """Read the Geometry Nodes program on `object_name` (or the only object with one) as IR."""
    blend_path = Path(blend_path)
    if not blend_path.is_file():
        raise IRError(f"{blend_path}: no such .blend file")
    spec = _read_spec(Path(spec_path)) if spec_path is not None else None
    bpy = _bpy()
    _open_blend(bpy, blend_path)
    obj, mod = _find_gn_modifier(bpy, blend_path, object_name)
    where = f"{blend_path.name}"
    groups = _reachable_groups(mod.node_group, where)
    ir_groups = [_group_ir(g, f"{where}: group '{g.name}'") for g in groups]
    meta = _stored_meta(obj)
    name = meta.get("name", blend_path.stem)
    parameters = _parameters(ir_groups[0], mod, spec, spec_path, meta, where)
    return {
        "format": IR_FORMAT,
        "version": IR_VERSION,
        "name": name,
        "source": {"blend": blend_path.name, "object": obj.name, "modifier": mod.name,
                   "blender": ".".join(str(v) for v in bpy.app.version)},
        "main_group": groups[0].name,
        "groups": ir_groups,
        "parameters": parameters,
    }


def _open_blend(bpy, path: Path) -> None:
    try:
        bpy.ops.wm.open_mainfile(filepath=str(path.resolve()), load_ui=False)
    except RuntimeError as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
        raise IRError(f"{path}: cannot open as a .blend file ({msg})") from exc


def _find_gn_modifier(bpy, path: Path, object_name):
    def gn_modifiers(obj):
        return [m for m in obj.modifiers if m.type == "NODES"]

    if object_name is not None:
        obj = bpy.data.objects.get(object_name)
        if obj is None:
            names = ", ".join(sorted(o.name for o in bpy.data.objects)) or "none"
            raise IRError(f"{path}: no object named '{object_name}' (objects: {names})")
        candidates = [obj]
    else:
        candidates = [o for o in bpy.data.objects if gn_modifiers(o)]
        if not candidates:
            raise IRError(f"{path}: no object has a Geometry Nodes modifier")
        if len(candidates) > 1:
            names = ", ".join(o.name for o in candidates)
            raise IRError(f"{path}: several objects have a Geometry Nodes modifier ({names}); "
                          "pick one with --object")
    obj = candidates[0]
    mods = gn_modifiers(obj)
    if not mods:
        raise IRError(f"{path}: object '{obj.name}' has no Geometry Nodes modifier")
    if len(mods) > 1:
        raise IRError(f"{path}: object '{obj.name}' has {len(mods)} Geometry Nodes modifiers; "
                      "only a single one is supported")
    if mods[0].node_group is None:
        raise IRError(f"{path}: modifier '{mods[0].name}' on '{obj.name}' has no node group")
    return obj, mods[0]


def _reachable_groups(main, where):
    """The main group first, then the groups it calls, depth first, in node order."""
    order, seen = [], set()

    def visit(group):
        if group.name in seen:
            return
        seen.add(group.name)
        order.append(group)
        for node in group.nodes:
            if node.bl_idname == "GeometryNodeGroup":
                if node.node_tree is None:
                    raise IRError(f"{where}: group '{group.name}' node '{node.name}' "
                                  "calls no node group")
                visit(node.node_tree)

    visit(main)
    return order


def _interface_type(item, where):
    for prefix, ir_type in _INTERFACE_TYPES:
        if item.socket_type.startswith(prefix):
            return ir_type
    raise IRError(f"{where}: interface socket '{item.name}' has unsupported type "
                  f"{item.socket_type}")


def _interface(group, where):
    inputs, outputs = [], []
    for item in group.interface.items_tree:
        if item.item_type != "SOCKET":
            continue
        ir_type = _interface_type(item, where)
        entry = {"identifier": item.identifier, "name": item.name, "type": ir_type}
        if item.in_out == "INPUT":
            if ir_type != "GEOMETRY":
                entry["default"] = _value(item.default_value, ir_type)
            inputs.append(entry)
        else:
            outputs.append(entry)
    return inputs, outputs


def _value(raw, ir_type):
    if ir_type == "FLOAT":
        return float(raw)
    if ir_type == "INT":
        return int(raw)
    if ir_type == "BOOLEAN":
        return bool(raw)
    return [float(x) for x in raw]  # VECTOR, ROTATION (Euler XYZ radians)


def _active_output(group):
    """Only the active Group Output node is evaluated; inactive ones are dropped."""
    outs = [n for n in group.nodes if n.bl_idname == "NodeGroupOutput"]
    for node in outs:
        if node.is_active_output:
            return node
    return outs[0] if outs else None


def _skipped_by_mode(node, socket, props) -> bool:
    """Sockets that Blender ignores for the node's mode but 5.0 still reports as enabled."""
    if node.bl_idname == "GeometryNodeTransform":
        if props.get("mode", "COMPONENTS") == "COMPONENTS":
            return socket.identifier == "Transform"
        return socket.identifier in ("Translation", "Rotation", "Scale")
    return False


def _node_properties(node, where):
    props = {}
    base = _base_property_ids()
    for prop in node.bl_rna.properties:
        pid = prop.identifier
        if pid in base or pid in _IGNORED_PROPERTIES or prop.is_readonly:
            continue
        if prop.type not in ("ENUM", "BOOLEAN", "INT", "FLOAT"):
            continue
        val = getattr(node, pid)
        if prop.type == "ENUM" and isinstance(val, set):
            val = sorted(val)
        elif prop.type in ("INT", "FLOAT", "BOOLEAN") and getattr(prop, "is_array", False):
            val = list(val)
        props[pid] = val
    for sock in node.inputs:
        key = (node.bl_idname, sock.identifier)
        if key in _MENU_PROPERTIES:
            if sock.is_linked:
                raise IRError(f"{where}: node '{node.name}' socket '{sock.identifier}': "
                              "a linked menu socket is not supported")
            pid, items = _MENU_PROPERTIES[key]
            if sock.default_value not in items:
                raise IRError(f"{where}: node '{node.name}' socket '{sock.identifier}': "
                              f"unsupported menu item '{sock.default_value}'")
            props[pid] = items[sock.default_value]
    return props


_BASE_PROPERTY_IDS: set = set()


def _base_property_ids() -> set:
    """Property ids defined on Blender's generic node base classes (not behaviour)."""
    if not _BASE_PROPERTY_IDS:
        bpy = _bpy()
        for cls_name in ("Node", "NodeInternal", "GeometryNode", "ShaderNode", "FunctionNode"):
            cls = getattr(bpy.types, cls_name, None)
            if cls is not None:
                _BASE_PROPERTY_IDS.update(p.identifier for p in cls.bl_rna.properties)
    return _BASE_PROPERTY_IDS


def _resolve_source(link, where):
    """Follow a link back through reroutes to the real source socket, or None if dangling."""
    seen = 0
    while link.from_node.bl_idname == "NodeReroute":
        incoming = [l for l in link.from_node.inputs[0].links if not l.is_muted and l.is_valid]
        if not incoming:
            return None
        link = incoming[0]
        seen += 1
        if seen > 10000:
            raise IRError(f"{where}: reroute cycle")
    return link.from_node, link.from_socket


def _group_ir(group, where):
    inputs, outputs = _interface(group, where)
    active_out = _active_output(group)
    kept = [n for n in group.nodes if n.bl_idname not in _DROPPED_NODES
            and not (n.bl_idname == "NodeGroupOutput" and n != active_out)]
    kept_names = {n.name for n in kept}

    links, linked_inputs, multi = [], set(), {}
    for link in group.links:
        to_node, to_sock = link.to_node, link.to_socket
        if to_node.name not in kept_names or link.is_muted or not link.is_valid:
            continue
        if not to_sock.enabled:
            continue  # Blender ignores links into unavailable sockets
        src = _resolve_source(link, where)
        if src is None:
            continue
        from_node, from_sock = src
        if from_node.name not in kept_names or not from_sock.enabled:
            continue
        if from_sock.type == "CUSTOM" or to_sock.type == "CUSTOM":
            continue
        entry = {"from": [from_node.name, from_sock.identifier],
                 "to": [to_node.name, to_sock.identifier]}
        if to_sock.is_multi_input:
            multi.setdefault((to_node.name, to_sock.identifier), []).append(
                (link.multi_input_sort_id, entry))
        links.append(entry)
        linked_inputs.add((to_node.name, to_sock.identifier))
    for group_links in multi.values():
        # highest sort id first: see the module docstring
        for rank, (_, entry) in enumerate(sorted(group_links, key=lambda t: -t[0])):
            entry["order"] = rank

    nodes = []
    for node in kept:
        nwhere = f"{where} node '{node.name}'"
        if node.mute:
            raise IRError(f"{nwhere}: muted nodes are not supported")
        props = _node_properties(node, nwhere)
        entry = {"name": node.name, "type": node.bl_idname, "properties": props}
        if node.bl_idname == "GeometryNodeGroup":
            entry["group"] = node.node_tree.name
        values = {}
        for sock in node.inputs:
            if (not sock.enabled or sock.type in ("CUSTOM", "GEOMETRY") or sock.is_multi_input
                    or (node.bl_idname, sock.identifier) in _MENU_PROPERTIES
                    or _skipped_by_mode(node, sock, props)
                    or (node.name, sock.identifier) in linked_inputs):
                continue
            ir_type = _NODE_SOCKET_TYPES.get(sock.type)
            if ir_type is None:
                raise IRError(f"{nwhere} socket '{sock.identifier}': unsupported socket type "
                              f"{sock.type}")
            values[sock.identifier] = _value(sock.default_value, ir_type)
        entry["inputs"] = values
        nodes.append(entry)
    return {"name": group.name, "inputs": inputs, "outputs": outputs, "nodes": nodes,
            "links": links}


# ---- parameters ---------------------------------------------------------------------------

def _read_spec(path: Path) -> dict:
    """Flatten a PyTorchGeoNodes spec (configs/sp_*.json) to {param name: entry + category}."""
    if not path.is_file():
        raise IRError(f"{path}: no such spec file")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise IRError(f"{path}: invalid JSON ({exc})") from exc
    flat = {}

    def walk(params, category):
        for name, entry in params.items():
            if not isinstance(entry, dict) or "type" not in entry:
                raise IRError(f"{path}: parameter '{name}' has no 'type'")
            if entry["type"] == "nested":
                walk(entry.get("params", {}), name)
            else:
                flat[name] = dict(entry, category=category, _file=str(path))

    walk(doc.get("params", {}), None)
    return flat


def _finite(x):
    return x is not None and math.isfinite(x) and abs(x) < _UNBOUNDED


def _spec_conditions(entry, name, kinds, ranges, path):
    """`or_dependencies` (bed's spec spells it `or_dependcies`) and `not_dependencies` as DNF."""
    def cond(dep):
        if isinstance(dep, str):
            param, value = dep, True
        elif isinstance(dep, list) and len(dep) == 2 and isinstance(dep[0], str):
            param, value = dep
        else:
            raise IRError(f"{path}: parameter '{name}': bad dependency {dep!r}")
        if param not in kinds:
            raise IRError(f"{path}: parameter '{name}' depends on unknown parameter '{param}'")
        if kinds[param] == "bool":
            value = bool(value)
        return param, value

    ors = entry.get("or_dependencies", entry.get("or_dependcies"))
    dnf = None if not ors else [[{"param": p, "equals": v}] for p, v in map(cond, ors)]
    for dep in entry.get("not_dependencies", []) or []:
        param, value = cond(dep)
        if kinds[param] == "bool":
            alternatives = [not value]
        elif kinds[param] == "int" and param in ranges:
            lo, hi = ranges[param]
            alternatives = [v for v in range(lo, hi + 1) if v != value]
        else:
            raise IRError(f"{path}: parameter '{name}': not_dependency on '{param}' needs a "
                          "bool or a ranged int parameter")
        negation = [[{"param": param, "equals": v}] for v in alternatives]
        dnf = negation if dnf is None else [a + b for a in dnf for b in negation]
    return dnf


def _parameters(main_ir, mod, spec, spec_path, meta, where):
    params = []
    meta_params = {p["name"]: p for p in meta.get("parameters", [])}
    kinds, ranges = {}, {}
    for item in main_ir["inputs"]:
        if item["type"] == "GEOMETRY":
            continue
        kind = _PARAM_KIND.get(item["type"])
        if kind is None:
            raise IRError(f"{where}: modifier input '{item['name']}' has type {item['type']}; "
                          "parameters must be FLOAT, INT or BOOLEAN")
        kinds[item["name"]] = kind
    if spec is not None:
        for name in spec:
            if name not in kinds:
                raise IRError(f"{spec_path}: parameter '{name}' is not an input of modifier "
                              f"'{mod.name}' in {where}")
        for name, entry in spec.items():
            if kinds[name] == "int" and "range" in entry:
                ranges[name] = (int(entry["range"][0]), int(entry["range"][1]) - 1)

    limits = _interface_limits(mod.node_group)
    for item in main_ir["inputs"]:
        if item["type"] == "GEOMETRY":
            continue
        name, ident, kind = item["name"], item["identifier"], kinds[item["name"]]
        default = item.get("default")
        if ident in mod.keys():
            default = mod[ident]
        default = {"float": float, "int": int, "bool": bool}[kind](default)
        param = {"name": name, "socket": ident, "kind": kind}
        if spec is not None and name in spec:
            entry = spec[name]
            if entry["type"] != kind:
                raise IRError(f"{spec_path}: parameter '{name}' has type '{entry['type']}' but "
                              f"the modifier input is {kind}")
            if kind == "bool":
                lo, hi, sample = 0, 1, True
            elif "range" in entry:
                a, b = entry["range"]
                lo, hi = (float(a), float(b)) if kind == "float" else ranges[name]
                sample = True
            else:
                lo, hi, sample = _fallback_range(kind, default, limits.get(ident))
            param.update(min=lo, max=hi, default=default, category=entry["category"],
                         sample=sample,
                         active_if=_spec_conditions(entry, name, kinds, ranges, spec_path))
        elif name in meta_params:
            stored = meta_params[name]
            param.update(min=stored["min"], max=stored["max"], default=default,
                         category=stored.get("category"), sample=stored["sample"],
                         active_if=stored.get("active_if"))
        else:
            lo, hi, _ = _fallback_range(kind, default, limits.get(ident))
            param.update(min=lo, max=hi, default=default, category=None, sample=False,
                         active_if=None)
        params.append(param)
    return params


def _fallback_range(kind, default, limits):
    if kind == "bool":
        return 0, 1, False
    if limits and _finite(limits[0]) and _finite(limits[1]):
        conv = float if kind == "float" else int
        return conv(limits[0]), conv(limits[1]), False
    return default, default, False


def _interface_limits(group):
    out = {}
    for item in group.interface.items_tree:
        if item.item_type == "SOCKET" and item.in_out == "INPUT":
            lo, hi = getattr(item, "min_value", None), getattr(item, "max_value", None)
            if lo is not None and hi is not None:
                out[item.identifier] = (float(lo), float(hi))
    return out


def _stored_meta(obj) -> dict:
    raw = obj.get(IR_META_PROPERTY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return {}


# ------------------------------------------------------------------------------------------
# IR -> Blender
# ------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------
# Blender as oracle
# ------------------------------------------------------------------------------------------

def evaluate_in_blender(ir_or_blend, param_sets: list[dict], object_name=None) -> list[dict]:
    """Evaluate the program in Blender for each {parameter name: value} set.

    Returns per set: vertices float64 (V,3), face_offsets int64 (F+1,), face_vertices int64
    (loops), loop_triangles int64 (T,3), all in Blender's order. Parameters not in a set keep
    their default. `ir_or_blend` is an IR dict, a path to IR JSON, or a path to a .blend.
    """
    bpy = _bpy()
    if isinstance(ir_or_blend, dict):
        ir = ir_or_blend
    elif Path(ir_or_blend).suffix == ".json":
        ir = json.loads(Path(ir_or_blend).read_text())
    else:
        ir = None
    if ir is None:
        # Evaluate the original file itself (the oracle), not a rebuilt copy of it.
        ir = import_blend(ir_or_blend, object_name=object_name)  # leaves the file open
        obj = bpy.data.objects[ir["source"]["object"]]
        mod = obj.modifiers[ir["source"]["modifier"]]
        main_ids = {p["socket"]: p["socket"] for p in ir["parameters"]}
    else:
        obj, mod, identifiers = build_blender_tree(ir)
        main_ids = identifiers[ir["main_group"]]
    params = {p["name"]: p for p in ir.get("parameters", [])}
    results = []
    for i, values in enumerate(param_sets):
        for name, value in values.items():
            if name not in params:
                raise IRError(f"parameter set {i}: unknown parameter '{name}'")
            p = params[name]
            _set_modifier_input(mod, main_ids[p["socket"]], p["kind"], value)
        obj.update_tag()
        results.append(_evaluated_mesh(bpy, obj))
        for name in values:  # back to defaults so sets do not leak into each other
            p = params[name]
            _set_modifier_input(mod, main_ids[p["socket"]], p["kind"], p["default"])
    return results


evaluate_tree_in_blender = evaluate_in_blender


def _evaluated_mesh(bpy, obj) -> dict:
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        nv, nf, nl = len(mesh.vertices), len(mesh.polygons), len(mesh.loops)
        co = np.empty(nv * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        starts = np.empty(nf, dtype=np.int32)
        mesh.polygons.foreach_get("loop_start", starts)
        totals = np.empty(nf, dtype=np.int32)
        mesh.polygons.foreach_get("loop_total", totals)
        loops = np.empty(nl, dtype=np.int32)
        mesh.loops.foreach_get("vertex_index", loops)
        mesh.calc_loop_triangles()
        tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", tris)
    finally:
        ev.to_mesh_clear()
    # Polygons are stored contiguously in loop order; assert it so face_offsets are exact.
    offsets = np.concatenate([[0], np.cumsum(totals)]).astype(np.int64)
    if nf and not np.array_equal(starts, offsets[:-1]):
        raise IRError("evaluated mesh has non-contiguous polygon loops")
    return {"vertices": co.reshape(nv, 3).astype(np.float64),
            "face_offsets": offsets,
            "face_vertices": loops.astype(np.int64),
            "loop_triangles": tris.reshape(-1, 3).astype(np.int64)}


# ------------------------------------------------------------------------------------------
# Golden files (no bpy needed to read them)
# ------------------------------------------------------------------------------------------

def write_goldens(path, param_names, param_values, meshes) -> None:
    """Store meshes of many parameter sets as flat arrays + per-set offsets (npz, compressed)."""
    def ragged(arrays, dtype):
        offsets = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
        flat = np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)
        return flat, offsets

    verts, vert_sets = ragged([m["vertices"].astype(np.float32) for m in meshes], np.float32)
    sizes, poly_sets = ragged([np.diff(m["face_offsets"]) for m in meshes], np.int32)
    loops, loop_sets = ragged([m["face_vertices"] for m in meshes], np.int32)
    tris, tri_sets = ragged([m["loop_triangles"] for m in meshes], np.int32)
    np.savez_compressed(
        path, param_names=np.array(param_names, dtype=str),
        param_values=np.asarray(param_values, dtype=np.float64),
        vertices=verts, vertex_set_offsets=vert_sets,
        polygon_sizes=sizes, polygon_set_offsets=poly_sets,
        face_vertices=loops, loop_set_offsets=loop_sets,
        loop_triangles=tris, triangle_set_offsets=tri_sets)


def read_goldens(path) -> tuple[list[dict], list[dict]]:
    """(parameter sets {name: value as float}, meshes like `evaluate_in_blender` returns)."""
    z = np.load(path)
    names = [str(n) for n in z["param_names"]]
    sets, meshes = [], []
    for i, row in enumerate(z["param_values"]):
        sets.append(dict(zip(names, row.tolist())))
        v0, v1 = z["vertex_set_offsets"][i:i + 2]
        p0, p1 = z["polygon_set_offsets"][i:i + 2]
        l0, l1 = z["loop_set_offsets"][i:i + 2]
        t0, t1 = z["triangle_set_offsets"][i:i + 2]
        sizes = z["polygon_sizes"][p0:p1].astype(np.int64)
        meshes.append({
            "vertices": z["vertices"][v0:v1].astype(np.float64),
            "face_offsets": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            "face_vertices": z["face_vertices"][l0:l1].astype(np.int64),
            "loop_triangles": z["loop_triangles"][t0:t1].astype(np.int64)})
    return sets, meshes


def sample_parameter_sets(parameters: list[dict], count: int, seed: int) -> list[dict]:
    """Random sets: every `sample: true` parameter uniform in [min, max], others default."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        values = {}
        for p in parameters:
            if not p.get("sample"):
                values[p["name"]] = p["default"]
            elif p["kind"] == "float":
                values[p["name"]] = float(rng.uniform(p["min"], p["max"]))
            elif p["kind"] == "int":
                values[p["name"]] = int(rng.integers(p["min"], p["max"] + 1))
            else:
                values[p["name"]] = bool(rng.random() < 0.5)
        sets.append(values)
    return sets


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def write_json_atomic(doc: dict, out_path) -> None:
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(suffix=".json.tmp", dir=out_path.parent or ".")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it normal permissions
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    """`import-blend IN.blend OUT.json [--spec S] [--object O]` or `export-blend IN.json OUT.blend`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "import-blend"
    if argv and argv[0] in ("import-blend", "export-blend"):
        command = argv.pop(0)
    parser = argparse.ArgumentParser(prog=f"geonodes {command}")
    if command == "import-blend":
        parser.add_argument("blend", help="input .blend file")
        parser.add_argument("out", help="output IR JSON")
        parser.add_argument("--spec", help="parameter spec JSON (ranges, dependencies)")
        parser.add_argument("--object", dest="object_name", help="object carrying the modifier")
    else:
        parser.add_argument("ir", help="input IR JSON")
        parser.add_argument("out", help="output .blend file")
    args = parser.parse_args(argv)
    try:
        if command == "import-blend":
            if not Path(args.out).parent.exists():
                raise IRError(f"{args.out}: output folder does not exist")
            ir = import_blend(args.blend, args.spec, args.object_name)
            write_json_atomic(ir, args.out)
            print(f"wrote {args.out}: {len(ir['groups'])} groups, "
                  f"{sum(len(g['nodes']) for g in ir['groups'])} nodes, "
                  f"{len(ir['parameters'])} parameters")
        else:
            try:
                ir = json.loads(Path(args.ir).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise IRError(f"{args.ir}: cannot read IR JSON ({exc})") from exc
            export_blend(ir, args.out)
            print(f"wrote {args.out}")
    except IRError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
