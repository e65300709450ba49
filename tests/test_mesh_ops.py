"""Mesh operation nodes without Blender: gradients by finite differences (float64), and the
errors of what is not supported. (Their agreement with Blender: test_mesh_ops_blender.py.)"""
import pytest

from fieldtools import finite_difference_check
from irtools import link, node, program
from meshoptools import op_program, selection_nodes

VALUES = {"a": 0.37, "b": -0.61, "c": 0.05}


def selected(op, mesh="grid", socket="Selection", geometry=("Mesh", "Mesh"), extra_nodes=(), extra_links=(), **kw):
    sel, sel_links = selection_nodes()
    return op_program(mesh, op, geometry[0], geometry[1], sel + list(extra_nodes),
                      sel_links + [link(("Cmp", "Result"), (op["name"], socket))] + list(extra_links), **kw)


@pytest.mark.parametrize("op", [node("F", "GeometryNodeFlipFaces"),
                                node("F", "GeometryNodeTriangulate", {"quad_method": "SHORTEST_DIAGONAL"})])
def test_gradients_pass_through(op):
    finite_difference_check(selected(op), VALUES, ["a", "b"])


@pytest.mark.parametrize("domain", ["FACE", "EDGE"])
@pytest.mark.parametrize("mode", ["UNIFORM", "SINGLE_AXIS"])
def test_scale_elements_gradients(domain, mode):
    """Scale = c (a parameter), Axis = (a, b, 0.3): d/da, d/db, d/dc through the islands' means."""
    sel, sel_links = selection_nodes("b")
    extra = sel + [node("Ax", "ShaderNodeCombineXYZ", {}, {"Z": 0.3})]
    links = sel_links + [link(("Cmp", "Result"), ("Sc", "Selection")), link(("Group Input", "c"), ("Sc", "Scale")),
                         link(("Group Input", "a"), ("Ax", "X")), link(("Group Input", "b"), ("Ax", "Y")),
                         link(("Ax", "Vector"), ("Sc", "Axis"))]
    op = node("Sc", "GeometryNodeScaleElements", {"domain": domain, "scale_mode": mode})
    finite_difference_check(op_program("ico", op, "Geometry", "Geometry", extra, links), VALUES, ["a", "b", "c"])


@pytest.mark.parametrize("mode", ["FACES", "VERTICES"])
def test_extrude_gradients(mode):
    """Offset unlinked (face / vertex normals), Offset Scale = c: d/da, d/db through the normals."""
    extra, links = [], [link(("Group Input", "c"), ("E", "Offset Scale"))]
    ir = selected(node("E", "GeometryNodeExtrudeMesh", {"mode": mode}), mesh="ico", extra_nodes=extra,
                  extra_links=links)
    finite_difference_check(ir, VALUES, ["a", "b", "c"])


@pytest.mark.parametrize("mesh", ["ico", "grid"])
@pytest.mark.parametrize("scale_field", [False, True])
def test_extrude_regions_gradients(mesh, scale_field):
    """Face regions (Individual off), Offset unlinked (face normals averaged per point), Offset
    Scale = c or x * c (a field: each point takes the mean of its faces' offsets): d/da, d/db,
    d/dc, through the moved points inside the regions and the new ones on their boundaries."""
    extra = [node("Q", "GeometryNodeInputPosition"), node("QS", "ShaderNodeSeparateXYZ"),
             node("M", "ShaderNodeMath", {"operation": "MULTIPLY"})]
    links = [link(("Q", "Position"), ("QS", "Vector")), link(("QS", "X"), ("M", "Value")),
             link(("Group Input", "c"), ("M", "Value_001")),
             link(("M", "Value") if scale_field else ("Group Input", "c"), ("E", "Offset Scale"))]
    ir = selected(node("E", "GeometryNodeExtrudeMesh", {}, {"Individual": False}), mesh=mesh, extra_nodes=extra,
                  extra_links=links)
    finite_difference_check(ir, dict(VALUES, c=-0.4), ["a", "b", "c"])


@pytest.mark.parametrize("op, message", [
    (node("E", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}), "extruding EDGES of a mesh whose edge order is not"),
    (node("E", "GeometryNodeExtrudeMesh", {}, {"Individual": False}), "Individual off"),
])
def test_unsupported_modes_name_the_node(op, message):
    """(EDGES and face regions of a cube of 1014 faces, whose edge order is not modelled: Blender
    splits its edges over as many hash sets as the machine has threads.)"""
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("cube", op, "Mesh", "Mesh")
    next(nd for nd in ir["groups"][0]["nodes"] if nd["name"] == "Mesh")["inputs"].update(
        {"Vertices X": 14, "Vertices Y": 14, "Vertices Z": 14})
    with pytest.raises(IRError, match=f"node 'E'.*{message}"):
        load_program(ir).evaluate_one({})


def test_extrude_individual_field_is_an_error():
    """Individual is a single value in Blender: a field (x > c) linked to it is an error naming the node."""
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = selected(node("E", "GeometryNodeExtrudeMesh"), socket="Individual")
    with pytest.raises(IRError, match="node 'E'.*Individual is a single value"):
        load_program(ir).evaluate_one(VALUES)


