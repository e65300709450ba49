"""Loading and validating IR documents (format: IR.md beside this file).

`load_ir(source)` takes a path, a JSON string or a dict and returns a `ProgramIR` whose nodes
carry their resolved socket specs. Every problem raises `IRError` naming the place.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import IRError
from .files import parse_json, read_json
from .nodes import REGISTRY, SocketSpec
from .ranges import HARD_LIMITS, derived_range, format_bounds
from .sockets import ALL_TYPES, can_convert

KIND_OF_TYPE = {"FLOAT": "float", "INT": "int", "BOOLEAN": "bool"}


@dataclass
class IRNode:
    name: str
    type: str
    properties: dict
    values: dict  # unlinked input values by identifier
    group: str | None
    inputs: dict  # identifier -> SocketSpec
    outputs: dict  # identifier -> SocketSpec


@dataclass
class IRLink:
    from_node: str
    from_socket: str
    to_node: str
    to_socket: str
    order: int = 0


@dataclass
class IRGroup:
    name: str
    inputs: list  # [SocketSpec] (default = interface default)
    outputs: list
    input_names: dict  # identifier -> display name
    nodes: dict = field(default_factory=dict)
    links_to: dict = field(default_factory=dict)  # (node, socket) -> [IRLink] in order


@dataclass
class Parameter:
    """A program input. `min`/`max` are the search range (samplers, fitting, sliders), not a
    validity limit; `soft`/`hard` are Blender's limits (see geonodes.ranges); None for bools."""

    name: str
    socket: str
    kind: str  # float | int | bool
    min: float
    max: float
    default: float | int | bool
    category: str = ""
    sample: bool = True
    active_if: list | None = None  # disjunction of conjunctions of {"param", "equals"}
    soft: tuple | None = None  # the socket's min/max (Blender's slider range)
    hard: tuple | None = None  # what Blender accepts; a value outside is a ParameterError

    def describe_range(self) -> str:
        """The search range."""
        if self.kind == "bool":
            return "true/false"
        return format_bounds(self.min, self.max)

    def describe_limits(self) -> str:
        if self.kind == "bool":
            return "true/false"
        if self.soft == self.hard:
            return format_bounds(*self.hard)
        return f"{format_bounds(*self.soft)} (soft), {format_bounds(*self.hard)} (hard)"


@dataclass
class ProgramIR:
    name: str
    main_group: str
    groups: dict
    parameters: list
    source: dict
    where: str  # for messages: file name or "<dict>"

    @property
    def saved_by(self) -> tuple:
        """(major, minor) of the Blender that saved the program's file: source's 'saved_by', else
        'blender' (the importing Blender), else (4, 2); nodes that Blender rewrote since 4.2
        (Triangulate, 4.3) evaluate as that version does."""
        return saved_version(self.source)


def saved_version(source) -> tuple:
    """`ProgramIR.saved_by` of an IR's 'source' object."""
    text = source.get("saved_by", source.get("blender")) if isinstance(source, dict) else None
    parts = re.match(r"(\d+)\.(\d+)", text) if isinstance(text, str) else None
    return (int(parts[1]), int(parts[2])) if parts else (4, 2)


def load_ir(source) -> ProgramIR:
    where = "<dict>"
    if isinstance(source, (str, Path)) and not (isinstance(source, str) and source.lstrip().startswith("{")):
        where = str(Path(source))
        doc = read_json(source, "program file")
    elif isinstance(source, str):
        doc = parse_json(source, "<json>")
    else:
        doc = source
        blend = doc.get("source", {}).get("blend") if isinstance(doc, dict) and isinstance(doc.get("source"), dict) else None
        if isinstance(blend, str):  # imported from a .blend: messages name that file
            where = blend
    return parse_ir(doc, where)


def _need(d, key, typ, where):
    if not isinstance(d, dict) or key not in d:
        raise IRError(f"{where}: missing field '{key}'")
    if not isinstance(d[key], typ):
        raise IRError(f"{where}: field '{key}' must be {typ.__name__ if isinstance(typ, type) else typ}")
    return d[key]


def _socket_list(items, where):
    out, names = [], {}
    for i, s in enumerate(items):
        w = f"{where}[{i}]"
        ident = _need(s, "identifier", str, w)
        t = _need(s, "type", str, w)
        if t not in ALL_TYPES:
            raise IRError(f"{w}: socket '{ident}' has unsupported type '{t}' (supported: {', '.join(ALL_TYPES)})")
        out.append(SocketSpec(ident, t, s.get("default")))
        names[ident] = s.get("name", ident)
    return out, names


