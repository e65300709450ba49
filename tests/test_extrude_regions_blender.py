"""Extrude Mesh of face regions (FACES, Individual off) against live Blender (bpy): random and
edge parameter sets (Offset Scale zero and negative among them), one batch per program (rows of
different selections split), vertices within 1e-5 in Blender's order, identical polygons, and
the edge order (the EDGE-domain Index probe of tests/edgetools.py), EDGE attributes and the
Top/Side outputs used downstream."""
import pytest

from edgetools import edge_index_program, mesh_source
from fieldtools import GI, compare_batch, value_sets
from irtools import fparams, link, node, program
from meshoptools import op_program, selection_nodes

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

REGIONS = {"Individual": False}


def sets(seed, n=10, names="abc"):
    return value_sets(names, n, seed=seed, lo=-1.0, hi=1.0)


def regions(inputs=None):
    return node("E", "GeometryNodeExtrudeMesh", {}, dict(REGIONS, **(inputs or {})))


def top_and_side(selection_links):
    """Offset Scale = a, then the Top faces' points moved by (0, 0, b) (Set Position, Top as
    its selection) and the Side faces flipped."""
    extra = [node("Up", "ShaderNodeCombineXYZ"), node("Move", "GeometryNodeSetPosition"), node("F", "GeometryNodeFlipFaces")]
    links = selection_links + [link((GI, "a"), ("E", "Offset Scale")), link((GI, "b"), ("Up", "Z")),
                               link(("Up", "Vector"), ("Move", "Offset")), link(("E", "Top"), ("Move", "Selection")),
                               link(("E", "Mesh"), ("Move", "Geometry")), link(("Move", "Geometry"), ("F", "Mesh")),
                               link(("E", "Side"), ("F", "Selection"))]
    return extra, links


def output_from(ir, source):
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["Group Output", "Out"]] + [link(source, ("Group Output", "Out"))]
    return ir


@pytest.mark.parametrize("mesh", ["grid", "cube", "cylinder", "ico", "uvsphere"])
def test_extrude_regions(mesh):
    """Selection x > c (per row: none, part or all of the faces), Offset unlinked (the face
    normals, averaged per point), then Top moved and Side flipped."""
    sel, sel_links = selection_nodes()
    extra, links = top_and_side(sel_links + [link(("Cmp", "Result"), ("E", "Selection"))])
    ir = op_program(mesh, regions(), "Mesh", "Mesh", sel + extra, links)
    compare_batch(output_from(ir, ("F", "Mesh")), sets(21))


@pytest.mark.parametrize("mesh", ["cube", "cylinder", "ico", "uvsphere"])
@pytest.mark.parametrize("selection", [True, False])
def test_extrude_all_or_no_faces_of_closed_meshes(mesh, selection):
    """Selection true (every face: no boundary, every point moved in place by its faces' mean
    offset; Top is every face) or false (the mesh as it was, Top and Side empty)."""
    extra, links = top_and_side([])
    ir = op_program(mesh, regions({"Selection": selection}), "Mesh", "Mesh", extra, links)
    compare_batch(output_from(ir, ("F", "Mesh")), sets(22))


@pytest.mark.parametrize("mesh,face", [("grid", 4), ("cube", 0), ("cylinder", 7), ("ico", 11)])
def test_extrude_single_face(mesh, face):
    """Selection Index == face (the cylinder's 7: its bottom n-gon cap)."""
    extra = [node("I", "GeometryNodeInputIndex"),
             node("Eq", "FunctionNodeCompare", {"data_type": "INT", "operation": "EQUAL"}, {"B_INT": face})]
    sel_links = [link(("I", "Index"), ("Eq", "A_INT")), link(("Eq", "Result"), ("E", "Selection"))]
    more, links = top_and_side(sel_links)
    ir = op_program(mesh, regions(), "Mesh", "Mesh", extra + more, links)
    compare_batch(output_from(ir, ("F", "Mesh")), sets(23))


