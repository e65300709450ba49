"""Compiled shape programs: batched, differentiable evaluation of an IR node tree.

    prog = load_program("chair.json")              # or a library name, or an IR dict
    mesh = prog.evaluate_one({"Seat Height": 0.5})  # one shape
    groups = prog.evaluate({"Seat Height": torch.rand(1024) * 0.6 + 0.3})  # a population

Single values are evaluated once for the whole batch; geometry is symbolic and piecewise
(see geometry.py), and vertex positions are computed per topology group at the end.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import torch

from .errors import IRError, ParameterError
from .geometry import EMPTY, CoefficientTable, Piecewise, Topology, assemble_topology
from .ir import Parameter, ProgramIR, load_ir
from .nodes import COMPILED, REGISTRY
from .sockets import constant, convert


@dataclass
class Mesh:
    """One evaluated shape. Faces are Blender's polygons; triangles are their fans."""

    vertices: torch.Tensor  # (V,3)
    face_offsets: torch.Tensor  # (F+1,) int64
    face_vertices: torch.Tensor  # (L,) int64
    triangles: torch.Tensor  # (T,3) int64
    part_id: torch.Tensor  # (T,) int64: which primitive instance made each triangle
    face_part_id: torch.Tensor  # (F,) int64


@dataclass
class MeshGroup:
    """Shapes of a batch that share one topology: rows `index` of the batch."""

    index: torch.Tensor  # (b,) int64 rows of the batch
    vertices: torch.Tensor  # (b,V,3)
    topology: Topology

    @property
    def triangles(self) -> torch.Tensor:
        return self.topology.triangles

    @property
    def part_id(self) -> torch.Tensor:
        return self.topology.face_part[self.topology.triangle_face]

    def mesh(self, i: int) -> Mesh:
        t = self.topology
        return Mesh(self.vertices[i], t.face_offsets, t.face_vertices, t.triangles, self.part_id, t.face_part)


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
                    entry = (_MISSING,) if value is None else (_CONST, _const_key(value, spec.type), value, spec.type)
                self.inputs[(node.name, identifier)] = entry
        outs = [n for n in group.nodes.values() if n.type == "NodeGroupOutput"]
        active = [n for n in outs if n.properties.get("is_active_output", True)] or outs
        self.output_node = active[0] if active else None
        self.input_specs = {sp.identifier: sp for sp in group.inputs}
        self.prepared: dict = {}  # (node name, function) -> what the function derived from the node
        self.compiled: dict = {}  # node name -> compiled fn(call) -> outputs, or None (see nodes.COMPILED)


def _const_key(value, type_: str) -> tuple:
    return (type_, tuple(value) if isinstance(value, (list, tuple)) else value)


class _Call:
    """One invocation of a node group (the main group, or a group node inside a call)."""

    def __init__(self, ev: "_Evaluation", group, path: tuple, parent: "_Call | None", group_node=None):
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
            fast = self.plan.compiled[node.name] = make(_StaticNode(self.plan, node)) if make else None
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

    def child(self, node) -> "_Call":
        if node.name not in self.children:
            self.children[node.name] = _Call(self.ev, self.ev.ir.groups[node.group], self.path + (node.name,),
                                             self, node)
        return self.children[node.name]

    def where(self, node) -> str:
        return f"{self.ev.ir.where}: group '{self.group.name}': node '{node.name}'"


_UNCOMPILED = object()


class _StaticNode:
    """What a node compiler (nodes.COMPILED) sees: the node's properties, stored values and
    links, and `getter(identifier)`: a function call -> that input's value in the call."""

    def __init__(self, plan: _GroupPlan, node):
        self._plan, self._node = plan, node
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
            return call.output(src, sock) if v is None else v[sock]
    if conversion is None:
        return linked
    a, b = conversion
    return lambda call: convert(linked(call), a, b, call.ev.dtype)


def _zero(type_: str):
    return {"FLOAT": 0.0, "INT": 0, "BOOLEAN": False, "VECTOR": (0, 0, 0), "ROTATION": (0, 0, 0)}[type_]


