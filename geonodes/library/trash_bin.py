"""Trash bin: an open, round or square (rectangular) tapered shell on a bottom plate, with an
optional rim band around the mouth or a lid.

Parameters (metres; origin at floor level, centred under the bin's bounds):

Body
- Shape: 0 round, 1 square (rectangular in plan).
- Height: floor to the mouth (a lid sits on top of it).
- Width: diameter (round) or side along x (square) at the mouth.
- Depth: side along y at the mouth (square only).
- Taper: bottom size / mouth size (1: straight sides).
Top
- Top Type: 0 open, 1 a rim band around the mouth, 2 a lid.
- Rim Height: height of the rim band (rim only).
- Lid Height: height of the lid, flat (small) to a swing top (large) (lid only).
"""
from __future__ import annotations

import math

from geonodes.authoring import ProgramBuilder

ROUND_VERTICES = 32
HALF_DIAGONAL = math.sqrt(0.5)  # a 4-vertex circle of this radius, turned 45 degrees, is the unit square
BOTTOM_T = 0.01  # bottom plate
RIM_OUT = 0.012  # how far the rim band stands out from the wall
LID_OUT = 0.01  # how far the lid overhangs the mouth
LID_TOP = 0.85  # the lid's top face is this fraction of its bottom face


def build() -> dict:
    p = ProgramBuilder("trash_bin")
    with p.category("Body"):
        shape = p.int("Shape", 0, 0, 1)
        is_round = shape == 0
        height = p.float("Height", 0.4, 0.25, 0.8)
        width = p.float("Width", 0.3, 0.2, 0.5)
        depth = p.float("Depth", 0.25, 0.2, 0.5, active_if=shape == 1)
        taper = p.float("Taper", 0.85, 0.6, 1.0)
    with p.category("Top"):
        top_type = p.int("Top Type", 0, 0, 2)
        rim_h = p.float("Rim Height", 0.03, 0.015, 0.06, active_if=top_type == 1)
        lid_h = p.float("Lid Height", 0.04, 0.02, 0.15, active_if=top_type == 2)

    size_y = p.switch(is_round, width, depth, name="Size Y")

    def frustum(bottom, top, sx, sy, h, z, fill, name):
        """A unit frustum (size `bottom` at its base, `top` at its top; a Cone's base is at z = 0)
        in round or square form, scaled to (sx, sy, h), its base at height z."""
        rnd = p.cone(bottom / 2, top / 2, 1.0, vertices=ROUND_VERTICES, fill=fill, name=f"Round {name}")
        sq = p.cone(bottom * HALF_DIAGONAL, top * HALF_DIAGONAL, 1.0, vertices=4, fill=fill,
                    name=f"Square {name}").rotate(z=math.pi / 4)
        return p.switch(is_round, rnd, sq, name=name).transform(translation=p.vec(0, 0, z), scale=p.vec(sx, sy, h))

    wall = frustum(taper, 1.0, width, size_y, height, 0.0, "NONE", "Wall")
    bottom = frustum(1.0, 1.0, width * taper, size_y * taper, BOTTOM_T, 0.0, "NGON", "Bottom")
    rim = frustum(1.0, 1.0, width + RIM_OUT * 2, size_y + RIM_OUT * 2, rim_h, height - rim_h, "NONE", "Rim")
    lid = frustum(1.0, LID_TOP, width + LID_OUT * 2, size_y + LID_OUT * 2, lid_h, height, "NGON", "Lid")
    top = p.switch(top_type == 1, rim, p.switch(top_type == 2, lid, name="Lid Switch"), name="Top")

    p.output(p.on_floor_centred(p.join(wall, bottom, top, name="Trash Bin")))
    return p.build()
