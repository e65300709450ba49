"""Curves without Blender: gradients of swept curves by finite differences, row splitting by
resolution, and the errors for what is not supported."""
import pytest
import torch

from curvetools import primitive
from fieldtools import GI, finite_difference_check
from geonodes.errors import GeonodesError
from geonodes.program import load_program
from irtools import link, node, program

OUT = ("Group Output", "Out")


def swept(kind, profile="circle"):
    nodes, links, params = primitive(kind, "C", "")
    pnodes, plinks, pparams = primitive(profile, "P", "p ")
    nodes += pnodes + [node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, -0.2, 0.7]}),
                       node("R", "GeometryNodeSetCurveRadius"), node("M", "GeometryNodeCurveToMesh", {}, {"Fill Caps": True})]
    links += plinks + [link(("C", "Curve"), ("T", "Geometry")), link(("T", "Geometry"), ("R", "Curve")),
                       link((GI, "radius"), ("R", "Radius")), link(("R", "Curve"), ("M", "Curve")),
                       link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params += pparams + [{"name": "radius", "kind": "float", "default": 1.0}]
    return program(nodes, links, params), params


VALUES = {"Start X": 0.1, "Start Y": -0.3, "Start Z": 0.2, "End X": 0.9, "End Y": 0.4, "End Z": 1.1,
          "Middle X": 0.2, "Middle Y": 1.3, "Middle Z": -0.4, "Start Handle X": 0.5, "Start Handle Y": 0.7,
          "Start Handle Z": 0.1, "End Handle X": 0.3, "End Handle Y": -0.6, "End Handle Z": 0.8,
          "Direction X": 0.3, "Direction Y": 0.2, "Direction Z": 0.9, "Length": 1.7, "Radius": 0.8,
          "Start Angle": 0.4, "Sweep Angle": 2.5, "Resolution": 5, "Connect Center": False, "Invert Arc": False,
          "Offset Angle": 0.2, "Point 1 X": -0.9, "Point 1 Y": 0.1, "Point 1 Z": 0.2, "Point 2 X": 0.1, "Point 2 Y": 1.1,
          "Point 2 Z": -0.1, "Point 3 X": 0.8, "Point 3 Y": -0.2, "Point 3 Z": 0.3, "p Radius": 0.3, "p Resolution": 5, "radius": 0.7,
          "p Start X": -0.2, "p Start Y": 0.0, "p Start Z": 0.1, "p End X": 0.3, "p End Y": 0.1, "p End Z": 0.0,
          "p Start Handle X": 0.0, "p Start Handle Y": 0.3, "p Start Handle Z": 0.0, "p End Handle X": 0.2,
          "p End Handle Y": -0.3, "p End Handle Z": 0.1}


@pytest.mark.parametrize("kind", ["line", "line_direction", "circle", "circle_points", "arc", "arc_points",
                                  "quadratic", "bezier", "bezier_offset"])
def test_gradients_of_swept_curves(kind):
    ir, params = swept(kind, "bezier" if kind == "circle" else "circle")
    values = {p["name"]: VALUES[p["name"]] for p in params}
    floats = [p["name"] for p in params if p["kind"] == "float"]
    finite_difference_check(ir, values, floats)


def test_resolution_splits_rows():
    ir, params = swept("arc")
    prog = load_program(ir)
    sets = [{p["name"]: VALUES[p["name"]] for p in params} for _ in range(3)]
    sets[1]["Resolution"], sets[2]["Connect Center"] = 9, True
    groups = prog.evaluate(prog.stack(sets))
    counts = sorted(int(g.mesh(k).vertices.shape[0]) for g in groups for k in range(len(g.index)))
    assert counts == sorted([5 * 5, 9 * 5, 6 * 5])
    for s, c in zip(sets, (25, 45, 30)):
        assert prog.evaluate_one(s, dtype=torch.float64).vertices.shape[0] == c


def test_unsupported_node_names_group_node_and_type():
    ir = program([node("Spiral", "GeometryNodeCurveSpiral"), node("M", "GeometryNodeCurveToMesh")],
                 [link(("Spiral", "Curve"), ("M", "Curve")), link(("M", "Mesh"), OUT)])
    with pytest.raises(GeonodesError, match="group 'main': node 'Spiral' \\(type GeometryNodeCurveSpiral\\): unknown node type 'GeometryNodeCurveSpiral'"):
        load_program(ir)


@pytest.mark.parametrize("type_", ["GeometryNodeDeleteGeometry", "GeometryNodeSetID"])
def test_nodes_without_curve_support_refuse_curves(type_):
    """A node that does not handle curves yet is one error naming the group, node and type."""
    socket = out = "Geometry"
    ir = program([node("Circle", "GeometryNodeCurvePrimitiveCircle"), node("X", type_)],
                 [link(("Circle", "Curve"), ("X", socket)), link(("X", out), OUT)])
    with pytest.raises(GeonodesError, match=f"group 'main': node 'X' \\(type {type_}\\)"):
        load_program(ir).evaluate_one({})


@pytest.mark.parametrize("mode", ["COUNT", "LENGTH"])
def test_gradients_of_resampled_curves(mode):
    """Resampled positions are differentiable in the curve's inputs (the sample length only
    picks the count: samples are spread evenly over the whole length)."""
    nodes, links, params = primitive("bezier", "C", "")
    nodes += [node("S", "GeometryNodeResampleCurve", {"mode": mode}, {"Count": 7}),
              node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.2}),
              node("M", "GeometryNodeCurveToMesh")]
    links += [link(("C", "Curve"), ("S", "Curve")), link((GI, "length"), ("S", "Length")),
              link(("S", "Curve"), ("M", "Curve")), link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params += [{"name": "length", "kind": "float", "default": 0.37}]
    values = {p["name"]: VALUES.get(p["name"], 0.37) for p in params}
    names = [p["name"] for p in params if p["kind"] == "float" and p["name"] != "length"]
    finite_difference_check(program(nodes, links, params), values, names)


@pytest.mark.parametrize("mode", ["COUNT", "LENGTH", "EVALUATED"])
def test_gradients_of_resampled_curves_with_fields(mode):
    """Per-spline counts and a selection from fields (curvetools.joined_resample_program): the
    resampled splines and the kept Bezier segment are differentiable in the curves' inputs."""
    from curvetools import joined_resample_program
    ir, params = joined_resample_program(mode, "index", swept=False)
    values = {p["name"]: 0.4 + 0.13 * i for i, p in enumerate(params) if p["kind"] == "float"}
    values.update({"a Resolution": 5, "q Resolution": 4, "b Resolution": 3, "count": 2, "length": 0.3, "t": 0.5})
    if mode == "COUNT":
        mesh = load_program(ir).evaluate_one(values)
        assert mesh.vertices.shape[0] == 4 + 4 + 6  # the Bezier kept (3 + 1 evaluated points), 4 and 6 samples
    names = ["b Start X", "b End Handle Y", "a Radius", "q Middle Z"]
    finite_difference_check(ir, values, names)


def test_curve_to_points_length_field_is_an_error():
    """Curve to Points' Length takes a single value (Blender 4.2 declares no field there)."""
    ir = program([node("C", "GeometryNodeCurvePrimitiveCircle"), node("I", "GeometryNodeInputIndex"),
                  node("X", "GeometryNodeCurveToPoints", {"mode": "LENGTH"})],
                 [link(("C", "Curve"), ("X", "Curve")), link(("I", "Index"), ("X", "Length")), link(("X", "Points"), OUT)])
    with pytest.raises(GeonodesError, match="node 'X'.*'Length' takes a single value"):
        load_program(ir).evaluate_one({})


def test_instances_with_fields_keep_their_piece_transforms():
    """Instance on Points with a Rotation field over rows of two topologies: each piece's
    instances use that piece's transforms (the batch equals its rows evaluated one by one)."""
    ir = program([node("Grid", "GeometryNodeMeshGrid"), node("P", "GeometryNodeInputPosition"),
                  node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
                  node("I", "GeometryNodeInstanceOnPoints"), node("R", "GeometryNodeRealizeInstances")],
                 [link((GI, "nx"), ("Grid", "Vertices X")), link(("Grid", "Mesh"), ("I", "Points")),
                  link(("P", "Position"), ("I", "Rotation")), link(("Cube", "Mesh"), ("I", "Instance")),
                  link(("I", "Instances"), ("R", "Geometry")), link(("R", "Geometry"), OUT)],
                 [{"name": "nx", "kind": "int", "default": 2}])
    prog = load_program(ir)
    sets = [{"nx": 2}, {"nx": 4}, {"nx": 3}]
    for g in prog.evaluate(prog.stack(sets)):
        for k, i in enumerate(g.index.tolist()):
            one = prog.evaluate_one(sets[i])
            assert torch.allclose(g.mesh(k).vertices, one.vertices, atol=1e-6)


def test_gradients_of_filled_curves():
    """Fill Curve's vertices are the curves' points on XY: differentiable in their inputs."""
    nodes, links, params = primitive("bezier", "C", "")
    nodes += [node("F", "GeometryNodeFillCurve", {"mode": "TRIANGLES"})]
    links += [link(("C", "Curve"), ("F", "Curve")), link(("F", "Mesh"), OUT)]
    values = {p["name"]: VALUES[p["name"]] for p in params}
    finite_difference_check(program(nodes, links, params), values, [p["name"] for p in params if p["kind"] == "float"])


def test_gradients_of_radius_fields():
    """Radius = a + Index * b on the control points, swept: differentiable in a and b."""
    nodes, links, params = primitive("quadratic", "C", "")
    nodes += [node("I", "GeometryNodeInputIndex"), node("Mul", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}),
              node("R", "GeometryNodeSetCurveRadius"),
              node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.3}),
              node("M", "GeometryNodeCurveToMesh")]
    links += [link(("I", "Index"), ("Mul", "Value")), link((GI, "rb"), ("Mul", "Value_001")),
              link((GI, "ra"), ("Mul", "Value_002")), link(("C", "Curve"), ("R", "Curve")),
              link(("Mul", "Value"), ("R", "Radius")), link(("R", "Curve"), ("M", "Curve")),
              link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params += [{"name": "ra", "kind": "float", "default": 0.5}, {"name": "rb", "kind": "float", "default": 0.1}]
    values = {p["name"]: VALUES.get(p["name"], 0.3) for p in params}
    finite_difference_check(program(nodes, links, params), values, ["ra", "rb", "Middle X", "End Z"])


def test_gradients_of_set_position_on_curves():
    """Set Position on a Bezier segment (Offset = Position * k on the points of Index < 1,
    handles following) then swept: differentiable in k and in the curve's inputs."""
    nodes, links, params = primitive("bezier", "C", "")
    nodes += [node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
              node("I", "GeometryNodeInputIndex"),
              node("Cmp", "FunctionNodeCompare", {"data_type": "INT", "operation": "LESS_THAN"}, {"B_INT": 1}),
              node("SP", "GeometryNodeSetPosition"),
              node("Prof", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.2}),
              node("M", "GeometryNodeCurveToMesh")]
    links += [link(("P", "Position"), ("K", "Vector")), link((GI, "k"), ("K", "Scale")),
              link(("I", "Index"), ("Cmp", "A_INT")), link(("Cmp", "Result"), ("SP", "Selection")),
              link(("C", "Curve"), ("SP", "Geometry")), link(("K", "Vector"), ("SP", "Offset")),
              link(("SP", "Geometry"), ("M", "Curve")), link(("Prof", "Curve"), ("M", "Profile Curve")),
              link(("M", "Mesh"), OUT)]
    params += [{"name": "k", "kind": "float", "default": 0.4}]
    values = {p["name"]: VALUES.get(p["name"], 0.4) for p in params}
    values["Resolution"] = 5
    finite_difference_check(program(nodes, links, params), values, ["k", "Start X", "Start Handle Y", "End Z"])


