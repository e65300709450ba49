"""FIELD_SOURCE_TYPES lists every node type that can output a field from single values: a
program with none of them compiles its math nodes without field checks, so a forgotten
field-producing node would be evaluated wrongly. Every registered node is evaluated alone (its
geometry inputs fed a mesh, then a closed curve; its first output used) and its outputs inspected."""
from __future__ import annotations

from irtools import link, node, program

from geonodes.fields import Field
from geonodes.node_types import COMPILED_NODE_TYPES, FIELD_SOURCE_TYPES
from geonodes.nodes import COMPILED, REGISTRY
from geonodes.program import load_program

SOURCES = {
    "mesh": (node("Src", "GeometryNodeMeshGrid", {}, {"Size X": 1.0, "Size Y": 1.0, "Vertices X": 2, "Vertices Y": 2}),
             "Mesh"),
    "curve": (node("Src", "GeometryNodeCurvePrimitiveCircle", {"mode": "RADIUS"}, {"Resolution": 6}), "Curve"),
}


def _alone(type_: str, source: str) -> dict:
    """A program of node `type_` with its geometry inputs linked to the source and its first
    output used (as the result, or as a one-point Mesh Line's start)."""
    spec = REGISTRY[type_]
    inputs, outputs = spec.sockets(spec.properties)
    src, out = SOURCES[source]
    links = [link(("Src", out), ("N", s.identifier)) for s in inputs if s.type == "GEOMETRY"]
    first = outputs[0]
    if first.type == "GEOMETRY":
        return program([src, node("N", type_)], links + [link(("N", first.identifier), ("Group Output", "Out"))])
    probe = node("Probe", "GeometryNodeMeshLine", {"mode": "OFFSET"}, {"Count": 1})
    return program([src, node("N", type_), probe], links + [link(("N", first.identifier), ("Probe", "Start Location")),
                                                           link(("Probe", "Mesh"), ("Group Output", "Out"))])


def _field_outputs(monkeypatch) -> tuple[dict, set]:
    """({type: output names that were fields}, types evaluated) over every registered type."""
    fields: dict = {}
    evaluated: set = set()

    def hooked(type_, fn):
        def evaluate(*args, **kwargs):
            out = fn(*args, **kwargs)
            evaluated.add(type_)
            names = {k for k, v in out.items() if type(v) is Field}
            if names:
                fields.setdefault(type_, set()).update(names)
            return out
        return evaluate

    for type_, spec in REGISTRY.items():
        monkeypatch.setattr(spec, "evaluate", hooked(type_, spec.evaluate))
    for type_, make in list(COMPILED.items()):
        monkeypatch.setitem(COMPILED, type_, lambda view, t=type_, make=make: (
            lambda fn: None if fn is None else hooked(t, fn))(make(view)))
    for type_ in REGISTRY:
        for source in SOURCES:
            try:
                load_program(_alone(type_, source)).evaluate_one({})
            except Exception:  # a node that refuses this input (or a non-vector first output)
                pass
    return fields, evaluated


def test_every_node_type_that_outputs_a_field_is_a_field_source(monkeypatch):
    fields, evaluated = _field_outputs(monkeypatch)
    assert evaluated == set(REGISTRY), f"never evaluated: {sorted(set(REGISTRY) - evaluated)}"
    missing = sorted(set(fields) - set(FIELD_SOURCE_TYPES))
    assert not missing, f"node types outputting fields but not in FIELD_SOURCE_TYPES: {missing}"
    # the probe sees the sources (Capture Attribute only outputs fields captured from fields)
    assert set(fields) >= set(FIELD_SOURCE_TYPES) - {"GeometryNodeCaptureAttribute"}


def test_field_sources_are_supported_types():
    assert set(FIELD_SOURCE_TYPES) <= COMPILED_NODE_TYPES


def test_a_forgotten_field_source_is_caught(monkeypatch):
    """The check fails when a field-producing type is missing from the list."""
    fields, _ = _field_outputs(monkeypatch)
    assert "GeometryNodeCurveToPoints" in fields and "GeometryNodeExtrudeMesh" in fields
    pruned = set(FIELD_SOURCE_TYPES) - {"GeometryNodeCurveToPoints"}
    assert set(fields) - pruned == {"GeometryNodeCurveToPoints"}

