"""Scene model and readers: 7-Scenes (real frames), ScanNet .sens / exported / raw folders."""

from __future__ import annotations

import dataclasses
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree

from procsplat.data.readers import detect_layout, load_scene
from procsplat.data.readers.scannet_write import write_exported, write_scannet_scene, write_sens
from procsplat.data.readers.sens import SensFile, SensReader
from procsplat.data.readers.sevenscenes import load_sevenscenes
from procsplat.data.scene import FrameSource, MissingSceneFile, SceneReadError
from procsplat.geometry import backproject
from procsplat.geometry import look_at as camera_look_at

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REDKITCHEN = SHARED / "rgbd" / "redkitchen"
needs_redkitchen = pytest.mark.skipif(not REDKITCHEN.is_dir(),
                                      reason=f"shared 7-Scenes frames not found at {REDKITCHEN}")

K_DEPTH = np.array([[50.0, 0.0, 32.0], [0.0, 50.0, 24.0], [0.0, 0.0, 1.0]])
W, H = 64, 48


# -- helpers ---------------------------------------------------------------------------------
def smooth_rgb(rng, h=H, w=W):
    """Random low-frequency colours (JPEG keeps them within a few levels)."""
    coarse = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))


def random_pose(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    P = np.eye(4)
    P[:3, :3] = q * np.sign(np.linalg.det(q))
    P[:3, 3] = rng.normal(size=3)
    return P.astype(np.float32).astype(np.float64)  # representable in .sens float32


def synthetic_frames(n=5, invalid=(2,), seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        depth_mm = rng.integers(0, 8000, (H, W))
        depth_mm[rng.random((H, W)) < 0.1] = 0  # holes
        pose = np.full((4, 4), -np.inf) if k in invalid else random_pose(rng)
        frames.append((smooth_rgb(rng), (depth_mm / 1000.0).astype(np.float32), pose))
    return frames


def look_at(eye, target):
    """cam_to_world at `eye` looking at `target`, rounded to float32 (what a .sens file stores)."""
    return camera_look_at(eye, target).astype(np.float32).astype(np.float64)


def box(lo, hi):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return v, f


# -- 7-Scenes (real data) ----------------------------------------------------------------------
@needs_redkitchen
def test_sevenscenes_loads_redkitchen():
    scene = load_scene(REDKITCHEN)
    assert detect_layout(REDKITCHEN) == "sevenscenes"
    assert len(scene.frames) == 50 and scene.frames.ids[:3] == [0, 20, 40]
    assert scene.skipped_frames == []
    frame = scene.frames[3]
    assert frame.index == 60
    assert frame.rgb.shape == (480, 640, 3) and frame.rgb.dtype == np.uint8
    assert frame.depth.shape == (480, 640) and frame.depth.dtype == np.float32
    np.testing.assert_allclose(frame.K, [[585, 0, 320], [0, 585, 240], [0, 0, 1]])
    valid = frame.depth[frame.depth > 0]
    assert 0.3 < np.median(valid) < 5.0 and valid.max() < 65.0  # 65535 mm mapped to invalid
    R = frame.cam_to_world[:3, :3]
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-3)  # 7-Scenes: near-orthonormal


@needs_redkitchen
def test_sevenscenes_depth_overlaps_after_pose_transform():
    scene = load_scene(REDKITCHEN)
    frames = scene.frames
    a, b = frames[10], frames[11]  # recording frames 200 and 220
    pa = backproject(a.depth, a.K, a.cam_to_world, step=2)
    pb = backproject(b.depth, b.K, b.cam_to_world, step=2)
    dist, _ = cKDTree(pb).query(pa)
    assert np.median(dist) < 0.02
    # Control: the same clouds with frame b's pose replaced by frame a's do not overlap as well
    # (so the test above depends on the poses being applied correctly).
    pb_wrong = backproject(b.depth, b.K, frames[0].cam_to_world, step=2)
    dist_wrong, _ = cKDTree(pb_wrong).query(pa)
    assert np.median(dist_wrong) > 2 * np.median(dist)


@needs_redkitchen
def test_sevenscenes_gravity_alignment_and_extent():
    aligned = load_scene(REDKITCHEN)
    raw = load_scene(REDKITCHEN, gravity_align=False)
    T = aligned.world_from_source
    np.testing.assert_allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-9)
    assert np.linalg.det(T[:3, :3]) == pytest.approx(1.0)
    np.testing.assert_allclose(aligned.frames.poses, T @ raw.frames.poses, atol=1e-12)
    assert load_scene(REDKITCHEN, up="source").world_from_source.tolist() == np.eye(4).tolist()
    # the estimate is stated: up from the floor plane, floor at z = 0
    est = aligned.up_estimate
    assert est.method == "floor" and aligned.floor_height == 0.0
    line = est.describe("redkitchen")
    assert "from the floor plane" in line and "floor moved to z = 0" in line
    np.testing.assert_allclose(T[:3, :3] @ est.up, [0, 0, 1], atol=1e-9)
    # the same world frame whatever frames and size a command selects (fit, train and view agree)
    np.testing.assert_array_equal(load_scene(REDKITCHEN, width=160, stride=3, max_frames=4).world_from_source, T)
    lo, hi = aligned.bounds
    assert np.all(hi - lo > 0.5) and np.all(hi - lo < 20)
    assert lo[2] - 0.01 <= aligned.floor_height < hi[2]
    # up="cameras" is the mean camera up direction on +Z (the behaviour before the floor estimate)
    cams = load_scene(REDKITCHEN, up="cameras")
    mean_up = -cams.frames.poses[:, :3, 1].mean(0)
    np.testing.assert_allclose(mean_up / np.linalg.norm(mean_up), [0, 0, 1], atol=1e-9)


