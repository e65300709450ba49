"""Authoring API: write shape programs in Python, get the IR the Blender importer produces.

    from geonodes.authoring import ProgramBuilder

    p = ProgramBuilder("stool")
    with p.category("Size"):
        height = p.float("Height", 0.45, 0.3, 0.8)
        radius = p.float("Seat Radius", 0.18, 0.12, 0.25)
    with p.category("Legs"):
        legs = p.int("Leg Count", 3, 3, 4)
        leg_size = p.float("Leg Size", 0.03, 0.02, 0.05, active_if=(legs == 4))

    seat = p.cylinder(radius, 0.03, name="Seat").translate(z=height - 0.015)
    p.output(p.join(seat, ...))
    ir = p.build()               # a dict; geonodes.ir.parse_ir accepts it

Handles are lazy: `width / 2` describes a Math node, which is created (once) only when the
value is used by a node that reaches the output, so unused expressions leave no dead nodes.
Operators on value handles make Math / Vector Math / Compare nodes; `p.vec` makes Combine XYZ;
geometry handles have `.translate/.rotate/.scale` (Transform Geometry; successive calls in
scale -> rotate -> translate order share one node). `p.group` turns a Python function into a
real node group with its own interface. Conditions built from parameters and constants
(`legs_type == 2`, `has_back & ~has_arms`) also give the IR's `active_if` disjunctive form.
"""
from __future__ import annotations

import contextlib
import inspect
import itertools
import math

from .errors import IRError
from .nodes import REGISTRY

VALUE_TYPES = ("FLOAT", "INT", "BOOLEAN", "VECTOR")
_KIND_TYPE = {"float": "FLOAT", "int": "INT", "bool": "BOOLEAN"}
_MAX_LABEL = 40  # longer expression labels fall back to the node type's name


# ------------------------------------------------------------------------------------------
# One node group under construction
# ------------------------------------------------------------------------------------------

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


# ------------------------------------------------------------------------------------------
# Conditions in disjunctive normal form (the IR's `active_if`)
# ------------------------------------------------------------------------------------------

def _domain(param) -> list:
    if param.kind == "bool":
        return [False, True]
    if param.kind == "int":
        return list(range(int(param.min), int(param.max) + 1))
    return None


def _simplify(clauses) -> list:
    out = []
    for clause in clauses:
        atoms = {}
        ok = True
        for name, value in clause:
            if name in atoms and atoms[name] != value:
                ok = False  # contradictory: P = a and P = b
                break
            atoms[name] = value
        key = tuple(sorted(atoms.items(), key=lambda kv: kv[0]))
        if ok and key not in [tuple(sorted(c, key=lambda kv: kv[0])) for c in out]:
            out.append(tuple(atoms.items()))
    return out


def _dnf_and(a, b):
    return _simplify([ca + cb for ca in a for cb in b])


def _dnf_or(a, b):
    return _simplify(list(a) + list(b))


def _dnf_not(dnf, params):
    result = [()]  # true
    for clause in dnf:
        alternatives = []
        for name, value in clause:
            alternatives += [((name, other),) for other in _domain(params[name]) if other != value]
        result = _dnf_and(result, alternatives)
    return result


def _dnf_where(param, predicate):
    dom = _domain(param)
    if dom is None:
        return None
    return [((param.name, v),) for v in dom if predicate(v)]


# ------------------------------------------------------------------------------------------
# Value handles (FLOAT, INT, BOOLEAN, VECTOR)
# ------------------------------------------------------------------------------------------

def _type_of(x) -> str:
    if isinstance(x, Value):
        return x.type
    if isinstance(x, bool):
        return "BOOLEAN"
    if isinstance(x, int):
        return "INT"
    if isinstance(x, float):
        return "FLOAT"
    if isinstance(x, (list, tuple)) and len(x) == 3:
        return "VECTOR"
    raise IRError(f"not a value: {x!r} (expected a number, a 3-vector or a value handle)")


def _label(x) -> str:
    if isinstance(x, Value):
        return x.label or ""
    if isinstance(x, (list, tuple)):
        return "(" + ", ".join(f"{v:g}" for v in x) + ")"
    return f"{x:g}" if not isinstance(x, bool) else str(x)


