"""The authoring API: the IR it writes, what that IR evaluates to, and its errors."""
from __future__ import annotations

import math

import pytest
import torch

from geonodes.authoring import ProgramBuilder
from geonodes.errors import IRError
from geonodes.ir import parse_ir
from geonodes.program import Program


def compile_(p: ProgramBuilder) -> Program:
    return Program(parse_ir(p.build()))


def probe(p: ProgramBuilder, vector, **values):
    """Evaluate a vector value: the position of a one-point line."""
    p.output(p.line(1, start=vector, offset=(0.0, 0.0, 1.0)))
    return compile_(p).evaluate_one(values, dtype=torch.float64).vertices[0].tolist()


def nodes_of(ir, group="Geometry Nodes"):
    return next(g for g in ir["groups"] if g["name"] == group)["nodes"]


def test_parameters_become_interface_inputs_and_ir_parameters():
    p = ProgramBuilder("thing")
    with p.category("Size"):
        w = p.float("Width", 1.0, 0.5, 2.0)
    with p.category("Legs"):
        legs = p.int("Legs Type", 0, 0, 2)
        has_mid = p.bool("Has Mid Board", False, active_if=(legs == 2))
        p.float("Mid Height", 0.2, 0.1, 0.3, active_if=(legs == 2) & has_mid, category="Mid")
    p.output(p.cube(w))
    ir = p.build()
    params = {q["name"]: q for q in ir["parameters"]}
    assert params["Width"] == {"name": "Width", "socket": "Socket_1", "kind": "float", "min": 0.5, "max": 2.0,
                               "default": 1.0, "category": "Size", "sample": True, "active_if": None}
    assert params["Has Mid Board"]["active_if"] == [[{"param": "Legs Type", "equals": 2}]]
    assert params["Mid Height"]["active_if"] == [[{"param": "Legs Type", "equals": 2},
                                                   {"param": "Has Mid Board", "equals": True}]]
    assert params["Mid Height"]["category"] == "Mid" and params["Legs Type"]["category"] == "Legs"
    main = ir["groups"][0]
    assert [s["name"] for s in main["inputs"]] == ["Width", "Legs Type", "Has Mid Board", "Mid Height"]
    assert [s["type"] for s in main["inputs"]] == ["FLOAT", "INT", "BOOLEAN", "FLOAT"]
    prog = compile_(p)
    assert not prog.is_active("Mid Height", {"Legs Type": 2, "Has Mid Board": False})
    assert prog.is_active("Mid Height", {"Legs Type": 2, "Has Mid Board": True})


def test_negated_and_ordered_conditions_expand_over_the_parameter_domain():
    p = ProgramBuilder("c")
    kind = p.int("Kind", 0, 0, 3)
    flag = p.bool("Flag", True)
    a = p.float("A", 0.1, 0, 1, active_if=~(kind == 1))
    b = p.float("B", 0.1, 0, 1, active_if=(kind >= 2) | ~flag)
    p.output(p.cube(p.vec(a, b, 1.0)))
    params = {q["name"]: q["active_if"] for q in p.build()["parameters"]}
    assert params["A"] == [[{"param": "Kind", "equals": v}] for v in (0, 2, 3)]
    assert params["B"] == [[{"param": "Kind", "equals": 2}], [{"param": "Kind", "equals": 3}],
                           [{"param": "Flag", "equals": False}]]


def test_active_if_must_be_expressible():
    p = ProgramBuilder("c")
    w = p.float("W", 1.0, 0.5, 2.0)
    with pytest.raises(IRError, match="active_if"):
        p.float("X", 0.1, 0, 1, active_if=(w > 1.0))
    k = p.int("K", 0, 0, 1)
    with pytest.raises(IRError, match="never hold"):
        p.float("Y", 0.1, 0, 1, active_if=(k == 5))


def test_arithmetic_operators_make_math_nodes_with_blender_values():
    p = ProgramBuilder("m")
    w = p.float("W", 0.8, 0, 2)
    h = p.float("H", 0.5, 0, 2)
    t = p.float("T", 0.1, 0, 1)
    got = probe(p, p.vec(w / 2, h - t, 3 - w * 2 + 1), W=1.2, H=0.9, T=0.25)
    assert got == pytest.approx([0.6, 0.65, 1.6])
    ops = sorted(n["properties"]["operation"] for n in nodes_of(p.build()) if n["type"] == "ShaderNodeMath")
    assert ops == ["ADD", "DIVIDE", "MULTIPLY", "SUBTRACT", "SUBTRACT"]
    assert any(n["type"] == "ShaderNodeCombineXYZ" for n in nodes_of(p.build()))


