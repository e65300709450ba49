"""Discrete edits: Gaussians re-anchored on the new topology, appearance carried over per part
(`procsplat.splat.reanchor`), through `apply_edit`, `procsplat export` and the viewer's worker."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from procsplat.errors import ProcsplatError
from procsplat.fit.spec import ObjectSpec
from procsplat.splat.model import SceneModel, rgb_to_sh0


def chair_model(parameters: dict, max_per_object: int = 3000, sh_degree: int = 1) -> SceneModel:
    spec = ObjectSpec(7, "chair", "chair", dict(parameters), 0.4, [1.0, -0.5, 0.0], 1.1)
    return SceneModel([spec], None, sh_degree=sh_degree, max_per_object=max_per_object, seed=3)


def part_names_of(anchored) -> np.ndarray:
    """Each Gaussian's part name on its object's current mesh (evaluated independently)."""
    m = anchored.obj.world_mesh()
    return np.array([m.part_names[i] for i in m.part_id[anchored.face].tolist()], dtype=object)


def paint_parts(anchored) -> dict:
    """A distinct colour and opacity per part name (and random offsets, so positions are not on-face by
    construction); returns name -> (rgb, opacity logit)."""
    names = part_names_of(anchored)
    rng = np.random.default_rng(0)
    look = {}
    with torch.no_grad():
        for k, name in enumerate(sorted(set(names))):
            rgb = torch.tensor(rng.uniform(0.05, 0.95, 3))
            look[name] = (rgb, float(k) / 4 - 1.0)
            rows = torch.from_numpy(names == name)
            anchored.sh0[rows] = rgb_to_sh0(rgb)[None, None, :]
            anchored.shN[rows] = 0.1 * k
            anchored.opacity_logits[rows] = look[name][1]
        anchored.offset.copy_(torch.from_numpy(rng.uniform(-4e-3, 4e-3, len(names))))
    return look


def point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Distance of points (n,3) to triangles (n,3 each), row by row (Ericson's closest point)."""
    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = (ab * ap).sum(1), (ac * ap).sum(1)
    bp, cp = p - b, p - c
    d3, d4 = (ab * bp).sum(1), (ac * bp).sum(1)
    d5, d6 = (ab * cp).sum(1), (ac * cp).sum(1)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    denom = np.where(np.abs(va + vb + vc) > 1e-30, va + vb + vc, 1e-30)
    v, w = vb / denom, vc / denom
    q = a + ab * v[:, None] + ac * w[:, None]  # the interior case
    with np.errstate(divide="ignore", invalid="ignore"):
        cases = [((d1 <= 0) & (d2 <= 0), a), ((d3 >= 0) & (d4 <= d3), b), ((d6 >= 0) & (d5 <= d6), c)]
        t = np.clip(d1 / (d1 - d3), 0, 1)
        cases.append(((vc <= 0) & (d1 >= 0) & (d3 <= 0), a + ab * t[:, None]))
        t = np.clip(d2 / (d2 - d6), 0, 1)
        cases.append(((vb <= 0) & (d2 >= 0) & (d6 <= 0), a + ac * t[:, None]))
        t = np.clip((d4 - d3) / ((d4 - d3) + (d5 - d6)), 0, 1)
        cases.append(((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), b + (c - b) * t[:, None]))
    for mask, point in reversed(cases):  # the first case that holds wins
        q = np.where(mask[:, None], point, q)
    return np.linalg.norm(p - q, axis=1)


def state_of(anchored) -> dict:
    return {name: t.detach().clone() for name, t in anchored.state_dict().items()}


