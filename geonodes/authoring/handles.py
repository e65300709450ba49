"""Lazy handles: values (FLOAT, INT, BOOLEAN, VECTOR) and geometry. Operators and transforms
describe nodes; a node is created only when a graph needs the handle's socket."""
from __future__ import annotations

from ..errors import IRError
from .conditions import _dnf_and, _dnf_not, _dnf_or, _dnf_where

VALUE_TYPES = ("FLOAT", "INT", "BOOLEAN", "VECTOR")
_MAX_LABEL = 40  # longer expression labels fall back to the node type's name


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
        raise IRError(f"'{_label(a)}' {_CMP_SYMBOL[op]} {_label(b)}: comparing vectors is not supported by the "
                      "authoring API")
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
