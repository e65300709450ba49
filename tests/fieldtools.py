"""Programs that apply a field through Set Position, and their comparison with Blender."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from geonodes.program import load_program
from irtools import link, mesh_mismatch, node, program

GI = "Group Input"
EDGES = [0.0, 1.0, -1.0, 0.5, -0.5, 2.0]  # edge values: zeros, ones, signs, halves


def value_sets(names, n, seed, lo=-2.0, hi=2.0):
    """n parameter sets: half of them from EDGES, half uniform in [lo, hi]."""
    rng = random.Random(seed)
    sets = [{k: rng.choice(EDGES) for k in names} for _ in range(n // 2)]
    return sets + [{k: rng.uniform(lo, hi) for k in names} for _ in range(n - n // 2)]


def mesh_node(kind: str = "grid"):
    """A mesh primitive node named 'Mesh' (a grid by default: faces, distinct positions)."""
    if kind == "grid":
        return node("Mesh", "GeometryNodeMeshGrid", {}, {"Size X": 2.0, "Size Y": 1.5, "Vertices X": 4, "Vertices Y": 3})
    if kind == "ico":
        return node("Mesh", "GeometryNodeMeshIcoSphere", {}, {"Radius": 1.0, "Subdivisions": 1})
    if kind == "cylinder":
        return node("Mesh", "GeometryNodeMeshCylinder", {"fill_type": "NGON"}, {"Vertices": 6, "Radius": 0.8})
    if kind == "cube":
        return node("Mesh", "GeometryNodeMeshCube", {}, {"Size": [1.0, 2.0, 0.5]})
    raise ValueError(kind)


def set_position_program(nodes, links, params, offset=None, position=None, selection=None, mesh="grid",
                         after=()):
    """Mesh -> Set Position (sockets fed from the given (node, output) sources) -> output.
    `after` are extra nodes placed between Set Position and the output as (node, in, out)."""
    nodes = [mesh_node(mesh), node("SP", "GeometryNodeSetPosition")] + list(nodes)
    links = list(links) + [link(("Mesh", "Mesh"), ("SP", "Geometry"))]
    for src, sock in ((offset, "Offset"), (position, "Position"), (selection, "Selection")):
        if src is not None:
            links.append(link(src, ("SP", sock)))
    last = ("SP", "Geometry")
    for extra, inp, out in after:
        nodes.append(extra)
        links.append(link(last, (extra["name"], inp)))
        last = (extra["name"], out)
    links.append(link(last, ("Group Output", "Out")))
    return program(nodes, links, params)


def compare_batch(ir, sets, atol=1e-5) -> float:
    """The batch evaluated at once (float32) against Blender, row by row: same vertices within
    atol, same polygons. Returns the largest vertex error. (Triangles are not compared: fields
    can make a quad concave, where Blender's tessellation splits it along the other diagonal.)"""
    from geonodes.blender import evaluate_in_blender

    prog = load_program(ir)
    refs = evaluate_in_blender(ir, sets)
    worst = 0.0
    seen = 0
    for g in prog.evaluate(prog.stack(sets)):
        for k, i in enumerate(g.index.tolist()):
            mesh = g.mesh(k)
            why = mesh_mismatch(mesh, refs[i], triangles=False, atol=atol)
            assert why is None, f"set {i} {sets[i]}: {why}"
            if len(refs[i]["vertices"]):
                worst = max(worst, float(np.abs(mesh.vertices.detach().numpy() - refs[i]["vertices"]).max()))
            seen += 1
    assert seen == len(sets)
    log = os.environ.get("GEONODES_ERROR_LOG")  # a file to append the largest errors to (for reports)
    if log:
        with open(log, "a") as f:
            f.write(f"{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]} {worst:.3g}\n")
    return worst


def finite_difference_check(ir, values: dict, names, eps=1e-6, tol=1e-5):
    """d(sum of vertices * weights)/d(parameter) by autograd against central differences (float64)."""
    prog = load_program(ir)
    torch.manual_seed(0)

    def f(vals):
        mesh = prog.evaluate_one(vals, dtype=torch.float64)
        w = torch.linspace(0.3, 1.7, mesh.vertices.numel(), dtype=torch.float64).view_as(mesh.vertices)
        return (mesh.vertices * w).sum()

    for name in names:
        x = torch.tensor(float(values[name]), dtype=torch.float64, requires_grad=True)
        vals = dict(values)
        vals[name] = x
        (grad,) = torch.autograd.grad(f(vals), x)
        hi, lo = dict(values), dict(values)
        hi[name], lo[name] = values[name] + eps, values[name] - eps
        with torch.no_grad():
            fd = (f(hi) - f(lo)) / (2 * eps)
        assert abs(float(grad) - float(fd)) <= tol * max(1.0, abs(float(fd))), (name, float(grad), float(fd))
