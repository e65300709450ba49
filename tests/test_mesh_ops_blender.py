"""Mesh operation nodes against live Blender (bpy): random parameter sets with edge values, one
batch per program (rows of different topologies split), vertices within 1e-5 of Blender's in
Blender's order and identical polygons; gradients by finite differences."""
import pytest

from fieldtools import compare_batch, value_sets
from irtools import fparams, link, node, program
from meshoptools import (MESHES, connected_merge_program, merge_program, moved_mesh, op_program, pinched_ngon_program,
                         selection_nodes)

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


def sets(seed, n=10):
    return value_sets("abc", n, seed=seed, lo=-1.0, hi=1.0)


@pytest.mark.parametrize("mesh", MESHES)
def test_flip_faces(mesh):
    sel, sel_links = selection_nodes()
    ir = op_program(mesh, node("F", "GeometryNodeFlipFaces"), "Mesh", "Mesh", sel,
                    sel_links + [link(("Cmp", "Result"), ("F", "Selection"))])
    compare_batch(ir, sets(1))


@pytest.mark.parametrize("mesh", ["grid", "cube", "cylinder"])
@pytest.mark.parametrize("method", ["FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL", "LONGEST_DIAGONAL", "BEAUTY"])
def test_triangulate_quads(mesh, method):
    """Selected quads split per row (the diagonal chosen per row by the method). The cylinder's
    n-gon caps (centres at x = 0.1 * mean(x * x) = 0.032) stay unselected: only sets with
    c > 0.05 are used there."""
    sel, sel_links = selection_nodes()
    op = node("T", "GeometryNodeTriangulate", {"quad_method": method}, {"Minimum Vertices": 4})
    ir = op_program(mesh, op, "Mesh", "Mesh", sel, sel_links + [link(("Cmp", "Result"), ("T", "Selection"))])
    compare_batch(ir, [s for s in sets(2) if mesh != "cylinder" or s["c"] > 0.05])


@pytest.mark.parametrize("mesh", ["grid", "ico", "cube"])
@pytest.mark.parametrize("domain", ["FACE", "EDGE"])
@pytest.mark.parametrize("mode", ["UNIFORM", "SINGLE_AXIS"])
def test_scale_elements(mesh, domain, mode):
    """Selection x > c, Scale = a + 1 (a single value), Center unlinked (the elements' centres),
    Axis = (b, c, 0.3)."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("S1", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.0}),
                   node("Ax", "ShaderNodeCombineXYZ", {}, {"Z": 0.3})]
    links = sel_links + [link(("Cmp", "Result"), ("Sc", "Selection")), link(("Group Input", "a"), ("S1", "Value")),
                         link(("S1", "Value"), ("Sc", "Scale")), link(("Group Input", "b"), ("Ax", "X")),
                         link(("Group Input", "c"), ("Ax", "Y")), link(("Ax", "Vector"), ("Sc", "Axis"))]
    op = node("Sc", "GeometryNodeScaleElements", {"domain": domain, "scale_mode": mode})
    compare_batch(op_program(mesh, op, "Geometry", "Geometry", extra, links), sets(3))


@pytest.mark.parametrize("domain", ["FACE", "EDGE"])
def test_scale_elements_fields(domain):
    """Scale = x * a (a field, averaged per island), Center = position * b (a field)."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"),
                   node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("C", "ShaderNodeVectorMath", {"operation": "SCALE"})]
    links = sel_links + [link(("Cmp", "Result"), ("Sc", "Selection")), link(("Q", "Position"), ("QS", "Vector")),
                         link(("QS", "X"), ("M", "Value")), link(("Group Input", "a"), ("M", "Value_001")),
                         link(("M", "Value"), ("Sc", "Scale")), link(("Q", "Position"), ("C", "Vector")),
                         link(("Group Input", "b"), ("C", "Scale")), link(("C", "Vector"), ("Sc", "Center"))]
    op = node("Sc", "GeometryNodeScaleElements", {"domain": domain, "scale_mode": "SINGLE_AXIS"})
    compare_batch(op_program("ico", op, "Geometry", "Geometry", extra, links), sets(4))


