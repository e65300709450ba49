"""Random programs chaining curves into mesh operations as authors combine them, for comparisons
against Blender through real .blend files (tests/test_chainfuzz_blender.py): a curve primitive
(Curve Line, Curve Circle, Quadratic Bezier, Bezier Segment, Arc; maybe joined with another) through
Resample Curve / Set Curve Radius / Transform / Set Position, made a mesh by Curve to Mesh (with or
without a profile, caps on or off), Fill Curve or Curve to Points (then Points to Vertices, or
cubes instanced on them and realized) -- or a mesh primitive (Cube, Cylinder, Cone, UV / Ico
Sphere, Grid, Mesh Line, Mesh Circle) -- then 0-3 of Extrude Mesh (faces, edges, points;
individual on/off; selections and offsets from fields), Scale Elements, Subdivide Mesh, Flip
Faces, Merge by Distance, Triangulate, Mesh to Points + Points to Vertices, Dual Mesh,
Subdivision Surface, Join Geometry, Instance on Points + Realize Instances, Set Position and
Transform. Sockets are drawn with edge values (0, 1, 2 segments, negative sizes, zero radius)."""
from __future__ import annotations

import random

from fieldtools import GI
from irtools import fparams, link, node, program
from meshfuzz import sel_nodes


def rv(r, lo=-1.0, hi=1.0): return [round(r.uniform(lo, hi), 2) for _ in range(3)]
def edge(r, usual, *edges, p=0.3):
    """`usual` (a value), or with probability p one of the edge values."""
    return r.choice(edges) if r.random() < p else usual


def curve_prim(r, name):
    k = r.choice(["line", "line_dir", "circle", "circle_pts", "arc", "arc_pts", "quad", "bezier"])
    res = lambda: edge(r, r.randint(3, 10), 0, 1, 2)
    if k == "line": return node(name, "GeometryNodeCurvePrimitiveLine", {}, {"Start": rv(r), "End": edge(r, rv(r), [0.0, 0.0, 0.0])})
    if k == "line_dir": return node(name, "GeometryNodeCurvePrimitiveLine", {"mode": "DIRECTION"}, {"Start": rv(r), "Direction": rv(r), "Length": edge(r, round(r.uniform(0.2, 2), 2), 0.0, -1.0)})
    if k == "circle": return node(name, "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": res(), "Radius": edge(r, round(r.uniform(0.2, 1.2), 2), 0.0, -0.5)})
    if k == "circle_pts": return node(name, "GeometryNodeCurvePrimitiveCircle", {"mode": "POINTS"}, {"Resolution": res(), "Point 1": rv(r), "Point 2": rv(r), "Point 3": rv(r)})
    if k == "arc": return node(name, "GeometryNodeCurveArc", {}, {"Resolution": res(), "Radius": edge(r, round(r.uniform(0.2, 1.2), 2), 0.0, -0.5), "Sweep Angle": edge(r, round(r.uniform(0.5, 5.5), 2), 0.0, 6.2832, -1.0), "Start Angle": round(r.uniform(-1, 1), 2), "Connect Center": r.random() < 0.2, "Invert Arc": r.random() < 0.2})
    if k == "arc_pts": return node(name, "GeometryNodeCurveArc", {"mode": "POINTS"}, {"Resolution": res(), "Start": rv(r), "Middle": rv(r), "End": rv(r), "Offset Angle": round(r.uniform(-1, 1), 2), "Connect Center": r.random() < 0.2, "Invert Arc": r.random() < 0.2})
    if k == "quad": return node(name, "GeometryNodeCurveQuadraticBezier", {}, {"Resolution": res(), "Start": rv(r), "Middle": rv(r), "End": rv(r)})
    return node(name, "GeometryNodeCurvePrimitiveBezierSegment", {"mode": r.choice(["POSITION", "OFFSET"])}, {"Resolution": res(), "Start": rv(r), "Start Handle": rv(r), "End Handle": rv(r), "End": rv(r)})


