"""`procsplat train` end to end on a tiny synthetic scene, resume, and edit -> export."""
import json
import subprocess
import sys

import pytest
import torch

from procsplat.data.config import SceneConfig
from procsplat.data.synth import SynthConfig, generate
from procsplat.errors import ProcsplatError
from procsplat.run.export import ExportConfig, run_export
from procsplat.run.rundir import load_checkpoint, load_run
from procsplat.splat.convert import ConvertConfig
from procsplat.splat.init import InitConfig
from procsplat.splat.ply import load_splats_ply
from procsplat.train.config import TrainConfig
from procsplat.train.trainer import Trainer, run_train

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_scene(tmp_path_factory):
    return generate(SynthConfig(out=tmp_path_factory.mktemp("scene"), seed=11, num_frames=10, width=128, height=96,
                                num_objects=2, categories=("table", "cabinet")), progress=False)


def tiny_cfg(scene, out, **kw):
    base = dict(data=SceneConfig(scene=str(scene), width=96), out=out, fit="gt", steps=6, checkpoint_every=2,
                video_frames=3, init=InitConfig(max_background=3000, max_gaussians_per_object=800))
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained_run(tiny_scene, tmp_path_factory):
    return run_train(tiny_cfg(tiny_scene, tmp_path_factory.mktemp("runs")), progress=False)


def test_train_writes_every_export(trained_run):
    for name in ("splats.ply", "scene.json", "model.pt", "metrics.json", "turntable.gif", "config.json"):
        assert (trained_run / name).is_file(), name
    meshes = sorted((trained_run / "meshes").glob("*.ply"))
    assert len(meshes) == 2
    assert sorted((trained_run / "renders").glob("heldout_*.png"))
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["psnr"] > 10 and 0 < metrics["ssim"] <= 1
    scene = json.loads((trained_run / "scene.json").read_text())
    assert scene["schema"] == "procsplat-scene" and scene["version"] == 1
    assert {o["program"] for o in scene["objects"]} == {"table", "cabinet"}
    splats = load_splats_ply(trained_run / "splats.ply")
    total = sum(o["num_gaussians"] for o in scene["objects"]) + scene["background"]["num_gaussians"]
    assert splats["means"].shape == (total, 3)


def test_resume_continues_from_checkpoint(tiny_scene, tmp_path):
    cfg = tiny_cfg(tiny_scene, tmp_path, steps=4)
    t = Trainer(cfg)
    t.train(progress=False)
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    resumed = Trainer(tiny_cfg(tiny_scene, tmp_path, steps=6, resume=True))
    resumed.prepare()
    assert resumed.step_count == 4
    for k, v in resumed.model.state_dict().items():
        assert torch.equal(v, before[k]), k
    resumed.train(progress=False)
    assert resumed.step_count == 6


def test_killed_run_resumes(tiny_scene, tmp_path):
    """A real interruption: the process is killed after its first checkpoint."""
    code = (f"import sys; sys.argv=['procsplat','train','--scene','{tiny_scene}','--out','{tmp_path}','--fit','gt',"
            "'--steps','400','--width','96','--checkpoint-every','2','--init.max-background','3000',"
            "'--init.max-gaussians-per-object','800']\n"
            "from procsplat.cli import main; main()")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / tiny_scene.name / "checkpoints" / "latest.pt"
    import time
    deadline = time.time() + 240
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    proc.kill()
    proc.wait()
    assert ckpt.exists()
    step = load_checkpoint(ckpt)["train"]["step"]
    t = Trainer(tiny_cfg(tiny_scene, tmp_path, steps=step + 2, resume=True))
    t.prepare()
    assert t.step_count == step > 0


def test_edit_then_export_moves_anchored_splats(trained_run, tmp_path):
    run = tmp_path / "run"
    import shutil
    shutil.copytree(trained_run, run)
    scene = json.loads((run / "scene.json").read_text())
    table = next(o for o in scene["objects"] if o["program"] == "table")
    old_height = table["parameters"]["Height"]
    table["parameters"]["Height"] = round(old_height - 0.2 if old_height > 0.8 else old_height + 0.2, 3)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(scene))
    before = load_splats_ply(run / "splats.ply")["means"]
    run_export(ExportConfig(run=run, params=edited))
    after = load_splats_ply(run / "splats.ply")["means"]
    _, model = load_run(run)
    obj_index = [s.instance_id for s in model.specs].index(table["instance_id"])
    start = sum(int(a.face.shape[0]) for a in list(model.anchored)[:obj_index])
    n = int(model.anchored[obj_index].face.shape[0])
    moved = (after[start:start + n] - before[start:start + n]).norm(dim=1)
    assert float(moved.max()) > 0.05  # the table's splats moved ...
    # ... and sit on the edited surface: each centre is on its own triangle's plane (offset ~ 0)
    v, t, _ = model.objects[obj_index].mesh()
    a = model.anchored[obj_index]
    tri = t[a.face]
    normal = torch.linalg.cross(v[tri[:, 1]] - v[tri[:, 0]], v[tri[:, 2]] - v[tri[:, 0]])
    normal = normal / normal.norm(dim=1, keepdim=True)
    dist = ((after[start:start + n].double() - v[tri[:, 0]]) * normal).sum(1).abs()
    assert float(dist.max()) < 0.01
    top_z = float(v[:, 2].max())
    assert top_z == pytest.approx(table["parameters"]["Height"], abs=0.02)
    assert json.loads((run / "scene.json").read_text())["objects"][0]["parameters"]