def _graph_of(*items):
    graphs = {id(i.graph): i.graph for i in items if isinstance(i, (Value, Geometry)) and i.graph is not None}
    if len(graphs) > 1:
        names = ", ".join(sorted(g.name for g in graphs.values()))
        raise IRError(f"values of different groups ({names}) combined; pass them in as group inputs")
    return next(iter(graphs.values()), None)


class Value:
    """A lazy single value (a node output in some group). Combine with operators."""

    __hash__ = object.__hash__  # `==` builds a condition, identity stays the hash

    def __init__(self, type_: str, make, graph, label: str | None = None, dnf=None, param=None, program=None):
        self.type, self._make, self.graph = type_, make, graph
        self.label, self.dnf, self.param, self.program = label, dnf, param, program

    def named(self, label: str) -> "Value":
        """The same value; its node is named `label` (readable trees in Blender)."""
        if self.param is not None:
            return self
        self.label = label
        return self

    def __bool__(self):
        raise TypeError("a program value has no truth value while building; use p.switch(cond, a, b)")

    # -- arithmetic ------------------------------------------------------------------------
    def __add__(self, o): return _arith("ADD", self, o)
    def __radd__(self, o): return _arith("ADD", o, self)
    def __sub__(self, o): return _arith("SUBTRACT", self, o)
    def __rsub__(self, o): return _arith("SUBTRACT", o, self)
    def __mul__(self, o): return _arith("MULTIPLY", self, o)
    def __rmul__(self, o): return _arith("MULTIPLY", o, self)
    def __truediv__(self, o): return _arith("DIVIDE", self, o)
    def __rtruediv__(self, o): return _arith("DIVIDE", o, self)
    def __neg__(self): return _arith("MULTIPLY", self, -1.0)
    def __abs__(self): return _math("ABSOLUTE", self)

    # -- comparisons -----------------------------------------------------------------------
    def __eq__(self, o): return _compare("EQUAL", self, o)
    def __ne__(self, o): return _compare("NOT_EQUAL", self, o)
    def __lt__(self, o): return _compare("LESS_THAN", self, o)
    def __le__(self, o): return _compare("LESS_EQUAL", self, o)
    def __gt__(self, o): return _compare("GREATER_THAN", self, o)
    def __ge__(self, o): return _compare("GREATER_EQUAL", self, o)

    # -- boolean logic (Switch nodes, exact for booleans) -----------------------------------
    def __and__(self, o): return _logic("AND", self, o)
    def __rand__(self, o): return _logic("AND", o, self)
    def __or__(self, o): return _logic("OR", self, o)
    def __ror__(self, o): return _logic("OR", o, self)
    def __invert__(self): return _logic("NOT", self, None)

    # -- vector components -----------------------------------------------------------------
    def _component(self, axis: str) -> "Value":
        if self.type != "VECTOR":
            raise IRError(f"'{self.label}' is a {self.type}, it has no .{axis.lower()}")
        base = self

        def make(g):
            key = ("separate", id(base))
            if key not in g._made:
                src = g.socket_of(base)
                name = g.add_node("ShaderNodeSeparateXYZ", f"Separate {base.label or 'XYZ'}", {})
                g.links.append({"from": list(src), "to": [name, "Vector"]})
                g._made[key] = (base, name)
            return (g._made[key][1], axis)

        return Value("FLOAT", make, self.graph, f"{self.label}.{axis.lower()}" if self.label else None)

    x = property(lambda self: self._component("X"))
    y = property(lambda self: self._component("Y"))
    z = property(lambda self: self._component("Z"))


def _node_value(type_: str, node_type: str, properties: dict, inputs: dict, out: str, label: str | None,
                fallback: str, dnf=None) -> Value:
    graph = _graph_of(*inputs.values())

    def make(g):
        return (g.add_node(node_type, v.label or fallback, inputs, properties), out)

    v = Value(type_, make, graph, label, dnf)
    return v


def _expr_label(op_symbol: str, a, b) -> str | None:
    def wrap(x):
        s = _label(x)
        compound = isinstance(x, Value) and x.param is None and any(f" {c} " in s for c in "+-*/")
        return f"({s})" if compound else s

    text = f"{wrap(a)} {op_symbol} {wrap(b)}" if b is not None else f"{op_symbol}{wrap(a)}"
    return text if len(text) <= _MAX_LABEL and all(_label(x) for x in (a, b) if x is not None) else None