def parse_ir(doc: dict, where: str = "<dict>") -> ProgramIR:
    if not isinstance(doc, dict):
        raise IRError(f"{where}: a program must be a JSON object")
    if doc.get("format") != "geonodes-ir":
        raise IRError(f"{where}: field 'format' must be 'geonodes-ir'")
    if doc.get("version") != 1:
        raise IRError(f"{where}: unsupported IR version {doc.get('version')!r} (this build reads version 1)")
    main = _need(doc, "main_group", str, where)
    groups: dict = {}
    for gi, g in enumerate(_need(doc, "groups", list, where)):
        gw = f"{where}: group #{gi}"
        name = _need(g, "name", str, gw)
        gw = f"{where}: group '{name}'"
        if name in groups:
            raise IRError(f"{gw}: defined twice")
        ins, names = _socket_list(g.get("inputs", []), f"{gw} inputs")
        outs, _ = _socket_list(g.get("outputs", []), f"{gw} outputs")
        groups[name] = (g, IRGroup(name, ins, outs, names))
    if main not in groups:
        raise IRError(f"{where}: main_group '{main}' is not defined")
    for name, (g, group) in groups.items():
        _parse_nodes(g, group, groups, f"{where}: group '{name}'")
    groups = {name: grp for name, (_, grp) in groups.items()}
    _check_group_recursion(groups, main, where)
    params = _parse_parameters(doc, groups[main], where)
    return ProgramIR(doc.get("name", groups[main].name), main, groups, params, doc.get("source", {}), where)


def _parse_nodes(g: dict, group: IRGroup, groups: dict, gw: str) -> None:
    for ni, nd in enumerate(_need(g, "nodes", list, gw)):
        nname = _need(nd, "name", str, f"{gw}: node #{ni}")
        nw = f"{gw}: node '{nname}'"
        ntype = _need(nd, "type", str, nw)
        nw = f"{nw} (type {ntype})"
        if nname in group.nodes:
            raise IRError(f"{nw}: name used twice")
        props = dict(nd.get("properties", {}) or {})
        called = None
        if ntype == "NodeGroupInput":
            inputs, outputs = {}, {s.identifier: s for s in group.inputs}
        elif ntype == "NodeGroupOutput":
            inputs, outputs = {s.identifier: s for s in group.outputs}, {}
        elif ntype == "GeometryNodeGroup":
            called = nd.get("group")
            if called not in groups:
                raise IRError(f"{nw}: calls undefined group {called!r}")
            callee = groups[called][1]
            inputs = {s.identifier: s for s in callee.inputs}
            outputs = {s.identifier: s for s in callee.outputs}
        elif ntype in REGISTRY:
            spec = REGISTRY[ntype]
            for key in props:
                if key not in spec.properties:
                    raise IRError(f"{nw}: unknown property '{key}' for node type {ntype}")
            props = {**spec.properties, **props}
            for key, allowed in spec.choices.items():
                if props[key] not in allowed:
                    raise IRError(f"{nw}: property {key}={props[key]!r} is not supported "
                                  f"(supported: {', '.join(map(str, allowed))})")
            try:
                ins, outs = spec.sockets(props)
            except IRError as exc:
                raise IRError(f"{nw}: {exc}") from None
            inputs = {s.identifier: s for s in ins}
            outputs = {s.identifier: s for s in outs}
        else:
            raise IRError(f"{nw}: unknown node type '{ntype}'")
        values = dict(nd.get("inputs", {}) or {})
        for key in values:
            if key not in inputs:
                raise IRError(f"{nw}: value given for unknown input socket '{key}'")
        group.nodes[nname] = IRNode(nname, ntype, props, values, called, inputs, outputs)
    for li, link in enumerate(g.get("links", [])):
        lw = f"{gw}: link #{li}"
        try:
            (fn, fs), (tn, ts) = link["from"], link["to"]
        except (KeyError, TypeError, ValueError):
            raise IRError(f"{lw}: needs 'from': [node, socket] and 'to': [node, socket]") from None
        for node_name, sock, side in ((fn, fs, "outputs"), (tn, ts, "inputs")):
            if node_name not in group.nodes:
                raise IRError(f"{lw}: dangling link: no node '{node_name}'")
            if sock not in getattr(group.nodes[node_name], side):
                raise IRError(f"{lw}: dangling link: node '{node_name}' has no {side[:-1]} socket '{sock}'")
        src = group.nodes[fn].outputs[fs]
        dst = group.nodes[tn].inputs[ts]
        if not can_convert(src.type, dst.type):
            raise IRError(f"{lw}: cannot link {src.type} socket '{fn}'.'{fs}' to {dst.type} socket '{tn}'.'{ts}'")
        lst = group.links_to.setdefault((tn, ts), [])
        lst.append(IRLink(fn, fs, tn, ts, int(link.get("order", 0))))
        if len(lst) > 1 and not dst.multi:
            raise IRError(f"{lw}: input socket '{tn}'.'{ts}' takes one link, got {len(lst)}")
    for links in group.links_to.values():
        links.sort(key=lambda lk: lk.order)
    outputs = [n for n in group.nodes.values() if n.type == "NodeGroupOutput"]
    if group.outputs and not outputs:
        raise IRError(f"{gw}: has no Group Output node")
    _check_cycles(group, gw)


