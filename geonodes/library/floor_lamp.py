"""Floor lamp: a base, a pole swept from a curve (straight, or arched over to a hanging shade)
and an open shade swept from a profile line around a circle.

Parameters (metres; origin at floor level, centred under the lamp's bounds):

Base
- Base Type: 0 round (an extruded disc), 1 square plate.
- Base Radius: the disc's radius, or half the square plate's side.
- Base Thickness: height of the base.
Pole
- Height: floor to the top of the pole (straight: the shade's top rim; arched: the arch's control
  point, the pole bends over below it).
- Pole Radius: radius of the pole's round section.
- Arched: the pole rises and bends over (a quadratic Bezier curve) to hang the shade at its end.
- Arch Reach: horizontal distance from the pole's foot to the hanging shade's centre (arched).
Shade
- Shade Height: height of the shade.
- Shade Bottom Radius, Shade Top Radius: radii of its lower and upper rims (a truncated cone).
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

POLE_SIDES = 12  # the pole's round section
SHADE_SIDES = 32
BASE_SIDES = 32
ARCH_DROP = 0.25  # the arched pole's end is this fraction of Arch Reach below Height
ARCH_RESOLUTION = 16


def build() -> dict:
    p = ProgramBuilder("floor_lamp")
    with p.category("Base"):
        base_type = p.int("Base Type", 0, 0, 1)
        base_r = p.float("Base Radius", 0.16, 0.1, 0.25)
        base_t = p.float("Base Thickness", 0.025, 0.01, 0.05)
    with p.category("Pole"):
        height = p.float("Height", 1.6, 1.2, 1.9)
        pole_r = p.float("Pole Radius", 0.012, 0.008, 0.025)
        arched = p.bool("Arched", False)
        reach = p.float("Arch Reach", 0.5, 0.3, 0.8, active_if=arched)
    with p.category("Shade"):
        shade_h = p.float("Shade Height", 0.28, 0.15, 0.4)
        shade_bottom = p.float("Shade Bottom Radius", 0.2, 0.12, 0.28)
        shade_top = p.float("Shade Top Radius", 0.13, 0.06, 0.25)

    # Base: a disc (Mesh Circle filled, extruded up) or a square plate.
    disc, _, _ = p.extrude(p.mesh_circle(base_r, BASE_SIDES, fill="NGON", name="Base Disc"), offset_scale=base_t,
                           name="Base Extrude")
    plate = p.box(base_r * 2.0, base_r * 2.0, base_t, name="Square Base").translate(z=base_t / 2)
    base = p.switch(base_type == 0, disc, plate, name="Base")

    # The shade's top rim centre: on the pole's axis, or hanging at the arch's end.
    shade_x = p.switch(arched, reach, 0.0, name="Shade X")
    shade_z = p.switch(arched, height - reach * ARCH_DROP, height, name="Shade Top Z")

    # Pole: a line up into the shade, or an arch; swept with a circle of Pole Radius.
    straight = p.curve_line(p.vec(0.0, 0.0, base_t), p.vec(0.0, 0.0, height - shade_h / 2), name="Straight Pole")
    arch = p.quadratic_bezier(p.vec(0.0, 0.0, base_t), p.vec(0.0, 0.0, height), p.vec(reach, 0.0, shade_z),
                              resolution=ARCH_RESOLUTION, name="Arched Pole")
    path = p.switch(arched, arch, straight, name="Pole Path")
    pole = p.curve_to_mesh(path, p.curve_circle(pole_r, POLE_SIDES, name="Pole Section"), fill_caps=True,
                           name="Pole")

    # Shade: a profile line from the bottom rim to the top rim swept around a circle of the
    # bottom radius (the circle's normals point outwards, its binormals down: profile x widens
    # the rim, profile y lowers it).
    rim = p.curve_circle(shade_bottom, SHADE_SIDES, name="Shade Rim")
    side = p.curve_line((0.0, 0.0, 0.0), p.vec(shade_top - shade_bottom, -1.0 * shade_h, 0.0), name="Shade Profile")
    shade = p.curve_to_mesh(rim, side, name="Shade").translate(p.vec(shade_x, 0.0, shade_z - shade_h))

    p.output(p.on_floor_centred(p.join(base, pole, shade, name="Floor Lamp")))
    return p.build()