_SYMBOL = {"ADD": "+", "SUBTRACT": "-", "MULTIPLY": "*", "DIVIDE": "/", "MINIMUM": "min",
           "MAXIMUM": "max"}
_PY_OPS = {"ADD": lambda a, b: a + b, "SUBTRACT": lambda a, b: a - b, "MULTIPLY": lambda a, b: a * b,
           "DIVIDE": lambda a, b: a / b if b != 0 else 0.0, "MINIMUM": min, "MAXIMUM": max}


def _arith(op: str, a, b):
    ta, tb = _type_of(a), _type_of(b)
    if not isinstance(a, Value) and not isinstance(b, Value):  # fold constants
        if "VECTOR" in (ta, tb):
            av = a if ta == "VECTOR" else (a,) * 3
            bv = b if tb == "VECTOR" else (b,) * 3
            return tuple(_PY_OPS[op](float(x), float(y)) for x, y in zip(av, bv))
        return _PY_OPS[op](float(a), float(b))
    # identities keep trees small: x + 0, x - 0, x * 1, x / 1
    if op in ("ADD", "SUBTRACT") and not isinstance(b, Value) and tb != "VECTOR" and b == 0:
        return a
    if op == "ADD" and not isinstance(a, Value) and ta != "VECTOR" and a == 0:
        return b
    if op in ("MULTIPLY", "DIVIDE") and not isinstance(b, Value) and tb != "VECTOR" and b == 1:
        return a
    if op == "MULTIPLY" and not isinstance(a, Value) and ta != "VECTOR" and a == 1:
        return b
    label = _expr_label(_SYMBOL.get(op, op.lower()), a, b) if op in ("ADD", "SUBTRACT", "MULTIPLY", "DIVIDE") \
        else None
    if "VECTOR" in (ta, tb):
        if op == "MULTIPLY" and ta != "VECTOR":
            a, b = b, a
            ta, tb = tb, ta
        if op in ("MULTIPLY", "DIVIDE") and tb != "VECTOR":
            scale = b if op == "MULTIPLY" else _arith("DIVIDE", 1.0, b)
            return _node_value("VECTOR", "ShaderNodeVectorMath", {"operation": "SCALE"},
                               {"Vector": a, "Scale": scale}, "Vector", label, "Scale")
        return _node_value("VECTOR", "ShaderNodeVectorMath", {"operation": op},
                           {"Vector": a, "Vector_001": b}, "Vector", label, f"Vector {op.title()}")
    return _node_value("FLOAT", "ShaderNodeMath", {"operation": op, "use_clamp": False},
                       {"Value": a, "Value_001": b}, "Value", label, op.title())


def _math(op: str, a, b=None):
    if _type_of(a) == "VECTOR":
        return _node_value("VECTOR", "ShaderNodeVectorMath", {"operation": op}, {"Vector": a, "Vector_001": b},
                           "Vector", None, f"Vector {op.title()}")
    return _node_value("FLOAT", "ShaderNodeMath", {"operation": op, "use_clamp": False},
                       {"Value": a, "Value_001": b}, "Value", None, op.title())


_PY_COMPARE = {"EQUAL": lambda x, y: x == y, "NOT_EQUAL": lambda x, y: x != y,
               "LESS_THAN": lambda x, y: x < y, "LESS_EQUAL": lambda x, y: x <= y,
               "GREATER_THAN": lambda x, y: x > y, "GREATER_EQUAL": lambda x, y: x >= y}
_CMP_SYMBOL = {"EQUAL": "=", "NOT_EQUAL": "!=", "LESS_THAN": "<", "LESS_EQUAL": "<=", "GREATER_THAN": ">",
               "GREATER_EQUAL": ">="}


def _compare(op: str, a: Value, b):
    ta, tb = _type_of(a), _type_of(b)
    if "VECTOR" in (ta, tb):
        raise IRError("comparing vectors is not supported by the authoring API")
    dnf = None
    if a.param is not None and not isinstance(b, Value):
        dnf = _dnf_where(a.param, lambda v: _PY_COMPARE[op](v, b))
    if ta in ("INT", "BOOLEAN") and tb in ("INT", "BOOLEAN"):
        props, ids = {"data_type": "INT", "operation": op, "mode": "ELEMENT"}, ("A_INT", "B_INT")
    else:
        props, ids = {"data_type": "FLOAT", "operation": op, "mode": "ELEMENT"}, ("A", "B")
        if op in ("EQUAL", "NOT_EQUAL"):
            raise IRError(f"'{_label(a)}' {_CMP_SYMBOL[op]} {_label(b)}: equality of floats is fragile; "
                          "compare with < or >")
    label = f"{_label(a)} {_CMP_SYMBOL[op]} {_label(b)}"
    v = _node_value("BOOLEAN", "FunctionNodeCompare", props, {ids[0]: a, ids[1]: b}, "Result",
                    label if len(label) <= _MAX_LABEL else None, "Compare", dnf)
    v.program = a.program
    return v


