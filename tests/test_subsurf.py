"""Subdivision Surface without Blender: Catmull-Clark values worked by hand, gradients by finite
differences, float32 against float64, counts (Subdivide Mesh's), and the cases that are one error
naming the node (creases, non-manifold meshes, attributes); Limit Surface (Blender 4.4+) by hand,
as measured with bpy 5.0.1."""
import numpy as np
import pytest
import torch

from edgetools import bend, edge_index_program
from fieldtools import finite_difference_check
from geonodes.errors import IRError
from geonodes.geometry.catmull_clark import check_manifold
from geonodes.program import load_program
from irtools import link, node, program


def subsurf_program(kind, level, props=None, values=None):
    sub = node("SS", "GeometryNodeSubdivisionSurface", dict(props or {}), {"Level": level, **(values or {})})
    return edge_index_program(kind, [bend(), (sub, "Mesh", "Mesh")])


def _cube(level, values=None, props=None):
    nodes = [node("C", "GeometryNodeMeshCube", {}, {"Size": [2.0, 2.0, 2.0]}),
             node("SS", "GeometryNodeSubdivisionSurface", dict(props or {}), {"Level": level, **(values or {})})]
    links = [link(("C", "Mesh"), ("SS", "Mesh")), link(("SS", "Mesh"), ("Group Output", "Out"))]
    return program(nodes, links)


def test_cube_level_one_by_hand():
    """A cube of side 2: each corner (valence 3) goes to (F + 2R)/3 = +-5/9, each edge point to
    (ends + two face centres)/4 = +-(3/4, 3/4, 0), face points stay at the face centres."""
    mesh = load_program(_cube(1)).evaluate_one(dtype=torch.float64)
    v = mesh.vertices.numpy()
    assert v.shape == (8 + 12 + 6, 3)
    np.testing.assert_allclose(np.abs(v[:8]), 5 / 9, atol=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(v[8:20]), 1), np.tile([0.0, 0.75, 0.75], (12, 1)), atol=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(v[20:]), 1), np.tile([0.0, 0.0, 1.0], (6, 1)), atol=1e-12)


@pytest.mark.parametrize("kind,level", [("cube", 1), ("grid", 2), ("cylinder", 2), ("ico", 1), ("realized", 2), ("joined", 2)])
def test_gradients(kind, level):
    finite_difference_check(subsurf_program(kind, level), {"a": 0.4, "b": 0.3}, "ab")


def test_float32_matches_float64_and_counts_are_subdivide_meshs():
    for kind, level in (("cylinder", 2), ("circle_fan", 3)):
        prog = load_program(subsurf_program(kind, level))
        lo = prog.evaluate_one({"a": 0.4, "b": 0.3}).vertices
        hi = prog.evaluate_one({"a": 0.4, "b": 0.3}, dtype=torch.float64).vertices
        assert lo.dtype == torch.float32 and hi.dtype == torch.float64
        assert (lo.double() - hi).abs().max() < 5e-5  # (the probe's float32 sin(1.3 * edge index))
        simple = edge_index_program(kind, [bend(), (node("SD", "GeometryNodeSubdivideMesh", {}, {"Level": level}),
                                                     "Mesh", "Mesh")])
        plain = load_program(simple).evaluate_one({"a": 0.4, "b": 0.3})
        assert plain.vertices.shape == lo.shape and torch.equal(plain.face_vertices, prog.evaluate_one(
            {"a": 0.4, "b": 0.3}).face_vertices)
        assert (plain.vertices - lo).abs().max() > 1e-2  # smoothed, not simple


def test_keep_corners_keeps_a_grids_corners():
    nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 2.0, "Vertices X": 3, "Vertices Y": 3}),
             node("SS", "GeometryNodeSubdivisionSurface", {"boundary_smooth": "PRESERVE_CORNERS"}, {"Level": 2})]
    links = [link(("G", "Mesh"), ("SS", "Mesh")), link(("SS", "Mesh"), ("Group Output", "Out"))]
    v = load_program(program(nodes, links)).evaluate_one().vertices
    corners = v[[0, 2, 6, 8]].abs()
    assert torch.allclose(corners[:, :2], torch.ones(4, 2))
    moved = load_program(program([nodes[0], node("SS", "GeometryNodeSubdivisionSurface", {}, {"Level": 2})],
                                 links)).evaluate_one().vertices[[0, 2, 6, 8]].abs()
    assert (moved[:, :2] < 0.9).all()  # Boundary Smooth 'All' rounds them


def test_level_zero_keeps_the_mesh():
    assert load_program(subsurf_program("cube", 0)).evaluate_one({"a": 0.4, "b": 0.3}).vertices.shape[0] == 24


