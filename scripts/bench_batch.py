"""`procsplat batch` against the same scenes trained one after another with `procsplat train`.

    python scripts/bench_batch.py [--scenes 4] [--frames 24] [--width 160] [--height 120] [--objects 2]
                                  [--steps 250] [--preset fast]
    python scripts/bench_batch.py --cost 160x120x24 224x168x48 320x240x48   # the cost model (docs/scale.md)

Generates N small synthetic scenes (fixed seeds: 9401, 9402, ... by default), then runs, in this order and
in this one process's lifetime:
  (a) `procsplat train --scene S` for each scene, one subprocess after another, torch's default threads
      (every core), the peer;
  (b) `procsplat batch S1 ... SN`: a local Ray runtime on every core, one thread per task (an object's fit,
      a scene's training).
Both with the same settings (`--width`, `--steps`, the GA preset). Prints the wall time of each (whole
commands: imports and Ray's start-up included), the ratio (a) / (b), the load average before and after,
held-out PSNR of both (the same work was done), the per-object fit and per-step training seconds, and
the peak memory (RSS) of one `procsplat train` process and of the batch's process tree (Ray's own
processes, its workers; sampled from /proc every 0.2 s).

`--cost` measures instead, per scene size and with one torch thread (a task's setting): seconds per object
fit by program, per training step, of initialisation and evaluation, and peak memory.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# -- memory of a process tree, from /proc ---------------------------------------------------------------------------
def _children() -> dict:
    kids: dict = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int(next(line for line in (d / "status").read_text().splitlines()
                                if line.startswith("PPid:")).split()[1])
            except (OSError, StopIteration, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    return kids


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")[:40]
    except OSError:
        return "?"


class TreeMemory(threading.Thread):
    """Peak RSS of a process and its descendants: the tree's total and the largest single process."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak_total = self.peak_one = 0.0
        self.peak_one_name = ""
        self.peak_worker = 0.0  # the largest Ray task worker ("ray::..." process title)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            kids, todo, pids = _children(), [self.pid], []
            while todo:
                p = todo.pop()
                pids.append(p)
                todo += kids.get(p, [])
            sizes = {p: _rss_mb(p) for p in pids}
            self.peak_total = max(self.peak_total, sum(sizes.values()))
            for p, mb in sizes.items():
                if mb > self.peak_one:
                    self.peak_one, self.peak_one_name = mb, _name(p)
                if mb > self.peak_worker and _name(p).startswith("ray::"):
                    self.peak_worker = mb
            self._halt.wait(self.every)

    def stop(self) -> "TreeMemory":
        self._halt.set()
        self.join()
        return self


def timed(cmd: list[str], env: dict, log: Path) -> tuple[float, TreeMemory]:
    start = time.monotonic()
    with open(log, "a") as f:
        proc = subprocess.Popen(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=ROOT)
        mem = TreeMemory(proc.pid)
        mem.start()
        try:
            code = proc.wait()
        except BaseException:  # interrupted: the command goes too
            proc.terminate()
            proc.wait()
            raise
        finally:
            mem.stop()
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed (exit {code}); see {log}")
    return time.monotonic() - start, mem


def cost_of_one_size(size: str, out: Path, steps: int, preset: str) -> dict:
    """In this process, one torch thread (a batch task's setting): a synthetic scene of size WxHxFRAMES with
    4 objects; seconds per object fit (the GA preset), per training step (fits from gt.json, so training
    alone), of initialisation and evaluation; peak RSS of the fitting and of the whole process."""
    import resource

    import torch

    from procsplat.batch import apply_task_threads
    from procsplat.data.config import SceneConfig, open_scene
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.fit.scene import fit_scene
    from procsplat.fit.search import preset as ga_preset
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    apply_task_threads(1)
    torch.set_num_interop_threads(1)
    w, h, n = (int(x) for x in size.split("x"))
    cfg = SynthConfig(out=out / "cost_scenes", seed=9501, scene_id=f"synth9501_{w:04d}", num_frames=n, width=w,
                      height=h, num_objects=4)
    path = out / "cost_scenes" / cfg.resolved_scene_id()
    if not (path / "gt.json").is_file():
        generate(cfg, progress=False)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # noqa: E731
    base = rss()
    scene, _ = open_scene(SceneConfig(scene=str(path), width=w, max_frames=n), log=lambda *a: None)
    fits = [(spec.program, doc["seconds"]) for spec, doc in
            fit_scene(scene, ga_preset(preset), progress=False, log=lambda *a: None)]
    fit_rss = rss()
    trainer = Trainer(TrainConfig(data=SceneConfig(scene=str(path), width=w, max_frames=n), out=out / "cost_runs",
                                  run_name=size, fit="gt", steps=steps, checkpoint_every=10 ** 9), log=lambda *a: None)
    t = time.monotonic()
    trainer.prepare()
    init_s = time.monotonic() - t
    trainer.step()  # the first step allocates
    t = time.monotonic()
    for _ in range(steps - 1):
        trainer.step()
    step_s = (time.monotonic() - t) / (steps - 1)
    t = time.monotonic()
    trainer.evaluate()
    eval_s = time.monotonic() - t
    g, _ = trainer.model.gaussians()
    return {"size": size, "fits": fits, "init_s": init_s, "step_s": step_s, "eval_s": eval_s,
            "test_frames": len(trainer.test_ids), "gaussians": int(g.means.shape[0]), "base_rss_mb": base,
            "fit_rss_mb": fit_rss, "rss_mb": rss()}


