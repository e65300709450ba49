"""Delete Geometry and Separate Geometry with selections against live Blender (bpy): every
domain and mode, rows of one batch keeping different elements (topology split per row),
followed by fields on what is left."""
import pytest

from fieldtools import GI, compare_batch, mesh_node, value_sets
from irtools import fparams, link, node, program

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender


def selection_nodes(axis="X"):
    """Selection = position.axis > a + 0.0123 (on any domain: Blender's interpolation of
    positions). The shift keeps the threshold off the coordinates and face centres that are 0
    up to rounding, where the last bit of a position (not the compiler) would decide."""
    return ([node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
             node("Th", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 0.0123}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"})],
            [link(("P", "Position"), ("Sep", "Vector")), link(("Sep", axis), ("Cmp", "A")), link((GI, "a"), ("Th", "Value")),
             link(("Th", "Value"), ("Cmp", "B"))])


def delete_program(mesh, domain, mode, after_index=False):
    nodes, links = selection_nodes()
    nodes += [mesh_node(mesh), node("D", "GeometryNodeDeleteGeometry", {"domain": domain, "mode": mode}),
              node("T", "GeometryNodeTransform")]
    links += [link(("Mesh", "Mesh"), ("D", "Geometry")), link(("Cmp", "Result"), ("D", "Selection")),
              link(("D", "Geometry"), ("T", "Geometry")), link((GI, "b"), ("TZ", "Z")), link(("TZ", "Vector"), ("T", "Translation"))]
    nodes.append(node("TZ", "ShaderNodeCombineXYZ"))
    last = ("T", "Geometry")
    if after_index:  # Offset z = index * 0.1 on the mesh that is left
        nodes += [node("I", "GeometryNodeInputIndex"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}, {"Value_001": 0.1}),
                  node("C", "ShaderNodeCombineXYZ"), node("SP", "GeometryNodeSetPosition")]
        links += [link(("I", "Index"), ("M", "Value")), link(("M", "Value"), ("C", "Z")), link(("C", "Vector"), ("SP", "Offset")),
                  link(last, ("SP", "Geometry"))]
        last = ("SP", "Geometry")
    links.append(link(last, ("Group Output", "Out")))
    return program(nodes, links, fparams("a", "b"))


@pytest.mark.parametrize("mesh", ["grid", "ico", "cube", "cylinder"])
@pytest.mark.parametrize("domain", ["POINT", "EDGE", "FACE"])
@pytest.mark.parametrize("mode", ["ALL", "EDGE_FACE", "ONLY_FACE"])
def test_delete_geometry(mesh, domain, mode):
    sets = value_sets("ab", 16, seed=len(mesh + domain + mode), lo=-1.2, hi=1.2)
    sets += [{"a": -5.0, "b": 0.0}, {"a": 5.0, "b": 0.0}]  # everything deleted / nothing deleted
    compare_batch(delete_program(mesh, domain, mode), sets)


@pytest.mark.parametrize("domain", ["POINT", "FACE"])
def test_index_after_delete(domain):
    compare_batch(delete_program("ico", domain, "ALL", after_index=True), value_sets("ab", 12, seed=3, lo=-1, hi=1))


@pytest.mark.parametrize("domain", ["POINT", "EDGE", "FACE"])
def test_separate_geometry(domain):
    """Selection joined with Inverted (moved up by b): every element lands in one of them."""
    nodes, links = selection_nodes("Y")
    nodes += [mesh_node("cylinder"), node("S", "GeometryNodeSeparateGeometry", {"domain": domain}),
              node("T", "GeometryNodeTransform"), node("TZ", "ShaderNodeCombineXYZ"), node("J", "GeometryNodeJoinGeometry")]
    links += [link(("Mesh", "Mesh"), ("S", "Geometry")), link(("Cmp", "Result"), ("S", "Selection")),
              link(("S", "Inverted"), ("T", "Geometry")), link((GI, "b"), ("TZ", "Z")), link(("TZ", "Vector"), ("T", "Translation")),
              link(("S", "Selection"), ("J", "Geometry"), 0), link(("T", "Geometry"), ("J", "Geometry"), 1),
              link(("J", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a", "b")), value_sets("ab", 16, seed=5, lo=-1, hi=1))


def test_single_value_selection():
    """A selection that is one value per row deletes a row's whole mesh or nothing."""
    nodes = [mesh_node("cube"), node("D", "GeometryNodeDeleteGeometry", {"domain": "FACE"}),
             node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
             node("J", "GeometryNodeJoinGeometry"), node("G", "GeometryNodeMeshGrid")]
    links = [link(("Mesh", "Mesh"), ("D", "Geometry")), link((GI, "a"), ("Cmp", "A")), link(("Cmp", "Result"), ("D", "Selection")),
             link(("D", "Geometry"), ("J", "Geometry"), 0), link(("G", "Mesh"), ("J", "Geometry"), 1),
             link(("J", "Geometry"), ("Group Output", "Out"))]
    compare_batch(program(nodes, links, fparams("a")), [{"a": v} for v in (-1.0, 0.0, 0.5, 2.0)])
