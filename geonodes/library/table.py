"""Table: a rectangular or round top on four legs, a pedestal (on a disc, a cross or a star foot),
or two side panels.

Parameters (metres; origin at floor level, centred under the table's bounds):

Top
- Width, Depth: top size along x and y.
- Height: floor to the top surface.
- Top Thickness: thickness of the top.
- Top Shape: 0 rectangular, 1 round (elliptic when width != depth).
Legs
- Legs Type: 0 four legs, 1 central pedestal on a round base (disc foot), 2 two side panels,
  3 central pedestal on a bar foot (see Foot Type).
- Leg Size: leg cross-section (four legs).
- Round Legs: cylindrical instead of square legs (four legs).
- Leg Inset: distance of the legs from the edge of the top (four legs).
- Has Apron: boards under the top between the legs (four legs).
- Apron Height: height of those boards (four legs with apron).
- Pedestal Radius, Base Radius: radius of the pedestal's column and reach of its foot (the floor
  disc's radius, or centre to the tip of a cross or star arm) (pedestals: disc or bar foot).
- Foot Type: 0 cross of two crossing bars, 1 four-arm star, 2 five-arm star; the star's arms rest
  on glides at their tips (bar-foot pedestal only).
- Panel Thickness: thickness of the side panels (panels only).
Mid Board
- Has Mid Board: a lower shelf between the legs or panels (four legs or panels).
- Mid Board Z Scale: its height as a fraction of the space under the top.
"""
from __future__ import annotations

import math

from geonodes.authoring import ProgramBuilder

ROUND_INSET = 0.7071  # corners of a rectangle inscribed in the round top
BOARD = 0.02  # thickness of apron boards and the mid board
PANEL_MARGIN = 0.05  # side panels stand this far inside the top's edge
FOOT_W, FOOT_H = 0.07, 0.04  # bar foot: arm section
GLIDE_R, GLIDE_H = 0.025, 0.015  # a star arm's glide at its tip


def build() -> dict:
    p = ProgramBuilder("table")
    with p.category("Top"):
        width = p.float("Width", 1.2, 0.6, 2.4)
        depth = p.float("Depth", 0.8, 0.5, 1.2)
        height = p.float("Height", 0.75, 0.4, 1.1)
        top_t = p.float("Top Thickness", 0.03, 0.02, 0.06)
        top_shape = p.int("Top Shape", 0, 0, 1)
    with p.category("Legs"):
        legs_type = p.int("Legs Type", 0, 0, 3)
        four_legs, pedestal_legs, panel_legs, foot_legs = (legs_type == 0, legs_type == 1, legs_type == 2,
                                                           legs_type == 3)
        leg_size = p.float("Leg Size", 0.05, 0.03, 0.1, active_if=four_legs)
        round_legs = p.bool("Round Legs", False, active_if=four_legs)
        leg_inset = p.float("Leg Inset", 0.03, 0.0, 0.15, active_if=four_legs)
        has_apron = p.bool("Has Apron", True, active_if=four_legs)
        apron_h = p.float("Apron Height", 0.08, 0.05, 0.15, active_if=four_legs & has_apron)
        column_r = p.float("Pedestal Radius", 0.06, 0.04, 0.12, active_if=pedestal_legs | foot_legs)
        base_r = p.float("Base Radius", 0.3, 0.2, 0.4, active_if=pedestal_legs | foot_legs)
        foot_type = p.int("Foot Type", 0, 0, 2, active_if=foot_legs)
        panel_t = p.float("Panel Thickness", 0.04, 0.02, 0.06, active_if=panel_legs)
    with p.category("Mid Board"):
        has_mid = p.bool("Has Mid Board", False, active_if=four_legs | panel_legs)
        mid_scale = p.float("Mid Board Z Scale", 0.3, 0.1, 0.5, active_if=(four_legs | panel_legs) & has_mid)

    round_top = top_shape == 1
    inset = p.switch(round_top, ROUND_INSET, 1.0, name="Round Top Inset")
    under_top = (height - top_t).named("Under Top")
    top = p.switch(round_top, p.cylinder(0.5, 1.0, vertices=48, name="Round Top").scale(p.vec(width, depth, top_t)),
                   p.box(width, depth, top_t, name="Rectangular Top"), name="Top")
    top = top.translate(z=height - top_t / 2)

    @p.group("Leg")
    def leg(g, size=0.05, height=0.7, round=False):
        square = g.box(size, size, height, name="Square Leg")
        cylinder = g.cylinder(size / 2, height, vertices=16, name="Round Leg")
        return g.switch(round, cylinder, square, name="Leg Shape").translate(z=height / 2)

    span_x = (width * inset - leg_size - leg_inset * 2).named("Leg Span X")
    span_y = (depth * inset - leg_size - leg_inset * 2).named("Leg Span Y")
    legs = p.copies(p.grid(span_x, span_y, name="Leg Corners"),
                    leg(size=leg_size, height=under_top, round=round_legs), name="Four Legs")
    apron_z = under_top - apron_h / 2
    apron = p.join(
        p.box(span_x, BOARD, apron_h, name="Front Apron").translate(y=span_y / 2, z=apron_z),
        p.box(span_x, BOARD, apron_h, name="Back Apron").translate(y=span_y / -2, z=apron_z),
        p.box(BOARD, span_y, apron_h, name="Left Apron").translate(x=span_x / -2, z=apron_z),
        p.box(BOARD, span_y, apron_h, name="Right Apron").translate(x=span_x / 2, z=apron_z),
        name="Apron")

    pedestal = p.join(
        p.cylinder(base_r, 0.03, name="Pedestal Base").translate(z=0.015),
        p.cylinder(column_r, under_top - 0.03, vertices=24, name="Pedestal Column")
        .translate(z=0.03 + (under_top - 0.03) / 2),
        name="Pedestal")

    panel_x = (width * inset / 2 - PANEL_MARGIN - panel_t / 2).named("Panel X")
    panel_d = (depth * inset * 0.8).named("Panel Depth")
    panels = p.join(
        p.box(panel_t, panel_d, under_top, name="Left Panel").translate(x=-panel_x, z=under_top / 2),
        p.box(panel_t, panel_d, under_top, name="Right Panel").translate(x=panel_x, z=under_top / 2),
        name="Panels")

    mid_z = under_top * mid_scale
    mid_board = p.switch(four_legs, p.box(span_x + leg_size, span_y + leg_size, BOARD, name="Mid Board Between Legs"),
                         p.box(panel_x * 2 - panel_t, panel_d, BOARD, name="Mid Board Between Panels"),
                         name="Mid Board").translate(z=mid_z)

    footed = _footed_pedestal(p, under_top, column_r, base_r, foot_type)
    supports = p.switch(four_legs, p.join(legs, p.switch(has_apron, apron, name="Apron Switch")),
                        p.switch(pedestal_legs, pedestal, p.switch(panel_legs, panels, footed, name="Panels Or Footed"),
                                 name="Pedestal Or Other"), name="Supports")
    table = p.join(top, supports, p.switch(has_mid & (four_legs | panel_legs), mid_board, name="Mid Board Switch"),
                   name="Table")
    p.output(p.on_floor_centred(table))
    return p.build()


