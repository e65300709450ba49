"""Synthetic ScanNet-layout scenes with ground truth.

A room (floor + four walls) holds furniture from the program library (random parameters and
yaw, non-overlapping footprints, a distinct colour and texture per part; each part wears its
pattern in its own frame, see `SynthConfig.texture_frame`). A camera walks an
ellipse around the room looking at the furniture; every frame is rendered (RGB, depth, instance
ids) with the CPU renderer, optionally with Kinect-like depth noise and holes (or, `realistic`, a
structured-light sensor in a cluttered room seen in part: `procsplat.data.realistic`), and the scene is
written in ScanNet's *raw* layout (`.sens`, `_vh_clean_2.ply`, `.aggregation.json`,
`_vh_clean_2.0.010000.segs.json`, `<scene>.txt`) plus `gt.json` (program, parameters and pose of
every object), so the ScanNet reader loads it like a real scan. The same seed gives
byte-identical files.
"""
from __future__ import annotations

import colorsys
import json
import math
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import torch

from procsplat.data import realistic
from procsplat.data.placed import PlacedObject, box_mesh, part_texture_coords
from procsplat.errors import ProcsplatError
from procsplat.geometry import look_at, object_to_world, yaw_matrix

GT_VERSION = 1
CATEGORIES = ("chair", "table", "sofa", "cabinet", "bed", "bookshelf")


@dataclass
class SynthConfig:
    """`procsplat synth`: a synthetic room in ScanNet's raw layout, with its ground truth (gt.json)."""

    out: Path = Path("scenes")
    """Folder that receives `<scene_id>/` (ScanNet raw layout + gt.json)."""
    seed: int = 0
    scene_id: str = ""
    """Defaults to `synth<seed>_00`."""
    num_objects: int = 4
    categories: tuple[str, ...] = CATEGORIES
    num_frames: int = 80
    width: int = 640
    height: int = 480
    focal: float = 577.87
    """Focal length in pixels at 640x480 (ScanNet's depth camera); scaled with the width."""
    room_size: tuple[float, float] = (7.0, 6.0)
    wall_height: float = 2.6
    depth_noise: bool = False
    """Kinect-like depth noise, sigma(z) = 1.2 mm + 1.9 mm * (z - 0.4)^2."""
    holes: bool = False
    """Missing depth: random blobs and depth discontinuities."""
    realistic: bool = False
    """A structured-light sensor in a furnished room (`procsplat.data.realistic`): disparity noise
    (1.5 mm * z^2) quantised to 1/8 px, dropouts at depth edges (and the projector's shadow), on dark
    and on thin parts, instance masks bleeding by 1-3 px (applied when the scene is read), a camera
    path over part of the room only, clutter on and beside the furniture (categories without a
    program), office chairs and dark parts. Replaces --depth-noise/--holes."""
    duplicates: int = 0
    """Copies of the first object: same program and parameters, their own position, yaw and colours
    (a scan's several chairs of one model; placed after the other objects, which stay as without;
    like every object, a copy that finds no free spot in 60 tries is left out)."""
    texture_frame: Literal["part", "world"] = "part"
    """Where the furniture's checker/stripe patterns live: "part", each part's own frame (a part's
    material goes with it: the pattern does not slide when the object or, in an edited ground truth,
    the part moves or turns); "world", world coordinates (tri-planar), as scenes were made before
    2026-12-05: a moved part's pattern slides over it. The room's floor and walls use world
    coordinates either way (they are the world)."""
    overwrite: bool = False
    threads: int = 0
    """torch threads; 0 = the measured policy (procsplat/threads.py: one per core, waiting threads sleep)."""

    def resolved_scene_id(self) -> str:
        return self.scene_id or f"synth{self.seed:04d}_00"