def test_extrude_edges_gradients():
    extra, links = [], [link(("Group Input", "c"), ("E", "Offset Scale"))]
    ir = selected(node("E", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}), mesh="cube", extra_nodes=extra,
                  extra_links=links)
    finite_difference_check(ir, VALUES, ["a", "b", "c"])


@pytest.mark.parametrize("mode", ["VERTICES", "EDGES", "FACES", "CORNERS"])
def test_points_gradients(mode):
    """Mesh to Points -> Points to Vertices: the points' positions follow a and b."""
    ir = selected(node("M", "GeometryNodeMeshToPoints", {"mode": mode}), mesh="ico", geometry=("Mesh", "Points"),
                  after=[(node("PV", "GeometryNodePointsToVertices"), "Points", "Mesh")])
    finite_difference_check(ir, VALUES, ["a", "b"])


def test_mesh_to_points_edges_of_unmodelled_order_is_an_error():
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("grid", node("M", "GeometryNodeMeshToPoints", {"mode": "EDGES"}), "Mesh", "Points",
                    after=[(node("PV", "GeometryNodePointsToVertices"), "Points", "Mesh")])
    assert load_program(ir).evaluate_one({"a": 0.1, "b": 0.2, "c": 0.0}).vertices.shape[0] == 17  # a 4x3 grid's edges
    ir = op_program("cylinder", node("M", "GeometryNodeMeshToPoints", {"mode": "EDGES"}), "Mesh", "Points")
    g = ir["groups"][0]  # Triangulate of n-gons with BEAUTY first: its edge order is not modelled
    g["nodes"].append(node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}))
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["M", "Mesh"]] + [
        {"from": ["SP", "Geometry"], "to": ["T", "Mesh"], "order": 0}, {"from": ["T", "Mesh"], "to": ["M", "Mesh"], "order": 0}]
    with pytest.raises(IRError, match="node 'M'.*EDGES.*not modelled"):
        load_program(ir).evaluate_one({"a": 0.1, "b": 0.2, "c": 0.0})


def test_merge_by_distance_gradients():
    """Merged points are the means of their groups: gradients through them (seams merged here)."""
    from meshoptools import merge_program
    finite_difference_check(merge_program(selection=True), {"a": 0.2, "b": 0.3, "c": 0.1, "d": 0.05}, ["a", "b", "c"])


@pytest.mark.parametrize("mesh", ["grid", "cube"])
def test_merge_by_distance_connected_gradients(mesh):
    """CONNECTED merges (Distance 0.9 * d, regions collapsing): gradients through the groups' means."""
    from meshoptools import connected_merge_program
    finite_difference_check(connected_merge_program(mesh), {"a": 0.3, "b": 0.2, "c": 0.1, "d": 0.8}, ["a", "b"])


def test_connected_targets_follow_the_edge_order():
    """Points at x = 0, 1, 2.1, Distance 1.2: with edge (1, 2) first, 1 and 2 merge and their mean
    (1.55) is too far from 0; with (0, 1) first, 0 and 1 merge and their mean (0.5) is too far
    from 2. ALL takes 1 into 0 either way. Unselected points stay."""
    import numpy as np

    from geonodes.geometry.weld import connected_targets, merge_targets
    pos = np.array([[0, 0, 0], [1, 0, 0], [2.1, 0, 0]], np.float32)
    every = np.ones(3, bool)
    assert connected_targets(pos, every, np.array([[1, 2], [0, 1]]), 1.2).tolist() == [0, 1, 1]
    assert connected_targets(pos, every, np.array([[0, 1], [1, 2]]), 1.2).tolist() == [0, 0, 2]
    assert connected_targets(pos, every, np.array([[0, 1], [1, 2]]), 1.6).tolist() == [0, 0, 0]
    assert connected_targets(pos, np.array([True, False, True]), np.array([[0, 1], [1, 2]]), 5.0).tolist() == [0, 1, 2]
    assert merge_targets(pos, every, 1.2).tolist() == [0, 0, 2]


def test_weld_splits_a_polygon_touching_itself():
    """A hexagon whose corners 0 and 3 merge (weld_poly_split_recursive): it keeps corners 3, 4, 5
    and a new triangle 0, 1, 2 follows every polygon; a quad whose corners 0 and 2 merge (and 1, 3)
    collapses."""
    import numpy as np

    from geonodes.geometry.weld import _split
    vert = np.array([0, 1, 2, 0, 4, 5])
    corner_ctx = np.array([True, False, True, True, False, True])
    ctx_vert = np.array([True, False, False, False, False, False])
    assert _split(list(range(6)), vert, corner_ctx, ctx_vert) == [[3, 4, 5], [0, 1, 2]]
    quad = np.array([0, 1, 0, 1])
    assert _split(list(range(4)), quad, np.ones(4, bool), np.array([True, True])) == [None]