def test_extrude_two_disjoint_regions():
    """A 6 x 5 grid, selection |x| > c (c in [0.05, 0.7]: two regions, the grid's left and right
    columns), Offset Scale = a."""
    nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 1.5, "Vertices X": 6, "Vertices Y": 5}),
             node("P", "GeometryNodeInputPosition"), node("S", "ShaderNodeSeparateXYZ"),
             node("Abs", "ShaderNodeMath", {"operation": "ABSOLUTE"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}), regions()]
    links = [link(("P", "Position"), ("S", "Vector")), link(("S", "X"), ("Abs", "Value")), link(("Abs", "Value"), ("Cmp", "A")),
             link((GI, "c"), ("Cmp", "B")), link(("Cmp", "Result"), ("E", "Selection")), link(("G", "Mesh"), ("E", "Mesh"))]
    extra, more = top_and_side([])
    ir = program(nodes + extra, links + more + [link(("F", "Mesh"), ("Group Output", "Out"))], fparams("a", "b", "c"))
    value = sets(24)
    for i, s in enumerate(value):
        s["c"] = 0.05 + 0.65 * i / (len(value) - 1)
    compare_batch(ir, value)


@pytest.mark.parametrize("mesh", ["grid", "ico"])
def test_extrude_regions_offset_fields(mesh):
    """Offset = position * b and Offset Scale = x * a + c (fields on the faces, different per
    face: each point takes the mean of its selected faces' offsets)."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"),
                   node("V", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                   node("M", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link(("Q", "Position"), ("V", "Vector")),
                         link((GI, "b"), ("V", "Scale")), link(("V", "Vector"), ("E", "Offset")),
                         link(("Q", "Position"), ("QS", "Vector")), link(("QS", "X"), ("M", "Value")),
                         link((GI, "a"), ("M", "Value_001")), link((GI, "c"), ("M", "Value_002")),
                         link(("M", "Value"), ("E", "Offset Scale"))]
    compare_batch(op_program(mesh, regions(), "Mesh", "Mesh", extra, links), sets(25))


def test_individual_per_row():
    """Individual = a > 0 (a single value per row): rows extrude faces one by one or as regions."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("Pos", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}, {"B": 0.0})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link((GI, "a"), ("Pos", "A")),
                         link(("Pos", "Result"), ("E", "Individual")), link((GI, "b"), ("E", "Offset Scale"))]
    compare_batch(op_program("ico", node("E", "GeometryNodeExtrudeMesh"), "Mesh", "Mesh", extra, links), sets(26))


@pytest.mark.parametrize("kind", ["moved_grid", "moved_cube", "moved_cylinder", "moved_ico", "uvsphere", "cone", "joined"])
def test_edge_order_after_extrude_regions(kind):
    """New edges after the old ones: a connecting edge per boundary point, the boundary edges'
    copies, the copies of inner edges that also touch a deselected face (selection x > b)."""
    sel_nodes, sel_links = selection_nodes("b", "X", "Sel")
    op = (regions({"Offset Scale": 0.3}), "Mesh", "Mesh", sel_nodes, sel_links + [link(("Sel", "Result"), ("E", "Selection"))])
    compare_batch(edge_index_program(kind, [op]), sets(27, names="ab"))


def non_manifold(kind):
    """mesh_source(kind), its edges where y > b extruded by (0.1, 0.2, 0.3) (an edge between
    two faces gets a third), then 'ei' = sin(1.3 * Index) stored on the EDGE domain: (nodes,
    links, mesh source)."""
    nodes, links, last = mesh_source(kind)
    sel_nodes, sel_links = selection_nodes("b", "Y", "SelA")
    nodes += sel_nodes + [node("X1", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.1, 0.2, 0.3]}),
                          node("EI", "GeometryNodeInputIndex"),
                          node("EK", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.3}),
                          node("ES", "ShaderNodeMath", {"operation": "SINE"}),
                          node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "EDGE"},
                               {"Name": "ei"})]
    links += sel_links + [link(("SelA", "Result"), ("X1", "Selection")), link(last, ("X1", "Mesh")),
                          link(("EI", "Index"), ("EK", "Value")), link(("EK", "Value"), ("ES", "Value")),
                          link(("ES", "Value"), ("St", "Value")), link(("X1", "Mesh"), ("St", "Geometry"))]
    return nodes, links, ("St", "Geometry")


