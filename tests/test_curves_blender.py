"""Curves against live Blender (bpy): every curve primitive (through Curve to Mesh's wire mesh
and swept by a profile), Transform, Join, Set Curve Radius and Fill Caps, on random parameter
sets with edge values, evaluated as one batch (rows split by resolution and topology switches);
vertices within 1e-5 of Blender's, identical polygons."""
import pytest

from curvetools import PRIMITIVES, joined_points_program, joined_resample_program, parameter_sets, primitive
from fieldtools import GI, compare_batch
from geonodes.program import load_program
from irtools import link, node, program

pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

OUT = ("Group Output", "Out")


@pytest.mark.parametrize("kind", sorted(PRIMITIVES))
def test_primitive_wire_mesh(kind):
    """Curve to Mesh without a profile: the evaluated points, in order."""
    nodes, links, params = primitive(kind, "C", "")
    nodes.append(node("M", "GeometryNodeCurveToMesh"))
    links += [link(("C", "Curve"), ("M", "Curve")), link(("M", "Mesh"), OUT)]
    ir = program(nodes, links, params)
    compare_batch(ir, parameter_sets(params, 16, seed=sum(map(ord, kind))))


@pytest.mark.parametrize("kind", sorted(PRIMITIVES))
def test_primitive_swept(kind):
    """The primitive (moved by Transform, its radius set) swept by a circle or a Bezier
    profile, with Fill Caps from a parameter."""
    nodes, links, params = primitive(kind, "C", "")
    pnodes, plinks, pparams = primitive("circle" if kind != "circle" else "bezier", "P", "p ")
    nodes += pnodes + [node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, -0.2, 0.7], "Scale": [1.0, 0.5, 1.5]}),
                       node("R", "GeometryNodeSetCurveRadius"), node("M", "GeometryNodeCurveToMesh")]
    extra = [{"name": "radius", "kind": "float", "default": 1.0, "min": -1.0, "max": 2.0},
             {"name": "caps", "kind": "bool", "default": False}, {"name": "sel", "kind": "bool", "default": True}]
    links += plinks + [link(("C", "Curve"), ("T", "Geometry")), link(("T", "Geometry"), ("R", "Curve")),
                       link((GI, "radius"), ("R", "Radius")), link((GI, "sel"), ("R", "Selection")),
                       link(("R", "Curve"), ("M", "Curve")), link(("P", "Curve"), ("M", "Profile Curve")),
                       link((GI, "caps"), ("M", "Fill Caps")), link(("M", "Mesh"), OUT)]
    params += pparams + extra
    ir = program(nodes, links, params)
    compare_batch(ir, parameter_sets(params, 16, seed=7 + sum(map(ord, kind)), swept=True))


def test_join_curves_and_meshes():
    """Join keeps curves apart from meshes: the mesh's vertices, then the curves' sweep, whose
    main curves (two joined primitives) each take every profile spline (two joined circles)."""
    a, la, pa = primitive("arc", "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    c1, lc1, pc1 = primitive("circle", "P1", "p1 ")
    nodes = a + b + c1 + [node("P2", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 3, "Radius": 0.1}),
                          node("Grid", "GeometryNodeMeshGrid", {}, {"Vertices X": 3, "Vertices Y": 2}),
                          node("J", "GeometryNodeJoinGeometry"), node("JP", "GeometryNodeJoinGeometry"),
                          node("M", "GeometryNodeCurveToMesh", {}, {"Fill Caps": True}),
                          node("J2", "GeometryNodeJoinGeometry")]
    links = la + lb + lc1 + [
        link(("A", "Curve"), ("J", "Geometry"), 0), link(("Grid", "Mesh"), ("J", "Geometry"), 1),
        link(("B", "Curve"), ("J", "Geometry"), 2),
        link(("P1", "Curve"), ("JP", "Geometry"), 0), link(("P2", "Curve"), ("JP", "Geometry"), 1),
        link(("J", "Geometry"), ("M", "Curve")), link(("JP", "Geometry"), ("M", "Profile Curve")),
        link(("J", "Geometry"), ("J2", "Geometry"), 0), link(("M", "Mesh"), ("J2", "Geometry"), 1),
        link(("J2", "Geometry"), OUT)]
    params = pa + pb + pc1
    ir = program(nodes, links, params)
    compare_batch(ir, parameter_sets(params, 12, seed=3, swept=True))