def _as_condition(x) -> Value | bool:
    if isinstance(x, bool):
        return x
    if not isinstance(x, Value) or x.type not in ("BOOLEAN", "INT"):
        raise IRError(f"not a condition: {_label(x) if isinstance(x, Value) else x!r} (use a bool value)")
    return x


def _logic(op: str, a, b):
    a = _as_condition(a)
    b = _as_condition(b) if op != "NOT" else None
    params = {}
    for x in (a, b):
        if isinstance(x, Value) and x.program is not None:
            params.update(x.program._params_by_name)
    dnf = None
    da = a.dnf if isinstance(a, Value) else ([()] if a else [])
    db = (b.dnf if isinstance(b, Value) else ([()] if b else [])) if op != "NOT" else None
    if da is not None and (op == "NOT" or db is not None):
        dnf = {"AND": lambda: _dnf_and(da, db), "OR": lambda: _dnf_or(da, db),
               "NOT": lambda: _dnf_not(da, params)}[op]()
    if op == "NOT":
        inputs = {"Switch": a, "False": True, "True": False}
        label = f"not {_label(a)}"
    elif op == "AND":
        inputs = {"Switch": a, "False": False, "True": b}
        label = f"{_label(a)} and {_label(b)}"
    else:
        inputs = {"Switch": a, "False": b, "True": True}
        label = f"{_label(a)} or {_label(b)}"
    v = _node_value("BOOLEAN", "GeometryNodeSwitch", {"input_type": "BOOLEAN"}, inputs, "Output",
                    label if len(label) <= _MAX_LABEL else None, op.title(), dnf)
    v.program = next((x.program for x in (a, b) if isinstance(x, Value) and x.program), None)
    return v


# ------------------------------------------------------------------------------------------
# Geometry handles
# ------------------------------------------------------------------------------------------

class Geometry:
    """A lazy geometry (a node output). Transforms return new handles."""

    def __init__(self, make, graph, label: str | None = None):
        self._make, self.graph, self.label = make, graph, label
        self._source: Geometry | None = None  # pending Transform Geometry: source + components
        self._trs = (None, None, None)

    def named(self, label: str) -> "Geometry":
        self.label = label
        return self

    def __bool__(self):
        raise TypeError("a geometry has no truth value while building; use p.switch(cond, a, b)")

    def transform(self, translation=None, rotation=None, scale=None) -> "Geometry":
        """Transform Geometry: p' = R(rotation) (scale * p) + translation (Euler XYZ radians)."""
        return _transformed(self, translation, rotation, scale)

    def translate(self, v=None, *, x=0.0, y=0.0, z=0.0) -> "Geometry":
        return _transformed(self, _vec(x, y, z) if v is None else v, None, None)

    def rotate(self, v=None, *, x=0.0, y=0.0, z=0.0) -> "Geometry":
        return _transformed(self, None, _vec(x, y, z) if v is None else v, None)

    def scale(self, v) -> "Geometry":
        return _transformed(self, None, None, v)


def _transformed(geo: Geometry, t, r, s) -> Geometry:
    # Fuse into the pending node while the order stays scale -> rotate -> translate.
    if geo._source is not None:
        pt, pr, ps = geo._trs
        fits = (s is None or (ps is None and pr is None and pt is None)) and \
               (r is None or (pr is None and pt is None)) and (t is None or pt is None)
        if fits:
            return _transform_node(geo._source, t if t is not None else pt, r if r is not None else pr,
                                   s if s is not None else ps, geo.label)
    return _transform_node(geo, t, r, s, geo.label)


