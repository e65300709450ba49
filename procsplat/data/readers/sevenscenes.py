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

World frame: the source world is KinectFusion's (no gravity). With `gravity_align=True`
(default) the world is rotated so that the mean camera up direction (-y of each camera, as
ScanNet's SensReader does without IMU) becomes +Z; the rotation is `Scene.world_from_source`.
Frames with a non-finite pose are skipped (reported in `Scene.skipped_frames`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

import numpy as np

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


def rotation_to_z(up: np.ndarray) -> np.ndarray:
    """Smallest rotation (3x3) taking the unit vector `up` to +Z."""
    up = np.asarray(up, np.float64) / np.linalg.norm(up)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(up, z)
    s, c = np.linalg.norm(axis), float(up @ z)
    if s < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    axis /= s
    A = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + s * A + (1 - c) * A @ A


def gravity_from_cameras(poses: np.ndarray) -> np.ndarray:
    """4x4 world rotation taking the mean camera up direction (-y camera axis) to +Z."""
    up = -poses[:, :3, 1].mean(0)
    if np.linalg.norm(up) < 1e-6:
        return np.eye(4)
    T = np.eye(4)
    T[:3, :3] = rotation_to_z(up)
    return T


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

    def read(self, k, K_out, width, height):
        color_path, depth_path = self.files[k]
        raw = decode_depth_png(depth_path, str(depth_path))
        if raw.shape != (self.height, self.width):
            raise SceneReadError(f"{depth_path}: depth is {raw.shape[1]}x{raw.shape[0]}, other "
                                 f"frames are {self.width}x{self.height}")
        depth = np.where(raw == INVALID_DEPTH, 0, raw).astype(np.float32) / np.float32(DEPTH_SCALE)
        image = decode_rgb(color_path, str(color_path))
        # Colour uses the same K, scaled to its own size (see module doc on registration).
        K_color = np.diag([image.size[0] / self.width, image.size[1] / self.height, 1.0]) @ self.K
        rgb = resample_rgb(image, K_color, K_out, width, height)
        return rgb, resize_depth_nearest(depth, width, height)


def load_sevenscenes(folder: Union[str, Path], *, gravity_align: bool = True, stride: int = 1,
                     max_frames: Optional[int] = None, image_scale: Optional[float] = None,
                     width: Optional[int] = None, cache_size: int = 8) -> Scene:
    reader = SevenScenesReader(folder)
    T = gravity_from_cameras(reader.poses) if gravity_align else np.eye(4)
    frames = FrameSource(reader, stride=stride, max_frames=max_frames, image_scale=image_scale,
                         width=width, cache_size=cache_size, world_from_source=T)
    return Scene(name=reader.name, frames=frames, source=Path(folder))
