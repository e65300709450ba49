"""ScanNet `.sens` (SensorData version 4): streamed reader and writer.

Layout (little endian, as ScanNet's SensorData.h / SensorData.py):
    uint32 version (= 4)
    uint64 strlen, char[strlen] sensor name
    float32[16] intrinsic colour, extrinsic colour, intrinsic depth, extrinsic depth (row major)
    int32 colour compression (-1 unknown, 0 raw, 1 png, 2 jpeg)
    int32 depth compression (-1 unknown, 0 raw_ushort, 1 zlib_ushort, 2 occi_ushort)
    uint32 colour width, colour height, depth width, depth height
    float32 depth shift (raw depth units per metre, usually 1000)
    uint64 number of frames, then per frame:
        float32[16] camera_to_world (row major), uint64 timestamp colour, uint64 timestamp depth,
        uint64 colour bytes, uint64 depth bytes, colour data, depth data
    (ScanNet's writer then appends uint64 number of IMU frames and their records; readers
    ignore everything after the last frame.)

Reading is streamed: opening a file reads the header and walks the frame headers to build
an index of byte offsets (one seek per frame, no image data read); colour and depth are
decoded only when a frame is requested.

Choices (documented and tested):
- Frames whose camera_to_world is not finite (ScanNet writes -inf when tracking was lost)
  are skipped by `SensReader`; their frame numbers are in `SensReader.skipped`.
- A truncated file (the header promises more frames than the file holds) raises
  `SceneReadError` naming the file and the frame where the data ends. With
  `allow_truncated=True` the complete frames before it are kept and a warning names
  the file and frame instead.
- Colour is resampled into the depth camera's pixel grid (the frame's K is the depth
  intrinsics, scaled when resizing). ScanNet's colour and depth extrinsics are identity,
  so the map between the grids is the affine K_color K_depth^-1; a file with differing
  extrinsics gets a warning since that parallax is not modelled.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
from PIL import Image

from procsplat.data.readers._image import decode_rgb, resample_rgb, resize_depth_nearest
from procsplat.data.scene import FrameReader, MissingSceneFile, SceneReadError

SENS_VERSION = 4
COLOR_COMPRESSION = {-1: "unknown", 0: "raw", 1: "png", 2: "jpeg"}
DEPTH_COMPRESSION = {-1: "unknown", 0: "raw_ushort", 1: "zlib_ushort", 2: "occi_ushort"}
_FRAME_HEADER = struct.Struct("<16f4Q")  # pose, two timestamps, two data sizes: 96 bytes
_MATRICES = struct.Struct("<64f")


@dataclass
class SensHeader:
    sensor_name: str
    intrinsic_color: np.ndarray  # (4, 4) float32
    extrinsic_color: np.ndarray
    intrinsic_depth: np.ndarray
    extrinsic_depth: np.ndarray
    color_compression: str
    depth_compression: str
    color_width: int
    color_height: int
    depth_width: int
    depth_height: int
    depth_shift: float
    num_frames: int  # as promised by the header


class SensFile:
    """Random access to the frames of a `.sens` file through a byte-offset index."""

    def __init__(self, path: Union[str, Path], allow_truncated: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise MissingSceneFile(f"{self.path}: .sens file not found")
        self._lock = threading.Lock()
        self._file = None
        with open(self.path, "rb") as f:
            self.header = self._read_header(f)
            self._build_index(f, allow_truncated)

    # -- parsing ---------------------------------------------------------------------------
    def _take(self, f, n: int, what: str) -> bytes:
        data = f.read(n)
        if len(data) != n:
            raise SceneReadError(f"{self.path}: truncated .sens file: ends inside the header "
                                 f"({what})")
        return data

    def _read_header(self, f) -> SensHeader:
        (version,) = struct.unpack("<I", self._take(f, 4, "version"))
        if version != SENS_VERSION:
            raise SceneReadError(f"{self.path}: .sens version {version}, only version "
                                 f"{SENS_VERSION} is supported")
        (strlen,) = struct.unpack("<Q", self._take(f, 8, "sensor name length"))
        if strlen > 4096:
            raise SceneReadError(f"{self.path}: implausible sensor name length {strlen}; "
                                 f"not a .sens file?")
        name = self._take(f, strlen, "sensor name").decode("utf-8", errors="replace")
        mats = np.array(_MATRICES.unpack(self._take(f, _MATRICES.size, "calibration")),
                        np.float32).reshape(4, 4, 4)
        color_c, depth_c = struct.unpack("<ii", self._take(f, 8, "compression types"))
        cw, ch, dw, dh = struct.unpack("<4I", self._take(f, 16, "image sizes"))
        (shift,) = struct.unpack("<f", self._take(f, 4, "depth shift"))
        (n,) = struct.unpack("<Q", self._take(f, 8, "frame count"))
        if color_c not in (0, 1, 2):
            raise SceneReadError(f"{self.path}: unsupported colour compression {color_c} "
                                 f"({COLOR_COMPRESSION.get(color_c, 'invalid')})")
        if depth_c not in (0, 1):
            raise SceneReadError(f"{self.path}: unsupported depth compression {depth_c} "
                                 f"({DEPTH_COMPRESSION.get(depth_c, 'invalid')})")
        if not (shift > 0 and np.isfinite(shift)):
            raise SceneReadError(f"{self.path}: invalid depth shift {shift}")
        if min(cw, ch, dw, dh) == 0:
            raise SceneReadError(f"{self.path}: zero image size (colour {cw}x{ch}, "
                                 f"depth {dw}x{dh})")
        return SensHeader(name, mats[0], mats[1], mats[2], mats[3], COLOR_COMPRESSION[color_c],
                          DEPTH_COMPRESSION[depth_c], cw, ch, dw, dh, float(shift), int(n))

    def _build_index(self, f, allow_truncated: bool) -> None:
        size = self.path.stat().st_size
        n = self.header.num_frames
        offsets, color_sizes, depth_sizes, poses, stamps = [], [], [], [], []
        pos = f.tell()
        for i in range(n):
            end_reason = None
            if pos >= size:
                end_reason = "no bytes left for it"
            elif pos + _FRAME_HEADER.size > size:
                end_reason = "inside its header"
            else:
                f.seek(pos)
                values = _FRAME_HEADER.unpack(f.read(_FRAME_HEADER.size))
                c_size, d_size = values[18], values[19]
                data_at = pos + _FRAME_HEADER.size
                if data_at + c_size + d_size > size:
                    end_reason = "inside its image data"
            if end_reason is not None:
                msg = (f"{self.path}: truncated .sens file: header promises {n} frames but the "
                       f"data ends at frame {i} ({end_reason}; file is {size} bytes)")
                if not allow_truncated:
                    raise SceneReadError(msg + "; pass allow_truncated=True (procsplat train/fit: "
                                         f"--allow-truncated) to load the {i} complete frames")
                warnings.warn(msg + f"; keeping the {i} complete frames", stacklevel=3)
                break
            poses.append(values[:16])
            stamps.append(values[16:18])
            offsets.append(data_at)
            color_sizes.append(c_size)
            depth_sizes.append(d_size)
            pos = data_at + c_size + d_size
        self.offsets = np.array(offsets, np.int64)
        self.color_sizes = np.array(color_sizes, np.int64)
        self.depth_sizes = np.array(depth_sizes, np.int64)
        self.poses = np.array(poses, np.float32).reshape(-1, 4, 4)
        self.timestamps = np.array(stamps, np.uint64).reshape(-1, 2)

    # -- frame access ----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.offsets)

    def _read(self, offset: int, n: int) -> bytes:
        with self._lock:
            if self._file is None:
                self._file = open(self.path, "rb")
            if not hasattr(os, "pread"):  # Windows
                self._file.seek(offset)
                return self._file.read(n)
            # positioned reads: processes forked with this file open (`procsplat.fit.workers`) share
            # its offset, so seek + read from two of them interleave and read each other's bytes
            parts, fd = [], self._file.fileno()
            while n > 0:
                chunk = os.pread(fd, n, offset)
                if not chunk:
                    break
                parts.append(chunk)
                n -= len(chunk)
                offset += len(chunk)
            return b"".join(parts)

    def _check_index(self, i: int) -> None:
        if not 0 <= i < len(self):
            raise IndexError(f"{self.path}: frame {i} out of range ({len(self)} frames)")

    def color_bytes(self, i: int) -> bytes:
        self._check_index(i)
        return self._read(int(self.offsets[i]), int(self.color_sizes[i]))

    def read_color(self, i: int) -> Image.Image:
        """Colour of frame i at the file's colour resolution."""
        h = self.header
        data = self.color_bytes(i)
        what = f"{self.path} frame {i} colour"
        if h.color_compression == "raw":
            if len(data) != h.color_width * h.color_height * 3:
                raise SceneReadError(f"{what}: raw colour has {len(data)} bytes, expected "
                                     f"{h.color_width * h.color_height * 3}")
            image = Image.fromarray(np.frombuffer(data, np.uint8).reshape(
                h.color_height, h.color_width, 3))
        else:
            image = decode_rgb(data, what)
        if image.size != (h.color_width, h.color_height):
            raise SceneReadError(f"{what}: image is {image.size[0]}x{image.size[1]}, header says "
                                 f"{h.color_width}x{h.color_height}")
        return image

    def read_depth_raw(self, i: int) -> np.ndarray:
        """Depth of frame i as stored: (depth_height, depth_width) uint16, depth_shift per metre."""
        self._check_index(i)
        h = self.header
        data = self._read(int(self.offsets[i] + self.color_sizes[i]), int(self.depth_sizes[i]))
        what = f"{self.path} frame {i} depth"
        if h.depth_compression == "zlib_ushort":
            try:
                data = zlib.decompress(data)
            except zlib.error as e:
                raise SceneReadError(f"{what}: corrupt zlib data ({e})") from None
        expected = h.depth_width * h.depth_height * 2
        if len(data) != expected:
            raise SceneReadError(f"{what}: {len(data)} bytes of depth, expected {expected}")
        return np.frombuffer(data, "<u2").reshape(h.depth_height, h.depth_width).copy()

    def read_depth(self, i: int) -> np.ndarray:
        """Depth of frame i in metres, float32, 0 = invalid."""
        return (self.read_depth_raw(i).astype(np.float32) / np.float32(self.header.depth_shift))

    # -- lifetime / pickling (e.g. for DataLoader workers) -------------------------------
    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def __del__(self):
        if getattr(self, "_file", None) is not None:
            self._file.close()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()


