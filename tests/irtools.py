"""Small helpers to write IR programs by hand in tests."""
from __future__ import annotations

import torch

from geonodes.program import load_program


def node(name, type_, props=None, inputs=None, group=None):
    d = {"name": name, "type": type_, "properties": props or {}, "inputs": inputs or {}}
    if group:
        d["group"] = group
    return d


def link(src, dst, order=0):
    return {"from": list(src), "to": list(dst), "order": order}


def program(nodes, links, params=(), extra_groups=(), name="test"):
    """Main group 'main' with one FLOAT/INT/BOOLEAN input per parameter and a geometry output
    fed from whatever is linked to ('Group Output', 'Out')."""
    type_of = {"float": "FLOAT", "int": "INT", "bool": "BOOLEAN"}
    inputs = [{"identifier": p["name"], "name": p["name"], "type": type_of[p["kind"]], "default": p["default"]}
              for p in params]
    parameters = [{"socket": p["name"], "min": p.get("min", -1e6 if p["kind"] != "bool" else 0),
                   "max": p.get("max", 1e6 if p["kind"] != "bool" else 1), **p} for p in params]
    return {
        "format": "geonodes-ir", "version": 1, "name": name, "main_group": "main",
        "groups": [{
            "name": "main", "inputs": inputs,
            "outputs": [{"identifier": "Out", "name": "Geometry", "type": "GEOMETRY"}],
            "nodes": [node("Group Input", "NodeGroupInput"), node("Group Output", "NodeGroupOutput")] + list(nodes),
            "links": list(links),
        }] + list(extra_groups),
        "parameters": parameters,
    }


def probe(nodes, links, source, params=(), **values):
    """Evaluate a value: `source` = (node, output) is linked to a one-point Mesh Line's start.

    Returns the point (vector sockets) or its x (scalars convert to (x, x, x)).
    """
    ir = value_program(nodes, links, source, params)
    mesh = load_program(ir).evaluate_one(values, dtype=torch.float64)
    return mesh.vertices[0]


def value_program(nodes, links, source, params=()):
    probe_nodes = [node("Probe", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1})]
    probe_links = [link(source, ("Probe", "Start Location")), link(("Probe", "Mesh"), ("Group Output", "Out"))]
    return program(list(nodes) + probe_nodes, list(links) + probe_links, params)


def fparams(*names, default=0.0):
    return [{"name": n, "kind": "float", "default": default} for n in names]
