"""One point cloud component (GeomStruct.points) shared by Mesh to Points and Curve to Points:
programs that cross the two against live Blender (bpy), vertices in Blender's order within 1e-5."""
import pytest

from fieldtools import compare_batch

bpy = pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
pytestmark = pytest.mark.blender

SETS = [{"a": a, "b": b, "c": c} for a, b, c in
        [(0.0, 0.0, 0.0), (0.5, -0.3, 0.2), (-0.8, 0.9, -0.4), (1.0, 0.25, 0.7), (-0.2, -1.0, 0.05),
         (0.33, 0.66, -0.9)]]


def _builder():
    from geonodes.authoring import ProgramBuilder
    p = ProgramBuilder("points")
    return p, p.float("a", 0.0, -1.0, 1.0), p.float("b", 0.0, -1.0, 1.0), p.float("c", 0.0, -1.0, 1.0)


def _bezier(p, a, b, c):
    return p.bezier_segment(p.vec(-1.0, 0.0, a), p.vec(-0.5, b + 1.0, 0.0), p.vec(0.5, c, 0.3), p.vec(1.0, a, b),
                            resolution=5)


@pytest.mark.parametrize("mode", ["COUNT", "EVALUATED", "LENGTH"])
def test_curve_to_points_to_vertices(mode):
    """A Bezier segment's samples (selection x > c on the points) as loose vertices."""
    p, a, b, c = _builder()
    points, _ = p.curve_to_points(_bezier(p, a, b, c), **{"COUNT": {"count": 7}, "LENGTH": {"length": 0.3},
                                                          "EVALUATED": {}}[mode])
    p.output(p.points_to_vertices(points, selection=p.position().x > c))
    compare_batch(p.build(), SETS)


def test_mesh_to_points_instance_on_points():
    """A tilted cylinder's face centres (x > a) as points, a small cube on each, realized."""
    p, a, b, c = _builder()
    points = p.mesh_to_points(p.cylinder(1.0, 1.0, 8).rotate(x=0.3),
                              selection=p.position().x > a, mode="FACES")
    p.output(p.copies(points.translate(z=b), p.cube((0.1, 0.2, 0.3)).rotate(z=c)))
    compare_batch(p.build(), SETS)


def test_joined_points_to_vertices_keep_blenders_order():
    """Join(curve points, mesh points, curve points again moved): one point cloud, the inputs'
    points in join order, then Points to Vertices; a mesh joined alongside stays first."""
    p, a, b, c = _builder()
    curve_points, _ = p.curve_to_points(_bezier(p, a, b, c), count=4)
    mesh_points = p.mesh_to_points(p.grid(1.0, 2.0, 3, 2).translate(z=c), mode="CORNERS")
    joined = p.join(curve_points, mesh_points, curve_points.translate(x=a))
    p.output(p.join(p.cube((0.3, 0.3, 0.3)), p.points_to_vertices(joined)))
    compare_batch(p.build(), SETS)


def test_instance_on_mesh_points_and_curves_order():
    """Instance on Points over a join of a curve, a point cloud and a mesh: the mesh's vertices,
    then the point cloud's points, then the curve's control points (Blender's component order)."""
    p, a, b, c = _builder()
    curve = p.curve_line(p.vec(0.0, 0.0, a), p.vec(1.0, b, 0.0))
    cloud, _ = p.curve_to_points(p.curve_circle(0.5 + c * 0.25, 5), count=3)
    mesh = p.grid(0.5, 0.5, 2, 2).translate(z=2.0)
    marker = p.cone(0.1, 0.0, 0.2, vertices=4)
    p.output(p.copies(p.join(curve, cloud, mesh), marker))
    compare_batch(p.build(), SETS)


