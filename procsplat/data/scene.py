"""The scene model: RGB-D frames (decoded lazily), labelled objects, floor, bounds, mesh.

Conventions (shared with `geonodes.render` and `procsplat.splat.rasterize`)
- World frame: metres, +Z up (`Scene.up_axis`). Readers rotate their source's world frame
  into this one and keep the transform in `Scene.world_from_source`.
- Camera: `cam_to_world` 4x4 with OpenCV axes (x right, y down, z forward).
- Pixels: pixel (row j, column i) covers [i, i+1) x [j, j+1); its centre is (i + 0.5, j + 0.5).
  With this convention resizing an image to (W', H') scales fx, cx by W'/W and fy, cy by H'/H,
  with no half-pixel correction.
- Depth: float32 metres, z in the camera frame, 0 = invalid.
- Instance ids: int32, 0 = no object.

Frames are never all held in memory: `FrameSource` decodes a frame when it is indexed and
keeps at most `cache_size` decoded frames (least recently used evicted), so a 5,000-frame
ScanNet scene costs one frame index plus a few decoded frames.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from procsplat.errors import ProcsplatError
from procsplat.geometry import backproject


class SceneReadError(ProcsplatError):
    """A scene file is malformed, unreadable or inconsistent; the message names the file."""


class MissingSceneFile(SceneReadError, FileNotFoundError):
    """A file or folder a scene needs does not exist; the message names it."""


@dataclass
class Frame:
    """One RGB-D frame, colour and depth on the same pixel grid."""

    index: int  # frame number in the source recording (gaps where frames were skipped)
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 metres, 0 = invalid
    K: np.ndarray  # (3, 3) float64 pinhole intrinsics for this resolution
    cam_to_world: np.ndarray  # (4, 4) float64, OpenCV camera axes

    @property
    def height(self) -> int:
        return int(self.depth.shape[0])

    @property
    def width(self) -> int:
        return int(self.depth.shape[1])


@dataclass
class Mesh:
    """A triangle mesh in the scene's world frame."""

    vertices: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) int64
    vertex_colors: Optional[np.ndarray] = None  # (V, 3) uint8
    vertex_instance: Optional[np.ndarray] = None  # (V,) int32 instance id, 0 = none


@dataclass
class SceneObject:
    """A labelled object instance of the scene."""

    id: int  # instance id >= 1, the value it has in `Scene.instance_mask`
    label: str  # category label, e.g. "chair"
    points: np.ndarray  # (N, 3) float32 world points of the object (e.g. its mesh vertices)
    masks: Optional["MaskSource"] = None  # per-frame instance masks, when the scene has them

    def mask(self, i: int) -> np.ndarray:
        """(H, W) bool mask of this object in frame i of the scene."""
        if self.masks is None:
            raise SceneReadError(f"object {self.id} ({self.label!r}) has no per-frame masks")
        return self.masks(i) == self.id


class FrameReader(ABC):
    """Native access to one recording; readers implement this, `FrameSource` wraps it.

    All per-frame lists are over the *readable* frames only (frames with invalid poses
    already dropped); `ids[k]` is frame k's number in the recording.
    """

    name: str
    ids: list[int]  # original frame numbers
    poses: np.ndarray  # (N, 4, 4) float64 cam_to_world in the source's world frame
    K: np.ndarray  # (3, 3) float64 intrinsics of the native (depth) pixel grid
    width: int  # native grid size
    height: int
    skipped: list[int]  # original frame numbers dropped (invalid pose), for reporting

    def __len__(self) -> int:
        return len(self.ids)

    @abstractmethod
    def read(self, k: int, K_out: np.ndarray, width: int, height: int
             ) -> tuple[np.ndarray, np.ndarray]:
        """Decode frame k resampled to the grid (K_out, width, height): (rgb uint8, depth f32)."""

    def read_depth(self, k: int) -> np.ndarray:
        """Frame k's depth (float32 metres, 0 = invalid) on the native grid. Readers that can decode
        depth without colour override this (gravity estimation reads depth only)."""
        return self.read(k, self.K, self.width, self.height)[1]