def _footed_pedestal(p, under_top, column_r, base_r, foot_type):
    """A column on a cross of two bars or on a four- or five-arm star whose arms rest on glides."""

    @p.group("Foot Arm")
    def foot_arm(g, angle=0.0, length=0.3):
        arm = g.box(length, FOOT_W, FOOT_H, name="Foot Arm Bar").translate(x=length / 2, z=GLIDE_H + FOOT_H / 2)
        glide = g.cylinder(GLIDE_R, GLIDE_H, vertices=12, name="Glide").translate(x=length - GLIDE_R, z=GLIDE_H / 2)
        return g.join(arm, glide).rotate(z=angle)

    cross = p.join(p.box(base_r * 2, FOOT_W, FOOT_H, name="Cross Bar X").translate(z=FOOT_H / 2),
                   p.box(FOOT_W, base_r * 2, FOOT_H, name="Cross Bar Y").translate(z=FOOT_H / 2), name="Cross Foot")
    hub = p.cylinder(column_r + FOOT_W / 2, FOOT_H, vertices=24, name="Foot Hub").translate(z=GLIDE_H + FOOT_H / 2)
    star4 = p.join(*[foot_arm(math.pi / 4 + k * math.pi / 2, base_r, name=f"Four Star Arm {k + 1}") for k in range(4)],
                   hub, name="Four Star Foot")
    star5 = p.join(*[foot_arm(math.pi / 2 + k * 2 * math.pi / 5, base_r, name=f"Five Star Arm {k + 1}")
                     for k in range(5)], hub, name="Five Star Foot")
    foot = p.switch(foot_type == 0, cross, p.switch(foot_type == 1, star4, star5, name="Four Or Five Arms"),
                    name="Foot")
    column_h = under_top - FOOT_H
    column = p.cylinder(column_r, column_h, vertices=24, name="Footed Column").translate(z=FOOT_H + column_h / 2)
    return p.join(foot, column, name="Footed Pedestal")
