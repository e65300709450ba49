"""User-facing reliability of `procsplat`: clear one-line errors, skipped frames, no half-written runs,
file modes, plain progress lines, resumable fitting and training, refused unsafe checkpoints.

Every test builds a tiny scene (a synthetic room in ScanNet's raw layout, or a hand-written 7-Scenes folder)
and runs the real pipeline on it for a few steps.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from procsplat.cli import main
from procsplat.data.config import SceneConfig, open_scene
from procsplat.data.readers.sens import SensFile, write_sens
from procsplat.data.synth import SynthConfig, generate
from procsplat.fit.search import preset
from procsplat.fit.spec import ObjectSpec
from procsplat.progress import Progress
from procsplat.run.rundir import load_checkpoint
from procsplat.splat.init import InitConfig
from procsplat.train.config import TrainConfig
from procsplat.train.trainer import Trainer, run_train

SCENE_ID = "synth0003_00"
TINY = ["--fit", "gt", "--width", "64", "--video-frames", "2", "--checkpoint-every", "2",
        "--init.max-background", "1000", "--init.max-gaussians-per-object", "300"]
TINY_GA = preset("fast", population=8, keep=2, offspring=5, generations=1, refine_steps=0, final_steps=2,
                 sweep_rounds=0)


# -- fixtures and helpers ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """A synthetic room with two tables, 8 frames of 96x72, in ScanNet's raw layout."""
    return generate(SynthConfig(out=tmp_path_factory.mktemp("scene"), seed=3, num_frames=8, width=96, height=72,
                                num_objects=2, categories=("table",)), progress=False)


@pytest.fixture(scope="module")
def finished_run(scene, tmp_path_factory) -> Path:
    """A finished 4-step `procsplat train` run of `scene` (copy it before changing it)."""
    out = tmp_path_factory.mktemp("runs")
    assert main(["train", "--scene", str(scene), "--out", str(out), "--steps", "4", *TINY]) == 0
    return out / SCENE_ID


def copy_scene(scene: Path, parent: Path) -> Path:
    """A copy of the scene folder (keeping its name, which is the ScanNet scene id)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copytree(scene, parent / scene.name))


def tiny_cfg(scene: Path, out: Path, **kw) -> TrainConfig:
    base = dict(data=SceneConfig(scene=str(scene), width=64), out=out, fit="gt", steps=4, checkpoint_every=2,
                video_frames=2, init=InitConfig(max_background=1000, max_gaussians_per_object=300))
    base.update(kw)
    return TrainConfig(**base)


def write_sevenscenes(folder: Path, n: int = 6, lost: tuple = (2, 4), width: int = 64, height: int = 48) -> Path:
    """A 7-Scenes style folder: frame-XXXXXX.color.png, .depth.png (uint16 mm), .pose.txt (4x4); the frames in
    `lost` have all -inf poses (tracking lost), as ScanNet and 7-Scenes mark them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "camera-intrinsics.txt").write_text("60 0 32\n0 60 24\n0 0 1\n")
    rng = np.random.default_rng(0)
    for i in range(n):
        stem = folder / f"frame-{i:06d}"
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(f"{stem}.color.png")
        depth = (1500 + 400 * rng.random((height, width))).astype(np.uint16)
        Image.fromarray(depth).save(f"{stem}.depth.png")
        pose = np.eye(4)
        pose[:3, 3] = [0.05 * i, 0.0, 0.0]
        np.savetxt(f"{stem}.pose.txt", np.full((4, 4), -np.inf) if i in lost else pose)
    return folder


