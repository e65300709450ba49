"""Chair: a seat on four legs or a pedestal, with an optional back (panel or slats) and arms.

Parameters (metres, radians; origin at floor level, centred under the chair's bounds):

Seat
- Seat Height: floor to the top of the seat.
- Seat Width, Seat Depth: seat size along x and y (y+ is the front).
- Seat Thickness: thickness of the seat board.
- Seat Shape: 0 rectangular, 1 round (elliptic when width != depth).
Legs
- Legs Type: 0 four legs, 1 central pedestal on a round base.
- Legs Size: leg cross-section (four legs).
- Round Legs: cylindrical instead of square legs (four legs).
- Has Middle Support: H-shaped stretchers between the legs (four legs).
- Middle Offset: height of the stretchers above the floor (four legs with stretchers).
- Column Radius, Base Radius, Base Thickness: the pedestal (pedestal only).
Back
- Has Back: whether there is a backrest.
- Back Height: height of the backrest above the seat.
- Back Thickness: thickness of the backrest.
- Back Tilt: backward lean of the backrest.
- Back Style: 0 solid panel, 1 posts with a top rail and vertical slats.
- Slat Count: number of vertical slats (slatted back only).
Arms
- Has Arms: armrests on both sides.
- Arm Height: armrest height above the seat.
- Arm Width: armrest width.
- Arm Thickness: armrest board thickness.
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

ROUND_INSET = 0.7071  # corners of a square inscribed in the round seat


def build() -> dict:
    p = ProgramBuilder("chair")
    with p.category("Seat"):
        seat_height = p.float("Seat Height", 0.45, 0.38, 0.55)
        width = p.float("Seat Width", 0.46, 0.38, 0.65)
        depth = p.float("Seat Depth", 0.44, 0.38, 0.6)
        thick = p.float("Seat Thickness", 0.04, 0.02, 0.08)
        seat_shape = p.int("Seat Shape", 0, 0, 1)
    with p.category("Legs"):
        legs_type = p.int("Legs Type", 0, 0, 1)
        four_legs = legs_type == 0
        leg_size = p.float("Legs Size", 0.035, 0.025, 0.06, active_if=four_legs)
        round_legs = p.bool("Round Legs", False, active_if=four_legs)
        has_mid = p.bool("Has Middle Support", True, active_if=four_legs)
        mid_offset = p.float("Middle Offset", 0.15, 0.08, 0.25, active_if=four_legs & has_mid)
        column_r = p.float("Column Radius", 0.03, 0.02, 0.05, active_if=legs_type == 1)
        base_r = p.float("Base Radius", 0.25, 0.18, 0.32, active_if=legs_type == 1)
        base_t = p.float("Base Thickness", 0.03, 0.02, 0.05, active_if=legs_type == 1)
    with p.category("Back"):
        has_back = p.bool("Has Back", True)
        back_h = p.float("Back Height", 0.4, 0.25, 0.6, active_if=has_back)
        back_t = p.float("Back Thickness", 0.03, 0.02, 0.06, active_if=has_back)
        tilt = p.float("Back Tilt", 0.1, 0.0, 0.3, active_if=has_back)
        back_style = p.int("Back Style", 0, 0, 1, active_if=has_back)
        slats = p.int("Slat Count", 3, 2, 6, active_if=has_back & (back_style == 1))
    with p.category("Arms"):
        has_arms = p.bool("Has Arms", False)
        arm_h = p.float("Arm Height", 0.22, 0.15, 0.3, active_if=has_arms)
        arm_w = p.float("Arm Width", 0.06, 0.04, 0.1, active_if=has_arms)
        arm_t = p.float("Arm Thickness", 0.03, 0.02, 0.05, active_if=has_arms)

    round_seat = seat_shape == 1
    inset = p.switch(round_seat, ROUND_INSET, 1.0, name="Round Seat Inset")
    under_seat = (seat_height - thick).named("Seat Bottom")

    seat = p.switch(round_seat, p.cylinder(0.5, 1.0, name="Round Seat").scale(p.vec(width, depth, thick)),
                    p.box(width, depth, thick, name="Square Seat"), name="Seat")
    seat = seat.translate(z=seat_height - thick / 2)

    @p.group("Leg")
    def leg(g, size=0.035, height=0.4, round=False):
        square = g.box(size, size, height, name="Square Leg")
        cylinder = g.cylinder(size / 2, height, vertices=16, name="Round Leg")
        return g.switch(round, cylinder, square, name="Leg Shape").translate(z=height / 2)

    span_x = ((width - leg_size) * inset).named("Leg Span X")
    span_y = ((depth - leg_size) * inset).named("Leg Span Y")
    legs = p.copies(p.grid(span_x, span_y, name="Leg Corners"),
                    leg(size=leg_size, height=under_seat, round=round_legs), name="Four Legs")
    rail = leg_size * 0.6
    stretchers = p.join(
        p.box(rail, span_y, rail, name="Left Stretcher").translate(x=span_x / -2, z=mid_offset),
        p.box(rail, span_y, rail, name="Right Stretcher").translate(x=span_x / 2, z=mid_offset),
        p.box(span_x, rail, rail, name="Cross Stretcher").translate(z=mid_offset),
        name="Stretchers")
    column_h = under_seat - base_t
    pedestal = p.join(
        p.cylinder(base_r, base_t, name="Pedestal Base").translate(z=base_t / 2),
        p.cylinder(column_r, column_h, vertices=16, name="Pedestal Column").translate(z=base_t + column_h / 2),
        name="Pedestal")
    base = p.switch(four_legs, p.join(legs, p.switch(has_mid, stretchers)), pedestal, name="Legs")

    back_w = (width * inset).named("Back Width")
    panel = p.box(back_w, back_t, back_h, name="Back Panel").translate(z=back_h / 2)
    rail_h = 0.05
    inner = back_w - back_t * 2
    step = (inner / (slats + 1)).named("Slat Step")
    slat_h = back_h - rail_h
    slatted = p.join(
        p.box(back_t, back_t, back_h, name="Left Back Post").translate(x=(back_w - back_t) / -2, z=back_h / 2),
        p.box(back_t, back_t, back_h, name="Right Back Post").translate(x=(back_w - back_t) / 2, z=back_h / 2),
        p.box(back_w, back_t, rail_h, name="Top Rail").translate(z=back_h - rail_h / 2),
        p.copies(p.line(slats, start=p.vec(inner / -2 + step, 0, 0), end=p.vec(inner / 2 - step, 0, 0)),
                 p.box(step / 2, back_t * 0.6, slat_h, name="Slat").translate(z=slat_h / 2), name="Slats"),
        name="Slatted Back")
    back = p.switch(back_style == 1, slatted, panel, name="Back Style")
    back = back.rotate(x=tilt).translate(y=depth * inset / -2 + back_t / 2, z=seat_height)

    @p.group("Arm")
    def arm(g, depth=0.4, height=0.2, width=0.06, thickness=0.03):
        rest = g.box(width, depth, thickness, name="Armrest").translate(z=height - thickness / 2)
        post = g.box(width * 0.7, width * 0.7, height, name="Arm Post")
        return g.join(rest, post.translate(y=depth / 2 - width * 0.35, z=height / 2))

    arm_depth = (depth * inset * 0.9).named("Arm Depth")
    arm_x = ((width * inset - arm_w) / 2).named("Arm X")
    arms = p.join(arm(arm_depth, arm_h, arm_w, arm_t, name="Left Arm").translate(x=-arm_x, z=seat_height),
                  arm(arm_depth, arm_h, arm_w, arm_t, name="Right Arm").translate(x=arm_x, z=seat_height),
                  name="Arms")

    chair = p.join(seat, base, p.switch(has_back, back, name="Back"), p.switch(has_arms, arms, name="Arms Switch"),
                   name="Chair")
    p.output(p.on_floor_centred(chair))
    return p.build()
