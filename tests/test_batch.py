"""`procsplat batch`: many scans as Ray tasks, a summary, failing scenes reported, reruns skipping what is done.

The Ray tests share one local runtime (module fixture: Ray starts in seconds, not milliseconds) and four tiny
synthetic scans in ScanNet's raw layout under one root, so they are named by ScanNet id with --scannet-root
as well as by path; the fourth has a truncated .sens.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
from io import StringIO
from pathlib import Path

import pytest

from procsplat.batch import BatchConfig, run_row, scene_list, summary_table
from procsplat.data.config import SceneConfig, open_scene
from procsplat.data.readers.sens import SensFile
from procsplat.data.synth import SynthConfig, generate
from procsplat.errors import ProcsplatError
from procsplat.fit.scene import FitStore, fit_scene
from procsplat.progress import Progress

IDS = ["scene0001_00", "scene0002_00", "scene0003_00"]
BAD = "scene0004_00"
TINY = ["--width", "64", "--steps", "4", "--checkpoint-every", "2", "--video-frames", "2",
        "--init.max-background", "1000", "--init.max-gaussians-per-object", "300",
        "ga:fast", "--ga.population", "8", "--ga.keep", "2", "--ga.offspring", "5", "--ga.generations", "1",
        "--ga.refine-steps", "0", "--ga.final-steps", "2", "--ga.sweep-rounds", "0"]
RUN_FILES = ["splats.ply", "scene.json", "model.pt", "metrics.json", "config.json", "turntable.gif",
             "checkpoints/latest.pt", "fits/object_001.json", "fits/object_002.json"]


def read_summary(out: Path) -> dict:
    with open(out / "summary.csv", newline="") as f:
        return {row["scene"]: row for row in csv.DictReader(f)}


def mtimes(run: Path) -> dict:
    return {str(p.relative_to(run)): p.stat().st_mtime_ns for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def scannet_root(tmp_path_factory) -> Path:
    """Three tiny scans (8 frames of 96x72, two tables each) and a fourth whose .sens is cut inside frame 5."""
    root = tmp_path_factory.mktemp("scannet")
    for k, scene_id in enumerate([*IDS, BAD]):
        generate(SynthConfig(out=root, seed=11 + k, scene_id=scene_id, num_frames=8, width=96, height=72,
                             num_objects=2, categories=("table",)), progress=False)
    sens_path = root / BAD / f"{BAD}.sens"
    sens = SensFile(sens_path)
    cut = int(sens.offsets[5] + sens.color_sizes[5] // 2)
    sens.close()
    os.truncate(sens_path, cut)
    return root


@pytest.fixture(scope="module")
def ray_runtime():
    """One local Ray runtime for the module's tests (`run_batch` uses a runtime this process started)."""
    ray = pytest.importorskip("ray")
    from procsplat.batch import start_ray

    start_ray(BatchConfig(out=Path("unused"), num_cpus=2))
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def first_batch(ray_runtime, scannet_root, tmp_path_factory):
    """`procsplat batch` over the four scans: ids on the command line and in a split file, one by path."""
    from procsplat.cli import main

    out = tmp_path_factory.mktemp("batch")
    split = out.parent / "split.txt"
    split.write_text(f"# validation\n{IDS[1]}\n\n{scannet_root / IDS[2]}   # by path\n{BAD}\n{IDS[0]}\n")
    stdout = StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["batch", IDS[0], "--split", str(split), "--scannet-root", str(scannet_root), "--out", str(out),
                     *TINY])
    return out, split, code, stdout.getvalue()


# -- without Ray --------------------------------------------------------------------------------------------------
def test_scene_list_reads_the_split_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "scans" / "a").mkdir(parents=True)
    split = tmp_path / "split.txt"
    split.write_text("scene0001_00\n  # a comment\n\nscans/a  # a path, made absolute\nscene0001_00\nscene0002_00\n")
    assert scene_list(BatchConfig(scenes=("scene0003_00", "scans/a"), split=split, out=tmp_path)) == [
        "scene0003_00", str(tmp_path / "scans" / "a"), "scene0001_00", "scene0002_00"]
    with pytest.raises(ProcsplatError, match="no scenes"):
        scene_list(BatchConfig(out=tmp_path))
    with pytest.raises(ProcsplatError, match="missing.txt"):
        scene_list(BatchConfig(split=tmp_path / "missing.txt", out=tmp_path))


def test_summary_table_and_row_of_a_partial_run(tmp_path):
    run = tmp_path / "scene0001_00"
    store = FitStore(run / "fits")
    store.save(1, {"instance_id": 1, "program": "table", "seconds": 2.5})
    store.save(2, {"instance_id": 2, "label": "table", "skipped": "too few points"})
    row = run_row(run)
    assert row["objects"] == 1 and row["programs"] == "table" and row["fit_s"] == 2.5 and "train_s" not in row
    assert "1 object(s) skipped" in row["message"]
    table = summary_table([{**row, "status": "failed", "message": "boom"},
                           {"scene": "scene0002_00", "status": "trained", "objects": 3, "programs": "table;chair;table",
                            "fit_s": 1.0, "train_s": 9.0, "psnr": 21.5}])
    lines = table.splitlines()
    assert lines[0].split() == ["scene", "status", "objects", "programs", "fit", "s", "train", "s", "PSNR", "message"]
    assert "2 table, chair" in lines[3] and "21.5" in lines[3] and lines[2].endswith("boom")


