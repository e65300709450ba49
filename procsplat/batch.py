"""`procsplat batch`: many scans at once, every object's fit and every scene's training a Ray task.

    procsplat batch scene0011_00 scene0015_00 --scannet-root /data/scannet --out runs/val
    procsplat batch --split scannetv2_val.txt --scannet-root /data/scannet --out runs/val --address auto

Per scene, three kinds of task:
- plan: opens the scan (a missing or corrupt one fails here) and lists the objects of a known category;
- fit: one per object not fitted yet, `fit_scene` on that object with the run's `FitStore`, so
  `<run>/fits/object_NNN.json` is the very file `procsplat train` writes;
- train: once every fit of the scene has finished, `run_train` with resume semantics: it reuses those
  fits (and never fits itself: `fit_missing=False`, so the fits are neither redone nor deleted) and the
  checkpoint of an interrupted run.

Results land in `<out>/<scene>/` exactly as `procsplat train --out <out>` writes them, each task's log in
`<out>/_logs/<scene>.log`, and a summary in `<out>/summary.csv` and on the terminal. A rerun skips the
finished scenes (metrics.json present) and the fitted objects; a failing scene is reported (status
`failed` and its message) and does not stop the others.

Ray runs locally by default: this command starts it with this machine's cores and stops it at the end,
no setup. `--address` connects to an existing cluster instead (`ray start --head` on one node, `ray start
--address HEAD:6379` on the others; see docs/scale.md): there the scans and --out must be paths that
every node sees (a shared file system) and procsplat must be installed on every node.

Each task runs `threads` torch threads (default 1) on as many CPUs reserved by Ray: on a CPU, several
single-threaded tasks side by side use the cores better than one multi-threaded run. The thread
setting is applied in one place, `task_thread_env` + `apply_task_threads`.
"""
from __future__ import annotations

import csv
import io
import os
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Optional

import tyro

from procsplat.data.config import SceneConfig
from procsplat.errors import ProcsplatError
from procsplat.train.config import TrainConfig

LOG_DIR = "_logs"
SUMMARY = "summary.csv"
COLUMNS = ["scene", "status", "objects", "programs", "fit_s", "train_s", "psnr", "ssim", "message", "run"]


@dataclass
class BatchSceneConfig(SceneConfig):
    """How every scan is read (the scans themselves are the SCENE arguments and --split)."""

    scene: tyro.conf.Suppress[Optional[str]] = None
    threads: tyro.conf.Suppress[int] = 0  # a batch's --threads is per task (BatchConfig.threads)


@dataclass
class BatchConfig(TrainConfig):
    """`procsplat batch`: many scans at once, every object's fit and every scene's training a Ray task, on a
    local Ray runtime (default) or an existing cluster (--address); each scene lands in <out>/<scene>/ as
    `procsplat train` writes it, with <out>/summary.csv. A rerun skips finished scenes and fitted objects."""

    scenes: Annotated[tyro.conf.Positional[tuple[str, ...]], tyro.conf.arg(metavar="SCENE")] = ()
    """Scene folders, .sens files or ScanNet scene ids, as --scene of `procsplat train`."""
    split: Optional[Path] = None
    """A text file with one scene per line (blank lines and #-comments ignored), after the SCENE arguments."""
    address: Optional[str] = None
    """An existing Ray cluster: "auto", "HOST:6379" or "ray://HOST:10001". Default: a local Ray runtime on
    this machine, started and stopped by this command."""
    num_cpus: Optional[int] = None
    """CPUs of the local runtime (default: the cores this process may use). Ignored with --address."""
    threads: int = 1
    """Torch threads of each task, and the CPUs Ray reserves for it."""
    data: Annotated[BatchSceneConfig, tyro.conf.arg(name="")] = field(default_factory=BatchSceneConfig)
    out: Path = field(kw_only=True)
    """Each scene is written to <out>/<scene>/, its task logs to <out>/_logs/<scene>.log, the summary to
    <out>/summary.csv."""
    # `procsplat train` settings that a batch sets itself
    run_name: tyro.conf.Suppress[str] = ""
    fits_from: tyro.conf.Suppress[Optional[Path]] = None
    resume: tyro.conf.Suppress[bool] = True
    view: tyro.conf.Suppress[bool] = False
    port: tyro.conf.Suppress[int] = 8080
    host: tyro.conf.Suppress[str] = "127.0.0.1"


