"""Round table: a round top (a filled circle extruded to its thickness, its upper rim optionally
tapered) on a central pedestal or on legs spaced around a circle.

Parameters (metres; origin at floor level, centred under the table's bounds):

Top
- Diameter: diameter of the top.
- Height: floor to the top surface.
- Top Thickness: thickness of the top.
- Edge Taper: the upper face's radius as a fraction of the lower one's (1: a straight edge).
Support
- Support Type: 0 a central pedestal on a round foot, 1 legs around a circle.
- Pedestal Radius: radius of the pedestal's column (pedestal).
- Foot Radius: radius of the pedestal's round foot (pedestal).
- Leg Count: number of legs, 3 to 5 (legs).
- Leg Radius: radius of the round legs (legs).
- Leg Inset: distance of the legs' axes from the top's edge (legs).
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

TOP_SIDES = 48
FOOT_SIDES = 32
COLUMN_SIDES = 24
LEG_SIDES = 12
FOOT_T = 0.03  # thickness of the pedestal's foot


def build() -> dict:
    p = ProgramBuilder("round_table")
    with p.category("Top"):
        diameter = p.float("Diameter", 0.9, 0.5, 1.5)
        height = p.float("Height", 0.74, 0.4, 1.1)
        top_t = p.float("Top Thickness", 0.03, 0.02, 0.06)
        taper = p.float("Edge Taper", 1.0, 0.9, 1.0)
    with p.category("Support"):
        support = p.int("Support Type", 0, 0, 1)
        pedestal, legged = support == 0, support == 1
        column_r = p.float("Pedestal Radius", 0.05, 0.03, 0.1, active_if=pedestal)
        foot_r = p.float("Foot Radius", 0.25, 0.15, 0.4, active_if=pedestal)
        leg_count = p.int("Leg Count", 4, 3, 5, active_if=legged)
        leg_r = p.float("Leg Radius", 0.02, 0.012, 0.04, active_if=legged)
        leg_inset = p.float("Leg Inset", 0.08, 0.03, 0.15, active_if=legged)

    radius = (diameter / 2).named("Top Radius")
    under_top = (height - top_t).named("Under Top")

    # Top: a filled circle extruded up by the thickness, its upper face scaled by the taper, and
    # the circle again, flipped, as the underside.
    disc = p.mesh_circle(radius, TOP_SIDES, fill="NGON", name="Top Disc")
    slab, upper, _ = p.extrude(disc, offset_scale=top_t, name="Top Extrude")
    slab = p.scale_elements(slab, taper, selection=upper, name="Top Taper")
    top = p.join(p.flip_faces(disc, name="Top Underside"), slab, name="Top").translate(z=under_top)

    # Pedestal: a column on a round foot (an extruded disc).
    foot, _, _ = p.extrude(p.mesh_circle(foot_r, FOOT_SIDES, fill="NGON", name="Foot Disc"), offset_scale=FOOT_T,
                           name="Foot Extrude")
    column = p.cylinder(column_r, under_top - FOOT_T, vertices=COLUMN_SIDES, name="Column")
    pedestal_geo = p.join(foot, column.translate(z=FOOT_T + (under_top - FOOT_T) / 2), name="Pedestal")

    # Legs: one at each point of a circle of Leg Count points (Curve to Points), inside the edge.
    corners, _ = p.curve_to_points(p.curve_circle(radius - leg_inset, leg_count, name="Leg Circle"),
                                   name="Leg Points")
    leg = p.cylinder(leg_r, under_top, vertices=LEG_SIDES, name="Leg").translate(z=under_top / 2)
    legs = p.copies(corners, leg, name="Legs")

    p.output(p.on_floor_centred(p.join(top, p.switch(pedestal, pedestal_geo, legs, name="Support"),
                                       name="Round Table")))
    return p.build()
