"""Random chains of mesh nodes (a primitive, then 1-4 of Extrude, Scale Elements, Flip Faces,
Triangulate, Merge by Distance, Delete / Separate Geometry, Subdivide, Set Position, Transform,
Dual Mesh, with selections from Position, Normal and Index fields) for comparisons against
Blender (tests/test_fuzz_blender.py): programs no one wrote by hand, as users' files are."""
from __future__ import annotations

import random

from fieldtools import GI
from irtools import fparams, link, node, program

SOURCES = [
    ("GeometryNodeMeshCube", {}, lambda r: {"Size": [r.uniform(.3, 2), r.uniform(.3, 2), r.uniform(.3, 2)], "Vertices X": r.randint(2, 4), "Vertices Y": r.randint(2, 3), "Vertices Z": r.randint(2, 3)}),
    ("GeometryNodeMeshGrid", {}, lambda r: {"Size X": r.uniform(.5, 2), "Size Y": r.uniform(.5, 2), "Vertices X": r.randint(2, 5), "Vertices Y": r.randint(2, 4)}),
    ("GeometryNodeMeshCylinder", {"fill_type": "NGON"}, lambda r: {"Vertices": r.randint(3, 12), "Side Segments": r.randint(1, 3), "Radius": r.uniform(.2, 1)}),
    ("GeometryNodeMeshCylinder", {"fill_type": "TRIANGLE_FAN"}, lambda r: {"Vertices": r.randint(3, 9), "Fill Segments": r.randint(1, 2)}),
    ("GeometryNodeMeshCone", {"fill_type": "NGON"}, lambda r: {"Vertices": r.randint(3, 10), "Radius Top": r.choice([0.0, 0.3])}),
    ("GeometryNodeMeshUVSphere", {}, lambda r: {"Segments": r.randint(3, 10), "Rings": r.randint(2, 6)}),
    ("GeometryNodeMeshIcoSphere", {}, lambda r: {"Subdivisions": r.randint(1, 2)}),
    ("GeometryNodeMeshCircle", {"fill_type": "NGON"}, lambda r: {"Vertices": r.randint(3, 10)}),
]

