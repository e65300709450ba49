"""One node group under construction: unique node names, nodes created once per handle,
links, and constants checked against the socket they are stored on."""
from __future__ import annotations

import itertools
import math

from ..errors import IRError
from ..nodes import REGISTRY
from .handles import Geometry, Value


class _Graph:
    def __init__(self, name: str, owner: str):
        self.name, self.owner = name, owner  # owner: program name, for messages
        self.inputs: list = []  # interface dicts
        self.outputs: list = []
        self.nodes: list = []
        self.links: list = []
        self._names: set = set()
        self._made: dict = {}  # id(handle) -> (handle, (node, socket))
        self._group_input: str | None = None

    def unique(self, base: str) -> str:
        base = base[:50]
        if base not in self._names:
            self._names.add(base)
            return base
        for i in itertools.count(1):
            name = f"{base}.{i:03d}"
            if name not in self._names:
                self._names.add(name)
                return name

    def group_input_node(self) -> str:
        if self._group_input is None:
            self._group_input = self.unique("Group Input")
            self.nodes.append({"name": self._group_input, "type": "NodeGroupInput", "properties": {},
                               "inputs": {}})
        return self._group_input

    def socket_of(self, handle) -> tuple:
        """(node, output identifier) of a handle in this graph, creating its node(s) once."""
        if handle.graph is not None and handle.graph is not self:
            raise IRError(f"program '{self.owner}': a value of group '{handle.graph.name}' is used in group "
                          f"'{self.name}' (pass it in as a group input instead)")
        key = id(handle)
        if key not in self._made:
            self._made[key] = (handle, handle._make(self))
        return self._made[key][1]

    def add_node(self, type_: str, label: str, inputs: dict, properties: dict | None = None,
                 group: "_GroupDef | None" = None) -> str:
        """Add a node; `inputs` maps input identifiers to handles, constants, or lists of
        geometry handles (multi-input sockets, first = first in the result)."""
        properties = dict(properties or {})
        if group is not None:
            in_types = {s["identifier"]: s["type"] for s in group.graph.inputs}
        else:
            spec = REGISTRY.get(type_)
            if spec is None:
                raise IRError(f"program '{self.owner}': node type '{type_}' is not supported by the compiler")
            ins, _ = spec.sockets({**spec.properties, **properties})
            in_types = {s.identifier: s.type for s in ins}
        name = self.unique(label)
        node = {"name": name, "type": type_, "properties": properties, "inputs": {}}
        if group is not None:
            node["group"] = group.graph.name
        self.nodes.append(node)
        for ident, value in inputs.items():
            if value is None:
                continue
            if ident not in in_types:
                raise IRError(f"program '{self.owner}': node '{name}' ({type_}) has no input socket '{ident}' "
                              f"(inputs: {', '.join(in_types)})")
            items = value if isinstance(value, (list, tuple)) and value and isinstance(value[0], Geometry) \
                else [value]
            for order, item in enumerate(items):
                if isinstance(item, (Value, Geometry)):
                    src = self.socket_of(item)
                    link = {"from": list(src), "to": [name, ident]}
                    if len(items) > 1:
                        link["order"] = order
                    self.links.append(link)
                else:
                    node["inputs"][ident] = _constant_for(item, in_types[ident], f"node '{name}' input '{ident}'")
        return name

    def to_ir(self) -> dict:
        return {"name": self.name, "inputs": self.inputs, "outputs": self.outputs,
                "nodes": self.nodes, "links": self.links}


class _GroupDef:
    def __init__(self, graph: _Graph, fn):
        self.graph, self.fn = graph, fn


def _constant_for(value, type_: str, where: str):
    if type_ == "GEOMETRY":
        raise IRError(f"{where}: expects geometry, got {value!r}")
    if isinstance(value, (list, tuple)):
        if type_ not in ("VECTOR", "ROTATION") or len(value) != 3:
            raise IRError(f"{where}: a {type_} socket cannot take {value!r}")
        return [float(v) for v in value]
    if not isinstance(value, (bool, int, float)) or not math.isfinite(value):
        raise IRError(f"{where}: not a finite number: {value!r}")
    if type_ == "FLOAT":
        return float(value)
    if type_ == "INT":
        if value != int(value):
            raise IRError(f"{where}: an INT socket cannot take {value!r}")
        return int(value)
    if type_ == "BOOLEAN":
        return bool(value)
    return [float(value)] * 3  # scalar into a vector socket: Blender's (x, x, x)