@pytest.mark.parametrize("mesh", MESHES)
def test_extrude_faces_individual(mesh):
    """Selected faces extruded along their normals (Offset unlinked) by Offset Scale = a, then
    the Top faces scaled by b + 1 and the Side faces flipped (the outputs as selections)."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Sc", "GeometryNodeScaleElements"), node("B1", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.0}),
                   node("F", "GeometryNodeFlipFaces")]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Group Input", "a"), ("E", "Offset Scale")),
                         link(("E", "Mesh"), ("Sc", "Geometry")), link(("E", "Top"), ("Sc", "Selection")),
                         link(("Group Input", "b"), ("B1", "Value")), link(("B1", "Value"), ("Sc", "Scale")),
                         link(("Sc", "Geometry"), ("F", "Mesh")), link(("E", "Side"), ("F", "Selection")),
                         link(("F", "Mesh"), ("Group Output", "Out"))]
    nodes, base_links = moved_mesh(mesh)
    ir = program(nodes + [node("E", "GeometryNodeExtrudeMesh")] + extra,
                 base_links + [link(("SP", "Geometry"), ("E", "Mesh"))] + links, fparams("a", "b", "c"))
    compare_batch(ir, sets(5))


@pytest.mark.parametrize("mesh", ["grid", "ico"])
def test_extrude_faces_offset_field(mesh):
    """Offset = position * b (a field on faces: their centres), Offset Scale = a."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Q", "GeometryNodeInputPosition"), node("V", "ShaderNodeVectorMath", {"operation": "SCALE"})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Group Input", "a"), ("E", "Offset Scale")),
                         link(("Q", "Position"), ("V", "Vector")), link(("Group Input", "b"), ("V", "Scale")),
                         link(("V", "Vector"), ("E", "Offset"))]
    compare_batch(op_program(mesh, node("E", "GeometryNodeExtrudeMesh"), "Mesh", "Mesh", extra, links), sets(6))


@pytest.mark.parametrize("mesh", ["grid", "cube"])
def test_extrude_vertices(mesh):
    """Selected points extruded by Offset = (a, b, c) * x (a field), then the Top points moved up by c."""
    sel, sel_links = selection_nodes("b", "Y")
    extra = sel + [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"),
                   node("V", "ShaderNodeCombineXYZ"), node("VS", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                   node("Up", "ShaderNodeCombineXYZ")]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Q", "Position"), ("QS", "Vector")),
                         link(("Group Input", "a"), ("V", "X")), link(("Group Input", "b"), ("V", "Y")),
                         link(("Group Input", "c"), ("V", "Z")), link(("V", "Vector"), ("VS", "Vector")),
                         link(("QS", "X"), ("VS", "Scale")), link(("VS", "Vector"), ("E", "Offset")),
                         link(("Group Input", "c"), ("Up", "Z")), link(("E", "Top"), ("Move", "Selection")),
                         link(("Up", "Vector"), ("Move", "Offset"))]
    ir = op_program(mesh, node("E", "GeometryNodeExtrudeMesh", {"mode": "VERTICES"}), "Mesh", "Mesh", extra, links,
                    after=[(node("Move", "GeometryNodeSetPosition"), "Geometry", "Geometry")])
    compare_batch(ir, sets(7))


@pytest.mark.parametrize("mode,mesh", [("VERTICES", "ico"), ("FACES", "ico"), ("CORNERS", "ico"), ("EDGES", "ico"),
                                       ("EDGES", "cube"), ("EDGES", "cylinder"), ("EDGES", "grid")])
