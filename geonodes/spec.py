"""Parameter spec files: the format of PyTorchGeoNodes' configs/sp_*.json (torch-free).

    {"class_name": "chair", "blend_path": "chair.blend",
     "params": {"Legs": {"type": "nested", "params": {
         "Legs Type": {"type": "int", "range": [0, 2]},
         "Legs Size": {"type": "float", "range": [0.02, 0.08], "or_dependencies": ["Has Legs"]}}}}}

A "nested" entry is a category. Ranges are search ranges; an int range [a, b] is half-open.
`or_dependencies` lists alternatives (a bool parameter's name means "is true", [name, value]
means "equals value"); every `not_dependencies` entry must not hold. `read_spec` flattens a
file for the importer; `spec_document` writes one from a program's parameters.
"""
from __future__ import annotations

from pathlib import Path

from .errors import GeonodesError, IRError
from .files import read_json


def read_spec(path) -> dict:
    """Flatten a spec file to {param name: entry + category}."""
    path = Path(path)
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


def spec_conditions(entry, name, kinds, ranges, path):
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


def spec_document(name: str, blend: str | None, parameters: list) -> dict:
    """A spec for `parameters` (objects with the fields of geonodes.ir.Parameter): every sampled
    parameter with its search range, category and dependencies. Parameters that are not
    sampled are left out, as a spec that omits an input makes it."""
    kinds = {p.name: p.kind for p in parameters}
    params: dict = {}
    for p in parameters:
        if not p.sample:
            continue
        entry: dict = {"type": p.kind}
        if p.kind == "float":
            entry["range"] = [p.min, p.max]
        elif p.kind == "int":
            entry["range"] = [int(p.min), int(p.max) + 1]
        entry.update(_dependencies(p, kinds))
        target = params
        if p.category:
            group = params.setdefault(p.category, {"type": "nested", "params": {}})
            if group.get("type") != "nested":
                raise GeonodesError(f"parameter '{p.category}' has the name of a category")
            target = group["params"]
        if p.name in target:
            raise GeonodesError(f"parameter '{p.name}' has the name of a category")
        target[p.name] = entry
    return {"class_name": name, "blend_path": blend, "params": params}


def _dependencies(p, kinds: dict) -> dict:
    """`active_if` as spec dependencies: (alternatives, one condition each) and conditions
    every alternative shares; bool ones of the latter become `not_dependencies`."""
    dnf = p.active_if
    if not dnf:
        return {}
    common = [c for c in dnf[0] if all(c in clause for clause in dnf)]
    rest = [[c for c in clause if c not in common] for clause in dnf]
    ors = [r[0] for r in rest if r]
    if any(len(r) > 1 for r in rest) or (ors and len(ors) != len(rest)):
        raise GeonodesError(f"parameter '{p.name}': its dependencies {dnf} cannot be written in a spec")
    nots = []
    for c in common:
        if kinds[c["param"]] == "bool":
            nots.append([c["param"], not c["equals"]])
        elif not ors and len(common) == 1:
            ors = [c]
        else:
            raise GeonodesError(f"parameter '{p.name}': its dependencies {dnf} cannot be written in a spec")
    out: dict = {}
    if ors:
        out["or_dependencies"] = [c["param"] if c["equals"] is True and kinds[c["param"]] == "bool"
                                  else [c["param"], c["equals"]] for c in ors]
    if nots:
        out["not_dependencies"] = nots
    return out
