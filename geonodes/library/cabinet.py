"""Cabinet: a board carcass with open shelves, doors or drawers, optional back, handles and legs.

Parameters (metres; origin at floor level, centred under the cabinet's bounds; y+ is the front):

Body
- Width, Depth, Height: overall size (legs included in the height, the top's overhang not in
  width/depth).
- Board Thickness: thickness of the side, bottom, top, back and front boards.
- Top Overhang: how far the top board sticks out at the sides and the front.
- Has Back: a back board.
Front
- Front Type: 0 open shelves, 1 doors, 2 drawers.
- Shelf Count: inner shelves, evenly spaced (open only).
- Door Count: 1 or 2 doors side by side (doors only).
- Drawer Count: drawers stacked over the height (drawers only).
- Has Handles: a bar handle on every door or drawer (doors or drawers).
Legs
- Has Legs: legs under the carcass; without, it stands on the floor.
- Leg Height, Leg Size: height and cross-section of the legs.
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

GAP = 0.004  # seam between neighbouring doors/drawer fronts
HANDLE = 0.02  # handle bar section


def build() -> dict:
    p = ProgramBuilder("cabinet")
    with p.category("Body"):
        width = p.float("Width", 0.9, 0.4, 2.0)
        depth = p.float("Depth", 0.45, 0.3, 0.65)
        height = p.float("Height", 0.9, 0.5, 2.2)
        t = p.float("Board Thickness", 0.018, 0.012, 0.04)
        overhang = p.float("Top Overhang", 0.02, 0.0, 0.04)
        has_back = p.bool("Has Back", True)
    with p.category("Front"):
        front = p.int("Front Type", 1, 0, 2)
        open_front, doors_front, drawers_front = front == 0, front == 1, front == 2
        shelf_count = p.int("Shelf Count", 2, 1, 6, active_if=open_front)
        door_count = p.int("Door Count", 2, 1, 2, active_if=doors_front)
        drawer_count = p.int("Drawer Count", 3, 2, 6, active_if=drawers_front)
        has_handles = p.bool("Has Handles", True, active_if=doors_front | drawers_front)
    with p.category("Legs"):
        has_legs = p.bool("Has Legs", False)
        leg_h = p.float("Leg Height", 0.1, 0.05, 0.2, active_if=has_legs)
        leg_s = p.float("Leg Size", 0.04, 0.03, 0.06, active_if=has_legs)

    bottom = p.switch(has_legs, leg_h, 0.0, name="Carcass Bottom")
    body_h = (height - bottom - t).named("Body Height")
    inner_w = (width - t * 2).named("Inner Width")
    inner_h = (body_h - t).named("Inner Height")
    inner_bottom = (bottom + t).named("Inner Bottom")

    side_x = (width - t) / 2
    carcass = p.join(
        p.box(t, depth, body_h, name="Left Side").translate(x=-side_x, z=bottom + body_h / 2),
        p.box(t, depth, body_h, name="Right Side").translate(x=side_x, z=bottom + body_h / 2),
        p.box(inner_w, depth, t, name="Bottom Board").translate(z=bottom + t / 2),
        p.box(width + overhang * 2, depth + overhang, t, name="Top Board")
        .translate(y=overhang / 2, z=height - t / 2),
        name="Carcass")
    back = p.box(inner_w, t, inner_h, name="Back Board").translate(y=(depth - t) / -2,
                                                                   z=inner_bottom + inner_h / 2)

    shelf_step = (inner_h / (shelf_count + 1)).named("Shelf Step")
    shelves = p.copies(p.line(shelf_count, start=p.vec(0, t / 2, inner_bottom + shelf_step),
                              end=p.vec(0, t / 2, height - t - shelf_step)),
                       p.box(inner_w, depth - t, t, name="Shelf"), name="Shelves")

    front_y = (depth + t) / 2
    door_w = (width / door_count).named("Door Width")
    door = p.join(p.box(door_w - GAP, t, body_h - GAP, name="Door Panel"),
                  p.switch(has_handles, p.box(door_w * 0.25, HANDLE, HANDLE, name="Door Handle")
                           .translate(y=(t + HANDLE) / 2, z=body_h / 2 - 0.08), name="Door Handle Switch"),
                  name="Door")
    doors = p.copies(p.line(door_count, start=p.vec(width / -2 + door_w / 2, front_y, bottom + body_h / 2),
                            end=p.vec(width / 2 - door_w / 2, front_y, bottom + body_h / 2)), door, name="Doors")

    drawer_h = (body_h / drawer_count).named("Drawer Height")
    drawer = p.join(p.box(width - GAP, t, drawer_h - GAP, name="Drawer Front"),
                    p.switch(has_handles, p.box(width * 0.25, HANDLE, HANDLE, name="Drawer Handle")
                             .translate(y=(t + HANDLE) / 2), name="Drawer Handle Switch"),
                    name="Drawer")
    drawers = p.copies(p.line(drawer_count, start=p.vec(0, front_y, bottom + drawer_h / 2),
                              end=p.vec(0, front_y, bottom + body_h - drawer_h / 2)), drawer, name="Drawers")

    fronts = p.switch(open_front, shelves, p.switch(doors_front, doors, drawers, name="Doors Or Drawers"),
                      name="Front")
    legs = p.copies(p.grid(width - leg_s, depth - leg_s, name="Leg Corners"),
                    p.box(leg_s, leg_s, leg_h, name="Leg").translate(z=leg_h / 2), name="Legs")
    cabinet = p.join(carcass, p.switch(has_back, back, name="Back"), fronts,
                     p.switch(has_legs, legs, name="Legs Switch"), name="Cabinet")
    p.output(p.on_floor_centred(cabinet))
    return p.build()
