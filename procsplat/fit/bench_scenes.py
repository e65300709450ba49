"""`procsplat bench-fit`: fitting accuracy on freshly generated synthetic scenes.

N scenes are generated with `procsplat synth` (seeds S, S+1, ...), read back through the ScanNet
reader like real scans, and every furniture object is fitted by each method from its masked
depth (the same targets `procsplat fit` builds). Baselines get the time the GA took on the same
object. Metrics against gt.json: discrete-parameter accuracy (exact, and "disc~" where a wrong value
no depth camera can see counts as recovered: abutting cushions, door vs drawer fronts without
handles; see `procsplat.fit.metrics`), float MAE (cm, active parameters),
yaw error (deg, modulo the shape's own symmetry and re-parameterisation), symmetric chamfer
(cm), "<=truth" (share of fits whose loss is at or below the true shape's own loss, the true parameters
and pose refined for the GA's final steps as the fit's winner is (`metrics.truth_loss`): the search did its
job there, and remaining discrete errors are the loss's; a fit above it is a search miss), seconds and
evaluations per object. Below each table: how many discrete misses lie on surface the scan has no
evidence on (`procsplat.fit.metrics.seen_share` < 10 %: no loss can tell those values apart), and with
`--ceiling` the accuracy a fit can be expected to reach when it guesses the parameters the scan has no
evidence on (`procsplat.fit.metrics.evidence_chance`).
`--realistic` fits the same seeds once more as realistic scenes (a
structured-light sensor, bleeding masks, partial coverage, clutter, office chairs:
`procsplat.data.realistic`) and prints that table below the clean one, in the same format; objects
the partial camera path never sees well are skipped (and named).
"""
from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch


