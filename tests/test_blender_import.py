"""The Blender side of geonodes: .blend -> IR import, IR -> .blend export, Blender evaluation."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")

from geonodes import blender as gb  # noqa: E402
from geonodes.errors import IRError  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
PROGRAMS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "blender-programs"
DATA = REPO / "tests" / "data" / "blender"
# From ../shared/blender-programs/README.md: (groups, nodes including Frames, modifier inputs);
# the frame counts were read from the files (Frames are dropped by the importer).
PROGRAMS = {"chair": (5, 154, 20, 0), "table": (3, 86, 10, 0), "sofa": (5, 164, 18, 7),
            "cabinet": (8, 140, 12, 9), "bed": (5, 86, 11, 0)}
BPY5_PYTHON = Path(os.environ.get("GEONODES_BPY5_PYTHON", "/tmp/venv-bpy5/bin/python"))

needs_programs = pytest.mark.skipif(not PROGRAMS_DIR.is_dir(),
                                    reason=f"{PROGRAMS_DIR} (shared test programs) is missing")


def _import(name):
    return gb.import_blend(PROGRAMS_DIR / f"{name}.blend",
                           PROGRAMS_DIR / "configs" / f"sp_{name}.json")


def _param(ir, name):
    return next(p for p in ir["parameters"] if p["name"] == name)


def _canonical(ir):
    """The IR with Blender-chosen interface identifiers renamed by position, source dropped."""
    ir = copy.deepcopy(ir)
    ir.pop("source", None)
    rename = {}
    for g in ir["groups"]:
        m = {}
        for side in ("inputs", "outputs"):
            for i, item in enumerate(g[side]):
                m[item["identifier"]] = f"{side}{i}"
                item["identifier"] = f"{side}{i}"
        rename[g["name"]] = m
    for g in ir["groups"]:
        kinds = {n["name"]: n for n in g["nodes"]}

        def sock(node_name, ident):
            node = kinds[node_name]
            if node["type"] in ("NodeGroupInput", "NodeGroupOutput"):
                return rename[g["name"]].get(ident, ident)
            if node["type"] == "GeometryNodeGroup":
                return rename[node["group"]].get(ident, ident)
            return ident

        for n in g["nodes"]:
            n["inputs"] = {sock(n["name"], k): v for k, v in n["inputs"].items()}
        for link in g["links"]:
            link["from"] = [link["from"][0], sock(*link["from"])]
            link["to"] = [link["to"][0], sock(*link["to"])]
        g["links"].sort(key=lambda l: json.dumps(l, sort_keys=True))
    for p in ir["parameters"]:
        p["socket"] = rename[ir["main_group"]][p["socket"]]
    return ir


# ---- the five shared programs ---------------------------------------------------------------

@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_import_matches_readme_counts(name):
    groups, nodes_with_frames, inputs, frames = PROGRAMS[name]
    ir = _import(name)
    assert ir["format"] == "geonodes-ir" and ir["version"] == 1 and ir["name"] == name
    assert len(ir["groups"]) == groups
    assert sum(len(g["nodes"]) for g in ir["groups"]) == nodes_with_frames - frames
    assert len(ir["parameters"]) == inputs
    assert ir["groups"][0]["name"] == ir["main_group"]
    for g in ir["groups"]:
        names = {n["name"] for n in g["nodes"]}
        assert not any(n["type"] in ("NodeFrame", "NodeReroute") for n in g["nodes"])
        for link in g["links"]:
            assert link["from"][0] in names and link["to"][0] in names
        for n in g["nodes"]:
            if n["type"] == "GeometryNodeGroup":
                assert n["group"] in {h["name"] for h in ir["groups"]}
    # every multi-input socket's links have orders 0..k-1
    for g in ir["groups"]:
        orders = {}
        for link in g["links"]:
            if "order" in link:
                orders.setdefault(tuple(link["to"]), []).append(link["order"])
        for got in orders.values():
            assert sorted(got) == list(range(len(got)))


@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_committed_ir_is_a_fresh_import(name):
    stored = json.loads((DATA / f"{name}.json").read_text())
    fresh = _import(name)
    stored["source"].pop("blender")
    fresh["source"].pop("blender")
    assert fresh == stored


@needs_programs
def test_spec_semantics():
    chair = _import("chair")
    legs = _param(chair, "Legs Type")
    assert (legs["kind"], legs["min"], legs["max"], legs["sample"]) == ("int", 0, 1, True)
    assert legs["category"] == "Legs" and legs["active_if"] is None
    assert _param(chair, "Middle Offset")["active_if"] == [
        [{"param": "Legs Type", "equals": 0}], [{"param": "Has Middle Support", "equals": True}]]
    back = _param(chair, "Has Back")
    assert (back["kind"], back["min"], back["max"]) == ("bool", 0, 1)
    # the modifier's own value is the default, not the interface default (0.0)
    assert _param(chair, "Seat Height")["default"] == pytest.approx(0.6)

    bed = _import("bed")  # spec spells or_dependencies as or_dependcies; Bed Thickness absent
    assert _param(bed, "Legs Size")["active_if"] == [[{"param": "Has Legs", "equals": True}]]
    thick = _param(bed, "Bed Thickness")  # settable (a derived search range), not sampled
    assert thick["sample"] is False and (thick["min"], thick["default"], thick["max"]) == (0.15, 0.3, 0.6)

    cabinet = _import("cabinet")  # not_dependencies: active only if Has Drawers is false
    boards = _param(cabinet, "Number of Dividing Boards")
    assert (boards["min"], boards["max"]) == (2, 5)
    assert boards["active_if"] == [[{"param": "Has Drawers", "equals": False}]]


@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_written_spec_reads_back_to_the_same_parameters(name, tmp_path):
    from geonodes.ir import load_ir
    from geonodes.spec import spec_document

    ir = _import(name)
    params = load_ir(ir).parameters
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(spec_document(ir["name"], ir["source"]["blend"], params)))
    again = gb.import_blend(PROGRAMS_DIR / f"{name}.blend", spec)
    assert again["parameters"] == ir["parameters"]


@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_without_a_spec_every_parameter_is_settable_and_sampled(name):
    ir = gb.import_blend(PROGRAMS_DIR / f"{name}.blend")
    specced = {p["name"]: p for p in _import(name)["parameters"]}
    for p in ir["parameters"]:
        assert p["sample"] and p["category"] is None and p["active_if"] is None
        assert p["default"] == specced[p["name"]]["default"] and p.get("limits") == specced[p["name"]].get("limits")
        if p["kind"] == "bool":
            assert (p["min"], p["max"]) == (0, 1)
        elif p["kind"] == "int":  # saved +- 2 within the soft limits
            assert (p["min"], p["max"]) == (max(p["default"] - 2, p["limits"]["soft"][0]), p["default"] + 2)
        else:  # floats of these files are positive and have no finite soft limits of note
            assert (p["min"], p["max"]) == (p["default"] / 2, p["default"] * 2)


@needs_programs
def test_transform_mode_is_a_property_and_values_are_typed():
    ir = _import("chair")
    nodes = [n for g in ir["groups"] for n in g["nodes"]]
    transforms = [n for n in nodes if n["type"] == "GeometryNodeTransform"]
    assert transforms and all(n["properties"]["mode"] == "COMPONENTS" for n in transforms)
    assert all("Transform" not in n["inputs"] and "Mode" not in n["inputs"] for n in transforms)
    rotations = [n["inputs"]["Rotation"] for n in transforms if "Rotation" in n["inputs"]]
    assert rotations and all(len(r) == 3 and all(isinstance(x, float) for x in r)
                             for r in rotations)
    maths = [n for n in nodes if n["type"] == "ShaderNodeMath"]
    assert all("Value_002" not in n["inputs"] for n in maths if n["properties"]["operation"]
               in ("ADD", "SUBTRACT", "MULTIPLY", "DIVIDE"))  # disabled sockets are left out


# ---- export -> import round trip --------------------------------------------------------------

@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_export_import_round_trip(name, tmp_path):
    ir = _import(name)
    out = tmp_path / f"{name}_copy.blend"
    gb.export_blend(ir, out)
    assert out.is_file() and not list(tmp_path.glob("*.blend1"))
    back = gb.import_blend(out)  # no spec: ranges etc. come back from the stored metadata
    assert _canonical(back) == _canonical(ir)


@needs_programs
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_exported_program_evaluates_like_the_original(name):
    ir = _import(name)
    sets = gb.sample_parameter_sets(ir["parameters"], 20, seed=7)
    original = gb.evaluate_in_blender(PROGRAMS_DIR / f"{name}.blend", sets)
    rebuilt = gb.evaluate_in_blender(ir, sets)
    for a, b in zip(original, rebuilt):
        for key in ("vertices", "face_offsets", "face_vertices", "loop_triangles"):
            assert np.array_equal(a[key], b[key]), key


# ---- Blender semantics the compiler relies on -----------------------------------------------

def _cubes_joined_ir(orders):
    """Three cubes of sizes 1, 2, 3 joined; cube i's link gets `orders[i]`."""
    nodes = [{"name": "Group Output", "type": "NodeGroupOutput", "properties": {}, "inputs": {}},
             {"name": "Join", "type": "GeometryNodeJoinGeometry", "properties": {}, "inputs": {}}]
    links = [{"from": ["Join", "Geometry"], "to": ["Group Output", "Out"]}]
    for i, order in enumerate(orders):
        nodes.append({"name": f"Cube{i}", "type": "GeometryNodeMeshCube", "properties": {},
                      "inputs": {"Size": [i + 1.0] * 3}})
        links.append({"from": [f"Cube{i}", "Mesh"], "to": ["Join", "Geometry"], "order": order})
    return {"format": "geonodes-ir", "version": 1, "name": "join", "main_group": "Main",
            "groups": [{"name": "Main", "inputs": [],
                        "outputs": [{"identifier": "Out", "name": "Geometry",
                                     "type": "GEOMETRY"}],
                        "nodes": nodes, "links": links}],
            "parameters": []}


