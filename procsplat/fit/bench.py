"""Accuracy benchmark of fitting methods on synthetic objects with known answers.

For every program, `objects` shapes are drawn with seeded random parameters, yaw and position,
rendered from a few cameras (`synthetic.py`), and fitted by each method. Baselines get the same
time as the GA default took on that object (search stops at 80 % of it; the final refinement,
identical for all methods, follows). `run_benchmark` returns per-object rows; `summarise` and
`format_table` make the per-program x method table the `bench-fit` CLI prints.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from procsplat.errors import ProcsplatError

from .baselines import BaselineConfig, cma_es, coordinate_descent, random_search
from .metrics import evaluate_fit, truth_loss
from .search import genetic_search, preset, warn_skip
from .synthetic import CameraRig, synthetic_object
from .target import TooFewPointsError

METHODS = ("ga", "ga-paper", "coord", "random", "cma")
DEFAULT_PROGRAMS = ("chair", "table", "sofa", "cabinet", "bed", "bookshelf")
_REPO = Path(__file__).resolve().parents[2]


def resolve_program(name: str):
    """A library program by name when present (geonodes/library/<name>.json), else the imported
    Blender program of the same name in tests/data/blender, else a path."""
    from geonodes import load_program

    lib = _REPO / "geonodes" / "library" / f"{name}.json"
    if lib.is_file():
        return load_program(str(lib))
    blend = _REPO / "tests" / "data" / "blender" / f"{name}.json"
    if blend.is_file():
        return load_program(str(blend))
    if Path(name).is_file():
        return load_program(name)
    raise ProcsplatError(f"bench-fit: no program '{name}' (looked in {lib.parent} and {blend.parent})")


@dataclass
class BenchConfig:
    programs: tuple = DEFAULT_PROGRAMS
    objects: int = 5
    seed: int = 1000
    methods: tuple = ("ga", "coord", "random", "cma")
    noise: bool = False
    holes: bool = False
    views: int = 4
    ga_preset: str = "default"


def _fit(method: str, program, target, cfg: BenchConfig, ga_seconds: float | None, seed: int):
    if method == "ga":
        return genetic_search(program, target, preset(cfg.ga_preset, seed=seed))
    if method == "ga-paper":
        return genetic_search(program, target, preset("paper", seed=seed))
    budget = BaselineConfig(max_evaluations=10**9, max_seconds=0.8 * ga_seconds, seed=seed,
                            final_steps=preset(cfg.ga_preset).final_steps) \
        if ga_seconds is not None else BaselineConfig(seed=seed)
    fn = {"coord": coordinate_descent, "random": random_search, "cma": cma_es}[method]
    return fn(program, target, budget)


def run_benchmark(cfg: BenchConfig, progress=print) -> list[dict]:
    rows = []
    for p_i, name in enumerate(cfg.programs):
        try:
            program = resolve_program(name)
        except FileNotFoundError as e:
            warnings.warn(str(e), RuntimeWarning, stacklevel=2)
            continue
        for k in range(cfg.objects):
            obj_seed = cfg.seed * 1000 + p_i * 100 + k
            rng = np.random.default_rng(obj_seed)
            params = program.sample(1, seed=obj_seed)[0]
            yaw = float(rng.uniform(-math.pi, math.pi))
            xy = tuple(rng.uniform(-1.0, 1.0, 2))
            try:
                target, truth = synthetic_object(program, params, yaw, xy, rig=CameraRig(num_views=cfg.views),
                                                 noise=cfg.noise, holes=cfg.holes, seed=obj_seed)
            except TooFewPointsError as e:
                warn_skip(f"{name}#{k}", str(e))
                continue
            ga_seconds = None
            methods = list(cfg.methods)
            if any(m in ("coord", "random", "cma") for m in methods) and "ga" not in methods:
                methods = ["ga"] + methods  # baselines get the GA's time
            true_loss = truth_loss(program, target, truth, preset(cfg.ga_preset))
            for m in methods:
                result = _fit(m, program, target, cfg, ga_seconds, seed=obj_seed)
                if m == "ga":
                    ga_seconds = result.seconds
                metrics = evaluate_fit(program, result, truth, target)
                row = {"program": name, "object": k, "method": m, **metrics, "loss": result.loss,
                       "truth_loss": true_loss}
                rows.append(row)
                if progress:
                    progress(f"{name}#{k} {m:8s} disc {metrics['discrete_acc']:.2f} mae {metrics['float_mae_cm']:6.2f}cm "
                             f"yaw {metrics['yaw_err_deg']:6.2f}deg chamfer {metrics['chamfer_cm']:6.2f}cm "
                             f"{metrics['seconds']:6.1f}s {metrics['evaluations']} evals")
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Mean metrics per (program, method), plus an 'all' program row per method."""
    out = []
    keys = sorted({(r["program"], r["method"]) for r in rows}, key=lambda x: (x[0], METHODS.index(x[1])))
    programs = list(dict.fromkeys(r["program"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    groups = [(p, m) for p in programs for m in methods if (p, m) in set(keys)]
    groups += [("all", m) for m in methods]
    for p, m in groups:
        sel = [r for r in rows if r["method"] == m and (p == "all" or r["program"] == p)]
        if not sel:
            continue
        disc_hits = sum(r["discrete_acc"] * r["num_discrete"] for r in sel)
        disc_n = sum(r["num_discrete"] for r in sel)
        seen_hits = sum(r.get("discrete_acc_visible", r["discrete_acc"]) * r["num_discrete"] for r in sel)
        out.append({"program": p, "method": m, "n": len(sel),
                    "discrete_acc": disc_hits / disc_n if disc_n else 1.0,
                    "discrete_acc_visible": seen_hits / disc_n if disc_n else 1.0,
                    "float_mae_cm": float(np.mean([r["float_mae_cm"] for r in sel])),
                    "yaw_err_deg": float(np.mean([r["yaw_err_deg"] for r in sel])),
                    "yaw_err_med": float(np.median([r["yaw_err_deg"] for r in sel])),
                    "chamfer_cm": float(np.mean([r["chamfer_cm"] for r in sel])),
                    "chamfer_med": float(np.median([r["chamfer_cm"] for r in sel])),
                    "reached_truth": float(np.mean([r["loss"] <= r["truth_loss"] * 1.001 for r in sel]))
                    if all("truth_loss" in r for r in sel) else float("nan"),
                    "seconds": float(np.mean([r["seconds"] for r in sel])),
                    "evaluations": float(np.mean([r["evaluations"] for r in sel]))})
    return out


def format_table(summary: list[dict]) -> str:
    """The per-program x method table. disc acc: exact; disc~: wrong values no depth camera can
    see count as recovered (`metrics.discrete_misses`)."""
    head = (f"{'program':10s} {'method':9s} {'n':>3s} {'disc acc':>8s} {'disc~':>6s} {'MAE cm':>7s} {'yaw deg':>8s} "
            f"{'(med)':>6s} {'chamf cm':>8s} {'(med)':>6s} {'<=truth':>7s} {'s/obj':>6s} {'evals':>7s}")
    lines = [head, "-" * len(head)]
    for s in summary:
        lines.append(f"{s['program']:10s} {s['method']:9s} {s['n']:3d} {100 * s['discrete_acc']:7.1f}% "
                     f"{100 * s['discrete_acc_visible']:5.1f}% {s['float_mae_cm']:7.2f} {s['yaw_err_deg']:8.2f} {s['yaw_err_med']:6.2f} "
                     f"{s['chamfer_cm']:8.2f} {s['chamfer_med']:6.2f} {100 * s['reached_truth']:6.0f}% "
                     f"{s['seconds']:6.1f} {s['evaluations']:7.0f}")
    return "\n".join(lines)


def unseen_misses(rows: list[dict], method: str = "ga", below: float = 0.1) -> str:
    """One line: of `method`'s discrete misses, how many change only surface the scan has
    (almost) no evidence on (`metrics.seen_share` below `below` on both shapes)."""
    misses = [m for r in rows if r["method"] == method for m in r.get("discrete_misses", [])
              if "seen_share" in m]
    if not misses:
        return f"{method}: no discrete misses"
    unseen = [m for m in misses if m["seen_share"] < below]
    return (f"{method}: {len(unseen)} of {len(misses)} discrete misses change only surface this scan has no evidence "
            f"on (seen by no kept view and not in observed-empty space on {100 * (1 - below):.0f} %+ of it)")


def evidence_ceiling(rows: list[dict], method: str = "ga") -> str:
    """One line: how many of the true discrete parameters this table's scans have no evidence on
    (`metrics.evidence_chance`: a row's "no_evidence" names), the discrete accuracy a fit can be
    expected to reach when it is right on every other one and guesses these (1/k of a hit for k
    values alike), and the accuracy the fits reached on the parameters with evidence."""
    sel = [r for r in rows if r["method"] == method and "chance_hits" in r]
    n = sum(r["num_discrete"] for r in sel)
    if not n:
        return f"{method}: no discrete parameters"
    free = sum(len(r["no_evidence"]) for r in sel)
    hits = sum(r["chance_hits"] for r in sel)  # 1 per parameter with evidence, 1/k per guess
    missed = sum(m["name"] not in r["no_evidence"] for r in sel for m in r["discrete_misses"])
    line = (f"{method}: {free} of {n} true discrete parameters have another value these scans have no evidence against "
            f"(< 0.25 % depth change or seen < 10 %): guessed, they bound the expected discrete accuracy at "
            f"{100 * hits / n:.1f} %")
    if n > free:
        line += f"; on the other {n - free} the fits got {100 * (1 - missed / (n - free)):.1f} %"
    return line


def peer_ratios(summary: list[dict], method: str = "ga", peer: str = "coord") -> str:
    """GA vs a named peer over all objects: chamfer and time ratios (same run)."""
    a = next((s for s in summary if s["program"] == "all" and s["method"] == method), None)
    b = next((s for s in summary if s["program"] == "all" and s["method"] == peer), None)
    if not a or not b:
        return ""
    return (f"{method} vs {peer} (all objects, same run): chamfer {a['chamfer_cm']:.2f} / {b['chamfer_cm']:.2f} cm "
            f"= {a['chamfer_cm'] / max(b['chamfer_cm'], 1e-9):.2f}x, time {a['seconds']:.1f} / {b['seconds']:.1f} s "
            f"= {a['seconds'] / max(b['seconds'], 1e-9):.2f}x")
