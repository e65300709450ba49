"""Chair: a seat on four legs, a pedestal, a five-star swivel base or a cantilever frame, with an
optional back (panel, slats, upholstered cushion or mesh) and arms (boards or pads on posts).

Parameters (metres, radians; origin at floor level, centred under the chair's bounds):

Seat
- Seat Height: floor to the top of the seat.
- Seat Width, Seat Depth: seat size along x and y (y+ is the front).
- Seat Thickness: thickness of the seat board.
- Seat Shape: 0 rectangular, 1 round (elliptic when width != depth).
Legs
- Legs Type: 0 four legs, 1 central pedestal on a round base, 2 office five-star swivel base
  (gas column, seat mechanism, five arms with a caster at each tip), 3 cantilever (sled) frame of
  tubes: two floor runners joined at the front, rising at the front to rails under the seat.
- Legs Size: leg cross-section (four legs).
- Round Legs: cylindrical instead of square legs (four legs).
- Has Middle Support: H-shaped stretchers between the legs (four legs).
- Middle Offset: height of the stretchers above the floor (four legs with stretchers).
- Column Radius: radius of the pedestal column or of the gas column (pedestal, five-star).
- Base Radius, Base Thickness: the pedestal's round floor base (pedestal only).
- Star Radius: centre of the five-star base to the centre of a caster (five-star only).
- Caster Radius: radius of the caster wheels (five-star only).
- Tube Radius: radius of the cantilever frame's tubes (cantilever only).
Back
- Has Back: whether there is a backrest.
- Back Height: height of the backrest above the seat.
- Back Thickness: thickness of the backrest (the upholstered cushion is twice as thick).
- Back Tilt: backward lean of the backrest.
- Back Style: 0 solid panel, 1 posts with a top rail and vertical slats, 2 upholstered (a thick
  cushion with a rounded top), 3 mesh (a thin tubular frame around a taut mesh sheet).
- Slat Count: number of vertical slats (slatted back only).
Arms
- Has Arms: armrests on both sides.
- Arm Style: 0 boards (a full-depth board on a front post), 1 office arm pads (a short rounded
  pad on a vertical post that rises beside the seat from a bracket under it).
- Arm Height: armrest height above the seat.
- Arm Width: armrest width.
- Arm Thickness: armrest board (or pad) thickness.
"""
from __future__ import annotations

import math

from geonodes.authoring import ProgramBuilder

ROUND_INSET = 0.7071  # corners of a square inscribed in the round seat
STAR_ARM_W, STAR_ARM_T = 0.05, 0.035  # five-star base: arm section
CASTER_STEM = 0.02  # caster fork between the wheel's top and the arm
MECHANISM_H = 0.05  # the tilt mechanism box between gas column and seat
CAP_THIN = 0.9  # the upholstered back's rounded top is this much thinner than the cushion
MESH_SHEET = 0.006  # thickness of a mesh back's sheet
ARM_POST_D, ARM_BRACKET, ARM_BRACKET_T = 0.04, 0.12, 0.015  # office arm: post depth, bracket length, thickness