def test_vector_arithmetic_components_min_max_and_abs():
    p = ProgramBuilder("v")
    a = p.float("A", -0.3, -1, 1)
    v = p.vec(a, 2.0, 3.0)
    got = probe(p, (v + (1.0, 1.0, 1.0)) * 2 - p.vec(0, 0, abs(a)) + p.vec(p.min(a, 0.1), p.max(a, 0.1), v.z), A=-0.3)
    assert got == pytest.approx([1.4 - 0.3, 6.0 + 0.1, 8.0 - 0.3 + 3.0])


def test_constants_fold_and_unused_expressions_leave_no_nodes():
    p = ProgramBuilder("f")
    w = p.float("W", 1.0, 0.5, 2.0)
    unused = (w * 3 + 1) / 7  # noqa: F841  (never reaches the output)
    p.output(p.cube(p.vec(2 * 0.25 + 0.5, w + 0, w * 1)))
    types = [n["type"] for n in nodes_of(p.build())]
    assert "ShaderNodeMath" not in types
    combine = next(n for n in nodes_of(p.build()) if n["type"] == "ShaderNodeCombineXYZ")
    assert combine["inputs"] == {"X": 1.0}  # folded; Y and Z are linked straight from W


def test_value_switch_and_comparisons():
    p = ProgramBuilder("s")
    k = p.int("K", 0, 0, 2)
    x = p.float("X", 0.5, 0, 1)
    v = p.switch(k == 1, 10.0, p.switch(x < 0.25, 1.0, 2.0))
    for values, expected in (({"K": 1, "X": 0.1}, 10.0), ({"K": 0, "X": 0.1}, 1.0), ({"K": 2, "X": 0.9}, 2.0)):
        q = ProgramBuilder("s")
        k = q.int("K", 0, 0, 2)
        x = q.float("X", 0.5, 0, 1)
        v = q.switch(k == 1, 10.0, q.switch(x < 0.25, 1.0, 2.0))
        assert probe(q, q.vec(v, 0, 0), **values)[0] == expected
    assert p.switch(True, 1.0, 2.0) == 1.0


def test_boolean_logic_is_exact():
    for a, b in ((False, False), (False, True), (True, False), (True, True)):
        p = ProgramBuilder("b")
        pa, pb = p.bool("A", False), p.bool("B", False)
        got = probe(p, p.vec(p.switch(pa & pb, 1.0, 0.0), p.switch(pa | pb, 1.0, 0.0), p.switch(~pa, 1.0, 0.0)),
                    A=a, B=b)
        assert got == [float(a and b), float(a or b), float(not a)]


def test_geometry_switch_join_order_and_transforms():
    p = ProgramBuilder("g")
    show = p.bool("Show", True)
    z = p.float("Z", 1.0, 0, 2)
    small = p.cube(0.5, name="Small").translate(z=z)
    big = p.cube(2.0, name="Big")
    p.output(p.join(big, p.switch(show, small)))
    prog = compile_(p)
    on = prog.evaluate_one({"Show": True, "Z": 1.5}, dtype=torch.float64)
    off = prog.evaluate_one({"Show": False}, dtype=torch.float64)
    assert on.vertices.shape == (16, 3) and off.vertices.shape == (8, 3)
    assert on.vertices[:8].abs().max() == 1.0  # the big cube comes first
    assert on.vertices[8:, 2].min().item() == pytest.approx(1.25)
    assert sorted(on.face_part_id.unique().tolist()) == [0, 1]


def test_successive_transforms_fuse_in_scale_rotate_translate_order():
    p = ProgramBuilder("t")
    a = p.float("A", 0.3, 0, 1)
    p.output(p.cube(1.0).scale(p.vec(2.0, 1.0, 1.0)).rotate(z=a).translate(x=1.0))
    ir = p.build()
    transforms = [n for n in nodes_of(ir) if n["type"] == "GeometryNodeTransform"]
    assert len(transforms) == 1
    mesh = compile_(p).evaluate_one({"A": math.pi / 2}, dtype=torch.float64)
    # x extent 2 rotated a quarter turn lies along y, then moved by x = 1
    lo, hi = mesh.vertices.min(0).values, mesh.vertices.max(0).values
    assert lo.tolist() == pytest.approx([0.5, -1.0, -0.5]) and hi.tolist() == pytest.approx([1.5, 1.0, 0.5])

    q = ProgramBuilder("t2")
    q.output(q.cube(1.0).translate(x=1.0).scale(2.0))  # translate then scale: two nodes
    assert sum(n["type"] == "GeometryNodeTransform" for n in nodes_of(q.build())) == 2
    assert compile_(q).evaluate_one({}).vertices[:, 0].max().item() == pytest.approx(3.0)


