"""Nodes that do not handle the curves and point cloud components yet refuse them: a geometry
with curves or points reaching one of them is an error naming the group, node and type (rather than curves silently lost).

Imported after every node module: it wraps the registered functions of `UNSUPPORTED` (none of
them has a compiled form, so every evaluation goes through the registry)."""
from __future__ import annotations

from ..errors import IRError
from . import COMPILED, REGISTRY

# node type -> its geometry inputs that must carry no curves
UNSUPPORTED = {
    "GeometryNodeDeleteGeometry": ("Geometry",),
    "GeometryNodeSeparateGeometry": ("Geometry",),
    "GeometryNodeStoreNamedAttribute": ("Geometry",),
    "GeometryNodeCaptureAttribute": ("Geometry",),
    "GeometryNodeSetID": ("Geometry",),
}


# nodes that handle the point cloud component (only curves are refused there)
POINT_CLOUDS_OK = frozenset({"GeometryNodeStoreNamedAttribute", "GeometryNodeCaptureAttribute"})


def _has_curves(struct, points: bool = True) -> bool:
    return bool(struct.curves or (points and struct.points))


def _guarded(type_: str, fn, sockets: tuple):
    points = type_ not in POINT_CLOUDS_OK

    def evaluate(n):
        for identifier in sockets:
            for _, struct in n.get(identifier).pieces:
                if _has_curves(struct, points):
                    what = "curves or point clouds" if points else "curves"
                    raise IRError(f"{n.where}: {what} reaching this node are not supported "
                                  "(convert them with Curve to Mesh or Points to Vertices first)")
        return fn(n)

    evaluate.__wrapped__ = fn
    return evaluate


def install() -> None:
    for type_, sockets in UNSUPPORTED.items():
        spec = REGISTRY.get(type_)
        if spec is None or type_ in COMPILED or getattr(spec.evaluate, "__wrapped__", None) is not None:
            continue
        spec.evaluate = _guarded(type_, spec.evaluate, sockets)


install()