def room_parts(cfg: SynthConfig):
    """Floor (one upward quad at z = 0) and four walls as thin boxes: [(label, vertices, tris)].
    The floor is a quad, not a slab: a slab's underside put mesh vertices 5 cm below the floor,
    and the scene's floor estimate (1st percentile of mesh vertex heights) followed them."""
    sx, sy = cfg.room_size
    h, t = cfg.wall_height, 0.05
    hx, hy = sx / 2, sy / 2
    floor = (np.array([[-hx - t, -hy - t, 0.0], [hx + t, -hy - t, 0.0], [hx + t, hy + t, 0.0],
                       [-hx - t, hy + t, 0.0]]), np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64))
    boxes = [("wall", (-hx - t, -hy - t, 0.0), (hx + t, -hy, h)),
             ("wall", (-hx - t, hy, 0.0), (hx + t, hy + t, h)),
             ("wall", (-hx - t, -hy, 0.0), (-hx, hy, h)),
             ("wall", (hx, -hy, 0.0), (hx + t, hy, h))]
    return [("floor", *floor)] + [(label, *box_mesh(lo, hi)) for label, lo, hi in boxes]


def _palette(rng: np.random.Generator, n_parts: int, hue: float) -> np.ndarray:
    """Colours of one object's parts: one hue, varied lightness/saturation per part."""
    out = []
    for k in range(n_parts):
        light = 0.35 + 0.4 * ((k * 0.37 + rng.uniform(0, 0.2)) % 1.0)
        sat = 0.45 + 0.4 * rng.uniform()
        out.append(colorsys.hls_to_rgb((hue + 0.04 * (k % 3)) % 1.0, light, sat))
    return np.array(out)


def place_objects(cfg: SynthConfig, rng: np.random.Generator) -> list[PlacedObject]:
    from geonodes import load_program

    sx, sy = cfg.room_size
    margin = 1.3  # keeps furniture >= 0.9 m off the camera path, which runs 0.4 m from the walls
    footprints: list = []
    placed: list[PlacedObject] = []
    hues = (rng.permutation(12) / 12.0).tolist()

    real = realistic.rng_for(cfg.seed, 0) if cfg.realistic else None

    def place(category: str, prog, params: dict | None, k: int) -> bool:
        """Place one object of `category` (params None: a fresh random draw per attempt)."""
        for _attempt in range(60):
            p = prog.sample(1, seed=int(rng.integers(2**31)))[0] if params is None else params
            if real is not None and params is None:
                p = realistic.office_variant(category, p, real)
            mesh = prog.evaluate_one(p, dtype=torch.float64)
            local = mesh.vertices.numpy()
            yaw = float(rng.uniform(0, 2 * math.pi))
            rotated = local @ yaw_matrix(yaw).numpy().T
            lo, hi = rotated[:, :2].min(0), rotated[:, :2].max(0)
            free_x = (sx / 2 - margin) * 2 - (hi[0] - lo[0])
            free_y = (sy / 2 - margin) * 2 - (hi[1] - lo[1])
            if free_x <= 0 or free_y <= 0:
                continue
            tx = -sx / 2 + margin - lo[0] + rng.uniform(0, free_x)
            ty = -sy / 2 + margin - lo[1] + rng.uniform(0, free_y)
            box = (lo[0] + tx - 0.1, lo[1] + ty - 0.1, hi[0] + tx + 0.1, hi[1] + ty + 0.1)
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in footprints):
                continue
            footprints.append(box)
            world = rotated + np.array([tx, ty, 0.0])
            tris = mesh.triangles.numpy()
            part = mesh.part_id.numpy()
            colors = _palette(rng, int(part.max()) + 1 if len(part) else 1, hues[k % len(hues)])[part]
            if real is not None:
                colors = realistic.darken(colors, part, real, realistic.is_office_chair(category, p))
            placed.append(PlacedObject(len(placed) + 1, category, p, yaw, [float(tx), float(ty), 0.0],
                                       world, tris, part, colors))
            return True
        return False

    for k in range(cfg.num_objects):
        category = str(cfg.categories[int(rng.integers(len(cfg.categories)))])
        place(category, load_program(category), None, k)
    if cfg.duplicates > 0 and placed:  # copies of the first object: drawn after the others (same scene otherwise)
        first = placed[0]
        prog = load_program(first.category)
        for c in range(cfg.duplicates):
            place(first.category, prog, dict(first.parameters), cfg.num_objects + c)
    return placed