class NodeEval:
    """What a node function sees: lazy converted inputs, properties and batch info."""

    __slots__ = ("_call", "_node", "props", "name", "batch", "dtype", "device", "geometry_cache")

    def __init__(self, call: _Call, node):
        self._call, self._node = call, node
        self.props = node.properties
        self.name = node.name
        ev = call.ev
        self.batch, self.dtype, self.device, self.geometry_cache = ev.batch, ev.dtype, ev.device, ev.geometry_cache

    @property
    def key(self) -> tuple:
        return self._call.path + (self._node.name,)

    def get(self, identifier: str):
        return self._call.input(self._node, identifier)

    def get_multi(self, identifier: str) -> list:
        return self._call.inputs_multi(self._node, identifier)

    def is_linked(self, identifier: str) -> bool:
        return (self._node.name, identifier) in self._call.group.links_to

    def stored(self, identifier: str, default=None):
        return self._node.values.get(identifier, self._node.inputs[identifier].default
                                     if self._node.inputs[identifier].default is not None else default)

    def constant(self, value, type_: str):
        return self._call.ev.constant(value, type_)

    def prepared(self, fn, *args):
        """fn(self, *args) computed once per node of the program: for decisions that depend
        only on the node (properties, which inputs are linked, stored values), not on the batch.
        `fn` and `args` must be hashable and stand for the same computation on every call."""
        key = (self._node.name, fn, args)
        cache = self._call.plan.prepared
        if key not in cache:
            cache[key] = fn(self, *args)
        return cache[key]


class _Evaluation:
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


