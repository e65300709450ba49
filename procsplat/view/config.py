"""Settings of `procsplat view` (kept apart from the server so the CLI imports no viser)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import tyro

from procsplat.data.config import SceneConfig
from procsplat.fit.search import PRESETS, GAPreset


@dataclass
class ViewConfig:
    """`procsplat view`: serve a run in the browser (viser): inspect it, edit its programs live. Or, with
    --scene and no run, a scan: place boxes on it, fit programs into them, save the boxes file that
    `procsplat train --objects-from` reads."""

    run: Annotated[Optional[Path], tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")] = None
    """A finished run directory (scene.json, model.pt, splats.ply). Leave it out to open --scene instead."""
    data: Annotated[SceneConfig, tyro.conf.arg(name="")] = field(
        default_factory=lambda: SceneConfig(width=320, max_frames=60))
    """Without RUN_DIR: the scan to place boxes on, read as `procsplat fit` reads it (same flags, same world
    frame). --objects-from loads a boxes file to edit (and is where "Save boxes" writes by default)."""
    port: int = 8080
    host: str = "127.0.0.1"
    """Interface to listen on; loopback by default (0.0.0.0 serves the whole network)."""
    cameras: int = 8
    """How many training frames to show as camera frustums with thumbnails (0: none)."""
    environment_map: bool = True
    """Light meshes with viser's HDRI environment (off: plain background, faster first frame on
    software WebGL)."""
    points: int = 150_000
    """With --scene: at most this many scan points are drawn (back-projected depth, subsampled)."""
    boxes: bool = False
    """With RUN_DIR: also the box editor on the run's scan (read as its training read it), starting with a box
    per object of the run, to add the objects it missed and save a boxes file for retraining."""
    boxes_out: Optional[Path] = None
    """Where "Save boxes" writes (default: with --scene the --objects-from file, else ./boxes.json; with
    RUN_DIR --boxes, RUN_DIR/edited/boxes.json)."""
    ga: GAPreset = field(default_factory=lambda: PRESETS["fast"])
    """The search "Fit" runs (a preset, then its flags; ga:fast by default, to stay interactive)."""
