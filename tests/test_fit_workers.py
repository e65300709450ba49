"""`GAConfig.workers`: a scene's objects fitted at once in forked processes give the fits one process gives."""
import json
from dataclasses import replace

import pytest

from procsplat.errors import ProcsplatError
from procsplat.fit.workers import available_cores, map_unordered, worker_count


def test_worker_count():
    assert worker_count(1, 5) == 1
    assert worker_count(3, 2) == 2  # never more processes than fits
    assert worker_count(0, 100) == available_cores() >= 1
    assert worker_count(4, 0) == 1
    with pytest.raises(ProcsplatError, match="workers"):
        worker_count(-1, 3)


def _pid_of_square(x):
    import os

    return x * x, os.getpid()


def test_map_unordered_runs_in_other_processes_and_returns_every_item():
    import os

    items = list(range(6))
    out = dict(map_unordered(_pid_of_square, items, 2))
    assert sorted(out) == items and all(out[i][0] == i * i for i in items)
    assert all(pid != os.getpid() for _, pid in out.values())
    # one worker: in this process, in order
    assert [i for i, _ in map_unordered(_pid_of_square, items, 1)] == items
    assert all(pid == os.getpid() for _, (_, pid) in map_unordered(_pid_of_square, items, 1))


def test_a_failing_fit_raises_in_the_caller():
    def boom(x):
        if x == 2:
            raise ValueError("object 2 is broken")
        return x

    with pytest.raises(ValueError, match="object 2 is broken"):
        list(map_unordered(boom, [0, 1, 2, 3], 2))


@pytest.mark.slow
def test_two_workers_give_the_same_fits_and_store_each(tmp_path):
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.fit.scene import FitStore, fit_scene
    from procsplat.fit.search import preset

    scene_dir = generate(SynthConfig(out=tmp_path / "scenes", seed=21, num_frames=12, width=160, height=120,
                                     num_objects=3, categories=("table", "chair")), progress=False)
    scene = load_scene(scene_dir)
    ga = replace(preset("fast"), population=8, keep=2, offspring=5, generations=1, refine_steps=0, final_steps=2,
                 sweep_rounds=0)
    logs = []
    alone = fit_scene(scene, ga, progress=False, log=lambda *a: None)
    store = FitStore(tmp_path / "fits")
    together = fit_scene(scene, replace(ga, workers=2), progress=False, log=logs.append, store=store)
    assert any("in 2 processes" in line for line in logs)
    assert len(alone) == len(together) >= 2
    for (a, da), (b, db) in zip(alone, together):
        assert a.instance_id == b.instance_id and a.parameters == b.parameters
        assert a.yaw == pytest.approx(b.yaw, abs=1e-9) and da["loss"] == pytest.approx(db["loss"], rel=1e-9)
        assert da.get("group") == db.get("group")
        saved = json.loads(store.path(b.instance_id).read_text())
        assert saved["parameters"] == db["parameters"]


@pytest.mark.slow
def test_bench_fit_workers_same_rows_and_wall_line(tmp_path, capsys):
    from procsplat.cli import main

    args = ["bench-fit", "--scenes", "1", "--seed", "31", "--methods", "ga", "--num-objects", "2", "--frames", "10",
            "--width", "160", "--out", str(tmp_path / "scenes")]
    assert main(args + ["--json-out", str(tmp_path / "one.json"), "--workers", "1"]) == 0
    assert main(args + ["--json-out", str(tmp_path / "two.json"), "--workers", "2", "--ceiling"]) == 0
    out = capsys.readouterr().out
    assert "with 1 process(es)" in out and "with 2 process(es)" in out and "s/object" in out
    assert out.count("true discrete parameters have another value these scans have no evidence against") == 1
    assert "fitted synth" in out and "truth refinement and metrics, benchmark only" in out
    one, two = (json.loads((tmp_path / f).read_text())["rows"] for f in ("one.json", "two.json"))
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):
        assert (a["scene"], a["object"], a["discrete_acc"]) == (b["scene"], b["object"], b["discrete_acc"])
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-9)
        assert "chance_hits" not in a and 0 <= len(b["no_evidence"]) <= b["num_discrete"]
        assert b["num_discrete"] - len(b["no_evidence"]) <= b["chance_hits"] <= b["num_discrete"]


def test_auto_workers_stay_in_process_beside_other_threads():
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert worker_count(0, 8) == 1  # a viewer's server thread: no fork
        assert worker_count(2, 8) == 2  # asked for explicitly
    finally:
        stop.set()
        t.join()


@pytest.mark.slow
def test_ctrl_c_keeps_finished_fits_and_leaves_no_process(tmp_path):
    """`procsplat fit` with two worker processes, interrupted once the first object is saved: exit 130
    with one line (no traceback), the finished fit on disk, no worker left; --resume fits the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from procsplat.data.synth import SynthConfig, generate

    scene = generate(SynthConfig(out=tmp_path / "scenes", seed=21, num_frames=12, width=160, height=120,
                                 num_objects=3, categories=("table", "chair")), progress=False)
    out = tmp_path / "fits"
    cmd = [sys.executable, "-m", "procsplat.cli", "fit", "--scene", str(scene), "--out", str(out), "--width", "160",
           "ga:fast", "--ga.workers", "2", "--ga.generations", "3"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # a shell's background job (CI under `cmd &`) inherits SIGINT ignored, and Python then keeps it
    # ignored: give the command the default disposition, as a terminal's foreground job has
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in p.stdout:  # wait for the first finished object
        lines.append(line)
        if "evaluations" in line:
            break
    os.killpg(p.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group, workers included
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err  # 0: the interrupt was ignored (two fits were still running)
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err.splitlines()[-1]
    saved = sorted((out / scene.name).glob("object_*.json"))
    assert saved, "the object that finished before Ctrl-C was not kept"
    time.sleep(1)
    with pytest.raises(ProcessLookupError):  # the group is gone: no worker left behind
        os.killpg(p.pid, 0)
    resume = cmd[:cmd.index("ga:fast")] + ["--resume"] + cmd[cmd.index("ga:fast"):]
    r = subprocess.run(resume, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"reusing {len(saved)} of" in r.stdout
