"""Blender's edge order (Index on the EDGE domain) against live Blender: primitives, joined,
transformed and realized meshes, and mesh operations that keep the order (Flip Faces, Delete
Geometry). See tests/edgetools.py for the probe."""
import pytest

from edgetools import PRIMITIVES, edge_index_program
from fieldtools import compare_batch, value_sets
from irtools import link, node
from meshoptools import selection_nodes

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


@pytest.mark.parametrize("kind", sorted(PRIMITIVES) + ["joined", "realized"])
def test_edge_index_of_meshes(kind):
    compare_batch(edge_index_program(kind), value_sets("ab", 6, seed=11))


@pytest.mark.parametrize("kind", ["cube", "uvsphere", "joined"])
def test_edge_index_after_flip_faces(kind):
    op = (node("F", "GeometryNodeFlipFaces"), "Mesh", "Mesh")
    compare_batch(edge_index_program(kind, [op]), value_sets("ab", 4, seed=12))


@pytest.mark.parametrize("kind", ["grid", "cube", "joined", "line"])
@pytest.mark.parametrize("domain,mode", [("POINT", "ALL"), ("EDGE", "ALL"), ("FACE", "ALL"), ("FACE", "ONLY_FACE"),
                                         ("POINT", "ONLY_FACE")])
def test_edge_index_after_delete_geometry(kind, domain, mode):
    """Delete Geometry (x > b) keeps the surviving edges in their order (mesh_copy_selection)."""
    sel_nodes, sel_links = selection_nodes("b", "X", "Sel")
    op = (node("D", "GeometryNodeDeleteGeometry", {"domain": domain, "mode": mode}), "Geometry", "Geometry",
          sel_nodes, sel_links + [link(("Sel", "Result"), ("D", "Selection"))])
    compare_batch(edge_index_program(kind, [op]), value_sets("ab", 8, seed=13, lo=-1.0, hi=1.0))


@pytest.mark.parametrize("kind", ["moved_grid", "moved_cube", "moved_cylinder", "moved_uvsphere", "moved_ico"])
@pytest.mark.parametrize("quad_method", ["BEAUTY", "FIXED", "FIXED_ALTERNATE", "SHORTEST_DIAGONAL", "LONGEST_DIAGONAL"])
def test_edge_index_after_triangulate(kind, quad_method):
    """Triangulate keeps the old edges and appends the diagonals face by face (quads, CLIP n-gons:
    the cases checked; BEAUTY n-gons leave the order unmodelled: tests/test_edges.py). Meshes
    moved per row first (meshoptools.moved_mesh: no symmetric quad ties its diagonals) by random
    parameters (the edge values, a = 0 say, keep symmetries where diagonals tie: see README)."""
    op = (node("TR", "GeometryNodeTriangulate", {"quad_method": quad_method, "ngon_method": "CLIP"}), "Mesh", "Mesh")
    compare_batch(edge_index_program(kind, [op]), value_sets("ab", 10, seed=14)[5:])


@pytest.mark.parametrize("kind", ["grid", "cube", "line", "joined"])
def test_edge_index_after_extrude_vertices(kind):
    """Extrude Mesh (VERTICES, where x > b) appends a loose edge per selected point after the old edges."""
    sel_nodes, sel_links = selection_nodes("b", "X", "Sel")
    op = (node("X", "GeometryNodeExtrudeMesh", {"mode": "VERTICES"}), "Mesh", "Mesh",
          sel_nodes, sel_links + [link(("Sel", "Result"), ("X", "Selection"))])
    compare_batch(edge_index_program(kind, [op]), value_sets("ab", 8, seed=15, lo=-1.0, hi=1.0))
