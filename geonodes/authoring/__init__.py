"""Authoring API: write shape programs in Python, get the IR the Blender importer produces.

    from geonodes.authoring import ProgramBuilder

    p = ProgramBuilder("stool")
    with p.category("Size"):
        height = p.float("Height", 0.45, 0.3, 0.8)
        radius = p.float("Seat Radius", 0.18, 0.12, 0.25)
    with p.category("Legs"):
        legs = p.int("Leg Count", 3, 3, 4)
        leg_size = p.float("Leg Size", 0.03, 0.02, 0.05, active_if=(legs == 4))

    seat = p.cylinder(radius, 0.03, name="Seat").translate(z=height - 0.015)
    p.output(p.join(seat, ...))
    ir = p.build()               # a dict; geonodes.ir.parse_ir accepts it

Handles are lazy: `width / 2` describes a Math node, which is created (once) only when the
value is used by a node that reaches the output, so unused expressions leave no dead nodes.
Operators on value handles make Math / Vector Math / Compare nodes; `p.vec` makes Combine XYZ;
geometry handles have `.translate/.rotate/.scale` (Transform Geometry; successive calls in
scale -> rotate -> translate order share one node). `p.group` turns a Python function into a
real node group with its own interface. `p.position()`, `p.index()` and `p.normal()` are fields
(values per element: operators on them build the same nodes, evaluated per point), used by
`p.set_position(geometry, offset=, position=, selection=)` and `p.delete(geometry, selection,
domain=, mode=)`. Conditions built from parameters and constants
(`legs_type == 2`, `has_back & ~has_arms`) also give the IR's `active_if` disjunctive form.

handles.py: value and geometry handles; conditions.py: `active_if` in DNF; graph.py: a node
group under construction; builder.py: ProgramBuilder, groups and the shared node methods.
"""
from .builder import GroupBuilder, GroupCall, ProgramBuilder
from .handles import VALUE_TYPES, Geometry, Value

__all__ = ["GroupBuilder", "GroupCall", "ProgramBuilder", "VALUE_TYPES", "Geometry", "Value"]
