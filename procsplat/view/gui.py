"""GUI panels: display toggles, one folder per object with a control per program parameter, edit buttons.

Every parameter is live. A continuous one (slider), the yaw and the position re-evaluate the program
and the anchored splats follow the surface. A discrete one (checkbox, list, number) changes the
topology: the worker re-anchors the object's Gaussians on the new mesh (`procsplat.splat.reanchor`:
unchanged parts keep theirs, new parts get Gaussians coloured from the same part of the old ones).
Controls of parameters that the current values make inactive (`active_if`) are greyed out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from procsplat.view.convert import object_label
from procsplat.view.worker import PARAM, TRANSLATION, YAW

DISCRETE_NOTE = ("Changes the topology: the object's Gaussians are re-anchored on the new mesh (parts that stay "
                 "keep theirs, new parts are coloured from the same part).")
SLIDER_STEPS = 200
MAX_DROPDOWN = 16


@dataclass
class ObjectControls:
    index: int
    label: str
    params: dict = field(default_factory=dict)  # parameter name -> GUI handle
    yaw: object = None  # slider, degrees
    position: object = None  # vector3, metres
    folder: object = None  # the object's GUI folder (removing it removes its controls)


def parameter_control(gui, p, value):
    """The control for one program parameter: a slider (float), a checkbox (bool), a list or a number (int)."""
    if p.kind == "float":
        step = (p.max - p.min) / SLIDER_STEPS if p.max > p.min else 0.001
        return gui.add_slider(p.name, min=float(p.min), max=float(p.max), step=step,
                              initial_value=min(max(float(value), p.min), p.max), hint=f"{p.min:g} .. {p.max:g}")
    if p.kind == "bool":
        return gui.add_checkbox(p.name, initial_value=bool(value), hint=DISCRETE_NOTE)
    lo, hi = int(p.min), int(p.max)
    if hi - lo < MAX_DROPDOWN:
        return gui.add_dropdown(p.name, options=[str(i) for i in range(lo, hi + 1)], initial_value=str(int(value)),
                                hint=DISCRETE_NOTE)
    return gui.add_number(p.name, initial_value=int(value), min=lo, max=hi, step=1, hint=DISCRETE_NOTE)


def control_value(p, h):
    """A control's value as the parameter's type (a list's entries are strings)."""
    if p.kind == "float":
        return float(h.value)
    if p.kind == "bool":
        return bool(h.value)
    return int(h.value)


def add_object_folder(gui, index: int, obj, program_name: str, worker, editable: bool,
                      on_reset=None, expand: bool | None = None) -> ObjectControls:
    label = object_label(obj.instance_id, obj.category, program_name)
    controls = ObjectControls(index, label)
    values = obj.parameters_dict()
    expand = index == 0 if expand is None else expand
    with gui.add_folder(label, expand_by_default=expand) as controls.folder:
        gui.add_markdown(f"program `{obj.program.name}`")
        gui.add_markdown("<small>Checkboxes and lists change the topology: the Gaussians are re-anchored on the "
                         "new mesh. Greyed-out controls are inactive under the current values.</small>")
        for p in obj.program.parameters:
            h = parameter_control(gui, p, values[p.name])
            h.disabled = not editable or not obj.program.is_active(p.name, values)
            h.on_update(_forward(worker, index, PARAM, p.name, lambda h=h, p=p: control_value(p, h)))
            controls.params[p.name] = h
        yaw = math.degrees(float(obj.yaw.detach()))
        controls.yaw = gui.add_slider("yaw (deg)", min=round(yaw - 180, 3), max=round(yaw + 180, 3), step=0.5,
                                      initial_value=round(yaw, 3), disabled=not editable)
        controls.yaw.on_update(_forward(worker, index, YAW, None, lambda: math.radians(controls.yaw.value)))
        controls.position = gui.add_vector3("position (m)", initial_value=tuple(obj.translation.detach().tolist()),
                                            step=0.01, disabled=not editable)
        controls.position.on_update(_forward(worker, index, TRANSLATION, None, lambda: controls.position.value))
        if on_reset is not None:
            gui.add_button("reset object", disabled=not editable).on_click(lambda _e: on_reset([index]))
    return controls


def _forward(worker, index, field_, name, read):
    def callback(event) -> None:
        # Programmatic updates (reset, training snapshots) have no client: only the page's edits go to the model.
        if event.client is None or worker is None:
            return
        worker.edit(index, field_, name, read())
    return callback


def update_active(controls: ObjectControls, obj, editable: bool) -> None:
    """Enable the parameters the dependency rules say matter now, disable the others.

    Values are not echoed back: a client dragging a slider would see it jump to an older value.
    """
    values = obj.parameters_dict()
    for name, h in controls.params.items():
        disabled = not editable or not obj.program.is_active(name, values)
        if h.disabled != disabled:
            h.disabled = disabled


def sync_controls(controls: ObjectControls, obj, editable: bool) -> None:
    """Show an object's current values (after a reset, or a training step) and its active parameters."""
    values = obj.parameters_dict()
    update_active(controls, obj, editable)
    for name, h in controls.params.items():
        p = obj.program.parameter(name)
        v = values[name]
        if p.kind == "float":
            v = min(max(float(v), p.min), p.max)
        elif p.kind == "int" and isinstance(h.value, str):
            v = str(int(v))
        if h.value != v:
            h.value = v
    yaw = math.degrees(float(obj.yaw.detach()))
    if controls.yaw.min <= yaw <= controls.yaw.max:
        controls.yaw.value = yaw
    controls.position.value = tuple(obj.translation.detach().tolist())
