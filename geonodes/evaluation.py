"""One evaluation of a program's node tree: per-group plans (how each input socket gets its
value, resolved once per program), group calls, and what node functions see (`NodeEval`)."""
from __future__ import annotations

from .errors import IRError
from .geometry import EMPTY, Piecewise
from .ir import ProgramIR
from .node_types import FIELD_SOURCE_TYPES
from .nodes import COMPILED, REGISTRY
from .sockets import OPAQUE_TYPES, constant, convert


_LINK, _CONST, _EMPTY, _MISSING = range(4)


class _GroupPlan:
    """How every input socket of a group's nodes gets its value, resolved once per program
    (the evaluator then does one dict lookup per input instead of walking the IR)."""

    def __init__(self, group):
        self.group = group
        self.inputs: dict = {}  # (node name, identifier) -> source entry
        for node in group.nodes.values():
            for identifier, spec in node.inputs.items():
                links = group.links_to.get((node.name, identifier))
                if links:
                    lk = links[0]
                    src = group.nodes[lk.from_node]
                    src_type = src.outputs[lk.from_socket].type
                    same = src_type == spec.type or {src_type, spec.type} == {"VECTOR", "ROTATION"}
                    entry = (_LINK, src, lk.from_socket, None if same else (src_type, spec.type))
                elif spec.type == "GEOMETRY":
                    entry = (_EMPTY,)
                else:
                    value = node.values.get(identifier, spec.default)
                    missing = value is None and spec.type not in OPAQUE_TYPES  # an opaque None: no material
                    entry = (_MISSING,) if missing else (_CONST, _const_key(value, spec.type), value, spec.type)
                self.inputs[(node.name, identifier)] = entry
        outs = [n for n in group.nodes.values() if n.type == "NodeGroupOutput"]
        active = [n for n in outs if n.properties.get("is_active_output", True)] or outs
        self.output_node = active[0] if active else None
        self.input_specs = {sp.identifier: sp for sp in group.inputs}
        self.prepared: dict = {}  # (node name, function) -> what the function derived from the node
        self.compiled: dict = {}  # node name -> compiled fn(call) -> outputs, or None (see nodes.COMPILED)


def _const_key(value, type_: str) -> tuple:
    return (type_, tuple(value) if isinstance(value, (list, tuple)) else value)


class Call:
    """One invocation of a node group (the main group, or a group node inside a call)."""

    def __init__(self, ev: "Evaluation", group, path: tuple, parent: "Call | None", group_node=None):
        self.ev, self.group, self.path, self.parent, self.group_node = ev, group, path, parent, group_node
        self.plan: _GroupPlan = ev.plan(group)
        self.outputs: dict = {}  # node name -> {output id: value}
        self.children: dict = {}

    # -- values flowing into a socket ------------------------------------------------------
    def input(self, node, identifier: str):
        entry = self.plan.inputs[(node.name, identifier)]
        kind = entry[0]
        if kind == _LINK:
            value = self.output(entry[1], entry[2])
            return value if entry[3] is None else convert(value, entry[3][0], entry[3][1], self.ev.dtype)
        if kind == _CONST:
            value = self.ev.consts.get(entry[1])
            return value if value is not None else self.ev.constant(entry[2], entry[3])
        if kind == _EMPTY:
            return Piecewise.uniform(self.ev.batch, EMPTY, self.ev.device)
        raise IRError(f"{self.where(node)}: input '{identifier}' is unlinked and has no value")

    def inputs_multi(self, node, identifier: str) -> list:
        out = []
        for lk in self.group.links_to.get((node.name, identifier), []):
            src = self.group.nodes[lk.from_node]
            out.append(convert(self.output(src, lk.from_socket), src.outputs[lk.from_socket].type,
                               node.inputs[identifier].type, self.ev.dtype))
        return out

    # -- values coming out of a node --------------------------------------------------------
    def output(self, node, identifier: str):
        values = self.outputs.get(node.name)
        if values is None:
            if node.type == "NodeGroupInput":
                return self.group_input(identifier)
            if node.type == "GeometryNodeGroup":
                return self.child(node).group_output(identifier)
            values = self.outputs[node.name] = self._evaluate(node)
        return values[identifier]

    def _evaluate(self, node) -> dict:
        fast = self.plan.compiled.get(node.name, _UNCOMPILED)
        if fast is _UNCOMPILED:
            make = COMPILED.get(node.type)
            fast = self.plan.compiled[node.name] = make(_StaticNode(
                self.plan, node, self.ev.uses(FIELD_SOURCE_TYPES))) if make else None
        if fast is not None:
            return fast(self)
        return REGISTRY[node.type].evaluate(NodeEval(self, node))

    def group_input(self, identifier: str):
        key = ("<input>", identifier)
        if key not in self.outputs:
            if self.parent is None:
                self.outputs[key] = self.ev.parameter_value(identifier)
            else:
                gn = self.group_node
                if (gn.name, identifier) in self.parent.group.links_to or identifier in gn.values:
                    self.outputs[key] = self.parent.input(gn, identifier)
                else:  # unlinked with no value on the group node: the interface default
                    spec = gn.inputs[identifier]
                    self.outputs[key] = (Piecewise.uniform(self.ev.batch, EMPTY, self.ev.device)
                                         if spec.type == "GEOMETRY" else self.ev.constant(
                                             spec.default if spec.default is not None else _zero(spec.type),
                                             spec.type))
        return self.outputs[key]

    def group_output(self, identifier: str):
        key = ("<output>", identifier)
        if key not in self.outputs:
            self.outputs[key] = self.input(self.plan.output_node, identifier)
        return self.outputs[key]

    def child(self, node) -> "Call":
        if node.name not in self.children:
            self.children[node.name] = Call(self.ev, self.ev.ir.groups[node.group], self.path + (node.name,),
                                             self, node)
        return self.children[node.name]

    def where(self, node) -> str:
        return f"{self.ev.ir.where}: group '{self.group.name}': node '{node.name}' (type {node.type})"

    def release(self) -> None:
        """Drop the group calls made under this one. A child refers to its parent, so the tree
        is a reference cycle holding every value of the evaluation: released when the evaluation
        is done, it is freed at once by reference counting, not left to the garbage collector
        (whose passes over ~1,000 objects per evaluation then cost more than many of its ops)."""
        for child in self.children.values():
            child.release()
        self.children.clear()