def test_curve_only_result_is_empty():
    """A program whose result is a curve yields an empty mesh (Blender's evaluated mesh holds
    the mesh component only)."""
    nodes, links, params = primitive("circle", "C", "")
    ir = program(nodes, links + [link(("C", "Curve"), OUT)], params)
    compare_batch(ir, parameter_sets(params, 4, seed=1))


def test_instance_on_curve_control_points():
    """Instance on Points over a mesh joined with curves: the mesh's points, then the curves'
    control points (a Bezier segment's two, not its evaluated points), realized."""
    a, la, pa = primitive("bezier", "A", "a ")
    c, lc, pc = primitive("circle", "C", "c ")
    nodes = a + c + [node("Grid", "GeometryNodeMeshGrid", {}, {"Vertices X": 2, "Vertices Y": 2}),
                     node("J", "GeometryNodeJoinGeometry"),
                     node("T", "GeometryNodeTransform", {}, {"Translation": [0.2, 0.0, -0.4], "Scale": [1.0, 2.0, 1.0]}),
                     node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
                     node("I", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.1, 0.2, 0.3]}),
                     node("R", "GeometryNodeRealizeInstances")]
    links = la + lc + [link(("C", "Curve"), ("J", "Geometry"), 0), link(("Grid", "Mesh"), ("J", "Geometry"), 1),
                       link(("A", "Curve"), ("J", "Geometry"), 2), link(("J", "Geometry"), ("T", "Geometry")),
                       link(("T", "Geometry"), ("I", "Points")), link(("Cube", "Mesh"), ("I", "Instance")),
                       link(("I", "Instances"), ("R", "Geometry")), link(("R", "Geometry"), OUT)]
    params = pa + pc
    ir = program(nodes, links, params)
    compare_batch(ir, parameter_sets(params, 10, seed=5))