def test_fill_curve_runs_without_blender(monkeypatch):
    """Fill Curve's triangulation is the port (geometry.cdt): it evaluates with bpy and
    mathutils unimportable."""
    import sys
    monkeypatch.setitem(sys.modules, "bpy", None)
    monkeypatch.setitem(sys.modules, "mathutils", None)
    monkeypatch.setitem(sys.modules, "mathutils.geometry", None)
    for mode in ("TRIANGLES", "NGONS"):
        ir = program([node("C", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 8}),
                      node("F", "GeometryNodeFillCurve", {"mode": mode})],
                     [link(("C", "Curve"), ("F", "Curve")), link(("F", "Mesh"), OUT)])
        mesh = load_program(ir).evaluate_one({})
        assert mesh.vertices.shape == (8, 3)
        assert mesh.face_offsets.shape[0] - 1 == (6 if mode == "TRIANGLES" else 1)


@pytest.mark.parametrize("mode", ["TRIANGLES", "NGONS"])
def test_gradients_of_filled_crossing_curves(mode):
    """Two overlapping circles filled: the vertices the triangulation adds where they cross are
    the crossings of their segments, differentiable in the circles' radius and placement."""
    nodes = [node("A", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 7}),
             node("B", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 5}),
             node("T", "GeometryNodeTransform"), node("XYZ", "ShaderNodeCombineXYZ"),
             node("J", "GeometryNodeJoinGeometry"), node("F", "GeometryNodeFillCurve", {"mode": mode})]
    links = [link((GI, "ra"), ("A", "Radius")), link((GI, "rb"), ("B", "Radius")), link((GI, "dx"), ("XYZ", "X")),
             link(("XYZ", "Vector"), ("T", "Translation")), link(("B", "Curve"), ("T", "Geometry")),
             link(("A", "Curve"), ("J", "Geometry"), 0), link(("T", "Geometry"), ("J", "Geometry"), 1),
             link(("J", "Geometry"), ("F", "Curve")), link(("F", "Mesh"), OUT)]
    params = [{"name": k, "kind": "float", "default": v} for k, v in (("ra", 1.0), ("rb", 0.7), ("dx", 0.8))]
    ir = program(nodes, links, params)
    values = {"ra": 1.0, "rb": 0.7, "dx": 0.8}
    mesh = load_program(ir).evaluate_one(values)
    assert mesh.vertices.shape[0] > 12  # crossing points were added
    finite_difference_check(ir, values, ["ra", "rb", "dx"])


