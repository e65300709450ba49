"""Curve programs for the Blender comparisons: a curve primitive fed by parameters, swept or
turned into a wire mesh by Curve to Mesh."""
from __future__ import annotations

import random

from fieldtools import EDGES, GI
from irtools import link, node

# primitive -> (node type, properties, float vector inputs, float inputs, int inputs (lo, hi), bool inputs)
PRIMITIVES = {
    "line": ("GeometryNodeCurvePrimitiveLine", {"mode": "POINTS"}, ["Start", "End"], [], {}, []),
    "line_direction": ("GeometryNodeCurvePrimitiveLine", {"mode": "DIRECTION"}, ["Start", "Direction"], ["Length"],
                       {}, []),
    "circle": ("GeometryNodeCurvePrimitiveCircle", {"mode": "RADIUS"}, [], ["Radius"], {"Resolution": (1, 9)}, []),
    "arc": ("GeometryNodeCurveArc", {"mode": "RADIUS"}, [], ["Radius", "Start Angle", "Sweep Angle"],
            {"Resolution": (1, 9)}, ["Connect Center", "Invert Arc"]),
    "quadratic": ("GeometryNodeCurveQuadraticBezier", {}, ["Start", "Middle", "End"], [], {"Resolution": (1, 8)}, []),
    "bezier": ("GeometryNodeCurvePrimitiveBezierSegment", {"mode": "POSITION"},
               ["Start", "Start Handle", "End Handle", "End"], [], {"Resolution": (0, 7)}, []),
    "bezier_offset": ("GeometryNodeCurvePrimitiveBezierSegment", {"mode": "OFFSET"},
                      ["Start", "Start Handle", "End Handle", "End"], [], {"Resolution": (0, 7)}, []),
}


def primitive(kind: str, name: str, prefix: str):
    """(nodes, links, params) of primitive `kind` named `name`, every input fed by a parameter
    named prefix + socket (vectors through a Combine XYZ)."""
    type_, props, vectors, floats, ints, bools = PRIMITIVES[kind]
    nodes, links, params = [node(name, type_, props)], [], []
    for sock in vectors:
        comb = f"{name} {sock}"
        nodes.append(node(comb, "ShaderNodeCombineXYZ"))
        links.append(link((comb, "Vector"), (name, sock)))
        for axis in "XYZ":
            p = f"{prefix}{sock} {axis}"
            params.append({"name": p, "kind": "float", "default": 0.0, "min": -2.0, "max": 2.0})
            links.append(link((GI, p), (comb, axis)))
    for sock in floats:
        params.append({"name": prefix + sock, "kind": "float", "default": 1.0, "min": -2.0, "max": 2.0})
        links.append(link((GI, prefix + sock), (name, sock)))
    for sock, (lo, hi) in ints.items():
        params.append({"name": prefix + sock, "kind": "int", "default": 4, "min": lo, "max": hi})
        links.append(link((GI, prefix + sock), (name, sock)))
    for sock in bools:
        params.append({"name": prefix + sock, "kind": "bool", "default": False})
        links.append(link((GI, prefix + sock), (name, sock)))
    return nodes, links, params


def parameter_sets(params, n, seed, swept=False):
    """n sets: floats half from EDGES, half uniform in [min, max]; ints and bools at random.
    `swept`: no arc of sweep 0 (its ends coincide, so the tangents there, and Blender's normals,
    come from float rounding noise)."""
    rng = random.Random(seed)
    sets = []
    for i in range(n):
        values = {}
        for p in params:
            if p["kind"] == "float":
                values[p["name"]] = rng.choice(EDGES) if i < n // 2 else rng.uniform(p["min"], p["max"])
            elif p["kind"] == "int":
                values[p["name"]] = rng.randint(p["min"], p["max"])
            else:
                values[p["name"]] = rng.random() < 0.5
        for name in values:
            if swept and name.endswith("Sweep Angle") and values[name] == 0.0:
                values[name] = 0.75
        sets.append(values)
    return sets