@needs_redkitchen
def test_redkitchen_floor_is_level_and_surfaces_horizontal():
    """The estimated up levels the real kitchen: its floor points lie within a few cm of z = 0 all
    over the scan and the table top is one flat level (so a turntable orbit at the cameras' median
    height is not tilted); the cameras' mean up (they look down at the table) is ~25 degrees off."""
    from procsplat.data.gravity import depth_points

    def surfaces(scene):
        pts, nrm = zip(*(depth_points(scene.frames[i].depth, scene.frames.K, scene.frames.poses[i])
                         for i in range(0, len(scene.frames), 2)))
        return np.concatenate(pts), np.concatenate(nrm)

    scene = load_scene(REDKITCHEN, width=320)
    pts, nrm = surfaces(scene)
    upward = nrm[:, 2] > np.cos(np.radians(15))
    floor = pts[upward & (np.abs(pts[:, 2]) < 0.1)]
    assert len(floor) > 2000 and np.ptp(floor[:, :2], axis=0).min() > 1.5  # floor seen over > 1.5 m
    lo, hi = np.percentile(floor[:, 2], [5, 95])
    assert -0.03 < lo and hi < 0.03, (lo, hi)
    # floor points binned over the floor plane (0.5 m cells): every cell's median height within 3 cm of
    # 0, and the plane through the medians tilted by under 0.5 degrees (measured: 0.15)
    cells = {}
    for key, z in zip(map(tuple, np.floor(floor[:, :2] / 0.5).astype(int)), floor[:, 2]):
        cells.setdefault(key, []).append(z)
    kept = [(key, len(v), np.median(v)) for key, v in cells.items() if len(v) >= 50]
    medians = np.array([m for *_, m in kept])
    assert len(kept) >= 8 and np.abs(medians).max() < 0.03, medians
    A = np.array([[0.5 * a + 0.25, 0.5 * b + 0.25, 1.0] for (a, b), _, _ in kept])
    w = np.sqrt([n for _, n, _ in kept])
    slope = np.linalg.lstsq(A * w[:, None], medians * w, rcond=None)[0][:2]
    assert np.degrees(np.arctan(np.hypot(*slope))) < 0.5
    # the table top: the largest level of upward-facing points, 2 cm thin
    counts, edges = np.histogram(pts[upward, 2], bins=np.arange(0.2, 2.0, 0.02))
    top = edges[np.argmax(counts)]
    assert 0.6 < top < 0.85 and counts.max() > 0.3 * upward.sum()
    # horizontal surfaces are horizontal: a third of all points face up, and the cameras stand above the floor
    assert upward.mean() > 0.25
    heights = scene.frames.poses[:, 2, 3]
    assert np.all(heights > 0.5) and np.all(heights < 2.2)
    cams = load_scene(REDKITCHEN, width=320, up="cameras")
    _, nrm_cams = surfaces(cams)
    assert (nrm_cams[:, 2] > np.cos(np.radians(15))).mean() < 0.05