def test_export_refuses_bad_input(trained_run, tmp_path):
    with pytest.raises(ProcsplatError, match="incomplete run directory"):
        run_export(ExportConfig(run=tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"objects": [{"instance_id": 999, "parameters": {}}]}))
    with pytest.raises(ProcsplatError, match="unknown instance_id 999"):
        run_export(ExportConfig(run=trained_run, params=bad))


def test_pruning_anchored_gaussians_mid_run(tiny_scene, tmp_path):
    """--prune-anchored: at the start of the shape cycle at `prune_anchored_at` of the run, each object
    loses that fraction of its anchored Gaussians (the least contributing); training goes on, and a
    resumed run past that step does not prune again."""
    cfg = tiny_cfg(tiny_scene, tmp_path, steps=6, prune_anchored=0.25, prune_anchored_at=0.5)
    t = Trainer(cfg, log=lambda *a: None)
    t.prepare()
    assert t.prune_step() == 2  # int(0.5 x 6) = 3, down to the cycle start (shape_every 2)
    counts = [len(a.face) for a in t.model.anchored]
    for _ in range(2):
        t.step()
    assert [len(a.face) for a in t.model.anchored] == counts
    t.step()
    after = [len(a.face) for a in t.model.anchored]
    assert after == [n - int(0.25 * n) for n in counts]
    t.save_checkpoint()
    resumed = Trainer(tiny_cfg(tiny_scene, tmp_path, steps=6, prune_anchored=0.25, resume=True), log=lambda *a: None)
    resumed.prepare()
    resumed.train(progress=False)
    assert [len(a.face) for a in resumed.model.anchored] == after and resumed.step_count == 6


def test_converting_background_gaussians_mid_run(tiny_scene, tmp_path):
    """--convert.*: at the start of a whole shape cycle, background Gaussians on the fitted surfaces become
    anchored ones (the total count stays); training goes on, and a resumed run keeps them."""
    conv = ConvertConfig(every=5, start=0.0, stop=1.0, distance=0.05, normal_ratio=100.0)
    cfg = tiny_cfg(tiny_scene, tmp_path, steps=9, convert=conv, shape_every_settled=8)
    t = Trainer(cfg, log=lambda *a: None)
    t.prepare()
    assert [s for s in range(9) if t.is_convert_step(s)] == [8]  # 5 rounded up to whole cycles (lcm(2, 8))
    for _ in range(8):
        t.step()
    anchored, background = [len(a.face) for a in t.model.anchored], len(t.model.background.means)
    t.step()
    after = [len(a.face) for a in t.model.anchored]
    moved = sum(after) - sum(anchored)
    assert moved > 0 and all(n1 >= n0 for n0, n1 in zip(anchored, after))
    assert len(t.model.background.means) == background - moved
    t.save_checkpoint()
    resumed = Trainer(tiny_cfg(tiny_scene, tmp_path, steps=10, convert=conv, shape_every_settled=8, resume=True),
                      log=lambda *a: None)
    resumed.prepare()
    assert [len(a.face) for a in resumed.model.anchored] == after
    assert len(resumed.model.background.means) == background - moved
    resumed.train(progress=False)
    assert resumed.step_count == 10


def test_anchored_scales_have_their_own_learning_rate(tiny_scene, tmp_path):
    """--optim.anchored-scales sets the step of anchored Gaussians' in-plane and normal log-scales, apart from
    the background's --optim.scales (a short run reshapes anchored Gaussians faster than gsplat's 30k-step rate:
    `OptimConfig.anchored_scales`)."""
    from procsplat.train.config import OptimConfig

    t = Trainer(tiny_cfg(tiny_scene, tmp_path, optim=OptimConfig(anchored_scales=0.123, scales=0.0456)),
                log=lambda *a: None)
    t.prepare()
    lr = {id(p): g["lr"] for g in t.optimizer.param_groups for p in g["params"]}
    assert len(t.model.anchored) == 2
    for a in t.model.anchored:
        assert lr[id(a.log_scales_plane)] == lr[id(a.log_scale_normal)] == 0.123
    assert lr[id(t.model.background.log_scales)] == 0.0456
    assert OptimConfig().anchored_scales == 4 * OptimConfig().scales