# -- the per-task thread setting: the one place ---------------------------------------------------------------
def task_thread_env(threads: int) -> dict:
    """Environment of every task's worker process (set before torch starts its thread pools): the
    project's thread policy (`procsplat.threads.ENV_DEFAULTS`) and `threads` OpenMP threads."""
    from procsplat.threads import ENV_DEFAULTS

    return {**ENV_DEFAULTS, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def apply_task_threads(threads: int) -> None:
    """Run at the start of every task: its torch threads (`procsplat.threads.apply_thread_policy`)."""
    from procsplat.threads import apply_thread_policy

    apply_thread_policy(threads)


# -- scenes -----------------------------------------------------------------------------------------------------
def scene_list(cfg: BatchConfig) -> list[str]:
    """The SCENE arguments then the lines of --split, each once, paths made absolute (tasks may run in
    another working directory, or on another node)."""
    names = list(cfg.scenes)
    if cfg.split is not None:
        try:
            text = Path(cfg.split).read_text()
        except OSError as e:
            raise ProcsplatError(f"{cfg.split}: cannot read the split file ({e.strerror or e})") from None
        names += [line.split("#", 1)[0].strip() for line in text.splitlines()]
    out, seen = [], set()
    for name in names:
        if not name:
            continue
        path = Path(name).expanduser()
        if path.exists():
            name = str(path.resolve())
        if name not in seen:
            seen.add(name)
            out.append(name)
    if not out:
        raise ProcsplatError("batch: no scenes (give SCENE arguments or --split FILE)")
    return out


def scene_label(scene: str) -> str:
    """A short name for a scene argument before its scan is opened (ids stay, paths give their last part)."""
    p = Path(scene)
    return p.stem if p.suffix == ".sens" else (p.name or scene)


def scene_train_config(cfg: BatchConfig, scene: str) -> TrainConfig:
    """The `procsplat train` settings of one scene of the batch (resume semantics: fits and checkpoints
    already in <out>/<scene>/ are reused)."""
    data = SceneConfig(**{f.name: getattr(cfg.data, f.name) for f in fields(SceneConfig) if f.name != "scene"},
                       scene=scene)
    if data.scannet_root is not None:
        data.scannet_root = Path(data.scannet_root).expanduser().resolve()
    settings = {f.name: getattr(cfg, f.name) for f in fields(TrainConfig)}
    settings.update(data=data, out=Path(cfg.out).expanduser().resolve(), run_name="", fits_from=None, resume=True,
                    view=False)
    return TrainConfig(**settings)


# -- tasks (plain functions: `run_batch` makes them Ray tasks) ---------------------------------------------------
def _task(threads: int, body) -> dict:
    """Runs body(log) -> dict as a task: its log lines and warnings, its seconds, and a failure as a
    message (bad input: the ProcsplatError's line; a bug: the exception, its traceback in the log)."""
    from geonodes.errors import GeonodesError

    apply_task_threads(threads)
    lines: list[str] = []
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = {"ok": True, **body(lines.append)}
        except (ProcsplatError, GeonodesError) as e:
            result = {"ok": False, "error": str(e)}
        except Exception as e:  # a bug: keep its traceback
            lines.append(traceback.format_exc().rstrip())
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    lines += [f"warning: {w.message}" for w in caught]
    if not result["ok"]:
        lines.append(f"error: {result['error']}")
    return {**result, "log": lines, "seconds": time.monotonic() - start}


def plan_task(cfg: TrainConfig, threads: int) -> dict:
    """Open the scan: its name, whether it is finished, and the objects still to fit."""
    def body(log):
        from procsplat.data.config import open_scene
        from procsplat.fit.scene import FitStore, fittable_objects

        scene, _ = open_scene(cfg.data, log=log)
        run = Path(cfg.out) / scene.name
        if (run / "metrics.json").is_file():
            return {"name": scene.name, "run": str(run), "done": True, "row": run_row(run)}
        objects = []
        if cfg.fit == "ga" and scene.masks is not None:
            store = FitStore(run / "fits")
            objects = [(obj.id, obj.label, program, store.path(obj.id).is_file())
                       for obj, program in fittable_objects(scene)]
        log(f"{scene.name}: {len(scene.frames)} frames, {len(objects)} object(s) to fit "
            f"({sum(o[3] for o in objects)} fitted before)")
        return {"name": scene.name, "run": str(run), "done": False, "objects": objects}

    return _task(threads, body)


def fit_task(cfg: TrainConfig, instance_id: int, threads: int) -> dict:
    """Fit one object of the scan into <run>/fits/object_NNN.json (what `procsplat train` does for it)."""
    def body(log):
        from dataclasses import replace

        from procsplat.data.config import open_scene
        from procsplat.fit.scene import FitStore, fit_scene

        scene, _ = open_scene(cfg.data, log=lambda *a: None)
        store = FitStore(Path(cfg.out) / scene.name / "fits")
        fit_scene(scene, replace(cfg.ga, seed=cfg.seed), objects=(instance_id,), log=log, progress=False,
                  store=store)
        doc = store.load(instance_id)
        if doc is None:
            raise ProcsplatError(f"{scene.name}: object {instance_id} was not fitted")
        return {"instance_id": instance_id, "skipped": doc.get("skipped"), "program": doc.get("program"),
                "fit_seconds": float(doc.get("seconds", 0.0))}

    return _task(threads, body)


def train_task(cfg: TrainConfig, threads: int) -> dict:
    """`procsplat train --resume` of the scan, with its objects fitted beforehand by the fit tasks."""
    def body(log):
        from procsplat.train.trainer import run_train

        run = run_train(cfg, progress=False, log=log, fit_missing=False)
        return {"row": run_row(run)}

    return _task(threads, body)


# -- the summary -------------------------------------------------------------------------------------------------
def run_row(run: Path) -> dict:
    """The summary row of a run folder: objects and programs (scene.json), fit seconds (fits/), train seconds
    (metrics.json's seconds less the fits), held-out PSNR and SSIM."""
    import json

    run = Path(run)
    row = {"scene": run.name, "run": str(run)}

    def read(path: Path) -> dict:
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    fits = [read(p) for p in sorted((run / "fits").glob("object_*.json"))]
    fit_s = sum(float(d.get("seconds", 0.0)) for d in fits if "skipped" not in d)
    row["fit_s"] = round(fit_s, 1)
    scene_doc = read(run / "scene.json")
    objects = scene_doc.get("objects")
    if isinstance(objects, list):
        row["objects"] = len(objects)
        row["programs"] = ";".join(str(o.get("program", "?")) for o in objects if isinstance(o, dict))
    else:  # not trained yet: the fits so far
        done = [d for d in fits if "skipped" not in d]
        row["objects"] = len(done)
        row["programs"] = ";".join(str(d.get("program", "?")) for d in done)
    skipped = sum("skipped" in d for d in fits)
    if skipped:
        row["message"] = f"{skipped} object(s) skipped (too few observed points)"
    metrics = read(run / "metrics.json")
    if metrics:
        row["train_s"] = round(float(metrics.get("seconds", 0.0)) - fit_s, 1)
        for key in ("psnr", "ssim"):
            if metrics.get(key) is not None:
                row[key] = round(float(metrics[key]), 3 if key == "ssim" else 2)
    return row


def write_summary(path: Path, rows: list[dict]) -> None:
    from procsplat.run.rundir import atomic_write

    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in COLUMNS})
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(buf.getvalue()))