def error_line(err: str) -> str:
    """The one line a CLI error is: exactly one non-empty stderr line, no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1"}


# -- 1. a scene that is not there -------------------------------------------------------------------------------
def test_missing_scene_is_named_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--scene", "./typo", "--out", "runs"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "./typo" in line and "not found" in line
    assert "SCANNET_ROOT is not set" not in line
    assert not (tmp_path / "runs").exists()

    monkeypatch.delenv("SCANNET_ROOT", raising=False)
    assert main(["train", "--scene", "scene0011_00", "--out", "runs"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "scene0011_00" in line and "--scannet-root" in line

    (tmp_path / "scannet").mkdir()  # a root without the scene: the scene is named as not found
    assert main(["train", "--scene", "scene0011_00", "--scannet-root", "scannet", "--out", "runs"]) == 2
    line = error_line(capsys.readouterr().err)
    assert "scene0011_00" in line and "not found" in line


# -- 2. frames with non-finite poses ----------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["sevenscenes", "sens"])
def test_frames_with_nonfinite_poses_are_reported_and_dropped(layout, tmp_path):
    if layout == "sevenscenes":
        path = write_sevenscenes(tmp_path / "seven", n=6, lost=(2, 4))
    else:
        rng = np.random.default_rng(1)
        frames = []
        for i in range(6):
            pose = np.eye(4)
            pose[0, 3] = 0.05 * i
            frames.append((rng.integers(0, 256, (48, 64, 3), dtype=np.uint8),
                           np.full((48, 64), 1.5, np.float32), np.full((4, 4), -np.inf) if i in (2, 4) else pose))
        path = tmp_path / "lost.sens"
        K = np.array([[60.0, 0, 32], [0, 60, 24], [0, 0, 1]])
        write_sens(path, frames, K, K)
    lines = []
    scene, _ = open_scene(SceneConfig(scene=str(path), width=64), log=lines.append)
    assert len(lines) == 2 and " up [" in lines[1], lines  # the skipped frames, then the up found (no known up)
    assert "2 frame(s)" in lines[0] and "non-finite pose" in lines[0] and "frames 2, 4" in lines[0]
    assert scene.frames.ids == [0, 1, 3, 5]
    assert scene.skipped_frames == [2, 4]
    assert np.isfinite(scene.frames.poses).all()
    assert [scene.frames[k].index for k in range(len(scene.frames))] == [0, 1, 3, 5]


# -- 3. a failed run leaves no run folder -----------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["sevenscenes", "sens"])
def test_failed_run_leaves_no_run_folder(layout, scene, tmp_path, capsys):
    if layout == "sevenscenes":  # frame 3's depth PNG cut short: the reader fails when training reads it
        path = write_sevenscenes(tmp_path / "seven", n=6, lost=())
        bad = path / "frame-000003.depth.png"
        bad.write_bytes(bad.read_bytes()[:60])
        expected, fit = ["frame-000003.depth.png"], "none"
    else:  # frame 3's zlib depth data zeroed inside the .sens file
        path = copy_scene(scene, tmp_path / "scan")
        sens_path = path / f"{SCENE_ID}.sens"
        sens = SensFile(sens_path)
        start = int(sens.offsets[3] + sens.color_sizes[3])
        data = bytearray(sens_path.read_bytes())
        data[start:start + int(sens.depth_sizes[3])] = bytes(int(sens.depth_sizes[3]))
        sens.close()
        sens_path.write_bytes(bytes(data))
        expected, fit = [f"{SCENE_ID}.sens", "frame 3"], "gt"
    out = tmp_path / "runs"
    args = ["train", "--scene", str(path), "--out", str(out), "--steps", "2", *TINY]
    args[args.index("--fit") + 1] = fit
    assert main(args) == 2
    line = error_line(capsys.readouterr().err)
    assert line.startswith("procsplat train: error: ")
    for part in expected:
        assert part in line
    assert not (out / path.name).exists()


# -- 4. file modes follow the umask -----------------------------------------------------------------------------
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)], ids=["umask022", "umask027"])
def test_outputs_honour_the_umask(umask, mode, scene, tmp_path):
    old = os.umask(umask)
    try:
        assert main(["train", "--scene", str(scene), "--out", str(tmp_path), "--steps", "2", *TINY]) == 0
    finally:
        os.umask(old)
    run = tmp_path / SCENE_ID
    files = sorted(p for p in run.rglob("*") if p.is_file())
    names = {p.relative_to(run).as_posix() for p in files}
    for required in ("splats.ply", "scene.json", "model.pt", "metrics.json", "turntable.gif",
                     "checkpoints/latest.pt", "config.json"):
        assert required in names, sorted(names)
    assert any(n.startswith("meshes/") and n.endswith(".ply") for n in names)
    assert any(n.startswith("renders/") and n.endswith(".png") for n in names)
    assert not [n for n in names if n.endswith(".tmp")]
    wrong = {p.relative_to(run).as_posix(): oct(stat.S_IMODE(p.stat().st_mode)) for p in files
             if stat.S_IMODE(p.stat().st_mode) != mode}
    assert not wrong, f"expected {oct(mode)}: {wrong}"


# -- 5. plain progress lines off a terminal ---------------------------------------------------------------------
def test_progress_writes_plain_lines_off_a_terminal(scene, tmp_path):
    stream = StringIO()
    with Progress("train", 10, stream=stream, interval=0) as bar:
        assert bar.tty is False
        bar.update(3, loss=0.25)
        bar.update(10, loss=0.125)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert re.match(r"^train: 3/10 \(30 %\), \d+ s", lines[0]) and lines[0].endswith("loss 0.25")
    assert re.match(r"^train: 10/10 \(100 %\), \d+ s", lines[1])
    assert "\x1b" not in stream.getvalue()

    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        proc = subprocess.run([sys.executable, "-m", "procsplat.cli", "train", "--scene", str(scene), "--out",
                               str(tmp_path / "runs"), "--steps", "3", *TINY], stdout=f, stderr=subprocess.PIPE,
                              text=True, env=subprocess_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = log.read_text()
    assert re.search(r"^train: \d+/3 \(\d+ %\)", text, re.M), text
    assert re.search(r"^train: 3/3 \(100 %\)", text, re.M), text
    assert "\x1b" not in text


# -- 6. fitted objects are saved one by one and --resume reuses them ----------------------------------------------
def test_resume_reuses_fitted_objects(scene, tmp_path):
    def prepare(resume: bool) -> tuple[Trainer, list]:
        lines = []
        trainer = Trainer(tiny_cfg(scene, tmp_path, fit="ga", ga=TINY_GA, resume=resume), log=lines.append)
        trainer.prepare()
        return trainer, lines

    first, lines = prepare(resume=False)
    fits = first.run / "fits"
    assert sorted(p.name for p in fits.glob("*.json")) == ["object_001.json", "object_002.json"]
    assert len(first.specs) == 2
    assert not [line for line in lines if "reusing" in line]
    assert not (first.run / "checkpoints" / "latest.pt").exists()  # prepare() alone writes no checkpoint

    # an interrupted fitting stage: object 1 finished, object 2 did not
    kept, dropped = fits / "object_001.json", fits / "object_002.json"
    dropped.unlink()
    kept_text, kept_mtime = kept.read_text(), kept.stat().st_mtime_ns
    time.sleep(0.05)
    second, lines = prepare(resume=True)
    reusing = [line for line in lines if "reusing" in line]
    assert len(reusing) == 1 and reusing[0].startswith("reusing 1 of 2 fitted objects"), lines
    fitted = [line for line in lines if line.strip().startswith("object ")]
    assert len(fitted) == 1 and fitted[0].strip().startswith("object 2 "), lines  # only the missing one
    assert kept.read_text() == kept_text and kept.stat().st_mtime_ns == kept_mtime
    assert dropped.is_file()
    assert [s.instance_id for s in second.specs] == [1, 2]
    assert second.specs[0].to_json() == ObjectSpec.from_json(json.loads(kept_text)).to_json()

    # without --resume the run starts over: every object is fitted again
    time.sleep(0.05)
    third, lines = prepare(resume=False)
    assert not [line for line in lines if "reusing" in line], lines
    fitted = [line.strip().split()[1] for line in lines if line.strip().startswith("object ")]
    assert sorted(fitted) == ["1", "2"], lines  # (objects fitted at once finish in either order)
    assert kept.stat().st_mtime_ns != kept_mtime


# -- 7. training time is summed over resumes ---------------------------------------------------------------------
class SlowObserver:
    """An observer that takes its time on every step (as a live viewer can)."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_step(self, trainer, loss):
        time.sleep(self.seconds)