# -- re-anchoring ---------------------------------------------------------------------------------------
def test_discrete_edit_reanchors_gaussians_on_the_new_topology():
    from procsplat.run.rundir import apply_edit
    from procsplat.splat.reanchor import part_spans, triangle_areas

    model = chair_model({"Has Arms": False, "Legs Type": 0})
    a, obj = model.anchored[0], model.objects[0]
    paint_parts(a)
    before = state_of(a)
    names0 = part_names_of(a)
    means0 = a.world().means.detach().numpy()
    m0 = obj.program.evaluate_one(obj.parameters_dict(), dtype=torch.float64)
    area0 = triangle_areas(m0.vertices, m0.triangles)
    density = len(a.face) / float(area0[torch.unique(a.face)].sum())  # per m^2 of the faces that carry any

    t0 = time.perf_counter()
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Has Arms": True, "Legs Type": 2}}]})
    seconds = time.perf_counter() - t0
    print(f"re-anchoring {len(names0)} -> {len(a.face)} Gaussians: {seconds * 1000:.0f} ms")
    assert seconds < 3.0  # ~20-150 ms on these machines; a viewer control must feel immediate
    assert obj.parameters_dict()["Has Arms"] is True and obj.parameters_dict()["Legs Type"] == 2

    # Every face index is valid for the new mesh, and every Gaussian lies on its face (within its normal offset).
    mesh = obj.world_mesh()
    v, t = mesh.vertices.detach().numpy(), mesh.triangles.numpy()
    assert int(a.face.min()) >= 0 and int(a.face.max()) < len(t)
    g = a.world().means.detach().numpy()
    tri = t[a.face.numpy()]
    dist = point_triangle_distance(g, v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]])
    assert np.all(dist <= np.abs(a.offset.detach().numpy()) * 1.1 + 1e-9)

    # Parts of both topologies keep their Gaussians, and stay where they were in the world (the program
    # re-centres the chair on its new footprint; the pose takes that back). The four legs and stretchers go
    # (a five-star base replaces them), arms and the base are new surface.
    names1 = part_names_of(a)
    for name in ("Square Seat", "Back Panel"):
        np.testing.assert_allclose(g[names1 == name], means0[names0 == name], rtol=0, atol=1e-12)
    assert not any(n.startswith("Leg/") or "Stretcher" in n for n in names1)
    new = sorted({n for n in names1} - set(names0))
    assert {"Left Arm/Armrest", "Star Leg 3/Caster Wheel", "Gas Column"} <= set(new)
    # New parts get Gaussians at the object's density: per part round(density * area), at least one.
    spans = part_spans(mesh.part_id, mesh.part_names)
    m1 = obj.program.evaluate_one(obj.parameters_dict(), dtype=torch.float64)
    area1 = triangle_areas(m1.vertices, m1.triangles)
    assert {n for n, _, c in spans if c} == set(names1)  # no part is bare
    new_area = sum(float(area1[s:s + c].sum()) for n, s, c in spans if n in new)
    n_new = int(np.isin(names1, new).sum())
    parts_new = sum(1 for n, _, c in spans if n in new and c)
    assert abs(n_new - density * new_area) <= parts_new  # rounding: at most one per part
    assert n_new > 100

    # Back to the run's values: exactly the Gaussians it had (reversible, whatever the path).
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Seat Shape": 1}}]})
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Has Arms": False, "Legs Type": 0,
                                                                     "Seat Shape": 0}}]})
    after = state_of(a)
    assert after.keys() == before.keys()
    for name in before:
        if name == "obj.translation":  # moved there and back: float64 rounding
            torch.testing.assert_close(after[name], before[name], rtol=0, atol=1e-12)
        else:
            assert torch.equal(after[name], before[name]), name


def test_parts_that_stay_keep_their_gaussians_when_parts_before_them_go():
    """Removing the stretchers moves the back's triangles to lower indices: its Gaussians follow them."""
    from procsplat.run.rundir import apply_edit

    model = chair_model({"Has Middle Support": True, "Has Arms": True})
    a = model.anchored[0]
    paint_parts(a)
    names0, means0 = part_names_of(a), a.world().means.detach().numpy()
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Has Middle Support": False}}]})
    names1, means1 = part_names_of(a), a.world().means.detach().numpy()
    assert not any("Stretcher" in n for n in names1)
    assert sorted(set(names1)) == sorted(n for n in set(names0) if "Stretcher" not in n)
    assert len(names1) == sum("Stretcher" not in n for n in names0)
    for name in set(names1):  # nothing new: every part kept its Gaussians, in place
        np.testing.assert_allclose(means1[names1 == name], means0[names0 == name], rtol=0, atol=1e-12)