@pytest.mark.parametrize("noise", [False, True])
def test_gravity_of_a_tilted_synthetic_scan(tmp_path, noise):
    """A synthetic room written as a 7-Scenes folder in a tilted, y-up-ish frame, seen from one side of
    the room only (so the cameras' mean up carries their downward look): the estimate recovers the
    true up within 2 degrees and the floor within 2 cm."""
    from procsplat.data.gravity import camera_up, rotation_to_z
    from procsplat.data.readers.sevenscenes import write_sevenscenes
    from procsplat.data.synth import SynthConfig, generate

    room = load_scene(generate(SynthConfig(out=tmp_path, seed=5, num_frames=24, width=160, height=120,
                                           num_objects=3, depth_noise=noise, holes=noise), progress=False))
    tilt = np.eye(4)
    tilt[:3, :3] = rotation_to_z([0.0, 1.0, 0.0]).T @ rotation_to_z([0.2, -0.1, 1.0]).T  # +Z -> ~+Y, 13 deg off
    tilt[:3, 3] = [0.3, -0.2, 1.1]
    frames = [(room.frames[i].rgb, room.frames[i].depth, tilt @ room.frames.poses[i]) for i in range(8)]
    scan = load_scene(write_sevenscenes(tmp_path / "tilted", frames, room.frames.K))
    true_up = tilt[:3, :3] @ [0, 0, 1]
    est = scan.up_estimate
    assert est.method == "floor"
    assert np.degrees(np.arccos(np.clip(est.up @ true_up, -1, 1))) < 2.0
    assert np.degrees(np.arccos(camera_up(np.array([f[2] for f in frames])) @ true_up)) > 10  # the prior alone fails
    # floor points of the true room (z = 0 over its whole 7 x 6 m) land on z = 0 within 2 cm
    floor = np.array([[x, y, 0.0, 1.0] for x in (-3.4, 0.0, 3.4) for y in (-2.9, 0.0, 2.9)])
    z = (floor @ (scan.world_from_source @ tilt).T)[:, 2]
    assert np.abs(z).max() < 0.02, z
    assert scan.floor_height == 0.0


@needs_redkitchen
def test_resize_subsample_options():
    scene = load_scene(REDKITCHEN, stride=7, max_frames=4, width=320)
    assert scene.frames.ids == [0, 140, 280, 420]
    frame = scene.frames[1]
    assert frame.rgb.shape == (240, 320, 3) and frame.depth.shape == (240, 320)
    np.testing.assert_allclose(frame.K, [[292.5, 0, 160], [0, 292.5, 120], [0, 0, 1]])
    full = load_scene(REDKITCHEN).frames[7]
    # Nearest resize: every output depth is the source depth under the output pixel centre.
    np.testing.assert_array_equal(frame.depth, full.depth[1::2, 1::2])
    half = load_scene(REDKITCHEN, image_scale=0.5, max_frames=1).frames[0]
    assert half.rgb.shape == (240, 320, 3)
    with pytest.raises(ValueError, match="either image_scale or width"):
        load_scene(REDKITCHEN, image_scale=0.5, width=320)
    with pytest.raises(TypeError, match="do not apply"):
        load_scene(REDKITCHEN, allow_truncated=True)


# -- .sens ----------------------------------------------------------------------------------------
def test_sens_round_trip(tmp_path):
    frames = synthetic_frames()
    path = tmp_path / "scene.sens"
    K_color = K_DEPTH.astype(np.float32).astype(np.float64)
    assert write_sens(path, frames, K_color, K_DEPTH, sensor_name="test-sensor") == 5
    header = SensFile(path).header
    assert (header.sensor_name, header.depth_shift, header.num_frames) == ("test-sensor", 1000.0, 5)
    assert (header.color_width, header.color_height, header.depth_width) == (W, H, W)
    assert (header.color_compression, header.depth_compression) == ("jpeg", "zlib_ushort")

    scene = load_scene(path)
    assert detect_layout(path) == "sens"
    assert scene.frames.ids == [0, 1, 3, 4] and scene.skipped_frames == [2]
    for i, k in enumerate(scene.frames.ids):
        frame = scene.frames[i]
        rgb, depth, pose = frames[k]
        assert frame.index == k
        np.testing.assert_array_equal(frame.cam_to_world, pose)
        np.testing.assert_array_equal(frame.K, K_DEPTH)
        np.testing.assert_array_equal(np.round(frame.depth * 1000), np.round(depth * 1000))
        assert np.abs(frame.rgb.astype(int) - rgb).mean() < 3.0