def test_split_polygons_with_face_attributes_are_an_error():
    """Blender gives split-off polygons default FACE attributes: with a FACE attribute stored
    before the merge, a row that splits a polygon is an error naming the node; one that does not
    split evaluates."""
    from geonodes.errors import IRError
    from geonodes.program import load_program
    from meshoptools import pinched_ngon_program
    ir = pinched_ngon_program()
    g = ir["groups"][0]
    g["nodes"] += [node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "FACE"}, {"Name": "w", "Value": 2.0}),
                   node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "w"}),
                   node("SP2", "GeometryNodeSetPosition")]
    g["links"] = [lk for lk in g["links"] if lk["to"] not in (["M", "Geometry"], ["Group Output", "Out"])] + [
        link(("SP", "Geometry"), ("St", "Geometry")), link(("St", "Geometry"), ("M", "Geometry")),
        link(("M", "Geometry"), ("SP2", "Geometry")), link(("R", "Attribute"), ("SP2", "Offset")),
        link(("SP2", "Geometry"), ("Group Output", "Out"))]
    prog = load_program(ir)
    assert prog.evaluate_one({"a": 2.0, "b": 0.1}).vertices.shape[0] == 8
    with pytest.raises(IRError, match="node 'M'.*splits a polygon.*FACE attributes"):
        prog.evaluate_one({"a": 2.0, "b": 0.0})


def test_merge_by_distance_connected_needs_the_edge_order():
    """CONNECTED after Triangulate BEAUTY of n-gons (whose edge order is not modelled): an error."""
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("cylinder", node("M", "GeometryNodeMergeByDistance", {"mode": "CONNECTED"}), "Geometry", "Geometry")
    g = ir["groups"][0]
    g["nodes"].append(node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}))
    g["links"] = [lk for lk in g["links"] if lk["to"] != ["M", "Geometry"]] + [
        {"from": ["SP", "Geometry"], "to": ["T", "Mesh"], "order": 0}, {"from": ["T", "Mesh"], "to": ["M", "Geometry"], "order": 0}]
    with pytest.raises(IRError, match="node 'M'.*CONNECTED.*edge order is not modelled"):
        load_program(ir).evaluate_one({"a": 0.1, "b": 0.2, "c": 0.0})


def test_dual_mesh_gradients():
    finite_difference_check(op_program("ico", node("D", "GeometryNodeDualMesh"), "Mesh", "Dual Mesh"), VALUES, ["a", "b"])


def test_dual_mesh_keep_boundaries_gradients():
    ir = op_program("grid", node("D", "GeometryNodeDualMesh", {}, {"Keep Boundaries": True}), "Mesh", "Dual Mesh")
    finite_difference_check(ir, VALUES, ["a", "b"])


def test_dual_mesh_keep_boundaries_needs_the_edge_order():
    """Keep Boundaries on a mesh with boundary edges reads the edge order (the midpoints' order):
    after 4.2's BEAUTY triangulation of an n-gon, whose edges' order is not modelled, it is one
    error naming the node."""
    from geonodes.errors import IRError
    from geonodes.program import load_program
    nodes = [node("C", "GeometryNodeMeshCircle", {"fill_type": "NGON"}, {"Vertices": 8}),
             node("T", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}),
             node("D", "GeometryNodeDualMesh", {}, {"Keep Boundaries": True})]
    links = [link(("C", "Mesh"), ("T", "Mesh")), link(("T", "Mesh"), ("D", "Mesh")), link(("D", "Dual Mesh"), ("Group Output", "Out"))]
    with pytest.raises(IRError, match="node 'D' \\(type GeometryNodeDualMesh\\): Keep Boundaries on a mesh with boundary edges "
                                      "whose edge order is not modelled"):
        load_program(program(nodes, links)).evaluate_one({})


def test_merge_by_distance_on_a_point_cloud_is_an_error():
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("grid", node("Pts", "GeometryNodeMeshToPoints"), "Mesh", "Points",
                    after=[(node("M", "GeometryNodeMergeByDistance"), "Geometry", "Geometry")])
    with pytest.raises(IRError, match="node 'M'.*point cloud"):
        load_program(ir).evaluate_one({})


@pytest.mark.parametrize("n", [5, 6, 9, 16, 33])
def test_convex_polygons_clip_by_their_size_only(n):
    """Ear clipping of a polygon whose corners are all convex depends on n only (the fast path
    Triangulate takes): random convex polygons give the regular one's triangles."""
    import numpy as np
    from geonodes.geometry.polyfill import convex, polyfill, project_faces
    from geonodes.nodes.mesh_ops import _convex_fill
    rng = np.random.default_rng(n)
    for _ in range(5):
        t = np.sort(rng.uniform(0, 2 * np.pi, n))
        pts = np.stack([np.cos(t) * 1.3, np.sin(t) * 0.7, 0.2 * np.cos(t)], 1)
        co = project_faces(pts[None])
        if convex(co)[0]:
            assert np.array_equal(np.asarray(polyfill(co[0])).reshape(-1), _convex_fill(n))