_UNCOMPILED = object()


class _StaticNode:
    """What a node compiler (nodes.COMPILED) sees: the node's properties, stored values and
    links, and `getter(identifier)`: a function call -> that input's value in the call."""

    def __init__(self, plan: _GroupPlan, node, fields_possible: bool = True):
        self._plan, self._node = plan, node
        self.node = node
        self.fields_possible = fields_possible  # False: the program has no field source at all
        self.props, self.name = node.properties, node.name

    def is_linked(self, identifier: str) -> bool:
        return (self._node.name, identifier) in self._plan.group.links_to

    def stored(self, identifier: str, default=None):
        return NodeEval.stored(self, identifier, default)

    def getter(self, identifier: str):
        node = self._node
        entry = self._plan.inputs[(node.name, identifier)]
        if entry[0] == _CONST:
            _, key, value, type_ = entry

            def const(call):
                v = call.ev.consts.get(key)
                return v if v is not None else call.ev.constant(value, type_)

            return const
        if entry[0] != _LINK:  # geometry or missing: the general path (which raises for missing)
            return lambda call: call.input(node, identifier)
        _, src, sock, conversion = entry
        return _link_getter(src, sock, conversion)

    def multi_getters(self, identifier: str) -> list:
        """One getter per link into a multi-input socket, in link order (as inputs_multi)."""
        out = []
        for lk in self._plan.group.links_to.get((self._node.name, identifier), []):
            src = self._plan.group.nodes[lk.from_node]
            src_type, dst_type = src.outputs[lk.from_socket].type, self._node.inputs[identifier].type
            same = src_type == dst_type or {src_type, dst_type} == {"VECTOR", "ROTATION"}
            out.append(_link_getter(src, lk.from_socket, None if same else (src_type, dst_type)))
        return out


def _link_getter(src, sock: str, conversion):
    """call -> the value of output `sock` of node `src` in that call (converted if needed)."""
    if src.type == "NodeGroupInput":
        key = ("<input>", sock)

        def linked(call):
            v = call.outputs.get(key)
            return call.group_input(sock) if v is None else v
    elif src.type == "GeometryNodeGroup":
        def linked(call):
            return call.output(src, sock)
    else:
        name = src.name

        def linked(call):
            v = call.outputs.get(name)
            if v is None:  # what call.output does for such a node, without its type checks
                v = call.outputs[name] = call._evaluate(src)
            return v[sock]
    if conversion is None:
        return linked
    a, b = conversion
    return lambda call: convert(linked(call), a, b, call.ev.dtype)


