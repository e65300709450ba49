"""ScanNet scenes: raw (`.sens`) and exported (`color/ depth/ pose/ intrinsic/`) layouts.

Scene folder: `<root>/scans/<scene>/` or `<root>/<scene>/` (root from the `root` argument or
the `SCANNET_ROOT` environment variable, scene picked by `scene="scene0011_00"`), or the
folder itself. Files used, all optional except the frames:
- `<scene>.sens`: frames (raw layout, see `procsplat.data.readers.sens`), or the exported layout
  `color/<n>.jpg`, `depth/<n>.png` (uint16, `depth_shift` units per metre, 1000 in ScanNet),
  `pose/<n>.txt` (4x4 camera-to-world), `intrinsic/intrinsic_color.txt`,
  `intrinsic/intrinsic_depth.txt` (4x4), as written by ScanNet's SensReader export.
- `<scene>_vh_clean_2.ply`: mesh with vertex colours.
- `<scene>.aggregation.json` + `<scene>_vh_clean_2.0.010000.segs.json`: instances. Each
  segGroup (objectId, label, segments) owns the mesh vertices of its segments; instance id =
  objectId + 1 (0 = none), as ScanNet's own export scripts do; when segGroups overlap the
  later one wins (also as ScanNet's scripts do).
- `<scene>.txt`: `axisAlignment = ` 16 floats, row major. The scene's world frame is the
  axis-aligned one: every pose and the mesh are left-multiplied by this matrix (it rotates
  about Z so walls follow the axes and shifts the room to the origin; ScanNet's world is
  already Z up). Without it the world is the capture's own (kept in `world_from_source`).

Per-frame instance masks: ScanNet has no 2D instance labels, so `Scene.instance_mask(i)` is
derived: the labelled mesh is rendered from frame i's camera (z-buffer, `geonodes.render`),
each face carrying the instance of the majority of its vertices (the first vertex's when all
three differ), and a pixel keeps its instance only where the rendered depth agrees with the
sensor depth within `abs_tolerance + rel_tolerance * depth` (so occluders missing from the mesh,
e.g. people, and invalid sensor depth give 0).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from procsplat.data.readers._image import (decode_depth_png, decode_rgb, pose_is_valid, read_matrix,
                                      resample_rgb, resize_depth_nearest)
from procsplat.data.gravity import align_up
from procsplat.data.readers.sens import SensReader
from procsplat.data.scene import (Frame, FrameReader, FrameSource, MaskSource, Mesh, MissingSceneFile,
                             Scene, SceneObject, SceneReadError)

SEGS_SUFFIX = "_vh_clean_2.0.010000.segs.json"
MESH_SUFFIX = "_vh_clean_2.ply"


@dataclass(frozen=True)
class MaskConfig:
    """Depth agreement needed to keep a rendered instance pixel (metres)."""

    abs_tolerance: float = 0.05
    rel_tolerance: float = 0.03  # times the sensor depth: depth noise grows with distance


def find_scene_folder(path: Union[str, Path, None] = None, scene: Optional[str] = None) -> Path:
    """The folder of one ScanNet scene, from a scene folder, or a root plus a scene name."""
    if path is None:
        root = os.environ.get("SCANNET_ROOT")
        if root is None:
            raise MissingSceneFile("no ScanNet path given and SCANNET_ROOT is not set")
        path = Path(root)
    path = Path(path)
    if scene is None:
        if not path.is_dir():
            raise MissingSceneFile(f"{path}: ScanNet scene folder not found")
        return path
    for candidate in (path / "scans" / scene, path / scene, path):
        if candidate.is_dir() and candidate.name == scene:
            return candidate
    raise MissingSceneFile(f"{path}: ScanNet scene {scene!r} not found (looked in "
                           f"{path / 'scans' / scene} and {path / scene})")


def read_scene_txt(path: Path) -> dict[str, str]:
    """`key = value` lines of a ScanNet `<scene>.txt`."""
    if not path.is_file():
        raise MissingSceneFile(f"{path}: scene info file not found")
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        if "=" not in line:
            raise SceneReadError(f"{path}:{n}: expected 'key = value', got {line!r}")
        key, value = line.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def axis_alignment(info: dict[str, str], path: Path) -> np.ndarray:
    if "axisAlignment" not in info:
        return np.eye(4)
    try:
        values = np.array(info["axisAlignment"].split(), np.float64)
    except ValueError:
        raise SceneReadError(f"{path}: axisAlignment is not 16 numbers") from None
    if values.size != 16 or not np.isfinite(values).all():
        raise SceneReadError(f"{path}: axisAlignment needs 16 finite numbers, got {values.size}")
    return values.reshape(4, 4)


def read_mesh_ply(path: Path) -> Mesh:
    """Triangle mesh with optional uchar vertex colours (ScanNet's `_vh_clean_2.ply`)."""
    from plyfile import PlyData

    if not path.is_file():
        raise MissingSceneFile(f"{path}: mesh file not found")
    try:
        ply = PlyData.read(str(path))
        v = ply["vertex"].data
        vertices = np.stack([v["x"], v["y"], v["z"]], 1).astype(np.float32)
        names = v.dtype.names
        colors = (np.stack([v["red"], v["green"], v["blue"]], 1).astype(np.uint8)
                  if {"red", "green", "blue"} <= set(names) else None)
        face_data = ply["face"].data
        key = "vertex_indices" if "vertex_indices" in face_data.dtype.names else "vertex_index"
        face_lists = face_data[key]
    except (KeyError, ValueError, IndexError) as e:
        raise SceneReadError(f"{path}: not a mesh PLY with vertex x/y/z and face "
                             f"vertex_indices ({e})") from None
    except Exception as e:  # plyfile raises its own PlyParseError / struct errors
        raise SceneReadError(f"{path}: cannot parse PLY ({type(e).__name__}: {e})") from None
    try:
        faces = (np.stack(face_lists).astype(np.int64) if len(face_lists)
                 else np.zeros((0, 3), np.int64))
    except ValueError:
        faces = None  # polygons of mixed sizes
    if faces is None or faces.ndim != 2 or faces.shape[1] != 3:
        raise SceneReadError(f"{path}: only triangle meshes are supported")
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise SceneReadError(f"{path}: face indices out of range [0, {len(vertices)})")
    return Mesh(vertices, faces, colors)


def _read_json(path: Path, what: str):
    if not path.is_file():
        raise MissingSceneFile(f"{path}: {what} file not found")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SceneReadError(f"{path}: invalid JSON ({e})") from None


def read_instances(aggregation_path: Path, segs_path: Path, num_vertices: int
                   ) -> tuple[np.ndarray, dict[int, str]]:
    """Per-vertex instance ids (objectId + 1, 0 = none) and the label of each instance."""
    segs = _read_json(segs_path, "segments")
    agg = _read_json(aggregation_path, "aggregation")
    try:
        seg_of_vertex = np.asarray(segs["segIndices"], np.int64)
    except (KeyError, TypeError, ValueError):
        raise SceneReadError(f"{segs_path}: needs a 'segIndices' list of ints") from None
    if seg_of_vertex.shape != (num_vertices,):
        raise SceneReadError(f"{segs_path}: {seg_of_vertex.size} segIndices for a mesh of "
                             f"{num_vertices} vertices")
    if not isinstance(agg, dict) or not isinstance(agg.get("segGroups"), list):
        raise SceneReadError(f"{aggregation_path}: needs a 'segGroups' list")
    instance = np.zeros(num_vertices, np.int32)
    labels: dict[int, str] = {}
    for g, group in enumerate(agg["segGroups"]):
        try:
            object_id, label, segments = int(group["objectId"]), str(group["label"]), group["segments"]
        except (KeyError, TypeError, ValueError):
            raise SceneReadError(f"{aggregation_path}: segGroups[{g}] needs objectId, label and "
                                 f"segments") from None
        if object_id < 0:
            raise SceneReadError(f"{aggregation_path}: segGroups[{g}] has objectId {object_id} < 0")
        instance[np.isin(seg_of_vertex, np.asarray(segments, np.int64))] = object_id + 1
        labels[object_id + 1] = label
    return instance, labels


def face_instances(faces: np.ndarray, vertex_instance: np.ndarray) -> np.ndarray:
    """Instance of each face: the value shared by >= 2 of its vertices, else the first's."""
    a, b, c = (vertex_instance[faces[:, k]] for k in range(3))
    return np.where((b == c) & (a != b), b, a).astype(np.int32)


def mesh_instance_masks(mesh: Mesh, config: MaskConfig = MaskConfig(), relabel=None):
    """Function Frame -> (H, W) int32 instance ids, by a depth-tested render of the mesh. relabel(ids,
    depth, frame) -> (ids, depth), when given, changes the rendered ids and depth before the depth
    test (the mask misalignment of realistic synthetic scenes, `procsplat.data.realistic`)."""
    import torch

    from geonodes.render import render_mesh

    faces = torch.from_numpy(mesh.faces)
    ids = torch.from_numpy(face_instances(mesh.faces, mesh.vertex_instance))
    held: dict = {}  # the mesh's vertices as a tensor, converted again when the scene's world moves

    def compute(frame: Frame) -> np.ndarray:
        if held.get("source") is not mesh.vertices:
            held.update(source=mesh.vertices, tensor=torch.from_numpy(mesh.vertices.astype(np.float64)))
        out = render_mesh(held["tensor"], faces, torch.tensor(frame.K),
                          torch.tensor(frame.cam_to_world), frame.width, frame.height,
                          face_ids=ids, shading=False)
        rendered, inst = out["depth"].numpy(), out["id"].numpy()
        if relabel is not None:
            inst, rendered = relabel(inst, rendered, frame)
        sensor = frame.depth
        tolerance = config.abs_tolerance + config.rel_tolerance * sensor
        agree = (sensor > 0) & (rendered > 0) & (np.abs(rendered - sensor) <= tolerance)
        return np.where(agree, inst, 0).astype(np.int32)

    return compute


class ExportedReader(FrameReader):
    """ScanNet's exported frame folders (`color/ depth/ pose/ intrinsic/`)."""

    def __init__(self, folder: Path, depth_shift: float = 1000.0, name: Optional[str] = None):
        self.folder, self.depth_shift = folder, float(depth_shift)
        self.name = name or folder.name
        numbered = {}
        for kind, ext in (("color", "jpg"), ("depth", "png"), ("pose", "txt")):
            d = folder / kind
            if not d.is_dir():
                raise MissingSceneFile(f"{d}: folder not found (exported ScanNet layout)")
            numbered[kind] = {int(p.stem): p for p in d.iterdir()
                              if p.suffix == f".{ext}" and re.fullmatch(r"\d+", p.stem)}
        numbers = sorted(numbered["pose"])
        if not numbers:
            raise SceneReadError(f"{folder / 'pose'}: no <n>.txt pose files")
        for kind, ext in (("color", "jpg"), ("depth", "png"), ("pose", "txt")):
            missing = sorted(set().union(*numbered.values()) - set(numbered[kind]))
            if missing:
                raise MissingSceneFile(
                    f"{folder / kind / f'{missing[0]}.{ext}'}: missing ({len(missing)} frames "
                    f"have other files but no {kind}; counts: "
                    + ", ".join(f"{k} {len(v)}" for k, v in numbered.items()) + ")")
        K_color = read_matrix(folder / "intrinsic" / "intrinsic_color.txt", (4, 4), "intrinsics")
        K_depth = read_matrix(folder / "intrinsic" / "intrinsic_depth.txt", (4, 4), "intrinsics")
        self.K_color, self.K = K_color[:3, :3], K_depth[:3, :3]
        self.ids, self.skipped, self.files, poses = [], [], [], []
        for n in numbers:
            pose = read_matrix(numbered["pose"][n], (4, 4), "camera-to-world pose")
            if not pose_is_valid(pose):
                self.skipped.append(n)
                continue
            self.ids.append(n)
            self.files.append((numbered["color"][n], numbered["depth"][n]))
            poses.append(pose)
        if not self.ids:
            raise SceneReadError(f"{folder / 'pose'}: no frame has a valid pose")
        self.poses = np.stack(poses)
        first = decode_depth_png(self.files[0][1], str(self.files[0][1]))
        self.height, self.width = first.shape

    def read_depth(self, k):
        depth_path = self.files[k][1]
        raw = decode_depth_png(depth_path, str(depth_path))
        if raw.shape != (self.height, self.width):
            raise SceneReadError(f"{depth_path}: depth is {raw.shape[1]}x{raw.shape[0]}, other "
                                 f"frames are {self.width}x{self.height}")
        return raw.astype(np.float32) / np.float32(self.depth_shift)

    def read(self, k, K_out, width, height):
        color_path = self.files[k][0]
        depth = self.read_depth(k)
        rgb = resample_rgb(decode_rgb(color_path, str(color_path)), self.K_color, K_out,
                           width, height)
        return rgb, resize_depth_nearest(depth, width, height)


def is_scannet_folder(path: Path) -> bool:
    path = Path(path)
    return path.is_dir() and (any(path.glob("*.sens")) or all(
        (path / d).is_dir() for d in ("color", "depth", "pose")))


def _scene_file(folder: Path, name: str, suffix: str) -> Optional[Path]:
    """`<folder>/<name><suffix>`, else the only `*<suffix>` in the folder, else None."""
    p = folder / f"{name}{suffix}"
    if p.is_file():
        return p
    found = sorted(folder.glob(f"*{suffix}"))
    return found[0] if len(found) == 1 else None


def load_scannet(path: Union[str, Path, None] = None, *, scene: Optional[str] = None,
                 masks: bool = True, mask_config: MaskConfig = MaskConfig(),
                 allow_truncated: bool = False, depth_shift: float = 1000.0, up: str = "auto", stride: int = 1,
                 max_frames: Optional[int] = None, image_scale: Optional[float] = None,
                 width: Optional[int] = None, cache_size: int = 8) -> Scene:
    """Load a ScanNet scene (raw `.sens` or exported layout; mesh and instances if present). Without an
    axisAlignment the up is estimated from the depth (`up`: see `procsplat.data.gravity.align_up`)."""
    folder = find_scene_folder(path, scene)
    name = scene or folder.name
    sens = _scene_file(folder, name, ".sens")
    if sens is not None:
        reader: FrameReader = SensReader(sens, allow_truncated=allow_truncated, name=name)
    elif all((folder / d).is_dir() for d in ("color", "depth", "pose")):
        reader = ExportedReader(folder, depth_shift=depth_shift, name=name)
    else:
        raise MissingSceneFile(f"{folder}: no {name}.sens and no color/ depth/ pose/ folders "
                               f"(not a ScanNet scene)")
    txt = folder / f"{name}.txt"
    info = read_scene_txt(txt) if txt.is_file() else {}
    T = axis_alignment(info, txt)
    frames = FrameSource(reader, stride=stride, max_frames=max_frames, image_scale=image_scale,
                         width=width, cache_size=cache_size, world_from_source=T)
    result = Scene(name=name, frames=frames, source=folder)
    if "axisAlignment" in info:
        result.up_source = f"axisAlignment in {txt}"
    result = _load_labels(result, folder, name, T, masks, mask_config)
    return align_up(result, up, fallback="source")


def _load_labels(result: Scene, folder: Path, name: str, T: np.ndarray, masks: bool,
                 mask_config: MaskConfig) -> Scene:
    """The scene's mesh and labelled instances, when the folder has them."""
    frames = result.frames
    mesh_path = _scene_file(folder, name, MESH_SUFFIX)
    if mesh_path is None:
        return result
    mesh = read_mesh_ply(mesh_path)
    mesh.vertices = (mesh.vertices.astype(np.float64) @ T[:3, :3].T + T[:3, 3]).astype(np.float32)
    result.mesh = mesh
    agg_path, segs_path = folder / f"{name}.aggregation.json", _scene_file(folder, name, SEGS_SUFFIX)
    if not agg_path.is_file():
        return result
    if segs_path is None:
        raise MissingSceneFile(f"{folder / (name + SEGS_SUFFIX)}: segments file not found "
                               f"(needed by {agg_path})")
    mesh.vertex_instance, labels = read_instances(agg_path, segs_path, len(mesh.vertices))
    if masks:
        result.masks = MaskSource(frames, mesh_instance_masks(mesh, mask_config))
    result.objects = [SceneObject(i, label, mesh.vertices[mesh.vertex_instance == i],
                                  result.masks) for i, label in sorted(labels.items())]
    return result