def test_reanchoring_is_deterministic():
    from procsplat.run.rundir import apply_edit

    states = []
    for _ in range(2):
        model = chair_model({"Legs Type": 1})
        paint_parts(model.anchored[0])
        apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Legs Type": 3, "Has Back": False}}]})
        states.append(state_of(model.anchored[0]))
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_new_gaussians_take_colour_opacity_and_sh_from_the_same_part():
    """A part of the same name (two more slats), a part made by another node at the same place (a round
    seat, round legs) and a part no old mesh had (arms) all get their appearance from one old part."""
    from procsplat.run.rundir import apply_edit

    model = chair_model({"Back Style": 1, "Slat Count": 3, "Round Legs": False, "Seat Shape": 0, "Has Arms": False})
    a = model.anchored[0]
    look = paint_parts(a)
    assert {"Slat", "Square Seat", "Leg/Square Leg", "Top Rail"} <= set(look)
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {
        "Slat Count": 5, "Seat Shape": 1, "Round Legs": True, "Has Arms": True}}]})
    names = part_names_of(a)
    rgb = (0.5 + 0.28209479177387814 * a.sh0.detach()[:, 0, :]).numpy()
    opacity = a.opacity_logits.detach().numpy()
    expected = {"Slat": "Slat", "Round Seat": "Square Seat", "Leg/Round Leg": "Leg/Square Leg",
                "Top Rail": "Top Rail", "Left Back Post": "Left Back Post"}
    for new, old in expected.items():
        rows = names == new
        assert rows.sum() > 5, new
        np.testing.assert_allclose(rgb[rows], np.broadcast_to(look[old][0].numpy(), rgb[rows].shape), atol=1e-9,
                                   err_msg=f"{new} should look like {old}")
        np.testing.assert_allclose(opacity[rows], look[old][1], atol=1e-9)
    # Five slats now, all of one colour; the arms (no old part made by these nodes) take one old part's
    # look, the same for the left and the right arm.
    assert (names == "Slat").sum() > 0
    for node in ("Armrest", "Arm Post"):
        left, right = rgb[names == f"Left Arm/{node}"], rgb[names == f"Right Arm/{node}"]
        assert len(left) and len(right)
        assert np.ptp(np.concatenate([left, right]), axis=0).max() < 1e-9
        assert any(np.allclose(left[0], c.numpy()) for c, _ in look.values())


def test_edit_rule_for_discrete_values():
    from procsplat.run.rundir import apply_edit, edit_object

    model = chair_model({})
    obj, a = model.objects[0], model.anchored[0]
    before = state_of(a)
    for params, message in (({"Legs Type": 4}, "out of range"), ({"Legs Type": 1.5}, "is an int"),
                            ({"Legs Type": True}, "is an int"), ({"Has Arms": "yes"}, "is a bool")):
        with pytest.raises(ProcsplatError, match=message):
            apply_edit(model, {"objects": [{"instance_id": 7, "parameters": params}]})
    with pytest.raises(ProcsplatError, match="needs the object's anchored Gaussians"):
        edit_object(obj, {"Has Arms": True})  # without the Gaussians to re-anchor
    # All or nothing: a valid discrete edit followed by a bad one leaves the model as it was.
    with pytest.raises(ProcsplatError, match="out of range"):
        apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Has Arms": True}},
                                       {"instance_id": 7, "parameters": {"Seat Height": 9.0}}]})
    assert obj.parameters_dict()["Has Arms"] is False
    assert all(torch.equal(state_of(a)[k], before[k]) for k in before)
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Legs Type": 2}}]})
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Legs Type": 0}}]})
    torch.testing.assert_close(obj.translation.detach(), before["obj.translation"], rtol=0, atol=1e-12)
    edit_object(obj, {"Legs Type": 2.0, "Has Arms": 1}, anchored=a)  # integral numbers and 0/1 are accepted
    assert obj.fixed["Legs Type"] == 2 and obj.fixed["Has Arms"] is True


def test_saved_model_rebuilds_the_edited_topology(tmp_path):
    """model.pt after a discrete edit holds the new discrete values; the object leaves its consistency group."""
    from procsplat.run.rundir import apply_edit, load_run
    from procsplat.run.export import export_model

    spec = ObjectSpec(7, "chair", "chair", {"Has Arms": False}, 0.4, [1.0, -0.5, 0.0], 1.1, group=0)
    model = SceneModel([spec, ObjectSpec(8, "chair", "chair", {"Has Arms": False}, 0.0, [3.0, 0.0, 0.0], 1.0,
                                         group=0)], None, max_per_object=1500)
    apply_edit(model, {"objects": [{"instance_id": 7, "parameters": {"Has Arms": True}}]})
    export_model(tmp_path / "run", model, "test", "nowhere")
    info, loaded = load_run(tmp_path / "run")
    assert loaded.objects[0].fixed["Has Arms"] is True and loaded.specs[0].group is None
    assert [o["instance_id"] for o in info.scene_doc["objects"]] == [7, 8]
    assert info.scene_doc["groups"] == [{"group": 0, "program": "chair", "instance_ids": [8],
                                         "discrete": info.scene_doc["groups"][0]["discrete"]}]
    with torch.no_grad():
        np.testing.assert_array_equal(loaded.anchored[0].world().means.numpy(), model.anchored[0].world().means.numpy())