def _transform_node(source: Geometry, t, r, s, label) -> Geometry:
    inputs = {"Geometry": source, "Translation": t, "Rotation": r, "Scale": s}
    graph = _graph_of(*[v for v in inputs.values() if v is not None])

    def make(g):
        name = f"{out.label} Transform" if out.label else "Transform Geometry"
        return (g.add_node("GeometryNodeTransform", name, inputs, {"mode": "COMPONENTS"}), "Geometry")

    out = Geometry(make, graph, label)
    out._source, out._trs = source, (t, r, s)
    return out


def _geometry_node(node_type: str, inputs: dict, out: str, label: str | None, fallback: str,
                   properties=None) -> Geometry:
    flat = [x for v in inputs.values() for x in (v if isinstance(v, list) else [v]) if v is not None]
    graph = _graph_of(*flat)

    def make(g):
        return (g.add_node(node_type, geo.label or fallback, inputs, properties), out)

    geo = Geometry(make, graph, label)
    return geo


def _vec(x, y, z):
    if not any(isinstance(c, Value) for c in (x, y, z)):
        return (float(x), float(y), float(z))
    label = f"({_label(x)}, {_label(y)}, {_label(z)})"
    return _node_value("VECTOR", "ShaderNodeCombineXYZ", {}, {"X": x, "Y": y, "Z": z}, "Vector",
                       label if len(label) <= _MAX_LABEL else None, "Combine XYZ")


def _common_type(*items) -> str:
    types = {_type_of(x) for x in items}
    for t in ("VECTOR", "FLOAT", "INT", "BOOLEAN"):
        if t in types:
            return t
    raise IRError(f"cannot switch between {items!r}")


# ------------------------------------------------------------------------------------------
# Node factory shared by programs and groups
# ------------------------------------------------------------------------------------------

