"""Scene readers: `load_scene(path, **opts)` detects the layout and returns a `Scene`.

Layouts (one module each):
- ScanNet raw scene folder with `<scene>.sens` (+ mesh, aggregation, `<scene>.txt`), or a
  bare `.sens` file, or ScanNet's exported `color/ depth/ pose/ intrinsic/` folders:
  `procsplat.data.readers.scannet` (options: scene, masks, mask_config, allow_truncated,
  depth_shift). `load_scene(None, scene="scene0011_00")` looks under `$SCANNET_ROOT`.
- 7-Scenes style `frame-XXXXXX.{color,depth,pose}` folders: `procsplat.data.readers.sevenscenes`
  (option: gravity_align).
Common options: stride, max_frames, image_scale or width, cache_size, and up: "auto" (default:
the source's up where it knows it, ScanNet's axisAlignment; else estimated from the depth, floor
moved to z = 0), "estimate", "cameras" or "source" (`procsplat.data.gravity.align_up`).
A ScanNet-layout scene from `procsplat synth --realistic` (its gt.json has a "realistic" entry) gets
its instance masks dilated/eroded by 1-3 px at read time (`procsplat.data.realistic`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Union

from procsplat.data.scene import MissingSceneFile, Scene, SceneReadError

__all__ = ["load_scene", "detect_layout", "SceneReadError", "MissingSceneFile"]

_COMMON = {"stride", "max_frames", "image_scale", "width", "cache_size", "up"}
_OPTIONS = {
    "scannet": _COMMON | {"scene", "masks", "mask_config", "allow_truncated", "depth_shift"},
    "sens": _COMMON | {"allow_truncated"},
    "sevenscenes": _COMMON | {"gravity_align"},
}


def detect_layout(path: Path) -> str:
    """'sens', 'scannet' or 'sevenscenes'; raises naming the path when none fits."""
    from procsplat.data.readers.scannet import is_scannet_folder
    from procsplat.data.readers.sevenscenes import is_sevenscenes_folder

    path = Path(path)
    if not path.exists():
        raise MissingSceneFile(f"{path}: scene path not found")
    if path.is_file():
        if path.suffix == ".sens":
            return "sens"
        raise SceneReadError(f"{path}: unknown scene file type (expected a .sens file or a "
                             f"scene folder)")
    if is_scannet_folder(path):
        return "scannet"
    if is_sevenscenes_folder(path):
        return "sevenscenes"
    raise SceneReadError(f"{path}: unrecognised scene layout (expected a ScanNet scene folder "
                         f"with <scene>.sens or color/ depth/ pose/, or 7-Scenes "
                         f"frame-XXXXXX.pose.txt files)")


def load_scene(path: Union[str, Path, None] = None, **opts) -> Scene:
    """Load a scene from a file or folder, detecting its layout (see module doc)."""
    if path is None or opts.get("scene") is not None:
        layout = "scannet"  # a root plus scene name (or $SCANNET_ROOT)
    else:
        layout = detect_layout(Path(path))
    unknown = set(opts) - _OPTIONS[layout]
    if unknown:
        raise TypeError(f"load_scene({path}): options {sorted(unknown)} do not apply to the "
                        f"{layout} layout (allowed: {sorted(_OPTIONS[layout])})")
    if layout == "sevenscenes":
        from procsplat.data.readers.sevenscenes import load_sevenscenes
        return load_sevenscenes(path, **opts)
    if layout == "sens":
        from procsplat.data.readers.sens import SensReader
        from procsplat.data.scene import FrameSource
        from procsplat.data.gravity import align_up
        reader = SensReader(path, allow_truncated=opts.pop("allow_truncated", False))
        up = opts.pop("up", "auto")
        scene = Scene(name=reader.name, frames=FrameSource(reader, **opts), source=Path(path))
        return align_up(scene, up, fallback="source")
    from procsplat.data.readers.scannet import load_scannet
    from procsplat.data.realistic import bleed_synthetic_masks
    # a synthetic scene written with `realistic` (gt.json says so): its masks bleed like ScanNet's
    return bleed_synthetic_masks(load_scannet(path, **opts), opts.get("mask_config"))
