"""Bed: a frame with a mattress, optional headboard, footboard, legs, pillows, and bunk deck.

Parameters (metres; origin at floor level, centred under the bed's bounds; the head is at y-):

Size
- Width, Length: mattress size.
- Frame Height: floor to the top of the frame (the mattress rests on it).
- Frame Margin: how far the frame sticks out around the mattress.
- Mattress Thickness: thickness of the mattress.
Boards
- Has Headboard: a board at the head end.
- Headboard Height: its height above the frame top (with headboard).
- Has Footboard: a board at the foot end.
- Footboard Height: its height above the frame top (with footboard).
- Board Thickness: thickness of head- and footboard (with either).
Legs
- Has Legs: legs under the frame; without, the frame stands on the floor.
- Leg Height, Leg Size: height and cross-section of the legs.
Pillows
- Has Pillows: pillows at the head end.
- Pillow Count: 1 or 2 pillows side by side (with pillows).
Bunk
- Is Bunk Bed: a second sleeping deck above, carried by four corner posts.
- Bunk Height: floor to the bottom of the upper deck (bunk only).
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

DECK_FRAME = 0.12  # frame thickness of the upper bunk deck
POST = 0.06  # bunk corner post section
GUARD = 0.3  # bunk posts rise this far above the upper frame


def build() -> dict:
    p = ProgramBuilder("bed")
    with p.category("Size"):
        width = p.float("Width", 1.6, 0.9, 2.0)
        length = p.float("Length", 2.05, 1.9, 2.2)
        frame_h = p.float("Frame Height", 0.35, 0.2, 0.5)
        margin = p.float("Frame Margin", 0.03, 0.0, 0.08)
        mattress_t = p.float("Mattress Thickness", 0.2, 0.12, 0.3)
    with p.category("Boards"):
        has_head = p.bool("Has Headboard", True)
        head_h = p.float("Headboard Height", 0.6, 0.3, 0.9, active_if=has_head)
        has_foot = p.bool("Has Footboard", False)
        foot_h = p.float("Footboard Height", 0.2, 0.05, 0.4, active_if=has_foot)
        board_t = p.float("Board Thickness", 0.05, 0.03, 0.1, active_if=has_head | has_foot)
    with p.category("Legs"):
        has_legs = p.bool("Has Legs", True)
        leg_h = p.float("Leg Height", 0.1, 0.05, 0.15, active_if=has_legs)
        leg_s = p.float("Leg Size", 0.06, 0.04, 0.1, active_if=has_legs)
    with p.category("Pillows"):
        has_pillows = p.bool("Has Pillows", True)
        pillow_count = p.int("Pillow Count", 2, 1, 2, active_if=has_pillows)
    with p.category("Bunk"):
        is_bunk = p.bool("Is Bunk Bed", False)
        bunk_h = p.float("Bunk Height", 1.0, 0.8, 1.2, active_if=is_bunk)

    @p.group("Sleeping Deck")
    def deck(g, width=1.6, length=2.0, bottom=0.1, frame_top=0.35, margin=0.03, mattress=0.2, pillows=True,
             pillow_count=2):
        frame_t = frame_top - bottom
        frame = g.box(width + margin * 2, length + margin * 2, frame_t, name="Frame") \
            .translate(z=bottom + frame_t / 2)
        mattress_box = g.box(width, length, mattress, name="Mattress").translate(z=frame_top + mattress / 2)
        pillow_w = width / pillow_count
        pillow_y = length / -2 + 0.25
        pillow_z = frame_top + mattress + 0.06
        pillow_row = g.copies(g.line(pillow_count, start=g.vec(width / -2 + pillow_w / 2, pillow_y, pillow_z),
                                     end=g.vec(width / 2 - pillow_w / 2, pillow_y, pillow_z)),
                              g.box(pillow_w - 0.05, 0.35, 0.12, name="Pillow"), name="Pillows")
        return g.join(frame, mattress_box, g.switch(pillows, pillow_row, name="Pillows Switch"))

    bottom = p.switch(has_legs, leg_h, 0.0, name="Frame Bottom")
    lower = deck(width, length, bottom, frame_h, margin, mattress_t, has_pillows, pillow_count, name="Lower Deck")
    upper = deck(width, length, bunk_h, bunk_h + DECK_FRAME, margin, mattress_t, has_pillows, pillow_count,
                 name="Upper Deck")

    outer_w = (width + margin * 2).named("Outer Width")
    outer_l = (length + margin * 2).named("Outer Length")
    head_total = frame_h + head_h
    headboard = p.box(outer_w, board_t, head_total, name="Headboard") \
        .translate(y=outer_l / -2 - board_t / 2, z=head_total / 2)
    foot_total = frame_h + foot_h
    footboard = p.box(outer_w, board_t, foot_total, name="Footboard") \
        .translate(y=outer_l / 2 + board_t / 2, z=foot_total / 2)

    legs = p.copies(p.grid(outer_w - leg_s, outer_l - leg_s, name="Leg Corners"),
                    p.box(leg_s, leg_s, leg_h, name="Leg").translate(z=leg_h / 2), name="Legs")
    post_h = bunk_h + DECK_FRAME + GUARD
    posts = p.copies(p.grid(outer_w + POST, outer_l + POST, name="Post Corners"),
                     p.box(POST, POST, post_h, name="Bunk Post").translate(z=post_h / 2), name="Bunk Posts")
    bunk = p.join(upper, posts, name="Bunk")

    bed = p.join(lower, p.switch(has_head, headboard, name="Headboard Switch"),
                 p.switch(has_foot, footboard, name="Footboard Switch"),
                 p.switch(has_legs, legs, name="Legs Switch"), p.switch(is_bunk, bunk, name="Bunk Switch"),
                 name="Bed")
    p.output(p.on_floor_centred(bed))
    return p.build()