def sel_nodes(r, tag):
    """(nodes, links, (node, socket)) of a random selection field."""
    kind = r.choice(["pos", "normal", "index"])
    if kind == "index":
        return ([node(f"I{tag}", "GeometryNodeInputIndex"), node(f"C{tag}", "FunctionNodeCompare", {"data_type": "INT", "operation": r.choice(["LESS_THAN", "GREATER_EQUAL", "NOT_EQUAL"])}, {"B_INT": r.randint(0, 6)})],
                [link((f"I{tag}", "Index"), (f"C{tag}", "A_INT"))], (f"C{tag}", "Result"))
    src = ("GeometryNodeInputPosition", "Position") if kind == "pos" else ("GeometryNodeInputNormal", "Normal")
    axis = r.choice("XYZ")
    return ([node(f"P{tag}", src[0]), node(f"S{tag}", "ShaderNodeSeparateXYZ"), node(f"C{tag}", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": r.choice(["LESS_THAN", "GREATER_THAN"])}, {"B": round(r.uniform(-0.3, 0.3), 2)})],
            [link((f"P{tag}", src[1]), (f"S{tag}", "Vector")), link((f"S{tag}", axis), (f"C{tag}", "A"))], (f"C{tag}", "Result"))

def op(r, tag):
    """(nodes, links, in socket, out socket) of a random op node named O{tag}."""
    name = f"O{tag}"
    k = r.choice(["extrude_f", "extrude_fi", "extrude_v", "extrude_e", "scale", "flip", "tri", "merge", "delete", "subdiv",
                  "setpos", "transform", "dual", "separate", "instance", "join"])
    nodes, links = [], []
    if k.startswith("extrude"):
        mode = {"extrude_f": "FACES", "extrude_fi": "FACES", "extrude_v": "VERTICES", "extrude_e": "EDGES"}[k]
        n = node(name, "GeometryNodeExtrudeMesh", {"mode": mode}, {"Offset Scale": round(r.uniform(-0.5, 0.8), 3), "Individual": k == "extrude_fi"})
        if r.random() < 0.5:
            sn, sl, s = sel_nodes(r, tag); nodes += sn; links += sl + [link(s, (name, "Selection"))]
        if r.random() < 0.4:
            links.append(link((GI, "a"), (name, "Offset Scale")))
        return [n] + nodes, links, "Mesh", "Mesh"
    if k == "scale":
        n = node(name, "GeometryNodeScaleElements", {"domain": r.choice(["FACE", "EDGE"])}, {"Scale": round(r.uniform(0.3, 1.5), 3)})
        if r.random() < 0.5:
            sn, sl, s = sel_nodes(r, tag); nodes += sn; links += sl + [link(s, (name, "Selection"))]
        return [n] + nodes, links, "Geometry", "Geometry"
    if k == "flip": return [node(name, "GeometryNodeFlipFaces")], [], "Mesh", "Mesh"
    if k == "tri": return [node(name, "GeometryNodeTriangulate", {"quad_method": r.choice(["BEAUTY", "FIXED", "SHORTEST_DIAGONAL"]), "ngon_method": r.choice(["BEAUTY", "CLIP"])})], [], "Mesh", "Mesh"
    if k == "merge": return [node(name, "GeometryNodeMergeByDistance", {"mode": "ALL"}, {"Distance": round(r.uniform(0.01, 0.3), 3)})], [], "Geometry", "Geometry"
    if k in ("delete", "separate"):
        n = node(name, "GeometryNodeDeleteGeometry" if k == "delete" else "GeometryNodeSeparateGeometry", {"domain": r.choice(["POINT", "FACE", "EDGE"]), **({"mode": r.choice(["ALL", "ONLY_FACE", "EDGE_FACE"])} if k == "delete" else {})})
        sn, sl, s = sel_nodes(r, tag)
        return [n] + sn, sl + [link(s, (name, "Selection"))], "Geometry", ("Geometry" if k == "delete" else r.choice(["Selection", "Inverted"]))
    if k == "instance":  # a small cone on each point (scaled by an Index field), realized
        nodes = [node(name, "GeometryNodeInstanceOnPoints"), node(f"IC{tag}", "GeometryNodeMeshCone", {"fill_type": "NGON"},
                                                                    {"Vertices": r.randint(3, 6), "Radius Bottom": 0.1, "Depth": 0.2}),
                 node(f"II{tag}", "GeometryNodeInputIndex"), node(f"IM{tag}", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"},
                                                                   {"Value_001": 0.1, "Value_002": 0.5}),
                 node(f"IR{tag}", "GeometryNodeRealizeInstances")]
        links = [link((f"IC{tag}", "Mesh"), (name, "Instance")), link((f"II{tag}", "Index"), (f"IM{tag}", "Value")),
                 link((f"IM{tag}", "Value"), (name, "Scale")), link((name, "Instances"), (f"IR{tag}", "Geometry"))]
        if r.random() < 0.5:
            sn, sl, sel = sel_nodes(r, tag)
            nodes += sn
            links += sl + [link(sel, (name, "Selection"))]
        return nodes, links, "Points", None  # the caller links the realized output
    if k == "join":  # joined with a moved grid
        nodes = [node(name, "GeometryNodeJoinGeometry"), node(f"JG{tag}", "GeometryNodeMeshGrid", {},
                                                             {"Vertices X": r.randint(2, 4), "Vertices Y": 2}),
                 node(f"JT{tag}", "GeometryNodeTransform", {}, {"Translation": [0.5, -0.3, 0.8], "Rotation": [0.4, 0.0, 0.2]})]
        links = [link((f"JG{tag}", "Mesh"), (f"JT{tag}", "Geometry")), link((f"JT{tag}", "Geometry"), (name, "Geometry"), 1)]
        return nodes, links, "Geometry", "Geometry"
    if k == "subdiv": return [node(name, "GeometryNodeSubdivideMesh", {}, {"Level": r.randint(1, 2)})], [], "Mesh", "Mesh"
    if k == "dual": return [node(name, "GeometryNodeDualMesh", {}, {"Keep Boundaries": r.random() < 0.5})], [], "Mesh", "Dual Mesh"
    if k == "transform":
        return [node(name, "GeometryNodeTransform", {}, {"Translation": [round(r.uniform(-1, 1), 2) for _ in range(3)], "Rotation": [round(r.uniform(-2, 2), 2) for _ in range(3)], "Scale": [round(r.uniform(0.5, 1.5), 2) for _ in range(3)]})], [], "Geometry", "Geometry"
    # set position: offset = position * (b, 0, a) on a selection
    n = node(name, "GeometryNodeSetPosition")
    nodes = [node(f"SP{tag}", "GeometryNodeInputPosition"), node(f"SC{tag}", "ShaderNodeCombineXYZ"), node(f"SM{tag}", "ShaderNodeVectorMath", {"operation": "MULTIPLY"})]
    links = [link((GI, "b"), (f"SC{tag}", "X")), link((GI, "a"), (f"SC{tag}", "Z")), link((f"SP{tag}", "Position"), (f"SM{tag}", "Vector")),
             link((f"SC{tag}", "Vector"), (f"SM{tag}", "Vector_001")), link((f"SM{tag}", "Vector"), (name, "Offset"))]
    if r.random() < 0.5:
        sn, sl, s = sel_nodes(r, tag); nodes += sn; links += sl + [link(s, (name, "Selection"))]
    return [n] + nodes, links, "Geometry", "Geometry"

def make(seed: int):
    """(IR, a one-line description) of the chain drawn by `seed`."""
    r = random.Random(seed)
    t, props, inputs = r.choice(SOURCES)
    nodes = [node("SRC", t, props, inputs(r))]; links = []; last = ("SRC", "Mesh"); desc = [t.replace("GeometryNode", "")]
    for i in range(r.randint(1, 4)):
        ns, ls, inp, out = op(r, i)
        nodes += ns; links += ls + [link(last, (ns[0]["name"], inp))]
        last = (ns[0]["name"], out) if out else (f"IR{i}", "Geometry")
        desc.append(ns[0]["type"].replace("GeometryNode", "") + str(ns[0]["properties"].get("mode", ns[0]["properties"].get("domain", ""))))
    links.append(link(last, ("Group Output", "Out")))
    return program(nodes, links, fparams("a", "b")), " > ".join(desc)
