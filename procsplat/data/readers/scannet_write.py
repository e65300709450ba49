"""Writers for ScanNet's scene files, so synthetic scenes can be stored in ScanNet's layouts.

Raw layout of one scene folder `<scene>/`:
    write_sens(<scene>.sens, ...)                        frames (see procsplat.data.readers.sens)
    write_mesh_ply(<scene>_vh_clean_2.ply, ...)          mesh with vertex colours
    write_segs(<scene>_vh_clean_2.0.010000.segs.json)    segment id per mesh vertex
    write_aggregation(<scene>.aggregation.json, ...)     objects: label + segments
    write_scene_txt(<scene>.txt, ...)                    axisAlignment and camera info
`write_exported` writes the exported frame layout (color/ depth/ pose/ intrinsic/) the way
ScanNet's SensReader exporter does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

import numpy as np
from PIL import Image

from procsplat.data.readers.scannet import MESH_SUFFIX, SEGS_SUFFIX
from procsplat.data.readers.sens import SensFile, _depth_to_raw, _frame_fields, write_sens

__all__ = ["write_sens", "write_mesh_ply", "write_segs", "write_aggregation", "write_scene_txt",
           "write_exported", "write_scannet_scene", "MESH_SUFFIX", "SEGS_SUFFIX"]

PathLike = Union[str, Path]


def write_mesh_ply(path: PathLike, vertices: np.ndarray, faces: np.ndarray,
                   vertex_colors: Optional[np.ndarray] = None) -> None:
    """Binary little-endian PLY like `_vh_clean_2.ply`: x y z (float), red green blue alpha
    (uchar), faces as `vertex_indices` (uchar count, int indices)."""
    from plyfile import PlyData, PlyElement

    vertices = np.asarray(vertices, np.float32)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"write_mesh_ply: vertices must be (V, 3), got {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"write_mesh_ply: faces must be (F, 3), got {faces.shape}")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f"write_mesh_ply: face indices out of range [0, {len(vertices)})")
    colors = (np.full((len(vertices), 3), 255, np.uint8) if vertex_colors is None
              else np.asarray(vertex_colors))
    if colors.shape != (len(vertices), 3) or colors.dtype != np.uint8:
        raise ValueError(f"write_mesh_ply: vertex_colors must be ({len(vertices)}, 3) uint8, "
                         f"got {colors.dtype} {colors.shape}")
    v = np.empty(len(vertices), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"),
                                       ("green", "u1"), ("blue", "u1"), ("alpha", "u1")])
    v["x"], v["y"], v["z"] = vertices.T
    v["red"], v["green"], v["blue"] = colors.T
    v["alpha"] = 255
    f = np.empty(len(faces), dtype=[("vertex_indices", "i4", (3,))])
    f["vertex_indices"] = faces.astype(np.int32)
    PlyData([PlyElement.describe(v, "vertex"),
             PlyElement.describe(f, "face", len_types={"vertex_indices": "u1"})],
            byte_order="<").write(str(path))


def write_segs(path: PathLike, scene_id: str, segment_of_vertex: Sequence[int]) -> None:
    """`_vh_clean_2.0.010000.segs.json`: the over-segmentation id of every mesh vertex."""
    payload = {"params": {"kThresh": "0.0001", "segMinVerts": "20", "minPoints": "750",
                          "maxPoints": "5000", "thinThresh": "0.05", "flatThresh": "0.001",
                          "minLength": "0.02", "maxLength": "1"},
               "sceneId": scene_id,
               "segIndices": [int(s) for s in segment_of_vertex]}
    Path(path).write_text(json.dumps(payload))


def write_aggregation(path: PathLike, scene_id: str,
                      objects: Iterable[tuple[int, str, Sequence[int]]]) -> None:
    """`<scene>.aggregation.json`: objects as (objectId >= 0, label, segment ids)."""
    groups = []
    for object_id, label, segments in objects:
        if int(object_id) < 0:
            raise ValueError(f"write_aggregation: objectId must be >= 0, got {object_id}")
        groups.append({"id": int(object_id), "objectId": int(object_id), "label": str(label),
                       "segments": [int(s) for s in segments]})
    payload = {"sceneId": f"scannet.{scene_id}", "appId": "procsplat", "segGroups": groups,
               "segmentsFile": f"scannet.{scene_id}{SEGS_SUFFIX}"}
    Path(path).write_text(json.dumps(payload))


def write_scene_txt(path: PathLike, *, axis_alignment: Optional[np.ndarray] = None,
                    K_color: Optional[np.ndarray] = None, K_depth: Optional[np.ndarray] = None,
                    color_size: Optional[tuple[int, int]] = None,
                    depth_size: Optional[tuple[int, int]] = None,
                    num_frames: Optional[int] = None, scene_type: str = "synthetic") -> None:
    """`<scene>.txt` (`key = value` lines, ScanNet's key names). Sizes are (width, height)."""
    lines = []
    if axis_alignment is not None:
        A = np.asarray(axis_alignment, np.float64)
        if A.shape != (4, 4):
            raise ValueError(f"write_scene_txt: axis_alignment must be 4x4, got {A.shape}")
        lines.append("axisAlignment = " + " ".join(f"{x:.9g}" for x in A.ravel()))
    if color_size is not None:
        lines += [f"colorHeight = {color_size[1]}", f"colorWidth = {color_size[0]}"]
    if depth_size is not None:
        lines += [f"depthHeight = {depth_size[1]}", f"depthWidth = {depth_size[0]}"]
    for suffix, K in (("color", K_color), ("depth", K_depth)):
        if K is not None:
            K = np.asarray(K, np.float64)
            lines += [f"fx_{suffix} = {K[0, 0]:.9g}", f"fy_{suffix} = {K[1, 1]:.9g}",
                      f"mx_{suffix} = {K[0, 2]:.9g}", f"my_{suffix} = {K[1, 2]:.9g}"]
    if num_frames is not None:
        lines += [f"numColorFrames = {num_frames}", f"numDepthFrames = {num_frames}",
                  "numIMUmeasurements = 0"]
    lines.append(f"sceneType = {scene_type}")
    Path(path).write_text("\n".join(lines) + "\n")


def _write_matrix(path: Path, M: np.ndarray) -> None:
    # ScanNet's exporter writes each row with '%f'; we keep full float precision instead.
    np.savetxt(path, np.asarray(M, np.float64), fmt="%.9g")


def write_exported(folder: PathLike, frames: Iterable, K_color, K_depth, *,
                   depth_shift: float = 1000.0, jpeg_quality: int = 95) -> int:
    """Exported layout: color/<n>.jpg, depth/<n>.png (uint16), pose/<n>.txt,
    intrinsic/intrinsic_{color,depth}.txt (4x4). Frames as for `write_sens`."""
    folder = Path(folder)
    for d in ("color", "depth", "pose", "intrinsic"):
        (folder / d).mkdir(parents=True, exist_ok=True)
    for name, K in (("intrinsic_color", K_color), ("intrinsic_depth", K_depth)):
        M = np.eye(4)
        M[:3, :3] = np.asarray(K, np.float64)[:3, :3]
        _write_matrix(folder / "intrinsic" / f"{name}.txt", M)
    n = 0
    for n, frame in enumerate(frames, 1):
        rgb, depth, pose, _ = _frame_fields(frame, n - 1)
        Image.fromarray(np.asarray(rgb, np.uint8)).save(folder / "color" / f"{n - 1}.jpg",
                                                        quality=jpeg_quality)
        Image.fromarray(_depth_to_raw(depth, depth_shift, n - 1)).save(
            folder / "depth" / f"{n - 1}.png")
        _write_matrix(folder / "pose" / f"{n - 1}.txt", pose)
    return n


def write_scannet_scene(folder: PathLike, scene_id: str, frames: Iterable, K_color, K_depth, *,
                        vertices: np.ndarray, faces: np.ndarray,
                        vertex_colors: Optional[np.ndarray] = None,
                        segment_of_vertex: Optional[Sequence[int]] = None,
                        objects: Iterable[tuple[int, str, Sequence[int]]] = (),
                        axis_alignment: Optional[np.ndarray] = None,
                        depth_shift: float = 1000.0) -> Path:
    """A complete raw ScanNet scene folder `<folder>/<scene_id>/`; returns it."""
    out = Path(folder) / scene_id
    out.mkdir(parents=True, exist_ok=True)
    n = write_sens(out / f"{scene_id}.sens", frames, K_color, K_depth, depth_shift=depth_shift)
    write_mesh_ply(out / f"{scene_id}{MESH_SUFFIX}", vertices, faces, vertex_colors)
    if segment_of_vertex is not None:
        write_segs(out / f"{scene_id}{SEGS_SUFFIX}", scene_id, segment_of_vertex)
        write_aggregation(out / f"{scene_id}.aggregation.json", scene_id, objects)
    header = SensFile(out / f"{scene_id}.sens").header
    write_scene_txt(out / f"{scene_id}.txt", axis_alignment=axis_alignment, K_color=K_color,
                    K_depth=K_depth, num_frames=n,
                    color_size=(header.color_width, header.color_height),
                    depth_size=(header.depth_width, header.depth_height))
    return out