class SensReader(FrameReader):
    """`FrameReader` over a `.sens` file: frames with finite poses, on the depth grid."""

    def __init__(self, path: Union[str, Path], allow_truncated: bool = False,
                 name: Optional[str] = None):
        self.sens = SensFile(path, allow_truncated=allow_truncated)
        h = self.sens.header
        self.name = name or self.sens.path.stem
        finite = np.isfinite(self.sens.poses).all(axis=(1, 2))
        valid = np.flatnonzero(finite).tolist()
        self.ids = valid
        self.skipped = np.flatnonzero(~finite).tolist()
        self.poses = self.sens.poses[valid].astype(np.float64).reshape(-1, 4, 4)
        self.K = h.intrinsic_depth[:3, :3].astype(np.float64)
        self.K_color = h.intrinsic_color[:3, :3].astype(np.float64)
        self.width, self.height = h.depth_width, h.depth_height
        if not np.allclose(h.extrinsic_color, h.extrinsic_depth, atol=1e-6):
            warnings.warn(f"{self.sens.path}: colour and depth extrinsics differ; colour is "
                          f"mapped to the depth grid by intrinsics only (parallax ignored)",
                          stacklevel=2)

    def read(self, k, K_out, width, height):
        i = self.ids[k]
        rgb = resample_rgb(self.sens.read_color(i), self.K_color, K_out, width, height)
        depth = resize_depth_nearest(self.sens.read_depth(i), width, height)
        return rgb, depth


