"""geonodes.render: rasterised depth/ids/colours against analytic ray casting."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from geonodes.render import TextureConfig, render_mesh, render_mesh_batch
from geonodes.render import look_at as camera_look_at

W, H = 64, 48
K = torch.tensor([[60.0, 0.0, 31.3], [0.0, 58.0, 23.9], [0.0, 0.0, 1.0]], dtype=torch.float64)


def look_at(eye, target) -> torch.Tensor:
    """cam_to_world (OpenCV axes, world +Z up) as a float64 tensor."""
    return torch.from_numpy(camera_look_at(eye, target))


def pixel_rays(c2w: torch.Tensor, K: torch.Tensor = K, w: int = W, h: int = H):
    """World origin and per-pixel world directions whose camera-frame z component is 1."""
    jj, ii = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    pix = np.stack([ii, jj, np.ones_like(ii)], -1)
    rays_cam = pix @ np.linalg.inv(K.numpy()).T
    c2w = c2w.numpy()
    return c2w[:3, 3], rays_cam @ c2w[:3, :3].T


def quad(center, u_half, v_half):
    """Two triangles spanning center +- u_half +- v_half."""
    c, u, v = (np.asarray(a, float) for a in (center, u_half, v_half))
    verts = np.stack([c - u - v, c + u - v, c + u + v, c - u + v])
    return torch.from_numpy(verts), torch.tensor([[0, 1, 2], [0, 2, 3]])


def grid(center, u_half, v_half, n: int):
    """An n x n grid of quads (2 n^2 triangles sharing edges) spanning the same square."""
    c, u, v = (np.asarray(a, float) for a in (center, u_half, v_half))
    t = np.linspace(-1.0, 1.0, n + 1)
    a, b = np.meshgrid(t, t, indexing="ij")
    verts = c + a[..., None] * u + b[..., None] * v
    i = np.arange(n)[:, None] * (n + 1) + np.arange(n)[None, :]
    quads = np.stack([i, i + n + 1, i + n + 2, i + 1], -1).reshape(-1, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    return torch.from_numpy(verts.reshape(-1, 3)), torch.from_numpy(faces)


def unit_cube(lo=(0.0, 0.0, 0.0)):
    lo = np.asarray(lo, float)
    corners = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float) + lo
    faces = [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
             [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]]
    return torch.from_numpy(corners), torch.tensor(faces)


def camera_z(c2w: torch.Tensor, points: np.ndarray) -> np.ndarray:
    c2w = c2w.numpy()
    return (points - c2w[:3, 3]) @ c2w[:3, 2]


def plane_depth(c2w, point, normal, K=K, w=W, h=H):
    """Analytic camera z of each pixel ray's hit on the infinite plane; world hit points."""
    origin, dirs = pixel_rays(c2w, K, w, h)
    normal = np.asarray(normal, float)
    denom = dirs @ normal
    with np.errstate(divide="ignore"):
        z = ((np.asarray(point, float) - origin) @ normal) / denom   # dirs have camera z = 1
    return z, origin + z[..., None] * dirs


def test_fronto_parallel_plane_has_constant_depth():
    c2w = look_at([0.3, -0.2, 1.1], [2.0, 3.0, 0.5])
    dist = 2.7
    fwd, right, down = (c2w[:3, k].numpy() for k in (2, 0, 1))
    verts, faces = quad(c2w[:3, 3].numpy() + dist * fwd, 10 * right, 10 * down)
    out = render_mesh(verts, faces, K, c2w, W, H)
    assert out["depth"].shape == (H, W) and out["depth"].dtype == torch.float32
    assert (out["face"] >= 0).all()
    assert torch.allclose(out["depth"].double(), torch.full((H, W), dist, dtype=torch.float64), atol=1e-4)