def test_curve_points_rotation_field_on_instances():
    """Curve to Points' Rotation (a field read on its point cloud) turns the instances, which
    are realized and joined with Points to Vertices of the same cloud."""
    p, a, b, c = _builder()
    points, rotation = p.curve_to_points(_bezier(p, a, b, c), count=5)
    cubes = p.realize(p.instance_on_points(points, p.cube((0.05, 0.1, 0.2)), rotation=rotation))
    p.output(p.join(cubes, p.points_to_vertices(points)))
    compare_batch(p.build(), SETS)


@pytest.mark.parametrize("field", [False, True])
def test_set_position_moves_the_point_cloud(field):
    """Set Position on a mesh joined with a point cloud (Curve to Points and Mesh to Points
    joined): single values move both; a field (selection x > a, offset by index) is evaluated
    on each component on its own (the cloud's index restarts at 0)."""
    p, a, b, c = _builder()
    curve_points, _ = p.curve_to_points(_bezier(p, a, b, c), count=4)
    mesh_points = p.mesh_to_points(p.grid(1.0, 2.0, 3, 2), mode="FACES")
    geometry = p.join(p.grid(0.5, 0.5, 2, 2), curve_points, mesh_points)
    if field:
        moved = p.set_position(geometry, offset=p.vec(0.0, 0.0, p.index() * 0.1 + b), selection=p.position().x > a)
    else:
        moved = p.set_position(geometry, offset=p.vec(a, 0.0, c))
    p.output(p.join(moved, p.points_to_vertices(moved)))
    compare_batch(p.build(), SETS)


def test_nodes_without_point_cloud_support_refuse_it():
    from geonodes.errors import IRError
    from geonodes.program import load_program
    p, a, b, c = _builder()
    points, _ = p.curve_to_points(_bezier(p, a, b, c), count=4)
    p.output(p.delete(points, p.position().x > a))
    with pytest.raises(IRError, match="Delete Geometry.*point clouds reaching this node are not supported"):
        load_program(p.build()).evaluate_one({})


def test_instance_on_a_mesh_and_a_point_cloud_with_fields():
    """Instance on Points over a join of a mesh and a point cloud with field Selection, Rotation
    and Scale: the mesh's vertices, then the cloud's points, each component evaluated on its own
    (the cloud's Index restarts at 0)."""
    p, a, b, c = _builder()
    cloud, _ = p.curve_to_points(_bezier(p, a, b, c), count=5)
    geometry = p.join(cloud, p.grid(1.0, 1.0, 3, 2).translate(z=-1.0))
    pos = p.position()
    rotation = p.vec(pos.x * a, p.index() * 0.3, c)
    scale = p.vec(1.0, 1.0, p.index() * 0.25 + 0.5)
    placed = p.instance_on_points(geometry, p.cube((0.1, 0.2, 0.3)), rotation=rotation, scale=scale,
                                  selection=pos.y > b * 0.5)
    p.output(p.realize(placed))
    compare_batch(p.build(), SETS)


@pytest.mark.parametrize("selected", [True, False])
def test_bounding_box_includes_point_clouds(selected):
    """Bounding Box of a small mesh joined with a point cloud (and, realized, instances of one):
    the cloud's points count (none selected: the mesh's bounds only)."""
    p, a, b, c = _builder()
    cloud = p.mesh_to_points(p.grid(2.0, 1.0, 3, 2).translate(z=c), selection=selected, mode="VERTICES")
    inner = p.instance_on_points(p.mesh_to_points(p.cube((0.1, 0.1, 0.1))), cloud)
    lo, hi = p.bounds(p.join(p.cube((0.2, 0.2, 0.2)).translate(x=a), cloud, inner))
    p.output(p.join(p.line(1, start=lo, offset=(0.0, 0.0, 0.0)), p.line(1, start=hi, offset=(0.0, 0.0, 0.0))))
    compare_batch(p.build(), SETS)