def camera_path(cfg: SynthConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """An ellipse inside the room at eye height, looking at points near the room's centre (realistic:
    only 35-60 % of it)."""
    sx, sy = cfg.room_size
    phase = rng.uniform(0, 2 * math.pi)
    arc = realistic.rng_for(cfg.seed, 3).uniform(*realistic.ARC) if cfg.realistic else 1.0
    poses = []
    for i in range(cfg.num_frames):
        a = phase + 2 * math.pi * arc * i / cfg.num_frames
        eye = np.array([(sx / 2 - 0.4) * math.cos(a), (sy / 2 - 0.4) * math.sin(a), 1.6 + 0.1 * math.sin(3 * a)])
        target = np.array([0.15 * sx * math.cos(a + 2.4), 0.15 * sy * math.sin(a + 2.4), 0.45])
        poses.append(look_at(eye, target))
    return poses


def intrinsics(cfg: SynthConfig) -> np.ndarray:
    f = cfg.focal * cfg.width / 640.0
    return np.array([[f, 0.0, cfg.width / 2 - 0.5], [0.0, f, cfg.height / 2 - 0.5], [0.0, 0.0, 1.0]])


def corrupt_depth(depth: np.ndarray, rng: np.random.Generator, noise: bool, holes: bool) -> np.ndarray:
    depth = depth.copy()
    valid = depth > 0
    if noise:
        sigma = 0.0012 + 0.0019 * (depth - 0.4) ** 2
        depth = np.where(valid, depth + rng.normal(size=depth.shape) * sigma, 0.0)
    if holes:
        h, w = depth.shape
        coarse = rng.uniform(size=(h // 16 + 1, w // 16 + 1)) < 0.04
        blobs = np.kron(coarse, np.ones((16, 16), dtype=bool))[:h, :w]
        gy, gx = np.gradient(np.where(valid, depth, 0.0))
        edges = np.hypot(gx, gy) > 0.08
        drop = rng.uniform(size=depth.shape) < 0.01
        depth[blobs | edges | drop] = 0.0
    return depth.astype(np.float32)


class SceneMesh(NamedTuple):
    """A synthetic scene as one mesh (`build_scene_mesh`)."""

    vertices: np.ndarray  # (V,3) world
    triangles: np.ndarray  # (T,3)
    colors: np.ndarray  # (T,3) albedo
    ids: np.ndarray  # (T,) instance id
    textures: np.ndarray  # (T,) pattern code (geonodes.render.TEXTURES)
    instances: list  # [(id, label)] sorted
    texture_coords: np.ndarray | None  # (T,3,3) per face corner, or None: world coordinates


def build_scene_mesh(cfg: SynthConfig, objects: list[PlacedObject], clutter: list[PlacedObject] = ()) -> SceneMesh:
    """Concatenated room + objects (+ clutter, ids after the room's): vertices, triangles, per-face
    colours, instance ids, texture codes, the instance list [(id, label)] (room surfaces get their own
    ids) and, with `cfg.texture_frame` "part", the texture coordinates of every face corner (the room's
    are its world positions, every object's part's those of `part_texture_coords`)."""
    if cfg.texture_frame not in ("part", "world"):
        raise ProcsplatError(f"synth: texture_frame must be 'part' or 'world', got {cfg.texture_frame!r}")
    verts, tris, colors, ids, textures, instances, coords = [], [], [], [], [], [], []
    base = 0
    next_id = len(objects) + 1
    for label, v, t in room_parts(cfg):
        color = (0.72, 0.68, 0.6) if label == "floor" else (0.82, 0.8, 0.76)
        verts.append(v)
        tris.append(t + base)
        colors.append(np.tile(color, (len(t), 1)))
        ids.append(np.full(len(t), next_id))
        textures.append(np.full(len(t), 1 if label == "floor" else 2))
        coords.append(v[t])
        instances.append((next_id, label))
        next_id += 1
        base += len(v)
    for obj in list(objects) + list(clutter):
        verts.append(obj.vertices)
        tris.append(obj.triangles + base)
        colors.append(obj.colors)
        ids.append(np.full(len(obj.triangles), obj.instance_id))
        textures.append(np.where(obj.part_id % 2 == 0, 1, 2))
        if cfg.texture_frame == "part":
            coords.append(part_texture_coords(obj))
        instances.append((obj.instance_id, obj.category))
        base += len(obj.vertices)
    return SceneMesh(np.concatenate(verts), np.concatenate(tris), np.concatenate(colors), np.concatenate(ids),
                     np.concatenate(textures), sorted(instances),
                     np.concatenate(coords) if cfg.texture_frame == "part" else None)


def scene_clutter(cfg: SynthConfig, objects: list[PlacedObject]) -> list[PlacedObject]:
    """A realistic scene's clutter on and beside its objects (ids after the room's), else []."""
    if not cfg.realistic:
        return []
    return realistic.place_clutter(objects, cfg.room_size, len(objects) + len(room_parts(cfg)) + 1,
                                   realistic.rng_for(cfg.seed, 4))


def render_scene(mesh: SceneMesh, K: np.ndarray, cam_to_world: np.ndarray, width: int, height: int) -> dict:
    """One view of `build_scene_mesh`'s output as
    `generate` renders its frames: rgb (H,W,3) uint8 (before the .sens JPEG), depth (H,W) float32 metres
    (0 where empty, no noise), id (H,W) int64 instance id (0 where empty), face (H,W) int64 face index (-1
    where empty)."""
    from geonodes.render import render_mesh

    coords = None if mesh.texture_coords is None else torch.as_tensor(mesh.texture_coords)
    r = render_mesh(torch.as_tensor(mesh.vertices), torch.as_tensor(mesh.triangles),
                    torch.as_tensor(K, dtype=torch.float64), torch.as_tensor(cam_to_world, dtype=torch.float64),
                    width, height, face_colors=torch.as_tensor(mesh.colors).float(),
                    face_ids=torch.as_tensor(mesh.ids), texture=torch.as_tensor(mesh.textures),
                    texture_coords=coords)
    return {"rgb": (r["rgb"].clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8), "depth": r["depth"].numpy(),
            "id": r["id"].numpy(), "face": r["face"].numpy()}


class GroundTruth:
    """A generated scene's ground truth, re-created from its `SynthConfig` (the same seeded draws as
    `generate`): the placed objects (program, parameters, pose, per-face colours), the scene mesh, a
    render from any camera, and the scene with objects' float parameters edited (same pose, colours
    and topology, each part wearing its pattern as it did: see `SynthConfig.texture_frame`). With
    `scene_dir`, the objects and the texture frame are checked against that folder's gt.json."""

    def __init__(self, cfg: SynthConfig, scene_dir: Path | None = None, objects: list | None = None):
        self.cfg = cfg
        self.objects = place_objects(cfg, np.random.default_rng(cfg.seed)) if objects is None else objects
        if scene_dir is not None:
            gt = json.loads((Path(scene_dir) / "gt.json").read_text())
            mine = [(o.instance_id, o.category, o.parameters, o.yaw, o.translation) for o in self.objects]
            theirs = [(o["instance_id"], o["program"], o["parameters"], o["yaw"], o["translation"]) for o in gt["objects"]]
            if json.dumps(mine, sort_keys=True) != json.dumps(theirs, sort_keys=True):
                raise ProcsplatError(f"{scene_dir}/gt.json: its objects are not the ones this SynthConfig generates "
                                     f"(seed {cfg.seed}, {cfg.num_objects} objects)")
            if scene_texture_frame(gt) != cfg.texture_frame:
                raise ProcsplatError(f"{scene_dir}/gt.json: its frames were textured in the "
                                     f"'{scene_texture_frame(gt)}' frame, this SynthConfig's is '{cfg.texture_frame}' "
                                     "(generate the scene again)")
        self._mesh = None

    def clutter(self) -> list:
        """A realistic scene's clutter (placed on and beside these objects, as `generate` does), else []."""
        return scene_clutter(self.cfg, self.objects)

    @property
    def instance_ids(self) -> list[int]:
        return [o.instance_id for o in self.objects]

    def mesh(self):
        """`build_scene_mesh`'s `SceneMesh` for this scene (cached)."""
        if self._mesh is None:
            self._mesh = build_scene_mesh(self.cfg, self.objects, self.clutter())
        return self._mesh

    def render(self, K: np.ndarray, cam_to_world: np.ndarray, width: int, height: int) -> dict:
        """rgb uint8, depth, instance ids of one view (see `render_scene`)."""
        return render_scene(self.mesh(), K, cam_to_world, width, height)

    def edited(self, edits: dict) -> "GroundTruth":
        """The scene with {instance_id: {float parameter: value}} applied: each edited object's program
        re-evaluated at its pose, with its colours and textures (an edit that changes the topology, which
        only a discrete parameter can do, is refused)."""
        from geonodes import load_program

        objects = []
        for o in self.objects:
            change = edits.get(o.instance_id)
            if not change:
                objects.append(o)
                continue
            prog = load_program(o.category)
            for name, value in change.items():
                if prog.parameter(name).kind != "float" and value != o.parameters.get(name):
                    raise ProcsplatError(f"object {o.instance_id}: '{name}' is discrete; only float edits keep "
                                         "the topology")
            params = {**o.parameters, **change}
            mesh = prog.evaluate_one(params, dtype=torch.float64)
            if mesh.triangles.shape != o.triangles.shape or not np.array_equal(mesh.part_id.numpy(), o.part_id):
                raise ProcsplatError(f"object {o.instance_id}: the edit {change} changes the topology")
            world = object_to_world(mesh.vertices, o.yaw, o.translation).numpy()
            rest = o.local_vertices() if o.rest_vertices is None else o.rest_vertices
            objects.append(replace(o, parameters=params, vertices=world, rest_vertices=rest))
        return GroundTruth(self.cfg, objects=objects)


def generate(cfg: SynthConfig, progress: bool = True) -> Path:
    """Write the scene; returns `<out>/<scene_id>`. Nothing is left behind on failure."""
    from procsplat.data.readers.scannet_write import write_scannet_scene

    scene_id = cfg.resolved_scene_id()
    final = Path(cfg.out) / scene_id
    if final.exists() and not cfg.overwrite:
        raise ProcsplatError(f"{final} exists (pass --overwrite to replace it)")
    if cfg.num_objects < 0 or cfg.num_frames < 1:
        raise ProcsplatError("synth: num_objects must be >= 0 and num_frames >= 1")
    rng = np.random.default_rng(cfg.seed)
    objects = place_objects(cfg, rng)
    clutter = scene_clutter(cfg, objects)
    mesh = build_scene_mesh(cfg, objects, clutter)
    vertices, triangles, face_colors, face_ids, instances = (mesh.vertices, mesh.triangles, mesh.colors, mesh.ids,
                                                             mesh.instances)
    poses = camera_path(cfg, rng)
    K = intrinsics(cfg)
    noise_rng = np.random.default_rng(cfg.seed + 1)
    if cfg.realistic:  # per-face part keys (thin structures) and albedo luminance (dark surfaces)
        noise_rng = realistic.rng_for(cfg.seed, 1)
        face_part = np.concatenate([np.full(len(t), k) for k, (_, _, t) in enumerate(room_parts(cfg))]
                                   + [1000 * o.instance_id + o.part_id for o in objects + clutter])
        assert len(face_part) == len(triangles)  # build_scene_mesh's order: room, objects, clutter
        face_lum = face_colors @ np.array([0.299, 0.587, 0.114])

    def frames():
        from procsplat.progress import Progress

        with Progress(f"rendering {scene_id}", len(poses), enabled=progress) as bar:
            for k, pose in enumerate(poses):
                r = render_scene(mesh, K, pose, cfg.width, cfg.height)
                if cfg.realistic:
                    face = r["face"]
                    hit = face >= 0
                    depth = realistic.realistic_depth(
                        r["depth"], noise_rng, float(K[0, 0]), cfg.focal,
                        part=np.where(hit, face_part[np.maximum(face, 0)], -1),
                        luminance=np.where(hit, face_lum[np.maximum(face, 0)], 1.0))
                else:
                    depth = corrupt_depth(r["depth"], noise_rng, cfg.depth_noise, cfg.holes)
                yield r["rgb"], depth, pose
                bar.update(k + 1)

    # One segment per (instance, part): ScanNet's segments over-segment instances.
    vertex_instance = np.zeros(len(vertices), dtype=np.int64)
    vertex_instance[triangles.reshape(-1)] = np.repeat(face_ids, 3)
    vertex_color = np.zeros((len(vertices), 3))
    vertex_color[triangles.reshape(-1)] = np.repeat(face_colors, 3, axis=0)
    segments = vertex_instance  # segment id = instance id
    # ScanNet readers number instances objectId + 1, so objectId = instance id - 1.
    agg = [(iid - 1, label, [iid]) for iid, label in instances]

    Path(cfg.out).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{scene_id}.", dir=cfg.out))
    try:
        write_scannet_scene(tmp, scene_id, frames(), K, K, vertices=vertices, faces=triangles,
                            vertex_colors=(vertex_color * 255).round().astype(np.uint8),
                            segment_of_vertex=segments.tolist(), objects=agg, axis_alignment=np.eye(4))
        gt = {
            "version": GT_VERSION, "scene_id": scene_id, "seed": cfg.seed, "up": [0, 0, 1], "floor_height": 0.0,
            "room_size": list(cfg.room_size), "wall_height": cfg.wall_height,
            "image_size": [cfg.width, cfg.height], "K": K.tolist(), "num_frames": cfg.num_frames,
            "cam_to_world": [p.tolist() for p in poses],
            "depth_noise": cfg.depth_noise, "holes": cfg.holes, "texture_frame": cfg.texture_frame,
            "objects": [{"instance_id": o.instance_id, "category": o.category, "program": o.category,
                         "parameters": o.parameters, "yaw": o.yaw, "translation": o.translation,
                         "num_vertices": int(len(o.vertices)), "num_triangles": int(len(o.triangles))}
                        for o in objects],
            "background": [{"instance_id": iid, "label": label} for iid, label in instances
                           if label in ("floor", "wall")],
        }
        if cfg.realistic:  # (only then: a clean scene's gt.json stays as it was)
            gt["realistic"] = {"mask_bleed_px": realistic.MASK_BLEED_PX, "disparity_subpixel": realistic.SUBPIXEL,
                               "baseline": realistic.BASELINE, "range": list(realistic.RANGE)}
            gt["clutter"] = [{"instance_id": c.instance_id, "label": c.category, "on": c.parameters["on"],
                              "translation": c.translation} for c in clutter]
        (tmp / scene_id / "gt.json").write_text(json.dumps(gt, indent=1, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final)
        (tmp / scene_id).rename(final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def scene_texture_frame(gt: dict) -> str:
    """The texture frame a scene's gt.json records ("world" for scenes made before the key existed)."""
    return gt.get("texture_frame", "world")


def ensure_scene(cfg: SynthConfig, progress: bool = True) -> Path:
    """`<out>/<scene_id>` of `cfg`, generated unless there already (a scene left there whose gt.json records
    another texture frame is generated again)."""
    path = Path(cfg.out) / cfg.resolved_scene_id()
    gt = path / "gt.json"
    if not gt.is_file() or scene_texture_frame(json.loads(gt.read_text())) != cfg.texture_frame:
        generate(replace(cfg, overwrite=True), progress=progress)
    return path


DEMO_SEED = 2024


def demo_scene(root: Path) -> Path:
    """The built-in demo: a synthetic room with 3 objects (fixed seed), generated once under <root>/_demo."""
    cfg = SynthConfig(out=Path(root) / "_demo", seed=DEMO_SEED, num_frames=48, width=320, height=240,
                      num_objects=3)
    return ensure_scene(cfg)