def cost_model(args) -> int:
    """One subprocess per size (so each peak RSS is its own), one after another."""
    print(f"cost model, 1 torch thread per process, GA preset {args.preset}, {args.cost_steps} training steps; "
          f"{os.cpu_count()} cores; {load()}")
    for size in args.cost:
        proc = subprocess.run([sys.executable, __file__, "--cost-one", size, "--out", str(args.out), "--preset",
                               args.preset, "--cost-steps", str(args.cost_steps)], capture_output=True, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"})
        if proc.returncode != 0:
            sys.exit(proc.stderr)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        fits = ", ".join(f"{p} {s:.1f}" for p, s in r["fits"])
        print(f"{r['size']}: {r['gaussians']} Gaussians; training {r['step_s'] * 1000:.0f} ms/step, initialisation "
              f"{r['init_s']:.1f} s, evaluation {r['eval_s']:.1f} s ({r['test_frames']} frames); fits (s): {fits}; "
              f"peak RSS {r['rss_mb']:.0f} MB (after fitting {r['fit_rss_mb']:.0f} MB, after imports "
              f"{r['base_rss_mb']:.0f} MB); {load()}")
    return 0


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenes", type=int, default=4)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--width", type=int, default=160)
    ap.add_argument("--height", type=int, default=120)
    ap.add_argument("--objects", type=int, default=2)
    ap.add_argument("--steps", type=int, default=250)
    ap.add_argument("--preset", default="fast", help="GA preset of both: fast, default, paper")
    ap.add_argument("--seed", type=int, default=9401, help="scene k has seed SEED + k")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "procsplat_bench_batch")
    ap.add_argument("--cost", nargs="*", default=None, metavar="WxHxFRAMES",
                    help="instead: the cost model, one line per size (e.g. 160x120x24 224x168x48 320x240x48)")
    ap.add_argument("--cost-steps", type=int, default=30)
    ap.add_argument("--cost-one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))  # a killed bench ends its running command too
    if args.cost_one:
        print(json.dumps(cost_of_one_size(args.cost_one, args.out, args.cost_steps, args.preset)))
        return 0
    if args.cost is not None:
        return cost_model(args)

    from procsplat.data.synth import SynthConfig, generate

    scenes_dir = args.out / f"scenes_{args.frames}f_{args.width}x{args.height}_{args.objects}obj"
    scenes = []
    for k in range(args.scenes):
        cfg = SynthConfig(out=scenes_dir, seed=args.seed + k, num_frames=args.frames, width=args.width,
                          height=args.height, num_objects=args.objects)
        path = scenes_dir / cfg.resolved_scene_id()
        if not (path / "gt.json").is_file():
            generate(cfg, progress=False)
        scenes.append(path)
    common = ["--width", str(args.width), "--steps", str(args.steps), f"ga:{args.preset}"]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    seq_out, batch_out = args.out / f"train_{stamp}", args.out / f"batch_{stamp}"
    log = args.out / f"log_{stamp}.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "procsplat.cli"]
    print(f"{args.scenes} scenes of {args.frames} frames {args.width}x{args.height}, {args.objects} objects, "
          f"{args.steps} steps, ga:{args.preset}; {os.cpu_count()} cores; log {log}")

    before = load()
    seq_times, seq_mem = [], 0.0
    for path in scenes:
        t, mem = timed([*cmd, "train", "--scene", str(path), "--out", str(seq_out), *common], env, log)
        seq_times.append(t)
        seq_mem = max(seq_mem, mem.peak_one)
        print(f"  procsplat train {path.name}: {t:.1f} s, peak RSS {mem.peak_one:.0f} MB")
    seq = sum(seq_times)
    print(f"(a) procsplat train, one after another: {seq:.1f} s ({before})")

    before_b = load()
    batch, mem = timed([*cmd, "batch", *map(str, scenes), "--out", str(batch_out), *common], env, log)
    print(f"(b) procsplat batch: {batch:.1f} s ({before_b})")
    print(f"ratio (a) / (b): {seq / batch:.2f}x  (goal >= 1.5x); {load()} after")

    with open(batch_out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    failed = [r["scene"] for r in rows if r["status"] != "trained"]
    if failed:
        sys.exit(f"batch: scenes not trained: {failed}; see {batch_out}/_logs")

    def fits(run: Path) -> list[float]:
        docs = [json.loads(p.read_text()) for p in sorted((run / "fits").glob("object_*.json"))]
        return [float(d["seconds"]) for d in docs if "skipped" not in d]

    for label, out in (("train", seq_out), ("batch", batch_out)):
        metrics = [json.loads((out / p.name / "metrics.json").read_text()) for p in scenes]
        fit_s = [s for p in scenes for s in fits(out / p.name)]
        train_s = [m["seconds"] - sum(fits(out / p.name)) for m, p in zip(metrics, scenes)]
        psnr = sum(m["psnr"] for m in metrics) / len(metrics)
        print(f"  {label}: mean held-out PSNR {psnr:.2f} dB; {len(fit_s)} object fits, "
              f"{sum(fit_s) / max(len(fit_s), 1):.1f} s each ({min(fit_s, default=0):.1f}-"
              f"{max(fit_s, default=0):.1f}); training {sum(train_s) / len(train_s):.1f} s "
              f"per scene = {sum(train_s) / len(train_s) / args.steps * 1000:.0f} ms per step "
              "(initialisation and evaluation included)")
    print(f"peak RSS: one procsplat train {seq_mem:.0f} MB; batch tree {mem.peak_total:.0f} MB in all, "
          f"largest Ray task worker {mem.peak_worker:.0f} MB, largest process {mem.peak_one:.0f} MB "
          f"({mem.peak_one_name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
