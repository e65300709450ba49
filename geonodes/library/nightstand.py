"""Nightstand (and dresser, chest of drawers): a box of stacked drawers in one or two columns
under a top board, with an optional open shelf at the top, handles, and legs or a plinth.

Parameters (metres; origin at floor level, centred under the bounds; y+ is the front):

Body
- Width, Depth: carcass size (a bedside table ~0.4-0.6 m wide, a dresser up to 1.6 m).
- Height: floor to the top surface (base included).
- Top Overhang: how far the top board sticks out at the sides and the front.
Drawers
- Drawer Count: drawers stacked in a column.
- Drawer Columns: 1 or 2 columns of drawers side by side.
- Handle Type: 0 none (push to open), 1 a bar on every drawer, 2 a round knob on every drawer.
- Has Open Shelf: an open niche (sides and back, no front) between the drawers and the top.
- Shelf Fraction: the niche's share of the carcass height (with the open shelf).
Base
- Base Type: 0 the carcass stands on the floor, 1 four legs, 2 a recessed plinth.
- Base Height: height of the legs or plinth (legs or plinth).
- Leg Size: leg cross-section (legs only).
"""
from __future__ import annotations

import math

from geonodes.authoring import ProgramBuilder

TOP_T = 0.02  # top board
FRONT_T = 0.018  # drawer fronts
SIDE_T = 0.018  # side and back boards of the open shelf
GAP = 0.004  # seam between drawer fronts
HANDLE = 0.015  # bar handle section
KNOB_R, KNOB_L = 0.014, 0.025  # round knob radius and length
PLINTH_INSET = 0.025  # the plinth stands this far inside the carcass


def build() -> dict:
    p = ProgramBuilder("nightstand")
    with p.category("Body"):
        width = p.float("Width", 0.5, 0.35, 1.6)
        depth = p.float("Depth", 0.4, 0.3, 0.6)
        height = p.float("Height", 0.6, 0.4, 1.3)
        overhang = p.float("Top Overhang", 0.01, 0.0, 0.03)
    with p.category("Drawers"):
        rows = p.int("Drawer Count", 2, 1, 6)
        cols = p.int("Drawer Columns", 1, 1, 2)
        handle_type = p.int("Handle Type", 1, 0, 2)
        has_shelf = p.bool("Has Open Shelf", False)
        shelf_frac = p.float("Shelf Fraction", 0.3, 0.2, 0.45, active_if=has_shelf)
    with p.category("Base"):
        base_type = p.int("Base Type", 0, 0, 2)
        base_h = p.float("Base Height", 0.08, 0.03, 0.15, active_if=base_type >= 1)
        leg_s = p.float("Leg Size", 0.035, 0.025, 0.05, active_if=base_type == 1)

    bottom = p.switch(base_type == 0, 0.0, base_h, name="Carcass Bottom")
    body_h = (height - TOP_T - bottom).named("Body Height")
    shelf_h = p.switch(has_shelf, body_h * shelf_frac, 0.0, name="Shelf Height")
    drawer_zone = (body_h - shelf_h).named("Drawer Zone")
    body_d = depth - FRONT_T

    carcass = p.box(width, body_d, drawer_zone, name="Carcass").translate(y=FRONT_T / -2, z=bottom + drawer_zone / 2)
    shelf_z = bottom + drawer_zone + shelf_h / 2
    side_x = (width - SIDE_T) / 2
    shelf = p.join(
        p.box(SIDE_T, body_d, shelf_h, name="Left Shelf Side").translate(x=-side_x, y=FRONT_T / -2, z=shelf_z),
        p.box(SIDE_T, body_d, shelf_h, name="Right Shelf Side").translate(x=side_x, y=FRONT_T / -2, z=shelf_z),
        p.box(width - SIDE_T * 2, SIDE_T, shelf_h, name="Shelf Back").translate(y=(depth - SIDE_T) / -2, z=shelf_z),
        name="Open Shelf")
    top = p.box(width + overhang * 2, depth + overhang, TOP_T, name="Top Board").translate(
        y=overhang / 2, z=height - TOP_T / 2)

    col_w = (width / cols).named("Column Width")
    drawer_h = (drawer_zone / rows).named("Drawer Height")
    handle_y = (FRONT_T + HANDLE) / 2
    bar = p.box(col_w * 0.35, HANDLE, HANDLE, name="Bar Handle").translate(y=handle_y, z=drawer_h * 0.2)
    knob = p.cylinder(KNOB_R, KNOB_L, vertices=12, name="Knob").rotate(x=math.pi / 2) \
        .translate(y=(FRONT_T + KNOB_L) / 2, z=drawer_h * 0.2)
    handle = p.switch(handle_type == 1, bar, p.switch(handle_type == 2, knob, name="Knob Switch"), name="Handle")
    drawer = p.join(p.box(col_w - GAP, FRONT_T, drawer_h - GAP, name="Drawer Front"), handle, name="Drawer")
    front_y = (depth - FRONT_T) / 2
    column = p.copies(p.line(rows, start=p.vec(0, front_y, bottom + drawer_h / 2),
                             end=p.vec(0, front_y, bottom + drawer_zone - drawer_h / 2)), drawer, name="Drawer Column")
    col_x = (width - col_w) / 2
    drawers = p.copies(p.line(cols, start=p.vec(-col_x, 0, 0), end=p.vec(col_x, 0, 0)), column, name="Drawers")

    legs = p.copies(p.grid(width - leg_s, depth - leg_s, name="Leg Corners"),
                    p.box(leg_s, leg_s, base_h, name="Leg").translate(z=base_h / 2), name="Legs")
    plinth = p.box(width - PLINTH_INSET * 2, depth - PLINTH_INSET * 2, base_h, name="Plinth").translate(z=base_h / 2)
    base = p.switch(base_type == 1, legs, p.switch(base_type == 2, plinth, name="Plinth Switch"), name="Base")

    nightstand = p.join(carcass, p.switch(has_shelf, shelf, name="Shelf Switch"), top, drawers, base,
                        name="Nightstand")
    p.output(p.on_floor_centred(nightstand))
    return p.build()
