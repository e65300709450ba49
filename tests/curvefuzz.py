"""Random curve programs (a curve primitive, maybe joined with another, then Transform, Set
Curve Radius by an Index field, Resample Curve and Set Position by Position fields, ending in
Curve to Mesh with or without a profile, Fill Curve, or Curve to Points with cubes instanced by
its Rotation) for comparisons against Blender (tests/test_fuzz_blender.py)."""
from __future__ import annotations

import random

from fieldtools import GI
from irtools import fparams, link, node, program


def rv(r, lo=-1.0, hi=1.0): return [round(r.uniform(lo, hi), 2) for _ in range(3)]
def prim(r, name):
    k = r.choice(["line", "circle", "arc", "quad", "bezier"])
    if k == "line": return node(name, "GeometryNodeCurvePrimitiveLine", {}, {"Start": rv(r), "End": rv(r)})
    if k == "circle": return node(name, "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": r.randint(3, 12), "Radius": round(r.uniform(0.2, 1.2), 2)})
    if k == "arc": return node(name, "GeometryNodeCurveArc", {}, {"Resolution": r.randint(2, 10), "Radius": round(r.uniform(0.2, 1.2), 2), "Sweep Angle": round(r.uniform(0.5, 5.5), 2), "Start Angle": round(r.uniform(-1, 1), 2)})
    if k == "quad": return node(name, "GeometryNodeCurveQuadraticBezier", {}, {"Resolution": r.randint(2, 10), "Start": rv(r), "Middle": rv(r), "End": rv(r)})
    return node(name, "GeometryNodeCurvePrimitiveBezierSegment", {}, {"Resolution": r.randint(2, 10), "Start": rv(r), "Start Handle": rv(r), "End Handle": rv(r), "End": rv(r)})

def make(seed: int):
    """(IR, a one-line description) of the curve program drawn by `seed`."""
    r = random.Random(seed)
    nodes = [prim(r, "C0")]; links = []; last = ("C0", "Curve"); desc = [nodes[0]["type"][12:]]
    if r.random() < 0.3:
        nodes += [prim(r, "C1"), node("J", "GeometryNodeJoinGeometry")]
        links += [link(last, ("J", "Geometry")), link(("C1", "Curve"), ("J", "Geometry"), 1)]; last = ("J", "Geometry"); desc.append("Join")
    for i in range(r.randint(0, 3)):
        k = r.choice(["transform", "radius", "resample", "setpos"])
        nm = f"O{i}"
        if k == "transform":
            nodes.append(node(nm, "GeometryNodeTransform", {}, {"Translation": rv(r), "Rotation": rv(r, -2, 2), "Scale": [round(r.uniform(0.5, 1.5), 2) for _ in range(3)]}))
            links.append(link(last, (nm, "Geometry"))); last = (nm, "Geometry")
        elif k == "radius":
            nodes += [node(nm, "GeometryNodeSetCurveRadius"), node(f"RI{i}", "GeometryNodeInputIndex"), node(f"RM{i}", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.1, "Value_002": 0.5})]
            links += [link(last, (nm, "Curve")), link((f"RI{i}", "Index"), (f"RM{i}", "Value")), link((f"RM{i}", "Value"), (nm, "Radius"))]; last = (nm, "Curve")
        elif k == "resample":
            nodes.append(node(nm, "GeometryNodeResampleCurve", {"mode": r.choice(["COUNT", "LENGTH"])}, {"Count": r.randint(2, 12), "Length": round(r.uniform(0.1, 0.5), 2)}))
            links.append(link(last, (nm, "Curve"))); last = (nm, "Curve")
        else:
            nodes += [node(nm, "GeometryNodeSetPosition"), node(f"SP{i}", "GeometryNodeInputPosition"), node(f"SC{i}", "ShaderNodeCombineXYZ"), node(f"SM{i}", "ShaderNodeVectorMath", {"operation": "MULTIPLY"})]
            links += [link(last, (nm, "Geometry")), link((GI, "a"), (f"SC{i}", "Z")), link((GI, "b"), (f"SC{i}", "X")), link((f"SP{i}", "Position"), (f"SM{i}", "Vector")), link((f"SC{i}", "Vector"), (f"SM{i}", "Vector_001")), link((f"SM{i}", "Vector"), (nm, "Offset"))]
            last = (nm, "Geometry")
        desc.append(k)
    end = r.choice(["c2m", "c2m_prof", "fill", "points_inst"])
    if end == "c2m": nodes.append(node("E", "GeometryNodeCurveToMesh")); links += [link(last, ("E", "Curve")), link(("E", "Mesh"), ("Group Output", "Out"))]
    elif end == "c2m_prof":
        nodes += [node("E", "GeometryNodeCurveToMesh", {}, {"Fill Caps": r.random() < 0.5}), prim(r, "P")]
        nodes[-1]["name"] = "P"
        links += [link(last, ("E", "Curve")), link(("P", "Curve"), ("E", "Profile Curve")), link(("E", "Mesh"), ("Group Output", "Out"))]
    elif end == "fill": nodes.append(node("E", "GeometryNodeFillCurve", {"mode": r.choice(["TRIANGLES", "NGONS"])})); links += [link(last, ("E", "Curve")), link(("E", "Mesh"), ("Group Output", "Out"))]
    else:
        nodes += [node("E", "GeometryNodeCurveToPoints", {"mode": r.choice(["COUNT", "EVALUATED"])}, {"Count": r.randint(2, 8)}), node("IC", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.05, 0.2]}),
                  node("IOP", "GeometryNodeInstanceOnPoints"), node("R", "GeometryNodeRealizeInstances")]
        links += [link(last, ("E", "Curve")), link(("E", "Points"), ("IOP", "Points")), link(("IC", "Mesh"), ("IOP", "Instance")), link(("E", "Rotation"), ("IOP", "Rotation")),
                  link(("IOP", "Instances"), ("R", "Geometry")), link(("R", "Geometry"), ("Group Output", "Out"))]
    desc.append(end)
    return program(nodes, links, fparams("a", "b")), " > ".join(desc)