def test_instanced_curves_realized_then_swept():
    """Curves instanced on a mesh's points, realized (their transforms applied), then swept."""
    c, lc, pc = primitive("quadratic", "Q", "q ")
    nodes = c + [node("Line", "GeometryNodeMeshLine", {}, {"Count": 3, "Offset": [0.5, 0.2, 0.3]}),
                 node("I", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.4, 0.0, 0.3], "Scale": [1.0, 0.7, 1.2]}),
                 node("R", "GeometryNodeRealizeInstances"),
                 node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 5, "Radius": 0.1}),
                 node("M", "GeometryNodeCurveToMesh", {}, {"Fill Caps": True})]
    links = lc + [link(("Line", "Mesh"), ("I", "Points")), link(("Q", "Curve"), ("I", "Instance")),
                  link(("I", "Instances"), ("R", "Geometry")), link(("R", "Geometry"), ("M", "Curve")),
                  link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    ir = program(nodes, links, pc)
    compare_batch(ir, parameter_sets(pc, 10, seed=6, swept=True))
    # Curve to Mesh on the instances themselves (each instance's curve swept in its own space)
    links = lc + [link(("Line", "Mesh"), ("I", "Points")), link(("Q", "Curve"), ("I", "Instance")),
                  link(("I", "Instances"), ("M", "Curve")), link(("M", "Mesh"), ("R", "Geometry")),
                  link(("P", "Curve"), ("M", "Profile Curve")), link(("R", "Geometry"), OUT)]
    compare_batch(program(nodes, links, pc), parameter_sets(pc, 10, seed=7, swept=True))


@pytest.mark.parametrize("mode", ["COUNT", "LENGTH"])
@pytest.mark.parametrize("kind", ["line", "circle", "arc", "bezier", "quadratic"])
def test_resample_curve(kind, mode):
    """Resample Curve (its radius set first, selection from a parameter), swept by a circle:
    sample counts from the Count parameter or from each row's curve length."""
    nodes, links, params = primitive(kind, "C", "")
    nodes += [node("R", "GeometryNodeSetCurveRadius", {}, {"Radius": 0.5}),
              node("S", "GeometryNodeResampleCurve", {"mode": mode}),
              node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.2}),
              node("M", "GeometryNodeCurveToMesh")]
    extra = [{"name": "count", "kind": "int", "default": 5, "min": -1, "max": 9},
             {"name": "length", "kind": "float", "default": 0.3, "min": 0.2, "max": 1.5},
             {"name": "sel", "kind": "bool", "default": True}]
    links += [link(("C", "Curve"), ("R", "Curve")), link(("R", "Curve"), ("S", "Curve")),
              link((GI, "count"), ("S", "Count")), link((GI, "length"), ("S", "Length")),
              link((GI, "sel"), ("S", "Selection")), link(("S", "Curve"), ("M", "Curve")),
              link(("P", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params += extra
    sets = parameter_sets(params, 16, seed=11 + len(kind), swept=True)
    for s in sets[:8]:
        s["length"] = 0.3 if s["length"] <= 0 else s["length"]
    compare_batch(program(nodes, links, params), sets)


@pytest.mark.parametrize("mode", ["COUNT", "LENGTH"])
@pytest.mark.parametrize("selection", ["none", "index", "position"])
@pytest.mark.parametrize("swept", [False, True])
def test_resample_curve_fields(mode, selection, swept):
    """Count / Length and Selection as fields on the CURVE domain of three joined splines (a
    Bezier, a circle, a quadratic): each spline its own count; the unselected ones stay as they
    are (a Bezier keeps its handles and radius) among the resampled poly splines."""
    ir, params = joined_resample_program(mode, selection, swept)
    sets = parameter_sets(params, 12, seed=31, swept=True)
    for s in sets:
        s["length"] = 0.3 if s["length"] <= 0 else s["length"]
    compare_batch(ir, sets)


@pytest.mark.parametrize("selection", ["none", "index", "position"])
def test_resample_curve_evaluated(selection):
    """Resample Curve EVALUATED: the selected splines become poly splines of their evaluated
    points (swept: a kept Bezier's end tangents follow its handles, a resampled one's its
    segments, so a wrong selection shows)."""
    ir, params = joined_resample_program("EVALUATED", selection, swept=True)
    compare_batch(ir, parameter_sets(params, 10, seed=61, swept=True))


def test_curve_to_points_count_field():
    """Curve to Points with Count a field on the CURVE domain (Index * 2 + count): a count per
    spline of three joined splines (at least 1)."""
    ir, params = joined_points_program()
    compare_batch(ir, parameter_sets(params, 12, seed=41, swept=True))


@pytest.mark.parametrize("mode", ["COUNT", "LENGTH", "EVALUATED"])
@pytest.mark.parametrize("kind", ["circle", "bezier", "quadratic", "arc"])
def test_curve_to_points_instanced(kind, mode):
    """Curve to Points (its radius set), a cube instanced on every point turned by the Rotation
    output (a field) and scaled by the single-value parameter, realized."""
    nodes, links, params = primitive(kind, "C", "")
    nodes += [node("R", "GeometryNodeSetCurveRadius", {}, {"Radius": 0.5}),
              node("S", "GeometryNodeCurveToPoints", {"mode": mode}),
              node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
              node("I", "GeometryNodeInstanceOnPoints"), node("Z", "GeometryNodeRealizeInstances")]
    extra = [{"name": "count", "kind": "int", "default": 5, "min": -1, "max": 9},
             {"name": "length", "kind": "float", "default": 0.3, "min": 0.2, "max": 1.5}]
    links += [link(("C", "Curve"), ("R", "Curve")), link(("R", "Curve"), ("S", "Curve")),
              link((GI, "count"), ("S", "Count")), link((GI, "length"), ("S", "Length")),
              link(("S", "Points"), ("I", "Points")), link(("Cube", "Mesh"), ("I", "Instance")),
              link(("S", "Rotation"), ("I", "Rotation")), link(("I", "Instances"), ("Z", "Geometry")),
              link(("Z", "Geometry"), OUT)]
    params += extra
    sets = parameter_sets(params, 12, seed=13 + len(kind), swept=True)
    for s in sets[:6]:
        s["length"] = 0.3 if s["length"] <= 0 else s["length"]
    compare_batch(program(nodes, links, params), sets)


def test_curve_to_points_keeps_no_mesh():
    """Curve to Points on a mesh joined with a curve: only the points remain (instanced here)."""
    nodes, links, params = primitive("line", "C", "")
    nodes += [node("Grid", "GeometryNodeMeshGrid"), node("J", "GeometryNodeJoinGeometry"),
              node("S", "GeometryNodeCurveToPoints", {"mode": "COUNT"}, {"Count": 4}),
              node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
              node("I", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.2, 0.1, 0.0]}),
              node("Z", "GeometryNodeRealizeInstances"), node("J2", "GeometryNodeJoinGeometry")]
    links += [link(("Grid", "Mesh"), ("J", "Geometry"), 0), link(("C", "Curve"), ("J", "Geometry"), 1),
              link(("J", "Geometry"), ("S", "Curve")), link(("S", "Points"), ("I", "Points")),
              link(("S", "Points"), ("J2", "Geometry"), 0), link(("Cube", "Mesh"), ("I", "Instance")),
              link(("I", "Instances"), ("Z", "Geometry")), link(("Z", "Geometry"), ("J2", "Geometry"), 1),
              link(("J2", "Geometry"), OUT)]
    compare_batch(program(nodes, links, params), parameter_sets(params, 6, seed=2))


@pytest.mark.parametrize("mode", ["TRIANGLES", "NGONS"])
@pytest.mark.parametrize("kind", ["circle", "arc", "bezier", "quadratic"])
def test_fill_curve(kind, mode):
    """Fill Curve of a primitive (turned and moved first) joined with a small circle (inside it
    for TRIANGLES, where it makes a hole; beside it for N-GONS): Blender's constrained Delaunay
    triangulation, rows split by the faces they get."""
    nodes, links, params = primitive(kind, "C", "")
    hole = {"Translation": [0.0, 0.0, 0.0] if mode == "TRIANGLES" else [3.5, 3.0, 0.0]}
    nodes += [node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, 0.2, 0.1], "Translation": [0.1, 0.0, 0.5]}),
              node("H", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 6, "Radius": 0.05}),
              node("HT", "GeometryNodeTransform", {}, hole),
              node("J", "GeometryNodeJoinGeometry"), node("F", "GeometryNodeFillCurve", {"mode": mode})]
    links += [link(("C", "Curve"), ("T", "Geometry")), link(("T", "Geometry"), ("J", "Geometry"), 0),
              link(("H", "Curve"), ("HT", "Geometry")), link(("HT", "Geometry"), ("J", "Geometry"), 1),
              link(("J", "Geometry"), ("F", "Curve")), link(("F", "Mesh"), OUT), link((GI, "gid"), ("F", "Group ID"))]
    params += [{"name": "gid", "kind": "int", "default": 0, "min": -2, "max": 3}]  # one value: one triangulation
    compare_batch(program(nodes, links, params), parameter_sets(params, 12, seed=17 + len(kind), swept=True))


