"""Compare (FLOAT, INT, and VECTOR in each of Blender's modes) and Float to Integer, on single
values and fields (node_fn_compare.cc, node_fn_float_to_int.cc)."""
from __future__ import annotations

import math

import torch

from ..fields import lift, safe_sqrt, sqrt
from . import S, node

COMPARE_OPS = ("LESS_THAN", "LESS_EQUAL", "GREATER_THAN", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL")
COMPARE_MODES = ("ELEMENT", "LENGTH", "AVERAGE", "DOT_PRODUCT", "DIRECTION")
_AB = {"FLOAT": ("A", "B"), "INT": ("A_INT", "B_INT"), "VECTOR": ("A_VEC3", "B_VEC3")}


def _compare_sockets(props):
    t = props["data_type"]
    if t == "FLOAT":
        ab = [S("A", "FLOAT", 0.0), S("B", "FLOAT", 0.0)]
    elif t == "INT":
        ab = [S("A_INT", "INT", 0), S("B_INT", "INT", 0)]
    else:
        ab = [S("A_VEC3", "VECTOR", (0.0, 0.0, 0.0)), S("B_VEC3", "VECTOR", (0.0, 0.0, 0.0))]
    # C (dot product mode) and Angle (direction mode) exist on every Compare node, unused elsewhere
    return ab + [S("C", "FLOAT", 0.9), S("Angle", "FLOAT", 0.0872665), S("Epsilon", "FLOAT", 0.001)], \
        [S("Result", "BOOLEAN")]


@node(
    "FunctionNodeCompare",
    sockets=_compare_sockets,
    properties={"data_type": "FLOAT", "operation": "GREATER_THAN", "mode": "ELEMENT"},
    choices={"data_type": ("FLOAT", "INT", "VECTOR"), "operation": COMPARE_OPS, "mode": COMPARE_MODES},
)
def compare_node(n):
    t, op = n.props["data_type"], n.props["operation"]
    mode = n.props["mode"] if t == "VECTOR" else "ELEMENT"
    a_id, b_id = _AB[t]
    needs_eps = t != "INT" and op in ("EQUAL", "NOT_EQUAL")
    extra = {"DOT_PRODUCT": "C", "DIRECTION": "Angle"}.get(mode) if t == "VECTOR" else None
    return {"Result": lift(_COMPARE[(t, op, mode)], n.get(a_id), n.get(b_id), n.get(extra) if extra else None,
                           n.get("Epsilon") if needs_eps else None)}


def _ordered(op, a, b):
    return {"LESS_THAN": a < b, "LESS_EQUAL": a <= b, "GREATER_THAN": a > b, "GREATER_EQUAL": a >= b}[op]


def _normalized_mul(v):
    """BLI's normalize_v3_v3: v * (1 / |v|) where |v|^2 > 1e-35, else zero."""
    d = (v * v).sum(-1)
    ok = d > 1e-35
    inv = 1.0 / sqrt(torch.where(ok, d, torch.ones_like(d)))
    return torch.where(ok[:, None], v * inv[:, None], torch.zeros_like(v))


def _saasin(x):
    return torch.where(x <= -1.0, -math.pi / 2, torch.where(x >= 1.0, math.pi / 2, torch.asin(torch.clamp(x, -1.0, 1.0))))


def angle_v3v3(a, b):
    """BLI's angle_v3v3: the angle of the normalized vectors, 2 asin(|a - b| / 2) (or pi minus
    that of -b where they point apart); 0 when either is zero."""
    a, b = _normalized_mul(a), _normalized_mul(b)
    same = (a * b).sum(-1) >= 0.0
    other = torch.where(same[:, None], b, -b)
    d = a - other
    half = safe_sqrt((d * d).sum(-1)) / 2.0
    angle = 2.0 * _saasin(half)
    return torch.where(same, angle, math.pi - angle)


def _length(v):
    return safe_sqrt((v * v).sum(-1))


def _reduce(mode, v, w):
    """The two scalars a vector comparison compares in LENGTH / AVERAGE mode."""
    if mode == "LENGTH":
        return _length(v), _length(w)
    return (v[:, 0] + v[:, 1] + v[:, 2]) / 3.0, (w[:, 0] + w[:, 1] + w[:, 2]) / 3.0


def _compare(t, op, mode):
    def fn(a, b, extra, eps):
        if t == "VECTOR" and mode == "ELEMENT":
            if op == "EQUAL":
                return (torch.abs(a - b) <= eps[:, None]).all(-1)
            if op == "NOT_EQUAL":
                return (torch.abs(a - b) > eps[:, None]).any(-1)
            return _ordered(op, a, b).all(-1)
        if t == "VECTOR":
            if mode in ("LENGTH", "AVERAGE"):
                a, b = _reduce(mode, a, b)
            else:  # DOT_PRODUCT against C, DIRECTION (the angle) against Angle
                a, b = ((a * b).sum(-1) if mode == "DOT_PRODUCT" else angle_v3v3(a, b)), extra
            if op == "NOT_EQUAL" and mode == "DOT_PRODUCT":  # Blender's >= here (not >)
                return torch.abs(a - b) >= eps
        if op in ("EQUAL", "NOT_EQUAL") and t != "INT":
            eq = torch.abs(a - b) <= eps
            return eq if op == "EQUAL" else ~eq
        if op == "EQUAL":
            return a == b
        if op == "NOT_EQUAL":
            return a != b
        return _ordered(op, a, b)
    return fn


_COMPARE = {(t, op, mode): _compare(t, op, mode) for t in _AB for op in COMPARE_OPS for mode in COMPARE_MODES}


def round_half_away(x):
    """std::round: the nearest integer, halves away from zero (exact: no x + 0.5 rounding)."""
    t = torch.trunc(x)
    return t + torch.where(torch.abs(x - t) >= 0.5, torch.sign(x), torch.zeros_like(x))


_ROUNDING = {
    "ROUND": lambda x: round_half_away(x),
    "FLOOR": torch.floor, "CEILING": torch.ceil, "TRUNCATE": torch.trunc,
}


@node("FunctionNodeFloatToInt", inputs=[S("Float", "FLOAT", 0.0)], outputs=[S("Integer", "INT")],
      properties={"rounding_mode": "ROUND"}, choices={"rounding_mode": tuple(_ROUNDING)})
def float_to_int(n):
    rounding = _ROUNDING[n.props["rounding_mode"]]
    return {"Integer": lift(lambda x: rounding(x).to(torch.int64), n.get("Float"))}
