"""The imported program's parameters: kinds from the modifier inputs, limits from the file,
search ranges, categories and dependencies from a spec file (geonodes.spec) or from the
metadata an export stored."""
from __future__ import annotations

import json

from ..errors import IRError
from ..ranges import HARD_LIMITS, derived_range, float32_shortest
from ..spec import spec_conditions
from .common import _PARAM_KIND, IR_META_PROPERTY, OPAQUE_TYPES


def _parameters(main_ir, mod, spec, spec_path, meta, where):
    """The modifier's FLOAT/INT/BOOLEAN inputs as IR parameters. Search ranges come from the
    spec, else from the metadata an export stored, else `ranges.derived_range`; a parameter a
    spec leaves out gets a derived range too but is not sampled. Limits come from the file."""
    params = []
    meta_params = {p["name"]: p for p in meta.get("parameters", [])}
    kinds, ranges = {}, {}
    for item in main_ir["inputs"]:
        if item["type"] == "GEOMETRY" or item["type"] in OPAQUE_TYPES:
            continue  # opaque inputs (a material, a string) stay constants, not parameters
        kind = _PARAM_KIND.get(item["type"])
        if kind is None:
            raise IRError(f"{where}: modifier input '{item['name']}' has type {item['type']}; "
                          "parameters must be FLOAT, INT or BOOLEAN")
        kinds[item["name"]] = kind
    if spec is not None:
        for name in spec:
            if name not in kinds:
                raise IRError(f"{spec_path}: parameter '{name}' is not an input of modifier "
                              f"'{mod.name}' in {where}")
        for name, entry in spec.items():
            if kinds[name] == "int" and "range" in entry:
                ranges[name] = (int(entry["range"][0]), int(entry["range"][1]) - 1)

    soft_limits = _interface_limits(mod.node_group)
    for item in main_ir["inputs"]:
        if item["name"] not in kinds:
            continue
        name, ident, kind = item["name"], item["identifier"], kinds[item["name"]]
        default = mod[ident] if ident in mod.keys() else item.get("default")
        default = {"float": float32_shortest, "int": int, "bool": bool}[kind](default)
        param = {"name": name, "socket": ident, "kind": kind}
        soft = soft_limits.get(ident) if kind != "bool" else None
        if soft is not None:  # float32 in the file: its shortest decimal (0.1, not 0.10000000149)
            soft = tuple(map(float32_shortest, soft)) if kind == "float" else tuple(map(int, soft))
        derived = derived_range(kind, default, soft)
        if spec is not None and name in spec:
            entry = spec[name]
            if entry["type"] != kind:
                raise IRError(f"{spec_path}: parameter '{name}' has type '{entry['type']}' but "
                              f"the modifier input is {kind}")
            if kind == "bool":
                lo, hi = 0, 1
            elif "range" in entry:
                a, b = entry["range"]
                lo, hi = (float(a), float(b)) if kind == "float" else ranges[name]
            else:
                lo, hi = derived
            param.update(min=lo, max=hi, default=default, category=entry["category"],
                         sample=True,
                         active_if=spec_conditions(entry, name, kinds, ranges, spec_path))
        elif name in meta_params:
            stored = meta_params[name]
            param.update(min=stored["min"], max=stored["max"], default=default,
                         category=stored.get("category"), sample=stored["sample"],
                         active_if=stored.get("active_if"))
        else:  # left out of the spec (settable, not sampled), or no spec at all (sampled)
            param.update(min=derived[0], max=derived[1], default=default, category=None,
                         sample=spec is None, active_if=None)
        if kind != "bool":
            param["limits"] = {"soft": list(soft or HARD_LIMITS[kind]),
                               "hard": list(_hard_limits(mod, ident, kind))}
        params.append(param)
    return params


def _interface_limits(group):
    out = {}
    for item in group.interface.items_tree:
        if item.item_type == "SOCKET" and item.in_out == "INPUT":
            lo, hi = getattr(item, "min_value", None), getattr(item, "max_value", None)
            if lo is not None and hi is not None:
                out[item.identifier] = (lo, hi)
    return out


def _hard_limits(mod, ident, kind):
    """The modifier property's hard range (Blender sets the socket's min/max as its *soft*
    range only), else Blender's default for the kind."""
    lo, hi = HARD_LIMITS[kind]
    if ident in mod.keys():
        ui = mod.id_properties_ui(ident).as_dict()
        lo, hi = ui.get("min", lo), ui.get("max", hi)
    return lo, hi


def _stored_meta(obj) -> dict:
    raw = obj.get(IR_META_PROPERTY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return {}