@pytest.mark.parametrize("orders", [[0, 1, 2], [2, 0, 1], [1, 2, 0]])
def test_join_geometry_concatenates_in_link_order(orders, tmp_path):
    ir = _cubes_joined_ir(orders)
    (mesh,) = gb.evaluate_in_blender(ir, [{}])
    half_sizes = np.abs(mesh["vertices"]).max(axis=1).reshape(3, 8).max(axis=1)
    # the cube whose link has order k comes k-th
    expected = [0.5 * (orders.index(k) + 1) for k in range(3)]
    np.testing.assert_allclose(half_sizes, expected)
    gb.export_blend(ir, tmp_path / "join.blend")
    back = gb.import_blend(tmp_path / "join.blend")
    got = {l["from"][0]: l["order"] for l in back["groups"][0]["links"] if "order" in l}
    assert got == {f"Cube{i}": o for i, o in enumerate(orders)}


def test_blender_quads_split_as_fans_and_tris_grouped_per_polygon():
    (mesh,) = gb.evaluate_in_blender(_cubes_joined_ir([0, 1, 2]), [{}])
    offsets, loops = mesh["face_offsets"], mesh["face_vertices"]
    fans = [[loops[a], loops[a + i], loops[a + i + 1]]
            for a, b in zip(offsets[:-1], offsets[1:]) for i in range(1, b - a - 1)]
    np.testing.assert_array_equal(mesh["loop_triangles"], fans)