def test_normal_field_on_splines_is_refused():
    """The Normal field on curves is their control points' (tests/test_curve_normal_blender.py);
    read on the spline domain (Resample Curve's Selection) it is one error naming the node."""
    nodes = [node("C", "GeometryNodeCurvePrimitiveCircle"), node("N", "GeometryNodeInputNormal"),
             node("X", "GeometryNodeResampleCurve"), node("M", "GeometryNodeCurveToMesh")]
    links = [link(("C", "Curve"), ("X", "Curve")), link(("N", "Normal"), ("X", "Selection")),
             link(("X", "Curve"), ("M", "Curve")), link(("M", "Mesh"), OUT)]
    with pytest.raises(GeonodesError, match="node 'N' \\(type GeometryNodeInputNormal\\): the Normal field on "
                                            "curves is supported on their points only"):
        load_program(program(nodes, links)).evaluate_one({})


def test_zero_lengths_have_blenders_values_and_finite_gradients():
    """At zero length Blender's values are defined (an angle of 0, a radius of 0, Euler angles of
    a frame whose normal is +Z); torch's sqrt and atan2 have infinite or NaN slopes there, which
    survive the torch.where that drops the branch: the safe forms give the values and finite
    gradients."""
    from geonodes.fields import safe_sqrt
    from geonodes.geometry.curves import angle_normalized
    from geonodes.nodes.curve_to_points import frame_to_euler

    x = torch.tensor([0.0, 4.0, -1.0], dtype=torch.float64, requires_grad=True)
    y = safe_sqrt(x)
    y.sum().backward()
    assert y.tolist() == [0.0, 2.0, 0.0] and x.grad.tolist() == [0.0, 0.25, 0.0]

    a = torch.tensor([[0.6, 0.0, 0.8]], dtype=torch.float64, requires_grad=True)
    angle = angle_normalized(a, a.detach().clone())
    angle.sum().backward()
    assert angle.item() == 0.0 and torch.isfinite(a.grad).all()

    tangent = torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64, requires_grad=True)
    normal = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    euler = frame_to_euler(tangent, normal)  # mat3_normalized_to_eul2's small branch (cy = 0)
    euler.sum().backward()
    assert euler[0].tolist() == pytest.approx([-torch.pi, -torch.pi / 2, 0.0])
    assert torch.isfinite(tangent.grad).all() and torch.isfinite(normal.grad).all()


