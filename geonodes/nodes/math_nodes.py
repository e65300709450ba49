"""Single-value nodes: Math, Vector Math, Combine/Separate XYZ, inputs, value Switch (Compare:
compare_nodes.py).

Operations follow Blender's "safe" definitions (division by zero gives 0, sqrt of a negative
gives 0, ...), so programs that rely on them evaluate as in Blender. Every node here also takes
fields: with a field input its outputs are fields computing the same ops per element
(`fields.lift`; a field's values are flat tensors, so the ops are the same functions).
"""
from __future__ import annotations

import math
import operator

import torch

from ..fields import Field, is_field, lift, safe_sqrt
from ..geometry import select, stack_columns
from . import S, compiled, node


def _safe_div(a, b):
    nz = b != 0
    return torch.where(nz, a / torch.where(nz, b, torch.ones_like(b)), torch.zeros_like(a))


def _safe_pow(a, b):
    bad = (a < 0) & (b != torch.trunc(b))
    base = torch.where(bad, torch.ones_like(a), a)
    return torch.where(bad, torch.zeros_like(a), torch.pow(base, b))


def _safe_log(a, base):
    ok = (a > 0) & (base > 0)
    one = torch.ones_like(a)
    num = torch.log(torch.where(ok, a, one))
    den = torch.log(torch.where(ok, base, one * 2))
    return torch.where(ok, _safe_div(num, den), torch.zeros_like(a))


def _safe_mod(a, b):  # C fmodf: sign of a
    nz = b != 0
    bb = torch.where(nz, b, torch.ones_like(b))
    return torch.where(nz, torch.fmod(a, bb), torch.zeros_like(a))


def _floored_mod(a, b):
    nz = b != 0
    bb = torch.where(nz, b, torch.ones_like(b))
    return torch.where(nz, a - torch.floor(a / bb) * bb, torch.zeros_like(a))


def _wrap(v, vmax, vmin):
    rng = vmax - vmin
    nz = rng != 0
    rr = torch.where(nz, rng, torch.ones_like(rng))
    return torch.where(nz, v - rr * torch.floor((v - vmin) / rr), vmin)


def _snap(a, b):
    return torch.floor(_safe_div(a, b)) * b


def _pingpong(a, b):
    nz = b != 0
    bb = torch.where(nz, b, torch.ones_like(b))
    x = (a - bb) / (bb * 2)
    return torch.where(nz, torch.abs((x - torch.floor(x)) * bb * 2 - bb), torch.zeros_like(a))


def _smoothmin(a, b, c):
    nz = c != 0
    cc = torch.where(nz, c, torch.ones_like(c))
    h = torch.clamp(cc - torch.abs(a - b), min=0.0) / cc
    return torch.where(nz, torch.minimum(a, b) - h * h * h * cc * (1.0 / 6.0), torch.minimum(a, b))


def _sign(a):
    return torch.sign(a)


FLT_EPSILON = 1.1920928955078125e-07