def summary_table(rows: list[dict]) -> str:
    """The summary as a plain fixed-width table (a terminal or a log file)."""
    def programs(text: str) -> str:
        counts = Counter(p for p in str(text).split(";") if p)
        return ", ".join(f"{n} {p}" if n > 1 else p for p, n in counts.most_common())

    head = ["scene", "status", "objects", "programs", "fit s", "train s", "PSNR", "message"]
    body = [[str(r.get("scene", "")), str(r.get("status", "")), str(r.get("objects", "")),
             programs(r.get("programs", "")), str(r.get("fit_s", "")), str(r.get("train_s", "")),
             str(r.get("psnr", "")), str(r.get("message", ""))] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    widths[-1] = 0  # the message is last and not padded
    fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(head), fmt(["-" * w for w in widths[:-1]] + ["-" * 7])] + [fmt(b) for b in body])


# -- the driver --------------------------------------------------------------------------------------------------
@dataclass
class _Scene:
    arg: str
    cfg: TrainConfig
    name: str = ""
    run: str = ""
    status: str = "pending"
    message: str = ""
    pending_fits: set = field(default_factory=set)
    fit_errors: list = field(default_factory=list)
    row: dict = field(default_factory=dict)

    def summary(self) -> dict:
        row = {**self.row, "scene": self.name or scene_label(self.arg), "status": self.status}
        if self.run:
            row["run"] = self.run
        if self.message:
            row["message"] = f"{self.message}; {row['message']}" if row.get("message") else self.message
        return row


