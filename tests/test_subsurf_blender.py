"""Subdivision Surface (Catmull-Clark, Blender 4.2) against live Blender: points, faces and (through
the edge-index probe of tests/edgetools.py) edges in Blender's order, on primitives bent per row
first (closed and open meshes, quads, triangles and n-gons), both Boundary Smooth options, levels
1 to 3; gradients by finite differences."""
import pytest

from edgetools import bend, edge_index_program
from fieldtools import GI, compare_batch, value_sets
from irtools import link, node

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


def subsurf_program(kind, level, props=None, values=None, before=()):
    sub = node("SS", "GeometryNodeSubdivisionSurface", dict(props or {}), {"Level": level, **(values or {})})
    return edge_index_program(kind, [bend(), *before, (sub, "Mesh", "Mesh")])


def curl():
    """Set Position offset (b * z * z, a * z * z * z, 0): a Mesh Line (along z) stops being straight."""
    extra = [node("CP", "GeometryNodeInputPosition"), node("CS", "ShaderNodeSeparateXYZ"),
             node("CZZ", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("CZb", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("CZZZ", "ShaderNodeMath", {"operation": "MULTIPLY"}), node("CZa", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("CC", "ShaderNodeCombineXYZ")]
    links = [link(("CP", "Position"), ("CS", "Vector")), link(("CS", "Z"), ("CZZ", "Value")), link(("CS", "Z"), ("CZZ", "Value_001")),
             link(("CZZ", "Value"), ("CZb", "Value")), link((GI, "b"), ("CZb", "Value_001")),
             link(("CZZ", "Value"), ("CZZZ", "Value")), link(("CS", "Z"), ("CZZZ", "Value_001")),
             link(("CZZZ", "Value"), ("CZa", "Value")), link((GI, "a"), ("CZa", "Value_001")),
             link(("CZb", "Value"), ("CC", "X")), link(("CZa", "Value"), ("CC", "Y")), link(("CC", "Vector"), ("CSP", "Offset"))]
    return (node("CSP", "GeometryNodeSetPosition"), "Geometry", "Geometry", extra, links)


def fins(below=None):
    """Extrude Mesh (EDGES): a fin on every edge, or on the edges of index < `below`."""
    if below is None:
        return (node("XE", "GeometryNodeExtrudeMesh", {"mode": "EDGES"}, {"Offset": [0.1, 0.2, 0.3]}), "Mesh", "Mesh")
    op = spikes(below)
    return (dict(op[0], name="XE", properties={"mode": "EDGES"}), "Mesh", "Mesh", op[3],
            [link(("XI", "Index"), ("XL", "Value")), link(("XL", "Value"), ("XE", "Selection"))])


def spikes(below=2.5):
    """Extrude Mesh (VERTICES) of the points of index < `below`: loose edges on faces' points."""
    extra = [node("XI", "GeometryNodeInputIndex"), node("XL", "ShaderNodeMath", {"operation": "LESS_THAN"},
                                                          {"Value_001": below})]
    links = [link(("XI", "Index"), ("XL", "Value")), link(("XL", "Value"), ("XV", "Selection"))]
    return (node("XV", "GeometryNodeExtrudeMesh", {"mode": "VERTICES"}, {"Offset": [0.1, 0.2, 0.3]}), "Mesh", "Mesh",
            extra, links)


@pytest.mark.parametrize("kind", ["grid", "cube", "cylinder", "cylinder_fan", "cone", "circle_fan", "uvsphere", "ico",
                                  "realized"])
@pytest.mark.parametrize("level", [1, 2])
def test_subdivision_surface(kind, level):
    worst = compare_batch(subsurf_program(kind, level), value_sets("ab", 4, seed=31))
    assert worst <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "cube", "cylinder", "circle_fan"])
def test_subdivision_surface_level_three(kind):
    assert compare_batch(subsurf_program(kind, 3), value_sets("ab", 3, seed=32)) <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "circle_fan", "cylinder", "realized"])
@pytest.mark.parametrize("level", [1, 2])
def test_subdivision_surface_keep_corners(kind, level):
    """Boundary Smooth 'Keep Corners': a boundary point of one face stays where it is."""
    ir = subsurf_program(kind, level, {"boundary_smooth": "PRESERVE_CORNERS"})
    assert compare_batch(ir, value_sets("ab", 4, seed=33)) <= 1e-5


@pytest.mark.parametrize("uv_smooth", ["NONE", "SMOOTH_ALL"])
def test_subdivision_surface_uv_smooth_keeps_positions(uv_smooth):
    assert compare_batch(subsurf_program("grid", 2, {"uv_smooth": uv_smooth}), value_sets("ab", 3, seed=34)) <= 1e-5


@pytest.mark.parametrize("kind", ["line", "circle", "joined"])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_subdivision_surface_of_loose_edges(kind, level):
    """Loose edges (Blender's subdiv_mesh: a B-spline through each loose edge and its neighbours;
    their points on two edges move, the others stay), alone and beside faces."""
    assert compare_batch(subsurf_program(kind, level, before=[curl()]), value_sets("ab", 4, seed=35)) <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "cube", "cylinder"])
@pytest.mark.parametrize("level", [1, 2])
def test_subdivision_surface_with_loose_edges_on_faces(kind, level):
    """A loose edge at a face's point makes that point infinitely sharp (it stays)."""
    ir = subsurf_program(kind, level, before=[spikes()])
    assert compare_batch(ir, value_sets("ab", 4, seed=36)) <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "cube", "cylinder"])
@pytest.mark.parametrize("level", [1, 2])
@pytest.mark.parametrize("boundary", ["ALL", "PRESERVE_CORNERS"])
def test_subdivision_surface_of_non_manifold_meshes(kind, level, boundary):
    """Extrude Mesh of EDGES: a fin on every edge, so inner edges have three faces (sharp: split at
    their midpoints) and points where more than two sharp edges meet stay."""
    ir = subsurf_program(kind, level, {"boundary_smooth": boundary}, before=[fins()])
    assert compare_batch(ir, value_sets("ab", 3, seed=37)) <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "cube", "cylinder"])
@pytest.mark.parametrize("level", [1, 2])
def test_subdivision_surface_with_some_fins(kind, level):
    """Fins on the edges of index < 3 only: a point on one edge of three faces and a boundary edge
    is non-manifold and stays; one between two such edges creases along them; neighbouring fins
    running the same way along their shared edge make it non-manifold too (OpenSubdiv)."""
    assert compare_batch(subsurf_program(kind, level, before=[fins(2.5)]), value_sets("ab", 3, seed=38)) <= 1e-5