@pytest.mark.parametrize("mode", ["TRIANGLES", "NGONS"])
@pytest.mark.parametrize("place", ["inside", "crossing"])
@pytest.mark.parametrize("kind", ["circle", "arc", "quadratic"])
def test_fill_curve_holes_and_crossings(kind, place, mode):
    """Fill Curve of a primitive with a circle inside it (a hole: N-GONS bridges it) or
    crossing it (the triangulation adds the crossing points): Blender's faces, in its order,
    from its first corners; rows split by the faces they get."""
    nodes, links, params = primitive(kind, "C", "")
    radius, offset = (0.05, [0.0, 0.0, 0.0]) if place == "inside" else (0.6, [0.5, 0.2, 0.0])
    nodes += [node("H", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 7, "Radius": radius}),
              node("HT", "GeometryNodeTransform", {}, {"Translation": offset}),
              node("J", "GeometryNodeJoinGeometry"), node("F", "GeometryNodeFillCurve", {"mode": mode})]
    links += [link(("C", "Curve"), ("J", "Geometry"), 0), link(("H", "Curve"), ("HT", "Geometry")),
              link(("HT", "Geometry"), ("J", "Geometry"), 1), link(("J", "Geometry"), ("F", "Curve")),
              link(("F", "Mesh"), OUT)]
    compare_batch(program(nodes, links, params), parameter_sets(params, 10, seed=53 + len(kind), swept=True))