@pytest.mark.parametrize("kind", ["moved_grid", "moved_cube", "moved_cylinder"])
def test_extrude_regions_of_non_manifold_meshes_with_edge_attributes(kind):
    """non_manifold(kind), then its faces but the side quads extruded as regions (Offset Scale
    a): edges inside the region that also touch a side quad are copied (new inner edges).
    Then 'ei' (an EDGE attribute through the extrusion: copies copy, connecting edges mix)
    read on the points, z += ei * a, and the EDGES extrusion's Top (an EDGE boolean through the
    extrusion) moving its points by (0, b, 0)."""
    nodes, links, last = non_manifold(kind)
    nodes += [node("N", "FunctionNodeBooleanMath", {"operation": "NOT"}), regions(),
              node("ER", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "ei"}),
              node("RA", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("EC", "ShaderNodeCombineXYZ"),
              node("ESP", "GeometryNodeSetPosition"), node("UP", "ShaderNodeCombineXYZ"), node("SP2", "GeometryNodeSetPosition")]
    links += [link(last, ("E", "Mesh")), link(("X1", "Side"), ("N", "Boolean")), link(("N", "Boolean"), ("E", "Selection")),
              link((GI, "a"), ("E", "Offset Scale")), link(("ER", "Attribute"), ("RA", "Value")),
              link((GI, "a"), ("RA", "Value_001")), link(("RA", "Value"), ("EC", "Z")), link(("E", "Mesh"), ("ESP", "Geometry")),
              link(("EC", "Vector"), ("ESP", "Offset")), link(("ESP", "Geometry"), ("SP2", "Geometry")),
              link((GI, "b"), ("UP", "Y")), link(("UP", "Vector"), ("SP2", "Offset")), link(("X1", "Top"), ("SP2", "Selection")),
              link(("SP2", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a", "b")), sets(28, names="ab"))


@pytest.mark.parametrize("kind", ["moved_grid", "moved_cube"])
def test_edge_order_of_non_manifold_regions(kind):
    """The edge order after an EDGES extrusion (y > b) and a region extrusion of all but its
    side quads (new inner edges among the new edges)."""
    sel_nodes, sel_links = selection_nodes("b", "Y", "SelA")
    first = (node("X1", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.1, 0.2, 0.3]}), "Mesh", "Mesh",
             sel_nodes, sel_links + [link(("SelA", "Result"), ("X1", "Selection"))])
    second = (regions({"Offset Scale": 0.3}), "Mesh", "Mesh", [node("N", "FunctionNodeBooleanMath", {"operation": "NOT"})],
              [link(("X1", "Side"), ("N", "Boolean")), link(("N", "Boolean"), ("E", "Selection"))])
    compare_batch(edge_index_program(kind, [first, second]), sets(29, names="ab"))


def test_authoring_extrude_regions():
    """The authoring API: p.extrude(..., individual=False) of a moved cube's faces where x > 0.1 (all
    but the -x face: one region), its Top scaled; a grid's region extrusion, its Top moved, its Side flipped."""
    from geonodes.authoring import ProgramBuilder
    p = ProgramBuilder("regions")
    depth = p.float("Depth", 0.3, -1.0, 1.0)
    shrink = p.float("Shrink", 0.7, 0.1, 1.5)
    block = p.cube((1.0, 2.0, 0.5)).translate(x=0.3)
    mesh, top, _ = p.extrude(block, offset_scale=depth, selection=p.position().x > 0.1, individual=False)
    mesh = p.scale_elements(mesh, shrink, selection=top)
    panel, ptop, pside = p.extrude(p.grid(2.0, 1.0, 4, 3), offset_scale=depth, selection=p.position().y > -0.2,
                                   individual=False)
    panel = p.flip_faces(p.set_position(panel, offset=p.vec(0.0, 0.0, shrink), selection=ptop), selection=pside)
    p.output(p.join(mesh, panel.translate(z=2.0)))
    sets_ = [{"Depth": d, "Shrink": s} for d, s in [(0.3, 0.7), (0.0, 1.0), (-0.5, 0.1), (1.0, 1.3), (-1.0, 0.5)]]
    compare_batch(p.build(), sets_)


@pytest.mark.parametrize("domain", ["POINT", "FACE", "CORNER"])
def test_attributes_through_extrude_regions(domain):
    """'v' = sin(1.7 * Index) stored on `domain` before a region extrusion (x > c, Offset
    Scale a) of the moved cube, read on the points after it (z += v * b): new points copy their
    source's, side faces their extruded face's, side corners the extruded face's corners at
    the same point."""
    extra, links = _stored_probe(domain, "v")
    ir = op_program("cube", regions(), "Mesh", "Mesh", extra, links)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["E", "Mesh"] or lk["from"] == ["St", "Geometry"]] + [
        link(("SP", "Geometry"), ("St", "Geometry"))]
    compare_batch(output_from(ir, ("Move", "Geometry")), sets(30))


