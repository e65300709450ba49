"""Authoring methods for the curve nodes and the mesh circle (mixed into the builders' node
methods): curve primitives, Set Curve Radius, Curve to Mesh, Curve to Points, Resample Curve."""
from __future__ import annotations

from .handles import Geometry, Value, _geometry_node, _graph_of


class CurveOps:
    """Curve Line, Curve Circle, Quadratic Bezier, Bezier Segment, Set Curve Radius, Curve to
    Mesh, Curve to Points, Resample Curve, and Mesh Circle. Inputs take numbers, 3-tuples or
    values (vectors from p.vec)."""

    @staticmethod
    def curve_line(start=(0.0, 0.0, 0.0), end=(0.0, 0.0, 1.0), name: str | None = None) -> Geometry:
        """A two-point poly spline from `start` to `end`."""
        return _geometry_node("GeometryNodeCurvePrimitiveLine", {"Start": start, "End": end}, "Curve", name,
                              "Curve Line", {"mode": "POINTS"})

    @staticmethod
    def curve_circle(radius=1.0, resolution=32, name: str | None = None) -> Geometry:
        """A cyclic poly circle in the XY plane of `resolution` points (counter-clockwise from +x)."""
        return _geometry_node("GeometryNodeCurvePrimitiveCircle", {"Radius": radius, "Resolution": resolution},
                              "Curve", name, "Curve Circle", {"mode": "RADIUS"})

    @staticmethod
    def quadratic_bezier(start, middle, end, resolution=16, name: str | None = None) -> Geometry:
        """A poly spline of `resolution` segments along the quadratic Bezier start-middle-end."""
        return _geometry_node("GeometryNodeCurveQuadraticBezier", {"Start": start, "Middle": middle, "End": end,
                                                                   "Resolution": resolution},
                              "Curve", name, "Quadratic Bezier")

    @staticmethod
    def bezier_segment(start, start_handle, end_handle, end, resolution=16, name: str | None = None) -> Geometry:
        """A Bezier spline from `start` to `end` with handle positions (POSITION mode)."""
        return _geometry_node("GeometryNodeCurvePrimitiveBezierSegment",
                              {"Start": start, "Start Handle": start_handle, "End Handle": end_handle, "End": end,
                               "Resolution": resolution}, "Curve", name, "Bezier Segment", {"mode": "POSITION"})

    @staticmethod
    def set_curve_radius(curve: Geometry, radius, selection=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeSetCurveRadius", {"Curve": curve, "Selection": selection, "Radius": radius},
                              "Curve", name, "Set Curve Radius")

    @staticmethod
    def curve_to_mesh(curve: Geometry, profile: Geometry | None = None, fill_caps=None,
                      name: str | None = None) -> Geometry:
        """`profile` swept along `curve` (scaled by the curve's radius), or the curve's wire."""
        return _geometry_node("GeometryNodeCurveToMesh", {"Curve": curve, "Profile Curve": profile,
                                                          "Fill Caps": fill_caps}, "Mesh", name, "Curve to Mesh")

    @staticmethod
    def curve_to_points(curve: Geometry, count=None, length=None, mode: str = "COUNT",
                        name: str | None = None) -> tuple:
        """Curve to Points: (points, rotation); rotation is a field on the points (Euler XYZ of
        the frame normal, tangent x normal, tangent)."""
        shared = {}
        inputs = {"Curve": curve, "Count": count, "Length": length}
        graph = _graph_of(*[v for v in inputs.values() if v is not None])

        def make(g):
            if id(g) not in shared:
                shared[id(g)] = g.add_node("GeometryNodeCurveToPoints", name or "Curve to Points", inputs,
                                           {"mode": mode})
            return shared[id(g)]

        return (Geometry(lambda g: (make(g), "Points"), graph, name),
                Value("VECTOR", lambda g: (make(g), "Rotation"), graph, "Rotation"))

    @staticmethod
    def resample_curve(curve: Geometry, count=None, length=None, mode: str = "COUNT",
                       name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeResampleCurve", {"Curve": curve, "Count": count, "Length": length},
                              "Curve", name, "Resample Curve", {"mode": mode})

    @staticmethod
    def mesh_circle(radius=1.0, vertices=32, fill: str = "NONE", name: str | None = None) -> Geometry:
        """Mesh Circle in the XY plane; `fill` NONE (points and edges), NGON or TRIANGLE_FAN."""
        return _geometry_node("GeometryNodeMeshCircle", {"Radius": radius, "Vertices": vertices}, "Mesh", name,
                              "Mesh Circle", {"fill_type": fill})