class _Scope:
    """Node-making methods; `ProgramBuilder` and group bodies (`GroupBuilder`) share them."""

    _graph: _Graph

    # -- values ----------------------------------------------------------------------------
    @staticmethod
    def vec(x=0.0, y=0.0, z=0.0):
        """Combine XYZ (or a constant when all three are numbers)."""
        return _vec(x, y, z)

    @staticmethod
    def min(a, b):
        return _math("MINIMUM", a, b) if isinstance(a, Value) or isinstance(b, Value) else min(a, b)

    @staticmethod
    def max(a, b):
        return _math("MAXIMUM", a, b) if isinstance(a, Value) or isinstance(b, Value) else max(a, b)

    @staticmethod
    def switch(condition, if_true, if_false=None, name: str | None = None):
        """Switch node: geometry (an unset `if_false` is empty geometry) or values."""
        cond = _as_condition(condition)
        if isinstance(if_true, Geometry) or isinstance(if_false, Geometry):
            if isinstance(cond, bool):
                return if_true if cond else if_false
            return _geometry_node("GeometryNodeSwitch", {"Switch": cond, "False": if_false, "True": if_true},
                                  "Output", name, "Switch", {"input_type": "GEOMETRY"})
        if if_false is None:
            raise IRError("p.switch on values needs both if_true and if_false")
        if isinstance(cond, bool):
            return if_true if cond else if_false
        t = _common_type(if_true, if_false)
        return _node_value(t, "GeometryNodeSwitch", {"input_type": t},
                           {"Switch": cond, "False": if_false, "True": if_true}, "Output", name, "Switch")

    # -- meshes ----------------------------------------------------------------------------
    @staticmethod
    def cube(size=(1.0, 1.0, 1.0), name: str | None = None) -> Geometry:
        """Cube centred at the origin; `size` a number, a 3-vector or a vector value."""
        return _geometry_node("GeometryNodeMeshCube", {"Size": size}, "Mesh", name, "Cube")

    @staticmethod
    def box(x, y, z, name: str | None = None) -> Geometry:
        """Cube of size (x, y, z) centred at the origin."""
        return _Scope.cube(_vec(x, y, z), name)

    @staticmethod
    def cylinder(radius=1.0, depth=2.0, vertices: int = 32, fill: str = "NGON",
                 name: str | None = None) -> Geometry:
        """Cylinder along Z centred at the origin."""
        return _geometry_node("GeometryNodeMeshCylinder", {"Radius": radius, "Depth": depth, "Vertices": vertices},
                              "Mesh", name, "Cylinder", {"fill_type": fill})

    @staticmethod
    def cone(radius_bottom=1.0, radius_top=0.0, depth=2.0, vertices: int = 32, fill: str = "NGON",
             name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeMeshCone", {"Radius Bottom": radius_bottom, "Radius Top": radius_top,
                                                       "Depth": depth, "Vertices": vertices},
                              "Mesh", name, "Cone", {"fill_type": fill})

    @staticmethod
    def grid(size_x, size_y, vertices_x: int = 2, vertices_y: int = 2, name: str | None = None) -> Geometry:
        """Grid in the XY plane centred at the origin (2 x 2 vertices: the corners of a rectangle)."""
        return _geometry_node("GeometryNodeMeshGrid", {"Size X": size_x, "Size Y": size_y,
                                                       "Vertices X": vertices_x, "Vertices Y": vertices_y},
                              "Mesh", name, "Grid")

    @staticmethod
    def line(count, start=(0.0, 0.0, 0.0), end=None, offset=None, name: str | None = None) -> Geometry:
        """Mesh Line of `count` points: from `start` to `end` inclusive (count 1: `start`), or
        `start + i * offset`."""
        if (end is None) == (offset is None):
            raise IRError("p.line needs exactly one of end= or offset=")
        if end is not None:
            props = {"mode": "END_POINTS", "count_mode": "TOTAL"}
            inputs = {"Count": count, "Start Location": start, "Offset": end}
        else:
            props = {"mode": "OFFSET", "count_mode": "TOTAL"}
            inputs = {"Count": count, "Start Location": start, "Offset": offset}
        return _geometry_node("GeometryNodeMeshLine", inputs, "Mesh", name, "Line", props)

    # -- geometry operations ---------------------------------------------------------------
    @staticmethod
    def join(*geometries, name: str | None = None) -> Geometry:
        """Join Geometry; the result lists the inputs in argument order."""
        items = [g for g in geometries if g is not None]
        for g in items:
            if not isinstance(g, Geometry):
                raise IRError(f"p.join takes geometry, got {g!r}")
        if len(items) == 1 and name is None:
            return items[0]
        return _geometry_node("GeometryNodeJoinGeometry", {"Geometry": items}, "Geometry", name, "Join Geometry")

    @staticmethod
    def instance_on_points(points: Geometry, instance: Geometry, rotation=None, scale=None,
                           name: str | None = None) -> Geometry:
        """One instance of `instance` on every point of `points` (in point order)."""
        return _geometry_node("GeometryNodeInstanceOnPoints", {"Points": points, "Instance": instance,
                                                               "Rotation": rotation, "Scale": scale},
                              "Instances", name, "Instance on Points")

    @staticmethod
    def realize(geometry: Geometry, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeRealizeInstances", {"Geometry": geometry}, "Geometry", name,
                              "Realize Instances")

    @staticmethod
    def copies(points: Geometry, instance: Geometry, name: str | None = None) -> Geometry:
        """`instance` placed on every point, realized: real mesh copies."""
        return _Scope.realize(_Scope.instance_on_points(points, instance), name=name)

    @staticmethod
    def bounds(geometry: Geometry) -> tuple:
        """(min, max) corner vectors of a geometry (Bounding Box node)."""
        shared = {}

        def node(g):
            if id(g) not in shared:
                shared[id(g)] = g.add_node("GeometryNodeBoundBox", "Bounding Box", {"Geometry": geometry})
            return shared[id(g)]

        graph = _graph_of(geometry)
        return (Value("VECTOR", lambda g: (node(g), "Min"), graph, "Min"),
                Value("VECTOR", lambda g: (node(g), "Max"), graph, "Max"))

    @staticmethod
    def on_floor_centred(geometry: Geometry) -> Geometry:
        """Move a geometry so its lowest point is at z = 0 and its bounds are centred in x, y."""
        lo, hi = _Scope.bounds(geometry)
        offset = ((lo + hi) * (-0.5, -0.5, 0.0) + _vec(0.0, 0.0, -lo.z)).named("Floor Centre Offset")
        return _transform_node(geometry, offset, None, None, "Floor Centre")


class _GroupDef:
    def __init__(self, graph: _Graph, fn):
        self.graph, self.fn = graph, fn


class GroupBuilder(_Scope):
    """What a group body receives as its first argument: the same node-making methods."""

    def __init__(self, graph: _Graph):
        self._graph = graph