def mesh_prim(r, name):
    k = r.choice(["cube", "cyl", "cone", "uv", "ico", "grid", "line", "circle"])
    fill = lambda: r.choice(["NONE", "NGON", "TRIANGLE_FAN"])
    size = lambda: edge(r, round(r.uniform(0.3, 2), 2), 0.0, -1.0, p=0.15)
    if k == "cube": return node(name, "GeometryNodeMeshCube", {}, {"Size": [size(), size(), size()], "Vertices X": edge(r, r.randint(2, 4), 1, 0), "Vertices Y": edge(r, r.randint(2, 3), 1), "Vertices Z": edge(r, r.randint(2, 3), 1)})
    if k == "cyl": return node(name, "GeometryNodeMeshCylinder", {"fill_type": fill()}, {"Vertices": edge(r, r.randint(3, 10), 2, 1), "Side Segments": edge(r, r.randint(1, 3), 0), "Fill Segments": edge(r, r.randint(1, 2), 0), "Radius": size(), "Depth": size()})
    if k == "cone": return node(name, "GeometryNodeMeshCone", {"fill_type": fill()}, {"Vertices": edge(r, r.randint(3, 10), 2), "Side Segments": edge(r, r.randint(1, 3), 0), "Fill Segments": edge(r, r.randint(1, 2), 0), "Radius Top": edge(r, 0.0, 0.3, -0.3, p=0.4), "Radius Bottom": edge(r, round(r.uniform(0.3, 1), 2), 0.0), "Depth": size()})
    if k == "uv": return node(name, "GeometryNodeMeshUVSphere", {}, {"Segments": edge(r, r.randint(3, 10), 2), "Rings": edge(r, r.randint(2, 6), 1), "Radius": size()})
    if k == "ico": return node(name, "GeometryNodeMeshIcoSphere", {}, {"Subdivisions": edge(r, r.randint(1, 2), 0), "Radius": size()})
    if k == "grid": return node(name, "GeometryNodeMeshGrid", {}, {"Size X": size(), "Size Y": size(), "Vertices X": edge(r, r.randint(2, 5), 1, 0), "Vertices Y": edge(r, r.randint(2, 4), 1)})
    if k == "line":
        if r.random() < 0.5: return node(name, "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": edge(r, r.randint(2, 6), 0, 1), "Start Location": rv(r), "Offset": rv(r)})
        return node(name, "GeometryNodeMeshLine", {"mode": "END_POINTS", "count_mode": r.choice(["TOTAL", "RESOLUTION"])}, {"Count": edge(r, r.randint(2, 6), 1), "Resolution": edge(r, round(r.uniform(0.2, 1), 2), 0.0), "Start Location": rv(r), "Offset": rv(r)})
    return node(name, "GeometryNodeMeshCircle", {"fill_type": fill()}, {"Vertices": edge(r, r.randint(3, 10), 2), "Radius": size()})


def offset_field(r, tag):
    """(nodes, links, source) of a vector field: Position * (b, 0.3, a) or Normal * a."""
    if r.random() < 0.5:
        return ([node(f"OP{tag}", "GeometryNodeInputPosition"), node(f"OC{tag}", "ShaderNodeCombineXYZ", {}, {"Y": 0.3}), node(f"OM{tag}", "ShaderNodeVectorMath", {"operation": "MULTIPLY"})],
                [link((GI, "b"), (f"OC{tag}", "X")), link((GI, "a"), (f"OC{tag}", "Z")), link((f"OP{tag}", "Position"), (f"OM{tag}", "Vector")), link((f"OC{tag}", "Vector"), (f"OM{tag}", "Vector_001"))], (f"OM{tag}", "Vector"))
    return ([node(f"OP{tag}", "GeometryNodeInputNormal"), node(f"OM{tag}", "ShaderNodeVectorMath", {"operation": "SCALE"})],
            [link((f"OP{tag}", "Normal"), (f"OM{tag}", "Vector")), link((GI, "a"), (f"OM{tag}", "Scale"))], (f"OM{tag}", "Vector"))