def test_limit_surface_by_hand_as_blender_5():
    """Limit Surface on (Blender 4.4+): each level-1 point of a cube of side 2 at its limit
    position, (n^2 V + 4 sum(neighbours) + sum(opposite corners)) / (n (n + 5)): corners
    (9 * 5/9 + 4 * 3/2 + 1) / 24 = 1/2, edge points 197.5/324, face points 272/324 (bpy 5.0.1 gives
    0.5, 0.6095679, 0.8395062); a flat grid with Keep Corners stays the flat grid."""
    v = load_program(_cube(1, {"Limit Surface": True})).evaluate_one(dtype=torch.float64).vertices.numpy()
    np.testing.assert_allclose(np.abs(v[:8]), 0.5, atol=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(v[8:20]), 1), np.tile([0.0, 197.5 / 324, 197.5 / 324], (12, 1)), atol=1e-12)
    np.testing.assert_allclose(np.sort(np.abs(v[20:]), 1), np.tile([0.0, 0.0, 272 / 324], (6, 1)), atol=1e-12)
    nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 2.0, "Vertices X": 3, "Vertices Y": 3})]
    links = [link(("G", "Mesh"), ("SS", "Mesh")), link(("SS", "Mesh"), ("Group Output", "Out"))]

    def grid(boundary):
        sub = node("SS", "GeometryNodeSubdivisionSurface", {"boundary_smooth": boundary}, {"Level": 1, "Limit Surface": True})
        return load_program(program(nodes + [sub], links)).evaluate_one(dtype=torch.float64).vertices.numpy()
    kept = grid("PRESERVE_CORNERS")  # bpy 5.0.1: the 5 x 5 grid of spacing 0.5
    assert np.allclose(np.sort(np.unique(np.round(kept[:, :2], 9))), [-1, -0.5, 0, 0.5, 1])
    rounded = grid("ALL")  # bpy 5.0.1: a corner at its refined place, a boundary edge point by (1 4 1) / 6
    np.testing.assert_allclose(rounded[0, :2], [-0.875, -0.875], atol=1e-12)
    # the edge point (-1, -0.5) between the refined corner and the refined (-1, 0): (-5.875, -2.875) / 6
    np.testing.assert_allclose(rounded[9, :2], [-5.875 / 6, -2.875 / 6], atol=1e-12)


def test_limit_surface_per_row():
    """Rows of one batch with Limit Surface on and off (a Boolean parameter) each as alone."""
    nodes = [node("C", "GeometryNodeMeshCube", {}, {"Size": [2.0, 2.0, 2.0]}),
             node("SS", "GeometryNodeSubdivisionSurface", {}, {"Level": 2})]
    links = [link(("C", "Mesh"), ("SS", "Mesh")), link(("SS", "Mesh"), ("Group Output", "Out")),
             link(("Group Input", "lim"), ("SS", "Limit Surface"))]
    prog = load_program(program(nodes, links, [{"name": "lim", "kind": "bool", "default": False}]))
    sets = [{"lim": False}, {"lim": True}, {"lim": False}]
    alone = [prog.evaluate_one(s).vertices for s in sets]
    assert not torch.allclose(alone[0], alone[1])
    for g in prog.evaluate(prog.stack(sets)):
        for k, i in enumerate(g.index.tolist()):
            assert torch.equal(g.mesh(k).vertices, alone[i])


@pytest.mark.parametrize("values,match", [({"Edge Crease": 0.5}, "'Edge Crease' above 0"),
                                          ({"Vertex Crease": 1.0}, "'Vertex Crease' above 0")])
def test_unsupported_inputs_name_the_node(values, match):
    with pytest.raises(IRError, match=f"'SS' \\(type GeometryNodeSubdivisionSurface\\).*{match}"):
        load_program(_cube(1, values)).evaluate_one()


def test_attributes_are_refused_naming_the_node():
    store = (node("A", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "POINT"},
                  {"Name": "w", "Value": 1.0}), "Geometry", "Geometry")
    sub = (node("SS", "GeometryNodeSubdivisionSurface", {}, {"Level": 1}), "Mesh", "Mesh")
    with pytest.raises(IRError, match="'SS'.*attributes"):
        load_program(edge_index_program("grid", [store, sub])).evaluate_one({"a": 0.4, "b": 0.3})


def _check(faces, nv):
    sizes = [len(f) for f in faces]
    fo = np.concatenate([[0], np.cumsum(sizes)])
    return check_manifold(fo, np.concatenate([np.asarray(f) for f in faces]), nv)


def test_check_manifold():
    assert _check([[0, 1, 2, 3]], 4) is None
    assert _check([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]], 4) is None  # a tetrahedron
    assert _check([[0, 1, 2]], 5) is None  # (loose points: not the faces' business)
    assert _check([[0, 1, 2], [1, 0, 3], [0, 1, 4]], 5) is None  # an edge of three faces (sharp)
    assert _check([[0, 1, 2], [0, 3, 4]], 5) is None  # two triangles touching at a point (it stays)
    assert _check([[0, 1, 2], [0, 1, 3]], 4) is None  # two faces the same way along an edge (sharp)
    assert "repeats a point" in _check([[0, 1, 0, 2]], 3)


def test_loose_edges_by_hand():
    """A 4-point Mesh Circle without faces (a square loop of loose edges): each point goes to
    (prev + 4 v + next) / 6 = 2/3 of the way out (Blender's loose-edge B-spline at an edge's end),
    each edge point to the B-spline at 1/2 through its edge and the two points beyond, weights
    (1, 23, 23, 1) / 48: (22/48, 22/48) on the first quarter."""
    nodes = [node("L", "GeometryNodeMeshCircle", {"fill_type": "NONE"}, {"Vertices": 4, "Radius": 1.0}),
             node("SS", "GeometryNodeSubdivisionSurface", {}, {"Level": 1})]
    links = [link(("L", "Mesh"), ("SS", "Mesh")), link(("SS", "Mesh"), ("Group Output", "Out"))]
    v = load_program(program(nodes, links)).evaluate_one(dtype=torch.float64).vertices.numpy()
    assert v.shape == (8, 3)
    np.testing.assert_allclose(np.sort(np.abs(v[:4, :2]), 1), np.tile([0, 2 / 3], (4, 1)), atol=1e-6)
    np.testing.assert_allclose(np.abs(v[4:, :2]), np.full((4, 2), 22 / 48), atol=1e-6)


@pytest.mark.parametrize("kind,level,limit", [("cylinder", 2, False), ("joined", 1, True)])
def test_replays_exactly_as_it_evaluates(kind, level, limit):
    from test_replay import _replays_like_full  # recorded and replayed B=1 paths against the full evaluator
    _replays_like_full(load_program(subsurf_program(kind, level, values={"Limit Surface": limit})), n=3)
