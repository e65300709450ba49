"""Edge order without Blender: where a mesh's edge order is not modelled, Index on the EDGE domain
is an error naming the node; where it is, edges travel with the mesh (joined, flipped)."""
import pytest
import torch

from edgetools import edge_index_program
from geonodes.errors import IRError
from geonodes.program import load_program
from irtools import node


def _evaluate(ir):
    prog = load_program(ir)
    return list(prog.evaluate(prog.stack([{"a": 0.5, "b": 0.0}])))


def test_index_on_edges_of_unmodelled_order_names_the_node():
    # Blender 4.2's Triangulate with BEAUTY n-gons (BMesh edge rotations) does not model it; quads
    # alone do, and so does 4.3+'s (files saved by 4.3 or later), and a subdivided Ico Sphere's
    tri = (node("TR", "GeometryNodeTriangulate", {"ngon_method": "BEAUTY"}), "Mesh", "Mesh")
    with pytest.raises(IRError, match="'EI'.*EDGE domain.*not modelled"):
        _evaluate(edge_index_program("cylinder", [tri]))
    assert _evaluate(edge_index_program("grid", [tri]))
    newer = edge_index_program("cylinder", [tri])
    newer["source"] = {"saved_by": "4.3.2"}
    assert _evaluate(newer)
    assert _evaluate(edge_index_program("ico3"))


def test_loose_edges_of_a_line():
    """A line's loose edges count: the probe moves every point of a line (no faces) by the mean
    of its edges' sin(1.3 * index) (the line's points are 1 apart in z)."""
    g = _evaluate(edge_index_program("line"))[0]
    z = g.mesh(0).vertices[:, 2] - torch.arange(5.0)
    expected = torch.sin(1.3 * torch.arange(4.0))  # edge values; a point: the mean of its edges'
    means = torch.cat([expected[:1], (expected[:-1] + expected[1:]) / 2, expected[-1:]]) * 0.5
    assert torch.allclose(z.double(), means.double(), atol=1e-6)