@needs_redkitchen
def test_sens_written_from_scene_frames(tmp_path):
    """Frames of a loaded scene (objects with rgb/depth/cam_to_world) re-exported to .sens."""
    source = load_scene(REDKITCHEN, max_frames=3, width=160)
    frames = list(source.frames)
    write_sens(tmp_path / "k.sens", frames, source.frames.K, source.frames.K)
    back = load_scene(tmp_path / "k.sens", up="source")  # the written frames as they are (no up estimate)
    assert back.frames.ids == [0, 1, 2] and (back.frames.width, back.frames.height) == (160, 120)
    for a, b in zip(frames, back.frames):
        np.testing.assert_allclose(b.cam_to_world, a.cam_to_world, atol=1e-6)
        np.testing.assert_allclose(b.depth, a.depth, atol=0.5e-3 + 1e-6)
        assert np.abs(b.rgb.astype(int) - a.rgb).mean() < 4.0


def _ray_colour(K, w, h):
    """Colour as a smooth function of the viewing ray, for checking colour-to-depth mapping."""
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    xn, yn = (u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1]
    return np.stack([128 + 100 * np.sin(2.0 * xn), 128 + 100 * np.cos(2.5 * yn),
                     128 + 60 * np.sin(xn + yn)], -1)


def test_sens_colour_mapped_into_depth_grid(tmp_path):
    # Colour camera: twice the resolution and a different principal point than depth.
    K_color = np.array([[100.0, 0, 70.0], [0, 100.0, 44.0], [0, 0, 1]])
    rgb = np.round(_ray_colour(K_color, 2 * W, 2 * H)).astype(np.uint8)
    frames = [(rgb, np.ones((H, W), np.float32), np.eye(4))]
    write_sens(tmp_path / "c.sens", frames, K_color, K_DEPTH, color_compression="png")
    frame = load_scene(tmp_path / "c.sens").frames[0]
    # Depth pixel u maps to colour pixel 2u + 6 (v: 2v - 4): columns >= 61 and rows < 2 lie
    # outside the colour image (black there).
    assert (frame.rgb[:, 61:] == 0).all() and (frame.rgb[:2] == 0).all()
    expected = _ray_colour(K_DEPTH, W, H)
    err = np.abs(frame.rgb[3:-1, 1:59].astype(float) - expected[3:-1, 1:59])
    assert err.mean() < 0.6 and err.max() < 2.0  # a half-pixel error gives ~0.8 mean
    # Resized frames see the same rays through the scaled intrinsics.
    small = load_scene(tmp_path / "c.sens", width=32).frames[0]
    err = np.abs(small.rgb[2:-1, 1:29].astype(float) - _ray_colour(small.K, 32, 24)[2:-1, 1:29])
    assert err.mean() < 2.0


def test_sens_truncated_file(tmp_path):
    path = tmp_path / "cut.sens"
    write_sens(path, synthetic_frames(n=4, invalid=()), K_DEPTH, K_DEPTH)
    full = SensFile(path)
    cut_at = int(full.offsets[2]) + 10  # inside frame 2's colour data
    data = path.read_bytes()
    path.write_bytes(data[:cut_at])
    with pytest.raises(SceneReadError, match=r"cut\.sens.*frame 2"):
        load_scene(path)
    with pytest.warns(UserWarning, match=r"cut\.sens.*frame 2"):
        scene = load_scene(path, allow_truncated=True)
    assert scene.frames.ids == [0, 1]
    assert scene.frames[1].depth.shape == (H, W)
    path.write_bytes(data[: int(full.offsets[3] + full.color_sizes[3] + full.depth_sizes[3])])
    assert len(load_scene(path).frames) == 4  # only the IMU trailer is gone: all frames whole
    path.write_bytes(data[: int(full.offsets[2]) - 96])  # ends exactly where frame 2 starts
    with pytest.raises(SceneReadError, match=r"cut\.sens.*frame 2 \(no bytes left"):
        load_scene(path)
    path.write_bytes(data[:50])
    with pytest.raises(SceneReadError, match=r"cut\.sens.*header"):
        load_scene(path)
    path.write_bytes(b"\x03\0\0\0" + data[4:])
    with pytest.raises(SceneReadError, match="version 3"):
        load_scene(path)