MATH_OPS = {
    "ADD": lambda a, b, c: a + b,
    "SUBTRACT": lambda a, b, c: a - b,
    "MULTIPLY": lambda a, b, c: a * b,
    "DIVIDE": lambda a, b, c: _safe_div(a, b),
    "MULTIPLY_ADD": lambda a, b, c: a * b + c,
    "POWER": lambda a, b, c: _safe_pow(a, b),
    "LOGARITHM": lambda a, b, c: _safe_log(a, b),
    "SQRT": lambda a, b, c: safe_sqrt(a),
    "INVERSE_SQRT": lambda a, b, c: _safe_div(torch.ones_like(a), safe_sqrt(a)),
    "ABSOLUTE": lambda a, b, c: torch.abs(a),
    "EXPONENT": lambda a, b, c: torch.exp(a),
    "MINIMUM": lambda a, b, c: torch.minimum(a, b),
    "MAXIMUM": lambda a, b, c: torch.maximum(a, b),
    "LESS_THAN": lambda a, b, c: (a < b).to(a.dtype),
    "GREATER_THAN": lambda a, b, c: (a > b).to(a.dtype),
    "SIGN": lambda a, b, c: _sign(a),
    "COMPARE": lambda a, b, c: ((a == b) | (torch.abs(a - b) <= torch.clamp(c, min=FLT_EPSILON))).to(a.dtype),
    "SMOOTH_MIN": lambda a, b, c: _smoothmin(a, b, c),
    "SMOOTH_MAX": lambda a, b, c: -_smoothmin(-a, -b, c),
    "ROUND": lambda a, b, c: torch.floor(a + 0.5),
    "FLOOR": lambda a, b, c: torch.floor(a),
    "CEIL": lambda a, b, c: torch.ceil(a),
    "TRUNC": lambda a, b, c: torch.trunc(a),
    "FRACT": lambda a, b, c: a - torch.floor(a),
    "MODULO": lambda a, b, c: _safe_mod(a, b),
    "FLOORED_MODULO": lambda a, b, c: _floored_mod(a, b),
    "WRAP": lambda a, b, c: _wrap(a, b, c),
    "SNAP": lambda a, b, c: _snap(a, b),
    "PINGPONG": lambda a, b, c: _pingpong(a, b),
    "SINE": lambda a, b, c: torch.sin(a),
    "COSINE": lambda a, b, c: torch.cos(a),
    "TANGENT": lambda a, b, c: torch.tan(a),
    "ARCSINE": lambda a, b, c: torch.asin(torch.clamp(a, -1.0, 1.0)),
    "ARCCOSINE": lambda a, b, c: torch.acos(torch.clamp(a, -1.0, 1.0)),
    "ARCTANGENT": lambda a, b, c: torch.atan(a),
    "ARCTAN2": lambda a, b, c: torch.atan2(a, b),
    "SINH": lambda a, b, c: torch.sinh(a),
    "COSH": lambda a, b, c: torch.cosh(a),
    "TANH": lambda a, b, c: torch.tanh(a),
    "RADIANS": lambda a, b, c: a * (math.pi / 180.0),
    "DEGREES": lambda a, b, c: a * (180.0 / math.pi),
}


@node(
    "ShaderNodeMath",
    inputs=[S("Value", "FLOAT", 0.5), S("Value_001", "FLOAT", 0.5), S("Value_002", "FLOAT", 0.5)],
    outputs=[S("Value", "FLOAT")],
    properties={"operation": "ADD", "use_clamp": False},
    choices={"operation": tuple(MATH_OPS)},
)
def math_node(n):
    op, fn, constant_divisor, needs_b, needs_c, clamp = n.prepared(_math_plan)
    a = n.get("Value")
    if constant_divisor:
        out = lift(operator.truediv, a, n.get("Value_001"))  # a constant non-zero divisor: plain division
    else:
        # Inputs an operation does not read are not evaluated (Blender ignores them too).
        out = lift(fn, a, n.get("Value_001") if needs_b else None, n.get("Value_002") if needs_c else None)
    if clamp:
        out = lift(_clamp01, out)
    return {"Value": out}


def _clamp01(x):
    return torch.clamp(x, 0.0, 1.0)


def _math_plan(n):
    op = n.props["operation"]
    constant_divisor = op == "DIVIDE" and not n.is_linked("Value_001") and float(n.stored("Value_001")) != 0.0
    return op, MATH_OPS[op], constant_divisor, op not in _UNARY, op in _TERNARY, bool(n.props["use_clamp"])


_BINARY_OPERATORS = {"ADD": operator.add, "SUBTRACT": operator.sub, "MULTIPLY": operator.mul}  # = MATH_OPS


