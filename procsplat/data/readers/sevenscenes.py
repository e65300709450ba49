"""7-Scenes style RGB-D folders.

A sequence folder holds `frame-XXXXXX.color.{png,jpg}`, `frame-XXXXXX.depth.png` (uint16
millimetres; 0 and 65535 = invalid) and `frame-XXXXXX.pose.txt` (4x4 camera-to-world, metres,
OpenCV axes). A scene folder whose frames live in `seq-*/` subfolders loads all sequences in
name order (7-Scenes registers all sequences of a scene in one world frame); frame numbers are
then `sequence position * 1_000_000 + frame number`.

Intrinsics: `camera-intrinsics.txt` (3x3) in the folder (or its parent) if present, else the
7-Scenes default fx = fy = 585, cx = 320, cy = 240.

Registration: 7-Scenes colour and depth come from two Kinect cameras and are *not* registered
(a few pixels of misalignment). We use them as if registered with the one K for both and do
not correct it: colour is only resized when its size differs from the depth's.

World frame: the source world is KinectFusion's (no gravity). By default (`up="auto"`) the up
direction is estimated from the depth (horizontal surfaces and the floor plane, with the cameras'
mean up as the prior: `procsplat.data.gravity`), the world is rotated so that it becomes +Z and
shifted so that the floor is at z = 0; the transform is `Scene.world_from_source` and the estimate
`Scene.up_estimate`. `up="cameras"` rotates the mean camera up direction (-y of each camera) onto
+Z only (the behaviour before the floor estimate: hand-held cameras look down, and on RedKitchen
it tilted the world by 25 degrees); `up="source"` (or gravity_align=False) keeps the source frame.
Frames with a non-finite pose are skipped (reported in `Scene.skipped_frames`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

import numpy as np

from procsplat.data.gravity import align_up
from procsplat.data.readers._image import (decode_depth_png, decode_rgb, pose_is_valid, read_matrix,
                                      resample_rgb, resize_depth_nearest)
from procsplat.data.scene import (FrameReader, FrameSource, MissingSceneFile, Scene, SceneReadError)

DEFAULT_K = np.array([[585.0, 0.0, 320.0], [0.0, 585.0, 240.0], [0.0, 0.0, 1.0]])
DEPTH_SCALE = 1000.0  # depth PNG units per metre
INVALID_DEPTH = 65535
_POSE_NAME = re.compile(r"^frame-(\d+)\.pose\.txt$")


def is_sevenscenes_folder(path: Path) -> bool:
    path = Path(path)
    if not path.is_dir():
        return False
    if any(path.glob("frame-*.pose.txt")):
        return True
    return any(any(seq.glob("frame-*.pose.txt")) for seq in path.glob("seq-*") if seq.is_dir())


class SevenScenesReader(FrameReader):
    def __init__(self, folder: Union[str, Path]):
        folder = Path(folder)
        if not folder.is_dir():
            raise MissingSceneFile(f"{folder}: 7-Scenes folder not found")
        self.folder = folder
        self.name = folder.name
        seqs = [folder] if any(folder.glob("frame-*.pose.txt")) else sorted(
            s for s in folder.glob("seq-*") if s.is_dir() and any(s.glob("frame-*.pose.txt")))
        if not seqs:
            raise MissingSceneFile(f"{folder}: no frame-XXXXXX.pose.txt files (7-Scenes layout)")
        intr = next((p / "camera-intrinsics.txt" for p in (folder, folder.parent)
                     if (p / "camera-intrinsics.txt").is_file()), None)
        self.K = DEFAULT_K.copy() if intr is None else read_matrix(intr, (3, 3), "intrinsics")

        self.ids, self.skipped, self.files, poses = [], [], [], []
        for s, seq in enumerate(seqs):
            base = s * 1_000_000 if len(seqs) > 1 else 0
            numbered = sorted((int(m.group(1)), p) for p in seq.iterdir()
                              if (m := _POSE_NAME.match(p.name)))
            for number, pose_path in numbered:
                stem = pose_path.name[: -len(".pose.txt")]
                color = next((seq / f"{stem}.color.{ext}" for ext in ("png", "jpg")
                              if (seq / f"{stem}.color.{ext}").is_file()), None)
                depth = seq / f"{stem}.depth.png"
                if color is None:
                    raise MissingSceneFile(f"{seq / (stem + '.color.png')}: colour image missing "
                                           f"(also no .color.jpg) for {pose_path.name}")
                if not depth.is_file():
                    raise MissingSceneFile(f"{depth}: depth image missing for {pose_path.name}")
                pose = read_matrix(pose_path, (4, 4), "camera-to-world pose")
                if not pose_is_valid(pose):
                    self.skipped.append(base + number)
                    continue
                self.ids.append(base + number)
                self.files.append((color, depth))
                poses.append(pose)
            for kind in ("color", "depth"):
                extra = {p.name.split(".")[0] for p in seq.glob(f"frame-*.{kind}.*")} - {
                    p.name[: -len(".pose.txt")] for _, p in numbered}
                if extra:
                    raise SceneReadError(f"{seq / (sorted(extra)[0] + '.pose.txt')}: pose file "
                                         f"missing for {kind} image ({len(extra)} such frames)")
        if not self.ids:
            raise SceneReadError(f"{folder}: no frame has a valid pose")
        self.poses = np.stack(poses)
        first_depth = decode_depth_png(self.files[0][1], str(self.files[0][1]))
        self.height, self.width = first_depth.shape

    def read_depth(self, k):
        depth_path = self.files[k][1]
        raw = decode_depth_png(depth_path, str(depth_path))
        if raw.shape != (self.height, self.width):
            raise SceneReadError(f"{depth_path}: depth is {raw.shape[1]}x{raw.shape[0]}, other "
                                 f"frames are {self.width}x{self.height}")
        return np.where(raw == INVALID_DEPTH, 0, raw).astype(np.float32) / np.float32(DEPTH_SCALE)

    def read(self, k, K_out, width, height):
        color_path = self.files[k][0]
        depth = self.read_depth(k)
        image = decode_rgb(color_path, str(color_path))
        # Colour uses the same K, scaled to its own size (see module doc on registration).
        K_color = np.diag([image.size[0] / self.width, image.size[1] / self.height, 1.0]) @ self.K
        rgb = resample_rgb(image, K_color, K_out, width, height)
        return rgb, resize_depth_nearest(depth, width, height)


def load_sevenscenes(folder: Union[str, Path], *, up: str = "auto", gravity_align: bool = True, stride: int = 1,
                     max_frames: Optional[int] = None, image_scale: Optional[float] = None,
                     width: Optional[int] = None, cache_size: int = 8) -> Scene:
    """A 7-Scenes/TUM folder as a Scene, gravity-aligned (`up`, see `procsplat.data.gravity.align_up`;
    gravity_align=False is up="source")."""
    reader = SevenScenesReader(folder)
    frames = FrameSource(reader, stride=stride, max_frames=max_frames, image_scale=image_scale,
                         width=width, cache_size=cache_size)
    scene = Scene(name=reader.name, frames=frames, source=Path(folder))
    return align_up(scene, up if gravity_align else "source", fallback="cameras")


def write_sevenscenes(folder: Union[str, Path], frames, K: np.ndarray) -> Path:
    """Write frames [(rgb (H,W,3) uint8, depth (H,W) float32 metres, cam_to_world 4x4)] as a 7-Scenes
    folder: frame-XXXXXX.color.png, .depth.png (uint16 mm, 0 = invalid), .pose.txt, and
    camera-intrinsics.txt (K, for colour and depth). E.g. a synthetic scene without its labels."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "camera-intrinsics.txt", np.asarray(K, np.float64))
    for i, (rgb, depth, pose) in enumerate(frames):
        stem = folder / f"frame-{i:06d}"
        Image.fromarray(np.asarray(rgb, np.uint8)).save(f"{stem}.color.png")
        mm = np.round(np.asarray(depth, np.float64) * DEPTH_SCALE)
        if mm.max(initial=0) >= INVALID_DEPTH:
            raise ValueError(f"write_sevenscenes: frame {i} depth {mm.max() / DEPTH_SCALE:.3f} m exceeds "
                             f"{(INVALID_DEPTH - 1) / DEPTH_SCALE} m")
        Image.fromarray(np.where(np.isfinite(mm) & (mm > 0), mm, 0).astype(np.uint16)).save(f"{stem}.depth.png")
        np.savetxt(f"{stem}.pose.txt", np.asarray(pose, np.float64))
    return folder