@pytest.mark.parametrize("radius", [0.0, 0.7])
def test_gradients_of_a_circle_of_radius_zero(radius):
    """A circle of radius 0 swept by a square and its points with Curve to Points' rotation on
    instanced cubes: finite gradients at radius 0 (every tangent and length zero)."""
    from irtools import fparams
    nodes = [node("C", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 6}),
             node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.1}),
             node("M", "GeometryNodeCurveToMesh"), node("TP", "GeometryNodeCurveToPoints", {}, {"Count": 5}),
             node("Cu", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}), node("I", "GeometryNodeInstanceOnPoints"),
             node("J", "GeometryNodeJoinGeometry"), node("Re", "GeometryNodeRealizeInstances")]
    links = [link((GI, "a"), ("C", "Radius")), link(("C", "Curve"), ("M", "Curve")), link(("P", "Curve"), ("M", "Profile Curve")),
             link(("C", "Curve"), ("TP", "Curve")), link(("TP", "Points"), ("I", "Points")), link(("Cu", "Mesh"), ("I", "Instance")),
             link(("TP", "Rotation"), ("I", "Rotation")), link(("M", "Mesh"), ("J", "Geometry")),
             link(("I", "Instances"), ("J", "Geometry"), 1), link(("J", "Geometry"), ("Re", "Geometry")),
             link(("Re", "Geometry"), ("Group Output", "Out"))]
    prog = load_program(program(nodes, links, fparams("a")))
    a = torch.tensor([radius], dtype=torch.float64, requires_grad=True)
    loss = sum((g.vertices ** 2).sum() for g in prog.evaluate({"a": a}, dtype=torch.float64))
    loss.backward()
    assert torch.isfinite(a.grad).all()