def test_fill_curve_ngons_with_hole():
    """N-GONS around a hole: Blender bridges the hole into the faces (edges kept where
    dissolving them would leave a face with a hole), here as in Blender: a circle around a
    small circle, and an inverted arc around it."""
    def fill(outer, links_in):
        nodes = outer + [node("H", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 6, "Radius": 0.05}),
                         node("J", "GeometryNodeJoinGeometry"), node("F", "GeometryNodeFillCurve", {"mode": "NGONS"})]
        return program(nodes, links_in + [link(("H", "Curve"), ("J", "Geometry"), 1),
                                          link(("J", "Geometry"), ("F", "Curve")), link(("F", "Mesh"), OUT)])

    circle = fill([node("C", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 8, "Radius": 0.5})],
                  [link(("C", "Curve"), ("J", "Geometry"), 0)])
    compare_batch(circle, [{}])
    arc = fill([node("C", "GeometryNodeCurveArc", {}, {"Resolution": 9, "Radius": -1.0, "Start Angle": 0.5,
                                                       "Sweep Angle": 0.75, "Invert Arc": True}),
                node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, 0.2, 0.1], "Translation": [0.1, 0.0, 0.5]})],
               [link(("C", "Curve"), ("T", "Geometry")), link(("T", "Geometry"), ("J", "Geometry"), 0)])
    compare_batch(arc, [{}])