class Program:
    """A compiled shape program. Cheap to evaluate many times; holds no per-call state."""

    def __init__(self, ir: ProgramIR):
        self.ir = ir
        self.name = ir.name
        self.parameters: list[Parameter] = list(ir.parameters)
        self._by_name = {p.name: p for p in self.parameters}
        self._topologies: dict = {}
        self._plans: dict = {}  # group name -> _GroupPlan (derived from the IR once)
        self._consts: dict = {}  # (batch, dtype, device) -> broadcast constants (a few kept)
        main = ir.groups[ir.main_group]
        geo = [s for s in main.outputs if s.type == "GEOMETRY"]
        if not geo:
            raise IRError(f"{ir.where}: main group '{main.name}' has no GEOMETRY output")
        self._output = geo[0].identifier

    def parameter(self, name: str) -> Parameter:
        if name not in self._by_name:
            raise ParameterError(f"program '{self.name}': unknown parameter '{name}' "
                                 f"(known: {', '.join(self._by_name)})")
        return self._by_name[name]

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.parameters}

    # -- parameter handling ----------------------------------------------------------------
    def _batch_values(self, values: dict, batch: int | None, dtype, device, check_range: bool):
        for name in values:
            self.parameter(name)
        sizes = set()
        for v in values.values():
            t = v if isinstance(v, torch.Tensor) else torch.as_tensor(v)
            if t.dim() > 0:
                sizes.add(int(t.numel()))
        if batch is None:
            batch = max(sizes) if sizes else 1
        if sizes - {batch, 1}:
            raise ParameterError(f"program '{self.name}': parameter batch sizes {sorted(sizes)} != batch {batch}")
        out = {}
        for p in self.parameters:
            v = values.get(p.name, p.default)
            if p.kind == "float":
                t = torch.as_tensor(v, dtype=dtype, device=device)
                if t.is_floating_point() is False:
                    t = t.to(dtype)
            elif p.kind == "int":
                t = torch.as_tensor(v, device=device)
                if t.is_floating_point() and bool((t != torch.trunc(t)).any()):
                    raise ParameterError(f"parameter '{p.name}' is an int, got a non-integer value")
                t = t.to(torch.int64)
            else:
                t = torch.as_tensor(v, device=device)
                if t.dtype != torch.bool:
                    if bool(((t != 0) & (t != 1)).any()):
                        raise ParameterError(f"parameter '{p.name}' is a bool, got {v!r}")
                    t = t != 0
            if batch == 1 or t.dim() != 1 or t.shape[0] != batch:  # (B,) tensors (usual) stay as given
                t = t.reshape(-1).expand(batch) if t.numel() == 1 else t.reshape(batch)
            if check_range and p.name in values and p.kind != "bool":
                bad = (t < p.min) | (t > p.max)
                if bool(bad.any()):
                    x = t[bad][0].item()
                    raise ParameterError(f"parameter '{p.name}' = {x:g} is out of range {p.describe_range()}")
            out[p.name] = t
        return out, batch

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, values: dict | None = None, batch: int | None = None, dtype=torch.float32,
                 device=None, check_range: bool = False) -> list[MeshGroup]:
        """Evaluate a batch of parameter sets (tensors of shape (B,) or scalars; unset = default).

        Returns one MeshGroup per distinct topology; together their `index` cover 0..B-1.
        Gradients flow from the vertices to every float parameter tensor.
        """
        device = torch.device(device) if device is not None else None
        if device is None:
            tensors = [v for v in (values or {}).values() if isinstance(v, torch.Tensor)]
            device = tensors[0].device if tensors else torch.device("cpu")
        vals, batch = self._batch_values(values or {}, batch, dtype, device, check_range)
        key = (batch, dtype, str(device))
        consts = self._consts.pop(key, None)
        if consts is None:
            consts = {}
            while len(self._consts) >= 4:  # a few batch sizes in use at once (fitting, viewer)
                self._consts.pop(next(iter(self._consts)))
        self._consts[key] = consts  # most recently used last
        ev = _Evaluation(self.ir, vals, batch, dtype, device, self._plans, consts)
        root = _Call(ev, self.ir.groups[self.ir.main_group], (), None)
        geometry: Piecewise = root.group_output(self._output)
        pieces = sorted(geometry.merged().pieces, key=lambda piece: piece[0].first())
        verts = self._gather(pieces, ev.geometry_cache, batch, dtype, device)
        return [MeshGroup(rows, v, self._topology(struct.parts, device))
                for (_, struct), (rows, v) in zip(pieces, verts)]

    def _gather(self, pieces: list, cache: dict, batch: int, dtype, device) -> list:
        """[(rows, (b, V, 3) vertices)] per piece, from one table of per-row part coefficients
        (see geometry.CoefficientTable): a few ops per piece, however many parts it has."""
        # Blender's evaluated mesh holds the mesh component only: unrealized instances are dropped.
        unique: dict = {}
        for _, struct in pieces:
            for p in struct.parts:
                unique.setdefault(p.key, p)
        table = CoefficientTable(list(unique.values()), cache, batch, dtype, device) if unique else None
        indexes = [rows.index(device) for rows, _ in pieces]
        if table is not None and len(pieces) > 1:
            # The pieces partition the batch: one row gather of the table, split into each
            # piece's rows (views), instead of one gather per piece.
            selected = table.table.index_select(0, torch.cat(indexes)).split([len(i) for i in indexes])
        else:
            selected = [None] * len(pieces)
        out = []
        for (rows, struct), index, sel in zip(pieces, indexes, selected):
            if not struct.parts:
                out.append((index, torch.zeros(index.shape[0], 0, 3, dtype=dtype, device=device)))
            else:
                out.append((index, table.vertices(struct.parts, None, sel)))
        return out

    def _topology(self, parts: tuple, device) -> Topology:
        key = (tuple(p.prim.topo_id for p in parts), device)
        if key not in self._topologies:
            t = assemble_topology(parts)
            if device is not None and device.type != "cpu":
                t = Topology(*(x.to(device) if isinstance(x, torch.Tensor) else x for x in t.__dict__.values()))
            self._topologies[key] = t
        return self._topologies[key]

    def evaluate_one(self, values: dict | None = None, dtype=torch.float32, device=None,
                     check_range: bool = False) -> Mesh:
        (group,) = self.evaluate(values or {}, batch=1, dtype=dtype, device=device, check_range=check_range)
        return group.mesh(0)

    # -- parameter sets --------------------------------------------------------------------
    def is_active(self, name: str, values: dict) -> bool:
        """Whether a parameter matters given the other values (IR `active_if`, transitively)."""
        p = self.parameter(name)
        if not p.active_if:
            return True
        return any(all(self.is_active(c["param"], values) and _equal(values.get(c["param"], self.parameter(
            c["param"]).default), c["equals"]) for c in clause) for clause in p.active_if)

    def sample(self, n: int, seed: int = 0) -> list[dict]:
        """n random parameter sets: every sampled parameter uniform in its range (seeded)."""
        rng = random.Random(seed)
        sets = []
        for _ in range(n):
            d = {}
            for p in self.parameters:
                if not p.sample:
                    d[p.name] = p.default
                elif p.kind == "float":
                    d[p.name] = rng.uniform(p.min, p.max)
                elif p.kind == "int":
                    d[p.name] = rng.randint(int(p.min), int(p.max))
                else:
                    d[p.name] = rng.random() < 0.5
            sets.append(d)
        return sets

    def stack(self, sets: list[dict], dtype=torch.float32, device=None) -> dict:
        """List of parameter dicts -> dict of (B,) tensors for `evaluate`."""
        out = {}
        for p in self.parameters:
            col = [s.get(p.name, p.default) for s in sets]
            out[p.name] = torch.tensor(col, dtype={"float": dtype, "int": torch.int64, "bool": torch.bool}[p.kind],
                                       device=device)
        return out


def _equal(a, b) -> bool:
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) == bool(b)
    return a == b


def load_program(source) -> Program:
    """A Program from an IR path, JSON text, dict, or the name of a library program."""
    if isinstance(source, str) and not source.lstrip().startswith("{") and not Path(source).exists():
        lib = Path(__file__).parent / "library" / f"{source}.json"
        if lib.is_file():
            source = lib
    return Program(load_ir(source))