def test_groups_are_real_node_groups_with_an_interface():
    p = ProgramBuilder("legs")
    h = p.float("Height", 0.4, 0.2, 0.8)

    @p.group("Leg")
    def leg(g, size=0.05, height=0.4, round=False):
        return g.switch(round, g.cylinder(size / 2, height), g.box(size, size, height)).translate(z=height / 2)

    legs = p.copies(p.grid(1.0, 0.5), leg(size=0.04, height=h))
    p.output(p.join(legs, leg(height=h * 2, round=True, name="Tall Leg").translate(x=2.0)))
    ir = p.build()
    group = next(g for g in ir["groups"] if g["name"] == "Leg")
    assert [(s["name"], s["type"], s["default"]) for s in group["inputs"]] == \
        [("Size", "FLOAT", 0.05), ("Height", "FLOAT", 0.4), ("Round", "BOOLEAN", False)]
    calls = [n for n in nodes_of(ir) if n["type"] == "GeometryNodeGroup"]
    assert sorted(n["name"] for n in calls) == ["Leg", "Tall Leg"]
    assert all(n["group"] == "Leg" for n in calls)
    mesh = compile_(p).evaluate_one({"Height": 0.5}, dtype=torch.float64)
    assert mesh.vertices.shape[0] == 4 * 8 + 64
    assert mesh.vertices[:32, 2].max().item() == pytest.approx(0.5)
    assert mesh.vertices[32:, 2].max().item() == pytest.approx(1.0)
    assert mesh.vertices[:32, 0].abs().max().item() == pytest.approx(0.52)


def test_on_floor_centred_puts_bounds_on_the_floor():
    p = ProgramBuilder("f")
    x = p.float("X", 0.3, -1, 1)
    p.output(p.on_floor_centred(p.join(p.cube(1.0).translate(x=x, z=-2.0), p.cube(0.5).translate(y=3.0))))
    v = compile_(p).evaluate_one({"X": 0.7}, dtype=torch.float64).vertices
    lo, hi = v.min(0).values, v.max(0).values
    assert lo[2].item() == pytest.approx(0.0)
    assert (lo[:2] + hi[:2]).tolist() == pytest.approx([0.0, 0.0])


def test_node_names_are_unique_and_readable():
    p = ProgramBuilder("n")
    w = p.float("Width", 1.0, 0.5, 2.0)
    p.output(p.join(*[p.cube(w / 2, name="Board").translate(x=float(i)) for i in range(3)]))
    names = [n["name"] for n in nodes_of(p.build())]
    assert len(names) == len(set(names))
    assert {"Board", "Board.001", "Board.002", "Width / 2"} <= set(names)


def test_build_is_deterministic_and_parses():
    from geonodes.library import build

    assert build("chair") == build("chair")
    parse_ir(build("chair"))


def test_errors_name_the_problem():
    p = ProgramBuilder("e")
    w = p.float("W", 1.0, 0.5, 2.0)
    with pytest.raises(IRError, match="declared twice"):
        p.float("W", 1.0, 0.5, 2.0)
    with pytest.raises(IRError, match="outside"):
        p.float("V", 3.0, 0.5, 2.0)
    with pytest.raises(TypeError, match="truth value"):
        if w > 1.0:
            pass
    with pytest.raises(IRError, match="no output"):
        p.build()
    with pytest.raises(IRError, match="fragile"):
        _ = w == 1.0

    with pytest.raises(IRError, match="group input"):
        @p.group("Inner")
        def inner(g, size=1.0):
            return g.cube(w)  # a value of the main group used inside a group


def test_group_inputs_need_typed_defaults():
    p = ProgramBuilder("e")
    with pytest.raises(IRError, match="needs a default"):
        @p.group("Bad")
        def bad(g, size):
            return g.cube(size)
