"""The Normal field on curves against live Blender (bpy): Set Position moves the control points
of a poly curve (arc, circle, quadratic Bezier) joined with a resampled Bezier segment, turned,
by Normal * k (Blender's minimum-twist normals of the evaluated points); Set Curve Radius reads
the Normal's x through a Separate XYZ; swept to a mesh, within 1e-5. On Bezier splines (the
segment not resampled) a control point's normal is the evaluated normal at its first evaluated
point (curve_normal_point_domain), read here by Set Curve Radius; Blender's Set Position reads
other values there (measured: not those Store Named Attribute or Set Curve Radius see), so it is
refused there, naming the node."""
import pytest

from geonodes.errors import GeonodesError
from geonodes.program import load_program

from curvetools import parameter_sets, primitive
from fieldtools import GI, compare_batch
from irtools import link, node, program

pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

OUT = ("Group Output", "Out")


def normal_program(poly: str, radius: bool, resample: bool = True):
    a, la, pa = primitive(poly, "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    nodes = a + b + [node("J", "GeometryNodeJoinGeometry"), node("RS", "GeometryNodeResampleCurve", {}, {"Count": 5}),
                     node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, 0.2, 0.1], "Translation": [0.1, 0.0, 0.5]}),
                     node("N", "GeometryNodeInputNormal"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                     node("SP", "GeometryNodeSetPosition"), node("M", "GeometryNodeCurveToMesh")]
    links = la + lb + [link(("A", "Curve"), ("J", "Geometry"), 0), link(("RS" if resample else "B", "Curve"), ("J", "Geometry"), 1),
                       link(("B", "Curve"), ("RS", "Curve")),
                       link(("J", "Geometry"), ("T", "Geometry")), link(("T", "Geometry"), ("SP", "Geometry")),
                       link(("N", "Normal"), ("K", "Vector")), link((GI, "k"), ("K", "Scale")),
                       link(("K", "Vector"), ("SP", "Offset")), link(("M", "Mesh"), OUT)]
    if radius:  # radius = 0.3 + Normal.x, swept by a small circle
        nodes += [node("R", "GeometryNodeSetCurveRadius"), node("X", "ShaderNodeSeparateXYZ"),
                  node("Add", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 0.3}),
                  node("Prof", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.1})]
        links += [link(("SP", "Geometry"), ("R", "Curve")), link(("N", "Normal"), ("X", "Vector")),
                  link(("X", "X"), ("Add", "Value")), link(("Add", "Value"), ("R", "Radius")),
                  link(("R", "Curve"), ("M", "Curve")), link(("Prof", "Curve"), ("M", "Profile Curve"))]
    else:
        links.append(link(("SP", "Geometry"), ("M", "Curve")))
    params = pa + pb + [{"name": "k", "kind": "float", "default": 0.5, "min": -1.0, "max": 1.5}]
    return program(nodes, links, params), params


@pytest.mark.parametrize("radius", [False, True])
@pytest.mark.parametrize("poly", ["arc", "circle", "quadratic"])
def test_normal_field_on_curves(poly, radius):
    ir, params = normal_program(poly, radius)
    compare_batch(ir, parameter_sets(params, 8, seed=61 + len(poly) + radius, swept=True))


@pytest.mark.parametrize("component", ["X", "Y", "Z"])
@pytest.mark.parametrize("poly", ["arc", "circle", "quadratic"])
def test_normal_field_on_bezier_splines(poly, component):
    """A poly curve joined with a Bezier segment, turned; radius = 1.5 + a Normal component,
    swept by a small square."""
    a, la, pa = primitive(poly, "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    nodes = a + b + [node("J", "GeometryNodeJoinGeometry"),
                     node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, 0.2, 0.1], "Translation": [0.1, 0.0, 0.5]}),
                     node("N", "GeometryNodeInputNormal"), node("X", "ShaderNodeSeparateXYZ"),
                     node("Add", "ShaderNodeMath", {"operation": "ADD"}, {"Value_001": 1.5}), node("R", "GeometryNodeSetCurveRadius"),
                     node("Prof", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.1}),
                     node("M", "GeometryNodeCurveToMesh")]
    links = la + lb + [link(("A", "Curve"), ("J", "Geometry"), 0), link(("B", "Curve"), ("J", "Geometry"), 1),
                       link(("J", "Geometry"), ("T", "Geometry")), link(("T", "Geometry"), ("R", "Curve")),
                       link(("N", "Normal"), ("X", "Vector")), link(("X", component), ("Add", "Value")),
                       link(("Add", "Value"), ("R", "Radius")), link(("R", "Curve"), ("M", "Curve")),
                       link(("Prof", "Curve"), ("M", "Profile Curve")), link(("M", "Mesh"), OUT)]
    params = pa + pb
    compare_batch(program(nodes, links, params), parameter_sets(params, 8, seed=71 + len(poly), swept=True))


def test_normal_field_in_set_position_on_bezier_splines_is_refused():
    ir, _ = normal_program("circle", False, resample=False)
    with pytest.raises(GeonodesError, match="node 'SP' \\(type GeometryNodeSetPosition\\): the Normal field in Set "
                                            "Position on Bezier splines"):
        load_program(ir).evaluate_one({})
