"""Programs built in Blender (tests/blendfiles.py) with nodes that do not change the mesh, Menu
Switches, opaque sockets and unsupported nodes: imported, evaluated by geonodes at random
parameter sets within Blender's limits, and compared with Blender's evaluation of the file."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.blender
bpy = pytest.importorskip("bpy", reason="needs bpy (pip install 'procsplat[blender]')")

import blendfiles  # noqa: E402  (needs bpy)
from geonodes import blender as gb  # noqa: E402
from geonodes.cli import main  # noqa: E402
from geonodes.errors import IRError, UnsupportedNodeError  # noqa: E402
from geonodes.program import load_program  # noqa: E402
from irtools import mesh_mismatch  # noqa: E402


def _agrees_with_blender(path, ir, sets) -> list:
    """(set, why) for every set whose mesh differs from Blender's evaluation of the file."""
    refs = gb.evaluate_in_blender(path, sets)
    prog = load_program(ir)
    return [(s, why) for s, ref in zip(sets, refs)
            if (why := mesh_mismatch(prog.evaluate_one(s, dtype=torch.float64), ref)) is not None]


def _nodes(ir):
    return {n["name"]: n for g in ir["groups"] for n in g["nodes"]}


def test_nodes_that_keep_the_mesh_pass_it_through(tmp_path):
    path = blendfiles.chain_program(tmp_path / "chain.blend")
    ir = gb.import_blend(path)
    nodes = _nodes(ir)
    assert not any(n["type"] in ("GeometryNodeViewer", "NodeFrame", "NodeReroute") for n in nodes.values())
    assert nodes["Set Material"]["type"] == "GeometryNodeSetMaterial"
    assert nodes["Remove Named Attribute"]["properties"] == {"pattern_mode": "WILDCARD"}
    assert nodes["Store Named Attribute.001"]["inputs"]["Name"] == "Col"
    main_inputs = {i["name"]: i for i in ir["groups"][0]["inputs"]}
    assert main_inputs["Material"] == {"identifier": main_inputs["Material"]["identifier"], "name": "Material",
                                       "type": "MATERIAL", "default": "Wood"}
    # the Material input is an opaque constant, not a parameter; the saved values are the defaults
    params = {p["name"]: p for p in ir["parameters"]}
    assert list(params) == ["Width", "Height", "Count", "Smooth"]
    assert (params["Width"]["default"], params["Count"]["default"]) == (1.25, 4)
    assert params["Width"]["limits"]["soft"] == [0.1, 5.0] and params["Count"]["limits"]["soft"] == [1, 8]
    sets = [{}] + gb.sample_within_limits(ir["parameters"], 64, seed=3)
    assert any(not 1 <= s["Count"] <= 8 for s in sets[1:])  # beyond the socket's soft limits too
    assert _agrees_with_blender(path, ir, sets) == []


def test_eval_and_sample_take_a_blend_file(tmp_path, capsys):
    """`geonodes eval FILE.blend` / `geonodes sample FILE.blend` import it first (no IR step)."""
    path = blendfiles.constants_program(tmp_path / "constants.blend")
    assert main(["eval", str(path), "-o", str(tmp_path / "out.npz"), "--set", "Scale=2.0"]) == 0
    ref = gb.evaluate_in_blender(path, [{"Scale": 2.0}])[0]
    got = np.load(tmp_path / "out.npz")
    assert got["vertices"].shape == ref["vertices"].shape
    assert abs(got["vertices"] - ref["vertices"]).max() < 1e-5
    assert main(["sample", str(path), "-o", str(tmp_path / "samples"), "-n", "2"]) == 0
    assert (tmp_path / "samples" / "parameters.json").exists()


def test_constant_nodes_keep_their_values(tmp_path):
    """A Value node's value lives on its output socket (no property): imported, exported and
    evaluated like Blender's, as the Integer, Boolean and Vector nodes' properties."""
    path = blendfiles.constants_program(tmp_path / "constants.blend")
    ir = gb.import_blend(path)
    nodes = {n["type"]: n for n in _nodes(ir).values()}
    assert nodes["ShaderNodeValue"]["properties"] == {"value": 0.75}
    assert nodes["FunctionNodeInputInt"]["properties"]["integer"] == 7
    assert _agrees_with_blender(path, ir, [{}] + gb.sample_within_limits(ir["parameters"], 8, seed=4)) == []
    gb.export_blend(ir, tmp_path / "copy.blend")
    assert _nodes(gb.import_blend(tmp_path / "copy.blend"))["Value"]["properties"] == {"value": 0.75}


@pytest.mark.parametrize("shape", ["Box", "Tube", "Ball"])
def test_menu_switch_reads_its_menu_like_a_property(shape, tmp_path):
    for size in ("Small", "Large"):
        path = blendfiles.menu_program(tmp_path / "menu.blend", shape, size)
        ir = gb.import_blend(path)
        shapes, sizes = (_nodes(ir)[n] for n in ("Menu Switch", "Menu Switch.001"))
        assert shapes["properties"] == {"data_type": "GEOMETRY", "menu": shape, "items": ["Tube", "Ball", "Box"]}
        assert sizes["properties"]["menu"] == size and sizes["inputs"] == {"Item_0": 0.5, "Item_1": 2.0}
        links = [lk for lk in ir["groups"][0]["links"] if lk["to"][0] == "Menu Switch"]
        assert sorted(lk["to"][1] for lk in links) == ["Item_0", "Item_1", "Item_2"]  # renumbered in order
        assert _agrees_with_blender(path, ir, [{}, {"Scale": 1.7}, {"Scale": -0.4}]) == []


