"""Mesh primitive nodes. Topology comes from the integer inputs, so rows are grouped by them;
positions are computed (batched, differentiable) by `geonodes.primitives`."""
from __future__ import annotations

import torch

from .. import primitives
from ..errors import IRError
from ..fields import Field
from ..geometry import GeomStruct, Part, Piecewise, Prim, Rows, split_by
from . import S, node

FILL_TYPES = ("NONE", "NGON", "TRIANGLE_FAN")


_TOPOLOGIES: dict = {}


def _topology(fn_name: str, config: tuple, flags: tuple, inputs: list, row: int):
    """(num_vertices, face_offsets, face_vertices, edges) of a primitive config, built from one real row
    of the float inputs (some topologies depend on float values too, e.g. a cone radius of
    exactly 0)."""
    key = (fn_name, config, flags)
    if key not in _TOPOLOGIES:
        sample = [v[row:row + 1].detach().double().cpu() for v in inputs]
        mesh = getattr(primitives, fn_name)(*sample, *config)
        _TOPOLOGIES[key] = (mesh.vertices.shape[1], mesh.face_offsets.cpu(), mesh.face_vertices.cpu(), mesh.edges)
    return _TOPOLOGIES[key]


def _static_key(n, floats: tuple, ints: tuple, flags) -> tuple:
    """The topology key entries known without looking at the batch (None where not): unlinked
    inputs hold one value for every row, so only linked ones are compared row by row."""
    static = [None if n.is_linked(i) else int(n.stored(i)) for i in ints]
    if flags is not None:
        if any(n.is_linked(i) for i in floats):
            static += [None] * len(flags(*[n.get(i)[:1] for i in floats]))
        else:
            static += [int(bool(f[0])) for f in flags(*[n.get(i)[:1] for i in floats])]
    return tuple(static)


def primitive(n, fn_name: str, floats: list, ints: list, tail: tuple = (), flags=None) -> Piecewise:
    """Piecewise mesh of one primitive node: one `Prim` per distinct integer configuration.

    Calls `primitives.<fn_name>(*float inputs, *integer inputs, *tail)`; `tail` holds fixed
    configuration from node properties (e.g. the fill type). `flags(*float inputs)` returns
    per-row booleans that also change the topology (rows are split by them too).
    """
    float_values = [n.get(i) for i in floats]
    for i, v in zip(floats, float_values):
        if type(v) is Field:
            raise IRError(f"{n.where}: input '{i}' takes a single value, but a field is linked to it")
    static = list(n.prepared(_static_key, tuple(floats), tuple(ints), flags))
    columns = [n.get(i) for i, v in zip(ints, static) if v is None]
    for i, c in zip([i for i, v in zip(ints, static) if v is None], columns):
        if type(c) is Field:
            raise IRError(f"{n.where}: input '{i}' takes a single value, but a field is linked to it")
    if flags is not None and static[-1] is None:
        columns += [f.to(torch.int64) for f in flags(*float_values)]
    num_flags = len(static) - len(ints)
    if columns:
        groups = []
        for rows, dynamic in split_by(torch.stack(columns, dim=1)):
            values = iter(dynamic)
            groups.append((rows, tuple(next(values) if v is None else v for v in static)))
    else:
        groups = [(Rows.every(n.batch), tuple(static))]
    linear_fn = getattr(primitives, fn_name + "_linear")
    pieces = []
    for mask, key in groups:
        ints_config, flag_values = key[:len(key) - num_flags], key[len(key) - num_flags:]
        config = ints_config + tuple(tail)
        row = mask.first()
        nv, fo, fv, edges = _topology(fn_name, config, flag_values, float_values, row)

        def linear(config=config, flag_values=flag_values):
            # Full-batch coefficients: rows of other pieces get values that are never gathered.
            kwargs = {"flags": flag_values} if flags is not None else {}
            return linear_fn(*float_values, *config, **kwargs)

        prim = Prim((n.key, fn_name, config, flag_values), nv, fo, fv, linear, edges=edges,
                    vertex_normals=primitives.assigned_normals(fn_name, config))
        pieces.append((mask, GeomStruct((Part(prim),), ())))
    return Piecewise(pieces)


@node(
    "GeometryNodeMeshCube",
    inputs=[S("Size", "VECTOR", (1.0, 1.0, 1.0)), S("Vertices X", "INT", 2),
            S("Vertices Y", "INT", 2), S("Vertices Z", "INT", 2)],
    outputs=[S("Mesh", "GEOMETRY")],
)
def mesh_cube(n):
    return {"Mesh": primitive(n, "mesh_cube", ["Size"], ["Vertices X", "Vertices Y", "Vertices Z"])}