def test_mesh_to_points_to_vertices(mode, mesh):
    """Mesh to Points (selection x > c, Position = position + (0, 0, a)) -> Points to Vertices
    (selection y > b): loose vertices in Blender's order (edges: Blender's edge order)."""
    sel, sel_links = selection_nodes()
    sel2, sel2_links = selection_nodes("b", "Y", name="Cmp2")
    extra = sel + sel2 + [node("Q", "GeometryNodeInputPosition"), node("Z", "ShaderNodeCombineXYZ"),
                          node("Add", "ShaderNodeVectorMath", {"operation": "ADD"})]
    links = sel_links + sel2_links + [
        link(("Cmp", "Result"), ("M", "Selection")), link(("Q", "Position"), ("Add", "Vector")),
        link(("Group Input", "a"), ("Z", "Z")), link(("Z", "Vector"), ("Add", "Vector_001")),
        link(("Add", "Vector"), ("M", "Position")), link(("Cmp2", "Result"), ("PV", "Selection"))]
    ir = op_program(mesh, node("M", "GeometryNodeMeshToPoints", {"mode": mode}), "Mesh", "Points", extra, links,
                    after=[(node("PV", "GeometryNodePointsToVertices"), "Points", "Mesh")])
    compare_batch(ir, sets(8))


