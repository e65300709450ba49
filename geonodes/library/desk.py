"""Desk: a top on legs or side panels and zero, one or two drawer pedestals, with an optional
modesty panel at the back and an optional keyboard tray.

Parameters (metres; origin at floor level, centred under the desk's bounds; y+ is the front, where
the user sits):

Top
- Width, Depth: top size along x and y.
- Height: floor to the top surface.
- Top Thickness: thickness of the top.
Supports
- Pedestal Count: 0 no pedestal (an end support at each end), 1 a drawer pedestal at the right
  (x+) end and an end support at the left, 2 drawer pedestals at both ends.
- Pedestal Width: width of a drawer pedestal (with pedestals).
- Drawer Count: drawers stacked in a pedestal (with pedestals).
- Has Handles: a bar handle on every drawer (with pedestals).
- End Type: 0 two legs, 1 a side panel: the support at an end without a pedestal (fewer than two
  pedestals).
- Leg Size: leg cross-section (leg ends).
- Panel Thickness: thickness of the side panel (panel ends).
Extras
- Has Modesty Panel: a board under the top's back edge between the supports.
- Modesty Height: its height (with the modesty panel).
- Has Keyboard Tray: a sliding board under the top's front edge between the supports.
- Tray Depth: its depth (with the tray).
"""
from __future__ import annotations

from geonodes.authoring import ProgramBuilder

INSET = 0.02  # supports stand this far inside the top's edges
FRONT_T = 0.018  # drawer fronts, modesty panel and keyboard tray boards
GAP = 0.004  # seam between drawer fronts
HANDLE = 0.02  # handle bar section
TRAY_DROP = 0.07  # keyboard tray: top surface this far under the desk top
TRAY_RAIL = 0.02  # keyboard tray: slide rail width
TRAY_MAX = 0.7  # keyboard tray: widest board


def build() -> dict:
    p = ProgramBuilder("desk")
    with p.category("Top"):
        width = p.float("Width", 1.4, 1.0, 1.8)
        depth = p.float("Depth", 0.7, 0.5, 0.8)
        height = p.float("Height", 0.75, 0.7, 0.8)
        top_t = p.float("Top Thickness", 0.025, 0.018, 0.04)
    with p.category("Supports"):
        count = p.int("Pedestal Count", 1, 0, 2)
        with_ped = count >= 1
        with_end = count <= 1
        ped_w = p.float("Pedestal Width", 0.4, 0.3, 0.42, active_if=with_ped)
        drawers = p.int("Drawer Count", 3, 1, 4, active_if=with_ped)
        has_handles = p.bool("Has Handles", True, active_if=with_ped)
        end_type = p.int("End Type", 0, 0, 1, active_if=with_end)
        leg_s = p.float("Leg Size", 0.05, 0.03, 0.07, active_if=with_end & (end_type == 0))
        panel_t = p.float("Panel Thickness", 0.025, 0.018, 0.05, active_if=with_end & (end_type == 1))
    with p.category("Extras"):
        has_modesty = p.bool("Has Modesty Panel", True)
        modesty_h = p.float("Modesty Height", 0.35, 0.2, 0.45, active_if=has_modesty)
        has_tray = p.bool("Has Keyboard Tray", False)
        tray_d = p.float("Tray Depth", 0.3, 0.25, 0.35, active_if=has_tray)

    under = (height - top_t).named("Under Top")
    top = p.box(width, depth, top_t, name="Top").translate(z=height - top_t / 2)

    @p.group("Drawer Pedestal")
    def pedestal(g, width=0.4, depth=0.7, height=0.7, drawers=3, handles=True):
        body_d = depth - FRONT_T
        carcass = g.box(width, body_d, height, name="Pedestal Carcass").translate(y=FRONT_T / -2, z=height / 2)
        drawer_h = height / drawers
        drawer = g.join(g.box(width - GAP, FRONT_T, drawer_h - GAP, name="Drawer Front"),
                        g.switch(handles, g.box(width * 0.4, HANDLE, HANDLE, name="Drawer Handle")
                                 .translate(y=(FRONT_T + HANDLE) / 2, z=drawer_h * 0.25), name="Handle Switch"),
                        name="Drawer")
        front_y = (depth - FRONT_T) / 2
        fronts = g.copies(g.line(drawers, start=g.vec(0, front_y, drawer_h / 2),
                                 end=g.vec(0, front_y, height - drawer_h / 2)), drawer, name="Drawers")
        return g.join(carcass, fronts)

    @p.group("End Support")
    def end_support(g, panel=False, leg=0.05, thickness=0.025, depth=0.7, height=0.7):
        leg_y = depth / 2 - INSET - leg / 2
        legs = g.copies(g.line(2, start=g.vec(0, -leg_y, height / 2), end=g.vec(0, leg_y, height / 2)),
                        g.box(leg, leg, height, name="Desk Leg"), name="End Legs")
        side = g.box(thickness, depth - INSET * 2, height, name="Side Panel").translate(z=height / 2)
        return g.switch(panel, side, legs, name="End Type Switch")

    is_panel = end_type == 1
    end_w = p.switch(is_panel, panel_t, leg_s, name="End Width")
    ped_d = depth - INSET
    left_w = p.switch(count == 2, ped_w, end_w, name="Left Support Width")
    right_w = p.switch(with_ped, ped_w, end_w, name="Right Support Width")
    left_x = (width / -2 + INSET + left_w / 2).named("Left Support X")
    right_x = (width / 2 - INSET - right_w / 2).named("Right Support X")

    def ped(name):
        return pedestal(ped_w, ped_d, under, drawers, has_handles, name=name).translate(y=INSET / -2)

    def end(name):
        return end_support(is_panel, leg_s, panel_t, depth, under, name=name)

    left = p.switch(count == 2, ped("Left Pedestal"), end("Left End"), name="Left Support").translate(x=left_x)
    right = p.switch(with_ped, ped("Right Pedestal"), end("Right End"), name="Right Support").translate(x=right_x)

    knee_l = (width / -2 + INSET + left_w).named("Knee Left")
    knee_r = (width / 2 - INSET - right_w).named("Knee Right")
    knee_w = (knee_r - knee_l).named("Knee Width")
    knee_x = ((knee_l + knee_r) / 2).named("Knee Centre")
    modesty = p.box(knee_w, FRONT_T, modesty_h, name="Modesty Panel").translate(
        x=knee_x, y=depth / -2 + INSET + FRONT_T / 2, z=under - modesty_h / 2)

    tray_w = p.min(knee_w - TRAY_RAIL * 2, TRAY_MAX).named("Tray Width")
    tray_y = depth / 2 - tray_d / 2
    rail_x = (tray_w + TRAY_RAIL) / 2
    tray = p.join(
        p.box(tray_w, tray_d, FRONT_T, name="Keyboard Tray").translate(x=knee_x, y=tray_y,
                                                                      z=under - TRAY_DROP + FRONT_T / 2),
        p.box(TRAY_RAIL, tray_d, TRAY_DROP, name="Left Tray Rail").translate(x=knee_x - rail_x, y=tray_y,
                                                                            z=under - TRAY_DROP / 2),
        p.box(TRAY_RAIL, tray_d, TRAY_DROP, name="Right Tray Rail").translate(x=knee_x + rail_x, y=tray_y,
                                                                             z=under - TRAY_DROP / 2),
        name="Tray")

    desk = p.join(top, left, right, p.switch(has_modesty, modesty, name="Modesty Switch"),
                  p.switch(has_tray, tray, name="Tray Switch"), name="Desk")
    p.output(p.on_floor_centred(desk))
    return p.build()