@pytest.mark.parametrize("kind", ["moved_grid", "moved_cube", "moved_cylinder", "joined"])
def test_edge_order_after_extrude_individual(kind):
    """FACES with Individual on (x > b): per corner a connecting edge, then per corner the copy
    of its edge, after the old edges; then the Top faces extruded again as regions."""
    sel_nodes, sel_links = selection_nodes("b", "X", "Sel")
    first = (node("X", "GeometryNodeExtrudeMesh", {}, {"Offset Scale": 0.3}), "Mesh", "Mesh",
             sel_nodes, sel_links + [link(("Sel", "Result"), ("X", "Selection"))])
    second = (regions({"Offset Scale": -0.2}), "Mesh", "Mesh", [], [link(("X", "Top"), ("E", "Selection"))])
    compare_batch(edge_index_program(kind, [first]), sets(31, names="ab"))
    compare_batch(edge_index_program(kind, [first, second]), sets(32, names="ab"))


@pytest.mark.parametrize("individual", [True, False])
def test_edge_attributes_through_extrude_faces(individual):
    """'ei' = sin(1.7 * Index) on the EDGE domain of the moved ico, then its faces where x > c
    extruded (Offset Scale a), 'ei' read on the points (z += ei * b): copies of edges copy,
    connecting edges mix (the corner's edges; the boundary edges at the point)."""
    extra, links = _stored_probe("EDGE", "ei")
    op = node("E", "GeometryNodeExtrudeMesh", {}, {"Individual": individual})
    ir = op_program("ico", op, "Mesh", "Mesh", extra, links)
    g = ir["groups"][0]
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["E", "Mesh"] or lk["from"] == ["St", "Geometry"]] + [
        link(("SP", "Geometry"), ("St", "Geometry"))]
    compare_batch(output_from(ir, ("Move", "Geometry")), sets(33))


@pytest.mark.parametrize("mesh", ["grid", "cube"])
def test_extrude_regions_single_offset(mesh):
    """Offset = (0.1, -0.2, b) (Combine XYZ) and Offset Scale = a, single values (Blender adds
    them to the points without averaging), selection x > c."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("V", "ShaderNodeCombineXYZ", {}, {"X": 0.1, "Y": -0.2})]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link((GI, "a"), ("E", "Offset Scale")),
                         link((GI, "b"), ("V", "Z")), link(("V", "Vector"), ("E", "Offset"))]
    compare_batch(op_program(mesh, regions(), "Mesh", "Mesh", extra, links), sets(34))


def _stored_probe(domain: str, name: str):
    """(extra nodes, links) around a selection-driven extrusion 'E': `name` = sin(1.7 * Index)
    stored on `domain` before it (node 'St'), read on the points after it (z += value * b,
    node 'Move')."""
    sel, sel_links = selection_nodes()
    extra = sel + [node("I", "GeometryNodeInputIndex"), node("K", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 1.7}),
                   node("Sn", "ShaderNodeMath", {"operation": "SINE"}),
                   node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": domain}, {"Name": name}),
                   node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": name}),
                   node("RB", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("RC", "ShaderNodeCombineXYZ"),
                   node("Move", "GeometryNodeSetPosition")]
    links = sel_links + [link(("Cmp", "Result"), ("E", "Selection")), link((GI, "a"), ("E", "Offset Scale")),
                         link(("I", "Index"), ("K", "Value")), link(("K", "Value"), ("Sn", "Value")),
                         link(("Sn", "Value"), ("St", "Value")), link(("St", "Geometry"), ("E", "Mesh")),
                         link(("R", "Attribute"), ("RB", "Value")), link((GI, "b"), ("RB", "Value_001")),
                         link(("RB", "Value"), ("RC", "Z")), link(("RC", "Vector"), ("Move", "Offset")),
                         link(("E", "Mesh"), ("Move", "Geometry"))]
    return extra, links