def test_exported_programs_evaluate_like_the_originals(tmp_path):
    """The exporter rebuilds Menu Switch items, materials by name, colour and string values."""
    for path in (blendfiles.chain_program(tmp_path / "chain.blend"),
                 blendfiles.menu_program(tmp_path / "menu.blend", "Ball", "Large")):
        ir = gb.import_blend(path)
        sets = [{}] + gb.sample_within_limits(ir["parameters"], 8, seed=4)
        original = gb.evaluate_in_blender(path, sets)
        rebuilt = gb.evaluate_in_blender(ir, sets)
        for a, b in zip(original, rebuilt):
            assert all((a[k] == b[k]).all() and a[k].shape == b[k].shape for k in a)
        gb.export_blend(ir, tmp_path / "copy.blend")
        back = gb.import_blend(tmp_path / "copy.blend")
        assert [n["properties"] for n in back["groups"][0]["nodes"]] == \
            [n["properties"] for n in ir["groups"][0]["nodes"]]


def test_a_menu_input_is_an_error(tmp_path):
    """A menu on the modifier (a menu parameter) is not supported yet; in 4.2 it is the only
    way to link a menu socket."""
    path = blendfiles.menu_program(tmp_path / "menu.blend", "Box", "Small")
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    tree = bpy.data.node_groups["Main"]
    tree.interface.new_socket("Size", in_out="INPUT", socket_type="NodeSocketMenu")
    tree.links.new(tree.nodes["Group Input"].outputs["Size"], tree.nodes["Menu Switch.001"].inputs["Menu"])
    bpy.ops.wm.save_as_mainfile(filepath=str(path), check_existing=False)
    with pytest.raises(IRError, match=r"menu.blend: group 'Main': interface socket 'Size' has unsupported "
                                      r"type NodeSocketMenu"):
        gb.import_blend(path)


def test_storing_position_off_the_point_domain_is_refused(tmp_path):
    path = blendfiles.chain_program(tmp_path / "chain.blend")
    ir = gb.import_blend(path)
    _nodes(ir)["Store Named Attribute"]["inputs"]["Name"] = "position"
    _nodes(ir)["Store Named Attribute"]["properties"]["domain"] = "FACE"
    with pytest.raises(IRError, match="node 'Store Named Attribute' \\(type GeometryNodeStoreNamedAttribute\\): storing 'position' is supported on the POINT"):
        load_program(ir).evaluate_one()


def test_an_unsupported_node_is_one_error_naming_group_node_and_type(tmp_path, capsys):
    path = blendfiles.unsupported_program(tmp_path / "legs.blend")
    with pytest.raises(UnsupportedNodeError) as err:
        gb.import_blend(path)
    assert str(err.value) == ("legs.blend: group 'Legs' node 'Split Edges' has type "
                              "GeometryNodeSplitEdges, which geonodes does not support (1 more unsupported "
                              "nodes; `geonodes info` lists the node types of a .blend)")
    capsys.readouterr()
    assert main(["import-blend", str(path), str(tmp_path / "legs.json")]) == 2
    cap = capsys.readouterr()
    assert cap.err.count("\n") == 1 and "Traceback" not in cap.err and not (tmp_path / "legs.json").exists()
    assert cap.err.startswith("geonodes import-blend: error: legs.blend: group 'Legs' node 'Split Edges'")
    # info lists the node types first, then gives the same one-line error
    assert main(["info", str(path)]) == 2
    cap = capsys.readouterr()
    assert "group 'Legs'" in cap.out and "unsupported node types: GeometryNodeSplitEdges, " \
        "GeometryNodeSubdivideCurve" in cap.out
    assert [line.split() for line in cap.out.splitlines() if "SplitEdges" in line][0] == \
        ["GeometryNodeSplitEdges", "1", "NOT", "SUPPORTED"]
    assert cap.err.startswith("geonodes info: error: legs.blend: group 'Legs'") and cap.err.count("\n") == 1


def test_info_of_a_blend_lists_node_types_then_parameters(tmp_path, capsys):
    path = blendfiles.chain_program(tmp_path / "chain.blend")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()  # (after Blender's own "Read blend: ..." lines)
    assert "chain.blend: object 'Thing', modifier 'GN', 1 node groups" in lines
    assert ["GeometryNodeViewer", "1", "dropped", "(no", "effect", "on", "the", "mesh)"] in \
        [line.split() for line in lines]
    assert "every node type is supported" in out and "program 'chain': 1 groups" in out
    width = next(line.split() for line in lines if line.split()[:1] == ["Width"])
    assert width[:4] == ["Width", "float", "[0.1,", "5]"] and "(soft)," in width


def test_starter_spec_reads_back(tmp_path, capsys):
    path = blendfiles.chain_program(tmp_path / "chain.blend")
    spec = tmp_path / "spec.json"
    assert main(["spec", str(path), "-o", str(spec)]) == 0
    doc = json.loads(spec.read_text())
    assert doc["params"]["Width"] == {"type": "float", "range": [0.1, 5.0]}
    assert doc["params"]["Count"] == {"type": "int", "range": [1, 9]}  # half-open
    doc["params"]["Width"]["range"] = [0.5, 2.0]
    doc["params"] = {"Size": {"type": "nested", "params": {"Width": doc["params"].pop("Width")}}, **doc["params"]}
    spec.write_text(json.dumps(doc))
    ir = gb.import_blend(path, spec)
    width = next(p for p in ir["parameters"] if p["name"] == "Width")
    assert (width["min"], width["max"], width["category"]) == (0.5, 2.0, "Size")
