"""Curves against live Blender (bpy): every curve primitive (through Curve to Mesh's wire mesh
and swept by a profile), Transform, Join, Set Curve Radius and Fill Caps, on random parameter
sets with edge values, evaluated as one batch (rows split by resolution and topology switches);
vertices within 1e-5 of Blender's, identical polygons."""
import pytest

from curvetools import PRIMITIVES, parameter_sets, primitive
from fieldtools import GI, compare_batch
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
