"""Node registry: one small evaluation function per Blender node type.

`@node(...)` declares a node type's sockets (Blender identifiers, types, defaults), its
properties with their defaults and allowed values, and registers the function that evaluates
it. The function receives a `NodeEval` (lazy access to converted inputs, properties, batch
info) and returns {output identifier: value}.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..node_types import GROUP_TYPES  # noqa: F401  (re-exported: types the evaluator handles itself)


@dataclass(frozen=True)
class SocketSpec:
    identifier: str
    type: str
    default: object = None
    multi: bool = False


@dataclass
class NodeSpec:
    type: str
    sockets: Callable  # props -> (inputs [SocketSpec], outputs [SocketSpec])
    properties: dict = field(default_factory=dict)  # name -> default
    choices: dict = field(default_factory=dict)  # name -> allowed values
    evaluate: Callable | None = None


REGISTRY: dict[str, NodeSpec] = {}

# Optional compiled forms of pure single-value nodes: type -> compile(node view) returning
# fn(call) -> outputs, or None to use the registered function. They skip the per-evaluation
# NodeEval and input dispatch (most of a program's nodes are such one-op nodes, whose Python
# overhead otherwise outweighs the op at batch sizes in the thousands) and must compute
# exactly what the registered function computes, with the same ops.
COMPILED: dict[str, Callable] = {}


def compiled(type_: str):
    def register(fn):
        COMPILED[type_] = fn
        return fn

    return register


def S(identifier: str, type_: str, default=None, multi: bool = False) -> SocketSpec:
    return SocketSpec(identifier, type_, default, multi)


def node(type_: str, inputs=(), outputs=(), properties=None, choices=None, sockets=None):
    """Register `fn` as the evaluator of Blender node type `type_`."""

    def register(fn):
        static = (list(inputs), list(outputs))
        REGISTRY[type_] = NodeSpec(
            type=type_,
            sockets=sockets if sockets is not None else (lambda props: static),
            properties=dict(properties or {}),
            choices=dict(choices or {}),
            evaluate=fn,
        )
        return fn

    return register


def _load_all() -> None:
    from . import attribute_nodes, compare_nodes, delete_nodes, field_nodes, geometry_nodes, math_nodes, primitive_nodes  # noqa: F401  (registration)
    from . import extrude_nodes, merge_nodes, mesh_ops, point_nodes, subdivide_nodes, subsurf_nodes  # noqa: F401  (registration)
    from . import bounds_nodes, curve_fill, curve_nodes, curve_resample, curve_to_mesh, curve_to_points  # noqa: F401  (registration)
    from . import curve_guard  # noqa: F401  (after the others: wraps nodes that refuse curves)


_load_all()