def _frame_fields(frame, k: int):
    if isinstance(frame, (tuple, list)):
        if len(frame) != 3:
            raise ValueError(f"write_sens: frame {k} must be (rgb, depth, cam_to_world), got "
                             f"{len(frame)} items")
        return frame[0], frame[1], frame[2], None
    try:
        return frame.rgb, frame.depth, frame.cam_to_world, getattr(frame, "timestamp", None)
    except AttributeError:
        raise ValueError(f"write_sens: frame {k} needs rgb, depth and cam_to_world "
                         f"(got {type(frame).__name__})") from None


def _depth_to_raw(depth: np.ndarray, shift: float, k: int) -> np.ndarray:
    depth = np.asarray(depth)
    if depth.dtype == np.uint16:
        return depth
    if not np.issubdtype(depth.dtype, np.floating):
        raise ValueError(f"write_sens: frame {k} depth must be float metres or uint16 raw "
                         f"units, got {depth.dtype}")
    valid = np.isfinite(depth) & (depth > 0)
    raw = np.where(valid, np.round(np.where(valid, depth, 0.0) * shift), 0.0)
    if raw.max(initial=0) > 65535:
        raise ValueError(f"write_sens: frame {k} depth {depth[valid].max():.3f} m exceeds the "
                         f"uint16 range at depth_shift {shift}")
    return raw.astype(np.uint16)


