"""A realistic sensor and room for synthetic scenes (`SynthConfig.realistic`, `procsplat synth --realistic`).

What a clean synthetic render lacks and a Kinect-style structured-light scan of a furnished room has:

depth noise     in disparity, as the sensor measures it: disparity d = f b / z (f: the sensor's focal
                length at its native 640 px width, b = 7.5 cm baseline), plus Gaussian noise of
                0.065 px (iid 0.05 px + 0.04 px spatially correlated over ~8 px), quantised to 1/8 px,
                back to depth. The noise std grows as z^2: sigma(z) = 1.5 mm * z^2 (0.065 / (f b)), and
                quantisation steps are z^2 / (8 f b): 3 mm at 1 m, 26 mm at 3 m. Depth outside 0.45-5 m
                is invalid.
edge dropouts   pixels next to a depth discontinuity (a jump of more than 4 cm + 3 % of the depth to a
                4-neighbour), grown by 1 px, are dropped with probability 0.8; the projector's shadow
                (background pixels right of a nearer edge, within f b (1/z_near - 1/z_far) pixels at the
                image's own focal length) is dropped entirely.
dark and thin   pixels of dark parts (albedo luminance < 0.15) are dropped with probability 0.7 and the
                rest get twice the noise; thin structures, parts at most 1 px wide across (a run of 1 px
                along x or y in the image's own pixels, i.e. below ~1.5 px), are dropped with
                probability 0.9.
holes           random blobs (3 % of 16 px cells) and 1 % single pixels, as `corrupt_depth`.
mask bleeding   ScanNet's instance masks come from projecting an annotated mesh, misaligned with the
                sensor's images by a few pixels. The ScanNet reader renders the labelled mesh at read
                time and keeps the pixels whose sensor depth agrees with the rendered depth, so the
                misalignment is applied there: `load_scene` calls `bleed_synthetic_masks` for a scene
                folder whose gt.json has a "realistic" entry (real scans have no gt.json), which
                re-renders the masks with each labelled object's silhouette (furniture and clutter,
                not floor or walls) dilated or eroded by 1-3 px before the depth test (square
                structuring element, seeded by the scene's seed and the frame number, so every read
                gives the same masks). A dilated silhouette carries the object's depth, so the depth
                test keeps the background pixels it took where they lie at about the object's depth
                (the floor around its base, a wall or a neighbour it touches: masks include
                background pixels) and drops the rest, as it does on a real scan; an eroded one
                misses its border.
partial coverage
                the camera walks only 35-60 % of its ellipse: part of the room is never seen and many
                objects are seen from one side.
clutter         small objects on the furniture (books, boxes, bottles, cups on the largest horizontal
                surface between 0.3 and 1.3 m: table tops, seats, cabinet tops) and beside it on the
                floor (boxes, bags), labelled with categories that map to no program (`CLUTTER_LABELS`).
office chairs   half of the chairs become office chairs (five-star base, upholstered or mesh back, arm
                pads when they have arms), and objects get dark parts (black plastic, fabric) with
                probability 0.35 (office chairs 0.8).

Everything draws from its own generators (`rng_for`), so a scene without `realistic` is byte-identical
to what it was before this module existed.
"""
from __future__ import annotations

import colorsys
import json
import math
from pathlib import Path

import numpy as np
from scipy import ndimage

from procsplat.data.placed import PlacedObject, box_mesh

BASELINE = 0.075  # m, projector to IR camera
DISPARITY_SIGMA_IID = 0.05  # px at the sensor's native width
DISPARITY_SIGMA_CORRELATED = 0.04
SUBPIXEL = 8  # disparity is quantised to 1/8 px
RANGE = (0.45, 5.0)
EDGE_JUMP = (0.04, 0.03)  # a depth jump of more than a + b * z is a discontinuity
EDGE_DROP = 0.8
DARK_LUMINANCE, DARK_DROP = 0.15, 0.7
THIN_DROP = 0.9
MASK_BLEED_PX = 3
CLUTTER_LABELS = ("book", "box", "bottle", "cup", "bag")
OFFICE_CHAIR = 0.5
DARK_OBJECT, DARK_OFFICE_CHAIR = 0.35, 0.8
ARC = (0.35, 0.6)