def test_sens_writer_rejects_bad_frames(tmp_path):
    frames = synthetic_frames(n=2, invalid=())
    bad = [frames[0], (frames[1][0][:10], frames[1][1], frames[1][2])]
    with pytest.raises(ValueError, match="frame 1 sizes"):
        write_sens(tmp_path / "x.sens", bad, K_DEPTH, K_DEPTH)
    too_far = [(frames[0][0], np.full((H, W), 70.0, np.float32), frames[0][2])]
    with pytest.raises(ValueError, match="frame 0 depth 70.000 m exceeds"):
        write_sens(tmp_path / "y.sens", too_far, K_DEPTH, K_DEPTH)


# -- lazy loading ---------------------------------------------------------------------------------
def test_frames_decoded_on_access_with_bounded_cache(tmp_path):
    write_sens(tmp_path / "lazy.sens", synthetic_frames(n=8, invalid=()), K_DEPTH, K_DEPTH)
    reader = SensReader(tmp_path / "lazy.sens")
    reads = []
    original = reader.read
    reader.read = lambda k, *a: (reads.append(k), original(k, *a))[1]
    frames = FrameSource(reader, cache_size=3)
    assert reads == [] and len(frames) == 8  # opening decodes nothing
    assert frames.poses.shape == (8, 4, 4) and reads == []  # poses come from the index
    for i in [0, 1, 2, 0, 3, 4, 0, 7, 1]:
        frames[i]
        assert len(frames.cached) <= 3
    # 0,1,2 miss; 0 hit; 3 miss (evicts 1); 4 miss (evicts 2); 0 hit; 7 miss (evicts 3); 1 miss
    assert reads == [0, 1, 2, 3, 4, 7, 1]
    assert frames.decode_count == 7 and frames.cached == [0, 7, 1]
    assert frames[-1].index == 7
    with pytest.raises(IndexError, match="out of range"):
        frames[8]
    with pytest.raises(ValueError, match="read-only"):
        frames[0].depth[0, 0] = 1.0  # cached frames are shared: editing one must not be silent
    # Picklable (DataLoader workers): the open file handle is not carried over.
    clone = pickle.loads(pickle.dumps(FrameSource(SensReader(tmp_path / "lazy.sens"))))
    np.testing.assert_array_equal(clone[5].depth, frames[5].depth)
    uncached = FrameSource(reader, cache_size=0)
    uncached[5], uncached[5]
    assert uncached.decode_count == 2 and uncached.cached == []


# -- exported layout --------------------------------------------------------------------------------
def test_exported_layout_round_trip(tmp_path):
    frames = synthetic_frames()
    folder = tmp_path / "scene0001_00"
    K_color = np.array([[50.0, 0, 31.0], [0, 50.0, 25.0], [0, 0, 1]])
    assert write_exported(folder, frames, K_color, K_DEPTH) == 5
    scene = load_scene(folder)
    assert detect_layout(folder) == "scannet" and scene.name == "scene0001_00"
    assert scene.frames.ids == [0, 1, 3, 4] and scene.skipped_frames == [2]
    assert scene.mesh is None and scene.objects == []
    for i, k in enumerate(scene.frames.ids):
        frame = scene.frames[i]
        np.testing.assert_allclose(frame.cam_to_world, frames[k][2], rtol=1e-8, atol=1e-8)
        np.testing.assert_array_equal(frame.K, K_DEPTH)
        np.testing.assert_array_equal(np.round(frame.depth * 1000), np.round(frames[k][1] * 1000))
        # Colour pixel = depth pixel + (-1, +1) (principal points differ): compare the interior.
        shifted = np.roll(frames[k][0].astype(int), (-1, 1), axis=(0, 1))[2:-2, 2:-2]
        assert np.abs(frame.rgb[2:-2, 2:-2].astype(int) - shifted).mean() < 4.0
    (folder / "depth" / "3.png").unlink()
    with pytest.raises(MissingSceneFile, match=r"depth[/\\]3\.png"):
        load_scene(folder)