def curve_op(r, tag, last):
    """(nodes, links, new last) of one curve operation applied to `last`."""
    nm = f"K{tag}"
    k = r.choice(["transform", "radius", "resample", "setpos", "join"])
    if k == "transform":
        sc = [edge(r, round(r.uniform(0.5, 1.5), 2), -1.0, 0.0, p=0.1) for _ in range(3)]
        return [node(nm, "GeometryNodeTransform", {}, {"Translation": rv(r), "Rotation": rv(r, -2, 2), "Scale": sc})], [link(last, (nm, "Geometry"))], (nm, "Geometry")
    if k == "radius":
        if r.random() < 0.4:
            return [node(nm, "GeometryNodeSetCurveRadius", {}, {"Radius": edge(r, round(r.uniform(0.2, 2), 2), 0.0, -0.5)})], [link(last, (nm, "Curve"))], (nm, "Curve")
        return ([node(nm, "GeometryNodeSetCurveRadius"), node(f"RI{tag}", "GeometryNodeInputIndex"), node(f"RM{tag}", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": round(r.uniform(-0.2, 0.3), 2), "Value_002": 0.5})],
                [link(last, (nm, "Curve")), link((f"RI{tag}", "Index"), (f"RM{tag}", "Value")), link((f"RM{tag}", "Value"), (nm, "Radius"))], (nm, "Curve"))
    if k == "resample":
        mode = r.choice(["COUNT", "LENGTH", "EVALUATED"])
        return [node(nm, "GeometryNodeResampleCurve", {"mode": mode}, {"Count": edge(r, r.randint(3, 12), 0, 1, 2), "Length": edge(r, round(r.uniform(0.1, 0.5), 2), 0.0, 5.0)})], [link(last, (nm, "Curve"))], (nm, "Curve")
    if k == "join":
        return [curve_prim(r, f"JC{tag}"), node(nm, "GeometryNodeJoinGeometry")], [link(last, (nm, "Geometry")), link((f"JC{tag}", "Curve"), (nm, "Geometry"), 1)], (nm, "Geometry")
    ns, ls, src = offset_field(r, f"c{tag}")
    return [node(nm, "GeometryNodeSetPosition")] + ns, ls + [link(last, (nm, "Geometry")), link(src, (nm, "Offset"))], (nm, "Geometry")


def curve_to_mesh(r, last):
    """(nodes, links, new last, description) of making the curve `last` a mesh."""
    end = r.choice(["c2m", "c2m_prof", "fill", "points_verts", "points_inst"])
    if end == "c2m": return [node("E", "GeometryNodeCurveToMesh", {}, {"Fill Caps": r.random() < 0.5})], [link(last, ("E", "Curve"))], ("E", "Mesh"), end
    if end == "c2m_prof":
        return ([node("E", "GeometryNodeCurveToMesh", {}, {"Fill Caps": r.random() < 0.5}), curve_prim(r, "P")],
                [link(last, ("E", "Curve")), link(("P", "Curve"), ("E", "Profile Curve"))], ("E", "Mesh"), end)
    if end == "fill": return [node("E", "GeometryNodeFillCurve", {"mode": r.choice(["TRIANGLES", "NGONS"])})], [link(last, ("E", "Curve"))], ("E", "Mesh"), end
    mode = r.choice(["COUNT", "EVALUATED", "LENGTH"])
    pts = node("E", "GeometryNodeCurveToPoints", {"mode": mode}, {"Count": edge(r, r.randint(2, 8), 0, 1), "Length": edge(r, round(r.uniform(0.1, 0.6), 2), 0.0)})
    if end == "points_verts":
        return [pts, node("PV", "GeometryNodePointsToVertices")], [link(last, ("E", "Curve")), link(("E", "Points"), ("PV", "Points"))], ("PV", "Mesh"), end
    return ([pts, node("IC", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.05, 0.2]}), node("IOP", "GeometryNodeInstanceOnPoints"), node("R", "GeometryNodeRealizeInstances")],
            [link(last, ("E", "Curve")), link(("E", "Points"), ("IOP", "Points")), link(("IC", "Mesh"), ("IOP", "Instance")), link(("E", "Rotation"), ("IOP", "Rotation")),
             link(("IOP", "Instances"), ("R", "Geometry"))], ("R", "Geometry"), end)


