"""Settings of `procsplat view` (kept apart from the server so the CLI imports no viser)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro


@dataclass
class ViewConfig:
    """`procsplat view`: serve a run in the browser (viser): inspect it, edit its programs live."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN_DIR")]
    """A finished run directory (scene.json, model.pt, splats.ply)."""
    port: int = 8080
    host: str = "127.0.0.1"
    """Interface to listen on; loopback by default (0.0.0.0 serves the whole network)."""
    cameras: int = 8
    """How many training frames to show as camera frustums with thumbnails (0: none)."""
    environment_map: bool = True
    """Light meshes with viser's HDRI environment (off: plain background, faster first frame on
    software WebGL)."""
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per core, waiting threads sleep)."""
