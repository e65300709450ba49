"""Every Math / Vector Math operation and the implicit conversions, against live Blender (bpy)."""
import random
import zlib

import numpy as np
import pytest
import torch

from geonodes.nodes.math_nodes import MATH_OPS, VECTOR_OPS
from geonodes.program import load_program
from irtools import fparams, link, node, value_program

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender
from geonodes.blender import evaluate_in_blender  # noqa: E402

GI = "Group Input"
SPECIAL = [0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 2.0]


def value_sets(names, n, seed):
    rng = random.Random(seed)
    sets = [{k: rng.choice(SPECIAL) for k in names} for _ in range(n // 2)]
    sets += [{k: rng.uniform(-4, 4) for k in names} for _ in range(n - n // 2)]
    return sets


def compare(ir, sets):
    prog = load_program(ir)
    ours = [prog.evaluate_one(s, dtype=torch.float64).vertices.numpy() for s in sets]
    theirs = [r["vertices"] for r in evaluate_in_blender(ir, sets)]
    for s, a, b in zip(sets, ours, theirs):
        assert a.shape == b.shape, s
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4, err_msg=str(s))


@pytest.mark.parametrize("op", sorted(MATH_OPS))
def test_math_op_matches_blender(op):
    for clamp in (False, True):
        nodes = [node("M", "ShaderNodeMath", {"operation": op, "use_clamp": clamp})]
        links = [link((GI, "a"), ("M", "Value")), link((GI, "b"), ("M", "Value_001")),
                 link((GI, "c"), ("M", "Value_002"))]
        ir = value_program(nodes, links, ("M", "Value"), fparams("a", "b", "c"))
        compare(ir, value_sets("abc", 24, seed=zlib.crc32(op.encode()) % 1000))


@pytest.mark.parametrize("op", sorted(VECTOR_OPS))
def test_vector_math_op_matches_blender(op):
    probe_node = bpy.data.node_groups.new("probe", "GeometryNodeTree").nodes.new("ShaderNodeVectorMath")
    if op not in [e.identifier for e in probe_node.bl_rna.properties["operation"].enum_items]:
        pytest.skip(f"Blender {bpy.app.version_string} has no Vector Math {op} (added in a later version)")
    nodes = [node("A", "ShaderNodeCombineXYZ"), node("B", "ShaderNodeCombineXYZ"), node("C", "ShaderNodeCombineXYZ"),
             node("V", "ShaderNodeVectorMath", {"operation": op}), node("J", "GeometryNodeJoinGeometry"),
             node("P2", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1})]
    links = []
    for vec, names in (("A", "abc"), ("B", "def"), ("C", "ghi")):
        links += [link((GI, k), (vec, axis)) for k, axis in zip(names, "XYZ")]
    links += [link(("A", "Vector"), ("V", "Vector")), link(("B", "Vector"), ("V", "Vector_001")),
              link(("C", "Vector"), ("V", "Vector_002")), link((GI, "s"), ("V", "Scale")),
              link(("V", "Value"), ("P2", "Start Location"))]
    ir = value_program(nodes, links, ("V", "Vector"), fparams(*"abcdefghi", "s"))
    ir["groups"][0]["links"] = [lk for lk in ir["groups"][0]["links"] if lk["to"] != ["Group Output", "Out"]]
    ir["groups"][0]["links"] += [link(("Probe", "Mesh"), ("J", "Geometry"), 0), link(("P2", "Mesh"), ("J", "Geometry"), 1),
                                 link(("J", "Geometry"), ("Group Output", "Out"))]
    sets = value_sets("abcdefghis", 16, seed=zlib.crc32(op.encode()) % 1000)
    if op == "MODULO":  # x % 0 is NaN in Blender (fmod), and Blender spreads it over the point
        sets = [{k: (1.0 if k in "def" and v == 0 else v) for k, v in s.items()} for s in sets]
    compare(ir, sets)


@pytest.mark.parametrize("target", ["Count", "Switch"])
def test_implicit_conversions_match_blender(target):
    """FLOAT -> INT (Mesh Line count) and FLOAT/INT -> BOOL (Switch) as Blender converts them."""
    if target == "Count":
        nodes = [node("L", "GeometryNodeMeshLine", {"mode": "OFFSET"})]
        links = [link((GI, "a"), ("L", "Count")), link(("L", "Mesh"), ("Group Output", "Out"))]
    else:
        nodes = [node("T", "GeometryNodeMeshCube"), node("F", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1}),
                 node("S", "GeometryNodeSwitch", {"input_type": "GEOMETRY"})]
        links = [link((GI, "a"), ("S", "Switch")), link(("T", "Mesh"), ("S", "True")),
                 link(("F", "Mesh"), ("S", "False")), link(("S", "Output"), ("Group Output", "Out"))]
    from irtools import program
    ir = program(nodes, links, fparams("a"))
    compare(ir, [{"a": v} for v in (-1.5, -0.5, 0.0, 0.2, 0.99, 1.0, 2.7, 3.0)])