def start_ray(cfg: BatchConfig) -> str:
    """ray.init: the cluster at --address, or a new local runtime with this machine's cores (never one that
    happens to run here already). Returns a line saying which."""
    import logging

    import ray

    env = {"env_vars": task_thread_env(cfg.threads)}
    if cfg.address:
        try:
            ray.init(address=cfg.address, runtime_env=env, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as e:
            raise ProcsplatError(f"batch: cannot connect to the Ray cluster at {cfg.address!r} ({e}; a cluster with "
                                 "token authentication also needs RAY_AUTH_MODE=token and its token here)") from None
        cpus = int(ray.cluster_resources().get("CPU", 0))
        return f"Ray cluster at {cfg.address}: {cpus} CPUs"
    cpus = cfg.num_cpus or len(os.sched_getaffinity(0))
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, runtime_env=env, log_to_driver=False,
             logging_level=logging.WARNING, object_store_memory=256 * 1024 ** 2)
    return f"local Ray runtime: {cpus} CPUs"


def task_options(cfg: BatchConfig) -> dict:
    """Ray options of each kind of task: `cfg.threads` CPUs each; a scene's training also one GPU when it
    trains on CUDA (`--device cuda`), so that Ray places it on a GPU node; plans and fits stay on CPUs."""
    cpu = {"num_cpus": cfg.threads, "max_retries": 0}
    train = {**cpu, "num_gpus": 1} if str(cfg.device).startswith("cuda") else cpu
    return {"plan": cpu, "fit": cpu, "train": train}


