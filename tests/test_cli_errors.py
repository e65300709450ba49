"""The geonodes CLI: outputs, and bad input -> one-line error naming the place, exit != 0, no file."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geonodes.cli import main
from geonodes.errors import IRError
from geonodes.ir import load_ir
from irtools import link, node, program

CHAIR = Path(__file__).parent / "data" / "blender" / "chair.json"


def run_cli(args, capsys):
    rc = main([str(a) for a in args])
    err = capsys.readouterr().err.strip()
    return rc, err


def cube_program():
    return program([node("C", "GeometryNodeMeshCube")], [link(("C", "Mesh"), ("Group Output", "Out"))],
                   [{"name": "Size", "kind": "float", "default": 1.0, "min": 0.1, "max": 2.0}])


BAD = {
    "unknown node type": (lambda d: d["groups"][0]["nodes"].append(node("X", "GeometryNodeFancy")),
                          "node 'X' (type GeometryNodeFancy): unknown node type 'GeometryNodeFancy'"),
    "dangling link": (lambda d: d["groups"][0]["links"].append(link(("Nope", "Mesh"), ("Group Output", "Out"))),
                      "dangling link: no node 'Nope'"),
    "dangling socket": (lambda d: d["groups"][0]["links"].append(link(("C", "Mush"), ("Group Output", "Out"))),
                        "node 'C' has no output socket 'Mush'"),
    "cycle": (lambda d: (d["groups"][0]["nodes"].extend([node("A", "ShaderNodeMath"), node("B", "ShaderNodeMath")]),
                         d["groups"][0]["links"].extend([link(("A", "Value"), ("B", "Value")),
                                                         link(("B", "Value"), ("A", "Value"))])),
              "cycle through node"),
    "bad operation": (lambda d: d["groups"][0]["nodes"].append(node("M", "ShaderNodeMath", {"operation": "FOO"})),
                      "node 'M' (type ShaderNodeMath): property operation='FOO' is not supported"),
    "wrong kind": (lambda d: d["parameters"][0].update(kind="int"), "parameter 'Size': kind 'int' does not match"),
    "geometry into float": (lambda d: (d["groups"][0]["nodes"].append(node("M", "ShaderNodeMath")),
                                       d["groups"][0]["links"].append(link(("C", "Mesh"), ("M", "Value")))),
                            "cannot link GEOMETRY socket"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_programs_name_the_place(case, tmp_path, capsys):
    mutate, message = BAD[case]
    doc = cube_program()
    mutate(doc)
    path = tmp_path / "prog.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(IRError, match="prog.json"):
        load_ir(path)
    out = tmp_path / "out.ply"
    rc, err = run_cli(["eval", path, "-o", out], capsys)
    assert rc != 0 and message in err and "\n" not in err
    assert not out.exists()


def test_malformed_json(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "geonodes-ir", "version": 1,')
    rc, err = run_cli(["eval", path, "-o", tmp_path / "o.obj"], capsys)
    assert rc == 2 and "broken.json: malformed JSON" in err
    assert list(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("setting,message", [
    ("Foo=1", "unknown parameter 'Foo'"),
    ("Seat Height=1e39", "'Seat Height' = 1e+39 is outside Blender's limits [-3.40282e+38, 3.40282e+38]"),
    ("Seat Height=nan", "'Seat Height' = nan is not a finite number"),
    ("Legs Type=3000000000", "'Legs Type' = 3000000000 is outside Blender's limits [-2147483648, 2147483647]"),
    ("Seat Height=tall", "'Seat Height' is a float, got 'tall'"),
    ("Has Back=maybe", "'Has Back' is a bool"),
    ("Legs Type=0.5", "'Legs Type' is an int"),
    ("Seat Height", "expected \"Name=value\""),
])
def test_bad_parameters(setting, message, tmp_path, capsys):
    out = tmp_path / "c.ply"
    rc, err = run_cli(["eval", CHAIR, "--set", setting, "-o", out], capsys)
    assert rc == 2 and message in err
    assert not out.exists()


def test_values_outside_the_search_range_evaluate_with_one_warning_each(tmp_path, capsys):
    out = tmp_path / "c.npz"
    rc, err = run_cli(["eval", CHAIR, "--set", "Seat Height=5", "--set", "Seat Width=-0.2",
                       "--set", "Legs Type=7", "--set", "Seat Depth=0.5", "-o", out], capsys)
    lines = err.splitlines()
    assert rc == 0 and out.is_file() and len(lines) == 3
    assert lines[0] == ("geonodes eval: warning: parameter 'Seat Height' = 5 is outside its search range "
                        "[0.3, 0.9]; evaluating it anyway")
    assert "'Seat Width' = -0.2" in lines[1] and "'Legs Type' = 7 is outside its search range [0, 1]" in lines[2]
    assert np.load(out)["vertices"][:, 2].max() > 5  # the seat really is 5 m high


def test_eval_formats_and_values(tmp_path, capsys):
    for suffix in (".ply", ".obj", ".npz"):
        assert run_cli(["eval", CHAIR, "--set", "Seat Height=0.5", "--set", "Has Arms=true", "-o",
                        tmp_path / f"c{suffix}"], capsys)[0] == 0
    a = np.load(tmp_path / "c.npz")
    from plyfile import PlyData
    ply = PlyData.read(str(tmp_path / "c.ply"))
    np.testing.assert_allclose(np.stack([ply["vertex"][k] for k in "xyz"], 1), a["vertices"], atol=1e-6)
    assert len(ply["face"]) == len(a["face_offsets"]) - 1
    obj_v = [line for line in (tmp_path / "c.obj").read_text().splitlines() if line.startswith("v ")]
    assert len(obj_v) == len(a["vertices"])
    # Has Arms=true adds geometry compared with false; bool spellings agree
    main(["eval", str(CHAIR), "--set", "Has Arms=0", "-o", str(tmp_path / "n.npz")])
    main(["eval", str(CHAIR), "--set", "Has Arms=1", "--set", "Seat Height=0.5", "-o", str(tmp_path / "y.npz")])
    assert len(np.load(tmp_path / "n.npz")["vertices"]) < len(a["vertices"])
    np.testing.assert_array_equal(np.load(tmp_path / "y.npz")["vertices"], a["vertices"])


def test_info_and_sample(tmp_path, capsys):
    assert main(["info", str(CHAIR)]) == 0
    out = capsys.readouterr().out
    assert "20 parameters" in out and "Back Height" in out and "active if Has Back = true" in out
    rows = [line.split() for line in out.splitlines()[1:]]
    assert rows[0] == ["parameter", "kind", "search", "range", "limits", "default"]
    assert ["Seat", "Height", "float", "[0.3,", "0.9]", "[-3.40282e+38,", "3.40282e+38]", "0.6"] in rows
    assert main(["sample", str(CHAIR), "-n", "5", "--seed", "0", "-o", str(tmp_path / "s")]) == 0
    files = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert files == ["parameters.json"] + [f"sample_{i:03d}.ply" for i in range(5)]


def test_spec_writes_the_spec_format(tmp_path, capsys):
    out = tmp_path / "sp.json"
    assert main(["spec", str(CHAIR), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}: 20 parameters"
    doc = json.loads(out.read_text())
    assert (doc["class_name"], doc["blend_path"]) == ("chair", "chair.blend")
    legs = doc["params"]["Legs"]
    assert legs["type"] == "nested" and legs["params"]["Legs Type"] == {"type": "int", "range": [0, 2]}
    assert legs["params"]["Middle Offset"] == {"type": "float", "range": [0.0, 0.5],
                                               "or_dependencies": [["Legs Type", 0], "Has Middle Support"]}
    assert main(["spec", str(CHAIR), "-o", str(tmp_path / "no" / "sp.json")]) == 2
    assert "output folder does not exist" in capsys.readouterr().err


def test_console_script_exit_code(tmp_path):
    r = subprocess.run([sys.executable, "-m", "geonodes.cli", "eval", str(tmp_path / "none.json"), "-o",
                        str(tmp_path / "x.ply")], capture_output=True, text=True)
    assert r.returncode == 2 and "none.json: no such program file" in r.stderr


def test_every_error_is_a_geonodes_error():
    from geonodes import GeonodesError, ParameterError

    assert issubclass(IRError, GeonodesError) and issubclass(ParameterError, GeonodesError)
    assert issubclass(GeonodesError, ValueError)


@pytest.mark.parametrize("args,message", [
    (["eval", CHAIR, "-o", "{tmp}/c.xyz"], "geonodes eval: error: {tmp}/c.xyz: unsupported mesh format '.xyz'"),
    (["eval", CHAIR, "-o", "{tmp}/no/c.ply"], "geonodes eval: error: {tmp}/no/c.ply: output folder does not exist"),
    (["info", "{tmp}/binary.json"], "geonodes info: error: {tmp}/binary.json: cannot read"),
    (["sample", "{tmp}/none.json", "-o", "{tmp}/s"], "geonodes sample: error: {tmp}/none.json: no such program file"),
    (["gallery", "-o", "{tmp}/g", "--n", "0"], "geonodes gallery: error: n=0, cell=160: a gallery needs n >= 1"),
    (["export-blend", "{tmp}/none.json", "{tmp}/x.blend"],
     "geonodes export-blend: error: {tmp}/none.json: no such program file"),
    (["export-blend", CHAIR, "{tmp}/no/x.blend"],
     "geonodes export-blend: error: {tmp}/no/x.blend: output folder does not exist"),
])
def test_bad_input_is_one_line_and_no_output(args, message, tmp_path, capsys):
    (tmp_path / "binary.json").write_bytes(b"\xd0\xff\x00\x01")
    before = sorted(tmp_path.iterdir())
    rc, err = run_cli([str(a).format(tmp=tmp_path) for a in args], capsys)
    assert rc == 2 and err.startswith(message.format(tmp=tmp_path)) and "\n" not in err
    assert sorted(tmp_path.iterdir()) == before


def test_bugs_keep_their_traceback(tmp_path, monkeypatch):
    """Only GeonodesError is bad input; any other exception (even a ValueError) propagates."""
    import geonodes.meshio

    def broken(path, mesh):
        raise ValueError("a bug")

    monkeypatch.setattr(geonodes.meshio, "write_mesh", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["eval", str(CHAIR), "-o", str(tmp_path / "c.ply")])