class GroupCall:
    """A callable node group: `leg(width=..., height=...)` adds a group node and returns
    its output handle."""

    def __init__(self, definition: _GroupDef):
        self._def = definition

    def __call__(self, *args, name: str | None = None, **kwargs):
        d = self._def
        params = list(inspect.signature(d.fn).parameters)[1:]
        if len(args) > len(params):
            raise IRError(f"group '{d.graph.name}' takes {len(params)} inputs, got {len(args)}")
        given = dict(zip(params, args))
        for k, v in kwargs.items():
            if k not in params:
                raise IRError(f"group '{d.graph.name}' has no input '{k}' (inputs: {', '.join(params)})")
            given[k] = v
        sockets = {s["identifier"]: given[py] for s, py in zip(d.graph.inputs, params) if py in given}
        graph = _graph_of(*[v for v in sockets.values() if isinstance(v, (Value, Geometry))])
        made = {}

        def node(g):
            if id(g) not in made:
                made[id(g)] = g.add_node("GeometryNodeGroup", name or d.graph.name, sockets, group=d)
            return made[id(g)]

        (out,) = d.graph.outputs
        if out["type"] == "GEOMETRY":
            return Geometry(lambda g: (node(g), "Socket_0"), graph, name or d.graph.name)
        return Value(out["type"], lambda g: (node(g), "Socket_0"), graph, name or d.graph.name)


# ------------------------------------------------------------------------------------------
# Programs
# ------------------------------------------------------------------------------------------

class _ParamDecl:
    def __init__(self, name, kind, default, lo, hi, category, active_if, sample):
        self.name, self.kind, self.default, self.min, self.max = name, kind, default, lo, hi
        self.category, self.active_if, self.sample = category, active_if, sample


def _title(py_name: str) -> str:
    return " ".join(w.capitalize() for w in py_name.split("_"))


