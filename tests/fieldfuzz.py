"""Random field programs, written as users write them, for comparisons against Blender
(tests/test_fuzz_blender.py): a mesh primitive (meshfuzz's), maybe a Store Named Attribute and a
Capture Attribute of random fields on random domains, then 1-3 of Set Position (Selection with
Offset or Position), Delete / Separate Geometry, Store Named Attribute, Extrude Mesh and Scale
Elements, each fed random expression trees over Position, Index, Normal, ID, the stored named
attribute, the captured values and the group inputs: Math (every operation, clamp), Vector Math,
Boolean Math, Compare (FLOAT, INT, VECTOR in every mode), Switch, Map Range, Mix, Combine /
Separate XYZ and Float to Integer, linked across socket types so that Blender's implicit
conversions (and its interpolation between domains) take part."""
from __future__ import annotations

import random

from fieldtools import GI
from irtools import fparams, link, node, program
from meshfuzz import SOURCES

MATH = ["ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "MULTIPLY_ADD", "POWER", "LOGARITHM", "SQRT", "INVERSE_SQRT",
        "ABSOLUTE", "EXPONENT", "MINIMUM", "MAXIMUM", "LESS_THAN", "GREATER_THAN", "SIGN", "COMPARE", "SMOOTH_MIN",
        "SMOOTH_MAX", "ROUND", "FLOOR", "CEIL", "TRUNC", "FRACT", "MODULO", "FLOORED_MODULO", "WRAP", "SNAP",
        "PINGPONG", "SINE", "COSINE", "TANGENT", "ARCSINE", "ARCCOSINE", "ARCTANGENT", "ARCTAN2", "SINH", "COSH",
        "TANH", "RADIANS", "DEGREES"]
VMATH = ["ADD", "SUBTRACT", "MULTIPLY", "DIVIDE", "MULTIPLY_ADD", "CROSS_PRODUCT", "PROJECT", "REFLECT", "REFRACT",
         "FACEFORWARD", "DOT_PRODUCT", "DISTANCE", "LENGTH", "SCALE", "NORMALIZE", "ABSOLUTE", "MINIMUM", "MAXIMUM",
         "FLOOR", "CEIL", "FRACTION", "MODULO", "WRAP", "SNAP", "SINE", "COSINE", "TANGENT"]
VMATH_VALUE = ("DOT_PRODUCT", "DISTANCE", "LENGTH")
BOOL = ["AND", "OR", "NOT", "NAND", "NOR", "XNOR", "XOR", "IMPLY", "NIMPLY"]
CMP = ["LESS_THAN", "LESS_EQUAL", "GREATER_THAN", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]
CMP_MODES = ["ELEMENT", "LENGTH", "AVERAGE", "DOT_PRODUCT", "DIRECTION"]
ATTR_TYPES = {"FLOAT": "FLOAT", "INT": "INT", "BOOLEAN": "BOOL", "FLOAT_VECTOR": "VECTOR"}
TYPES = ("FLOAT", "VECTOR", "INT", "BOOL")


def const(r):
    """A user's constant: round numbers (zeros, ones, halves: Blender's ties) or two decimals."""
    return r.choice([0.0, 1.0, -1.0, 0.5, 2.0, round(r.uniform(-1.5, 1.5), 2), round(r.uniform(-1.5, 1.5), 2)])