@compiled("ShaderNodeMath")
def _math_compiled(n):
    """math_node's ops with its decisions taken once (same ops, inputs read in the same order)."""
    op, fn, constant_divisor, needs_b, needs_c, clamp = _math_plan(n)
    ga = n.getter("Value")
    gb = n.getter("Value_001") if needs_b or constant_divisor else None
    gc = n.getter("Value_002") if needs_c else None
    # The core op per arity, called directly on single values; fields take the lifted path.
    if gc is not None:
        def core(a, b, c):
            return fn(a, b, c)
    elif constant_divisor:
        core = operator.truediv
    elif op in _BINARY_OPERATORS:
        core = _BINARY_OPERATORS[op]
    elif gb is not None:
        def core(a, b):
            return fn(a, b, None)
    else:
        def core(a):
            return fn(a, None, None)
    if clamp:
        unclamped = core

        def core(*args):
            return torch.clamp(unclamped(*args), 0.0, 1.0)
    if not n.fields_possible:  # single values only: the core op, no checks
        if gc is not None:
            return lambda call: {"Value": core(ga(call), gb(call), gc(call))}
        if gb is not None:
            return lambda call: {"Value": core(ga(call), gb(call))}
        return lambda call: {"Value": core(ga(call))}
    if gc is not None:
        def run3(call):
            a, b, c = ga(call), gb(call), gc(call)
            if type(a) is Field or type(b) is Field or type(c) is Field:
                return {"Value": lift(core, a, b, c)}
            return {"Value": core(a, b, c)}
        return run3
    if gb is not None:
        def run2(call):
            a, b = ga(call), gb(call)
            if type(a) is Field or type(b) is Field:
                return {"Value": lift(core, a, b)}
            return {"Value": core(a, b)}
        return run2

    def run1(call):
        a = ga(call)
        return {"Value": lift(core, a) if type(a) is Field else core(a)}
    return run1


_TERNARY = ("MULTIPLY_ADD", "COMPARE", "SMOOTH_MIN", "SMOOTH_MAX", "WRAP")
_UNARY = ("SQRT", "INVERSE_SQRT", "ABSOLUTE", "EXPONENT", "SIGN", "ROUND", "FLOOR", "CEIL", "TRUNC", "FRACT",
          "SINE", "COSINE", "TANGENT", "ARCSINE", "ARCCOSINE", "ARCTANGENT", "SINH", "COSH", "TANH", "RADIANS",
          "DEGREES")


def _dot(a, b):
    return (a * b).sum(-1)


def _length(a):
    return safe_sqrt(_dot(a, a))


def _normalize(a):
    return _safe_div(a, _length(a)[:, None].expand_as(a))


def _project(a, b):
    return b * _safe_div(_dot(a, b), _dot(b, b))[:, None]


def _reflect(a, b):
    n = _normalize(b)
    return a - 2.0 * _dot(n, a)[:, None] * n


def _refract(a, b, eta):
    n = _normalize(b)
    d = _dot(n, a)
    k = 1.0 - eta * eta * (1.0 - d * d)
    ok = k >= 0
    out = eta[:, None] * a - (eta * d + safe_sqrt(k))[:, None] * n
    return torch.where(ok[:, None], out, torch.zeros_like(a))


def _faceforward(a, b, c):
    return torch.where((_dot(c, b) < 0)[:, None], a, -a)


