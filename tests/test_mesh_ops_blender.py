"""Mesh operation nodes against live Blender (bpy): random parameter sets with edge values, one
batch per program (rows of different topologies split), vertices within 1e-5 of Blender's in
Blender's order and identical polygons; gradients by finite differences."""
import pytest

from fieldtools import compare_batch, value_sets
from irtools import link, node
from meshoptools import MESHES, op_program, selection_nodes

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
@pytest.mark.parametrize("method", ["FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL", "LONGEST_DIAGONAL"])
def test_triangulate_quads(mesh, method):
    """Selected quads split per row (the diagonal chosen per row by the method). The cylinder's
    n-gon caps (centres at x = 0) stay unselected: only sets with c + 0.0123 > 0 are used."""
    sel, sel_links = selection_nodes()
    op = node("T", "GeometryNodeTriangulate", {"quad_method": method}, {"Minimum Vertices": 4})
    ir = op_program(mesh, op, "Mesh", "Mesh", sel, sel_links + [link(("Cmp", "Result"), ("T", "Selection"))])
    compare_batch(ir, [s for s in sets(2) if mesh != "cylinder" or s["c"] > -0.0123])


def test_triangulate_ngon_is_an_error():
    from geonodes.errors import IRError
    from geonodes.program import load_program
    ir = op_program("cylinder", node("T", "GeometryNodeTriangulate"), "Mesh", "Mesh")
    with pytest.raises(IRError, match="node 'T'.*n-gons"):
        load_program(ir).evaluate_one({})