class Expr:
    """Random expression trees; nodes and links gather in `nodes` / `links`. `sources` are the
    field inputs available (type -> [(node, socket)]), beyond Position, Normal, Index and ID."""

    def __init__(self, r: random.Random, prefix: str):
        self.r, self.prefix, self.k = r, prefix, 0
        self.nodes, self.links, self.sources = [], [], {t: [] for t in TYPES}

    def add(self, type_, props=None, inputs=None):
        name = f"{self.prefix}{self.k}"
        self.k += 1
        self.nodes.append(node(name, type_, props, inputs))
        return name

    def feed(self, dst, want, depth):
        """Link a random expression (of `want`, or another type: an implicit conversion) to dst."""
        r = self.r
        if r.random() < 0.15:
            want = r.choice(TYPES)
        if depth <= 0 or r.random() < 0.25:
            src = self.leaf(want)
        else:
            src = self.inner(want, depth - 1)
        if src is not None:
            self.links.append(link(src, dst))

    def leaf(self, want):
        """A field input (or a group input: a single value), or None (the socket keeps its value)."""
        r = self.r
        own = self.sources[want]
        if own and r.random() < 0.4:
            return r.choice(own)
        if want == "VECTOR":
            if r.random() < 0.15:
                return None
            t = r.choice(["GeometryNodeInputPosition", "GeometryNodeInputPosition", "GeometryNodeInputNormal"])
            return self.add(t), t[len("GeometryNodeInput"):]
        if want == "INT":
            t = r.choice(["GeometryNodeInputIndex", "GeometryNodeInputIndex", "GeometryNodeInputID"])
            return self.add(t), t[len("GeometryNodeInput"):]
        if want == "FLOAT":
            k = r.random()
            if k < 0.3:
                return GI, r.choice("ab")
            if k < 0.4:
                return None
            s = self.add("ShaderNodeSeparateXYZ")
            self.feed((s, "Vector"), "VECTOR", 0)
            return s, r.choice("XYZ")
        return self.inner("BOOL", -1)  # a Compare of leaves

    def inner(self, want, depth):
        r = self.r
        if want == "FLOAT":
            k = r.choice(["math", "math", "math", "sep", "vvalue", "maprange", "mix", "switch"])
        elif want == "VECTOR":
            k = r.choice(["vmath", "vmath", "vmath", "combine", "maprange", "mix", "switch"])
        elif want == "INT":
            k = r.choice(["f2i", "f2i", "switch"])
        else:
            k = "compare" if depth < 0 else r.choice(["compare", "compare", "compare", "bool", "bool", "switch"])
        if k == "math":
            op = r.choice(MATH)
            n = self.add("ShaderNodeMath", {"operation": op, "use_clamp": r.random() < 0.2},
                         {"Value": const(r), "Value_001": const(r), "Value_002": const(r)})
            for s in r.sample(["Value", "Value_001", "Value_002"], r.randint(1, 2)):
                self.feed((n, s), "FLOAT", depth)
            return n, "Value"
        if k == "sep":
            n = self.add("ShaderNodeSeparateXYZ")
            self.feed((n, "Vector"), "VECTOR", depth)
            return n, r.choice("XYZ")
        if k in ("vmath", "vvalue"):
            op = r.choice(VMATH_VALUE if k == "vvalue" else VMATH)
            n = self.add("ShaderNodeVectorMath", {"operation": op},
                         {"Vector": [const(r) for _ in range(3)], "Vector_001": [const(r) for _ in range(3)],
                          "Vector_002": [const(r) for _ in range(3)], "Scale": const(r)})
            for s in ["Vector"] + r.sample(["Vector_001", "Vector_002", "Scale"], r.randint(0, 1)):
                self.feed((n, s), "FLOAT" if s == "Scale" else "VECTOR", depth)
            return n, "Value" if op in VMATH_VALUE else "Vector"
        if k == "combine":
            n = self.add("ShaderNodeCombineXYZ", {}, {a: const(r) for a in "XYZ"})
            for s in r.sample("XYZ", r.randint(1, 3)):
                self.feed((n, s), "FLOAT", depth)
            return n, "Vector"
        if k == "maprange":
            vec = want == "VECTOR"
            interp = r.choice(["LINEAR", "STEPPED", "SMOOTHSTEP", "SMOOTHERSTEP"])
            ids = ["Vector", "From_Min_FLOAT3", "From_Max_FLOAT3", "To_Min_FLOAT3", "To_Max_FLOAT3", "Steps_FLOAT3"] \
                if vec else ["Value", "From Min", "From Max", "To Min", "To Max", "Steps"]
            vals = [const(r), r.choice([0.0, -1.0, -0.5]), r.choice([1.0, 0.5, 2.0, 0.0]), const(r), const(r),
                    float(r.choice([1, 2, 4]))]
            n = self.add("ShaderNodeMapRange", {"data_type": "FLOAT_VECTOR" if vec else "FLOAT",
                                                "interpolation_type": interp, "clamp": r.random() < 0.5},
                         {i: ([v] * 3 if vec else v) for i, v in zip(ids, vals)})
            self.feed((n, ids[0]), want, depth)
            if r.random() < 0.3:
                self.feed((n, r.choice(ids[1:5])), want, depth)
            return n, "Vector" if vec else "Result"
        if k == "mix":
            vec = want == "VECTOR"
            mode = r.choice(["UNIFORM", "NON_UNIFORM"]) if vec else "UNIFORM"
            suffix = "Vector" if vec else "Float"
            fac = "Factor_Vector" if mode == "NON_UNIFORM" else "Factor_Float"
            n = self.add("ShaderNodeMix", {"data_type": "VECTOR" if vec else "FLOAT", "factor_mode": mode,
                                           "clamp_factor": r.random() < 0.5},
                         {fac: [const(r)] * 3 if mode == "NON_UNIFORM" else const(r),
                          f"A_{suffix}": [const(r)] * 3 if vec else const(r),
                          f"B_{suffix}": [const(r)] * 3 if vec else const(r)})
            for s in r.sample([fac, f"A_{suffix}", f"B_{suffix}"], r.randint(1, 3)):
                self.feed((n, s), "VECTOR" if s == "Factor_Vector" else "FLOAT" if s == "Factor_Float" else want, depth)
            return n, f"Result_{suffix}"
        if k == "switch":
            t = {"FLOAT": "FLOAT", "VECTOR": "VECTOR", "INT": "INT", "BOOL": "BOOLEAN"}[want]
            default = {"FLOAT": const(r), "VECTOR": [const(r) for _ in range(3)], "INT": r.randint(-2, 5),
                       "BOOL": r.random() < 0.5}[want]
            n = self.add("GeometryNodeSwitch", {"input_type": t}, {"False": default, "True": default})
            self.feed((n, "Switch"), "BOOL", depth)
            for s in r.sample(["False", "True"], r.randint(1, 2)):
                self.feed((n, s), want, depth)
            return n, "Output"
        if k == "f2i":
            n = self.add("FunctionNodeFloatToInt", {"rounding_mode": r.choice(["ROUND", "FLOOR", "CEILING", "TRUNCATE"])})
            self.feed((n, "Float"), "FLOAT", depth)
            return n, "Integer"
        if k == "bool":
            op = r.choice(BOOL)
            n = self.add("FunctionNodeBooleanMath", {"operation": op},
                         {"Boolean": r.random() < 0.5, "Boolean_001": r.random() < 0.5})
            for s in (["Boolean"] if op == "NOT" else r.sample(["Boolean", "Boolean_001"], r.randint(1, 2))):
                self.feed((n, s), "BOOL", depth)
            return n, "Boolean"
        # compare
        t = r.choice(["FLOAT", "FLOAT", "INT", "VECTOR", "VECTOR"])
        op, mode = r.choice(CMP), r.choice(CMP_MODES) if t == "VECTOR" else "ELEMENT"
        inputs = {"Epsilon": r.choice([0.001, 0.1, 0.5, 0.0]), "C": const(r), "Angle": round(r.uniform(0, 3), 2)}
        if t == "FLOAT":
            ids = ("A", "B")
            inputs.update(A=const(r), B=const(r))
        elif t == "INT":
            ids = ("A_INT", "B_INT")
            inputs.update(A_INT=r.randint(-1, 6), B_INT=r.randint(-1, 6))
        else:
            ids = ("A_VEC3", "B_VEC3")
            inputs.update(A_VEC3=[const(r) for _ in range(3)], B_VEC3=[const(r) for _ in range(3)])
        n = self.add("FunctionNodeCompare", {"data_type": t, "operation": op, "mode": mode}, inputs)
        for s in r.sample(ids, r.randint(1, 2)):
            self.feed((n, s), {"A": "FLOAT", "B": "FLOAT", "A_INT": "INT", "B_INT": "INT"}.get(s, "VECTOR"), depth)
        return n, "Result"


