"""Bookshelf: side boards, top, bottom, evenly spaced shelves, vertical dividers, back panel,
and legs or a plinth.

Parameters (metres; origin at floor level, centred under the bookshelf's bounds; y+ is the front):

Body
- Width, Depth, Height: overall size (legs included in the height).
- Board Thickness: thickness of sides, top, bottom, shelves and dividers.
Shelves
- Shelf Count: inner shelves, evenly spaced between bottom and top.
- Divider Count: vertical dividers, evenly spaced across the width (0: none).
Back
- Has Back Panel: a thin panel closing the back.
- Back Thickness: its thickness (with back panel).
Base
- Has Legs: legs under the carcass.
- Leg Height, Leg Size: height and cross-section of the legs (with legs).
- Has Plinth: a recessed kick board under the bottom shelf (without legs).
- Plinth Height: its height (without legs, with plinth).
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

PLINTH_RECESS = 0.02  # the kick board sits this far behind the front edge


def build() -> dict:
    p = ProgramBuilder("bookshelf")
    with p.category("Body"):
        width = p.float("Width", 0.8, 0.4, 1.8)
        depth = p.float("Depth", 0.3, 0.2, 0.45)
        height = p.float("Height", 1.8, 0.6, 2.4)
        t = p.float("Board Thickness", 0.02, 0.015, 0.04)
    with p.category("Shelves"):
        shelf_count = p.int("Shelf Count", 4, 1, 8)
        divider_count = p.int("Divider Count", 0, 0, 3)
    with p.category("Back"):
        has_back = p.bool("Has Back Panel", True)
        back_t = p.float("Back Thickness", 0.006, 0.003, 0.02, active_if=has_back)
    with p.category("Base"):
        has_legs = p.bool("Has Legs", False)
        leg_h = p.float("Leg Height", 0.08, 0.03, 0.15, active_if=has_legs)
        leg_s = p.float("Leg Size", 0.03, 0.02, 0.05, active_if=has_legs)
        has_plinth = p.bool("Has Plinth", True, active_if=~has_legs)
        plinth_h = p.float("Plinth Height", 0.06, 0.04, 0.1, active_if=~has_legs & has_plinth)

    with_plinth = ~has_legs & has_plinth
    carcass_bottom = p.switch(has_legs, leg_h, 0.0, name="Carcass Bottom")
    body_h = (height - carcass_bottom).named("Body Height")
    bottom_board = p.switch(with_plinth, plinth_h, carcass_bottom, name="Bottom Board Z")
    inner_w = (width - t * 2).named("Inner Width")
    inner_bottom = (bottom_board + t).named("Inner Bottom")
    inner_h = (height - t - inner_bottom).named("Inner Height")
    back_depth = p.switch(has_back, back_t, 0.0, name="Back Depth")
    board_d = (depth - back_depth).named("Board Depth")
    board_y = back_depth / 2

    side_x = (width - t) / 2
    carcass = p.join(
        p.box(t, depth, body_h, name="Left Side").translate(x=-side_x, z=carcass_bottom + body_h / 2),
        p.box(t, depth, body_h, name="Right Side").translate(x=side_x, z=carcass_bottom + body_h / 2),
        p.box(inner_w, board_d, t, name="Top Board").translate(y=board_y, z=height - t / 2),
        p.box(inner_w, board_d, t, name="Bottom Board").translate(y=board_y, z=bottom_board + t / 2),
        name="Carcass")

    shelf_step = (inner_h / (shelf_count + 1)).named("Shelf Step")
    shelves = p.copies(p.line(shelf_count, start=p.vec(0, board_y, inner_bottom + shelf_step),
                              end=p.vec(0, board_y, height - t - shelf_step)),
                       p.box(inner_w, board_d, t, name="Shelf"), name="Shelves")
    divider_step = (inner_w / (divider_count + 1)).named("Divider Step")
    divider_z = inner_bottom + inner_h / 2
    dividers = p.copies(p.line(divider_count, start=p.vec(inner_w / -2 + divider_step, board_y, divider_z),
                               end=p.vec(inner_w / 2 - divider_step, board_y, divider_z)),
                        p.box(t, board_d, inner_h, name="Divider"), name="Dividers")

    back_h = height - t - bottom_board
    back = p.box(inner_w, back_t, back_h, name="Back Panel") \
        .translate(y=(depth - back_t) / -2, z=bottom_board + back_h / 2)
    plinth = p.box(inner_w, t, plinth_h, name="Plinth").translate(y=depth / 2 - PLINTH_RECESS - t / 2,
                                                                   z=plinth_h / 2)
    legs = p.copies(p.grid(width - leg_s, depth - leg_s, name="Leg Corners"),
                    p.box(leg_s, leg_s, leg_h, name="Leg").translate(z=leg_h / 2), name="Legs")

    shelf = p.join(carcass, shelves, dividers, p.switch(has_back, back, name="Back Switch"),
                   p.switch(with_plinth, plinth, name="Plinth Switch"), p.switch(has_legs, legs, name="Legs Switch"),
                   name="Bookshelf")
    p.output(p.on_floor_centred(shelf))
    return p.build()