VECTOR_OPS = {  # name -> (fn(a, b, c, scale), output socket)
    "ADD": (lambda a, b, c, s: a + b, "Vector"),
    "SUBTRACT": (lambda a, b, c, s: a - b, "Vector"),
    "MULTIPLY": (lambda a, b, c, s: a * b, "Vector"),
    "DIVIDE": (lambda a, b, c, s: _safe_div(a, b), "Vector"),
    "MULTIPLY_ADD": (lambda a, b, c, s: a * b + c, "Vector"),
    "CROSS_PRODUCT": (lambda a, b, c, s: torch.cross(a, b, dim=-1), "Vector"),
    "PROJECT": (lambda a, b, c, s: _project(a, b), "Vector"),
    "REFLECT": (lambda a, b, c, s: _reflect(a, b), "Vector"),
    "REFRACT": (lambda a, b, c, s: _refract(a, b, s), "Vector"),
    "FACEFORWARD": (lambda a, b, c, s: _faceforward(a, b, c), "Vector"),
    "DOT_PRODUCT": (lambda a, b, c, s: _dot(a, b), "Value"),
    "DISTANCE": (lambda a, b, c, s: _length(a - b), "Value"),
    "LENGTH": (lambda a, b, c, s: _length(a), "Value"),
    "SCALE": (lambda a, b, c, s: a * s[:, None], "Vector"),
    "NORMALIZE": (lambda a, b, c, s: _normalize(a), "Vector"),
    "ABSOLUTE": (lambda a, b, c, s: torch.abs(a), "Vector"),
    "POWER": (lambda a, b, c, s: _safe_pow(a, b), "Vector"),
    "SIGN": (lambda a, b, c, s: _sign(a), "Vector"),
    "MINIMUM": (lambda a, b, c, s: torch.minimum(a, b), "Vector"),
    "MAXIMUM": (lambda a, b, c, s: torch.maximum(a, b), "Vector"),
    "FLOOR": (lambda a, b, c, s: torch.floor(a), "Vector"),
    "CEIL": (lambda a, b, c, s: torch.ceil(a), "Vector"),
    "FRACTION": (lambda a, b, c, s: a - torch.floor(a), "Vector"),
    "MODULO": (lambda a, b, c, s: torch.fmod(a, b), "Vector"),  # not safe in Blender: x % 0 is NaN
    "WRAP": (lambda a, b, c, s: _wrap(a, b, c), "Vector"),
    "SNAP": (lambda a, b, c, s: _snap(a, b), "Vector"),
    "SINE": (lambda a, b, c, s: torch.sin(a), "Vector"),
    "COSINE": (lambda a, b, c, s: torch.cos(a), "Vector"),
    "TANGENT": (lambda a, b, c, s: torch.tan(a), "Vector"),
}


@node(
    "ShaderNodeVectorMath",
    inputs=[
        S("Vector", "VECTOR", (0.0, 0.0, 0.0)),
        S("Vector_001", "VECTOR", (0.0, 0.0, 0.0)),
        S("Vector_002", "VECTOR", (0.0, 0.0, 0.0)),
        S("Scale", "FLOAT", 1.0),
    ],
    outputs=[S("Vector", "VECTOR"), S("Value", "FLOAT")],
    properties={"operation": "ADD"},
    choices={"operation": tuple(VECTOR_OPS)},
)
def vector_math_node(n):
    fn, out = VECTOR_OPS[n.props["operation"]]
    value = lift(fn, n.get("Vector"), n.get("Vector_001"), n.get("Vector_002"), n.get("Scale"))
    if out == "Vector":
        return {"Vector": value, "Value": lift(_zeros_value, value)}
    return {"Vector": lift(_zeros_vector, value), "Value": value}


def _zeros_value(vector):
    return torch.zeros_like(vector[:, 0])


def _zeros_vector(value):
    return torch.zeros(value.shape[0], 3, dtype=value.dtype, device=value.device)


@node(
    "ShaderNodeCombineXYZ",
    inputs=[S("X", "FLOAT", 0.0), S("Y", "FLOAT", 0.0), S("Z", "FLOAT", 0.0)],
    outputs=[S("Vector", "VECTOR")],
)
def combine_xyz(n):
    return {"Vector": lift(_stack3, n.get("X"), n.get("Y"), n.get("Z"))}


def _stack3(x, y, z):
    return torch.stack([x, y, z], dim=-1)


@compiled("ShaderNodeCombineXYZ")
def _combine_xyz_compiled(n):
    gx, gy, gz = n.getter("X"), n.getter("Y"), n.getter("Z")
    if not n.fields_possible:
        return lambda call: {"Vector": stack_columns([gx(call), gy(call), gz(call)])}

    def combine(call):
        x, y, z = gx(call), gy(call), gz(call)
        if type(x) is Field or type(y) is Field or type(z) is Field:
            return {"Vector": lift(_stack3, x, y, z)}
        return {"Vector": stack_columns([x, y, z])}

    return combine