# -- ScanNet raw scene with mesh, instances and axis alignment --------------------------------------
def _synthetic_room(tmp_path, axis_alignment):
    """Floor + two labelled boxes, frames rendered from the mesh (depth and true instance ids)."""
    import torch
    from geonodes.render import render_mesh

    parts = [(np.array([[-3, -3, 0], [3, -3, 0], [3, 3, 0], [-3, 3, 0.0]]),
              np.array([[0, 1, 2], [0, 2, 3]]), 0),
             (*box([-0.6, -0.4, 0], [0.2, 0.4, 0.9]), 1),
             (*box([0.5, 0.3, 0], [1.1, 0.9, 0.5]), 2)]
    vertices, faces, segment = [], [], []
    for v, f, seg in parts:
        faces.append(f + sum(len(p) for p in vertices))
        vertices.append(v)
        segment += [seg] * len(v)
    vertices, faces = np.concatenate(vertices), np.concatenate(faces)
    instance = np.array(segment)  # ground truth: segment s belongs to object s (objectId s - 1)
    frames, truth = [], []
    for eye in ([2.5, -2.0, 1.6], [-2.2, -2.4, 1.2], [0.3, 2.8, 2.0]):
        pose = look_at(np.array(eye), [0.2, 0.2, 0.4])
        out = render_mesh(torch.from_numpy(vertices), torch.from_numpy(faces),
                          torch.from_numpy(K_DEPTH), torch.from_numpy(pose), W, H,
                          face_ids=torch.from_numpy(instance[faces[:, 0]]))
        rgb = (out["rgb"].numpy() * 255).round().astype(np.uint8)
        frames.append((rgb, out["depth"].numpy(), pose))
        truth.append(out["id"].numpy())
    colors = np.full((len(vertices), 3), 200, np.uint8)
    # Stored in the "capture" frame: mesh and poses are the aligned ones mapped by A^-1.
    A_inv = np.linalg.inv(axis_alignment)
    stored = [(rgb, depth, A_inv @ pose) for rgb, depth, pose in frames]
    folder = write_scannet_scene(tmp_path / "scans", "scene0042_00", stored, K_DEPTH, K_DEPTH,
                                 vertices=vertices @ A_inv[:3, :3].T + A_inv[:3, 3], faces=faces,
                                 vertex_colors=colors, segment_of_vertex=segment,
                                 objects=[(0, "table", [1]), (1, "cabinet", [2])],
                                 axis_alignment=axis_alignment)
    return folder, vertices, frames, truth


