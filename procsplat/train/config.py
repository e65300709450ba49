"""Settings of `procsplat train`, gsplat-style: one dataclass per concern, nested.

`TrainConfig` holds the scan (`SceneConfig`, flags without prefix: `--scene`, `--width`), the
fitting search (`GAConfig` presets: `ga:fast` (default), `ga:default`, `ga:paper`), the splat
initialisation (`--init.*`) and a learning rate per parameter group (`--optim.*`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Optional

import tyro

from procsplat.data.config import SceneConfig
from procsplat.fit.search import PRESETS, GAConfig, GAPreset
from procsplat.splat.densify import DensifyStrategy
from procsplat.splat.complete import CompletionConfig
from procsplat.splat.convert import ConvertConfig
from procsplat.splat.detail import AnchoredDetail
from procsplat.splat.init import InitConfig


@dataclass
class OptimConfig:
    """Adam learning rate of each parameter group."""

    # anchored Gaussians (in their triangle's frame)
    bary: float = 0.02
    offset: float = 1e-3
    angle: float = 0.01
    anchored_scales: float = 0.02
    """In-plane and normal log-scales of anchored Gaussians. 4x gsplat's 0.005 (sized for 30k steps): in a run
    of a few hundred steps the Gaussians, drawn at one size per face from its area, must reshape to the
    texture on their faces within the run (scripts/bench_splat.py seeds 7, 8 at 200 steps: novel-view object
    PSNR +0.35 / +0.39 dB, held-out +0.42 / +0.87 dB; 0.05 gave less on seed 8)."""
    anchored_opacity: float = 0.05
    anchored_sh0: float = 0.005
    anchored_shN: float = 0.00025
    anchored_shading: float = 0.02
    """Each object's shading gain (log, per |cos| knot: `procsplat.splat.model`)."""
    # shape and pose of each procedural object (with --joint-shape)
    shape: float = 2e-3
    yaw: float = 2e-3
    translation: float = 1e-3
    # background Gaussians
    means: float = 4e-4
    quats: float = 0.001
    scales: float = 0.005
    opacity: float = 0.05
    sh0: float = 0.005
    shN: float = 0.00025


@dataclass
class TrainConfig:
    """`procsplat train`: a scan -> procedural objects + Gaussian splats -> a run folder (no --scene: the
    built-in demo, minutes on a CPU)."""

    data: Annotated[SceneConfig, tyro.conf.arg(name="")] = field(default_factory=SceneConfig)
    out: Path = Path("runs")
    """Runs are written to <out>/<run-name>/."""
    run_name: str = ""
    """Defaults to the scene name."""
    fit: Literal["ga", "gt", "none"] = "ga"
    """How objects get their programs: "ga" (memetic search, the method), "gt" (ground truth of a
    synthetic scene's gt.json: an oracle for experiments), "none" (free Gaussians only)."""
    fits_from: Optional[Path] = None
    """Use the objects of a `procsplat fit` summary.json instead of fitting again."""
    joint_shape: bool = True
    """Optimise shape parameters and poses jointly with the Gaussians (False: shapes frozen)."""
    steps: int = 250
    holdout_every: int = 8
    """Every n-th frame is held out for evaluation."""
    depth_weight: float = 0.2
    offset_weight: float = 10.0
    """Keeps anchored Gaussians on (not off) their faces."""
    geometry_weight: float = 10.0
    """With --joint-shape: weight of each object's fitting loss (coverage, free space, accuracy,
    support of `procsplat.fit.losses`) against the training frames' depth, which holds the shapes to
    the observed geometry while the photometric loss moves them (0: photometric gradients alone)."""
    shape_every: int = 2
    """With --joint-shape: shapes and poses take an optimiser step every n-th step (1: every step),
    on the gradient of the mean loss of those n steps' frames (a batch of n frames for the shapes;
    the Gaussians step every step). Each object's program and shape evidence are evaluated, and
    differentiated, once per n steps (`procsplat.train.shapestep`)."""
    shape_every_settled: int = 32
    """With --joint-shape: once the shapes have settled (`shape_settle_at`, `shape_settle_min`), shapes and
    poses step every this many steps instead, on the mean gradient of those steps' frames (a larger batch,
    fewer shape steps; 32 (16 before session 8, 8 before session 7) at the same bench figures and a cheaper step:
    `procsplat.train.shapestep`)."""
    shape_settle_at: float = 0.6
    """The shapes count as settled from this fraction of `steps` on (1 or more: never)..."""
    shape_settle_min: int = 50
    """...and not before they have taken this many steps at `shape_every` (a short run keeps its shape
    steps: 30 in a 60-step run)."""
    evidence_every: int = 1
    """With --joint-shape: the shape evidence (each object's fitting loss, `--geometry-weight`) and its
    gradient w.r.t. the objects' world vertices are evaluated on every n-th shape step; the steps between
    reuse that vertex gradient on their own meshes (1: every shape step)."""
    prune_anchored: float = 0.0
    """At `prune_anchored_at` of the run, this fraction of each object's anchored Gaussians -- those
    that contribute least to the training views (summed blending weight: `procsplat.splat.densify.
    prune_anchored`) -- is removed (0: none)."""
    prune_anchored_at: float = 0.5
    """When to prune, as a fraction of `steps` (at the start of a shape cycle)."""
    checkpoint_every: int = 50
    resume: bool = False
    """Continue the run in <out>/<run-name>/: fitted objects are reused, training continues from
    checkpoints/latest.pt."""
    backend: Literal["auto", "torch", "gsplat"] = "auto"
    device: str = "cpu"
    """Where the model and frames live while training ("cuda": gsplat's rasteriser with backend auto);
    the exports (turntables, meshes) are made on the CPU."""
    densify: bool = False
    """Densify the background Gaussians (gsplat's DefaultStrategy, settings `--strategy.*`)."""
    strategy: DensifyStrategy = field(default_factory=DensifyStrategy)
    detail: AnchoredDetail = field(default_factory=AnchoredDetail)
    """Edge-aware densification of the anchored Gaussians, count held (`--detail.*`; fraction 0: off)."""
    seed: int = 0
    video_frames: int = 24
    view: bool = False
    """Serve the viewer during training (fitted shapes as they come, splats as they optimise),
    then the finished run for editing until Ctrl-C (see `procsplat view`)."""
    port: int = 8080
    host: str = "127.0.0.1"
    init: InitConfig = field(default_factory=InitConfig)
    convert: ConvertConfig = field(default_factory=ConvertConfig)
    """During training, background Gaussians on an object's surface become anchored ones (`--convert.*`)."""
    complete: CompletionConfig = field(default_factory=CompletionConfig)
    """After training, Gaussians on the object surface no training view saw (`--complete.*`)."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    ga: GAPreset = field(default_factory=lambda: PRESETS["fast"])
    """The fitting search (a preset, then its flags)."""


__all__ = ["AnchoredDetail", "CompletionConfig", "ConvertConfig", "DensifyStrategy", "GAConfig", "InitConfig", "OptimConfig",
           "SceneConfig", "TrainConfig"]
