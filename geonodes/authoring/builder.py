"""The builders: node-making methods shared by programs and group bodies, node groups from
Python functions, and `ProgramBuilder` (parameters, output, `build()` of the IR)."""
from __future__ import annotations

import contextlib
import inspect

from ..errors import IRError
from .curves import _CurveScope
from .graph import _Graph, _GroupDef
from .mesh_ops import MeshOps
from .handles import (Geometry, Value, _as_condition, _common_type, _geometry_node, _graph_of, _math, _node_value,
                      _transform_node, _vec)

_KIND_TYPE = {"float": "FLOAT", "int": "INT", "bool": "BOOLEAN"}


# ------------------------------------------------------------------------------------------
# Node factory shared by programs and groups
# ------------------------------------------------------------------------------------------

class _Scope(MeshOps, _CurveScope):
    """Node-making methods; `ProgramBuilder` and group bodies (`GroupBuilder`) share them (mesh operations from
    `mesh_ops.MeshOps`, curve nodes from `curves._CurveScope`)."""

    _graph: _Graph

    # -- values ----------------------------------------------------------------------------
    @staticmethod
    def vec(x=0.0, y=0.0, z=0.0):
        """Combine XYZ (or a constant when all three are numbers)."""
        return _vec(x, y, z)

    @staticmethod
    def min(a, b):
        return _math("MINIMUM", a, b) if isinstance(a, Value) or isinstance(b, Value) else min(a, b)

    @staticmethod
    def max(a, b):
        return _math("MAXIMUM", a, b) if isinstance(a, Value) or isinstance(b, Value) else max(a, b)

    @staticmethod
    def switch(condition, if_true, if_false=None, name: str | None = None):
        """Switch node: geometry (an unset `if_false` is empty geometry) or values."""
        cond = _as_condition(condition)
        if isinstance(if_true, Geometry) or isinstance(if_false, Geometry):
            if isinstance(cond, bool):
                return if_true if cond else if_false
            return _geometry_node("GeometryNodeSwitch", {"Switch": cond, "False": if_false, "True": if_true},
                                  "Output", name, "Switch", {"input_type": "GEOMETRY"})
        if if_false is None:
            raise IRError("p.switch on values needs both if_true and if_false")
        if isinstance(cond, bool):
            return if_true if cond else if_false
        t = _common_type(if_true, if_false)
        return _node_value(t, "GeometryNodeSwitch", {"input_type": t},
                           {"Switch": cond, "False": if_false, "True": if_true}, "Output", name, "Switch")

    # -- meshes ----------------------------------------------------------------------------
    @staticmethod
    def cube(size=(1.0, 1.0, 1.0), name: str | None = None) -> Geometry:
        """Cube centred at the origin; `size` a number, a 3-vector or a vector value."""
        return _geometry_node("GeometryNodeMeshCube", {"Size": size}, "Mesh", name, "Cube")

    @staticmethod
    def box(x, y, z, name: str | None = None) -> Geometry:
        """Cube of size (x, y, z) centred at the origin."""
        return _Scope.cube(_vec(x, y, z), name)

    @staticmethod
    def cylinder(radius=1.0, depth=2.0, vertices: int = 32, fill: str = "NGON",
                 name: str | None = None) -> Geometry:
        """Cylinder along Z centred at the origin."""
        return _geometry_node("GeometryNodeMeshCylinder", {"Radius": radius, "Depth": depth, "Vertices": vertices},
                              "Mesh", name, "Cylinder", {"fill_type": fill})

    @staticmethod
    def cone(radius_bottom=1.0, radius_top=0.0, depth=2.0, vertices: int = 32, fill: str = "NGON",
             name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeMeshCone", {"Radius Bottom": radius_bottom, "Radius Top": radius_top,
                                                       "Depth": depth, "Vertices": vertices},
                              "Mesh", name, "Cone", {"fill_type": fill})

    @staticmethod
    def mesh_circle(radius=1.0, vertices: int = 32, fill: str = "NONE", name: str | None = None) -> Geometry:
        """Mesh Circle in the XY plane from +X; `fill` NONE (points and edges), NGON or TRIANGLE_FAN."""
        return _geometry_node("GeometryNodeMeshCircle", {"Radius": radius, "Vertices": vertices}, "Mesh", name,
                              "Mesh Circle", {"fill_type": fill})

    @staticmethod
    def grid(size_x, size_y, vertices_x: int = 2, vertices_y: int = 2, name: str | None = None) -> Geometry:
        """Grid in the XY plane centred at the origin (2 x 2 vertices: the corners of a rectangle)."""
        return _geometry_node("GeometryNodeMeshGrid", {"Size X": size_x, "Size Y": size_y,
                                                       "Vertices X": vertices_x, "Vertices Y": vertices_y},
                              "Mesh", name, "Grid")

    @staticmethod
    def line(count, start=(0.0, 0.0, 0.0), end=None, offset=None, name: str | None = None) -> Geometry:
        """Mesh Line of `count` points: from `start` to `end` inclusive (count 1: `start`), or
        `start + i * offset`."""
        if (end is None) == (offset is None):
            raise IRError("p.line needs exactly one of end= or offset=")
        if end is not None:
            props = {"mode": "END_POINTS", "count_mode": "TOTAL"}
            inputs = {"Count": count, "Start Location": start, "Offset": end}
        else:
            props = {"mode": "OFFSET", "count_mode": "TOTAL"}
            inputs = {"Count": count, "Start Location": start, "Offset": offset}
        return _geometry_node("GeometryNodeMeshLine", inputs, "Mesh", name, "Line", props)

    # -- geometry operations ---------------------------------------------------------------
    @staticmethod
    def join(*geometries, name: str | None = None) -> Geometry:
        """Join Geometry; the result lists the inputs in argument order."""
        items = [g for g in geometries if g is not None]
        for g in items:
            if not isinstance(g, Geometry):
                raise IRError(f"p.join takes geometry, got {g!r}")
        if len(items) == 1 and name is None:
            return items[0]
        return _geometry_node("GeometryNodeJoinGeometry", {"Geometry": items}, "Geometry", name, "Join Geometry")

    @staticmethod
    def instance_on_points(points: Geometry, instance: Geometry, rotation=None, scale=None, selection=None,
                           name: str | None = None) -> Geometry:
        """One instance of `instance` on every (selected) point of `points` (in point order)."""
        return _geometry_node("GeometryNodeInstanceOnPoints", {"Points": points, "Selection": selection,
                                                               "Instance": instance, "Rotation": rotation,
                                                               "Scale": scale},
                              "Instances", name, "Instance on Points")

    @staticmethod
    def realize(geometry: Geometry, name: str | None = None) -> Geometry:
        return _geometry_node("GeometryNodeRealizeInstances", {"Geometry": geometry}, "Geometry", name,
                              "Realize Instances")

    @staticmethod
    def copies(points: Geometry, instance: Geometry, name: str | None = None) -> Geometry:
        """`instance` placed on every point, realized: real mesh copies."""
        return _Scope.realize(_Scope.instance_on_points(points, instance), name=name)

    @staticmethod
    def bounds(geometry: Geometry) -> tuple:
        """(min, max) corner vectors of a geometry (Bounding Box node)."""
        shared = {}

        def node(g):
            if id(g) not in shared:
                shared[id(g)] = g.add_node("GeometryNodeBoundBox", "Bounding Box", {"Geometry": geometry})
            return shared[id(g)]

        graph = _graph_of(geometry)
        return (Value("VECTOR", lambda g: (node(g), "Min"), graph, "Min"),
                Value("VECTOR", lambda g: (node(g), "Max"), graph, "Max"))

    @staticmethod
    def on_floor_centred(geometry: Geometry) -> Geometry:
        """Move a geometry so its lowest point is at z = 0 and its bounds are centred in x, y."""
        lo, hi = _Scope.bounds(geometry)
        offset = ((lo + hi) * (-0.5, -0.5, 0.0) + _vec(0.0, 0.0, -lo.z)).named("Floor Centre Offset")
        return _transform_node(geometry, offset, None, None, "Floor Centre")


    # -- fields (values per element of the geometry a node evaluates them on) --------------
    @staticmethod
    def position() -> Value:
        """The Position field: each point's position where a node evaluates it."""
        return _node_value("VECTOR", "GeometryNodeInputPosition", {}, {}, "Position", None, "Position")

    @staticmethod
    def index() -> Value:
        """The Index field: each element's index."""
        return _node_value("INT", "GeometryNodeInputIndex", {}, {}, "Index", None, "Index")

    @staticmethod
    def normal() -> Value:
        """The Normal field (vertex normals on points, face normals on faces)."""
        return _node_value("VECTOR", "GeometryNodeInputNormal", {}, {}, "Normal", None, "Normal")

    @staticmethod
    def set_position(geometry: Geometry, offset=None, position=None, selection=None,
                     name: str | None = None) -> Geometry:
        """Set Position: selected points move to `position` (default: where they are) + `offset`;
        each may be a single value or a field (e.g. built from p.position())."""
        return _geometry_node("GeometryNodeSetPosition", {"Geometry": geometry, "Offset": offset,
                                                          "Position": position, "Selection": selection},
                              "Geometry", name, "Set Position")

    @staticmethod
    def delete(geometry: Geometry, selection, domain: str = "POINT", mode: str = "ALL",
               name: str | None = None) -> Geometry:
        """Delete Geometry: the elements of `domain` where `selection` holds, with what Blender
        deletes along with them (`mode` ALL, EDGE_FACE or ONLY_FACE)."""
        return _geometry_node("GeometryNodeDeleteGeometry", {"Geometry": geometry, "Selection": selection},
                              "Geometry", name, "Delete Geometry", {"domain": domain, "mode": mode})