def _separate(v) -> dict:
    if type(v) is Field:
        return {axis: Field(lambda ctx, i=i: ctx.value(v)[:, i]) for i, axis in enumerate("XYZ")}
    x, y, z = v.unbind(-1)
    return {"X": x, "Y": y, "Z": z}


@node(
    "ShaderNodeSeparateXYZ",
    inputs=[S("Vector", "VECTOR", (0.0, 0.0, 0.0))],
    outputs=[S("X", "FLOAT"), S("Y", "FLOAT"), S("Z", "FLOAT")],
)
def separate_xyz(n):
    return _separate(n.get("Vector"))


@compiled("ShaderNodeSeparateXYZ")
def _separate_xyz_compiled(n):
    g = n.getter("Vector")
    return lambda call: _separate(g(call))


@node("ShaderNodeValue", outputs=[S("Value", "FLOAT")], properties={"value": 0.5})
def value_input(n):
    return {"Value": n.constant(n.props["value"], "FLOAT")}


@node("FunctionNodeInputInt", outputs=[S("Integer", "INT")], properties={"integer": 0})
def int_input(n):
    return {"Integer": n.constant(n.props["integer"], "INT")}


@node("FunctionNodeInputBool", outputs=[S("Boolean", "BOOLEAN")], properties={"boolean": False})
def bool_input(n):
    return {"Boolean": n.constant(n.props["boolean"], "BOOLEAN")}


@node("FunctionNodeInputVector", outputs=[S("Vector", "VECTOR")], properties={"vector": (0.0, 0.0, 0.0)})
def vector_input(n):
    return {"Vector": n.constant(n.props["vector"], "VECTOR")}


SWITCH_TYPES = ("FLOAT", "INT", "BOOLEAN", "VECTOR", "ROTATION", "GEOMETRY")
# A switch's unlinked item default per type (GEOMETRY: empty; opaque types: nothing).
SWITCH_DEFAULTS = {"FLOAT": 0.0, "INT": 0, "BOOLEAN": False, "VECTOR": (0.0, 0.0, 0.0),
                   "ROTATION": (0.0, 0.0, 0.0), "GEOMETRY": None}


def _switch_sockets(props):
    t = props["input_type"]
    default = SWITCH_DEFAULTS[t]
    return (
        [S("Switch", "BOOLEAN", False), S("False", t, default), S("True", t, default)],
        [S("Output", t)],
    )


@node(
    "GeometryNodeSwitch",
    sockets=_switch_sockets,
    properties={"input_type": "GEOMETRY"},
    choices={"input_type": SWITCH_TYPES},
)
def switch_node(n):
    cond = n.get("Switch")
    if n.props["input_type"] == "GEOMETRY":
        return {"Output": select(cond, lambda: n.get("True"), lambda: n.get("False"))}
    # Single values: evaluate only the branches some row needs.
    if is_field(cond):
        return {"Output": lift(_where, cond, n.get("True"), n.get("False"))}
    if bool(cond.all()):
        return {"Output": n.get("True")}
    if not bool(cond.any()):
        return {"Output": n.get("False")}
    return {"Output": lift(_where, cond, n.get("True"), n.get("False"))}


def _where(c, t, f):
    return torch.where(c[:, None] if t.dim() == 2 else c, t, f)


@compiled("GeometryNodeSwitch")
def _switch_compiled(n):
    """switch_node with its inputs fetched by getters (same branches evaluated, same ops)."""
    cond, if_true, if_false = n.getter("Switch"), n.getter("True"), n.getter("False")
    if n.props["input_type"] == "GEOMETRY":
        def switch_geometry(call):
            return {"Output": select(cond(call), lambda: if_true(call), lambda: if_false(call))}

        return switch_geometry

    def switch_value(call):
        c = cond(call)
        if type(c) is not Field:
            if bool(c.all()):
                return {"Output": if_true(call)}
            if not bool(c.any()):
                return {"Output": if_false(call)}
        return {"Output": lift(_where, c, if_true(call), if_false(call))}

    return switch_value