def test_points_are_not_the_result_mesh_but_instance_on_points_reads_them():
    """Join(mesh, Mesh to Points(mesh) -> Instance on Points (cube) -> Realize): Blender's result
    mesh is the mesh and the realized cubes, never the points."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Cu", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.1, 0.1]}), node("I", "GeometryNodeInstanceOnPoints"),
                   node("R", "GeometryNodeRealizeInstances"), node("J", "GeometryNodeJoinGeometry")]
    links = sel_links + [link(("Cmp", "Result"), ("M", "Selection")), link(("M", "Points"), ("I", "Points")),
                         link(("Cu", "Mesh"), ("I", "Instance")), link(("I", "Instances"), ("R", "Geometry")),
                         link(("SP", "Geometry"), ("J", "Geometry"), 0), link(("M", "Points"), ("J", "Geometry"), 1),
                         link(("R", "Geometry"), ("J", "Geometry"), 2)]
    ir = op_program("grid", node("M", "GeometryNodeMeshToPoints", {"mode": "FACES"}), "Mesh", "Points", extra, links)
    ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["Group Output", "Out"]] + [
        link(("J", "Geometry"), ("Group Output", "Out"))]
    compare_batch(ir, sets(9))


@pytest.mark.parametrize("selection", [False, True])
def test_merge_by_distance_seams(selection):
    """Rows whose seams are close enough merge there (some of the seam with a selection); others
    stay apart: rows split by their merges."""
    sets_ = value_sets("abcd", 12, seed=10, lo=-1.0, hi=1.0)
    compare_batch(merge_program(selection=selection), sets_)


@pytest.mark.parametrize("mode", ["ALL", "CONNECTED"])
def test_merge_by_distance_collapses_faces(mode):
    """A 3x3 grid of spacing 1 (scaled in x by a + 1), Distance 1.01: groups of points merge (the
    mean of each), quads lose corners or vanish."""
    nodes = [node("Mesh", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 2.0, "Vertices X": 3, "Vertices Y": 3}),
             node("S", "GeometryNodeTransform"), node("SV", "ShaderNodeCombineXYZ", {}, {"Y": 1.0, "Z": 1.0}),
             node("C", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.0}),
             node("M", "GeometryNodeMergeByDistance", {"mode": mode}, {"Distance": 1.01})]
    links = [link(("Group Input", "a"), ("C", "Value")), link(("C", "Value"), ("SV", "X")), link(("SV", "Vector"), ("S", "Scale")),
             link(("Mesh", "Mesh"), ("S", "Geometry")), link(("S", "Geometry"), ("M", "Geometry")),
             link(("M", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a")), [{"a": v} for v in (0.0, 0.5, -0.5, 0.2, 1.5, -0.995)])


@pytest.mark.parametrize("mesh", MESHES + ("uvsphere",))
@pytest.mark.parametrize("selection", [False, True])
@pytest.mark.parametrize("mode", ["ALL", "CONNECTED"])
def test_merge_by_distance_regions(mesh, selection, mode):
    """Distance up to 1.17 per row: whole regions merge. CONNECTED: edges collapsed in Blender's
    edge order while their clusters' running means are within Distance, the selection tested on
    the clusters' lowest points. ALL on the UV sphere and the grid leaves polygons touching
    themselves, which are split as Blender splits them."""
    sets_ = value_sets("abcd", 24, seed=77, lo=-1.0, hi=1.0)
    compare_batch(connected_merge_program(mesh, selection, mode), [dict(s, d=abs(s["d"]) * 1.3) for s in sets_])


@pytest.mark.parametrize("mode", ["ALL", "CONNECTED"])
def test_merge_by_distance_splits_a_polygon(mode):
    """An 8-gon pinched until two opposite points merge (ALL; CONNECTED leaves them, no edge joins
    them): the polygon is split in two quads, the new one after every polygon."""
    compare_batch(pinched_ngon_program(mode), [{"a": a, "b": b} for a in (1.0, 2.0, 3.0, 0.5) for b in (0.0, 0.1)])


def test_merge_by_distance_connected_leaves_seams():
    """The seams of merge_program are close but not joined by edges: CONNECTED merges nothing."""
    ir = merge_program()
    merge = next(nd for nd in ir["groups"][0]["nodes"] if nd["name"] == "M")
    merge["properties"]["mode"] = "CONNECTED"
    compare_batch(ir, value_sets("abcd", 6, seed=10, lo=-1.0, hi=1.0))


@pytest.mark.parametrize("mesh", MESHES + ("uvsphere",))
def test_dual_mesh(mesh):
    """Face centres as points, faces around the manifold vertices (a grid's boundary vertices
    make none); Keep Boundaries on the closed meshes."""
    keep = {"Keep Boundaries": mesh != "grid"}
    compare_batch(op_program(mesh, node("D", "GeometryNodeDualMesh", {}, keep), "Mesh", "Dual Mesh"), sets(11))


def test_authoring_mesh_ops():
    """The authoring API's mesh operations: a panel extruded (faces individually, along their
    normals), its top faces scaled, triangulated, merged with a copy, and small cubes on its face
    centres (Mesh to Points -> Instance on Points); and the dual of a cube."""
    from geonodes.authoring import ProgramBuilder
    p = ProgramBuilder("mesh ops")
    depth = p.float("Depth", 0.3, 0.0, 1.0)
    shrink = p.float("Shrink", 0.7, 0.1, 1.0)
    lift = p.float("Lift", 0.0, -0.01, 0.01)
    panel = p.grid(2.0, 1.0, 4, 3)
    mesh, top, side = p.extrude(panel, offset_scale=depth, selection=p.position().x > 0.1)
    mesh = p.scale_elements(mesh, shrink, selection=top)
    mesh = p.flip_faces(mesh, selection=side)
    mesh = p.triangulate(mesh, quad_method="LONGEST_DIAGONAL")
    merged = p.merge_by_distance(p.join(mesh, mesh.translate(z=lift)), distance=0.005)
    dots = p.copies(p.mesh_to_points(merged, mode="FACES"), p.cube((0.02, 0.02, 0.02)))
    shell = p.dual_mesh(p.cube((1.0, 1.0, 1.0)).scale(p.vec(1.0, 1.0, shrink)).translate(z=2.0))
    p.output(p.join(shell, merged, dots))
    sets_ = [{"Depth": d, "Shrink": s, "Lift": lf} for d, s, lf in
             [(0.3, 0.7, 0.0), (0.0, 1.0, 0.002), (1.0, 0.1, -0.009), (0.5, 0.5, 0.007), (-0.2, 1.3, 0.0)]]
    compare_batch(p.build(), sets_)


def test_merge_by_distance_removes_doubled_faces():
    """An ico sphere joined with a copy moved by a * 0.0015 (its faces flipped where x > b):
    merged rows keep the first copy's faces only; others keep both."""
    sel, sel_links = selection_nodes("b")
    nodes = [node("Mesh", "GeometryNodeMeshIcoSphere", {}, {"Radius": 1.0, "Subdivisions": 1}),
             node("T", "GeometryNodeTransform"), node("V", "ShaderNodeCombineXYZ"),
             node("A", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.0015}),
             node("F", "GeometryNodeFlipFaces"), node("J", "GeometryNodeJoinGeometry"),
             node("M", "GeometryNodeMergeByDistance", {}, {"Distance": 0.001})] + sel
    links = sel_links + [link(("Group Input", "a"), ("A", "Value")), link(("A", "Value"), ("V", "Z")),
                         link(("V", "Vector"), ("T", "Translation")), link(("Mesh", "Mesh"), ("T", "Geometry")),
                         link(("T", "Geometry"), ("F", "Mesh")), link(("Cmp", "Result"), ("F", "Selection")),
                         link(("Mesh", "Mesh"), ("J", "Geometry"), 0), link(("F", "Mesh"), ("J", "Geometry"), 1),
                         link(("J", "Geometry"), ("M", "Geometry")), link(("M", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a", "b", "c")), sets(12))


def test_extrude_twice_on_top():
    """Extrude the selected faces, then extrude the first extrusion's Top faces again (Offset
    Scale b) and scale the second Top: the Top attribute is carried through the second
    extrusion's new elements as Blender does."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("E2", "GeometryNodeExtrudeMesh"), node("Sc", "GeometryNodeScaleElements", {}, {"Scale": 0.5})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Group Input", "a"), ("E", "Offset Scale")),
                         link(("E", "Mesh"), ("E2", "Mesh")), link(("E", "Top"), ("E2", "Selection")),
                         link(("Group Input", "b"), ("E2", "Offset Scale")), link(("E2", "Mesh"), ("Sc", "Geometry")),
                         link(("E2", "Top"), ("Sc", "Selection"))]
    ir = op_program("ico", node("E", "GeometryNodeExtrudeMesh"), "Mesh", "Mesh", extra, links,
                    after=[])
    ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["Group Output", "Out"]] + [
        link(("Sc", "Geometry"), ("Group Output", "Out"))]
    compare_batch(ir, sets(13))


@pytest.mark.parametrize("minimum", [4, 5])
@pytest.mark.parametrize("ngon_method", ["CLIP", "BEAUTY"])
def test_triangulate_ngons(minimum, ngon_method):
    """A cylinder's 9-gon caps made star-shaped per row (every other rim point scaled in x, y by
    1 - a, moved by b in z; every point offset by 0.04 (sin 1.7 i, cos 2.3 i) so that no
    symmetry makes two choices tie): convex, concave, non-planar n-gons ear-clipped as Blender's
    polyfill, then (BEAUTY) edges rotated as its beautify
    (Minimum Vertices 5: the n-gons only; 4: the side quads too, FIXED: their two diagonals are
    mirror images, a tie for the other methods)."""
    nodes = [node("Mesh", "GeometryNodeMeshCylinder", {"fill_type": "NGON"}, {"Vertices": 9, "Radius": 0.8, "Depth": 1.0}),
             node("I", "GeometryNodeInputIndex"), node("Mod", "ShaderNodeMath", {"operation": "MODULO"}, {"Value_001": 2.0}),
             node("K", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("One", "ShaderNodeMath", {"operation": "SUBTRACT"}, {"Value": 1.0}),
             node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("X", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("Y", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("BZ", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("Z", "ShaderNodeMath", {"operation": "ADD"}),
             node("V", "ShaderNodeCombineXYZ"), node("SP", "GeometryNodeSetPosition"),
             node("S1", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.7}), node("Sin", "ShaderNodeMath", {"operation": "SINE"}),
             node("S2", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 2.3}), node("Cos", "ShaderNodeMath", {"operation": "COSINE"}),
             node("W", "ShaderNodeCombineXYZ"), node("WS", "ShaderNodeVectorMath", {"operation": "SCALE"}, {"Scale": 0.04}),
             node("T", "GeometryNodeTriangulate", {"quad_method": "FIXED", "ngon_method": ngon_method},
                  {"Minimum Vertices": minimum})]
    links = [link(("I", "Index"), ("Mod", "Value")), link(("Mod", "Value"), ("K", "Value")), link(("Group Input", "a"), ("K", "Value_001")),
             link(("K", "Value"), ("One", "Value_001")), link(("P", "Position"), ("Sep", "Vector")),
             link(("Sep", "X"), ("X", "Value")), link(("One", "Value"), ("X", "Value_001")),
             link(("Sep", "Y"), ("Y", "Value")), link(("One", "Value"), ("Y", "Value_001")),
             link(("K", "Value"), ("BZ", "Value")), link(("Group Input", "b"), ("BZ", "Value_001")),
             link(("Sep", "Z"), ("Z", "Value")), link(("BZ", "Value"), ("Z", "Value_001")),
             link(("X", "Value"), ("V", "X")), link(("Y", "Value"), ("V", "Y")), link(("Z", "Value"), ("V", "Z")),
             link(("Mesh", "Mesh"), ("SP", "Geometry")), link(("V", "Vector"), ("SP", "Position")),
             link(("I", "Index"), ("S1", "Value")), link(("S1", "Value"), ("Sin", "Value")), link(("I", "Index"), ("S2", "Value")),
             link(("S2", "Value"), ("Cos", "Value")), link(("Sin", "Value"), ("W", "X")), link(("Cos", "Value"), ("W", "Y")),
             link(("W", "Vector"), ("WS", "Vector")), link(("WS", "Vector"), ("SP", "Offset")),
             link(("SP", "Geometry"), ("T", "Mesh")), link(("T", "Mesh"), ("Group Output", "Out"))]
    sets_ = value_sets("ab", 12, seed=14, lo=-0.9, hi=0.9) + [{"a": 0.7, "b": 0.0}, {"a": 0.95, "b": 0.3}]
    compare_batch(program(nodes, links, fparams("a", "b")), sets_)


@pytest.mark.parametrize("vertices", [5, 8, 9, 12, 17])
def test_polyfill_beautify_on_blenders_positions(vertices):
    """Regular n-gons (every rotation cost a tie decided by rounding): given Blender's own float32
    positions, the polyfill and beautify reproduce Blender's triangles bit for bit. (The
    compiler's circle positions differ from Blender's in the last bit, so on such ties its
    BEAUTY triangulation may differ: see the README.)"""
    import numpy as np
    from geonodes.blender import evaluate_in_blender
    from geonodes.geometry.polyfill import beautify, polyfill, project_face
    nodes = [node("C", "GeometryNodeMeshCircle", {"fill_type": "NGON"}, {"Vertices": vertices, "Radius": 1.3}),
             node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}, {"Minimum Vertices": 5})]
    links = [link(("C", "Mesh"), ("T", "Mesh")), link(("T", "Mesh"), ("Group Output", "Out"))]
    ref = evaluate_in_blender(program(nodes, links, fparams("a")), [{}])[0]
    co = project_face(ref["vertices"].astype(np.float32))
    tris = beautify(co, polyfill(co))
    expected = [tuple(ref["face_vertices"][ref["face_offsets"][i]:ref["face_offsets"][i + 1]]) for i in range(vertices - 2)]
    assert [tris[-1]] + tris[:-1] == expected  # the last triangle takes the face's place


def test_dual_mesh_moves_attributes_between_domains():
    """Face attributes become point attributes and point attributes face ones: a captured
    face x (on points of the dual) and a captured point y (on faces of the dual, read back on
    its points) offset the dual's points."""
    cap = node("Cap", "GeometryNodeCaptureAttribute", {"domain": "FACE", "capture_items": [["fx", "FLOAT"]]})
    cap2 = node("Cap2", "GeometryNodeCaptureAttribute", {"domain": "POINT", "capture_items": [["py", "FLOAT"]]})
    extra = [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"), cap, cap2,
             node("V", "ShaderNodeCombineXYZ"), node("Move", "GeometryNodeSetPosition")]
    links = [link(("Q", "Position"), ("QS", "Vector")), link(("SP", "Geometry"), ("Cap", "Geometry")),
             link(("QS", "X"), ("Cap", "Value")), link(("Cap", "Geometry"), ("Cap2", "Geometry")), link(("QS", "Y"), ("Cap2", "Value")),
             link(("Cap", "Attribute"), ("V", "Z")), link(("Cap2", "Attribute"), ("V", "X")),
             link(("D", "Dual Mesh"), ("Move", "Geometry")), link(("V", "Vector"), ("Move", "Offset"))]
    ir = op_program("ico", node("D", "GeometryNodeDualMesh"), "Mesh", "Dual Mesh", extra, links)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] not in (["D", "Mesh"], ["Group Output", "Out"])] + [
        link(("Cap2", "Geometry"), ("D", "Mesh")), link(("Move", "Geometry"), ("Group Output", "Out"))]
    compare_batch(ir, sets(15))


