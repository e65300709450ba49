"""Image decoding and resampling shared by the readers (PIL + numpy).

Pixel centres are at +0.5 (see `procsplat.data.scene`); PIL's resize and affine transform use
the same convention, so an intrinsics change maps onto them without half-pixel terms.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from procsplat.data.scene import MissingSceneFile, SceneReadError

Source = Union[str, Path, bytes]


def _open(source: Source, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        image.load()
        return image
    except FileNotFoundError:
        raise MissingSceneFile(f"{what}: file not found") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise SceneReadError(f"{what}: cannot decode image ({e})") from e


def decode_rgb(source: Source, what: str) -> Image.Image:
    """Colour image as an RGB PIL image; `what` names the file/frame in errors."""
    image = _open(source, what)
    return image if image.mode == "RGB" else image.convert("RGB")


def decode_depth_png(source: Source, what: str) -> np.ndarray:
    """16-bit depth PNG as a uint16 array."""
    image = _open(source, what)
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.dtype not in (np.uint16, np.int32, np.uint8):
        raise SceneReadError(f"{what}: expected a single-channel 16-bit depth image, got mode "
                             f"{image.mode} shape {arr.shape}")
    if arr.dtype == np.int32 and (arr.min() < 0 or arr.max() > 65535):
        raise SceneReadError(f"{what}: depth values outside uint16 range")
    return arr.astype(np.uint16)


def resample_rgb(image: Image.Image, K_src: np.ndarray, K_dst: np.ndarray, width: int,
                 height: int) -> np.ndarray:
    """Colour seen by camera (K_dst, width x height) given the same camera centre and
    orientation with intrinsics K_src: the map between the two grids is affine (no skew),
    u_src = K_src K_dst^-1 u_dst. Downscaling is anti-aliased (PIL resize) before the
    residual affine warp (bilinear); pixels outside the source are black."""
    A = np.asarray(K_src, np.float64) @ np.linalg.inv(np.asarray(K_dst, np.float64))
    if abs(A[0, 1]) > 1e-9 or abs(A[1, 0]) > 1e-9:
        raise SceneReadError("colour and depth intrinsics differ by a skew; unsupported")
    w_src, h_src = image.size
    # Anti-aliased pre-shrink when the destination samples the source sparsely.
    if A[0, 0] > 1.25 or A[1, 1] > 1.25:
        w_small = max(1, round(w_src / max(A[0, 0], 1.0)))
        h_small = max(1, round(h_src / max(A[1, 1], 1.0)))
        image = image.resize((w_small, h_small), Image.Resampling.BILINEAR, reducing_gap=None)
        A = np.diag([w_small / w_src, h_small / h_src, 1.0]) @ A
        w_src, h_src = w_small, h_small
    if np.allclose(A, np.eye(3), atol=1e-9) and (w_src, h_src) == (width, height):
        return np.asarray(image, dtype=np.uint8).copy()
    exact_resize = (abs(A[0, 2]) < 1e-9 and abs(A[1, 2]) < 1e-9
                    and abs(A[0, 0] * width - w_src) < 1e-6 and abs(A[1, 1] * height - h_src) < 1e-6)
    if exact_resize:
        out = image.resize((width, height), Image.Resampling.BILINEAR)
    else:
        coeffs = (A[0, 0], A[0, 1], A[0, 2], A[1, 0], A[1, 1], A[1, 2])
        out = image.transform((width, height), Image.Transform.AFFINE, coeffs,
                              resample=Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8).copy()


def resize_depth_nearest(depth: np.ndarray, width: int, height: int) -> np.ndarray:
    """Nearest-neighbour resize (never mixes valid and invalid depth): output pixel centre
    (i + 0.5) * W / W' falls in source pixel floor of it."""
    h, w = depth.shape
    if (w, h) == (width, height):
        return depth
    cols = np.minimum(((np.arange(width) + 0.5) * (w / width)).astype(np.int64), w - 1)
    rows = np.minimum(((np.arange(height) + 0.5) * (h / height)).astype(np.int64), h - 1)
    return depth[rows[:, None], cols[None, :]]


def read_matrix(path: Path, shape: tuple[int, int], what: str) -> np.ndarray:
    """A whitespace-separated text matrix of the given shape (float64)."""
    if not path.is_file():
        raise MissingSceneFile(f"{path}: {what} file not found")
    try:
        values = np.array(path.read_text().split(), dtype=np.float64)
    except ValueError as e:
        raise SceneReadError(f"{path}: {what} is not a list of numbers ({e})") from None
    if values.size != shape[0] * shape[1]:
        raise SceneReadError(f"{path}: {what} needs {shape[0] * shape[1]} numbers, "
                             f"found {values.size}")
    return values.reshape(shape)


def pose_is_valid(pose: np.ndarray) -> bool:
    """ScanNet marks frames without tracking with -inf (some tools with NaN) poses."""
    return bool(np.isfinite(pose).all())