def _attribute_program(kind: str):
    """Join(grid, Curve to Points of a circle) -> Store Named Attribute 'w' (POINT) = x * a, or
    Capture Attribute of x * a (POINT) -> Transform -> Set Position offset z by the attribute ->
    joined with Points to Vertices of the result: each component stores its own values."""
    from irtools import fparams, link, node, program
    gi = "Group Input"
    nodes = [node("Grid", "GeometryNodeMeshGrid", {}, {"Size X": 1.0, "Size Y": 2.0, "Vertices X": 3, "Vertices Y": 2}),
             node("Circ", "GeometryNodeCurvePrimitiveCircle", {"mode": "RADIUS"}, {"Resolution": 7}),
             node("CP", "GeometryNodeCurveToPoints", {"mode": "COUNT"}, {"Count": 5}),
             node("J", "GeometryNodeJoinGeometry"), node("P", "GeometryNodeInputPosition"),
             node("Sep", "ShaderNodeSeparateXYZ"), node("M", "ShaderNodeMath", {"operation": "MULTIPLY"}),
             node("T", "GeometryNodeTransform", {}, {"Translation": [0.0, 0.0, 0.5]}),
             node("Z", "ShaderNodeCombineXYZ"), node("SP", "GeometryNodeSetPosition"),
             node("PV", "GeometryNodePointsToVertices"), node("Out", "GeometryNodeJoinGeometry")]
    links = [link(("Circ", "Curve"), ("CP", "Curve")), link(("Grid", "Mesh"), ("J", "Geometry"), 0),
             link(("CP", "Points"), ("J", "Geometry"), 1), link(("P", "Position"), ("Sep", "Vector")),
             link(("Sep", "X"), ("M", "Value")), link((gi, "a"), ("M", "Value_001")),
             link(("T", "Geometry"), ("SP", "Geometry")), link(("Z", "Vector"), ("SP", "Offset")),
             link(("SP", "Geometry"), ("PV", "Points")), link(("SP", "Geometry"), ("Out", "Geometry"), 0),
             link(("PV", "Mesh"), ("Out", "Geometry"), 1), link(("Out", "Geometry"), ("Group Output", "Out"))]
    if kind == "store":
        nodes += [node("St", "GeometryNodeStoreNamedAttribute", {"data_type": "FLOAT", "domain": "POINT"}, {"Name": "w"}),
                  node("R", "GeometryNodeInputNamedAttribute", {"data_type": "FLOAT"}, {"Name": "w"})]
        links += [link(("J", "Geometry"), ("St", "Geometry")), link(("M", "Value"), ("St", "Value")),
                  link(("St", "Geometry"), ("T", "Geometry")), link(("R", "Attribute"), ("Z", "Z"))]
    else:
        nodes += [node("Cap", "GeometryNodeCaptureAttribute", {"domain": "POINT", "capture_items": [["Value", "FLOAT"]]})]
        links += [link(("J", "Geometry"), ("Cap", "Geometry")), link(("M", "Value"), ("Cap", "Value")),
                  link(("Cap", "Geometry"), ("T", "Geometry")), link(("Cap", "Attribute"), ("Z", "Z"))]
    return program(nodes, links, fparams("a"))


@pytest.mark.parametrize("kind", ["store", "capture"])
def test_attributes_on_the_point_cloud(kind):
    compare_batch(_attribute_program(kind), [{"a": a} for a in (0.0, 0.5, -1.25, 2.0)])


def test_realized_point_clouds_own_points_first():
    """Realize Instances of a join (instances of a point cloud first, then a point cloud of its
    own): the geometry's own points come before the instances' (Blender's PointCloud component
    precedes Instances), then Points to Vertices."""
    p, a, b, c = _builder()
    small, _ = p.curve_to_points(p.curve_circle(0.1 + 0.05 * c, 4), count=3)
    placed = p.instance_on_points(p.grid(1.0, 1.0, 2, 2).translate(z=a), small)
    own = p.mesh_to_points(p.cube((0.5, 0.5, 0.5)).translate(x=b))
    p.output(p.points_to_vertices(p.realize(p.join(placed, own))))
    compare_batch(p.build(), SETS)