# -- export ---------------------------------------------------------------------------------------------
def demo_run(tmp_path):
    """A run folder (model.pt, scene.json, splats.ply, meshes) of a chair and a table, without training."""
    from procsplat.run.export import export_model
    from procsplat.splat.model import BackgroundGaussians

    specs = [ObjectSpec(3, "chair", "chair", {"Has Arms": False}, 0.3, [0.5, 0.0, 0.0], 1.0),
             ObjectSpec(5, "table", "table", {"Legs Type": 0}, 0.0, [-0.8, 0.4, 0.0], 1.0)]
    gen = torch.Generator().manual_seed(0)
    background = BackgroundGaussians(torch.rand(200, 3, generator=gen) * 3 - 1.5, torch.rand(200, 3, generator=gen),
                                     0.03)
    model = SceneModel(specs, background, max_per_object=1500, seed=1)
    for a in model.anchored:
        paint_parts(a)
    run = tmp_path / "run"
    export_model(run, model, "demo", "nowhere")
    return run


def test_export_cli_writes_the_discretely_edited_run(tmp_path, capsys):
    from procsplat.cli import main
    from procsplat.run.rundir import apply_edit, load_run
    from procsplat.splat.ply import load_splats_ply

    run = demo_run(tmp_path)
    ply0 = load_splats_ply(run / "splats.ply")
    assert main(["export", str(run), "--set", "3:Has Arms=true", "--set", "5:Legs Type=1", "--set",
                 "3:Seat Height=0.5", "--out", str(tmp_path / "edited")]) == 0
    info, model = load_run(tmp_path / "edited")
    assert model.objects[0].parameters_dict()["Has Arms"] is True
    assert model.objects[1].parameters_dict()["Legs Type"] == 1
    assert model.objects[0].parameters_dict()["Seat Height"] == pytest.approx(0.5)
    doc = json.loads((tmp_path / "edited" / "scene.json").read_text())
    assert doc["objects"][1]["parameters"]["Legs Type"] == 1
    # The same edit in-process gives the same splats (deterministic), and the file is standard 3DGS.
    _, expect = load_run(run)
    apply_edit(expect, {"objects": [{"instance_id": 3, "parameters": {"Has Arms": True, "Seat Height": 0.5}},
                                    {"instance_id": 5, "parameters": {"Legs Type": 1}}]})
    ply = load_splats_ply(tmp_path / "edited" / "splats.ply")
    with torch.no_grad():
        g, _ = expect.gaussians()
    assert len(ply["means"]) == len(g) != len(ply0["means"])
    np.testing.assert_allclose(ply["means"], g.means.numpy(), atol=1e-5)
    np.testing.assert_allclose(ply["sh0"].reshape(len(g), -1), g.sh0.reshape(len(g), -1).numpy(), atol=1e-5)
    names = [p.name for p in (tmp_path / "edited" / "meshes").iterdir()]
    assert sorted(names) == ["object_003_chair.ply", "object_005_table.ply"]
    np.testing.assert_array_equal(load_splats_ply(run / "splats.ply")["means"], ply0["means"])  # --out: untouched

    # A whole scene document edited by hand (a discrete value changed, the pose left as it was): the parts
    # both topologies share stay in place, as with --set.
    doc = json.loads((run / "scene.json").read_text())
    doc["objects"][0]["parameters"]["Legs Type"] = 2  # a five-star base: the program re-centres the chair
    (tmp_path / "scene_edited.json").write_text(json.dumps(doc))
    assert main(["export", str(run), "--params", str(tmp_path / "scene_edited.json"), "--out",
                 str(tmp_path / "by_hand")]) == 0
    _, by_hand = load_run(tmp_path / "by_hand")
    _, original = load_run(run)
    seat = [(part_names_of(m.anchored[0]) == "Square Seat", m.anchored[0].world().means.detach().numpy())
            for m in (original, by_hand)]
    np.testing.assert_allclose(seat[1][1][seat[1][0]], seat[0][1][seat[0][0]], rtol=0, atol=1e-9)
    assert by_hand.objects[0].translation.tolist() != original.objects[0].translation.tolist()

    # --params: a scene document with discrete values, rewriting the run in place.
    edits = {"objects": [{"instance_id": 5, "parameters": {"Legs Type": 3, "Foot Type": 2}}]}
    (tmp_path / "edits.json").write_text(json.dumps(edits))
    assert main(["export", str(run), "--params", str(tmp_path / "edits.json")]) == 0
    assert load_run(run)[1].objects[1].fixed["Foot Type"] == 2

    for bad, message in ((["--set", "5:Legs Type=7"], "out of range"), (["--set", "9:Legs Type=1"], "unknown instance"),
                         (["--set", "Legs Type=1"], "ID:Name=value"), (["--set", "3:Has Arms=maybe"], "bool")):
        capsys.readouterr()
        assert main(["export", str(run), *bad]) == 2
        err = capsys.readouterr().err
        assert "procsplat export: error:" in err and message in err, err