def _as_4x4(K, what: str) -> np.ndarray:
    K = np.asarray(K, np.float64)
    if K.shape == (3, 3):
        out = np.eye(4)
        out[:3, :3] = K
        return out
    if K.shape == (4, 4):
        return K
    raise ValueError(f"write_sens: {what} must be 3x3 or 4x4, got {K.shape}")


def write_sens(path: Union[str, Path], frames: Iterable, K_color, K_depth, *,
               depth_shift: float = 1000.0, sensor_name: str = "procsplat",
               color_compression: str = "jpeg", jpeg_quality: int = 95,
               extrinsic_color=None, extrinsic_depth=None) -> int:
    """Write frames to a `.sens` file in ScanNet's layout; returns the number of frames.

    frames: iterable of (rgb, depth, cam_to_world) tuples or objects with those attributes
    (e.g. `procsplat.scene.Frame`; an optional `timestamp` attribute is written to both
    timestamps, else 0). rgb: (H, W, 3) uint8; depth: float metres (0/NaN = invalid,
    rounded to 1/depth_shift) or uint16 raw units; cam_to_world: 4x4 (-inf marks a lost
    frame, as ScanNet does). All frames must share sizes. Frames are streamed: the frame
    count is patched into the header at the end. Appends ScanNet's IMU section (0 frames).
    """
    codes = {v: k for k, v in COLOR_COMPRESSION.items()}
    if color_compression not in ("jpeg", "png", "raw"):
        raise ValueError(f"write_sens: color_compression must be jpeg, png or raw, got "
                         f"{color_compression!r}")
    if not depth_shift > 0:
        raise ValueError(f"write_sens: depth_shift must be > 0, got {depth_shift}")
    mats = [_as_4x4(K_color, "K_color"),
            np.eye(4) if extrinsic_color is None else _as_4x4(extrinsic_color, "extrinsic_color"),
            _as_4x4(K_depth, "K_depth"),
            np.eye(4) if extrinsic_depth is None else _as_4x4(extrinsic_depth, "extrinsic_depth")]
    name = sensor_name.encode("utf-8")
    path = Path(path)
    n = 0
    sizes = None
    with open(path, "wb") as f:
        f.write(struct.pack("<IQ", SENS_VERSION, len(name)) + name)
        f.write(_MATRICES.pack(*np.concatenate([m.ravel() for m in mats]).astype(np.float32)))
        f.write(struct.pack("<ii", codes[color_compression], 1))  # depth: zlib_ushort
        size_at = f.tell()
        f.write(b"\0" * (16 + 4 + 8))  # sizes, depth shift, frame count: patched below
        for k, frame in enumerate(frames):
            rgb, depth, pose, stamp = _frame_fields(frame, k)
            rgb = np.asarray(rgb)
            if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
                raise ValueError(f"write_sens: frame {k} rgb must be (H, W, 3) uint8, got "
                                 f"{rgb.dtype} {rgb.shape}")
            raw = _depth_to_raw(depth, depth_shift, k)
            pose = np.asarray(pose, np.float32)
            if pose.shape != (4, 4):
                raise ValueError(f"write_sens: frame {k} cam_to_world must be 4x4, got {pose.shape}")
            frame_sizes = (rgb.shape[1], rgb.shape[0], raw.shape[1], raw.shape[0])
            if sizes is None:
                sizes = frame_sizes
            elif frame_sizes != sizes:
                raise ValueError(f"write_sens: frame {k} sizes (colour {frame_sizes[0]}x"
                                 f"{frame_sizes[1]}, depth {frame_sizes[2]}x{frame_sizes[3]}) "
                                 f"differ from frame 0's")
            if color_compression == "raw":
                color = np.ascontiguousarray(rgb).tobytes()
            else:
                buf = io.BytesIO()
                kwargs = {"quality": jpeg_quality} if color_compression == "jpeg" else {}
                Image.fromarray(rgb).save(buf, format=color_compression.upper(), **kwargs)
                color = buf.getvalue()
            depth_data = zlib.compress(raw.astype("<u2").tobytes())
            t = 0 if stamp is None else int(stamp)
            f.write(_FRAME_HEADER.pack(*pose.ravel(), t, t, len(color), len(depth_data)))
            f.write(color)
            f.write(depth_data)
            n += 1
        f.write(struct.pack("<Q", 0))  # IMU frame count (ScanNet's writer appends it)
        if sizes is not None:
            f.seek(size_at)
            f.write(struct.pack("<4IfQ", *sizes, depth_shift, n))
    if sizes is None:
        path.unlink()
        raise ValueError(f"write_sens: no frames given for {path}")
    return n
