"""Set Position on curves against live Blender (bpy): a poly curve joined with a Bezier segment,
turned and moved, then Set Position with fields on the control points (Offset = Position * a,
or Position = Position * a plus a single-value Offset; Selection from the Index), swept to a
wire mesh: the evaluated points (Bezier handles move with their point) within 1e-5."""
import pytest

from curvetools import parameter_sets, primitive
from fieldtools import GI, compare_batch
from irtools import link, node, program

pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

OUT = ("Group Output", "Out")


def set_position_program(poly: str, linked: bool, profile: bool = False):
    """(ir, params): `poly` joined with a Bezier segment, Set Position on the joined curves."""
    a, la, pa = primitive(poly, "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    nodes = a + b + [node("J", "GeometryNodeJoinGeometry"),
                     node("T", "GeometryNodeTransform", {}, {"Rotation": [0.3, 0.2, 0.1], "Translation": [0.1, 0.0, 0.5]}),
                     node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                     node("I", "GeometryNodeInputIndex"), node("Mod", "ShaderNodeMath", {"operation": "MODULO"}),
                     node("Cmp", "FunctionNodeCompare", {"data_type": "FLOAT", "operation": "LESS_THAN"}),
                     node("SP", "GeometryNodeSetPosition"), node("M", "GeometryNodeCurveToMesh")]
    links = la + lb + [link(("A", "Curve"), ("J", "Geometry"), 0), link(("B", "Curve"), ("J", "Geometry"), 1),
                       link(("J", "Geometry"), ("T", "Geometry")), link(("T", "Geometry"), ("SP", "Geometry")),
                       link(("P", "Position"), ("K", "Vector")), link((GI, "k"), ("K", "Scale")),
                       link(("I", "Index"), ("Mod", "Value")), link((GI, "period"), ("Mod", "Value_001")),
                       link(("Mod", "Value"), ("Cmp", "A")), link((GI, "cut"), ("Cmp", "B")),
                       link(("Cmp", "Result"), ("SP", "Selection")), link(("SP", "Geometry"), ("M", "Curve")),
                       link(("M", "Mesh"), OUT)]
    if linked:
        nodes.append(node("O", "ShaderNodeCombineXYZ"))
        links += [link(("K", "Vector"), ("SP", "Position")), link(("O", "Vector"), ("SP", "Offset")),
                  link((GI, "ox"), ("O", "X")), link((GI, "oz"), ("O", "Z"))]
    else:
        links.append(link(("K", "Vector"), ("SP", "Offset")))
    if profile:
        nodes.append(node("Prof", "GeometryNodeCurvePrimitiveCircle", {}, {"Resolution": 4, "Radius": 0.1}))
        links.append(link(("Prof", "Curve"), ("M", "Profile Curve")))
    params = pa + pb + [{"name": "k", "kind": "float", "default": 0.5, "min": -1.0, "max": 1.5},
                        {"name": "period", "kind": "float", "default": 3.0, "min": 2.0, "max": 4.0},
                        {"name": "cut", "kind": "float", "default": 1.5, "min": 0.5, "max": 3.0},
                        {"name": "ox", "kind": "float", "default": 0.2, "min": -1.0, "max": 1.0},
                        {"name": "oz", "kind": "float", "default": -0.1, "min": -1.0, "max": 1.0}]
    return program(nodes, links, params), params


def _sets(params, n, seed):
    sets = parameter_sets(params, n, seed=seed, swept=True)
    for i, s in enumerate(sets):  # Index selections: whole periods, so every row selects some points
        s["period"], s["cut"] = float(2 + i % 3), float(1 + i % 2) - 0.5
    return sets


@pytest.mark.parametrize("linked", [False, True])
@pytest.mark.parametrize("poly", ["arc", "circle", "quadratic"])
def test_set_position_on_curves(poly, linked):
    ir, params = set_position_program(poly, linked)
    compare_batch(ir, _sets(params, 10, seed=41 + len(poly) + linked))


def test_set_position_on_curves_swept():
    """The moved curves swept by a profile (tangents and normals from the moved points)."""
    ir, params = set_position_program("arc", False, profile=True)
    compare_batch(ir, _sets(params, 8, seed=43))


def test_set_position_moves_instances_not_their_curves():
    """A quadratic Bezier instanced on a line's two points, joined with a circle: Set Position
    (Offset = Position * k) moves the circle's points and the instances (by their translation),
    not the curves inside the instances; realized and swept after."""
    q, lq, pq = primitive("quadratic", "Q", "q ")
    c, lc, pc = primitive("circle", "C", "c ")
    nodes = q + c + [node("Line", "GeometryNodeMeshLine", {}, {"Count": 2, "Offset": [0.5, 0.2, 0.3]}),
                     node("I", "GeometryNodeInstanceOnPoints"), node("J", "GeometryNodeJoinGeometry"),
                     node("P", "GeometryNodeInputPosition"), node("K", "ShaderNodeVectorMath", {"operation": "SCALE"}),
                     node("SP", "GeometryNodeSetPosition"), node("Z", "GeometryNodeRealizeInstances"),
                     node("M", "GeometryNodeCurveToMesh")]
    links = lq + lc + [link(("Line", "Mesh"), ("I", "Points")), link(("Q", "Curve"), ("I", "Instance")),
                       link(("I", "Instances"), ("J", "Geometry"), 0), link(("C", "Curve"), ("J", "Geometry"), 1),
                       link(("P", "Position"), ("K", "Vector")), link((GI, "k"), ("K", "Scale")),
                       link(("J", "Geometry"), ("SP", "Geometry")), link(("K", "Vector"), ("SP", "Offset")),
                       link(("SP", "Geometry"), ("Z", "Geometry")), link(("Z", "Geometry"), ("M", "Curve")),
                       link(("M", "Mesh"), OUT)]
    params = pq + pc + [{"name": "k", "kind": "float", "default": 0.5, "min": -1.0, "max": 1.5}]
    compare_batch(program(nodes, links, params), parameter_sets(params, 8, seed=47, swept=True))


@pytest.mark.parametrize("linked", [False, True])
def test_set_position_on_curves_single_values(linked):
    """Set Position on curves with single values only (Selection unlinked; Offset from
    parameters; Position from parameters when linked: every control point there, handles
    following by their point's delta)."""
    a, la, pa = primitive("arc", "A", "a ")
    b, lb, pb = primitive("bezier", "B", "b ")
    nodes = a + b + [node("J", "GeometryNodeJoinGeometry"), node("O", "ShaderNodeCombineXYZ"),
                     node("SP", "GeometryNodeSetPosition"), node("M", "GeometryNodeCurveToMesh")]
    links = la + lb + [link(("A", "Curve"), ("J", "Geometry"), 0), link(("B", "Curve"), ("J", "Geometry"), 1),
                       link(("J", "Geometry"), ("SP", "Geometry")), link(("O", "Vector"), ("SP", "Offset")),
                       link((GI, "ox"), ("O", "X")), link((GI, "oz"), ("O", "Z")),
                       link(("SP", "Geometry"), ("M", "Curve")), link(("M", "Mesh"), OUT)]
    if linked:
        nodes.append(node("P", "ShaderNodeCombineXYZ"))
        links += [link(("P", "Vector"), ("SP", "Position")), link((GI, "px"), ("P", "Y"))]
    params = pa + pb + [{"name": k, "kind": "float", "default": 0.2, "min": -1.0, "max": 1.0} for k in ("ox", "oz", "px")]
    compare_batch(program(nodes, links, params), parameter_sets(params, 8, seed=59 + linked, swept=True))