# -- the viewer's worker --------------------------------------------------------------------------------
def test_viewer_discrete_control_reanchors_and_exports_the_same_splats(tmp_path):
    """The worker applies a discrete control's edit: the object's splats and mesh change count; the saved
    scene.json through `procsplat export --params` reproduces the viewer's exported splats exactly."""
    from procsplat.cli import main
    from procsplat.splat.ply import load_splats_ply
    from procsplat.view.worker import PARAM
    from test_viewer import open_test_session

    run = demo_run(tmp_path)
    server, session = open_test_session(run, cameras=0)
    try:
        controls = session.controls[0].params
        assert not controls["Has Arms"].disabled and not controls["Legs Type"].disabled
        assert controls["Arm Style"].disabled  # inactive while the chair has no arms
        n0, faces0 = len(session.nodes.splats[0].centers), session.nodes.meshes[0].faces.shape
        session.worker.edit(0, PARAM, "Has Arms", True)
        assert session.worker.wait_idle(60)
        assert session.model.objects[0].fixed["Has Arms"] is True, session.status.content
        assert "object 3: Has Arms = True: re-anchored" in session.status.content
        assert "4 new part(s)" in session.status.content and "kept" in session.status.content
        assert len(session.nodes.splats[0].centers) > n0 and session.nodes.meshes[0].faces.shape[0] > faces0[0]
        assert not controls["Arm Style"].disabled  # active now
        with torch.no_grad():
            np.testing.assert_allclose(session.nodes.splats[0].centers,
                                       session.model.anchored[0].world().means.numpy(), atol=1e-6)
        saved = session.save_scene().result(60)
        exported = session.export_splats().result(60)
        session.reset().result(60)
        assert len(session.nodes.splats[0].centers) == n0 and controls["Has Arms"].value is False
    finally:
        session.close()
        server.stop()
    assert main(["export", str(run), "--params", str(saved), "--out", str(tmp_path / "again")]) == 0
    np.testing.assert_allclose(load_splats_ply(tmp_path / "again" / "splats.ply")["means"],
                               load_splats_ply(exported)["means"], atol=1e-6)


@pytest.mark.slow
def test_browser_checkbox_adds_arms(tmp_path):
    """A real browser ticks the chair's "Has Arms": the edit reaches the model, the object's splats and mesh
    change count, and the page shows it."""
    from pathlib import Path

    from test_viewer import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, VIEWPORT, open_test_session, wait_stable

    if not Path(CHROMIUM).is_file():
        pytest.skip(f"{CHROMIUM} not installed (Debian: apt-get install -y chromium)")
    from playwright import sync_api  # a dev dependency: missing it is an error, not a skip

    run = demo_run(tmp_path)
    server, session = open_test_session(run, cameras=0)
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        obj = session.model.objects[0]
        n0, faces0 = len(session.nodes.splats[0].centers), session.nodes.meshes[0].faces.shape[0]
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"http://127.0.0.1:{server.get_port()}")
                label = page.locator("label", has_text="Has Arms").first
                label.wait_for(timeout=90_000)
                box = page.locator(f'[id="{label.get_attribute("for")}"]')
                assert not box.is_checked() and box.is_enabled()
                before = wait_stable(page)
                box.click()
                deadline = time.time() + 60
                while time.time() < deadline and obj.fixed["Has Arms"] is not True:
                    time.sleep(0.1)
                assert session.worker.wait_idle(60)
                assert obj.fixed["Has Arms"] is True, "the page's edit never reached the model"
                after = wait_stable(page)
                (ARTIFACTS / "viewer_discrete_after.png").write_bytes(page.screenshot())
            finally:
                browser.close()
        assert len(session.nodes.splats[0].centers) > n0 and session.nodes.meshes[0].faces.shape[0] > faces0
        changed = int((np.abs(after - before).sum(-1) > 24).sum())
        assert changed > 200, f"only {changed} pixels changed on the page"
    finally:
        session.close()
        server.stop()