def test_tilted_plane_depth_is_perspective_correct():
    # A floor seen obliquely: depth varies from ~1 m to ~9 m across the image, so
    # interpolating z instead of 1/z would be off by far more than 1e-4 m.
    c2w = look_at([0.0, 0.0, 1.5], [0.0, 2.0, 0.0])
    verts, faces = quad([0.0, 5.0, 0.0], [20.0, 0.0, 0.0], [0.0, 5.0, 0.0])
    out = render_mesh(verts, faces, K, c2w, W, H)
    z, hit_pts = plane_depth(c2w, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    inside = (z > 0) & (np.abs(hit_pts[..., 0]) < 20.0) & (hit_pts[..., 1] > 0.0) & (hit_pts[..., 1] < 10.0)
    assert inside.sum() > 0.5 * W * H
    depth = out["depth"].double().numpy()
    np.testing.assert_array_equal(depth > 0, inside)
    np.testing.assert_allclose(depth[inside], z[inside], atol=1e-4, rtol=0)
    assert depth[inside].max() - depth[inside].min() > 3.0


def test_unit_cube_matches_analytic_ray_box_intersection():
    c2w = look_at([2.3, -1.7, 1.9], [0.45, 0.55, 0.4])
    verts, faces = unit_cube()
    out = render_mesh(verts, faces, K, c2w, W, H)
    origin, dirs = pixel_rays(c2w)
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = (0.0 - origin) / dirs
        t1 = (1.0 - origin) / dirs
    t_near = np.minimum(t0, t1).max(-1)
    t_far = np.maximum(t0, t1).min(-1)
    hit = (t_near <= t_far) & (t_near > 0)
    assert 0.1 * W * H < hit.sum() < W * H
    depth = out["depth"].double().numpy()
    np.testing.assert_array_equal(depth > 0, hit)
    np.testing.assert_allclose(depth[hit], t_near[hit], atol=1e-4, rtol=0)  # camera z, dirs z = 1
    # The face normal is the slab axis that was entered last, pointing at the camera.
    axis = np.minimum(t0, t1).argmax(-1)
    expected = np.zeros((H, W, 3))
    np.put_along_axis(expected, axis[..., None], -np.sign(np.take_along_axis(dirs, axis[..., None], -1)), -1)
    normal = out["normal"].double().numpy()
    np.testing.assert_allclose(normal[hit], expected[hit], atol=1e-6)
    assert (normal[~hit] == 0).all()


@pytest.mark.parametrize("near_first", [True, False])
def test_occlusion_nearer_object_wins(near_first):
    c2w = torch.eye(4, dtype=torch.float64)
    near_v, near_f = quad([-0.3, 0.0, 2.0], [0.5, 0.0, 0.0], [0.0, 0.4, 0.0])   # instance 1
    far_v, far_f = quad([0.3, 0.1, 3.0], [0.8, 0.0, 0.0], [0.0, 0.6, 0.0])      # instance 2
    parts = [(near_v, near_f, 1), (far_v, far_f, 2)]
    if not near_first:
        parts = parts[::-1]
    verts = torch.cat([p[0] for p in parts])
    faces = torch.cat([parts[0][1], parts[1][1] + 4])
    ids = torch.tensor([parts[0][2]] * 2 + [parts[1][2]] * 2)
    out = render_mesh(verts, faces, K, c2w, W, H, face_ids=ids)

    origin, dirs = pixel_rays(c2w)
    in_near = (np.abs(2.0 * dirs[..., 0] + 0.3) < 0.5) & (np.abs(2.0 * dirs[..., 1]) < 0.4)
    in_far = (np.abs(3.0 * dirs[..., 0] - 0.3) < 0.8) & (np.abs(3.0 * dirs[..., 1] - 0.1) < 0.6)
    assert (in_near & in_far).sum() > 50 and (in_far & ~in_near).sum() > 50
    expected_id = np.where(in_near, 1, np.where(in_far, 2, 0))
    np.testing.assert_array_equal(out["id"].numpy(), expected_id)
    expected_depth = np.where(in_near, 2.0, np.where(in_far, 3.0, 0.0))
    np.testing.assert_allclose(out["depth"].numpy(), expected_depth, atol=1e-4)
    face_is_near = np.isin(out["face"].numpy(), [0, 1] if near_first else [2, 3])
    np.testing.assert_array_equal(face_is_near, in_near)


def test_interpenetrating_planes_split_at_intersection():
    # Two planes crossing along a line: each pixel must show whichever is nearer there.
    c2w = torch.eye(4, dtype=torch.float64)
    v1, f1 = quad([0.0, 0.0, 3.0], [3.0, 0.0, 0.0], [0.0, 3.0, 0.0])            # z = 3
    v2, f2 = quad([0.0, 0.0, 3.0], [3.0, 0.0, 1.5], [0.0, 3.0, 0.0])            # z = 3 + x / 2
    out = render_mesh(torch.cat([v1, v2]), torch.cat([f1, f2 + 4]), K, c2w, W, H,
                      face_ids=torch.tensor([1, 1, 2, 2]))
    origin, dirs = pixel_rays(c2w)
    z2 = 3.0 / (1.0 - 0.5 * dirs[..., 0])
    expected = np.where(z2 < 3.0, 2, 1)
    np.testing.assert_array_equal(out["id"].numpy(), expected)
    np.testing.assert_allclose(out["depth"].numpy(), np.minimum(z2, 3.0), atol=1e-4)


def test_floor_crossing_behind_camera_is_clipped_at_near_plane():
    # Floor extends 50 m behind and 50 m in front of a camera looking slightly down:
    # its triangles have vertices behind the camera and must be clipped, not dropped.
    c2w = look_at([0.0, 0.0, 1.5], [0.0, 10.0, 0.5])
    verts, faces = quad([0.0, 0.0, 0.0], [50.0, 0.0, 0.0], [0.0, 50.0, 0.0])
    assert (camera_z(c2w, verts.numpy()) < 0).any()
    out = render_mesh(verts, faces, K, c2w, W, H, far=1000.0)
    z, pts = plane_depth(c2w, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    inside = (z > 0.01) & (np.abs(pts[..., 0]) < 50.0) & (np.abs(pts[..., 1]) < 50.0)
    assert 0.2 * W * H < inside.sum() < W * H  # part of the image sees above the floor
    depth = out["depth"].double().numpy()
    np.testing.assert_array_equal(depth > 0, inside)
    np.testing.assert_allclose(depth[inside], z[inside], atol=1e-4, rtol=0)


@pytest.mark.parametrize("near", [2.0, 3.5])
def test_near_plane_cuts_geometry_at_the_right_depth(near):
    # With a large near distance the clip line crosses the image: closer pixels are
    # empty, farther ones keep their exact depth (clipped, not dropped nor shifted).
    c2w = look_at([0.0, 0.0, 1.5], [0.0, 2.0, 0.0])
    verts, faces = grid([0.0, 3.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], 3)
    out = render_mesh(verts, faces, K, c2w, W, H, near=near)
    z, pts = plane_depth(c2w, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    inside = (z >= near) & (np.abs(pts[..., 0]) < 6.0) & (np.abs(pts[..., 1] - 3.0) < 6.0)
    assert 0.1 * W * H < inside.sum() < 0.9 * W * H
    depth = out["depth"].double().numpy()
    np.testing.assert_array_equal(depth > 0, inside)
    np.testing.assert_allclose(depth[inside], z[inside], atol=1e-4, rtol=0)


def test_far_plane_drops_distant_pixels():
    c2w = look_at([0.0, 0.0, 1.5], [0.0, 2.0, 0.0])
    verts, faces = quad([0.0, 50.0, 0.0], [50.0, 0.0, 0.0], [0.0, 50.0, 0.0])
    out = render_mesh(verts, faces, K, c2w, W, H, far=4.0)
    z, _ = plane_depth(c2w, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    depth = out["depth"].double().numpy()
    visible = (z > 0) & (z <= 4.0)
    # Pixels within float32 rounding of the far plane may go either way.
    decided = np.abs(z - 4.0) > 1e-4
    np.testing.assert_array_equal((depth > 0)[decided], visible[decided])


def test_shared_edges_leave_no_cracks():
    # A finely tessellated slanted wall covers every pixel; a finely tessellated floor
    # reaching behind the camera (so many triangles are cut by the near plane) covers
    # exactly the pixels whose rays hit it.
    c2w = look_at([0.0, 0.0, 1.0], [0.0, 5.0, 0.7])
    verts, faces = grid([0.0, 3.0, 1.0], [7.0, 0.0, 0.0], [0.0, 2.0, 7.0], 23)
    out = render_mesh(verts, faces, K, c2w, W, H)
    assert (out["face"] >= 0).all()

    verts, faces = grid([0.0, 0.0, 0.0], [9.0, 0.0, 0.0], [0.0, 9.0, 0.0], 23)
    out = render_mesh(verts, faces, K, c2w, W, H)
    z, pts = plane_depth(c2w, [0.0, 0.0, 0.0], [0.0, 0.0, 1.0])
    inside = (z > 0) & (np.abs(pts[..., 0]) < 9.0) & (np.abs(pts[..., 1]) < 9.0)
    assert 0.2 * W * H < inside.sum() < W * H
    np.testing.assert_array_equal(out["depth"].numpy() > 0, inside)


def test_pixel_centres_sit_at_half_integers():
    # A rectangle spanning image x in [10.2, 20.7], y in [5.6, 9.4] at depth 1 covers
    # exactly the pixels whose centres (i + 0.5, j + 0.5) fall inside it: columns 10..20
    # (centres 10.5..20.5), rows 6..8 (centres 6.5..8.5).
    k = torch.tensor([[100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    x0, x1, y0, y1 = 0.102, 0.207, 0.056, 0.094
    verts = torch.tensor([[x0, y0, 1.0], [x1, y0, 1.0], [x1, y1, 1.0], [x0, y1, 1.0]], dtype=torch.float64)
    out = render_mesh(verts, torch.tensor([[0, 1, 2], [0, 2, 3]]), k, torch.eye(4, dtype=torch.float64), 32, 16)
    mask = (out["face"] >= 0).numpy()
    rows, cols = np.nonzero(mask)
    assert (cols.min(), cols.max(), rows.min(), rows.max()) == (10, 20, 6, 8)
    assert mask.sum() == 11 * 3


def test_empty_scene():
    out = render_mesh(torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.long), K,
                      torch.eye(4), W, H, texture="checker")
    assert (out["depth"] == 0).all() and (out["face"] == -1).all() and (out["id"] == 0).all()
    assert (out["rgb"] == 0).all() and (out["normal"] == 0).all()
    assert out["rgb"].shape == (H, W, 3) and out["normal"].shape == (H, W, 3)


def test_triangles_behind_camera_are_invisible():
    c2w = look_at([0.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    # Large triangles entirely behind the camera, whose projections would cover the image.
    verts, faces = quad([0.0, -2.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 5.0])
    assert (camera_z(c2w, verts.numpy()) < 0).all()
    out = render_mesh(verts, faces, K, c2w, W, H)
    assert (out["face"] == -1).all() and (out["depth"] == 0).all()


def test_degenerate_triangles_are_ignored():
    c2w = look_at([0.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    verts, faces = quad([0.0, 3.0, 0.0], [0.7, 0.0, 0.0], [0.0, 0.0, 0.5])
    ref = render_mesh(verts, faces, K, c2w, W, H)
    extra = torch.tensor([
        [0.0, 2.0, 0.0], [0.0, 2.0, 0.0], [0.0, 2.0, 0.0],        # a point
        [-1.0, 2.0, 0.0], [0.0, 2.0, 0.0], [1.0, 2.0, 0.0],       # collinear, across the view
        [-1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [0.0, 4.0, 0.0],       # edge-on: plane through the camera
    ], dtype=torch.float64)
    all_verts = torch.cat([extra, verts])
    all_faces = torch.cat([torch.arange(9).view(3, 3), faces + 9])
    out = render_mesh(all_verts, all_faces, K, c2w, W, H)
    np.testing.assert_array_equal(out["face"].numpy(), np.where(ref["face"].numpy() >= 0,
                                                                 ref["face"].numpy() + 3, -1))
    assert torch.equal(out["depth"], ref["depth"])
    assert torch.isfinite(out["rgb"]).all() and torch.isfinite(out["normal"]).all()


def test_lambert_headlight_shading():
    c2w = torch.eye(4, dtype=torch.float64)
    verts, faces = quad([0.0, 0.0, 2.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0])
    color = torch.tensor([[0.8, 0.4, 0.2]] * 2)
    out = render_mesh(verts, faces, K, c2w, W, H, face_colors=color, shading=True)
    flat = render_mesh(verts, faces, K, c2w, W, H, face_colors=color, shading=False)
    _, dirs = pixel_rays(c2w)
    cos = 1.0 / np.linalg.norm(dirs, axis=-1)   # plane normal is the optical axis
    expected = color[0].numpy() * (0.3 + 0.7 * cos)[..., None]
    np.testing.assert_allclose(out["rgb"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(flat["rgb"].numpy(), np.broadcast_to(color[0].numpy(), (H, W, 3)), atol=1e-6)


@pytest.mark.parametrize("pattern", ["checker", "stripes"])
def test_procedural_texture_follows_world_coordinates(pattern):
    c2w = torch.eye(4, dtype=torch.float64)
    verts, faces = quad([0.0, 0.0, 2.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0])  # normal along z
    color = torch.tensor([[0.5, 0.6, 0.7]] * 2)
    config = TextureConfig(scale=0.25, contrast=0.5)
    out = render_mesh(verts, faces, K, c2w, W, H, face_colors=color, shading=False,
                      texture=pattern, texture_config=config)
    _, dirs = pixel_rays(c2w)
    x, y = 2.0 * dirs[..., 0] / 0.25, 2.0 * dirs[..., 1] / 0.25     # in-plane axes: x, y
    dark = (np.floor(x) + np.floor(y)) % 2 if pattern == "checker" else np.floor(x) % 2
    expected = color[0].numpy() * (1.0 - 0.5 * dark)[..., None]
    clear = (np.abs(x - np.round(x)) > 1e-6) & (np.abs(y - np.round(y)) > 1e-6)
    np.testing.assert_allclose(out["rgb"].numpy()[clear], expected[clear], atol=1e-6)
    assert 0.2 < dark[clear].mean() < 0.8


def test_texture_coords_at_the_world_positions_give_the_world_pattern():
    c2w = look_at([2.3, -1.7, 1.9], [0.5, 0.5, 0.5])
    verts, faces = unit_cube()
    world = render_mesh(verts, faces, K, c2w, W, H, texture="checker", texture_config=TextureConfig(scale=0.3))
    given = render_mesh(verts, faces, K, c2w, W, H, texture="checker", texture_config=TextureConfig(scale=0.3),
                        texture_coords=verts[faces])
    assert torch.equal(given["face"], world["face"])
    # the same pattern up to rounding on the checker's edges (world hit points vs interpolated corners)
    assert (given["rgb"] != world["rgb"]).any(-1).float().mean() < 0.01
    assert world["rgb"][world["face"] >= 0].std(0).max() > 0.05  # there is a pattern to compare


def test_texture_coords_carry_the_pattern_with_the_surface():
    """A surface moved and turned, with its texture coordinates, looks the same from a camera moved and turned
    with it; in world coordinates its pattern slides."""
    verts, faces = unit_cube()
    c2w = look_at([2.3, -1.7, 1.9], [0.5, 0.5, 0.5])
    a = 0.4
    move = torch.tensor([[np.cos(a), -np.sin(a), 0.0, 0.13], [np.sin(a), np.cos(a), 0.0, -0.07],
                         [0.0, 0.0, 1.0, 0.05], [0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    moved = verts @ move[:3, :3].T + move[:3, 3]
    kw = dict(texture="stripes", texture_config=TextureConfig(scale=0.2))
    before = render_mesh(verts, faces, K, c2w, W, H, texture_coords=verts[faces], **kw)
    after = render_mesh(moved, faces, K, move @ c2w, W, H, texture_coords=verts[faces], **kw)
    slid = render_mesh(moved, faces, K, move @ c2w, W, H, **kw)
    assert torch.equal(after["face"], before["face"])
    cube = before["face"] >= 0
    assert (after["rgb"] != before["rgb"]).any(-1)[cube].float().mean() < 0.01
    assert (slid["rgb"] != before["rgb"]).any(-1)[cube].float().mean() > 0.2


def test_per_face_texture_codes():
    c2w = torch.eye(4, dtype=torch.float64)
    verts, faces = quad([0.0, 0.0, 2.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0])
    plain = render_mesh(verts, faces, K, c2w, W, H, texture=torch.tensor([0, 0]))
    untextured = render_mesh(verts, faces, K, c2w, W, H)
    assert torch.equal(plain["rgb"], untextured["rgb"])
    half = render_mesh(verts, faces, K, c2w, W, H, texture=torch.tensor([1, 0]))
    on_face0 = half["face"] == 0
    assert not torch.equal(half["rgb"][on_face0], untextured["rgb"][on_face0])
    assert torch.equal(half["rgb"][~on_face0], untextured["rgb"][~on_face0])


def test_batch_matches_single_frames():
    verts, faces = unit_cube()
    poses = torch.stack([look_at([2.3, -1.7, 1.9], [0.5, 0.5, 0.5]),
                         look_at([-1.5, 2.2, 0.8], [0.5, 0.5, 0.5])])
    ids = torch.arange(12)
    batch = render_mesh_batch(verts, faces, K, poses, W, H, face_ids=ids, texture="stripes")
    for b in range(2):
        single = render_mesh(verts, faces, K, poses[b], W, H, face_ids=ids, texture="stripes")
        for name in single:
            assert torch.equal(batch[name][b], single[name]), name
    assert batch["depth"].shape == (2, H, W)


def test_batch_per_frame_intrinsics_and_bad_poses():
    verts, faces = unit_cube()
    pose = look_at([2.3, -1.7, 1.9], [0.5, 0.5, 0.5])
    k2 = K.clone()
    k2[0, 0] = 90.0
    batch = render_mesh_batch(verts, faces, torch.stack([K, k2]), torch.stack([pose, pose]), W, H)
    assert torch.equal(batch["depth"][1], render_mesh(verts, faces, k2, pose, W, H)["depth"])
    assert not torch.equal(batch["depth"][0], batch["depth"][1])
    with pytest.raises(ValueError, match="cam_to_worlds"):
        render_mesh_batch(verts, faces, K, pose, W, H)
    with pytest.raises(ValueError, match="K"):
        render_mesh_batch(verts, faces, torch.stack([K] * 3), torch.stack([pose, pose]), W, H)


def test_face_ids_keep_their_dtype():
    verts, faces = unit_cube()
    pose = look_at([2.3, -1.7, 1.9], [0.5, 0.5, 0.5])
    ids = torch.arange(12, dtype=torch.int32) + 100
    out = render_mesh(verts, faces, K, pose, W, H, face_ids=ids)
    assert out["id"].dtype == torch.int32
    hit = out["face"] >= 0
    assert torch.equal(out["id"][hit], ids[out["face"][hit]])
    assert (out["id"][~hit] == 0).all()


def test_float32_inputs_and_skewed_intrinsics():
    # Skew and float32 inputs are accepted; depth still matches the analytic plane.
    k = K.clone()
    k[0, 1] = 3.0
    c2w = look_at([0.0, 0.0, 1.5], [0.0, 2.0, 0.0])
    verts, faces = quad([0.0, 5.0, 0.0], [20.0, 0.0, 0.0], [0.0, 5.0, 0.0])
    out = render_mesh(verts.float(), faces.int(), k.float(), c2w.float(), W, H)
    z, pts = plane_depth(c2w.float().double(), [0.0, 0.0, 0.0], [0.0, 0.0, 1.0], K=k.float().double())
    inside = (z > 0) & (np.abs(pts[..., 0]) < 20.0) & (pts[..., 1] > 0.0) & (pts[..., 1] < 10.0)
    depth = out["depth"].double().numpy()
    np.testing.assert_array_equal(depth > 0, inside)
    np.testing.assert_allclose(depth[inside], z[inside], atol=1e-4, rtol=0)


@pytest.mark.parametrize("kwargs, field", [
    (dict(vertices=torch.zeros(3, 2)), "vertices"),
    (dict(faces=torch.tensor([[0, 1, 5]])), "faces"),
    (dict(faces=torch.zeros(1, 3)), "faces"),
    (dict(K=torch.eye(4)), "K"),
    (dict(K=torch.tensor([[1.0, 0, 0], [0, 1, 0], [0, 1, 1]])), "K"),
    (dict(cam_to_world=torch.eye(3)), "cam_to_world"),
    (dict(width=0), "width"),
    (dict(near=0.0), "near"),
    (dict(face_colors=torch.zeros(2, 3)), "face_colors"),
    (dict(face_ids=torch.zeros(3)), "face_ids"),
    (dict(texture="marble"), "texture"),
    (dict(texture=torch.tensor([7])), "texture"),
    (dict(texture="checker", texture_coords=torch.zeros(1, 3)), "texture_coords"),
    (dict(texture="checker", texture_coords=torch.full((1, 3, 3), float("nan"))), "texture_coords"),
])
def test_bad_input_names_the_parameter(kwargs, field):
    args = dict(vertices=torch.zeros(3, 3), faces=torch.tensor([[0, 1, 2]]), K=K,
                cam_to_world=torch.eye(4), width=W, height=H)
    args.update(kwargs)
    with pytest.raises(ValueError, match=field):
        render_mesh(**args)