def test_scannet_raw_scene_alignment_objects_and_masks(tmp_path, monkeypatch):
    angle = 0.7
    A = np.array([[np.cos(angle), -np.sin(angle), 0, 1.5], [np.sin(angle), np.cos(angle), 0, -0.5],
                  [0, 0, 1, 0.25], [0, 0, 0, 1]])
    folder, vertices, frames, truth = _synthetic_room(tmp_path, A)
    scene = load_scene(folder)
    assert scene.name == "scene0042_00"
    np.testing.assert_allclose(scene.world_from_source, A, atol=1e-8)
    np.testing.assert_allclose(scene.mesh.vertices, vertices, atol=1e-5)
    for i, (_, _, pose) in enumerate(frames):
        np.testing.assert_allclose(scene.frames[i].cam_to_world, pose, atol=1e-5)
    assert (scene.mesh.vertex_colors == 200).all() and len(scene.mesh.faces) == 26
    assert [(o.id, o.label, len(o.points)) for o in scene.objects] == [(1, "table", 8),
                                                                         (2, "cabinet", 8)]
    assert scene.floor_height == pytest.approx(0.0, abs=1e-5)
    np.testing.assert_allclose(scene.bounds, [[-3, -3, 0], [3, 3, 0.9]], atol=1e-5)
    for i, ids in enumerate(truth):
        mask = scene.instance_mask(i)
        assert mask.dtype == np.int32 and mask.shape == (H, W)
        assert {1, 2} <= set(np.unique(mask)) or i == 2
        assert (mask == ids).mean() > 0.99
        np.testing.assert_array_equal(scene.objects[0].mask(i), mask == 1)
    # An occluder the mesh does not have (sensor depth in front of it) clears the mask.
    frame = scene.frames[0]
    occluded = frame.depth.copy()
    occluded[:, : W // 2] = 0.3
    mask = scene.masks.compute(dataclasses.replace(frame, depth=occluded))
    assert (mask[:, : W // 2] == 0).all()
    np.testing.assert_array_equal(mask[:, W // 2:], scene.instance_mask(0)[:, W // 2:])

    # The same scene found from a root plus scene name, and through SCANNET_ROOT.
    assert load_scene(tmp_path, scene="scene0042_00").source == folder
    monkeypatch.setenv("SCANNET_ROOT", str(tmp_path))
    assert load_scene(scene="scene0042_00", masks=False).masks is None
    with pytest.raises(MissingSceneFile, match="scene9999_00"):
        load_scene(scene="scene9999_00")
    monkeypatch.delenv("SCANNET_ROOT")
    with pytest.raises(MissingSceneFile, match="SCANNET_ROOT"):
        load_scene(scene="scene0042_00")

    # A segments file that does not match the mesh is named in the error.
    segs = folder / "scene0042_00_vh_clean_2.0.010000.segs.json"
    segs.write_text('{"segIndices": [0, 1]}')
    with pytest.raises(SceneReadError, match=r"segs\.json: 2 segIndices for a mesh of 20 vertices"):
        load_scene(folder)


# -- errors -----------------------------------------------------------------------------------------
def _copy_frames(src, dst, numbers):
    dst.mkdir()
    for n in numbers:
        for kind in ("color.jpg", "depth.png", "pose.txt"):
            shutil.copy(src / f"frame-{n:06d}.{kind}", dst / f"frame-{n:06d}.{kind}")


@needs_redkitchen
def test_error_messages_name_the_file(tmp_path):
    folder = tmp_path / "kitchen"
    _copy_frames(REDKITCHEN, folder, [0, 20])
    (folder / "frame-000020.color.jpg").write_bytes(b"not a jpeg")
    scene = load_sevenscenes(folder)
    assert len(scene.frames) == 2 and scene.frames[0].rgb.shape == (480, 640, 3)
    with pytest.raises(SceneReadError, match=r"frame-000020\.color\.jpg.*cannot decode"):
        scene.frames[1]
    (folder / "frame-000020.depth.png").unlink()
    with pytest.raises(MissingSceneFile, match=r"frame-000020\.depth\.png"):
        load_scene(folder)
    shutil.copy(REDKITCHEN / "frame-000020.depth.png", folder / "frame-000020.depth.png")
    (folder / "frame-000020.pose.txt").write_text("1 0 0\n")
    with pytest.raises(SceneReadError, match=r"frame-000020\.pose\.txt.*16 numbers"):
        load_sevenscenes(folder)
    with pytest.raises(MissingSceneFile, match=r"nowhere\.sens"):
        SensFile(tmp_path / "nowhere.sens")
    with pytest.raises(MissingSceneFile, match="missing_dir"):
        load_scene(tmp_path / "missing_dir")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SceneReadError, match=r"empty: unrecognised scene layout"):
        load_scene(tmp_path / "empty")
    with pytest.raises(SceneReadError, match=r"no instance masks"):
        load_scene(REDKITCHEN).instance_mask(0)


@needs_redkitchen
def test_sevenscenes_sequences_concatenated(tmp_path):
    _copy_frames(REDKITCHEN, tmp_path / "seq-01", [0, 20])
    _copy_frames(REDKITCHEN, tmp_path / "seq-02", [40, 60])
    (tmp_path / "camera-intrinsics.txt").write_text("500 0 320\n0 500 240\n0 0 1\n")
    scene = load_scene(tmp_path)
    assert scene.frames.ids == [0, 20, 1_000_040, 1_000_060]
    np.testing.assert_array_equal(scene.frames[2].K, [[500, 0, 320], [0, 500, 240], [0, 0, 1]])
    (tmp_path / "seq-02" / "frame-000040.pose.txt").unlink()
    with pytest.raises(SceneReadError, match=r"seq-02[/\\]frame-000040\.pose\.txt: pose file missing"):
        load_scene(tmp_path)