@dataclass
class BenchFitConfig:
    """`procsplat bench-fit`: fitting accuracy of each method on generated synthetic scenes."""

    scenes: int = 2
    seed: int = 100
    methods: tuple[str, ...] = ("ga", "ga-paper", "coord", "random", "cma")
    """ga (default preset), ga-paper (the paper's settings), coord, random, cma."""
    num_objects: int = 3
    frames: int = 40
    width: int = 320
    depth_noise: bool = False
    holes: bool = False
    realistic: bool = False
    """Also fit the same seeds generated with `procsplat synth --realistic` (a structured-light sensor,
    bleeding masks, partial coverage, clutter, office chairs: `procsplat.data.realistic`) and print
    their table below the clean one."""
    clean: bool = True
    """Fit the clean scenes (`--no-clean --realistic`: only the realistic table, e.g. to run the two
    tables as two processes on two cores)."""
    ceiling: bool = False
    """Also count the true discrete parameters each scan has no evidence on and print the accuracy
    guessing them allows below each table (`metrics.evidence_chance`; benchmark only, but it renders
    every other value of every discrete parameter: measured 2026-12-06 on realistic 7780-7781 under
    load, scoring 54 -> 212 s wall for 6 objects whose fits took 145 s)."""
    out: Path = Path(tempfile.gettempdir()) / "procsplat_bench_fit"
    json_out: Path | None = None
    """Also write every per-object row here."""
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per process unless OMP_NUM_THREADS says
    otherwise, waiting threads sleep)."""
    workers: int = 0
    """Objects benchmarked at once, one process each (`procsplat.fit.workers`), over all scenes: 0 (the
    default) = one per available core, as `procsplat fit` fits a scan's objects; 1 = one after the other.
    Each fit's own seconds stay in the table; a line below it gives the fitting phase's wall time per
    object (the refined truth and the metrics are computed after it, in a phase of their own)."""


def truth_of(obj: dict):
    from geonodes import load_program
    from procsplat.fit.synthetic import SyntheticTruth
    from procsplat.geometry import object_to_world

    program = load_program(obj["program"])
    mesh = program.evaluate_one(obj["parameters"], dtype=torch.float64)
    world = object_to_world(mesh.vertices, obj["yaw"], obj["translation"])
    return program, SyntheticTruth(obj["program"], obj["parameters"], float(obj["yaw"]),
                                   np.array(obj["translation"], float), world.numpy(), mesh.triangles.numpy())


def run(cfg: BenchFitConfig, log=print, realistic: bool = False) -> tuple[list[dict], float, float]:
    """(every per-object row, fitting wall seconds, scoring wall seconds).

    All scenes are generated first; then every object of every scene is fitted by each method in
    `cfg.workers` processes (the fitting phase: what `procsplat fit` does with a scan's objects,
    timed alone), and then scored in the same processes (the refined truth's loss and the metrics:
    benchmark-only work, timed apart)."""
    from procsplat.fit.bench import BenchConfig
    from procsplat.fit.target import ObjectTarget, TooFewPointsError
    from procsplat.fit.scene import object_frames
    from procsplat.fit.workers import map_unordered, worker_count
    from procsplat.data.readers import load_scene
    from procsplat.data.synth import SynthConfig, generate

    bench_cfg = BenchConfig(methods=tuple(cfg.methods))
    jobs = []
    for k in range(cfg.scenes):
        seed = cfg.seed + k
        synth = SynthConfig(out=Path(cfg.out) / ("realistic" if realistic else "clean"), seed=seed,
                            num_frames=cfg.frames, width=cfg.width, height=cfg.width * 3 // 4,
                            num_objects=cfg.num_objects, depth_noise=cfg.depth_noise, holes=cfg.holes,
                            realistic=realistic, overwrite=True)
        scene_dir = generate(synth, progress=False)
        scene = load_scene(scene_dir)
        gt = json.loads((scene_dir / "gt.json").read_text())
        for obj in gt["objects"]:
            depths, Ks, poses, masks = object_frames(scene, obj["instance_id"])
            try:
                target = ObjectTarget.from_frames(depths, Ks, poses, masks, floor_height=0.0,
                                                  label=f"{scene.name}#{obj['instance_id']}")
            except TooFewPointsError as e:
                log(f"  skipped {scene.name} object {obj['instance_id']}: {e}")
                continue
            jobs.append((scene.name, seed, obj, target))
    workers = worker_count(cfg.workers, len(jobs))
    t0 = time.time()
    fits = {}
    for i, results in map_unordered(lambda job: _fit_object(cfg, bench_cfg, *job), jobs, workers):
        fits[i] = results
        name, _, obj, _ = jobs[i]
        log(f"  fitted {name} #{obj['instance_id']} {obj['program']} ({len(fits)}/{len(jobs)}): "
            + ", ".join(f"{m} {r.seconds:.1f} s" for m, r in results))
    fit_wall = time.time() - t0
    t0 = time.time()
    done = {}
    for i, (obj_rows, lines) in map_unordered(lambda i: _score_object(cfg, bench_cfg, *jobs[i], fits[i]),
                                              list(range(len(jobs))), workers):
        done[i] = obj_rows
        for line in lines:
            log(line)
    rows = [r for i in sorted(done) for r in done[i]]
    return rows, fit_wall, time.time() - t0


def _fit_object(cfg: BenchFitConfig, bench_cfg, scene_name: str, seed: int, obj: dict, target) -> list:
    """[(method, FitResult)] of one object: the GA first (the baselines get its time)."""
    from geonodes import load_program
    from procsplat.fit.bench import _fit

    program = load_program(obj["program"])
    methods = list(cfg.methods)
    if "ga" not in methods and any(m in ("coord", "random", "cma") for m in methods):
        methods = ["ga"] + methods
    out, ga_seconds = [], None
    for m in methods:
        result = _fit(m, program, target, bench_cfg, ga_seconds, seed=seed)
        if m == "ga":
            ga_seconds = result.seconds
        out.append((m, result))
    return out


def _score_object(cfg: BenchFitConfig, bench_cfg, scene_name: str, seed: int, obj: dict, target, fits: list) -> tuple:
    """(rows, log lines) of one fitted object: the refined truth's loss, then each method's metrics."""
    from procsplat.fit.metrics import evaluate_fit, evidence_chance, truth_loss
    from procsplat.fit.search import preset

    program, truth = truth_of(obj)
    rows, lines = [], []
    true_loss = truth_loss(program, target, truth, preset(bench_cfg.ga_preset))
    ceiling = dict(zip(("no_evidence", "chance_hits"), evidence_chance(program, truth, target))) if cfg.ceiling else {}
    for m, result in fits:
        metrics = evaluate_fit(program, result, truth, target)
        rows.append({"program": obj["program"], "scene": scene_name, "object": obj["instance_id"],
                     "method": m, **metrics, "loss": result.loss, "truth_loss": true_loss, **ceiling})
        lines.append(f"  {scene_name} #{obj['instance_id']} {obj['program']:9s} {m:8s} disc "
                     f"{metrics['discrete_acc']:.2f} mae {metrics['float_mae_cm']:.2f} cm yaw "
                     f"{metrics['yaw_err_deg']:.1f} deg chamfer {metrics['chamfer_cm']:.2f} cm {metrics['seconds']:.1f} s "
                     f"loss {result.loss:.6f} (truth {true_loss:.6f})"
                     + "".join(f"; {x['name']} {x['fit']} (true {x['truth']}, depth change {100 * x['depth_change']:.2f} %"
                               f"{', invisible' if x['invisible'] else ''}, seen {100 * x['seen_share']:.0f} %)"
                               for x in metrics["discrete_misses"])
                     + "".join(f"; scored with true {a} <-> {b} swapped (same shape)"
                               for a, b in metrics["equivalent_swaps"]))
    return rows, lines


def run_bench_fit(cfg: BenchFitConfig) -> int:
    from procsplat.fit.bench import evidence_ceiling, format_table, peer_ratios, summarise, unseen_misses
    from procsplat.fit.workers import worker_count
    from procsplat.threads import apply_thread_policy

    threads = apply_thread_policy(cfg.threads)
    results = {}
    kinds = ((False,) if cfg.clean else ()) + ((True,) if cfg.realistic else ())
    if not kinds:
        from procsplat.errors import ProcsplatError
        raise ProcsplatError("bench-fit: --no-clean needs --realistic (nothing to fit)")
    for realistic in kinds:
        t0 = time.time()
        rows, wall, score_wall = run(cfg, realistic=realistic)
        results["realistic" if realistic else "clean"] = (rows, summarise(rows), time.time() - t0, wall, score_wall)
    for kind, (rows, summary, seconds, wall, score_wall) in results.items():
        noise = ("realistic sensor and room (procsplat.data.realistic)" if kind == "realistic" else
                 "with depth noise and holes" if (cfg.depth_noise or cfg.holes) else "clean depth")
        print(f"\nfitting accuracy: {cfg.scenes} synthetic scenes (seeds {cfg.seed}..{cfg.seed + cfg.scenes - 1}), "
              f"{noise}, {seconds:.0f} s, {threads} torch threads")
        print(format_table(summary))
        objects = len({(r["scene"], r["object"]) for r in rows})
        if objects:
            print(f"objects' fitting wall time: {wall:.0f} s for {objects} objects = {wall / objects:.1f} s/object "
                  f"with {worker_count(cfg.workers, objects)} process(es) of {threads} torch thread(s) (every method's "
                  f"fits; s/obj above: each fit's own; then truth refinement and metrics, benchmark only: {score_wall:.0f} s)")
        print(unseen_misses(rows))
        if cfg.ceiling:
            print(evidence_ceiling(rows))
        print(peer_ratios(summary))
    if cfg.json_out:
        rows, summary, *_ = results.get("clean", ([], [], 0, 0, 0))
        doc = {"rows": rows, "summary": summary}
        if "realistic" in results:
            doc["realistic"] = {"rows": results["realistic"][0], "summary": results["realistic"][1]}
        Path(cfg.json_out).write_text(json.dumps(doc, indent=1, default=float) + "\n")
    return 0
