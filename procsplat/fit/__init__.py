"""Fitting shape programs to observed objects.

scene.py       a whole scan: which objects, their frames, FitStore (each fit saved as it finishes), `procsplat fit`
spec.py        ObjectSpec: program, parameters and pose of one fitted object (what later stages consume)
target.py      ObjectTarget: observed points, free space, floor (from posed depth + masks)
synthetic.py   rendered targets with known answers (benchmarks, tests)
losses.py      batched coverage / free-space / accuracy / support terms
candidates.py  genome encoding and batched scoring through the compiled program
search.py      memetic GA with presets fast / default / paper
consistency.py after a scene's fits: look-alike objects of one program share one discrete assignment
refine.py      Adam refinement of float parameters and pose
baselines.py   coordinate descent, random search, CMA-ES in the same harness
metrics.py     parameter accuracy, yaw error modulo symmetry, chamfer
bench.py       the accuracy benchmark behind scripts/bench_fit_objects.py
bench_scenes.py  `procsplat bench-fit`: the same on generated synthetic scenes
"""
from .loss_config import LossConfig, LossWeights
from .search import PRESETS, FitResult, GAConfig, genetic_search, preset
from .target import ObjectTarget, TargetConfig, TooFewPointsError, target_or_skip

__all__ = ["LossConfig", "LossWeights", "PRESETS", "FitResult", "GAConfig", "genetic_search", "preset",
           "ObjectTarget", "TargetConfig", "TooFewPointsError", "target_or_skip"]