class GroupBuilder(_Scope):
    """What a group body receives as its first argument: the same node-making methods."""

    def __init__(self, graph: _Graph):
        self._graph = graph


class GroupCall:
    """A callable node group: `leg(width=..., height=...)` adds a group node and returns
    its output handle."""

    def __init__(self, definition: _GroupDef):
        self._def = definition

    def __call__(self, *args, name: str | None = None, **kwargs):
        d = self._def
        params = list(inspect.signature(d.fn).parameters)[1:]
        if len(args) > len(params):
            raise IRError(f"group '{d.graph.name}' takes {len(params)} inputs, got {len(args)}")
        given = dict(zip(params, args))
        for k, v in kwargs.items():
            if k not in params:
                raise IRError(f"group '{d.graph.name}' has no input '{k}' (inputs: {', '.join(params)})")
            given[k] = v
        sockets = {s["identifier"]: given[py] for s, py in zip(d.graph.inputs, params) if py in given}
        graph = _graph_of(*[v for v in sockets.values() if isinstance(v, (Value, Geometry))])
        made = {}

        def node(g):
            if id(g) not in made:
                made[id(g)] = g.add_node("GeometryNodeGroup", name or d.graph.name, sockets, group=d)
            return made[id(g)]

        (out,) = d.graph.outputs
        if out["type"] == "GEOMETRY":
            return Geometry(lambda g: (node(g), "Socket_0"), graph, name or d.graph.name)
        return Value(out["type"], lambda g: (node(g), "Socket_0"), graph, name or d.graph.name)