def test_progress_total_grows():
    stream = StringIO()
    with Progress("batch tasks", 2, stream=stream, tty=False, interval=0) as bar:
        bar.update(1, total=5)
        bar.update(5)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("batch tasks: 1/5 (20 %)") and lines[-1].startswith("batch tasks: 5/5 (100 %)"), lines


def test_training_without_fitting_refuses_missing_fits(scannet_root, tmp_path):
    scene, _ = open_scene(SceneConfig(scene=IDS[0], scannet_root=scannet_root, width=64), log=lambda *a: None)
    store = FitStore(tmp_path / "fits")
    store.save(1, {"instance_id": 1, "label": "table", "skipped": "too few points"})
    with pytest.raises(ProcsplatError, match=r"no fit of object\(s\) 2 of 'scene0001_00'"):
        fit_scene(scene, "fast", store=store, fit_missing=False, progress=False, log=lambda *a: None)
    assert sorted(p.name for p in store.folder.iterdir()) == ["object_001.json"]


# -- on Ray -------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_batch_trains_every_scene_and_reports_the_failing_one(first_batch, scannet_root):
    out, _, code, stdout = first_batch
    assert code == 1  # a scene failed; the others finished
    rows = read_summary(out)
    assert list(rows) == [IDS[0], IDS[1], IDS[2], BAD]
    for scene_id in IDS:
        row, run = rows[scene_id], out / scene_id
        assert row["status"] == "trained" and row["message"] == "", row
        assert row["objects"] == "2" and row["programs"] == "table;table"
        assert float(row["fit_s"]) > 0 and float(row["train_s"]) > 0 and float(row["psnr"]) > 0
        assert all((run / f).is_file() for f in RUN_FILES), sorted(mtimes(run))
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["steps"] == 4 and metrics["num_objects"] == 2
        assert metrics["seconds"] == pytest.approx(float(row["fit_s"]) + float(row["train_s"]), abs=0.11)
        log = (out / "_logs" / f"{scene_id}.log").read_text()
        tasks = re.findall(r"^== \S+ \S+ (.*): ok", log, re.M)
        assert tasks[0] == "plan" and sorted(tasks[1:-1]) == ["fit object 1", "fit object 2"] and tasks[-1] == "train"
        assert "reusing 2 of 2 fitted objects" in log  # the training task fitted nothing itself
    bad = rows[BAD]
    assert bad["status"] == "failed" and f"{BAD}.sens" in bad["message"] and "truncated" in bad["message"]
    assert not (out / BAD).exists()
    # the terminal: plain progress lines (not a terminal here) and the table
    assert re.search(r"^batch tasks: (\d+)/\1 \(100 %\)", stdout, re.M), stdout
    table = stdout[stdout.index("scene "):]
    assert all(re.search(rf"^{s} +trained +2 +2 table ", table, re.M) for s in IDS), table
    assert re.search(rf"^{BAD} +failed .*truncated", table, re.M), table
    assert "3 trained, 1 failed" in stdout


@pytest.mark.slow
def test_rerun_skips_what_is_done(first_batch, scannet_root):
    from procsplat.cli import main

    out, split, _, _ = first_batch
    before = {s: mtimes(out / s) for s in IDS}
    # an interrupted scene: its second fit and the end of training lost (the checkpoint at the last step kept)
    partial = out / IDS[1]
    for f in ("metrics.json", "fits/object_002.json"):
        (partial / f).unlink()
    kept_fit = before[IDS[1]]["fits/object_001.json"]
    assert main(["batch", IDS[0], "--split", str(split), "--scannet-root", str(scannet_root), "--out", str(out),
                 *TINY]) == 1
    rows = read_summary(out)
    assert [rows[s]["status"] for s in [*IDS, BAD]] == ["done before", "trained", "done before", "failed"]
    for s in (IDS[0], IDS[2]):  # finished scenes: not a file touched
        assert mtimes(out / s) == before[s]
    after = mtimes(partial)
    assert after["fits/object_001.json"] == kept_fit and "fits/object_002.json" in after
    log = re.split(r"^== ", (out / "_logs" / f"{IDS[1]}.log").read_text(), flags=re.M)[-3:]  # this run's tasks
    assert " plan: ok" in log[0] and "(1 fitted before)" in log[0], log
    assert " fit object 2: ok" in log[1] and " train: ok" in log[2] and "at step 4/4" in log[2], log
    assert json.loads((partial / "metrics.json").read_text())["steps"] == 4


def test_training_tasks_ask_for_a_gpu_only_when_training_on_cuda():
    from procsplat.batch import task_options

    cpu = task_options(BatchConfig(out=Path("unused"), threads=2))
    assert all(o == {"num_cpus": 2, "max_retries": 0} for o in cpu.values())
    cuda = task_options(BatchConfig(out=Path("unused"), device="cuda"))
    assert cuda["train"]["num_gpus"] == 1 and "num_gpus" not in cuda["fit"] and "num_gpus" not in cuda["plan"]


def test_cuda_training_on_a_runtime_without_gpus_is_refused(ray_runtime, scannet_root, tmp_path, capsys):
    """Ray would keep a task that asks for a GPU pending forever where there is none: one line and exit 2."""
    from procsplat.cli import main

    out = tmp_path / "out"
    code = main(["batch", IDS[0], "--scannet-root", str(scannet_root), "--out", str(out), "--device", "cuda", *TINY])
    assert code == 2
    err = capsys.readouterr().err
    assert "--device cuda" in err and "GPU" in err
    assert not (out / IDS[0]).exists()
