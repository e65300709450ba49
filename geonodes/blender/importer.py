""".blend -> IR: the program on an object's Geometry Nodes modifier, its groups (depth first
from the main one), nodes, links and interface, read through bpy."""
from __future__ import annotations

from pathlib import Path

from ..errors import IRError, UnsupportedNodeError
from ..node_types import is_supported
from .common import (_IGNORED_PROPERTIES, _INTERFACE_TYPES, _NODE_SOCKET_TYPES, DROPPED_NODE_TYPES, IR_FORMAT,
                     IR_VERSION, MENU_SWITCH, OPAQUE_TYPES, CAPTURE, _bpy, menu_property, menu_value)
from ..spec import read_spec
from .parameters import _parameters, _stored_meta


def import_blend(blend_path, spec_path=None, object_name: str | None = None) -> dict:
    """Read the Geometry Nodes program on `object_name` (or the only object with one) as IR."""
    blend_path = Path(blend_path)
    if not blend_path.is_file():
        raise IRError(f"{blend_path}: no such .blend file")
    spec = read_spec(spec_path) if spec_path is not None else None
    bpy = _bpy()
    _open_blend(bpy, blend_path)
    obj, mod = _find_gn_modifier(bpy, blend_path, object_name)
    where = f"{blend_path.name}"
    groups = _reachable_groups(mod.node_group, where)
    _check_supported(groups, where)
    ir_groups = [_group_ir(g, f"{where}: group '{g.name}'") for g in groups]
    meta = _stored_meta(obj)
    name = meta.get("name", blend_path.stem)
    parameters = _parameters(ir_groups[0], mod, spec, spec_path, meta, where)
    return {
        "format": IR_FORMAT,
        "version": IR_VERSION,
        "name": name,
        "source": {"blend": blend_path.name, "object": obj.name, "modifier": mod.name,
                   "blender": ".".join(str(v) for v in bpy.app.version),
                   "saved_by": ".".join(str(v) for v in bpy.data.version)},
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


def _check_supported(groups, where) -> None:
    """One error naming the first node the compiler does not support (and how many more)."""
    unsupported = [(g.name, n.name, n.bl_idname) for g in groups for n in g.nodes
                   if not is_supported(n.bl_idname)]
    if unsupported:
        group, node, node_type = unsupported[0]
        more = f" ({len(unsupported) - 1} more unsupported nodes; `geonodes info` lists the node " \
               "types of a .blend)" if len(unsupported) > 1 else ""
        raise UnsupportedNodeError(f"{where}: group '{group}' node '{node}' has type {node_type}, "
                                   f"which geonodes does not support{more}")


def node_kinds(blend_path, object_name: str | None = None) -> dict:
    """What `geonodes info FILE.blend` shows before importing: the object and modifier, and per
    node group the modifier reaches, [(node type, count, supported)] sorted by type."""
    blend_path = Path(blend_path)
    if not blend_path.is_file():
        raise IRError(f"{blend_path}: no such .blend file")
    bpy = _bpy()
    _open_blend(bpy, blend_path)
    obj, mod = _find_gn_modifier(bpy, blend_path, object_name)
    groups = _reachable_groups(mod.node_group, blend_path.name)
    kinds = []
    for g in groups:
        counts: dict = {}
        for n in g.nodes:
            counts[n.bl_idname] = counts.get(n.bl_idname, 0) + 1
        kinds.append((g.name, [(t, c, is_supported(t)) for t, c in sorted(counts.items())]))
    return {"object": obj.name, "modifier": mod.name, "groups": kinds}


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
    if ir_type == "STRING":
        return str(raw)
    if ir_type in OPAQUE_TYPES and ir_type != "RGBA":  # a data-block: its name, or None
        return None if raw is None else raw.name
    return [float(x) for x in raw]  # VECTOR, ROTATION (Euler XYZ radians), RGBA


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
    if node.bl_idname == "ShaderNodeValue":  # its value is its output socket's, not a property
        props["value"] = float(node.outputs[0].default_value)
    if node.bl_idname == CAPTURE:  # Blender 4.2+: the captured values are a list of items
        props["capture_items"] = [[item.name, item.data_type] for item in node.capture_items]
    for sock in node.inputs:
        if sock.type != "MENU" or not sock.enabled:
            continue
        if sock.is_linked:
            raise IRError(f"{where} socket '{sock.identifier}': a linked menu socket is not supported")
        if node.bl_idname == MENU_SWITCH:
            props["menu"] = sock.default_value
            props["items"] = [item.name for item in node.enum_items]
            continue
        value = menu_value(node.bl_idname, sock.identifier, sock.default_value)
        if value is None:
            raise IRError(f"{where} socket '{sock.identifier}': unsupported menu item "
                          f"'{sock.default_value}'")
        props[menu_property(node.bl_idname, sock.identifier)] = value
    return props


def _socket_ids(node) -> dict:
    """Blender socket identifier -> IR identifier, where they differ: a Menu Switch's item
    sockets are `Item_<n>` with n fixed when the item was made; the IR numbers them in order
    (5.0's item outputs share their input's identifier); a Capture Attribute's likewise."""
    if node.bl_idname == CAPTURE:  # items by position, named as on a new node (Value, Value_1, ...)
        ids = {}
        for sockets, base in ((node.inputs, "Value"), (node.outputs, "Attribute")):
            items = [s for s in sockets if s.type not in ("GEOMETRY", "CUSTOM")]
            ids.update({s.identifier: base if i == 0 else f"{base}_{i}" for i, s in enumerate(items)})
        return ids
    if node.bl_idname != MENU_SWITCH:
        return {}
    items = [s for s in node.inputs if s.identifier.startswith("Item_")]
    return {s.identifier: f"Item_{i}" for i, s in enumerate(items)}


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
    kept = [n for n in group.nodes if n.bl_idname not in DROPPED_NODE_TYPES
            and not (n.bl_idname == "NodeGroupOutput" and n != active_out)]
    kept_names = {n.name for n in kept}
    renamed = {n.name: _socket_ids(n) for n in kept}

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
        from_id = renamed[from_node.name].get(from_sock.identifier, from_sock.identifier)
        to_id = renamed[to_node.name].get(to_sock.identifier, to_sock.identifier)
        entry = {"from": [from_node.name, from_id], "to": [to_node.name, to_id]}
        if to_sock.is_multi_input:
            multi.setdefault((to_node.name, to_id), []).append((link.multi_input_sort_id, entry))
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
            if (not sock.enabled or sock.type in ("CUSTOM", "GEOMETRY", "MENU") or sock.is_multi_input
                    or _skipped_by_mode(node, sock, props)
                    or (node.name, sock.identifier) in linked_inputs):
                continue
            ir_type = _NODE_SOCKET_TYPES.get(sock.type)
            if ir_type is None:
                raise IRError(f"{nwhere} socket '{sock.identifier}': unsupported socket type "
                              f"{sock.type}")
            ident = renamed[node.name].get(sock.identifier, sock.identifier)
            values[ident] = _value(sock.default_value, ir_type)
        entry["inputs"] = values
        nodes.append(entry)
    return {"name": group.name, "inputs": inputs, "outputs": outputs, "nodes": nodes,
            "links": links}