def _zero(type_: str):
    if type_ in OPAQUE_TYPES:
        return None
    return {"FLOAT": 0.0, "INT": 0, "BOOLEAN": False, "VECTOR": (0, 0, 0), "ROTATION": (0, 0, 0)}[type_]


class NodeEval:
    """What a node function sees: lazy converted inputs, properties and batch info."""

    __slots__ = ("_call", "_node", "props", "name", "batch", "dtype", "device", "geometry_cache")

    def __init__(self, call: Call, node):
        self._call, self._node = call, node
        self.props = node.properties
        self.name = node.name
        ev = call.ev
        self.batch, self.dtype, self.device, self.geometry_cache = ev.batch, ev.dtype, ev.device, ev.geometry_cache

    @property
    def key(self) -> tuple:
        return self._call.path + (self._node.name,)

    @property
    def where(self) -> str:
        """The node's place for messages: file, group, node."""
        return self._call.where(self._node)

    def get(self, identifier: str):
        return self._call.input(self._node, identifier)

    def get_multi(self, identifier: str) -> list:
        return self._call.inputs_multi(self._node, identifier)

    def is_linked(self, identifier: str) -> bool:
        return (self._node.name, identifier) in self._call.group.links_to

    def output_linked(self, identifier: str) -> bool:
        """Whether the node's output `identifier` is linked to anything."""
        return self.prepared(_output_linked, identifier)

    def stored(self, identifier: str, default=None):
        return self._node.values.get(identifier, self._node.inputs[identifier].default
                                     if self._node.inputs[identifier].default is not None else default)

    def constant(self, value, type_: str):
        return self._call.ev.constant(value, type_)

    def saved_by(self) -> tuple:
        """(major, minor) of the Blender that saved the program's file (ProgramIR.saved_by)."""
        return self._call.ev.ir.saved_by

    def program_uses(self, *types: str) -> bool:
        """Whether any group of the program has a node of one of these types."""
        return self._call.ev.uses(types)

    def prepared(self, fn, *args):
        """fn(self, *args) computed once per node of the program: for decisions that depend
        only on the node (properties, which inputs are linked, stored values), not on the batch.
        `fn` and `args` must be hashable and stand for the same computation on every call."""
        key = (self._node.name, fn, args)
        cache = self._call.plan.prepared
        if key not in cache:
            cache[key] = fn(self, *args)
        return cache[key]


def _output_linked(n, identifier: str) -> bool:
    name = n._node.name
    return any(lk.from_node == name and lk.from_socket == identifier
               for links in n._call.group.links_to.values() for lk in links)


class Evaluation:
    def __init__(self, ir: ProgramIR, values: dict, batch: int, dtype, device, plans: dict | None = None,
                 consts: dict | None = None):
        self.ir, self.values, self.batch, self.dtype, self.device = ir, values, batch, dtype, device
        self._by_socket = {p.socket: p for p in ir.parameters}
        self._plans = plans if plans is not None else {}
        # Broadcast constants: never written to, so they can be shared by evaluations of one
        # batch size / dtype / device (the program passes its cache).
        self.consts: dict = consts if consts is not None else {}
        self.geometry_cache: dict = {}  # per-evaluation part coefficients, chain affines

    def plan(self, group) -> _GroupPlan:
        plan = self._plans.get(group.name)
        if plan is None:
            plan = self._plans[group.name] = _GroupPlan(group)
        return plan

    def uses(self, types: tuple) -> bool:
        key = ("<uses>",) + types  # kept with the program's plans: decided once per program
        if key not in self._plans:
            self._plans[key] = any(n.type in types for g in self.ir.groups.values() for n in g.nodes.values())
        return self._plans[key]

    def constant(self, value, type_: str):
        key = _const_key(value, type_)
        if key not in self.consts:
            self.consts[key] = constant(value, type_, self.batch, self.dtype, self.device)
        return self.consts[key]

    def parameter_value(self, socket: str):
        spec = self.plan(self.ir.groups[self.ir.main_group]).input_specs[socket]
        if spec.type == "GEOMETRY":
            return Piecewise.uniform(self.batch, EMPTY, self.device)
        p = self._by_socket.get(socket)
        if p is None:
            return self.constant(spec.default if spec.default is not None else _zero(spec.type), spec.type)
        return self.values[p.name]