def test_set_curve_radius_fields():
    """Set Curve Radius with fields on the control points: radius = a + Index * b where the
    point's x > c (Selection), for two joined curves (one component: indices run on)."""
    a, la, pa = primitive("circle", "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    nodes = a + b + [node("J", "GeometryNodeJoinGeometry"), node("I", "GeometryNodeInputIndex"),
                     node("P", "GeometryNodeInputPosition"), node("Sep", "ShaderNodeSeparateXYZ"),
                     node("Mul", "ShaderNodeMath", {"operation": "MULTIPLY_ADD"}),
                     node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "GREATER_THAN"}),
                     node("R", "GeometryNodeSetCurveRadius"),
                     node("Prof", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.3}),
                     node("M", "GeometryNodeCurveToMesh")]
    extra = [{"name": k, "kind": "float", "default": 0.5, "min": -1.0, "max": 1.0} for k in ("ra", "rb", "rc")]
    links = la + lb + [link(("A", "Curve"), ("J", "Geometry"), 0), link(("B", "Curve"), ("J", "Geometry"), 1),
                       link(("I", "Index"), ("Mul", "Value")), link((GI, "rb"), ("Mul", "Value_001")),
                       link((GI, "ra"), ("Mul", "Value_002")), link(("P", "Position"), ("Sep", "Vector")),
                       link(("Sep", "X"), ("Cmp", "A")), link((GI, "rc"), ("Cmp", "B")),
                       link(("J", "Geometry"), ("R", "Curve")), link(("Mul", "Value"), ("R", "Radius")),
                       link(("Cmp", "Result"), ("R", "Selection")), link(("R", "Curve"), ("M", "Curve")),
                       link(("Prof", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params = pa + pb + extra
    compare_batch(program(nodes, links, params), parameter_sets(params, 12, seed=21, swept=True))


def lamp_program():
    """A program written with the authoring API's curve methods: a Bezier arm swept by a circle
    of radius from a parameter, a filled disc base, and knobs instanced on a resampled circle
    turned by Curve to Points' rotation."""
    from geonodes.authoring import ProgramBuilder

    p = ProgramBuilder("lamp")
    reach = p.float("Reach", 0.6, 0.2, 1.2)
    thick = p.float("Thickness", 0.05, 0.01, 0.1)
    knobs = p.int("Knobs", 6, 3, 9)
    caps = p.bool("Caps", True)
    arm = p.bezier_segment(p.vec(0.0, 0.0, 0.0), p.vec(0.0, 0.0, 0.5), p.vec(reach, 0.0, 0.9),
                           p.vec(reach, 0.0, 0.6), resolution=8)
    tube = p.curve_to_mesh(p.set_curve_radius(arm, thick), p.curve_circle(1.0, 6), fill_caps=caps)
    base = p.fill_curve(p.curve_circle(reach * 0.4, 10)).translate(z=-0.01)
    ring = p.resample_curve(p.curve_circle(0.3, 16), count=knobs)
    points, rotation = p.curve_to_points(ring, count=knobs)
    knob = p.realize(p.instance_on_points(points, p.cube((0.02, 0.04, 0.06)), rotation=rotation))
    wire = p.curve_to_mesh(p.arc(0.2, 0.0, 3.0, 5).translate(z=0.3))
    line = p.curve_to_mesh(p.curve_line((0.0, 0.0, 0.0), direction=(1.0, 1.0, 0.0), length=reach),
                           p.quadratic_bezier((-0.1, 0.0, 0.0), (0.0, 0.1, 0.0), (0.1, 0.0, 0.0), 4))
    p.output(p.join(tube, base, knob, wire, line))
    return p.build()


def test_authoring_api_curves():
    ir = lamp_program()
    sets = [{"Reach": r, "Thickness": t, "Knobs": k, "Caps": c}
            for r, t, k, c in [(0.6, 0.05, 6, True), (0.2, 0.01, 3, False), (1.2, 0.1, 9, True), (0.9, 0.03, 4, False)]]
    compare_batch(ir, sets)


def test_curve_program_round_trips_through_blend(tmp_path):
    """Exported to a .blend and imported back, the curve program evaluates the same."""
    import torch

    import geonodes.blender as gb

    ir = lamp_program()
    out = tmp_path / "lamp.blend"
    gb.export_blend(ir, out)
    back = gb.import_blend(out)
    values = {"Reach": 0.9, "Thickness": 0.03, "Knobs": 5, "Caps": True}
    a = load_program(ir).evaluate_one(values, dtype=torch.float64)
    b = load_program(back).evaluate_one(values, dtype=torch.float64)
    assert torch.equal(a.face_vertices, b.face_vertices) and torch.allclose(a.vertices, b.vertices)


@pytest.mark.parametrize("kind", ["circle_points", "arc_points"])
def test_three_point_outputs(kind):
    """Curve Circle's and Arc's POINTS modes: the Center output places a point, and the Arc's
    Normal scaled by its Radius another (colinear points: no circle, center 0; a line arc)."""
    nodes, links, params = primitive(kind, "C", "")
    nodes += [node("M", "GeometryNodeCurveToMesh"), node("L", "GeometryNodeMeshLine", {}, {"Count": 1}),
              node("J", "GeometryNodeJoinGeometry")]
    links += [link(("C", "Curve"), ("M", "Curve")), link(("C", "Center"), ("L", "Start Location")),
              link(("M", "Mesh"), ("J", "Geometry"), 0), link(("L", "Mesh"), ("J", "Geometry"), 1),
              link(("J", "Geometry"), OUT)]
    if kind == "arc_points":
        nodes += [node("NR", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                  node("L2", "GeometryNodeMeshLine", {}, {"Count": 1})]
        links += [link(("C", "Normal"), ("NR", "Vector")), link(("C", "Radius"), ("NR", "Scale")),
                  link(("NR", "Vector"), ("L2", "Start Location")), link(("L2", "Mesh"), ("J", "Geometry"), 2)]
    compare_batch(program(nodes, links, params), parameter_sets(params, 16, seed=23))


def test_curve_points_tangent_normal_and_switch():
    """A Switch between two curves, Curve to Points, cubes scaled by 1 + |Tangent| (x) and
    turned by the Normal read as Euler angles (fields from the points' attributes)."""
    a, la, pa = primitive("quadratic", "A", "a ")
    b, lb, pb = primitive("circle", "B", "b ")
    nodes = a + b + [node("Sw", "GeometryNodeSwitch", {"input_type": "GEOMETRY"}),
                     node("S", "GeometryNodeCurveToPoints", {"mode": "COUNT"}, {"Count": 5}),
                     node("Add", "ShaderNodeVectorMath", {"operation": "ADD"}, {"Vector_001": [1.0, 1.0, 1.0]}),
                     node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.1, 0.2, 0.3]}),
                     node("I", "GeometryNodeInstanceOnPoints"), node("Z", "GeometryNodeRealizeInstances")]
    links = la + lb + [link((GI, "which"), ("Sw", "Switch")), link(("A", "Curve"), ("Sw", "False")),
                       link(("B", "Curve"), ("Sw", "True")), link(("Sw", "Output"), ("S", "Curve")),
                       link(("S", "Tangent"), ("Add", "Vector")), link(("Add", "Vector"), ("I", "Scale")),
                       link(("S", "Normal"), ("I", "Rotation")), link(("S", "Points"), ("I", "Points")),
                       link(("Cube", "Mesh"), ("I", "Instance")), link(("I", "Instances"), ("Z", "Geometry")),
                       link(("Z", "Geometry"), OUT)]
    params = pa + pb + [{"name": "which", "kind": "bool", "default": False}]
    compare_batch(program(nodes, links, params), parameter_sets(params, 12, seed=29, swept=True))


@pytest.mark.parametrize("field", [False, True])
def test_set_curve_radius_on_instances(field):
    """Set Curve Radius reaches the curves inside instances (a single value, or Index * r),
    realized and swept afterwards."""
    c, lc, pc = primitive("quadratic", "Q", "q ")
    nodes = c + [node("Line", "GeometryNodeMeshLine", {}, {"Count": 2, "Offset": [0.5, 0.2, 0.3]}),
                 node("I", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.4, 0.0, 0.3]}),
                 node("R", "GeometryNodeSetCurveRadius"), node("Z", "GeometryNodeRealizeInstances"),
                 node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 5, "Radius": 0.1}),
                 node("M", "GeometryNodeCurveToMesh")]
    links = lc + [link(("Line", "Mesh"), ("I", "Points")), link(("Q", "Curve"), ("I", "Instance")),
                  link(("I", "Instances"), ("R", "Curve")), link(("R", "Curve"), ("Z", "Geometry")),
                  link(("Z", "Geometry"), ("M", "Curve")), link(("P", "Curve"), ("M", "Profile Curve")),
                  link(("M", "Mesh"), OUT)]
    if field:
        nodes += [node("Idx", "GeometryNodeInputIndex"), node("Mul", "ShaderNodeMath", {"operation": "MULTIPLY"})]
        links += [link(("Idx", "Index"), ("Mul", "Value")), link((GI, "r"), ("Mul", "Value_001")),
                  link(("Mul", "Value"), ("R", "Radius"))]
    else:
        links += [link((GI, "r"), ("R", "Radius"))]
    params = pc + [{"name": "r", "kind": "float", "default": 0.5, "min": -1.0, "max": 2.0}]
    compare_batch(program(nodes, links, params), parameter_sets(params, 10, seed=31, swept=True))


