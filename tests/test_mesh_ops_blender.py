"""Mesh operation nodes against live Blender (bpy): random parameter sets with edge values, one
batch per program (rows of different topologies split), vertices within 1e-5 of Blender's in
Blender's order and identical polygons; gradients by finite differences."""
import pytest

from fieldtools import compare_batch, value_sets
from irtools import fparams, link, node, program
from meshoptools import MESHES, merge_program, moved_mesh, op_program, selection_nodes

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


def test_triangulate_ngon_is_an_error():
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("cylinder", node("T", "GeometryNodeTriangulate"), "Mesh", "Mesh")
    with pytest.raises(IRError, match="node 'T'.*n-gons"):
        load_program(ir).evaluate_one({})


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


@pytest.mark.parametrize("mode", ["VERTICES", "FACES", "CORNERS"])
def test_mesh_to_points_to_vertices(mode):
    """Mesh to Points (selection x > c, Position = position + (0, 0, a)) -> Points to Vertices
    (selection y > b): loose vertices in Blender's order."""
    sel, sel_links = selection_nodes()
    sel2, sel2_links = selection_nodes("b", "Y", name="Cmp2")
    extra = sel + sel2 + [node("Q", "GeometryNodeInputPosition"), node("Z", "ShaderNodeCombineXYZ"),
                          node("Add", "ShaderNodeVectorMath", {"operation": "ADD"})]
    links = sel_links + sel2_links + [
        link(("Cmp", "Result"), ("M", "Selection")), link(("Q", "Position"), ("Add", "Vector")),
        link(("Group Input", "a"), ("Z", "Z")), link(("Z", "Vector"), ("Add", "Vector_001")),
        link(("Add", "Vector"), ("M", "Position")), link(("Cmp2", "Result"), ("PV", "Selection"))]
    ir = op_program("ico", node("M", "GeometryNodeMeshToPoints", {"mode": mode}), "Mesh", "Points", extra, links,
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


def test_merge_by_distance_collapses_faces():
    """A 3x3 grid of spacing 1 (scaled in x by a + 1), Distance 1.01: groups of points merge (the
    mean of each), quads lose corners or vanish."""
    nodes = [node("Mesh", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 2.0, "Vertices X": 3, "Vertices Y": 3}),
             node("S", "GeometryNodeTransform"), node("SV", "ShaderNodeCombineXYZ", {}, {"Y": 1.0, "Z": 1.0}),
             node("C", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.0}),
             node("M", "GeometryNodeMergeByDistance", {}, {"Distance": 1.01})]
    links = [link(("Group Input", "a"), ("C", "Value")), link(("C", "Value"), ("SV", "X")), link(("SV", "Vector"), ("S", "Scale")),
             link(("Mesh", "Mesh"), ("S", "Geometry")), link(("S", "Geometry"), ("M", "Geometry")),
             link(("M", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a")), [{"a": v} for v in (0.0, 0.5, -0.5, 0.2, 1.5, -0.995)])


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