def build() -> dict:
    p = ProgramBuilder("chair")
    with p.category("Seat"):
        seat_height = p.float("Seat Height", 0.45, 0.38, 0.55)
        width = p.float("Seat Width", 0.46, 0.38, 0.65)
        depth = p.float("Seat Depth", 0.44, 0.38, 0.6)
        thick = p.float("Seat Thickness", 0.04, 0.02, 0.08)
        seat_shape = p.int("Seat Shape", 0, 0, 1)
    with p.category("Legs"):
        legs_type = p.int("Legs Type", 0, 0, 3)
        four_legs, pedestal_legs, star_legs, sled_legs = (legs_type == 0, legs_type == 1, legs_type == 2,
                                                          legs_type == 3)
        leg_size = p.float("Legs Size", 0.035, 0.025, 0.06, active_if=four_legs)
        round_legs = p.bool("Round Legs", False, active_if=four_legs)
        has_mid = p.bool("Has Middle Support", True, active_if=four_legs)
        mid_offset = p.float("Middle Offset", 0.15, 0.08, 0.25, active_if=four_legs & has_mid)
        column_r = p.float("Column Radius", 0.03, 0.02, 0.05, active_if=pedestal_legs | star_legs)
        base_r = p.float("Base Radius", 0.25, 0.18, 0.32, active_if=pedestal_legs)
        base_t = p.float("Base Thickness", 0.03, 0.02, 0.05, active_if=pedestal_legs)
        star_r = p.float("Star Radius", 0.32, 0.28, 0.36, active_if=star_legs)
        caster_r = p.float("Caster Radius", 0.025, 0.02, 0.035, active_if=star_legs)
        tube_r = p.float("Tube Radius", 0.012, 0.008, 0.016, active_if=sled_legs)
    with p.category("Back"):
        has_back = p.bool("Has Back", True)
        back_h = p.float("Back Height", 0.4, 0.25, 0.6, active_if=has_back)
        back_t = p.float("Back Thickness", 0.03, 0.02, 0.06, active_if=has_back)
        tilt = p.float("Back Tilt", 0.1, 0.0, 0.3, active_if=has_back)
        back_style = p.int("Back Style", 0, 0, 3, active_if=has_back)
        slats = p.int("Slat Count", 3, 2, 6, active_if=has_back & (back_style == 1))
    with p.category("Arms"):
        has_arms = p.bool("Has Arms", False)
        arm_style = p.int("Arm Style", 0, 0, 1, active_if=has_arms)
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
    star = _five_star_base(p, under_seat, width * inset, depth * inset, column_r, star_r, caster_r)
    sled = _cantilever_frame(p, under_seat, width * inset, depth * inset, tube_r)
    base = p.switch(four_legs, p.join(legs, p.switch(has_mid, stretchers)),
                    p.switch(pedestal_legs, pedestal,
                             p.switch(star_legs, star, sled, name="Star Or Cantilever"), name="Pedestal Or Office"),
                    name="Legs")

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
    upholstered = _upholstered_back(p, back_w, back_t, back_h)
    mesh = _mesh_back(p, back_w, back_t, back_h)
    back = p.switch(back_style == 1, slatted,
                    p.switch(back_style == 2, upholstered,
                             p.switch(back_style == 3, mesh, panel, name="Mesh Or Panel"), name="Upholstered Or Other"),
                    name="Back Style")
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
    arms = p.switch(arm_style == 1, _pad_arms(p, seat_height, thick, width * inset, depth * inset, arm_h, arm_w, arm_t),
                    arms, name="Arm Style")

    chair = p.join(seat, base, p.switch(has_back, back, name="Back"), p.switch(has_arms, arms, name="Arms Switch"),
                   name="Chair")
    p.output(p.on_floor_centred(chair))
    return p.build()


def _five_star_base(p, under_seat, seat_w, seat_d, column_r, star_r, caster_r):
    """Office swivel base: five arms radiating from a hub, a caster under each tip, a gas column
    up to a mechanism box under the seat."""

    @p.group("Star Leg")
    def star_leg(g, angle=0.0, length=0.32, caster=0.025):
        arm_z = caster * 2 + CASTER_STEM
        arm = g.box(length, STAR_ARM_W, STAR_ARM_T, name="Star Arm").translate(x=length / 2, z=arm_z + STAR_ARM_T / 2)
        stem = g.box(CASTER_STEM, CASTER_STEM, CASTER_STEM, name="Caster Stem").translate(
            x=length, z=caster * 2 + CASTER_STEM / 2)
        wheel = g.cylinder(caster, caster * 0.8, vertices=12, name="Caster Wheel").rotate(x=math.pi / 2) \
            .translate(x=length, z=caster)
        return g.join(arm, stem, wheel).rotate(z=angle)

    legs = [star_leg(math.pi / 2 + k * 2 * math.pi / 5, star_r, caster_r, name=f"Star Leg {k + 1}") for k in range(5)]
    arm_bottom = (caster_r * 2 + CASTER_STEM).named("Star Arm Bottom")
    column_bottom = arm_bottom + STAR_ARM_T
    column_top = under_seat - MECHANISM_H
    column_h = column_top - column_bottom
    return p.join(
        *legs,
        p.cylinder(column_r + STAR_ARM_W / 2, STAR_ARM_T + 0.01, vertices=16, name="Star Hub")
        .translate(z=arm_bottom + STAR_ARM_T / 2),
        p.cylinder(column_r, column_h, vertices=16, name="Gas Column").translate(z=column_bottom + column_h / 2),
        p.box(seat_w * 0.5, seat_d * 0.5, MECHANISM_H, name="Seat Mechanism").translate(z=column_top + MECHANISM_H / 2),
        name="Five Star Base")


