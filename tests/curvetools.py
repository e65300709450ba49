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
    "circle_points": ("GeometryNodeCurvePrimitiveCircle", {"mode": "POINTS"}, ["Point 1", "Point 2", "Point 3"], [],
                      {"Resolution": (1, 9)}, []),
    "arc": ("GeometryNodeCurveArc", {"mode": "RADIUS"}, [], ["Radius", "Start Angle", "Sweep Angle"],
            {"Resolution": (1, 9)}, ["Connect Center", "Invert Arc"]),
    "arc_points": ("GeometryNodeCurveArc", {"mode": "POINTS"}, ["Start", "Middle", "End"], ["Offset Angle"],
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
    `swept`: no arc of sweep 0 and no curve whose ends coincide (the tangents there, and
    Blender's normals, would come from float rounding noise)."""
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
            # a curve from a point back to it can double back exactly on itself: the tangent at
            # its tip is rounding noise (in Blender too), so swept curves get ends apart
            if swept and name.endswith("Start X"):
                prefix = name[:-len("Start X")]
                if f"{prefix}End X" in values and all(values[f"{prefix}Start {a}"] == values[f"{prefix}End {a}"]
                                                      for a in "XYZ"):
                    values[f"{prefix}End X"] += 0.25
            # a quadratic Bezier whose second leg runs exactly back along its first (Middle - Start
            # and End - Middle anti-parallel) folds onto itself: its normals there are rounding noise
            # (Blender's jumped 0.2 under a 1e-4 change of one control point, and differ between CPUs)
            if swept and name.endswith("Middle X"):
                prefix = name[:-len("Middle X")]
                pts = [[values.get(f"{prefix}{w} {a}") for a in "XYZ"] for w in ("Start", "Middle", "End")]
                if all(v is not None for p in pts for v in p):
                    u = [m - s for s, m in zip(pts[0], pts[1])]
                    v = [e - m for m, e in zip(pts[1], pts[2])]
                    cross = (u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0])
                    if all(abs(c) < 1e-9 for c in cross) and sum(a * b for a, b in zip(u, v)) < 0:
                        values[f"{prefix}End X"] += 0.25
        sets.append(values)
    return sets


def joined_splines():
    """(nodes, links, params) of a Bezier segment, a circle and a quadratic Bezier joined by 'J':
    one curves component of three splines (parameters prefixed 'b ', 'a ', 'q ')."""
    nodes, links, params = [], [], []
    for kind, name, prefix in (("bezier", "B", "b "), ("circle", "A", "a "), ("quadratic", "Q", "q ")):
        n_, l_, p_ = primitive(kind, name, prefix)
        nodes, links, params = nodes + n_, links + l_, params + p_
    nodes.append(node("J", "GeometryNodeJoinGeometry"))
    links += [link(("B", "Curve"), ("J", "Geometry"), 0), link(("A", "Curve"), ("J", "Geometry"), 1),
              link(("Q", "Curve"), ("J", "Geometry"), 2)]
    return nodes, links, params


def joined_resample_program(mode: str, selection: str, swept: bool):
    """joined_splines (radius 0.5), then Resample Curve with fields on the CURVE domain: Count =
    Index * 2 + count, Length = Index * 0.25 + length, Selection (selection 'index': Index > t;
    'position': the mean of a spline's control points' x > t; 'none': unlinked), then Curve to
    Mesh (a wire mesh, or swept by a small circle). Returns (ir, params)."""
    from irtools import program
    nodes, links, params = joined_splines()
    nodes += [node("R", "GeometryNodeSetCurveRadius", {}, {"Radius": 0.5}),
              node("S", "GeometryNodeResampleCurve", {"mode": mode}),
              node("I", "GeometryNodeInputIndex"), node("P", "GeometryNodeInputPosition"), node("PS", "ShaderNodeSeparateXYZ"),
              node("Sel", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
              node("Cnt", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 2.0}),
              node("Len", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.25}),
              node("M", "GeometryNodeCurveToMesh")]
    links += [link(("J", "Geometry"), ("R", "Curve")), link(("R", "Curve"), ("S", "Curve")),
              link(("I", "Index"), ("Cnt", "Value")), link((GI, "count"), ("Cnt", "Value_002")),
              link(("I", "Index"), ("Len", "Value")), link((GI, "length"), ("Len", "Value_002")),
              link(("Cnt", "Value"), ("S", "Count")), link(("Len", "Value"), ("S", "Length")),
              link(("P", "Position"), ("PS", "Vector")), link((GI, "t"), ("Sel", "B")),
              link(("S", "Curve"), ("M", "Curve")), link(("M", "Mesh"), ("Group Output", "Out"))]
    if selection != "none":
        source = ("PS", "X") if selection == "position" else ("I", "Index")
        links += [link(source, ("Sel", "A")), link(("Sel", "Result"), ("S", "Selection"))]
    if swept:
        nodes.append(node("Pr", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.2}))
        links.append(link(("Pr", "Curve"), ("M", "Profile Curve")))
    params += [{"name": "count", "kind": "int", "default": 5, "min": -3, "max": 6},
               {"name": "length", "kind": "float", "default": 0.3, "min": 0.2, "max": 1.5},
               {"name": "t", "kind": "float", "default": 0.0, "min": -1.0, "max": 1.5}]
    return program(nodes, links, params), params


def joined_points_program():
    """joined_splines -> Curve to Points COUNT with Count = Index * 2 + count (a field on the
    CURVE domain), a cube instanced on every point turned by Rotation, realized. Returns
    (ir, params)."""
    from irtools import program
    nodes, links, params = joined_splines()
    nodes += [node("S", "GeometryNodeCurveToPoints", {"mode": "COUNT"}), node("I", "GeometryNodeInputIndex"),
              node("Cnt", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 2.0}),
              node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
              node("IP", "GeometryNodeInstanceOnPoints"), node("Z", "GeometryNodeRealizeInstances")]
    links += [link(("J", "Geometry"), ("S", "Curve")), link(("I", "Index"), ("Cnt", "Value")),
              link((GI, "count"), ("Cnt", "Value_002")), link(("Cnt", "Value"), ("S", "Count")),
              link(("S", "Points"), ("IP", "Points")), link(("Cube", "Mesh"), ("IP", "Instance")),
              link(("S", "Rotation"), ("IP", "Rotation")), link(("IP", "Instances"), ("Z", "Geometry")),
              link(("Z", "Geometry"), ("Group Output", "Out"))]
    params += [{"name": "count", "kind": "int", "default": 5, "min": -3, "max": 6}]
    return program(nodes, links, params), params
