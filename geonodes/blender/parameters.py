"""The imported program's parameters: kinds from the modifier inputs, ranges, categories and
dependencies from a PyTorchGeoNodes spec file or from the metadata an export stored."""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import IRError
from ..files import read_json
from .common import _PARAM_KIND, _UNBOUNDED, IR_META_PROPERTY


def _read_spec(path: Path) -> dict:
    """Flatten a PyTorchGeoNodes spec (configs/sp_*.json) to {param name: entry + category}."""
    doc = read_json(path, "spec file")
    flat = {}

    def walk(params, category):
        for name, entry in params.items():
            if not isinstance(entry, dict) or "type" not in entry:
                raise IRError(f"{path}: parameter '{name}' has no 'type'")
            if entry["type"] == "nested":
                walk(entry.get("params", {}), name)
            else:
                flat[name] = dict(entry, category=category, _file=str(path))

    walk(doc.get("params", {}), None)
    return flat


def _finite(x):
    return x is not None and math.isfinite(x) and abs(x) < _UNBOUNDED


def _spec_conditions(entry, name, kinds, ranges, path):
    """`or_dependencies` (bed's spec spells it `or_dependcies`) and `not_dependencies` as DNF."""
    def cond(dep):
        if isinstance(dep, str):
            param, value = dep, True
        elif isinstance(dep, list) and len(dep) == 2 and isinstance(dep[0], str):
            param, value = dep
        else:
            raise IRError(f"{path}: parameter '{name}': bad dependency {dep!r}")
        if param not in kinds:
            raise IRError(f"{path}: parameter '{name}' depends on unknown parameter '{param}'")
        if kinds[param] == "bool":
            value = bool(value)
        return param, value

    ors = entry.get("or_dependencies", entry.get("or_dependcies"))
    dnf = None if not ors else [[{"param": p, "equals": v}] for p, v in map(cond, ors)]
    for dep in entry.get("not_dependencies", []) or []:
        param, value = cond(dep)
        if kinds[param] == "bool":
            alternatives = [not value]
        elif kinds[param] == "int" and param in ranges:
            lo, hi = ranges[param]
            alternatives = [v for v in range(lo, hi + 1) if v != value]
        else:
            raise IRError(f"{path}: parameter '{name}': not_dependency on '{param}' needs a "
                          "bool or a ranged int parameter")
        negation = [[{"param": param, "equals": v}] for v in alternatives]
        dnf = negation if dnf is None else [a + b for a in dnf for b in negation]
    return dnf


def _parameters(main_ir, mod, spec, spec_path, meta, where):
    params = []
    meta_params = {p["name"]: p for p in meta.get("parameters", [])}
    kinds, ranges = {}, {}
    for item in main_ir["inputs"]:
        if item["type"] == "GEOMETRY":
            continue
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

    limits = _interface_limits(mod.node_group)
    for item in main_ir["inputs"]:
        if item["type"] == "GEOMETRY":
            continue
        name, ident, kind = item["name"], item["identifier"], kinds[item["name"]]
        default = item.get("default")
        if ident in mod.keys():
            default = mod[ident]
        default = {"float": float, "int": int, "bool": bool}[kind](default)
        param = {"name": name, "socket": ident, "kind": kind}
        if spec is not None and name in spec:
            entry = spec[name]
            if entry["type"] != kind:
                raise IRError(f"{spec_path}: parameter '{name}' has type '{entry['type']}' but "
                              f"the modifier input is {kind}")
            if kind == "bool":
                lo, hi, sample = 0, 1, True
            elif "range" in entry:
                a, b = entry["range"]
                lo, hi = (float(a), float(b)) if kind == "float" else ranges[name]
                sample = True
            else:
                lo, hi, sample = _fallback_range(kind, default, limits.get(ident))
            param.update(min=lo, max=hi, default=default, category=entry["category"],
                         sample=sample,
                         active_if=_spec_conditions(entry, name, kinds, ranges, spec_path))
        elif name in meta_params:
            stored = meta_params[name]
            param.update(min=stored["min"], max=stored["max"], default=default,
                         category=stored.get("category"), sample=stored["sample"],
                         active_if=stored.get("active_if"))
        else:
            lo, hi, _ = _fallback_range(kind, default, limits.get(ident))
            param.update(min=lo, max=hi, default=default, category=None, sample=False,
                         active_if=None)
        params.append(param)
    return params


def _fallback_range(kind, default, limits):
    if kind == "bool":
        return 0, 1, False
    if limits and _finite(limits[0]) and _finite(limits[1]):
        conv = float if kind == "float" else int
        return conv(limits[0]), conv(limits[1]), False
    return default, default, False


def _interface_limits(group):
    out = {}
    for item in group.interface.items_tree:
        if item.item_type == "SOCKET" and item.in_out == "INPUT":
            lo, hi = getattr(item, "min_value", None), getattr(item, "max_value", None)
            if lo is not None and hi is not None:
                out[item.identifier] = (float(lo), float(hi))
    return out


def _stored_meta(obj) -> dict:
    raw = obj.get(IR_META_PROPERTY)
    if raw is None:
        return {}
    try:
        return json.loads(raw)
    except (TypeError, json.JSONDecodeError):
        return {}
