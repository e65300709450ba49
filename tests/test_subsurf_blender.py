"""Subdivision Surface (Catmull-Clark, Blender 4.2) against live Blender: points, faces and (through
the edge-index probe of tests/edgetools.py) edges in Blender's order, on primitives bent per row
first (closed and open meshes, quads, triangles and n-gons), both Boundary Smooth options, levels
1 to 3; gradients by finite differences."""
import pytest

from edgetools import bend, edge_index_program
from fieldtools import compare_batch, value_sets
from irtools import node

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


def subsurf_program(kind, level, props=None, values=None):
    sub = node("SS", "GeometryNodeSubdivisionSurface", dict(props or {}), {"Level": level, **(values or {})})
    return edge_index_program(kind, [bend(), (sub, "Mesh", "Mesh")])


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