def _save_scene(path):
    bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    return path


def test_reroutes_become_direct_links_and_frames_are_dropped(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    tree = bpy.data.node_groups.new("Main", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    out = tree.nodes.new("NodeGroupOutput")
    cube = tree.nodes.new("GeometryNodeMeshCube")
    r1, r2 = tree.nodes.new("NodeReroute"), tree.nodes.new("NodeReroute")
    frame = tree.nodes.new("NodeFrame")
    cube.parent = frame
    tree.links.new(cube.outputs["Mesh"], r1.inputs[0])
    tree.links.new(r1.outputs[0], r2.inputs[0])
    tree.links.new(r2.outputs[0], out.inputs[0])
    obj = bpy.data.objects.new("Thing", bpy.data.meshes.new("Thing"))
    bpy.context.scene.collection.objects.link(obj)
    obj.modifiers.new("GN", "NODES").node_group = tree
    cube_name, out_name = cube.name, out.name  # bpy handles die when the importer loads a file
    ir = gb.import_blend(_save_scene(tmp_path / "reroute.blend"))
    g = ir["groups"][0]
    assert sorted(n["type"] for n in g["nodes"]) == ["GeometryNodeMeshCube", "NodeGroupOutput"]
    out_id = g["outputs"][0]["identifier"]
    assert g["links"] == [{"from": [cube_name, "Mesh"], "to": [out_name, out_id]}]
    assert ir["parameters"] == [] and ir["source"]["object"] == "Thing"


# ---- errors -----------------------------------------------------------------------------------

def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(IRError, match="no such .blend file"):
        gb.import_blend(tmp_path / "nope.blend")


def test_not_a_blend_file(tmp_path):
    bad = tmp_path / "bad.blend"
    bad.write_text("hello")
    with pytest.raises(IRError, match="bad.blend: cannot open"):
        gb.import_blend(bad)


def test_object_without_geometry_nodes_modifier(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    obj = bpy.data.objects.new("Plain", bpy.data.meshes.new("Plain"))
    bpy.context.scene.collection.objects.link(obj)
    path = _save_scene(tmp_path / "plain.blend")
    with pytest.raises(IRError, match="plain.blend: no object has a Geometry Nodes modifier"):
        gb.import_blend(path)
    with pytest.raises(IRError, match="object 'Plain' has no Geometry Nodes modifier"):
        gb.import_blend(path, object_name="Plain")
    with pytest.raises(IRError, match="no object named 'Other'"):
        gb.import_blend(path, object_name="Other")


def test_unsupported_socket_type_names_group_node_and_socket(tmp_path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    tree = bpy.data.node_groups.new("Moved", "GeometryNodeTree")
    tree.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    out = tree.nodes.new("NodeGroupOutput")
    cube = tree.nodes.new("GeometryNodeMeshCube")
    transform = tree.nodes.new("GeometryNodeTransform")
    transform.mode = "MATRIX"  # its Transform socket is a MATRIX
    tree.links.new(cube.outputs["Mesh"], transform.inputs["Geometry"])
    tree.links.new(transform.outputs["Geometry"], out.inputs[0])
    obj = bpy.data.objects.new("Thing", bpy.data.meshes.new("Thing"))
    bpy.context.scene.collection.objects.link(obj)
    obj.modifiers.new("GN", "NODES").node_group = tree
    path = _save_scene(tmp_path / "matrix.blend")
    with pytest.raises(IRError, match=r"matrix.blend: group 'Moved' node 'Transform Geometry' "
                                      r"socket 'Transform': unsupported socket type MATRIX"):
        gb.import_blend(path)


@needs_programs
def test_spec_naming_an_unknown_parameter(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"params": {"Legs Typo": {"type": "int", "range": [0, 2]}}}))
    with pytest.raises(IRError, match="spec.json: parameter 'Legs Typo' is not an input"):
        gb.import_blend(PROGRAMS_DIR / "chair.blend", spec)


@needs_programs
def test_cli_writes_json_and_leaves_nothing_on_error(tmp_path, capsys):
    from geonodes.cli import main

    out = tmp_path / "chair.json"
    assert main(["import-blend", str(PROGRAMS_DIR / "chair.blend"), str(out),
                 "--spec", str(PROGRAMS_DIR / "configs" / "sp_chair.json")]) == 0
    assert json.loads(out.read_text())["name"] == "chair"
    bad_out = tmp_path / "bad.json"
    assert main(["import-blend", str(tmp_path / "missing.blend"), str(bad_out)]) == 2
    assert "geonodes import-blend: error: " in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chair.json"]


# ---- Blender 5.0 gives the same IR -----------------------------------------------------------

@needs_programs
@pytest.mark.slow
@pytest.mark.skipif(not BPY5_PYTHON.exists(),
                    reason=f"no bpy 5.0 venv at {BPY5_PYTHON} (see scripts/check_import_bpy5.sh)")
def test_bpy5_import_matches_bpy4():
    env = dict(os.environ, GEONODES_BPY4_PYTHON=sys.executable)
    run = subprocess.run(["bash", str(REPO / "scripts" / "check_import_bpy5.sh"), str(BPY5_PYTHON)],
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    # the five programs, and two small ones saved by each version (tests/blendfiles.py)
    assert run.stdout.count("same IR") == len(PROGRAMS) + 2
    assert run.stdout.count("compiler vs Blender 5.0.1: 17/17 sets equal") == 2
