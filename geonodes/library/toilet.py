"""Toilet: an elliptic bowl on a narrower foot, a seat, an optional lid (closed or raised), and a
cistern tank at the back or, without one, a flush pipe up the wall.

Parameters (metres; origin at floor level, centred under the toilet's bounds; y+ is the front,
the tank or pipe at the back):

Bowl
- Rim Height: floor to the bowl's rim (the seat sits on it).
- Bowl Width: width of the rim ellipse (x).
- Bowl Length: length of the rim ellipse, front to back (y).
Seat
- Seat Thickness: thickness of the seat on the rim.
- Lid Type: 0 no lid, 1 lid closed on the seat, 2 lid raised upright at the back of the seat.
Tank
- Has Tank: a cistern tank behind the bowl; without, a flush pipe with a valve up the wall.
- Tank Width, Tank Depth: tank size along x and y (with tank).
- Tank Height: height of the tank above the rim, its lid included (with tank).
"""
from __future__ import annotations

import math

from geonodes.authoring import ProgramBuilder

BOWL_DEPTH = 0.45  # the bowl's basin takes this fraction of the rim height; the foot the rest
BOWL_TAPER = 0.75  # bottom of the basin / the rim ellipse
FOOT_W, FOOT_L = 0.55, 0.6  # the foot's ellipse / the rim ellipse
NECK_W = 0.55  # the block behind the bowl (under the tank) / the bowl width
NECK = 0.12  # without a tank, the bowl's rear stands this far from the wall
LID_T = 0.02  # lid thickness
TANK_LID_T, TANK_LID_OUT = 0.025, 0.01  # tank lid thickness and overhang
PIPE_R, PIPE_H, PIPE_Y = 0.016, 0.35, 0.04  # flush pipe: radius, height above the rim, distance from the wall
VALVE_R, VALVE_L = 0.03, 0.14  # flush valve at the top of the pipe


def build() -> dict:
    p = ProgramBuilder("toilet")
    with p.category("Bowl"):
        rim_h = p.float("Rim Height", 0.4, 0.36, 0.48)
        bowl_w = p.float("Bowl Width", 0.37, 0.34, 0.42)
        bowl_l = p.float("Bowl Length", 0.48, 0.42, 0.56)
    with p.category("Seat"):
        seat_t = p.float("Seat Thickness", 0.025, 0.015, 0.04)
        lid_type = p.int("Lid Type", 1, 0, 2)
    with p.category("Tank"):
        has_tank = p.bool("Has Tank", True)
        tank_w = p.float("Tank Width", 0.42, 0.35, 0.52, active_if=has_tank)
        tank_d = p.float("Tank Depth", 0.18, 0.14, 0.24, active_if=has_tank)
        tank_h = p.float("Tank Height", 0.36, 0.28, 0.45, active_if=has_tank)

    rear = p.switch(has_tank, tank_d, NECK, name="Bowl Rear")  # the rim ellipse starts here (y)
    centre_y = (rear + bowl_l / 2).named("Bowl Centre Y")
    basin_h = (rim_h * BOWL_DEPTH).named("Basin Height")
    foot_h = rim_h - basin_h

    def ellipse(name, vertices=32):
        return p.cylinder(0.5, 1.0, vertices=vertices, name=name)

    basin = p.cone(BOWL_TAPER / 2, 0.5, 1.0, vertices=32, name="Basin").transform(  # a Cone's base is at z = 0
        translation=p.vec(0, centre_y, foot_h), scale=p.vec(bowl_w, bowl_l, basin_h))
    foot = ellipse("Foot").transform(translation=p.vec(0, centre_y - bowl_l * 0.1, foot_h / 2),
                                     scale=p.vec(bowl_w * FOOT_W, bowl_l * FOOT_L, foot_h))
    neck_l = rear + bowl_l * 0.3
    neck = p.box(bowl_w * NECK_W, neck_l, rim_h, name="Bowl Back").translate(y=neck_l / 2, z=rim_h / 2)
    seat = ellipse("Seat").transform(translation=p.vec(0, centre_y, rim_h + seat_t / 2),
                                     scale=p.vec(bowl_w, bowl_l, seat_t))

    seat_top = rim_h + seat_t
    closed = ellipse("Closed Lid").transform(translation=p.vec(0, centre_y, seat_top + LID_T / 2),
                                             scale=p.vec(bowl_w, bowl_l * 0.95, LID_T))
    raised = ellipse("Raised Lid").transform(translation=p.vec(0, rear + LID_T / 2, seat_top + bowl_l * 0.95 / 2),
                                             rotation=(math.pi / 2, 0.0, 0.0),
                                             scale=p.vec(bowl_w, bowl_l * 0.95, LID_T))
    lid = p.switch(lid_type == 1, closed, p.switch(lid_type == 2, raised, name="Raised Switch"), name="Lid")

    body_h = tank_h - TANK_LID_T
    tank = p.join(
        p.box(tank_w, tank_d, body_h, name="Tank").translate(y=tank_d / 2, z=rim_h + body_h / 2),
        p.box(tank_w + TANK_LID_OUT * 2, tank_d + TANK_LID_OUT, TANK_LID_T, name="Tank Lid")
        .translate(y=(tank_d + TANK_LID_OUT) / 2, z=rim_h + body_h + TANK_LID_T / 2),
        name="Cistern")
    pipe_z = rim_h * 0.8
    pipe_len = rim_h + PIPE_H - pipe_z
    flush = p.join(
        p.cylinder(PIPE_R, pipe_len, vertices=12, name="Flush Pipe").translate(y=PIPE_Y, z=pipe_z + pipe_len / 2),
        p.cylinder(VALVE_R, VALVE_L, vertices=16, name="Flush Valve").rotate(y=math.pi / 2)
        .translate(y=PIPE_Y, z=rim_h + PIPE_H),
        name="Flush Pipe Set")
    back = p.switch(has_tank, tank, flush, name="Tank Or Pipe")

    toilet = p.join(basin, foot, neck, seat, lid, back, name="Toilet")
    p.output(p.on_floor_centred(toilet))
    return p.build()