def rng_for(seed: int, *stream: int) -> np.random.Generator:
    """The generator of one realism stream (0: layout, 1: depth, 2: masks + frame number)."""
    return np.random.default_rng([int(seed), 0x5EA1, *[int(s) for s in stream]])


# -- depth ------------------------------------------------------------------------------------------------------
def depth_sigma(z) -> np.ndarray:
    """Std of the disparity noise in depth (m) before quantisation: 1.5 mm * z^2 at 577.87 px."""
    return np.hypot(DISPARITY_SIGMA_IID, DISPARITY_SIGMA_CORRELATED) * np.asarray(z) ** 2 / (577.87 * BASELINE)


def discontinuities(depth: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour more than 4 cm + 3 % of the depth away (either side of the jump)."""
    valid = depth > 0
    out = np.zeros_like(valid)
    for axis in (0, 1):
        a = np.take(depth, np.arange(depth.shape[axis] - 1), axis=axis)
        b = np.take(depth, np.arange(1, depth.shape[axis]), axis=axis)
        both = (a > 0) & (b > 0)
        jump = both & (np.abs(a - b) > EDGE_JUMP[0] + EDGE_JUMP[1] * np.minimum(a, b))
        lo = [slice(None)] * 2
        hi = [slice(None)] * 2
        lo[axis], hi[axis] = slice(0, -1), slice(1, None)
        out[tuple(lo)] |= jump
        out[tuple(hi)] |= jump
    return out & valid


def projector_shadow(depth: np.ndarray, focal: float, max_px: int = 40) -> np.ndarray:
    """Background pixels the projector cannot light: right of a nearer surface, within its shadow
    width f b (1/z_near - 1/z_far) (pixels at focal length `focal`)."""
    H, W = depth.shape
    shadow = np.zeros((H, W), bool)
    with np.errstate(divide="ignore"):
        inv = np.where(depth > 0, 1.0 / np.maximum(depth, 1e-6), 0.0)
    for s in range(1, min(max_px, W - 1) + 1):
        near, far = depth[:, :-s], depth[:, s:]
        width = focal * BASELINE * (inv[:, :-s] - inv[:, s:])
        shadow[:, s:] |= (near > 0) & (far > near + EDGE_JUMP[0] + EDGE_JUMP[1] * near) & (width >= s)
    return shadow


def thin_parts(part: np.ndarray) -> np.ndarray:
    """Pixels of parts at most 1 px wide across: their neighbours on both sides along x or along y
    belong to other parts (part -1: nothing rendered)."""
    p = np.pad(part, 1, mode="edge")
    c = p[1:-1, 1:-1]
    thin_x = (c != p[1:-1, :-2]) & (c != p[1:-1, 2:])
    thin_y = (c != p[:-2, 1:-1]) & (c != p[2:, 1:-1])
    return (thin_x | thin_y) & (part >= 0)


def correlated_field(shape, rng: np.random.Generator, cell: int = 8) -> np.ndarray:
    """Unit-std noise correlated over ~`cell` pixels."""
    H, W = shape
    coarse = rng.normal(size=(H // cell + 2, W // cell + 2))
    fine = ndimage.zoom(coarse, cell, order=1)[:H, :W]
    return (fine - fine.mean()) / max(float(fine.std()), 1e-9)


def realistic_depth(depth: np.ndarray, rng: np.random.Generator, focal: float, sensor_focal: float = 577.87,
                    part: np.ndarray | None = None, luminance: np.ndarray | None = None) -> np.ndarray:
    """A clean depth render (m, 0 = empty) as the structured-light sensor sees it (module doc).
    focal: the image's focal length (px); sensor_focal: the sensor's at its native 640 px width (the
    disparity units); part: (H,W) part id per pixel (-1 empty) for thin structures; luminance: (H,W)
    albedo luminance for dark surfaces."""
    depth = np.asarray(depth, np.float64)
    valid = depth > 0
    H, W = depth.shape
    fb = sensor_focal * BASELINE
    dark = valid & (luminance < DARK_LUMINANCE) if luminance is not None else np.zeros_like(valid)
    noise = (DISPARITY_SIGMA_IID * rng.normal(size=(H, W))
             + DISPARITY_SIGMA_CORRELATED * correlated_field((H, W), rng))
    noise = np.where(dark, 2.0 * noise, noise)
    with np.errstate(divide="ignore"):
        disparity = np.where(valid, fb / np.maximum(depth, 1e-6), 0.0) + noise
    disparity = np.round(disparity * SUBPIXEL) / SUBPIXEL
    out = np.where(valid & (disparity > 0), fb / np.maximum(disparity, 1e-9), 0.0)
    drop = (out < RANGE[0]) | (out > RANGE[1])
    edges = ndimage.binary_dilation(discontinuities(depth), np.ones((3, 3), bool))
    drop |= edges & (rng.uniform(size=(H, W)) < EDGE_DROP)
    drop |= projector_shadow(depth, focal)
    drop |= dark & (rng.uniform(size=(H, W)) < DARK_DROP)
    if part is not None:
        drop |= thin_parts(part) & (rng.uniform(size=(H, W)) < THIN_DROP)
    coarse = rng.uniform(size=(H // 16 + 1, W // 16 + 1)) < 0.03
    drop |= np.kron(coarse, np.ones((16, 16), dtype=bool))[:H, :W]
    drop |= rng.uniform(size=(H, W)) < 0.01
    return np.where(drop, 0.0, out).astype(np.float32)


# -- masks ------------------------------------------------------------------------------------------------------
def bleed_mask(mask: np.ndarray, ids, rng: np.random.Generator, max_px: int = MASK_BLEED_PX,
               depth: np.ndarray | None = None):
    """(mask, radii {id: signed radius}, depth): each of `ids` present in the (H,W) instance-id image
    dilated (+r) or eroded (-r) by r in 1..max_px pixels (square structuring element), as a mesh
    silhouette misaligned by r pixels. A dilation takes pixels that belong to none of `ids` in the
    input (floor, walls, nothing); with a rendered `depth`, those pixels get the object's nearest
    depth within the r-pixel window (the shifted surface), so a depth test keeps them only where
    the background lies at about the object's depth (the floor at its base, a wall it touches). An
    eroded border becomes 0 (the image border does not erode)."""
    mask = np.asarray(mask)
    out = mask.copy()
    out_depth = None if depth is None else np.asarray(depth).copy()
    claimable = ~np.isin(mask, list(ids))
    radii = {}
    for i in sorted(int(x) for x in ids):
        r = int(rng.integers(1, max_px + 1)) * (1 if rng.uniform() < 0.5 else -1)
        own = mask == i
        if not own.any():
            continue
        radii[i] = r
        box = np.ones((2 * abs(r) + 1,) * 2, bool)
        if r > 0:
            taken = ndimage.binary_dilation(own, box) & claimable
            out[taken] = i
            if out_depth is not None:
                nearest = ndimage.grey_erosion(np.where(own, depth, np.inf), footprint=box, mode="nearest")
                out_depth[taken] = nearest[taken]
        else:
            out[own & ~ndimage.binary_erosion(own, box, border_value=1)] = 0
    return out, radii, out_depth


def bleed_synthetic_masks(scene, mask_config=None):
    """The read-time hook (module doc): when the scene's gt.json has a "realistic" entry, its masks
    are rendered again with each object's silhouette bled (`bleed_mask`, rendered ids and depth)
    before the depth test, as a misaligned projection of the labelled mesh is. Other scenes are
    returned unchanged."""
    from procsplat.data.readers.scannet import MaskConfig, mesh_instance_masks

    if scene.masks is None or scene.source is None or scene.mesh is None:
        return scene
    gt_path = Path(scene.source) / "gt.json"
    if not gt_path.is_file():
        return scene
    try:
        gt = json.loads(gt_path.read_text())
    except (OSError, ValueError):
        return scene
    spec = gt.get("realistic") if isinstance(gt, dict) else None
    if not isinstance(spec, dict) or not spec.get("mask_bleed_px"):
        return scene
    ids = [o["instance_id"] for o in gt.get("objects", [])] + [c["instance_id"] for c in gt.get("clutter", [])]
    seed, max_px = int(gt.get("seed", 0)), int(spec["mask_bleed_px"])

    def relabel(inst, depth, frame):
        out, _, out_depth = bleed_mask(inst, ids, rng_for(seed, 2, frame.index), max_px, depth)
        return out, out_depth

    scene.masks.compute = mesh_instance_masks(scene.mesh, mask_config or MaskConfig(), relabel)
    return scene


# -- the room -------------------------------------------------------------------------------------------------
def office_variant(category: str, params: dict, rng: np.random.Generator) -> dict:
    """Half of the chairs as office chairs: five-star base, upholstered or mesh back, arm pads."""
    if category != "chair" or rng.uniform() >= OFFICE_CHAIR:
        return params
    return {**params, "Legs Type": 2, "Has Back": True, "Back Style": int(rng.integers(2, 4)), "Arm Style": 1}


def is_office_chair(category: str, params: dict) -> bool:
    return category == "chair" and params.get("Legs Type") == 2


def darken(colors: np.ndarray, part_id: np.ndarray, rng: np.random.Generator, office: bool) -> np.ndarray:
    """Per-face colours with some parts dark (lightness 0.04-0.1), with probability 0.35 (office 0.8)."""
    if rng.uniform() >= (DARK_OFFICE_CHAIR if office else DARK_OBJECT):
        return colors
    parts = np.unique(part_id)
    dark = parts[rng.uniform(size=len(parts)) < (0.8 if office else 0.5)]
    if not len(dark):
        dark = parts[[int(rng.integers(len(parts)))]]
    out = colors.copy()
    for p in dark:
        h, _, _ = colorsys.rgb_to_hls(*colors[part_id == p][0])
        out[part_id == p] = colorsys.hls_to_rgb(h, rng.uniform(0.04, 0.1), rng.uniform(0.1, 0.3))
    return out


def cylinder_mesh(radius: float, height: float, segments: int = 12):
    a = np.linspace(0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([radius * np.cos(a), radius * np.sin(a)], 1)
    v = np.concatenate([np.c_[ring, np.zeros(segments)], np.c_[ring, np.full(segments, height)],
                        [[0, 0, 0], [0, 0, height]]])
    tris = []
    for k in range(segments):
        n = (k + 1) % segments
        tris += [(k, n, segments + n), (k, segments + n, segments + k),
                 (2 * segments, n, k), (2 * segments + 1, segments + k, segments + n)]
    return v, np.array(tris, dtype=np.int64)


def clutter_item(label: str, rng: np.random.Generator, on_floor: bool):
    """(local vertices with the base centred at the origin, triangles) of one clutter object."""
    if label in ("bottle", "cup"):
        r, h = (rng.uniform(0.03, 0.045), rng.uniform(0.18, 0.3)) if label == "bottle" else \
            (rng.uniform(0.035, 0.05), rng.uniform(0.08, 0.12))
        return cylinder_mesh(r, h)
    if label == "book":
        size = (rng.uniform(0.15, 0.25), rng.uniform(0.1, 0.18), rng.uniform(0.02, 0.08))
    elif label == "bag":
        size = (rng.uniform(0.25, 0.4), rng.uniform(0.12, 0.2), rng.uniform(0.25, 0.45))
    else:
        size = tuple(rng.uniform(0.15, 0.45, 3)) if on_floor else tuple(rng.uniform(0.08, 0.25, 3))
    half = np.array(size[:2]) / 2
    return box_mesh((-half[0], -half[1], 0.0), (half[0], half[1], size[2]))


def support_surface(vertices: np.ndarray, triangles: np.ndarray, rng: np.random.Generator):
    """A point on the largest horizontal surface of a mesh between 0.3 and 1.3 m (its height level
    of most up-facing area), pulled 30 % towards that level's centre; None when there is none."""
    t = vertices[triangles]
    n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
    area = np.linalg.norm(n, axis=1) / 2
    up = (n[:, 2] > 0.95 * np.linalg.norm(n, axis=1)) & (area > 0)
    z = t[:, :, 2].mean(1)
    up &= (z > 0.3) & (z < 1.3)
    if not up.any():
        return None
    level = np.round(z[up] / 0.01).astype(np.int64)
    levels, inverse = np.unique(level, return_inverse=True)
    best = int(np.argmax(np.bincount(inverse, weights=area[up])))
    faces = np.flatnonzero(up)[inverse == best]
    if area[faces].sum() < 0.02:
        return None
    f = faces[int(rng.choice(len(faces), p=area[faces] / area[faces].sum()))]
    a, b = rng.uniform(size=2)
    if a + b > 1:
        a, b = 1 - a, 1 - b
    p = t[f, 0] + a * (t[f, 1] - t[f, 0]) + b * (t[f, 2] - t[f, 0])
    centre = (t[faces].reshape(-1, 3) * np.repeat(area[faces], 3)[:, None]).sum(0) / (3 * area[faces].sum())
    q = p + 0.3 * (centre - p)
    return np.array([q[0], q[1], t[faces, :, 2].max()])


def place_clutter(objects: list, room_size, first_id: int, rng: np.random.Generator) -> list:
    """Clutter on and beside the furniture: [PlacedObject] with ids from `first_id`, category = label,
    parameters {"on": instance id of the object it stands on, or None}."""
    from procsplat.geometry import yaw_matrix

    sx, sy = room_size
    keep_in = np.array([sx / 2 - 0.9, sy / 2 - 0.9])  # off the camera path (0.4 m from the walls)
    boxes = [(o.vertices[:, :2].min(0), o.vertices[:, :2].max(0)) for o in objects]
    out = []

    def add(label, local, tris, at, on):
        yaw = float(rng.uniform(0, 2 * math.pi))
        world = local @ yaw_matrix(yaw).numpy().T + at
        colour = colorsys.hls_to_rgb(rng.uniform(), rng.uniform(0.05, 0.8), rng.uniform(0.2, 0.8))
        out.append(PlacedObject(first_id + len(out), label, {"on": on}, yaw, [float(x) for x in at], world, tris,
                                np.zeros(len(tris), np.int64), np.tile(colour, (len(tris), 1))))
        return world

    for o in objects:
        for _ in range(int(rng.integers(0, 3))):  # on it
            at = support_surface(o.vertices, o.triangles, rng)
            if at is None:
                break
            label = str(rng.choice(["book", "box", "bottle", "cup"]))
            v, t = clutter_item(label, rng, on_floor=False)
            add(label, v, t, at, o.instance_id)
        for _ in range(int(rng.integers(0, 2))):  # beside it, on the floor
            label = str(rng.choice(["box", "bag"]))
            v, t = clutter_item(label, rng, on_floor=True)
            r = float(np.linalg.norm(v[:, :2], axis=1).max())
            lo, hi = boxes[objects.index(o)]
            side = int(rng.integers(4))
            gap = rng.uniform(0.05, 0.3) + r
            x = rng.uniform(lo[0], hi[0]) if side < 2 else (lo[0] - gap if side == 2 else hi[0] + gap)
            y = rng.uniform(lo[1], hi[1]) if side >= 2 else (lo[1] - gap if side == 0 else hi[1] + gap)
            at = np.array([x, y, 0.0])
            if np.any(np.abs(at[:2]) + r > keep_in) or any(
                    np.all(at[:2] + r > b_lo - 0.02) and np.all(at[:2] - r < b_hi + 0.02) for b_lo, b_hi in boxes):
                continue
            world = add(label, v, t, at, None)
            boxes.append((world[:, :2].min(0), world[:, :2].max(0)))
    return out