def test_seconds_are_summed_over_resumes(scene, tmp_path):
    first = Trainer(tiny_cfg(scene, tmp_path, steps=2, checkpoint_every=2), log=lambda *a: None,
                    callbacks=[SlowObserver(1.5)])
    first.train(progress=False)
    ckpt = first.run / "checkpoints" / "latest.pt"
    before = float(load_checkpoint(ckpt)["train"]["seconds"])
    assert before >= 3.0

    start = time.monotonic()
    run = run_train(tiny_cfg(scene, tmp_path, steps=4, checkpoint_every=2, resume=True), progress=False,
                    log=lambda *a: None)
    second_session = time.monotonic() - start
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 4
    assert before <= metrics["seconds"] <= before + second_session + 0.5
    after = load_checkpoint(ckpt)["train"]
    assert after["step"] == 4 and before <= float(after["seconds"]) <= metrics["seconds"]


# -- 8. a truncated .sens file -----------------------------------------------------------------------------------
def test_truncated_sens_needs_allow_truncated(scene, tmp_path, capsys):
    path = copy_scene(scene, tmp_path / "scan")
    sens_path = path / f"{SCENE_ID}.sens"
    sens = SensFile(sens_path)
    cut = int(sens.offsets[6] + sens.color_sizes[6] // 2)  # inside frame 6's colour data
    sens.close()
    os.truncate(sens_path, cut)
    out = tmp_path / "runs"
    args = ["train", "--scene", str(path), "--out", str(out), "--steps", "2", *TINY]
    assert main(args) == 2
    line = error_line(capsys.readouterr().err)
    assert f"{SCENE_ID}.sens" in line and "truncated" in line and "--allow-truncated" in line
    assert not (out / SCENE_ID).exists()

    with pytest.warns(UserWarning, match="keeping the 6 complete frames"):
        assert main([*args, "--allow-truncated"]) == 0
    assert json.loads((out / SCENE_ID / "metrics.json").read_text())["steps"] == 2
    with pytest.warns(UserWarning, match="truncated"):
        loaded, _ = open_scene(SceneConfig(scene=str(path), width=64, allow_truncated=True), log=lambda *a: None)
    assert loaded.frames.ids == [0, 1, 2, 3, 4, 5]
    assert loaded.frames[5].depth.shape == (48, 64)


# -- 9. model.pt is read as data only ----------------------------------------------------------------------------
class OpenPayload:
    """Unpickling this creates the marker file (what a malicious model.pt would do)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


class ShellPayload(OpenPayload):
    """Unpickling this runs a shell command that creates the marker file."""

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def test_unsafe_or_malformed_model_pt_is_refused(finished_run, tmp_path, capsys):
    run = Path(shutil.copytree(finished_run, tmp_path / "run"))
    marker = tmp_path / "marker"
    for payload in (OpenPayload(marker), ShellPayload(marker)):
        torch.save({"schema": "procsplat-model", "version": 2, "model": payload}, run / "model.pt")
        for args in (["export", str(run)], ["view", str(run), "--port", str(free_port())]):
            assert main(args) == 2, args
            line = error_line(capsys.readouterr().err)
            assert f"procsplat {args[0]}: error: " in line and str(run / "model.pt") in line
            assert "could run code" in line
            assert not marker.exists()

    (run / "model.pt").write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert main(["export", str(run)]) == 2
    line = error_line(capsys.readouterr().err)
    assert str(run / "model.pt") in line and "corrupt" in line
    assert "could run code" not in line  # random bytes are not a code payload

    (run / "model.pt").write_text("hello, not a checkpoint\n")
    assert main(["export", str(run)]) == 2
    line = error_line(capsys.readouterr().err)
    assert str(run / "model.pt") in line and "corrupt" in line

    torch.save({"weights": torch.zeros(3)}, run / "model.pt")
    assert main(["export", str(run)]) == 2
    line = error_line(capsys.readouterr().err)
    assert str(run / "model.pt") in line and '"schema": "procsplat-model"' in line
    assert not marker.exists()


# -- 10. a scan with no procedural objects says why ----------------------------------------------------------------
def test_no_objects_says_why(scene, tmp_path, capsys):
    seven = write_sevenscenes(tmp_path / "seven", n=6, lost=())
    args = ["train", "--scene", str(seven), "--out", str(tmp_path / "runs"), "--steps", "1", *TINY]
    args[args.index("--fit") + 1] = "ga"
    assert main(args) == 0
    why = [line for line in capsys.readouterr().out.splitlines() if line.startswith("no procedural objects:")]
    assert len(why) == 1 and "no instance labels" in why[0], why

    relabelled = copy_scene(scene, tmp_path / "scan")  # every table becomes a plant, which has no program
    agg_path = relabelled / f"{SCENE_ID}.aggregation.json"
    agg = json.loads(agg_path.read_text())
    for group in agg["segGroups"]:
        group["label"] = "plant" if group["label"] == "table" else group["label"]
    agg_path.write_text(json.dumps(agg))
    args[args.index("--scene") + 1] = str(relabelled)
    assert main(args) == 0
    why = [line for line in capsys.readouterr().out.splitlines() if line.startswith("no procedural objects:")]
    assert len(why) == 1, why
    assert "labels: floor, plant, wall" in why[0] and "no instance labels" not in why[0]


# -- 11. a finished run has its documents, and --resume does not retrain it ------------------------------------------
def test_finished_run_and_resume_does_not_retrain(finished_run, tmp_path, capsys):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["psnr"] is not None and metrics["seconds"] > 0
    scene_doc = json.loads((finished_run / "scene.json").read_text())
    assert scene_doc["schema"] == "procsplat-scene" and len(scene_doc["objects"]) == 2

    out = tmp_path / "out"
    run = Path(shutil.copytree(finished_run, out / SCENE_ID))
    before = load_checkpoint(run / "model.pt")["model"]
    scene_path = json.loads((run / "config.json").read_text())["data"]["scene"]
    capsys.readouterr()
    assert main(["train", "--scene", scene_path, "--out", str(out), "--steps", "4", "--resume", *TINY]) == 0
    stdout = capsys.readouterr().out
    assert "at step 4/4" in stdout and not re.search(r"^train: ", stdout, re.M), stdout
    assert load_checkpoint(run / "checkpoints" / "latest.pt")["train"]["step"] == 4
    assert json.loads((run / "metrics.json").read_text())["steps"] == 4
    after = load_checkpoint(run / "model.pt")["model"]
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