def output_grid(width: int, height: int, K: np.ndarray, image_scale: Optional[float],
                target_width: Optional[int]) -> tuple[int, int, np.ndarray]:
    """Output size and intrinsics for a native grid resized by a scale or to a width."""
    if image_scale is not None and target_width is not None:
        raise ProcsplatError("give either image_scale or width, not both")
    if image_scale is not None:
        if not (image_scale > 0 and math.isfinite(image_scale)):
            raise ProcsplatError(f"image_scale must be a positive number, got {image_scale!r}")
        out_w, out_h = round(width * image_scale), round(height * image_scale)
    elif target_width is not None:
        if int(target_width) != target_width or target_width <= 0:
            raise ProcsplatError(f"width must be a positive int, got {target_width!r}")
        out_w, out_h = int(target_width), round(height * target_width / width)
    else:
        out_w, out_h = width, height
    if out_w < 1 or out_h < 1:
        raise ProcsplatError(f"resizing {width}x{height} gives an empty image ({out_w}x{out_h})")
    K_out = np.diag([out_w / width, out_h / height, 1.0]) @ np.asarray(K, np.float64)
    return out_w, out_h, K_out


class FrameSource:
    """Lazy, subsampled, resized view of a `FrameReader` with a bounded LRU frame cache.

    Frame selection: the reader's readable frames, every `stride`-th, at most `max_frames`.
    `world_from_source` (4x4) is applied to every pose. Decoding happens in `__getitem__`;
    `decode_count` counts decodes (cache misses) and `cached` lists cached positions.
    """

    def __init__(self, reader: FrameReader, *, stride: int = 1, max_frames: Optional[int] = None,
                 image_scale: Optional[float] = None, width: Optional[int] = None,
                 cache_size: int = 8, world_from_source: Optional[np.ndarray] = None):
        if int(stride) != stride or stride < 1:
            raise ProcsplatError(f"stride must be a positive int, got {stride!r}")
        if max_frames is not None and (int(max_frames) != max_frames or max_frames < 1):
            raise ProcsplatError(f"max_frames must be a positive int or None, got {max_frames!r}")
        if int(cache_size) != cache_size or cache_size < 0:
            raise ProcsplatError(f"cache_size must be an int >= 0, got {cache_size!r}")
        self.reader = reader
        self.positions = list(range(0, len(reader), int(stride)))[:max_frames]
        self.width, self.height, self.K = output_grid(reader.width, reader.height, reader.K,
                                                      image_scale, width)
        T = np.eye(4) if world_from_source is None else np.asarray(world_from_source, np.float64)
        self.world_from_source = T
        self.poses = T @ reader.poses[self.positions] if self.positions else np.zeros((0, 4, 4))
        self.ids = [reader.ids[k] for k in self.positions]
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self.decode_count = 0

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> Frame:
        if not isinstance(i, (int, np.integer)):
            raise TypeError(f"frame index must be an int, got {type(i).__name__}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range for {n} frames of {self.reader.name}")
        i = int(i) % n
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        rgb, depth = self.reader.read(self.positions[i], self.K, self.width, self.height)
        self.decode_count += 1
        frame = Frame(self.ids[i], rgb, depth, self.K.copy(), self.poses[i].copy())
        for array in (frame.rgb, frame.depth, frame.K, frame.cam_to_world):
            array.flags.writeable = False  # shared through the cache: copy before editing
        if self.cache_size:
            self._cache[i] = frame
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return frame

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def cached(self) -> list[int]:
        return list(self._cache)

    def transform_world(self, T: np.ndarray) -> None:
        """Move the world frame by the 4x4 rigid transform T: every pose and `world_from_source` are
        left-multiplied by it; decoded frames are dropped (their poses are stale)."""
        T = np.asarray(T, np.float64)
        self.world_from_source = T @ self.world_from_source
        self.poses = T @ self.poses if len(self.poses) else self.poses
        self._cache.clear()


class MaskSource:
    """Per-frame instance masks computed on demand from a frame, with a bounded LRU cache."""

    def __init__(self, frames: FrameSource, compute: Callable[[Frame], np.ndarray],
                 cache_size: int = 4):
        self.frames = frames
        self.compute = compute
        self.cache_size = cache_size
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()

    def __call__(self, i: int) -> np.ndarray:
        i = int(i) % len(self.frames) if len(self.frames) else int(i)
        if i in self._cache:
            self._cache.move_to_end(i)
            return self._cache[i]
        mask = np.asarray(self.compute(self.frames[i]), dtype=np.int32)
        mask.flags.writeable = False  # shared through the cache
        if self.cache_size:
            self._cache[i] = mask
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return mask