def _check_cycles(group: IRGroup, gw: str) -> None:
    deps: dict = {name: set() for name in group.nodes}
    for (tn, _), links in group.links_to.items():
        for lk in links:
            deps[tn].add(lk.from_node)
    state: dict = {}
    for start in deps:
        stack = [(start, iter(sorted(deps[start])))]
        state[start] = state.get(start, 0) or 1
        if state[start] == 2:
            continue
        while stack:
            node_name, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node_name] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise IRError(f"{gw}: cycle through node '{nxt}'")
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(deps[nxt]))))


def _check_group_recursion(groups: dict, main: str, where: str) -> None:
    def visit(name, path):
        if name in path:
            raise IRError(f"{where}: group '{name}' calls itself ({' -> '.join(path + [name])})")
        for n in groups[name].nodes.values():
            if n.type == "GeometryNodeGroup":
                visit(n.group, path + [name])

    visit(main, [])


def _parse_parameters(doc: dict, main: IRGroup, where: str) -> list:
    by_socket = {s.identifier: s for s in main.inputs}
    raw = doc.get("parameters")
    if raw is None:  # derive from the interface: search ranges by the rule of ranges.derived_range
        raw = [{"name": main.input_names[s.identifier], "socket": s.identifier, "kind": KIND_OF_TYPE[s.type],
                "default": s.default} for s in main.inputs if s.type in KIND_OF_TYPE]
    params, names = [], set()
    for i, p in enumerate(raw):
        pw = f"{where}: parameter #{i}"
        name = _need(p, "name", str, pw)
        pw = f"{where}: parameter '{name}'"
        if name in names:
            raise IRError(f"{pw}: defined twice")
        names.add(name)
        sock = _need(p, "socket", str, pw)
        if sock not in by_socket:
            raise IRError(f"{pw}: socket '{sock}' is not an input of the main group '{main.name}'")
        kind = _need(p, "kind", str, pw)
        if KIND_OF_TYPE.get(by_socket[sock].type) != kind:
            raise IRError(f"{pw}: kind '{kind}' does not match socket type {by_socket[sock].type}")
        default = p.get("default", by_socket[sock].default)
        _check_number(default, kind, "default", pw)
        default = bool(default) if kind == "bool" else int(default) if kind == "int" else float(default)
        soft, hard = _parse_limits(p.get("limits"), kind, pw)
        if hard is not None and not hard[0] <= default <= hard[1]:
            raise IRError(f"{pw}: default {default} is outside the limits {format_bounds(*hard)}")
        if "min" in p or "max" in p:
            lo, hi = p.get("min", default), p.get("max", default)
        else:
            lo, hi = derived_range(kind, default, soft)
        for key, val in (("min", lo), ("max", hi)):
            _check_number(val, kind, key, pw)
        if lo > hi:
            raise IRError(f"{pw}: min {lo} > max {hi}")
        params.append(Parameter(name, sock, kind, lo, hi, default, p.get("category", ""),
                                bool(p.get("sample", True)), p.get("active_if"), soft, hard))
    for p in params:
        for clause in p.active_if or []:
            for cond in clause:
                if not isinstance(cond, dict) or cond.get("param") not in names or "equals" not in cond:
                    raise IRError(f"{where}: parameter '{p.name}': bad active_if condition {cond!r} "
                                  "(needs {'param': <parameter name>, 'equals': <value>})")
    return params


def _check_number(val, kind: str, key: str, pw: str) -> None:
    if isinstance(val, bool) and kind != "bool" or not isinstance(val, (int, float)) or (
            isinstance(val, float) and not math.isfinite(val)):
        raise IRError(f"{pw}: '{key}' must be a finite number, got {val!r}")


def _parse_limits(raw, kind: str, pw: str) -> tuple:
    """(soft, hard) limits: the IR's `limits`, or Blender's defaults for the kind (bools: none)."""
    if kind == "bool":
        return None, None
    if raw is None:
        return HARD_LIMITS[kind], HARD_LIMITS[kind]
    if not isinstance(raw, dict) or set(raw) - {"soft", "hard"}:
        raise IRError(f"{pw}: 'limits' must be {{\"soft\": [lo, hi], \"hard\": [lo, hi]}}")
    hard = _bounds(raw.get("hard", HARD_LIMITS[kind]), kind, "limits.hard", pw)
    soft = _bounds(raw.get("soft", hard), kind, "limits.soft", pw)
    return soft, hard


def _bounds(pair, kind: str, key: str, pw: str) -> tuple:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise IRError(f"{pw}: '{key}' must be [lo, hi], got {pair!r}")
    for val in pair:
        _check_number(val, kind, key, pw)
    if pair[0] > pair[1]:
        raise IRError(f"{pw}: '{key}' has lo {pair[0]} > hi {pair[1]}")
    return (int(pair[0]), int(pair[1])) if kind == "int" else (float(pair[0]), float(pair[1]))