def run_batch(cfg: BatchConfig, log=print, progress: bool = True, stream=None) -> list[dict]:
    """The whole batch; returns the summary rows (also written to <out>/summary.csv and printed).

    Ray is started as `start_ray` says and stopped at the end, unless this process has called ray.init
    already: then the batch runs on that runtime and leaves it running."""
    import ray

    from procsplat.progress import Progress

    if cfg.threads < 1:
        raise ProcsplatError(f"batch: --threads must be >= 1, got {cfg.threads}")
    if cfg.num_cpus is not None and cfg.num_cpus < 1:
        raise ProcsplatError(f"batch: --num-cpus must be >= 1, got {cfg.num_cpus}")
    args = scene_list(cfg)
    out = Path(cfg.out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    scenes = [_Scene(a, scene_train_config(cfg, a)) for a in args]
    start = time.monotonic()
    own_ray = not ray.is_initialized()
    if own_ray:
        log(start_ray(cfg))
    try:
        opts = task_options(cfg)
        if opts["train"].get("num_gpus") and not ray.cluster_resources().get("GPU", 0):
            raise ProcsplatError(f"batch: --device {cfg.device} trains each scene on a GPU, but the Ray runtime has "
                                 "none (give --address of a cluster with GPU nodes, or leave --device cpu)")
        plan, fit, train = (ray.remote(**opts[k])(f) for k, f in
                            (("plan", plan_task), ("fit", fit_task), ("train", train_task)))
        pending: dict = {}  # ObjectRef -> (kind, scene, instance id)
        for s in scenes:
            pending[plan.remote(s.cfg, cfg.threads)] = ("plan", s, None)
        total, done, owners = len(pending), 0, {}
        with Progress("batch tasks", total, enabled=progress, stream=stream) as bar:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    kind, s, oid = pending.pop(ref)
                    try:
                        res = ray.get(ref)
                    except Exception as e:  # the worker died (out of memory, killed): no result, no log
                        first = (str(e).strip().splitlines() or [""])[0]
                        res = {"ok": False, "error": f"{type(e).__name__}: {first}", "log": [str(e)]}
                    _append_log(out, s, kind, oid, res)
                    new = _handle(kind, s, oid, res, owners)
                    for k, o in new:
                        ref2 = (fit.remote(s.cfg, o, cfg.threads) if k == "fit" else train.remote(s.cfg, cfg.threads))
                        pending[ref2] = (k, s, o)
                    total += len(new)
                    done += 1
                    failed = sum(x.status == "failed" for x in scenes)
                    finished = sum(x.status in ("trained", "done before") for x in scenes)
                    bar.update(done, total=total, scenes=f"{finished}/{len(scenes)} done" +
                               (f", {failed} failed" if failed else ""))
    finally:
        if own_ray:
            ray.shutdown()
    rows = [s.summary() for s in scenes]
    write_summary(out / SUMMARY, rows)
    log(summary_table(rows))
    counts = Counter(s.status for s in scenes)
    log(f"{len(scenes)} scene(s) in {time.monotonic() - start:.0f} s: " +
        ", ".join(f"{n} {status}" for status, n in counts.items()) + f"; summary in {out / SUMMARY}")
    return rows


def _handle(kind: str, s: _Scene, oid, res: dict, owners: dict) -> list:
    """Update the scene with a finished task; returns the tasks to submit next [(kind, instance id)]."""
    if kind == "plan":
        if not res["ok"]:
            s.status, s.message = "failed", res["error"]
            return []
        s.name, s.run = res["name"], res["run"]
        if s.run in owners:  # two scene arguments that are the same scan (or share a name)
            s.status, s.message = "failed", f"same run folder {s.run} as {owners[s.run].arg}"
            return []
        owners[s.run] = s
        if res["done"]:
            s.status, s.row = "done before", res["row"]
            return []
        todo = [o[0] for o in res["objects"] if not o[3]]
        if todo:
            s.status, s.pending_fits = "fitting", set(todo)
            return [("fit", o) for o in todo]
        s.status = "training"
        return [("train", None)]
    if kind == "fit":
        s.pending_fits.discard(oid)
        if not res["ok"]:
            s.fit_errors.append(f"object {oid}: {res['error']}")
        if s.pending_fits:
            return []
        if s.fit_errors:
            s.status, s.message = "failed", "; ".join(s.fit_errors)
            s.row = run_row(Path(s.run)) if Path(s.run).is_dir() else {}
            return []
        s.status = "training"
        return [("train", None)]
    # train
    if res["ok"]:
        s.status, s.row = "trained", res["row"]
    else:
        s.status, s.message = "failed", res["error"]
        s.row = run_row(Path(s.run)) if Path(s.run).is_dir() else {}
    return []


def _append_log(out: Path, s: _Scene, kind: str, oid, res: dict) -> None:
    """The task's log lines, appended to <out>/_logs/<scene>.log."""
    name = s.name or res.get("name") or scene_label(s.arg)
    what = kind + (f" object {oid}" if oid is not None else "")
    state = "ok" if res.get("ok") else "failed"
    path = out / LOG_DIR / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {what}: {state}, {res.get('seconds', 0.0):.1f} s\n")
        for line in res.get("log", []):
            f.write(f"{line}\n")