def _attribute(e: Expr, r, name: str, last, depth: int):
    """Store Named Attribute `name` (random type and domain) of a random field; its reader joins
    the sources. Returns the new geometry socket."""
    dt, domain = r.choice(list(ATTR_TYPES)), r.choice(["POINT", "POINT", "FACE", "EDGE"])
    n = e.add("GeometryNodeStoreNamedAttribute", {"data_type": dt, "domain": domain}, {"Name": name})
    e.links.append(link(last, (n, "Geometry")))
    e.feed((n, "Value"), ATTR_TYPES[dt], depth)
    if r.random() < 0.3:
        e.feed((n, "Selection"), "BOOL", 1)
    read_dt = r.choice(list(ATTR_TYPES)) if r.random() < 0.2 else dt  # read as another type: converted
    rd = e.add("GeometryNodeInputNamedAttribute", {"data_type": read_dt}, {"Name": name})
    e.sources[ATTR_TYPES[read_dt]].append((rd, "Attribute"))
    return (n, "Geometry"), f"Store{dt[:3]}@{domain}"


def _capture(e: Expr, r, last, depth: int):
    dt, domain = r.choice(list(ATTR_TYPES)), r.choice(["POINT", "POINT", "FACE", "EDGE"])
    n = e.add("GeometryNodeCaptureAttribute", {"domain": domain, "capture_items": [["Value", dt]]})
    e.links.append(link(last, (n, "Geometry")))
    e.feed((n, "Value"), ATTR_TYPES[dt], depth)
    e.sources[ATTR_TYPES[dt]].append((n, "Attribute"))
    return (n, "Geometry"), f"Capture{dt[:3]}@{domain}"