def _cantilever_frame(p, under_seat, seat_w, seat_d, tube_r):
    """Tubular sled: two floor runners joined by a front bar, rising at the front to rails that
    carry the seat (cantilevered)."""
    run_x = (seat_w / 2 - tube_r * 2).named("Runner X")
    front_y = seat_d / 2 - tube_r
    rise = under_seat - tube_r * 2
    rail_l = seat_d * 0.85
    side = p.join(
        p.cylinder(tube_r, seat_d, vertices=12, name="Floor Runner").rotate(x=math.pi / 2).translate(z=tube_r),
        p.cylinder(tube_r, rise, vertices=12, name="Front Upright").translate(y=front_y, z=tube_r + rise / 2),
        p.cylinder(tube_r, rail_l, vertices=12, name="Seat Rail").rotate(x=math.pi / 2)
        .translate(y=front_y - rail_l / 2, z=under_seat - tube_r),
        name="Cantilever Side")
    sides = p.copies(p.line(2, start=p.vec(-run_x, 0, 0), end=p.vec(run_x, 0, 0)), side, name="Cantilever Sides")
    front_bar = p.cylinder(tube_r, run_x * 2, vertices=12, name="Front Bar").rotate(y=math.pi / 2) \
        .translate(y=front_y, z=tube_r)
    return p.join(sides, front_bar, name="Cantilever Frame")


def _upholstered_back(p, back_w, back_t, back_h):
    """A cushion twice the back thickness with a rounded (half-elliptic, slightly thinner) top;
    its rear face where the panel's is."""
    cushion_t = back_t * 2
    cap_h = back_h * 0.3
    body_h = back_h - cap_h
    return p.join(
        p.box(back_w, cushion_t, body_h, name="Back Cushion").translate(y=back_t / 2, z=body_h / 2),
        p.cylinder(0.5, 1.0, vertices=24, name="Back Cushion Top").transform(
            translation=p.vec(0, back_t / 2, body_h), rotation=(math.pi / 2, 0.0, 0.0),
            scale=p.vec(back_w, cap_h * 2, cushion_t * CAP_THIN)),
        name="Upholstered Back")


def _mesh_back(p, back_w, back_t, back_h):
    """A tubular frame (tube diameter 0.8 x the back thickness) around a thin mesh sheet."""
    r = (back_t * 0.4).named("Mesh Frame Radius")
    post_x = back_w / 2 - r
    return p.join(
        p.cylinder(r, back_h, vertices=12, name="Left Frame Post").translate(x=-post_x, z=back_h / 2),
        p.cylinder(r, back_h, vertices=12, name="Right Frame Post").translate(x=post_x, z=back_h / 2),
        p.cylinder(r, back_w, vertices=12, name="Top Frame Rail").rotate(y=math.pi / 2).translate(z=back_h - r),
        p.cylinder(r, back_w, vertices=12, name="Bottom Frame Rail").rotate(y=math.pi / 2).translate(z=r),
        p.box(back_w - r * 2, MESH_SHEET, back_h - r * 2, name="Mesh Sheet").translate(z=back_h / 2),
        name="Mesh Back")


def _pad_arms(p, seat_height, thick, seat_w, seat_d, arm_h, arm_w, arm_t):
    """Office arms: a rounded pad on a vertical post beside the seat, the post held by a bracket
    under the seat."""

    @p.group("Arm Pad")
    def pad_arm(g, length=0.24, height=0.22, width=0.06, thickness=0.03, drop=0.05, inward=1.0):
        pad = g.cylinder(0.5, 1.0, vertices=16, name="Arm Pad Top").scale(g.vec(width, length, thickness)) \
            .translate(z=height - thickness / 2)
        post_h = height - thickness + drop  # from the bracket up to the pad
        post = g.box(width * 0.5, ARM_POST_D, post_h, name="Arm Pad Post").translate(z=(height - thickness - drop) / 2)
        bracket = g.box(ARM_BRACKET, ARM_POST_D, ARM_BRACKET_T, name="Arm Bracket") \
            .translate(x=inward * ARM_BRACKET / 2, z=ARM_BRACKET_T / 2 - drop)
        return g.join(pad, post, bracket)

    pad_len = (seat_d * 0.55).named("Arm Pad Length")
    pad_x = ((seat_w + arm_w) / 2).named("Arm Pad X")
    drop = thick + ARM_BRACKET_T
    left = pad_arm(pad_len, arm_h, arm_w, arm_t, drop, 1.0, name="Left Arm Pad")
    right = pad_arm(pad_len, arm_h, arm_w, arm_t, drop, -1.0, name="Right Arm Pad")
    return p.join(left.translate(x=-pad_x, z=seat_height), right.translate(x=pad_x, z=seat_height), name="Arm Pads")
