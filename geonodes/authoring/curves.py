"""Curve nodes for the authoring API: curve primitives, Set Curve Radius, Resample Curve,
Curve to Mesh, Curve to Points and Fill Curve (methods of programs and group bodies)."""
from __future__ import annotations

from ..errors import IRError
from .handles import Geometry, Value, _geometry_node, _graph_of


class _CurveScope:
    """Curve node-making methods (mixed into the builders' `_Scope`)."""

    # -- curve primitives -------------------------------------------------------------------
    @staticmethod
    def curve_line(start=(0.0, 0.0, 0.0), end=None, direction=None, length=1.0, name: str | None = None) -> Geometry:
        """Curve Line from `start` to `end`, or along `direction` (normalized) for `length`."""
        if end is not None and direction is not None:
            raise IRError("p.curve_line takes end= or direction=, not both")
        if direction is None:
            return _geometry_node("GeometryNodeCurvePrimitiveLine",
                                  {"Start": start, "End": end if end is not None else (0.0, 0.0, 1.0)},
                                  "Curve", name, "Curve Line", {"mode": "POINTS"})
        return _geometry_node("GeometryNodeCurvePrimitiveLine", {"Start": start, "Direction": direction,
                                                                 "Length": length},
                              "Curve", name, "Curve Line", {"mode": "DIRECTION"})

    @staticmethod
    def curve_circle(radius=1.0, resolution=32, name: str | None = None) -> Geometry:
        """Cyclic poly curve of `resolution` points on a circle in the XY plane, from +X."""
        return _geometry_node("GeometryNodeCurvePrimitiveCircle", {"Radius": radius, "Resolution": resolution},
                              "Curve", name, "Curve Circle", {"mode": "RADIUS"})

    @staticmethod
    def arc(radius=1.0, start_angle=0.0, sweep_angle=5.497787, resolution=16, connect_center=False,
            invert=False, name: str | None = None) -> Geometry:
        """Arc of `resolution` points in the XY plane (angles in radians)."""
        return _geometry_node("GeometryNodeCurveArc", {"Radius": radius, "Start Angle": start_angle,
                                                       "Sweep Angle": sweep_angle, "Resolution": resolution,
                                                       "Connect Center": connect_center, "Invert Arc": invert},
                              "Curve", name, "Arc", {"mode": "RADIUS"})

    @staticmethod
    def quadratic_bezier(start, middle, end, resolution=16, name: str | None = None) -> Geometry:
        """Poly curve of `resolution + 1` points on the parabola through start, middle, end."""
        return _geometry_node("GeometryNodeCurveQuadraticBezier", {"Start": start, "Middle": middle, "End": end,
                                                                    "Resolution": resolution},
                              "Curve", name, "Quadratic Bezier")

    @staticmethod
    def bezier_segment(start, start_handle, end_handle, end, resolution=16, offsets: bool = False,
                       name: str | None = None) -> Geometry:
        """Bezier curve of two control points; handles are positions (or offsets from the points)."""
        return _geometry_node("GeometryNodeCurvePrimitiveBezierSegment",
                              {"Start": start, "Start Handle": start_handle, "End Handle": end_handle, "End": end,
                               "Resolution": resolution},
                              "Curve", name, "Bezier Segment", {"mode": "OFFSET" if offsets else "POSITION"})

    # -- curve operations -------------------------------------------------------------------
    @staticmethod
    def set_curve_radius(curve: Geometry, radius, selection=None, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeSetCurveRadius", {"Curve": curve, "Radius": radius,
                                                             "Selection": selection},
                              "Curve", name, "Set Curve Radius")

    @staticmethod
    def resample_curve(curve: Geometry, count=None, length=None, name: str | None = None) -> Geometry:
        """Resample Curve to `count` points per curve, or to points `length` apart."""
        if (count is None) == (length is None):
            raise IRError("p.resample_curve needs exactly one of count= or length=")
        mode = "COUNT" if count is not None else "LENGTH"
        return _geometry_node("GeometryNodeResampleCurve", {"Curve": curve, "Count": count, "Length": length},
                              "Curve", name, "Resample Curve", {"mode": mode})

    @staticmethod
    def curve_to_mesh(curve: Geometry, profile: Geometry | None = None, fill_caps=False,
                      name: str | None = None) -> Geometry:
        """Curve to Mesh: `profile` swept along the curves (none: the curves' wire mesh)."""
        return _geometry_node("GeometryNodeCurveToMesh", {"Curve": curve, "Profile Curve": profile,
                                                          "Fill Caps": fill_caps},
                              "Mesh", name, "Curve to Mesh")

    @staticmethod
    def curve_to_points(curve: Geometry, count=None, length=None, name: str | None = None) -> tuple:
        """Curve to Points: `count` points per curve, points `length` apart, or (neither) the
        evaluated points. Returns (points, rotation): rotation is the points' Rotation field."""
        if count is not None and length is not None:
            raise IRError("p.curve_to_points takes count= or length=, not both")
        mode = "COUNT" if count is not None else "LENGTH" if length is not None else "EVALUATED"
        inputs = {"Curve": curve, "Count": count, "Length": length}
        shared = {}

        def node(g):
            if id(g) not in shared:
                shared[id(g)] = g.add_node("GeometryNodeCurveToPoints", name or "Curve to Points", inputs,
                                           {"mode": mode})
            return shared[id(g)]

        graph = _graph_of(curve)
        points = Geometry(lambda g: (node(g), "Points"), graph, name)
        return points, Value("ROTATION", lambda g: (node(g), "Rotation"), graph, "Rotation")

    @staticmethod
    def fill_curve(curve: Geometry, ngons: bool = False, name: str | None = None) -> Geometry:
        """Fill Curve: the curves' insides on the XY plane, triangles (or n-gons)."""
        return _geometry_node("GeometryNodeFillCurve", {"Curve": curve}, "Mesh", name, "Fill Curve",
                              {"mode": "NGONS" if ngons else "TRIANGLES"})