def _op(e: Expr, r, last, depth: int):
    """One node consuming fields; returns (its geometry output, description)."""
    k = r.choice(["setpos", "setpos", "setpos", "delete", "separate", "store", "extrude", "scale"])
    if k == "setpos":
        n = e.add("GeometryNodeSetPosition")
        e.links.append(link(last, (n, "Geometry")))
        e.feed((n, "Position" if r.random() < 0.3 else "Offset"), "VECTOR", depth)
        if r.random() < 0.6:
            e.feed((n, "Selection"), "BOOL", depth)
        return (n, "Geometry"), "SetPosition"
    if k in ("delete", "separate"):
        domain = r.choice(["POINT", "EDGE", "FACE"])
        props = {"domain": domain, **({"mode": r.choice(["ALL", "ONLY_FACE", "EDGE_FACE"])} if k == "delete" else {})}
        n = e.add("GeometryNodeDeleteGeometry" if k == "delete" else "GeometryNodeSeparateGeometry", props)
        e.links.append(link(last, (n, "Geometry")))
        e.feed((n, "Selection"), "BOOL", depth)
        out = "Geometry" if k == "delete" else r.choice(["Selection", "Inverted"])
        return (n, out), f"{k}@{domain}"
    if k == "store":
        return _attribute(e, r, r.choice(["fz", "fy"]), last, depth)
    if k == "extrude":
        mode = r.choice(["FACES", "FACES", "EDGES", "VERTICES"])
        n = e.add("GeometryNodeExtrudeMesh", {"mode": mode},
                  {"Offset Scale": round(r.uniform(-0.5, 0.8), 2), "Individual": r.random() < 0.5})
        e.links.append(link(last, (n, "Mesh")))
        for s, t in (("Selection", "BOOL"), ("Offset", "VECTOR"), ("Offset Scale", "FLOAT")):
            if r.random() < 0.5:
                e.feed((n, s), t, depth)
        return (n, "Mesh"), f"Extrude{mode}"
    domain = r.choice(["FACE", "EDGE"])
    mode = r.choice(["UNIFORM", "SINGLE_AXIS"])
    n = e.add("GeometryNodeScaleElements", {"domain": domain, "scale_mode": mode}, {"Scale": round(r.uniform(0.3, 1.5), 2)})
    e.links.append(link(last, (n, "Geometry")))
    for s, t in (("Selection", "BOOL"), ("Scale", "FLOAT"), ("Center", "VECTOR"), ("Axis", "VECTOR")):
        if r.random() < 0.5 and (s != "Axis" or mode == "SINGLE_AXIS"):
            e.feed((n, s), t, depth)
    return (n, "Geometry"), f"Scale{domain}{mode[0]}"


def make(seed: int):
    """(IR, a one-line description) of the field program drawn by `seed`."""
    r = random.Random(seed)
    t, props, inputs = r.choice(SOURCES)
    e = Expr(r, "F")
    nodes = [node("SRC", t, props, inputs(r))]
    last, desc = ("SRC", "Mesh"), [t.replace("GeometryNodeMesh", "")]
    depth = r.randint(1, 3)
    if r.random() < 0.5:
        last, d = _attribute(e, r, "fa", last, depth)
        desc.append(d)
    if r.random() < 0.4:
        last, d = _capture(e, r, last, depth)
        desc.append(d)
    for _ in range(r.randint(1, 3)):
        last, d = _op(e, r, last, depth)
        desc.append(d)
    links = e.links + [link(last, ("Group Output", "Out"))]
    return program(nodes + e.nodes, links, fparams("a", "b")), " > ".join(desc)
