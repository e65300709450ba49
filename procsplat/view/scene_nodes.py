"""The viser scene of a run: splats per object and background, procedural meshes, cameras, floor grid."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch

from procsplat.view.convert import mesh_arrays, object_node, splat_arrays

MESH_COLOR = (90, 200, 255)


def evaluate_object(model, index: int) -> tuple:
    """(mesh vertices (V,3), triangles (T,3), splat arrays) of one object, world space, float32."""
    with torch.no_grad():
        mesh = model.objects[index].mesh()
        g = model.anchored[index].world(mesh)
    v, t = mesh_arrays(mesh)
    return v, t, splat_arrays(g)


class SceneNodes:
    """Handles of every node the viewer draws; `update_object` is how edits reach the clients."""

    def __init__(self, server, mesh_visible: bool = True, wireframe: bool = False):
        self.server = server
        self.mesh_visible, self.wireframe = mesh_visible, wireframe
        self.names, self.splats, self.meshes = [], [], []
        self.background = None
        self.frustums = []
        self.grid = None

    @staticmethod
    def from_model(server, model) -> "SceneNodes":
        nodes = SceneNodes(server)
        if model.background is not None and len(model.background.means):
            with torch.no_grad():
                nodes.set_background(splat_arrays(model.background.world()))
        for k, (o, s) in enumerate(zip(model.objects, model.specs)):
            nodes.add_object(object_node(o.instance_id, o.category, s.program), *evaluate_object(model, k))
        return nodes

    def set_background(self, arrays: dict) -> None:
        if self.background is None:
            self.background = self.server.scene.add_gaussian_splats("/background/splats", **arrays)
        else:
            self.background.set_gaussians(**arrays)

    def add_object(self, name: str, vertices: np.ndarray, triangles: np.ndarray, arrays: dict) -> int:
        scene = self.server.scene
        self.names.append(name)
        self.splats.append(scene.add_gaussian_splats(f"{name}/splats", **arrays))
        self.meshes.append(scene.add_mesh_simple(f"{name}/mesh", vertices, triangles, color=MESH_COLOR,
                                                 wireframe=self.wireframe, opacity=None if self.wireframe else 0.6,
                                                 side="double", visible=self.mesh_visible))
        return len(self.names) - 1

    def update_object(self, index: int, vertices: np.ndarray, triangles: np.ndarray, arrays: dict) -> None:
        with self.server.atomic():
            self.splats[index].set_gaussians(**arrays)
            mesh = self.meshes[index]
            if mesh.faces.shape != triangles.shape or not np.array_equal(mesh.faces, triangles):
                mesh.faces = triangles
            mesh.vertices = vertices

    def set_mesh_style(self, visible: bool, wireframe: bool) -> None:
        self.mesh_visible, self.wireframe = visible, wireframe
        for m in self.meshes:
            m.visible = visible
            m.wireframe = wireframe
            m.opacity = None if wireframe else 0.6

    def set_splats_visible(self, objects: bool, background: bool) -> None:
        for s in self.splats:
            s.visible = objects
        if self.background is not None:
            self.background.visible = background

    def set_cameras_visible(self, visible: bool) -> None:
        for f in self.frustums:
            f.visible = visible

    def add_floor(self, pts: np.ndarray, floor_z: float | None) -> float:
        """A grid on the floor plane (z up) under the points (N,3); returns the floor height used."""
        if len(pts) == 0:
            lo, hi, z = np.array([-2.0, -2.0]), np.array([2.0, 2.0]), 0.0
        else:
            lo, hi = np.percentile(pts[:, :2], 1, axis=0), np.percentile(pts[:, :2], 99, axis=0)
            z = float(np.percentile(pts[:, 2], 1)) if floor_z is None else float(floor_z)
        size = np.ceil(hi - lo + 1.0)
        self.grid = self.server.scene.add_grid("/floor", width=float(size[0]), height=float(size[1]), plane="xy",
                                               cell_size=0.25, section_size=1.0,
                                               position=(float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), z))
        return z

    def add_cameras(self, scene, count: int = 8, thumb_width: int = 160) -> int:
        """Frustums of `count` frames spread over the scan, each with its thumbnail; returns how many."""
        import viser.transforms as vtf

        frames = scene.frames
        n = len(frames)
        if n == 0:
            return 0
        picks = sorted({int(round(i)) for i in np.linspace(0, n - 1, min(count, n))})
        for i in picks:
            f = frames[i]
            rgb = f.rgb
            step = max(1, rgb.shape[1] // thumb_width)
            thumb = np.ascontiguousarray(rgb[::step, ::step])
            fy = float(f.K[1, 1])
            fov = 2 * math.atan(f.height / 2 / fy)
            c2w = np.asarray(f.cam_to_world, np.float64)
            self.frustums.append(self.server.scene.add_camera_frustum(
                f"/cameras/frame_{f.index:05d}", fov=fov, aspect=f.width / f.height, scale=0.15, image=thumb,
                format="jpeg", jpeg_quality=80, wxyz=vtf.SO3.from_matrix(c2w[:3, :3]).wxyz, position=c2w[:3, 3]))
        return len(picks)


def source_candidates(source: str, run: Path) -> list:
    """Where a run's scan may be: its scene.json `source` as given, or relative to the run's folders."""
    return [Path(source)] if Path(source).is_absolute() else [Path(source), run.parent / source, run / source]


def open_scan(source: str, run: Path, width: int = 160):
    """The scan a run was trained on, at thumbnail size, or (None, reason) when it cannot be read here."""
    from procsplat.data.readers import load_scene

    if not source:
        return None, "scene.json names no source scan"
    candidates = source_candidates(source, run)
    up = "auto"  # the run's --up, so the cameras sit in the world frame it was trained in
    try:
        up = json.loads((run / "config.json").read_text())["data"].get("up", "auto")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    for path in candidates:
        if path.exists():
            try:
                return load_scene(path, width=width, up=up), ""
            except Exception as e:  # noqa: BLE001 - cameras are optional: say why and go on
                return None, f"{path}: {e}"
    return None, f"{source}: not found"