@node(
    "GeometryNodeMeshCylinder",
    inputs=[S("Vertices", "INT", 32), S("Side Segments", "INT", 1), S("Fill Segments", "INT", 1),
            S("Radius", "FLOAT", 1.0), S("Depth", "FLOAT", 2.0)],
    outputs=[S("Mesh", "GEOMETRY")],
    properties={"fill_type": "NGON"},
    choices={"fill_type": FILL_TYPES},
)
def mesh_cylinder(n):
    return {"Mesh": primitive(n, "mesh_cylinder", ["Radius", "Depth"],
                              ["Vertices", "Side Segments", "Fill Segments"], (n.props["fill_type"],),
                              flags=_cylinder_flags)}


def _cylinder_flags(radius, depth):
    return primitives.cone_topology_flags(radius, radius, depth)


@node(
    "GeometryNodeMeshCone",
    inputs=[S("Vertices", "INT", 32), S("Side Segments", "INT", 1), S("Fill Segments", "INT", 1),
            S("Radius Top", "FLOAT", 0.0), S("Radius Bottom", "FLOAT", 1.0), S("Depth", "FLOAT", 2.0)],
    outputs=[S("Mesh", "GEOMETRY")],
    properties={"fill_type": "NGON"},
    choices={"fill_type": FILL_TYPES},
)
def mesh_cone(n):
    return {"Mesh": primitive(n, "mesh_cone", ["Radius Top", "Radius Bottom", "Depth"],
                              ["Vertices", "Side Segments", "Fill Segments"], (n.props["fill_type"],),
                              flags=primitives.cone_topology_flags)}


@node(
    "GeometryNodeMeshCircle",
    inputs=[S("Vertices", "INT", 32), S("Radius", "FLOAT", 1.0)],
    outputs=[S("Mesh", "GEOMETRY")],
    properties={"fill_type": "NONE"},
    choices={"fill_type": FILL_TYPES},
)
def mesh_circle(n):
    return {"Mesh": primitive(n, "mesh_circle", ["Radius"], ["Vertices"], (n.props["fill_type"],))}


@node(
    "GeometryNodeMeshGrid",
    inputs=[S("Size X", "FLOAT", 1.0), S("Size Y", "FLOAT", 1.0), S("Vertices X", "INT", 3),
            S("Vertices Y", "INT", 3)],
    outputs=[S("Mesh", "GEOMETRY")],
)
def mesh_grid(n):
    return {"Mesh": primitive(n, "mesh_grid", ["Size X", "Size Y"], ["Vertices X", "Vertices Y"])}


@node(
    "GeometryNodeMeshUVSphere",
    inputs=[S("Segments", "INT", 32), S("Rings", "INT", 16), S("Radius", "FLOAT", 1.0)],
    outputs=[S("Mesh", "GEOMETRY")],
)
def mesh_uv_sphere(n):
    return {"Mesh": primitive(n, "mesh_uv_sphere", ["Radius"], ["Segments", "Rings"])}


@node(
    "GeometryNodeMeshIcoSphere",
    inputs=[S("Radius", "FLOAT", 1.0), S("Subdivisions", "INT", 1)],
    outputs=[S("Mesh", "GEOMETRY")],
)
def mesh_ico_sphere(n):
    return {"Mesh": primitive(n, "mesh_ico_sphere", ["Radius"], ["Subdivisions"])}


@node(
    "GeometryNodeMeshLine",
    inputs=[S("Count", "INT", 10), S("Resolution", "FLOAT", 1.0),
            S("Start Location", "VECTOR", (0.0, 0.0, 0.0)), S("Offset", "VECTOR", (0.0, 0.0, 1.0))],
    outputs=[S("Mesh", "GEOMETRY")],
    properties={"mode": "OFFSET", "count_mode": "TOTAL"},
    choices={"mode": ("OFFSET", "END_POINTS"), "count_mode": ("TOTAL", "RESOLUTION")},
)
def mesh_line(n):
    if n.props["mode"] == "OFFSET":
        return {"Mesh": primitive(n, "mesh_line_offset", ["Start Location", "Offset"], ["Count"])}
    if n.props["count_mode"] == "TOTAL":
        return {"Mesh": primitive(n, "mesh_line_end_points_total", ["Start Location", "Offset"], ["Count"])}
    # Resolution: the vertex count depends on the distance between the end points.
    count = primitives.line_resolution_count(n.get("Start Location"), n.get("Offset"), n.get("Resolution"))
    view = _Values(n, {"__count__": count})
    return {"Mesh": primitive(view, "mesh_line_end_points_resolution",
                              ["Start Location", "Offset", "Resolution"], ["__count__"])}


class _Values:
    """A NodeEval view with some inputs replaced by computed values."""

    def __init__(self, n, values: dict):
        self._n, self._values = n, values

    def __getattr__(self, name):
        return getattr(self._n, name)

    def get(self, identifier):
        return self._values[identifier] if identifier in self._values else self._n.get(identifier)

    def is_linked(self, identifier):
        return identifier in self._values or self._n.is_linked(identifier)

    def prepared(self, fn, *args):
        """fn on this view, not on the node (whose cache would see its inputs, not the values
        that replace them); the decisions cached there are cheap."""
        return fn(self, *args)
