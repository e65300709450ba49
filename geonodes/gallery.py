"""Thumbnail gallery: one row per program, random samples of it, shaded by part.

    geonodes gallery -o DIR [--n 8] [--seed 0] [--programs chair,table] [--cell 160]

Each sample is framed on its own (its bounding sphere fills the cell) and seen from the
front-right, above (the library's front is +y). Rendering is `geonodes.render.render_mesh`
(CPU rasteriser) at 2x and box-filtered down for smooth edges.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .errors import GeonodesError

# Muted colours, one per part (cycled): parts of a shape are told apart at a glance.
PALETTE = np.array([[0.80, 0.62, 0.44], [0.55, 0.66, 0.78], [0.72, 0.78, 0.55], [0.85, 0.55, 0.50],
                    [0.70, 0.60, 0.80], [0.90, 0.80, 0.50], [0.55, 0.75, 0.72], [0.75, 0.70, 0.65]])
VIEW_DIRECTION = (0.9, 1.6, 0.9)  # from the object towards the camera
FOV_DEG = 35.0
LABEL_WIDTH = 110
SUPERSAMPLE = 2



def render_thumbnail(mesh, size: int) -> np.ndarray:
    """(size, size, 3) uint8 image of one evaluated mesh on white."""
    from geonodes.render import look_at, render_mesh

    verts = mesh.vertices.detach().to(torch.float64).cpu()
    res = size * SUPERSAMPLE
    lo, hi = verts.min(0).values.numpy(), verts.max(0).values.numpy()
    centre = (lo + hi) / 2
    radius = max(float(np.linalg.norm(verts.numpy() - centre, axis=1).max()), 1e-3)
    half_fov = math.radians(FOV_DEG) / 2
    direction = np.asarray(VIEW_DIRECTION) / np.linalg.norm(VIEW_DIRECTION)
    eye = centre + direction * radius / math.sin(half_fov) * 1.02
    focal = res / 2 / math.tan(half_fov)
    K = torch.tensor([[focal, 0, res / 2], [0, focal, res / 2], [0, 0, 1]], dtype=torch.float64)
    colors = torch.from_numpy(PALETTE[mesh.part_id.cpu().numpy() % len(PALETTE)])
    out = render_mesh(verts, mesh.triangles.cpu(), K, torch.from_numpy(look_at(eye, centre)), res, res,
                      face_colors=colors, ambient=0.35)
    rgb = out["rgb"].numpy()
    hit = (out["face"].numpy() >= 0)[..., None]
    img = np.where(hit, rgb, 1.0)
    img = img.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 3).mean(axis=(1, 3))
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def render_gallery(programs: list[str], n: int = 8, seed: int = 0, cell: int = 160) -> np.ndarray:
    """(rows * cell, LABEL_WIDTH + n * cell, 3) uint8: one row per program."""
    from PIL import Image, ImageDraw

    from .program import load_program

    if n < 1 or cell < 16:
        raise GeonodesError(f"n={n}, cell={cell}: a gallery needs n >= 1 samples and cells of >= 16 pixels")
    canvas = np.full((len(programs) * cell, LABEL_WIDTH + n * cell, 3), 255, dtype=np.uint8)
    for row, name in enumerate(programs):
        prog = load_program(name)
        sets = prog.sample(n, seed=seed)
        for group in prog.evaluate(prog.stack(sets, dtype=torch.float64), dtype=torch.float64):
            for j, i in enumerate(group.index.tolist()):
                x = LABEL_WIDTH + i * cell
                canvas[row * cell:(row + 1) * cell, x:x + cell] = render_thumbnail(group.mesh(j), cell)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    for row, name in enumerate(programs):
        draw.text((10, row * cell + cell // 2 - 6), Path(name).stem, fill=(40, 40, 40))
    return np.asarray(image)


def write_gallery(out_dir, programs: list[str] | None = None, n: int = 8, seed: int = 0, cell: int = 160) -> Path:
    """Render the gallery to OUT_DIR/gallery.png (optimised PNG); returns the path."""
    from PIL import Image

    from .library import PROGRAMS

    image = Image.fromarray(render_gallery(list(programs or PROGRAMS), n, seed, cell))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # after rendering: bad input leaves no folder behind
    path = out_dir / "gallery.png"
    image.save(path, optimize=True)
    return path