class ProgramBuilder(_Scope):
    """Declare parameters, describe the object with handles, `output()` it, `build()` the IR."""

    def __init__(self, name: str, object_name: str | None = None):
        self.name = name
        self._graph = _Graph("Geometry Nodes", name)
        self._graph.outputs.append({"identifier": "Socket_0", "name": "Geometry", "type": "GEOMETRY"})
        self._params: list[_ParamDecl] = []
        self._params_by_name: dict = {}
        self._groups: list[_GroupDef] = []
        self._category = ""
        self._output: Geometry | None = None
        self._object = object_name or name.replace("_", " ").title()

    # -- parameters ------------------------------------------------------------------------
    @contextlib.contextmanager
    def category(self, name: str):
        """Parameters declared inside `with p.category("Legs"):` get that category."""
        prev, self._category = self._category, name
        try:
            yield
        finally:
            self._category = prev

    def float(self, name: str, default: float, min: float, max: float, **kw) -> Value:
        return self._param(name, "float", float(default), float(min), float(max), **kw)

    def int(self, name: str, default: int, min: int, max: int, **kw) -> Value:
        for key, v in (("default", default), ("min", min), ("max", max)):
            if int(v) != v:
                raise IRError(f"program '{self.name}': parameter '{name}': {key} must be an integer, got {v!r}")
        return self._param(name, "int", int(default), int(min), int(max), **kw)

    def bool(self, name: str, default: bool, **kw) -> Value:
        return self._param(name, "bool", bool(default), 0, 1, **kw)

    def _param(self, name, kind, default, lo, hi, category: str | None = None, active_if=None,
               sample: bool = True) -> Value:
        where = f"program '{self.name}': parameter '{name}'"
        if name in self._params_by_name:
            raise IRError(f"{where}: declared twice")
        if lo > hi:
            raise IRError(f"{where}: min {lo} > max {hi}")
        if kind != "bool" and not lo <= default <= hi:
            raise IRError(f"{where}: default {default} is outside [{lo}, {hi}]")
        dnf = None
        if active_if is not None:
            cond = _as_condition(active_if)
            if isinstance(cond, bool) or cond.dnf is None:
                raise IRError(f"{where}: active_if must be built from int/bool parameters compared with "
                              "constants (e.g. legs_type == 2, has_back & ~has_arms)")
            dnf = cond.dnf
            if not dnf:
                raise IRError(f"{where}: active_if can never hold")
        decl = _ParamDecl(name, kind, default, lo, hi, self._category if category is None else category, dnf,
                          sample)
        self._params.append(decl)
        self._params_by_name[name] = decl
        ident = f"Socket_{len(self._params)}"
        self._graph.inputs.append({"identifier": ident, "name": name, "type": _KIND_TYPE[kind],
                                   "default": default})
        graph = self._graph
        dnf_self = [((name, True),)] if kind == "bool" else None
        return Value(_KIND_TYPE[kind], lambda g: (g.group_input_node(), ident), graph, name, dnf_self, decl, self)

    # -- groups ----------------------------------------------------------------------------
    def group(self, name: str | None = None):
        """Decorator: a function `fn(g, input=default, ...)` becomes a node group.

        Inputs are the function's parameters after `g`: the Python name in title case is the
        socket name, the default's type its socket type (float, int, bool, 3-tuple = vector,
        None = geometry). The function returns one handle (the group's output). Calling the
        result adds a group node."""

        def decorate(fn):
            gname = name or _title(fn.__name__)
            if any(d.graph.name == gname for d in self._groups) or gname == self._graph.name:
                raise IRError(f"program '{self.name}': group '{gname}' defined twice")
            graph = _Graph(gname, self.name)
            sig = list(inspect.signature(fn).parameters.values())[1:]
            types = {float: "FLOAT", int: "INT", bool: "BOOLEAN", tuple: "VECTOR", type(None): "GEOMETRY"}
            args = []
            n_out = 1
            for i, prm in enumerate(sig):
                if prm.default is inspect.Parameter.empty or type(prm.default) not in types:
                    raise IRError(f"group '{gname}': input '{prm.name}' needs a default of type float, int, bool, "
                                  "3-tuple or None (geometry)")
                t = types[type(prm.default)]
                ident = f"Socket_{n_out + i}"
                item = {"identifier": ident, "name": _title(prm.name), "type": t}
                if t != "GEOMETRY":
                    item["default"] = list(map(float, prm.default)) if t == "VECTOR" else prm.default
                graph.inputs.append(item)
                make = (lambda g, ident=ident: (g.group_input_node(), ident))
                args.append(Geometry(make, graph, _title(prm.name)) if t == "GEOMETRY"
                            else Value(t, make, graph, _title(prm.name)))
            result = fn(GroupBuilder(graph), *args)
            if not isinstance(result, (Value, Geometry)):
                raise IRError(f"group '{gname}': the function must return a geometry or value handle, "
                              f"got {result!r}")
            out_node = graph.unique("Group Output")
            graph.nodes.append({"name": out_node, "type": "NodeGroupOutput", "properties": {}, "inputs": {}})
            otype = "GEOMETRY" if isinstance(result, Geometry) else result.type
            graph.outputs.append({"identifier": "Socket_0", "name": "Geometry" if otype == "GEOMETRY" else "Value",
                                  "type": otype})
            graph.links.append({"from": list(graph.socket_of(result)), "to": [out_node, "Socket_0"]})
            definition = _GroupDef(graph, fn)
            self._groups.append(definition)
            return GroupCall(definition)

        return decorate

    # -- output ----------------------------------------------------------------------------
    def output(self, geometry: Geometry) -> None:
        if not isinstance(geometry, Geometry):
            raise IRError(f"program '{self.name}': output() takes a geometry, got {geometry!r}")
        self._output = geometry

    def build(self) -> dict:
        """The IR document (a new dict each call)."""
        if self._output is None:
            raise IRError(f"program '{self.name}': no output geometry (call p.output(...))")
        graph = self._graph
        if not any(n["type"] == "NodeGroupOutput" for n in graph.nodes):
            out = graph.unique("Group Output")
            graph.nodes.append({"name": out, "type": "NodeGroupOutput", "properties": {}, "inputs": {}})
            graph.links.append({"from": list(graph.socket_of(self._output)), "to": [out, "Socket_0"]})
        parameters = [{"name": d.name, "socket": f"Socket_{i + 1}", "kind": d.kind, "min": d.min, "max": d.max,
                       "default": d.default, "category": d.category, "sample": d.sample,
                       "active_if": [[{"param": n, "equals": v} for n, v in clause] for clause in d.active_if]
                       if d.active_if else None}
                      for i, d in enumerate(self._params)]
        return {"format": "geonodes-ir", "version": 1, "name": self.name,
                "source": {"authoring": "geonodes.authoring", "object": self._object,
                           "modifier": "GeometryNodes"},
                "main_group": self._graph.name,
                "groups": [self._graph.to_ir()] + [d.graph.to_ir() for d in self._groups],
                "parameters": parameters}