@pytest.mark.parametrize("type_, out, props", [("GeometryNodeCurveToMesh", "Mesh", {}),
                                               ("GeometryNodeCurveToPoints", "Points", {"mode": "COUNT"}),
                                               ("GeometryNodeResampleCurve", "Curve", {"mode": "COUNT"}),
                                               ("GeometryNodeFillCurve", "Mesh", {"mode": "TRIANGLES"})])
def test_curve_nodes_pass_meshes_without_curves(type_, out, props):
    """A geometry without curves passes the curve nodes unchanged (here a grid, and a grid
    instanced on a line and realized after the node)."""
    nodes = [node("G", "GeometryNodeMeshGrid", {}, {"Size X": 0.3}), node("X", type_, props),
             node("Line", "GeometryNodeMeshLine", {}, {"Count": 2}), node("I", "GeometryNodeInstanceOnPoints"),
             node("J", "GeometryNodeJoinGeometry"), node("Y", type_, props), node("Z", "GeometryNodeRealizeInstances")]
    links = [link(("G", "Mesh"), ("X", "Curve")), link(("Line", "Mesh"), ("I", "Points")),
             link(("G", "Mesh"), ("I", "Instance")), link(("I", "Instances"), ("Y", "Curve")),
             link(("Y", out), ("Z", "Geometry")), link(("X", out), ("J", "Geometry"), 0),
             link(("Z", "Geometry"), ("J", "Geometry"), 1), link(("J", "Geometry"), OUT)]
    compare_batch(program(nodes, links), [{}])


