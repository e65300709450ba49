"""SceneConfig: which scan to read and how (shared by `procsplat train`, `fit` and `batch`), and
`open_scene`, the one place that turns it into a `Scene`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from procsplat.data.scene import MissingSceneFile, Scene

SCANNET_ID = re.compile(r"^scene\d{4}_\d{2}$")


@dataclass
class SceneConfig:
    """The scan: a folder or file, or a ScanNet scene id, and how its frames are read."""

    scene: Optional[str] = None
    """A scene folder (ScanNet raw or exported, 7-Scenes style), a `.sens` file, or a ScanNet scene
    id such as scene0011_00 (looked up under --scannet-root or $SCANNET_ROOT). None: the built-in
    synthetic demo (generated once under <out>/_demo)."""
    scannet_root: Optional[Path] = None
    """Root of a ScanNet download (holding scans/<id>/ or <id>/); default $SCANNET_ROOT."""
    width: int = 224
    """Frames are resized to this width (intrinsics scaled)."""
    max_frames: int = 48
    """At most this many frames, evenly spread over the scan (after --stride)."""
    stride: int = 1
    allow_truncated: bool = False
    """Read a cut-off .sens file up to its last complete frame (with a warning) instead of refusing it."""
    up: Literal["auto", "estimate", "cameras", "source"] = "auto"
    """The world's up: "auto" keeps a known one (ScanNet's axisAlignment) and otherwise estimates it from the
    depth (floor plane and horizontal surfaces, the cameras' mean up as the prior; floor moved to z = 0; one
    line states it); "estimate" always estimates; "cameras" is the cameras' mean up alone; "source" keeps
    the scan's frame."""
    objects_from: Optional[Path] = None
    """A boxes JSON file: the scan's objects as oriented boxes (category, center, size, yaw) in the world
    frame, replacing its instance labels, so any RGB-D scan gets procedural objects (format: README)."""
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per process unless OMP_NUM_THREADS says
    otherwise, waiting threads sleep)."""


def open_scene(cfg: SceneConfig, demo_root: Path = Path("runs"), log=print) -> tuple[Scene, Path]:
    """(Scene, its path) for a SceneConfig; frames with non-finite poses are reported and skipped."""
    import os

    from procsplat.data.readers import detect_layout, load_scene

    opts = {"width": cfg.width, "max_frames": cfg.max_frames, "stride": cfg.stride, "up": cfg.up}
    if cfg.scene is None:
        from procsplat.data.synth import demo_scene

        path = demo_scene(demo_root)
        scene = load_scene(path, **opts)
    else:
        candidate = Path(cfg.scene).expanduser()
        if candidate.exists():
            path = candidate
            if detect_layout(path) in ("scannet", "sens"):
                opts["allow_truncated"] = cfg.allow_truncated
            scene = load_scene(path, **opts)
        elif SCANNET_ID.match(cfg.scene):
            root = cfg.scannet_root if cfg.scannet_root is not None else os.environ.get("SCANNET_ROOT")
            if root is None:
                raise MissingSceneFile(f"scene {cfg.scene!r}: a ScanNet scene id needs --scannet-root (or "
                                       f"$SCANNET_ROOT), or give the scene's folder")
            scene = load_scene(Path(root), scene=cfg.scene, allow_truncated=cfg.allow_truncated, **opts)
            path = Path(scene.source)
        else:
            raise MissingSceneFile(f"{cfg.scene}: scene path not found (not a file or folder, and not a "
                                   f"ScanNet scene id like scene0011_00)")
    skipped = scene.skipped_frames
    if skipped:
        shown = ", ".join(str(i) for i in skipped[:20]) + (", ..." if len(skipped) > 20 else "")
        log(f"{path}: skipped {len(skipped)} frame(s) with a non-finite pose (frames {shown})")
    if scene.up_estimate is not None:
        log(scene.up_estimate.describe(str(path)))
    if cfg.objects_from is not None:
        from procsplat.data.boxes import attach_boxes

        attach_boxes(scene, cfg.objects_from, log=log)
    return scene, path
