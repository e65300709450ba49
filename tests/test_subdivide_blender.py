"""Subdivide Mesh (levels 0 to 4) against live Blender: points, faces and (through the edge-index
probe of tests/edgetools.py) edges in Blender's order, on primitives and joined meshes bent per
row first; gradients by finite differences."""
import pytest

from edgetools import PRIMITIVES, subdivide_program
from fieldtools import compare_batch, value_sets

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


@pytest.mark.parametrize("kind", sorted(PRIMITIVES) + ["joined", "realized"])
@pytest.mark.parametrize("level", [0, 1])
def test_subdivide_mesh(kind, level):
    worst = compare_batch(subdivide_program(kind, level), value_sets("ab", 6, seed=21))
    assert worst <= 1e-5


@pytest.mark.parametrize("kind", ["grid", "cube", "line", "joined", "realized"])
@pytest.mark.parametrize("level", [2, 3])
def test_subdivide_quads_at_higher_levels(kind, level):
    worst = compare_batch(subdivide_program(kind, level), value_sets("ab", 4, seed=22))
    assert worst <= 1e-5


@pytest.mark.parametrize("kind", ["cylinder", "cone", "ico", "uvsphere", "circle_fan", "cylinder_fan"])
@pytest.mark.parametrize("level", [2, 3])
def test_subdivide_triangles_and_ngons_at_higher_levels(kind, level):
    """Faces other than quads (one grid per corner, Blender's subdiv_foreach *_special order),
    alone (ico, fans) and mixed with quads (cylinder, cone, uvsphere)."""
    worst = compare_batch(subdivide_program(kind, level), value_sets("ab", 4, seed=22))
    assert worst <= 1e-5


def test_subdivide_level_four():
    assert compare_batch(subdivide_program("cylinder", 4), value_sets("ab", 3, seed=23)) <= 1e-5