@pytest.mark.parametrize("what", ["resample_count", "resample_length", "points", "fill"])
def test_curve_nodes_inside_instances(what):
    """Resample Curve, Curve to Points and Fill Curve on instanced curves (each instance's
    curves in their own space; rows split by every instance geometry's counts), realized after."""
    c, lc, pc = primitive("quadratic", "Q", "q ")
    a, la, pa = primitive("circle", "A", "a ")
    nodes = c + a + [node("Line", "GeometryNodeMeshLine", {}, {"Count": 2, "Offset": [0.5, 0.2, 0.3]}),
                     node("I", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.0, 0.0, 0.3], "Scale": [1.0, 0.7, 1.2]}),
                     node("J", "GeometryNodeJoinGeometry"), node("Z", "GeometryNodeRealizeInstances")]
    links = lc + la + [link(("Line", "Mesh"), ("I", "Points")), link(("Q", "Curve"), ("I", "Instance")),
                       link(("I", "Instances"), ("J", "Geometry"), 0), link(("A", "Curve"), ("J", "Geometry"), 1)]
    params = pc + pa + [{"name": "count", "kind": "int", "default": 5, "min": 1, "max": 7},
                        {"name": "length", "kind": "float", "default": 0.3, "min": 0.2, "max": 1.0}]
    if what.startswith("resample"):
        mode = "COUNT" if what == "resample_count" else "LENGTH"
        nodes += [node("X", "GeometryNodeResampleCurve", {"mode": mode}),
                  node("P", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.05}),
                  node("M", "GeometryNodeCurveToMesh")]
        links += [link(("J", "Geometry"), ("X", "Curve")), link((GI, "count"), ("X", "Count")),
                  link((GI, "length"), ("X", "Length")), link(("X", "Curve"), ("Z", "Geometry")),
                  link(("Z", "Geometry"), ("M", "Curve")), link(("P", "Curve"), ("M", "Profile Curve")),
                  link(("M", "Mesh"), OUT)]
    elif what == "points":
        nodes += [node("X", "GeometryNodeCurveToPoints", {"mode": "COUNT"}),
                  node("Cube", "GeometryNodeMeshCube", {}, {"Size": [0.05, 0.1, 0.15]}),
                  node("I2", "GeometryNodeInstanceOnPoints", {}, {"Rotation": [0.1, 0.2, 0.3]}),
                  node("Z2", "GeometryNodeRealizeInstances")]
        links += [link(("J", "Geometry"), ("X", "Curve")), link((GI, "count"), ("X", "Count")),
                  link(("X", "Points"), ("Z", "Geometry")), link(("Z", "Geometry"), ("I2", "Points")),
                  link(("Cube", "Mesh"), ("I2", "Instance")), link(("I2", "Instances"), ("Z2", "Geometry")),
                  link(("Z2", "Geometry"), OUT)]
    else:
        nodes += [node("X", "GeometryNodeFillCurve", {"mode": "TRIANGLES"})]
        links += [link(("J", "Geometry"), ("X", "Curve")), link(("X", "Mesh"), ("Z", "Geometry")),
                  link(("Z", "Geometry"), OUT)]
    compare_batch(program(nodes, links, params), parameter_sets(params, 10, seed=37, swept=True))