def mesh_op(r, tag, last):
    """(nodes, links, new last, description) of one mesh operation applied to `last`."""
    nm = f"M{tag}"
    k = r.choice(["extrude", "extrude", "scale", "subdiv", "flip", "merge", "tri", "points", "dual", "subsurf", "join", "instance", "setpos", "transform"])
    nodes, links = [], []
    def selection(sock):
        if r.random() < 0.4:
            sn, sl, s = sel_nodes(r, f"m{tag}"); nodes.extend(sn); links.extend(sl + [link(s, (nm, sock))])
    if k == "extrude":
        mode = r.choice(["FACES", "EDGES", "VERTICES"])
        nodes.append(node(nm, "GeometryNodeExtrudeMesh", {"mode": mode}, {"Offset Scale": edge(r, round(r.uniform(-0.5, 0.8), 3), 0.0, 1.0), "Individual": r.random() < 0.5}))
        selection("Selection")
        if r.random() < 0.35:
            ns, ls, src = offset_field(r, f"m{tag}"); nodes += ns; links += ls + [link(src, (nm, "Offset"))]
        elif r.random() < 0.3:
            links.append(link((GI, "a"), (nm, "Offset Scale")))
        links.append(link(last, (nm, "Mesh"))); return nodes, links, (nm, "Mesh"), f"Extrude{mode[0]}"
    if k == "scale":
        nodes.append(node(nm, "GeometryNodeScaleElements", {"domain": r.choice(["FACE", "EDGE"]), "scale_mode": r.choice(["UNIFORM", "UNIFORM", "SINGLE_AXIS"])}, {"Scale": edge(r, round(r.uniform(0.3, 1.5), 3), 0.0, -1.0)}))
        selection("Selection"); links.append(link(last, (nm, "Geometry"))); return nodes, links, (nm, "Geometry"), "Scale"
    if k == "subdiv": return [node(nm, "GeometryNodeSubdivideMesh", {}, {"Level": edge(r, 1, 0, 2)})], [link(last, (nm, "Mesh"))], (nm, "Mesh"), "Subdivide"
    if k == "flip": return [node(nm, "GeometryNodeFlipFaces")], [link(last, (nm, "Mesh"))], (nm, "Mesh"), "Flip"
    if k == "merge":
        nodes.append(node(nm, "GeometryNodeMergeByDistance", {"mode": r.choice(["ALL", "CONNECTED"])}, {"Distance": edge(r, round(r.uniform(0.01, 0.3), 3), 0.0)}))
        selection("Selection"); links.append(link(last, (nm, "Geometry"))); return nodes, links, (nm, "Geometry"), "Merge"
    if k == "tri":
        return [node(nm, "GeometryNodeTriangulate", {"quad_method": r.choice(["BEAUTY", "FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL"]), "ngon_method": r.choice(["BEAUTY", "CLIP"])}, {"Minimum Vertices": edge(r, 4, 5, 3)})], [link(last, (nm, "Mesh"))], (nm, "Mesh"), "Triangulate"
    if k == "points":
        nodes += [node(nm, "GeometryNodeMeshToPoints", {"mode": r.choice(["VERTICES", "EDGES", "FACES", "CORNERS"])}), node(f"PV{tag}", "GeometryNodePointsToVertices")]
        selection("Selection"); links += [link(last, (nm, "Mesh")), link((nm, "Points"), (f"PV{tag}", "Points"))]; return nodes, links, (f"PV{tag}", "Mesh"), "MeshToPoints"
    if k == "dual": return [node(nm, "GeometryNodeDualMesh", {}, {"Keep Boundaries": r.random() < 0.5})], [link(last, (nm, "Mesh"))], (nm, "Dual Mesh"), "Dual"
    if k == "subsurf": return [node(nm, "GeometryNodeSubdivisionSurface", {}, {"Level": r.randint(0, 2)})], [link(last, (nm, "Mesh"))], (nm, "Mesh"), "SubSurf"
    if k == "join":
        return ([mesh_prim(r, f"JP{tag}"), node(f"JT{tag}", "GeometryNodeTransform", {}, {"Translation": rv(r)}), node(nm, "GeometryNodeJoinGeometry")],
                [link((f"JP{tag}", "Mesh"), (f"JT{tag}", "Geometry")), link(last, (nm, "Geometry")), link((f"JT{tag}", "Geometry"), (nm, "Geometry"), 1)], (nm, "Geometry"), "Join")
    if k == "instance":
        nodes += [node(nm, "GeometryNodeInstanceOnPoints"), node(f"IC{tag}", "GeometryNodeMeshCone", {"fill_type": "NGON"}, {"Vertices": r.randint(3, 6), "Radius Bottom": 0.1, "Depth": 0.2}),
                  node(f"II{tag}", "GeometryNodeInputIndex"), node(f"IM{tag}", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}, {"Value_001": 0.1, "Value_002": 0.5}), node(f"IR{tag}", "GeometryNodeRealizeInstances")]
        links += [link(last, (nm, "Points")), link((f"IC{tag}", "Mesh"), (nm, "Instance")), link((f"II{tag}", "Index"), (f"IM{tag}", "Value")),
                  link((f"IM{tag}", "Value"), (nm, "Scale")), link((nm, "Instances"), (f"IR{tag}", "Geometry"))]
        selection("Selection"); return nodes, links, (f"IR{tag}", "Geometry"), "Instance"
    if k == "transform":
        sc = [edge(r, round(r.uniform(0.5, 1.5), 2), -1.0, p=0.15) for _ in range(3)]
        return [node(nm, "GeometryNodeTransform", {}, {"Translation": rv(r), "Rotation": rv(r, -2, 2), "Scale": sc})], [link(last, (nm, "Geometry"))], (nm, "Geometry"), "Transform"
    ns, ls, src = offset_field(r, f"m{tag}")
    nodes += [node(nm, "GeometryNodeSetPosition")] + ns; links += ls + [link(last, (nm, "Geometry")), link(src, (nm, "Offset"))]
    selection("Selection"); return nodes, links, (nm, "Geometry"), "SetPosition"


def make(seed: int):
    """(IR, a one-line description) of the program drawn by `seed`."""
    r = random.Random(seed)
    nodes, links, desc = [], [], []
    if r.random() < 0.55:
        nodes.append(curve_prim(r, "C0")); last = ("C0", "Curve"); desc.append(nodes[0]["type"].replace("GeometryNode", ""))
        for i in range(r.randint(0, 2)):
            ns, ls, last = curve_op(r, i, last); nodes += ns; links += ls; desc.append(next(n for n in ns if n["name"] == f"K{i}")["type"].replace("GeometryNode", ""))
        ns, ls, last, d = curve_to_mesh(r, last); nodes += ns; links += ls; desc.append(d)
    else:
        nodes.append(mesh_prim(r, "S0")); last = ("S0", "Mesh"); desc.append(nodes[0]["type"].replace("GeometryNode", ""))
    for i in range(r.randint(0 if len(desc) > 1 else 1, 3)):
        ns, ls, last, d = mesh_op(r, i, last); nodes += ns; links += ls; desc.append(d)
    links.append(link(last, ("Group Output", "Out")))
    return program(nodes, links, fparams("a", "b")), " > ".join(desc)