class Scene:
    """A captured or synthetic indoor scene.

    `floor_height` and `bounds` are estimated on first use when not given: from the mesh
    when there is one, else from the depth of up to 8 evenly spaced frames (floor = 1st
    percentile of point heights, bounds = 0.5/99.5 percentiles).

    `up_source` says where the world's +Z comes from when the source knows it (ScanNet's
    axisAlignment); None means the reader could not tell, and `load_scene` estimates it from the
    depth (`procsplat.data.gravity`), keeping the estimate in `up_estimate`.
    """

    up_axis = np.array([0.0, 0.0, 1.0])  # world up, shared by every scene (see module doc)

    def __init__(self, name: str, frames: FrameSource, objects: Optional[list[SceneObject]] = None,
                 mesh: Optional[Mesh] = None, masks: Optional[MaskSource] = None,
                 source: Optional[Path] = None, floor_height: Optional[float] = None,
                 bounds: Optional[np.ndarray] = None):
        self.name = name
        self.frames = frames
        self.objects = list(objects or [])
        self.mesh = mesh
        self.masks = masks
        self.source = source
        self._floor_height = None if floor_height is None else float(floor_height)
        self._bounds = None if bounds is None else np.asarray(bounds, np.float64).reshape(2, 3)
        self.up_source: Optional[str] = None
        self.up_estimate = None  # procsplat.data.gravity.UpEstimate, when the up was estimated

    def __repr__(self) -> str:
        return (f"Scene({self.name!r}, {len(self.frames)} frames, {len(self.objects)} objects, "
                f"mesh={'yes' if self.mesh is not None else 'no'}, source={self.source})")

    @property
    def world_from_source(self) -> np.ndarray:
        return self.frames.world_from_source

    @property
    def skipped_frames(self) -> list[int]:
        """Frame numbers of the recording that were dropped because their pose is invalid."""
        return list(self.frames.reader.skipped)

    def transform_world(self, T: np.ndarray, floor_height: Optional[float] = None) -> None:
        """Move the world frame by the 4x4 rigid transform T (frames, mesh, object points); the floor
        height becomes `floor_height` (None: estimated again on first use) and bounds are re-estimated."""
        T = np.asarray(T, np.float64)
        self.frames.transform_world(T)

        def move(points):
            return (np.asarray(points, np.float64) @ T[:3, :3].T + T[:3, 3]).astype(np.float32)

        if self.mesh is not None:
            self.mesh.vertices = move(self.mesh.vertices)
        for obj in self.objects:
            obj.points = move(obj.points)
        if self.masks is not None:
            self.masks._cache.clear()
        self._floor_height = None if floor_height is None else float(floor_height)
        self._bounds = None

    def instance_mask(self, i: int) -> np.ndarray:
        """(H, W) int32 instance ids of frame i, 0 where no object."""
        if self.masks is None:
            raise SceneReadError(f"scene {self.name!r} ({self.source}) has no instance masks")
        return self.masks(i)

    def _estimate_extent(self) -> None:
        if self.mesh is not None and len(self.mesh.vertices):
            pts = self.mesh.vertices.astype(np.float64)
            lo, hi = pts.min(0), pts.max(0)
        else:
            n = len(self.frames)
            picks = sorted({round(x) for x in np.linspace(0, n - 1, min(n, 8))}) if n else []
            pts = [backproject(self.frames[i].depth, self.frames.K, self.frames.poses[i], step=4)
                   for i in picks]
            pts = np.concatenate(pts) if pts else np.zeros((0, 3))
            if not len(pts):
                raise SceneReadError(f"scene {self.name!r} ({self.source}): no mesh and no valid "
                                     f"depth to estimate floor and bounds from")
            lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
        if self._floor_height is None:
            self._floor_height = float(np.percentile(pts[:, 2], 1.0))
        if self._bounds is None:
            self._bounds = np.stack([lo, hi])

    @property
    def floor_height(self) -> float:
        if self._floor_height is None:
            self._estimate_extent()
        return self._floor_height

    @property
    def bounds(self) -> np.ndarray:
        """(2, 3) world-space min and max corners."""
        if self._bounds is None:
            self._estimate_extent()
        return self._bounds
