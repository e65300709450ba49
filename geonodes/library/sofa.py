"""Sofa: a base with seat cushions, optional back (with cushions), arms, chaise (L shape) and legs.

Parameters (metres; origin at floor level, centred under the sofa's bounds; y+ is the front):

Size
- Width: overall width, arms included.
- Depth: depth of the main seat section.
- Seat Height: floor to the top of the seat cushions.
Cushions
- Cushion Count: number of seat cushions side by side.
- Cushion Thickness: thickness of the seat cushions.
Back
- Has Back: whether there is a backrest.
- Back Height: backrest height above the seat.
- Back Thickness: depth of the backrest frame.
- Has Back Cushions: cushions leaning on the backrest (with back).
- Back Cushion Thickness: their depth (with back and back cushions).
Arms
- Has Left Arm, Has Right Arm: armrests at the ends.
- Arm Width: width of an armrest (with any arm).
- Arm Height: armrest height above the seat (with any arm).
L Shape
- Is L-Shaped: a chaise section extends forward at one end.
- Chaise Length: how far the chaise extends in front of the main section.
- Chaise Width: its width (at most the seat width).
- Chaise On Left: chaise at the left (x-) end instead of the right.
Legs
- Has Legs: legs under the base; without, the base stands on the floor.
- Leg Height, Leg Size: height and cross-section of the legs.
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

CUSHION_GAP = 0.01  # visible seam between neighbouring cushions


def build() -> dict:
    p = ProgramBuilder("sofa")
    with p.category("Size"):
        width = p.float("Width", 2.0, 1.2, 3.0)
        depth = p.float("Depth", 0.9, 0.75, 1.05)
        seat_h = p.float("Seat Height", 0.42, 0.35, 0.5)
    with p.category("Cushions"):
        count = p.int("Cushion Count", 2, 1, 3)
        cushion_t = p.float("Cushion Thickness", 0.12, 0.08, 0.16)
    with p.category("Back"):
        has_back = p.bool("Has Back", True)
        back_h = p.float("Back Height", 0.4, 0.3, 0.6, active_if=has_back)
        back_t = p.float("Back Thickness", 0.18, 0.1, 0.3, active_if=has_back)
        has_bc = p.bool("Has Back Cushions", True, active_if=has_back)
        bc_t = p.float("Back Cushion Thickness", 0.12, 0.08, 0.18, active_if=has_back & has_bc)
    with p.category("Arms"):
        has_left = p.bool("Has Left Arm", True)
        has_right = p.bool("Has Right Arm", True)
        any_arm = has_left | has_right
        arm_w = p.float("Arm Width", 0.15, 0.08, 0.3, active_if=any_arm)
        arm_h = p.float("Arm Height", 0.2, 0.1, 0.3, active_if=any_arm)
    with p.category("L Shape"):
        is_l = p.bool("Is L-Shaped", False)
        chaise_len = p.float("Chaise Length", 0.7, 0.5, 1.0, active_if=is_l)
        chaise_w = p.float("Chaise Width", 0.8, 0.6, 1.0, active_if=is_l)
        on_left = p.bool("Chaise On Left", False, active_if=is_l)
    with p.category("Legs"):
        has_legs = p.bool("Has Legs", True)
        leg_h = p.float("Leg Height", 0.08, 0.03, 0.12, active_if=has_legs)
        leg_s = p.float("Leg Size", 0.05, 0.03, 0.08, active_if=has_legs)

    bottom = p.switch(has_legs, leg_h, 0.0, name="Base Bottom")
    base_top = (seat_h - cushion_t).named("Base Top")
    base_h = (base_top - bottom).named("Base Height")
    left_w = p.switch(has_left, arm_w, 0.0, name="Left Arm Width")
    right_w = p.switch(has_right, arm_w, 0.0, name="Right Arm Width")
    x_left = (width / -2 + left_w).named("Seat Left X")
    x_right = (width / 2 - right_w).named("Seat Right X")
    seat_w = (x_right - x_left).named("Seat Width")
    seat_x = ((x_left + x_right) / 2).named("Seat Centre X")

    base = p.box(seat_w, depth, base_h, name="Base").translate(x=seat_x, z=bottom + base_h / 2)

    back_frame_h = back_h + cushion_t
    back = p.box(width, back_t, back_frame_h, name="Back Frame") \
        .translate(y=depth / -2 + back_t / 2, z=base_top + back_frame_h / 2)
    cushion_w = (seat_w / count).named("Cushion Width")
    bc_h = back_h - 0.03
    back_cushions = p.copies(
        p.line(count, start=p.vec(x_left + cushion_w / 2, depth / -2 + back_t + bc_t / 2, seat_h + bc_h / 2),
               end=p.vec(x_right - cushion_w / 2, depth / -2 + back_t + bc_t / 2, seat_h + bc_h / 2)),
        p.box(cushion_w - CUSHION_GAP, bc_t, bc_h, name="Back Cushion"), name="Back Cushions")
    back = p.join(back, p.switch(has_bc, back_cushions, name="Back Cushions Switch"), name="Back")

    back_depth = p.switch(has_back, back_t + p.switch(has_bc, bc_t, 0.0), 0.0, name="Back Depth")
    cushion_d = depth - back_depth
    cushion_z = seat_h - cushion_t / 2
    seat_cushions = p.copies(
        p.line(count, start=p.vec(x_left + cushion_w / 2, back_depth / 2, cushion_z),
               end=p.vec(x_right - cushion_w / 2, back_depth / 2, cushion_z)),
        p.box(cushion_w - CUSHION_GAP, cushion_d, cushion_t, name="Seat Cushion"), name="Seat Cushions")

    arm_total_h = seat_h + arm_h - bottom
    arm_z = bottom + arm_total_h / 2
    left_arm = p.box(arm_w, depth, arm_total_h, name="Left Arm").translate(x=(width - arm_w) / -2, z=arm_z)
    right_arm = p.box(arm_w, depth, arm_total_h, name="Right Arm").translate(x=(width - arm_w) / 2, z=arm_z)

    chaise_w_fit = p.min(chaise_w, seat_w).named("Chaise Width Fit")
    chaise_x = p.switch(on_left, x_left + chaise_w_fit / 2, x_right - chaise_w_fit / 2, name="Chaise X")
    chaise_y = depth / 2 + chaise_len / 2
    chaise = p.join(
        p.box(chaise_w_fit, chaise_len, base_h, name="Chaise Base").translate(p.vec(chaise_x, chaise_y,
                                                                                    bottom + base_h / 2)),
        p.box(chaise_w_fit - CUSHION_GAP, chaise_len, cushion_t, name="Chaise Cushion")
        .translate(p.vec(chaise_x, chaise_y, cushion_z)),
        name="Chaise")

    leg = p.box(leg_s, leg_s, leg_h, name="Leg").translate(z=leg_h / 2)
    main_legs = p.copies(p.grid(width - leg_s, depth - leg_s, name="Leg Corners"), leg, name="Main Legs")
    front_y = depth / 2 + chaise_len - leg_s / 2
    chaise_legs = p.copies(p.line(2, start=p.vec(chaise_x - chaise_w_fit / 2 + leg_s / 2, front_y, 0),
                                  end=p.vec(chaise_x + chaise_w_fit / 2 - leg_s / 2, front_y, 0)),
                           leg, name="Chaise Legs")
    legs = p.join(main_legs, p.switch(is_l, chaise_legs, name="Chaise Legs Switch"), name="Legs")

    sofa = p.join(base, seat_cushions, p.switch(has_back, back, name="Back Switch"),
                  p.switch(has_left, left_arm, name="Left Arm Switch"),
                  p.switch(has_right, right_arm, name="Right Arm Switch"),
                  p.switch(is_l, chaise, name="Chaise Switch"), p.switch(has_legs, legs, name="Legs Switch"),
                  name="Sofa")
    p.output(p.on_floor_centred(sofa))
    return p.build()