# ------------------------------------------------------------------------------------------
# Programs
# ------------------------------------------------------------------------------------------

class _ParamDecl:
    def __init__(self, name, kind, default, lo, hi, category, active_if, sample):
        self.name, self.kind, self.default, self.min, self.max = name, kind, default, lo, hi
        self.category, self.active_if, self.sample = category, active_if, sample


def _title(py_name: str) -> str:
    return " ".join(w.capitalize() for w in py_name.split("_"))


class ProgramBuilder(_Scope):
    """Declare parameters, describe the object with handles, `output()` it, `build()` the IR."""

    def __init__(self, name: str, object_name: str | None = None):
        self.name = name
        self._graph = _Graph("Geometry Nodes", name)
        self._graph.outputs.append({"identifier": "Socket_0", "name": "Geometry", "type": "GEOMETRY"})
        self._params: list[_ParamDecl] = []
        self._params_by_name: dict = {}
        self._groups: list[_GroupDef] = []
        self._category = ""
        self._output: Geometry | None = None
        self._object = object_name or name.replace("_", " ").title()

    # -- parameters ------------------------------------------------------------------------
    @contextlib.contextmanager
    def category(self, name: str):
        """Parameters declared inside `with p.category("Legs"):` get that category."""
        prev, self._category = self._category, name
        try:
            yield
        finally:
            self._category = prev

    def float(self, name: str, default: float, min: float, max: float, **kw) -> Value:
        return self._param(name, "float", float(default), float(min), float(max), **kw)

    def int(self, name: str, default: int, min: int, max: int, **kw) -> Value:
        for key, v in (("default", default), ("min", min), ("max", max)):
            if int(v) != v:
                raise IRError(f"program '{self.name}': parameter '{name}': {key} must be an integer, got {v!r}")
        return self._param(name, "int", int(default), int(min), int(max), **kw)

    def bool(self, name: str, default: bool, **kw) -> Value:
        return self._param(name, "bool", bool(default), 0, 1, **kw)

    def _param(self, name, kind, default, lo, hi, category: str | None = None, active_if=None,
               sample: bool = True) -> Value:
        where = f"program '{self.name}': parameter '{name}'"
        if name in self._params_by_name:
            raise IRError(f"{where}: declared twice")
        if lo > hi:
            raise IRError(f"{where}: min {lo} > max {hi}")
        if kind != "bool" and not lo <= default <= hi:
            raise IRError(f"{where}: default {default} is outside [{lo}, {hi}]")
        dnf = None
        if active_if is not None:
            cond = _as_condition(active_if)
            if isinstance(cond, bool) or cond.dnf is None:
                raise IRError(f"{where}: active_if must be built from int/bool parameters compared with "
                              "constants (e.g. legs_type == 2, has_back & ~has_arms)")
            dnf = cond.dnf
            if not dnf:
                raise IRError(f"{where}: active_if can never hold")
        decl = _ParamDecl(name, kind, default, lo, hi, self._category if category is None else category, dnf,
                          sample)
        self._params.append(decl)
        self._params_by_name[name] = decl
        ident = f"Socket_{len(self._params)}"
        self._graph.inputs.append({"identifier": ident, "name": name, "type": _KIND_TYPE[kind],
                                   "default": default})
        graph = self._graph
        dnf_self = [((name, True),)] if kind == "bool" else None
        return Value(_KIND_TYPE[kind], lambda g: (g.group_input_node(), ident), graph, name, dnf_self, decl, self)

    # -- groups ----------------------------------------------------------------------------
    def group(self, name: str | None = None):
        """Decorator: a function `fn(g, input=default, ...)` becomes a node group.

        Inputs are the function's parameters after `g`: the Python name in title case is the
        socket name, the default's type its socket type (float, int, bool, 3-tuple = vector,
        None = geometry). The function returns one handle (the group's output). Calling the
        result adds a group node."""

        def decorate(fn):
            gname = name or _title(fn.__name__)
            if any(d.graph.name == gname for d in self._groups) or gname == self._graph.name:
                raise IRError(f"program '{self.name}': group '{gname}' defined twice")
            graph = _Graph(gname, self.name)
            sig = list(inspect.signature(fn).parameters.values())[1:]
            types = {float: "FLOAT", int: "INT", bool: "BOOLEAN", tuple: "VECTOR", type(None): "GEOMETRY"}
            args = []
            n_out = 1
            for i, prm in enumerate(sig):
                if prm.default is inspect.Parameter.empty or type(prm.default) not in types:
                    raise IRError(f"group '{gname}': input '{prm.name}' needs a default of type float, int, bool, "
                                  "3-tuple or None (geometry)")
                t = types[type(prm.default)]
                ident = f"Socket_{n_out + i}"
                item = {"identifier": ident, "name": _title(prm.name), "type": t}
                if t != "GEOMETRY":
                    item["default"] = list(map(float, prm.default)) if t == "VECTOR" else prm.default
                graph.inputs.append(item)
                make = (lambda g, ident=ident: (g.group_input_node(), ident))
                args.append(Geometry(make, graph, _title(prm.name)) if t == "GEOMETRY"
                            else Value(t, make, graph, _title(prm.name)))
            result = fn(GroupBuilder(graph), *args)
            if not isinstance(result, (Value, Geometry)):
                raise IRError(f"group '{gname}': the function must return a geometry or value handle, "
                              f"got {result!r}")
            out_node = graph.unique("Group Output")
            graph.nodes.append({"name": out_node, "type": "NodeGroupOutput", "properties": {}, "inputs": {}})
            otype = "GEOMETRY" if isinstance(result, Geometry) else result.type
            graph.outputs.append({"identifier": "Socket_0", "name": "Geometry" if otype == "GEOMETRY" else "Value",
                                  "type": otype})
            graph.links.append({"from": list(graph.socket_of(result)), "to": [out_node, "Socket_0"]})
            definition = _GroupDef(graph, fn)
            self._groups.append(definition)
            return GroupCall(definition)

        return decorate

    # -- output ----------------------------------------------------------------------------
    def output(self, geometry: Geometry) -> None:
        if not isinstance(geometry, Geometry):
            raise IRError(f"program '{self.name}': output() takes a geometry, got {geometry!r}")
        self._output = geometry

    def build(self) -> dict:
        """The IR document (a new dict each call)."""
        if self._output is None:
            raise IRError(f"program '{self.name}': no output geometry (call p.output(...))")
        graph = self._graph
        if not any(n["type"] == "NodeGroupOutput" for n in graph.nodes):
            out = graph.unique("Group Output")
            graph.nodes.append({"name": out, "type": "NodeGroupOutput", "properties": {}, "inputs": {}})
            graph.links.append({"from": list(graph.socket_of(self._output)), "to": [out, "Socket_0"]})
        parameters = [{"name": d.name, "socket": f"Socket_{i + 1}", "kind": d.kind, "min": d.min, "max": d.max,
                       "default": d.default, "category": d.category, "sample": d.sample,
                       "active_if": [[{"param": n, "equals": v} for n, v in clause] for clause in d.active_if]
                       if d.active_if else None}
                      for i, d in enumerate(self._params)]
        return {"format": "geonodes-ir", "version": 1, "name": self.name,
                "source": {"authoring": "geonodes.authoring", "object": self._object,
                           "modifier": "GeometryNodes"},
                "main_group": self._graph.name,
                "groups": [self._graph.to_ir()] + [d.graph.to_ir() for d in self._groups],
                "parameters": parameters}