@pytest.mark.parametrize("op, geometry_in, geometry_out", [
    (node("X", "GeometryNodeExtrudeMesh", {"mode": "VERTICES"}, {"Offset": [0.0, 0.0, 0.5]}), "Mesh", "Mesh"),
    (node("X", "GeometryNodeExtrudeMesh"), "Mesh", "Mesh"),
    (node("X", "GeometryNodeTriangulate"), "Mesh", "Mesh"),
    (node("X", "GeometryNodeFlipFaces"), "Mesh", "Mesh"),
    (node("X", "GeometryNodeScaleElements", {}, {"Scale": 2.0}), "Geometry", "Geometry"),
    (node("X", "GeometryNodeMergeByDistance", {}, {"Distance": 0.5}), "Geometry", "Geometry"),
    (node("X", "GeometryNodeDualMesh"), "Mesh", "Dual Mesh"),
])
def test_mesh_ops_on_loose_vertices(op, geometry_in, geometry_out):
    """A mesh of loose vertices (Points to Vertices of a grid's face centres): what has no faces
    is left as it is, points are extruded or merged."""
    extra = [node("MP", "GeometryNodeMeshToPoints", {"mode": "FACES"}), node("PV", "GeometryNodePointsToVertices")]
    links = [link(("SP", "Geometry"), ("MP", "Mesh")), link(("MP", "Points"), ("PV", "Points"))]
    ir = op_program("grid", op, geometry_in, geometry_out, extra, links)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["X", geometry_in]] + [link(("PV", "Mesh"), ("X", geometry_in))]
    compare_batch(ir, sets(16, n=6))


@pytest.mark.parametrize("mode", ["VERTICES", "FACES"])
def test_extrude_normals_and_scale_field(mode):
    """Offset unlinked (vertex or face normals) times Offset Scale = x * a + b (a field on the
    mode's domain)."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"),
                   node("M", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Q", "Position"), ("QS", "Vector")),
                         link(("QS", "X"), ("M", "Value")), link(("Group Input", "a"), ("M", "Value_001")),
                         link(("Group Input", "b"), ("M", "Value_002")), link(("M", "Value"), ("E", "Offset Scale"))]
    compare_batch(op_program("ico", node("E", "GeometryNodeExtrudeMesh", {"mode": mode}), "Mesh", "Mesh", extra, links),
                  sets(17))
