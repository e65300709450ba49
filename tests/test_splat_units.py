"""Fast unit tests of procsplat.splat.model, procsplat.splat.init and procsplat.train.image_metrics.

Everything runs on the CPU in a few seconds: small library programs (the table), tiny hand-made
RGB-D frames (numpy depth of planes, cameras from `look_at`), fixed seeds.
"""
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from geonodes import load_program
from procsplat.fit.spec import ObjectSpec
from procsplat.geometry import backproject, look_at, object_to_world
from procsplat.splat.init import (
    InitConfig,
    background_from_frames,
    init_colors,
    initialise_model,
    near_surface_masks,
    seen_shares,
    seen_in_frames,
    surface_samples,
)
from procsplat.splat.model import (
    SH_C0,
    AnchoredGaussians,
    BackgroundGaussians,
    GaussianSet,
    ProceduralObject,
    SceneModel,
    matrix_to_quat,
    rgb_to_sh0,
)
from procsplat.train.image_metrics import photometric_loss, psnr, ssim

RED = np.array([1.0, 0.0, 0.0])
BLUE = np.array([0.0, 0.0, 1.0])


# -- helpers -------------------------------------------------------------------------------------

def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(N,4) wxyz -> (N,3,3), the textbook formula (independent of the library)."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def axis_angle_quat(axis, angle) -> torch.Tensor:
    a = torch.as_tensor(axis, dtype=torch.float64)
    a = a / a.norm()
    return torch.cat([torch.tensor([math.cos(angle / 2)], dtype=torch.float64), math.sin(angle / 2) * a])


def pinhole(width, height, f):
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def ray_dirs(K, c2w, width, height):
    """World directions (H,W,3) of the pixel-centre rays, scaled so camera z = 1."""
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    cam = np.stack([(cols - K[0, 2]) / K[0, 0], (rows - K[1, 2]) / K[1, 1], np.ones_like(cols)], -1)
    return cam @ c2w[:3, :3].T


def plane_depth(K, c2w, width, height, axis, value):
    """Camera-z depth (H,W) of the plane world[axis] == value (0 where the ray misses it)."""
    d = ray_dirs(K, c2w, width, height)[..., axis]
    with np.errstate(divide="ignore"):
        t = (value - c2w[axis, 3]) / d
    return np.where(t > 0, t, 0.0)


def wall_frame(width=16, height=12, f=20.0, eye=(0.0, -3.0, 1.0), wall_y=0.0, color=BLUE):
    """A camera looking along +y at the flat wall y = wall_y (constant depth)."""
    K = pinhole(width, height, f)
    c2w = look_at(eye, (eye[0], wall_y, eye[2]))
    depth = plane_depth(K, c2w, width, height, 1, wall_y)
    rgb = np.broadcast_to(np.asarray(color, np.float64), (height, width, 3)).copy()
    return rgb, depth, K, c2w


def table(yaw=0.0, translation=(0.0, 0.0, 0.0), scale=1.0, **params):
    return ProceduralObject(load_program("table"), params, yaw, list(translation), scale, 7, "table")


def triangle_corners(anchored: AnchoredGaussians):
    v, t, _ = anchored.obj.mesh()
    tri = t[anchored.face]
    return v[tri[:, 0]], v[tri[:, 1]], v[tri[:, 2]]


def unit_normals(a, b, c):
    n = torch.linalg.cross(b - a, c - a)
    return n / n.norm(dim=1, keepdim=True)


def sh0_rgb(sh0: torch.Tensor) -> torch.Tensor:
    return sh0[:, 0, :] * SH_C0 + 0.5


# -- rgb_to_sh0 / matrix_to_quat -------------------------------------------------------------------

def test_rgb_to_sh0_values_and_inverse():
    rgb = torch.tensor([[0.5, 0.5, 0.5], [1.0, 0.0, 0.25]], dtype=torch.float64)
    sh = rgb_to_sh0(rgb)
    assert torch.allclose(sh[0], torch.zeros(3, dtype=torch.float64))
    assert sh[1, 0].item() == pytest.approx(0.5 / 0.28209479177387814)
    assert sh[1, 1].item() == pytest.approx(-0.5 / 0.28209479177387814)
    assert torch.allclose(sh * SH_C0 + 0.5, rgb)


def test_matrix_to_quat_round_trip_random_rotations():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(200, 4, generator=g, dtype=torch.float64)
    q = q / q.norm(dim=1, keepdim=True)
    q = q * torch.sign(q[:, :1])  # canonical: w >= 0 (the library's output convention)
    out = matrix_to_quat(quat_to_matrix(q))
    assert torch.allclose(out.norm(dim=1), torch.ones(200, dtype=torch.float64))
    assert (out - q).abs().max().item() < 1e-5
    assert (quat_to_matrix(out) - quat_to_matrix(q)).abs().max().item() < 1e-5


@pytest.mark.parametrize("axis", [(1.0, -1.0, 0.0), (0.3, 0.5, -0.8), (-1.0, 2.0, 0.5), (0.0, 0.0, 1.0)])
@pytest.mark.parametrize("angle", [math.pi - 1e-2, math.pi - 1e-4, math.pi - 1e-6])
def test_matrix_to_quat_near_half_turn(axis, angle):
    q = axis_angle_quat(axis, angle)[None]
    m = quat_to_matrix(q)
    out = matrix_to_quat(m)
    assert out[0, 0].item() >= 0
    assert (out - q).abs().max().item() < 1e-5
    assert (quat_to_matrix(out) - m).abs().max().item() < 1e-5


# Half turns (the frames of downward-facing anchored Gaussians) used to lose the signs of x, y, z.
def test_matrix_to_quat_exact_half_turn_about_mixed_sign_axis():
    n = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64) / math.sqrt(2)
    m = (2 * torch.outer(n, n) - torch.eye(3, dtype=torch.float64))[None]  # exactly symmetric
    assert torch.allclose(torch.linalg.det(m), torch.ones(1, dtype=torch.float64))
    out = matrix_to_quat(m)
    assert (quat_to_matrix(out) - m).abs().max().item() < 1e-5


# -- ProceduralObject ----------------------------------------------------------------------------

def test_procedural_object_parameters_and_pose_dict():
    obj = table(yaw=0.4, translation=(1.0, 2.0, 0.5), scale=1.5, Height=0.9, **{"Legs Type": 1})
    prog = obj.program
    values = obj.parameters_dict()
    assert set(values) == {p.name for p in prog.parameters}
    assert values["Height"] == pytest.approx(0.9)
    assert values["Legs Type"] == 1
    assert values["Width"] == pytest.approx(prog.parameter("Width").default)
    assert values["Has Apron"] == prog.parameter("Has Apron").default
    assert obj.float_names == [p.name for p in prog.parameters if p.kind == "float"]
    pose = obj.pose_dict()
    assert pose["yaw"] == pytest.approx(0.4)
    assert pose["translation"] == pytest.approx([1.0, 2.0, 0.5])
    assert pose["scale"] == pytest.approx(1.5)
    assert (obj.instance_id, obj.category) == (7, "table")


def test_clamped_floats_is_a_straight_through_clamp():
    obj = table(Height=5.0, Width=0.1)
    i, j = obj.float_names.index("Height"), obj.float_names.index("Width")
    hi_h, lo_w = obj.program.parameter("Height").max, obj.program.parameter("Width").min
    x = obj.clamped_floats()
    assert x[i].item() == pytest.approx(hi_h)
    assert x[j].item() == pytest.approx(lo_w)
    assert obj.floats[i].item() == pytest.approx(5.0)  # the raw value is kept
    assert obj.parameters_dict()["Height"] == pytest.approx(hi_h)
    # The evaluated shape uses the clamped value: the table top sits at the maximum height.
    assert obj.mesh()[0][:, 2].max().item() == pytest.approx(hi_h)
    (3.0 * x[i] - 2.0 * x[j]).backward()
    grad = obj.floats.grad
    assert grad[i].item() == pytest.approx(3.0)
    assert grad[j].item() == pytest.approx(-2.0)
    assert int((grad != 0).sum()) == 2


def test_set_parameters_edits_floats_and_discrete_values_only():
    obj = table(yaw=0.3, translation=(0.5, 0.0, 0.0))
    obj.set_parameters({"Height": 0.6, "Width": 2.0, "Has Apron": False})
    values = obj.parameters_dict()
    assert values["Height"] == pytest.approx(0.6)
    assert values["Width"] == pytest.approx(2.0)
    assert values["Has Apron"] is False
    assert values["Depth"] == pytest.approx(0.8)  # untouched
    assert obj.pose_dict()["yaw"] == pytest.approx(0.3)
    assert obj.pose_dict()["translation"] == pytest.approx([0.5, 0.0, 0.0])
    v = obj.mesh()[0]
    assert v[:, 2].max().item() == pytest.approx(0.6)
    local = obj.program.evaluate_one({"Height": 0.6, "Width": 2.0, "Has Apron": False}, dtype=torch.float64)
    assert torch.allclose(v, object_to_world(local.vertices, 0.3, [0.5, 0.0, 0.0]), atol=1e-12)
    # Names the program does not have are ignored.
    obj.set_parameters({"No Such Parameter": 1.0})
    assert obj.parameters_dict() == values
    # The edit is a parameter change, not a graph change: floats stay a leaf parameter.
    assert obj.floats.is_leaf and obj.floats.requires_grad


def test_world_mesh_is_scaled_rotated_translated_local_mesh():
    yaw, t, s = 0.7, [1.0, -2.0, 0.25], 1.3
    obj = table(yaw=yaw, translation=t, scale=s, Height=0.8)
    local = obj.program.evaluate_one({"Height": 0.8}, dtype=torch.float64)
    world = obj.world_mesh()
    assert world.vertices.dtype == torch.float64
    assert torch.allclose(world.vertices, object_to_world(local.vertices, yaw, t, s), atol=1e-12)
    # ... which is s R(yaw) v + t, written out by hand.
    c, sn = math.cos(yaw), math.sin(yaw)
    R = torch.tensor([[c, -sn, 0.0], [sn, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    expected = s * local.vertices @ R.T + torch.tensor(t, dtype=torch.float64)
    assert torch.allclose(world.vertices, expected, atol=1e-12)
    assert torch.equal(world.triangles, local.triangles)
    v, tri, part = obj.mesh()
    assert torch.allclose(v, world.vertices)
    assert torch.equal(tri, world.triangles) and torch.equal(part, world.part_id)
    assert v.shape[1] == 3 and tri.shape[1] == 3 and part.shape == (tri.shape[0],)
    # Differentiable in the shape parameters and the pose.
    v[:, 2].max().backward()
    assert obj.floats.grad[obj.float_names.index("Height")].item() == pytest.approx(s)
    assert obj.translation.grad.tolist() == pytest.approx([0.0, 0.0, 1.0])
    assert obj.log_scale.grad.item() == pytest.approx(s * 0.8)


# -- AnchoredGaussians ---------------------------------------------------------------------------

def test_anchored_count_honours_per_area_max_count_and_count():
    obj = table()
    with torch.no_grad():
        v, t, _ = obj.mesh()
    n_tri = len(t)
    area = float((0.5 * torch.linalg.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]).norm(dim=1)).sum())
    assert area == pytest.approx(3.3608, abs=1e-6)  # the default table's surface
    assert len(AnchoredGaussians(obj, per_area=100.0, max_count=6000).face) == int(area * 100.0)
    assert len(AnchoredGaussians(obj, per_area=1000.0, max_count=500).face) == 500  # capped
    assert len(AnchoredGaussians(obj, per_area=1.0, max_count=6000).face) == n_tri  # one per face at least
    assert len(AnchoredGaussians(obj, per_area=1.0, max_count=6000, min_per_face=2).face) == 2 * n_tri
    # An explicit count (rebuilding a saved model) wins over the budget, below the face count too.
    assert len(AnchoredGaussians(obj, per_area=1000.0, max_count=500, count=777).face) == 777
    small = AnchoredGaussians(obj, count=40)
    assert len(small.face) == 40
    assert small.bary_logits.shape == (40, 3) and small.sh0.shape == (40, 1, 3)
    assert small.shN.shape == (40, 3, 3)  # sh_degree 1
    assert AnchoredGaussians(obj, count=40, sh_degree=0).shN.shape == (40, 0, 3)


def test_anchored_every_face_covered_and_extras_follow_area():
    obj = table()
    v, t, _ = obj.mesh()
    area = 0.5 * torch.linalg.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]).norm(dim=1)
    a = AnchoredGaussians(obj, per_area=1000.0, max_count=3000, seed=1)
    counts = torch.bincount(a.face, minlength=len(t))
    assert len(counts) == len(t)
    assert int(counts.min()) >= 1
    # The extra Gaussians are drawn proportionally to area: the big faces get the most.
    extra = (counts - 1).double()
    share = extra / extra.sum()
    expected = area / area.sum()
    assert (share - expected).abs().max().item() < 0.03
    big = int(area.argmax())
    assert int(counts[big]) > 10 * int(counts[int(area.argmin())])
    # Same seed, same draw; another seed, another one.
    assert torch.equal(AnchoredGaussians(obj, per_area=1000.0, max_count=3000, seed=1).face, a.face)
    assert not torch.equal(AnchoredGaussians(obj, per_area=1000.0, max_count=3000, seed=2).face, a.face)
    # With a budget below the face count, still no face gets two.
    tight = AnchoredGaussians(obj, per_area=1.0, max_count=50)
    assert len(tight.face) == 50 and len(torch.unique(tight.face)) == 50


def test_anchored_centres_lie_inside_their_triangle():
    obj = table(yaw=0.9, translation=(0.3, -1.0, 0.2), scale=1.2, Height=0.7)
    anchored = AnchoredGaussians(obj, per_area=200.0, max_count=1000, seed=3)
    g = anchored.world()
    a, b, c = triangle_corners(anchored)
    n = unit_normals(a, b, c)
    # Solve mean - a = beta (b - a) + gamma (c - a) + delta n.
    basis = torch.stack([b - a, c - a, n], dim=2)
    coef = torch.linalg.solve(basis, (g.means - a)[..., None])[..., 0]
    beta, gamma, delta = coef.unbind(1)
    alpha = 1 - beta - gamma
    w = torch.stack([alpha, beta, gamma], 1)
    assert delta.abs().max().item() < 1e-9  # on the triangle's plane (offset 0)
    assert w.min().item() > 0  # strictly inside
    assert torch.allclose(w.sum(1), torch.ones(len(w), dtype=torch.float64))
    assert torch.allclose(w, torch.softmax(anchored.bary_logits, 1).detach(), atol=1e-9)
    # An offset moves a Gaussian along its face's unit normal.
    with torch.no_grad():
        anchored.offset.fill_(0.05)
    moved = anchored.world().means
    assert torch.allclose(moved - g.means, 0.05 * n, atol=1e-12)


def test_anchored_frames_quats_and_scales():
    obj = table(yaw=0.5, translation=(0.0, 0.0, 0.0))
    anchored = AnchoredGaussians(obj, per_area=200.0, max_count=1000, seed=0)
    g = anchored.world()
    n_g = len(anchored.face)
    assert len(g) == n_g
    assert g.means.shape == (n_g, 3) and g.quats.shape == (n_g, 4) and g.log_scales.shape == (n_g, 3)
    assert g.opacity_logits.shape == (n_g,) and g.sh0.shape == (n_g, 1, 3)
    assert torch.allclose(g.quats.norm(dim=1), torch.ones(n_g, dtype=torch.float64))
    # Thin along the normal, flat in the face's plane.
    assert torch.allclose(g.log_scales[:, 2], torch.full((n_g,), math.log(2e-3), dtype=torch.float64))
    assert (g.log_scales[:, 0] > g.log_scales[:, 2]).all()
    a, b, c = triangle_corners(anchored)
    n = unit_normals(a, b, c)
    rot = quat_to_matrix(g.quats.detach())
    # The Gaussian's local z axis is its face normal (true for every face, upside-down ones too).
    assert (rot[:, :, 2] - n).abs().max().item() < 1e-5
    # The in-plane axes: the first edge turned by `angle` about the normal.
    e1 = (b - a) / (b - a).norm(dim=1, keepdim=True)
    e2 = torch.linalg.cross(n, e1)
    ca, sa = torch.cos(anchored.angle.detach())[:, None], torch.sin(anchored.angle.detach())[:, None]
    frame = torch.stack([ca * e1 + sa * e2, -sa * e1 + ca * e2, n], dim=2)
    assert bool((n[:, 2] < -0.99).any())  # downward faces (half-turn frames) are among them
    assert (rot - frame).abs().max().item() < 1e-5


def test_anchored_gaussians_follow_a_height_edit():
    obj = table(translation=(1.0, 2.0, 0.0), yaw=0.3)
    anchored = AnchoredGaussians(obj, per_area=300.0, max_count=2000, seed=0)
    v, t, _ = obj.mesh()
    on_top = (v[t[anchored.face]][..., 2] > 0.7).all(dim=1)  # top slab (z 0.72-0.75) and nothing else
    on_floor = (v[t[anchored.face]][..., 2] < 1e-9).all(dim=1)  # feet
    assert int(on_top.sum()) > 100 and int(on_floor.sum()) > 0
    before = anchored.world().means.detach().clone()
    obj.set_parameters({"Height": 0.9})
    after = anchored.world().means.detach()
    shift = after - before
    assert torch.allclose(shift[on_top], torch.tensor([0.0, 0.0, 0.15], dtype=torch.float64).expand(
        int(on_top.sum()), 3), atol=1e-9)
    assert torch.allclose(shift[on_floor], torch.zeros(int(on_floor.sum()), 3, dtype=torch.float64), atol=1e-12)
    top_surface = on_top & (before[:, 2] > 0.75 - 1e-9)
    assert int(top_surface.sum()) > 50
    assert torch.allclose(after[top_surface, 2], torch.full((int(top_surface.sum()),), 0.9, dtype=torch.float64))
    # The surface gradient reaches the shape parameter: d(top z)/d(Height) = 1 per Gaussian.
    anchored.world().means[top_surface, 2].sum().backward()
    k = obj.float_names.index("Height")
    assert obj.floats.grad[k].item() == pytest.approx(float(top_surface.sum()))


def test_anchored_gaussians_follow_a_pose_edit():
    obj = table(yaw=0.0, translation=(0.0, 0.0, 0.0))
    anchored = AnchoredGaussians(obj, per_area=100.0, max_count=500, seed=0)
    before = anchored.world()
    with torch.no_grad():
        obj.yaw.fill_(math.pi / 2)
        obj.translation.copy_(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    after = anchored.world()
    x, y, z = before.means.detach().unbind(1)
    expected = torch.stack([-y + 1.0, x + 2.0, z + 3.0], 1)
    assert torch.allclose(after.means.detach(), expected, atol=1e-12)
    # Orientations turn with the object: the yaw's quaternion times the old one.
    r_yaw = quat_to_matrix(axis_angle_quat((0, 0, 1), math.pi / 2)[None])[0]
    rot_before, rot_after = quat_to_matrix(before.quats.detach()), quat_to_matrix(after.quats.detach())
    assert (rot_after - r_yaw @ rot_before).abs().max().item() < 1e-5


def test_anchored_prune_keeps_the_chosen_subset():
    obj = table()
    anchored = AnchoredGaussians(obj, per_area=100.0, max_count=500, seed=0)
    g = anchored.world()
    keep = torch.tensor([3, 0, 17, 200])
    fields = {n: getattr(anchored, n).detach().clone() for n in
              ("face", "bary_logits", "offset", "angle", "log_scales_plane", "log_scale_normal",
               "opacity_logits", "sh0", "shN")}
    anchored.prune(keep)
    assert len(anchored.face) == 4
    for name, value in fields.items():
        assert torch.equal(getattr(anchored, name).detach(), value[keep]), name
    assert "face" in dict(anchored.named_buffers())
    params = dict(anchored.named_parameters())
    assert params["bary_logits"].shape == (4, 3) and params["bary_logits"].requires_grad
    g2 = anchored.world()
    assert torch.allclose(g2.means, g.means[keep]) and torch.allclose(g2.quats, g.quats[keep])


def test_anchored_init_rgb_callback_sets_colours():
    obj = table()
    anchored = AnchoredGaussians(obj, count=30, init_rgb=lambda a: torch.tensor(
        [[0.1, 0.2, 0.9]], dtype=torch.float64).repeat(len(a.face), 1))
    assert torch.allclose(sh0_rgb(anchored.sh0.detach()), torch.tensor([[0.1, 0.2, 0.9]], dtype=torch.float64))
    default = AnchoredGaussians(obj, count=30)
    assert torch.allclose(default.sh0.detach(), torch.zeros(30, 1, 3, dtype=torch.float64))


# -- BackgroundGaussians / GaussianSet -----------------------------------------------------------

def test_background_gaussians_world_and_prune():
    pts = torch.arange(15, dtype=torch.float32).reshape(5, 3)
    cols = torch.tensor([[0.0, 0.5, 1.0], [2.0, -1.0, 0.5], [0.2, 0.2, 0.2], [1, 1, 1], [0, 0, 0]])
    bg = BackgroundGaussians(pts, cols, scale=0.03, sh_degree=2)
    assert bg.means.dtype == torch.float64 and torch.equal(bg.means.detach(), pts.double())
    assert torch.allclose(bg.log_scales.detach(), torch.full((5, 3), math.log(0.03), dtype=torch.float64))
    assert bg.shN.shape == (5, 8, 3)
    rgb = sh0_rgb(bg.sh0.detach())
    assert torch.allclose(rgb[1], torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64))  # clamped to [0, 1]
    assert torch.allclose(rgb[0], cols[0].double())
    with torch.no_grad():
        bg.quats.copy_(torch.tensor([[2.0, 0, 0, 0], [0, 3.0, 4.0, 0], [1, 1, 1, 1], [0, 0, 0, -5], [1, 0, 0, 0]]))
    g = bg.world()
    assert torch.allclose(g.quats.norm(dim=1), torch.ones(5, dtype=torch.float64))
    assert torch.allclose(g.quats[1], torch.tensor([0, 0.6, 0.8, 0], dtype=torch.float64))
    assert torch.allclose(g.quats[2], torch.full((4,), 0.5, dtype=torch.float64))
    assert g.means is bg.means  # gradients reach the parameters directly
    bg.prune(torch.tensor([False, True, False, True, True]))
    assert len(bg.world()) == 3
    assert torch.equal(bg.means.detach(), pts.double()[[1, 3, 4]])
    assert torch.allclose(bg.world().quats[0], torch.tensor([0, 0.6, 0.8, 0], dtype=torch.float64))
    assert all(p.shape[0] == 3 for p in bg.parameters())


def test_gaussian_set_cat_concatenates_every_field():
    def make(n, value):
        return GaussianSet(torch.full((n, 3), value), torch.full((n, 4), value), torch.full((n, 3), value),
                           torch.full((n,), value), torch.full((n, 1, 3), value), torch.full((n, 3, 3), value))

    s = GaussianSet.cat([make(2, 1.0), make(3, 2.0), make(0, 9.0)])
    assert len(s) == 5
    for name in ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN"):
        f = getattr(s, name)
        assert f.shape[0] == 5
        assert (f[:2] == 1.0).all() and (f[2:] == 2.0).all(), name


# -- SceneModel ----------------------------------------------------------------------------------

def two_object_specs():
    return [ObjectSpec(3, "table", "table", {"Height": 0.7}, 0.2, [0.0, 0.0, 0.0], 1.0),
            ObjectSpec(5, "chair", "chair", {}, 1.0, [1.5, 0.5, 0.0], 0.9)]


def test_scene_model_gaussians_ranges_and_background_last():
    bg = BackgroundGaussians(torch.tensor([[5.0, 5.0, 5.0], [6.0, 6.0, 6.0]]), torch.rand(2, 3), 0.05)
    model = SceneModel(two_object_specs(), bg, per_area=50.0, max_per_object=300, seed=0)
    g, ranges = model.gaussians()
    n0, n1 = len(model.anchored[0].face), len(model.anchored[1].face)
    assert ranges == [(0, n0), (n0, n0 + n1)]
    assert len(g) == n0 + n1 + 2
    assert torch.equal(g.means[-2:], bg.means)
    assert torch.allclose(g.means[:n0], model.anchored[0].world().means)
    assert torch.allclose(g.means[n0:n0 + n1], model.anchored[1].world().means)
    assert model.objects[1].program.name == "chair"
    # Counts (a saved model) rebuild the exact sizes; no background leaves just the objects.
    rebuilt = SceneModel(two_object_specs(), None, counts=[n0 + 5, 20])
    g2, ranges2 = rebuilt.gaussians()
    assert ranges2 == [(0, n0 + 5), (n0 + 5, n0 + 25)] and len(g2) == n0 + 25


def test_scene_model_current_specs_reflect_edits():
    model = SceneModel(two_object_specs(), None, per_area=20.0, max_per_object=100)
    specs = model.current_specs()
    assert [s.instance_id for s in specs] == [3, 5]
    assert [s.program for s in specs] == ["table", "chair"]
    assert specs[0].parameters["Height"] == pytest.approx(0.7)
    assert specs[1].translation == pytest.approx([1.5, 0.5, 0.0]) and specs[1].scale == pytest.approx(0.9)
    model.objects[0].set_parameters({"Height": 0.95})
    with torch.no_grad():
        model.objects[1].yaw.fill_(-0.5)
        model.objects[1].translation.add_(torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))
        model.objects[1].log_scale.fill_(math.log(1.1))
    specs = model.current_specs()
    assert specs[0].parameters["Height"] == pytest.approx(0.95)
    assert specs[0].yaw == pytest.approx(0.2)
    assert specs[1].yaw == pytest.approx(-0.5)
    assert specs[1].translation == pytest.approx([1.5, 1.5, 0.0])
    assert specs[1].scale == pytest.approx(1.1)
    assert model.specs[0].parameters["Height"] == pytest.approx(0.7)  # the original specs are untouched
    assert ObjectSpec.from_json(specs[1].to_json()) == specs[1]


def test_scene_model_render_on_cpu():
    model = SceneModel([ObjectSpec(0, "table", "table", {}, 0.0, [0.0, 0.0, 0.0])], None,
                       per_area=200.0, max_per_object=400, seed=0)
    width, height = 48, 32
    K = pinhole(width, height, 30.0)
    c2w = look_at((0.0, -1.0, 3.0), (0.0, 0.0, 0.75))  # a steep view of the table top
    with torch.no_grad():  # splats small enough for the expected depth to follow the surface
        model.anchored[0].log_scales_plane.fill_(math.log(0.04))
    rgb, depth, alpha = model.render(torch.from_numpy(np.linalg.inv(c2w)), torch.from_numpy(K), width, height,
                                     backend="torch", background_rgb=(0.0, 1.0, 0.0))
    assert rgb.shape == (height, width, 3) and depth.shape == (height, width) and alpha.shape == (height, width)
    assert rgb.device.type == "cpu" and torch.isfinite(rgb).all() and torch.isfinite(depth).all()
    # The centre pixel sees the table top: opaque, grey (sh0 of 0.5), at the top's depth.
    r, c = height // 2, width // 2
    top = plane_depth(K, c2w, width, height, 2, 0.75)[r, c]
    hit = c2w[:3, 3] + top * ray_dirs(K, c2w, width, height)[r, c]
    assert abs(hit[0]) < 0.3 and abs(hit[1]) < 0.2  # well inside the top
    assert alpha[r, c].item() > 0.95
    assert rgb[r, c].tolist() == pytest.approx([0.5, 0.5, 0.5], abs=0.03)
    assert depth[r, c].item() == pytest.approx(top, abs=0.05)
    # A corner sees nothing: transparent, the background colour.
    assert alpha[0, 0].item() < 0.01
    assert rgb[0, 0].tolist() == pytest.approx([0.0, 1.0, 0.0], abs=0.01)
    # Without depth: rgb only, same image.
    rgb2, depth2, _ = model.render(torch.from_numpy(np.linalg.inv(c2w)), torch.from_numpy(K), width, height,
                                   backend="torch", background_rgb=(0.0, 1.0, 0.0), with_depth=False)
    assert depth2 is None and torch.allclose(rgb2, rgb, atol=1e-5)
    # Gradients reach the object's shape parameters through the anchored Gaussians.
    rgb, depth, alpha = model.render(torch.from_numpy(np.linalg.inv(c2w)), torch.from_numpy(K), width, height,
                                     backend="torch")
    depth.sum().backward()
    assert model.objects[0].floats.grad is not None
    assert model.objects[0].floats.grad[model.objects[0].float_names.index("Height")].item() != 0


# -- procsplat.splat.init ------------------------------------------------------------------------

def test_seen_in_frames():
    frame = wall_frame()  # camera at (0,-3,1) looking along +y at the wall y = 0 (depth 3 everywhere)
    assert np.allclose(frame[1], 3.0)
    pts = np.array([
        [0.0, 0.0, 1.0],  # on the wall
        [0.2, -1.0, 1.2],  # in front of it
        [0.0, 0.04, 1.0],  # behind it, within the tolerance
        [0.0, 0.5, 1.0],  # behind it by more than the tolerance: occluded
        [0.0, -4.0, 1.0],  # behind the camera
        [10.0, 0.0, 1.0],  # outside the image (to the right)
        [0.0, 0.0, 10.0],  # outside the image (above)
    ])
    assert seen_in_frames(pts, [frame]).tolist() == [True, True, True, False, False, False, False]
    assert seen_in_frames(pts, [frame], tolerance=0.6).tolist() == [True, True, True, True, False, False, False]
    # Missing depth (0) does not count as seen.
    rgb, depth, K, c2w = frame
    assert seen_in_frames(pts[:1], [(rgb, np.zeros_like(depth), K, c2w)]).tolist() == [False]
    # Any frame seeing a point is enough; a second camera looking from the side sees the far point.
    side = wall_frame(eye=(10.0, -3.0, 1.0))
    assert seen_in_frames(pts, [frame, side]).tolist() == [True, True, True, False, False, True, False]
    assert seen_in_frames(np.zeros((0, 3)), [frame]).shape == (0,)
    # At the image border: the last column's centre (u = 15.5) is in, half a pixel past the edge
    # (u = 16.5) is out; likewise the last row (v = 11.5) and below it (v = 12.5).
    edge = np.array([[1.125, 0.0, 1.0], [1.275, 0.0, 1.0], [0.0, 0.0, 1.0 - 0.825], [0.0, 0.0, 1.0 - 0.975]])
    assert seen_in_frames(edge, [frame]).tolist() == [True, False, True, False]


def test_seen_in_frames_uses_the_pixel_the_point_projects_to():
    rgb, depth, K, c2w = wall_frame(width=16, height=12, f=20.0)
    depth = depth.copy()
    depth[:, 8:] = 1.0  # the right half of the image sees something 1 m from the camera
    # Back-project one pixel of each half to 3 m: only the left one is not occluded.
    left = backproject(np.where(np.arange(16)[None] == 3, 3.0, 0.0) * np.ones((12, 1)), K, c2w)[5]
    right = backproject(np.where(np.arange(16)[None] == 12, 3.0, 0.0) * np.ones((12, 1)), K, c2w)[5]
    assert seen_in_frames(np.stack([left, right]), [(rgb, depth, K, c2w)]).tolist() == [True, False]


def test_near_surface_masks():
    frame = wall_frame(width=16, height=12, f=20.0)  # pixels 0.15 m apart on the wall
    rgb, depth, K, c2w = frame
    world = backproject(depth, K, c2w).reshape(12, 16, 3)
    surface = np.array([world[4, 7], world[9, 2] + [0.0, -0.05, 0.0]])
    (mask,) = near_surface_masks([frame], [surface], radius=0.1)
    expected = np.zeros((12, 16), bool)
    expected[4, 7] = expected[9, 2] = True
    assert np.array_equal(mask, expected)
    # A bigger radius takes in the 4 neighbours (0.15 m away) but not the diagonals (0.21 m).
    (mask,) = near_surface_masks([frame], [surface[:1]], radius=0.2)
    assert mask.sum() == 5 and mask[3, 7] and mask[5, 7] and mask[4, 6] and mask[4, 8] and not mask[3, 6]
    # Several surfaces and frames; empty depth pixels are never masked.
    depth2 = depth.copy()
    depth2[4, 7] = 0.0
    masks = near_surface_masks([frame, (rgb, depth2, K, c2w)], [surface[:1], np.zeros((0, 3))], radius=0.1)
    assert len(masks) == 2 and masks[0][4, 7] and masks[0].sum() == 1 and masks[1].sum() == 0
    assert near_surface_masks([frame], [], radius=0.1) is None
    assert near_surface_masks([frame], [np.zeros((0, 3))], radius=0.1) is None


def test_background_from_frames_voxelises_and_averages():
    # A wall at y = 0.5 seen from (5, -3, 5): every point has positive coordinates (one voxel of 100 m).
    rgb, depth, K, c2w = wall_frame(width=16, height=12, f=20.0, eye=(5.0, -3.0, 5.0), wall_y=0.5)
    rgb[:, :8] = RED  # left half red, right half blue
    frame = (rgb, depth, K, c2w)
    # One huge voxel: one Gaussian, at the mean of the sampled points, with their mean colour.
    bg = background_from_frames([frame], None, voxel=100.0, sh_degree=0)
    world = backproject(depth, K, c2w, step=2)  # every other row and column
    assert len(world) == 6 * 8
    assert bg.means.shape == (1, 3)
    assert np.allclose(bg.means.detach().numpy()[0], world.mean(0))
    assert np.allclose(sh0_rgb(bg.sh0.detach()).numpy()[0], [0.5, 0.0, 0.5])
    assert torch.allclose(bg.log_scales.detach(), torch.full((1, 3), math.log(60.0), dtype=torch.float64))
    assert bg.shN.shape == (1, 0, 3)
    # Tiny voxels: one Gaussian per sampled pixel, at its point, with its colour.
    bg = background_from_frames([frame], None, voxel=1e-3)
    got = bg.means.detach().numpy()
    assert len(got) == 48
    assert np.allclose(np.sort(got, axis=0), np.sort(world, axis=0), atol=1e-9)
    colours = sh0_rgb(bg.sh0.detach()).numpy()
    assert np.allclose(colours[got[:, 0] < 5], RED) and np.allclose(colours[got[:, 0] > 5], BLUE)
    assert (got[:, 0] < 5).sum() == 24
    # The samples are 0.3 m apart; 0.6 m voxels hold up to 2x2 of them: each Gaussian at their mean
    # position with their mean colour (random colours here).
    rgb = np.random.default_rng(0).random((12, 16, 3))
    bg = background_from_frames([(rgb, depth, K, c2w)], None, voxel=0.6)
    world, rows, cols = backproject(depth, K, c2w, step=2, return_pixels=True)
    key = np.floor(world / 0.6).astype(int)
    assert len(bg.means) == len({tuple(k) for k in key})
    sizes = []
    for mean, colour in zip(bg.means.detach().numpy(), sh0_rgb(bg.sh0.detach()).numpy()):
        members = (key == np.floor(mean / 0.6).astype(int)).all(1)
        sizes.append(int(members.sum()))
        assert np.allclose(mean, world[members].mean(0))
        assert np.allclose(colour, rgb[rows[members], cols[members]].mean(0))
    assert sum(sizes) == 48 and max(sizes) == 4 and min(sizes) < 4


def test_background_from_frames_mask_and_cap():
    rgb, depth, K, c2w = wall_frame(width=16, height=12, f=20.0)
    rgb[:, :8] = RED
    object_mask = np.zeros((12, 16), bool)
    object_mask[:, :8] = True  # the red half belongs to a fitted object
    frame = (rgb, depth, K, c2w)
    bg = background_from_frames([frame], [object_mask], voxel=1e-3)
    assert len(bg.means) == 24
    assert (bg.means.detach()[:, 0] > 0).all()
    assert np.allclose(sh0_rgb(bg.sh0.detach()).numpy(), BLUE)
    # A None mask keeps the whole frame; frames add up.
    assert len(background_from_frames([frame, frame], [object_mask, None], voxel=1e-3).means) == 48
    # The cap: a subset of the uncapped voxels, fixed by the seed.
    full = background_from_frames([frame], None, voxel=1e-3).means.detach().numpy()
    capped = background_from_frames([frame], None, voxel=1e-3, max_points=5, seed=1).means.detach().numpy()
    assert capped.shape == (5, 3)
    assert all(np.abs(full - p).max(1).min() < 1e-12 for p in capped)
    again = background_from_frames([frame], None, voxel=1e-3, max_points=5, seed=1).means.detach().numpy()
    assert np.array_equal(capped, again)
    # No valid depth: an empty background.
    empty = background_from_frames([(rgb, np.zeros_like(depth), K, c2w)], None)
    assert empty.means.shape == (0, 3)


def test_init_colors_take_the_nearest_observed_point():
    # A red wall at x = +1 (seen from x = +3) and a blue wall at x = -1 (seen from x = -3); the
    # table in between at the origin: its Gaussians on the +x side turn red, on the -x side blue.
    width, height, f = 32, 24, 20.0
    K = pinhole(width, height, f)
    frames = []
    for sign, colour in ((1.0, RED), (-1.0, BLUE)):
        c2w = look_at((3.0 * sign, 0.0, 0.4), (0.0, 0.0, 0.4))
        depth = plane_depth(K, c2w, width, height, 0, 1.0 * sign)
        assert np.allclose(depth, 2.0)
        frames.append((np.broadcast_to(colour, (height, width, 3)).copy(), depth, K, c2w))
    model = SceneModel([ObjectSpec(0, "table", "table", {}, 0.0, [0.0, 0.0, 0.0])], None,
                       per_area=100.0, max_per_object=400)
    init_colors(model, frames)
    means = model.anchored[0].world().means.detach()
    colours = sh0_rgb(model.anchored[0].sh0.detach())
    right, left = means[:, 0] > 0.25, means[:, 0] < -0.25
    assert int(right.sum()) > 20 and int(left.sum()) > 20
    assert torch.allclose(colours[right], torch.tensor(RED).expand(int(right.sum()), 3))
    assert torch.allclose(colours[left], torch.tensor(BLUE).expand(int(left.sum()), 3))
    # With a different colour at every pixel: exactly the nearest sampled (every other) pixel's colour.
    rng = np.random.default_rng(0)
    frames = [(rng.random((height, width, 3)), d, k, c) for _, d, k, c in frames]
    init_colors(model, frames)
    pts, cols = [], []
    for rgb, depth, k, c in frames:
        world, rows, cs = backproject(depth, k, c, step=2, return_pixels=True)
        pts.append(world)
        cols.append(rgb[rows, cs])
    nearest = torch.cdist(means, torch.from_numpy(np.concatenate(pts))).argmin(1)
    expected = torch.from_numpy(np.concatenate(cols))[nearest]
    assert torch.allclose(sh0_rgb(model.anchored[0].sh0.detach()), expected)
    assert len(torch.unique(expected, dim=0)) > 20
    # Frames with no valid depth leave the colours alone.
    before = model.anchored[0].sh0.detach().clone()
    init_colors(model, [(f[0], np.zeros_like(f[1]), f[2], f[3]) for f in frames])
    assert torch.equal(model.anchored[0].sh0.detach(), before)


def table_scene_frame(width=64, height=48, f=40.0):
    """A camera above and in front of a default table (top slab 0.06 thick) on the floor: numpy depth
    of the table top's upper face (red) and of the floor z = 0 elsewhere (blue); legs are ignored."""
    K = pinhole(width, height, f)
    c2w = look_at((0.0, -2.0, 2.5), (0.0, 0.0, 0.4))
    dirs = ray_dirs(K, c2w, width, height)
    top = plane_depth(K, c2w, width, height, 2, 0.75)
    hit = c2w[:3, 3] + top[..., None] * dirs
    on_top = (top > 0) & (np.abs(hit[..., 0]) <= 0.6) & (np.abs(hit[..., 1]) <= 0.4)
    depth = np.where(on_top, top, plane_depth(K, c2w, width, height, 2, 0.0))
    rgb = np.where(on_top[..., None], RED, BLUE)
    return (rgb, depth, K, c2w), on_top


def test_initialise_model_on_a_synthetic_table():
    frame, on_top = table_scene_frame()
    assert 100 < on_top.sum() < on_top.size - 300 and (frame[1] > 0).all()
    spec = ObjectSpec(0, "table", "table", {"Top Thickness": 0.06}, 0.0, [0.0, 0.0, 0.0])
    cfg = InitConfig(sh_degree=1, gaussians_per_m2=1500.0, max_gaussians_per_object=3000, max_background=100,
                     background_voxel=0.1)
    full = SceneModel([spec], None, per_area=cfg.gaussians_per_m2, max_per_object=cfg.max_gaussians_per_object)
    n_full = len(full.anchored[0].face)
    model = initialise_model([spec], [frame], cfg, seed=0)
    anchored = model.anchored[0]
    n_kept = len(anchored.face)
    means = anchored.world().means.detach()
    # Unseen Gaussians are pruned: the kept ones are all seen, the top's underside (z 0.69, hidden
    # by the top) is gone, the top's upper face is all kept.
    assert 0 < n_kept < n_full
    assert seen_in_frames(means.numpy(), [frame]).all()
    full_means = full.anchored[0].world().means.detach()
    under = (full_means[:, 2] - 0.69).abs() < 1e-9
    under &= (full_means[:, 0].abs() < 0.45) & (full_means[:, 1].abs() < 0.25)
    top_face = (full_means[:, 2] - 0.75).abs() < 1e-9
    assert int(under.sum()) > 50 and int(top_face.sum()) > 50
    hidden = ((means[:, 2] - 0.69).abs() < 1e-9) & (means[:, 0].abs() < 0.45) & (means[:, 1].abs() < 0.25)
    assert int(hidden.sum()) == 0
    assert int(((means[:, 2] - 0.75).abs() < 1e-9).sum()) == int(top_face.sum())
    # Anchored colours: the top's upper face is red.
    colours = sh0_rgb(anchored.sh0.detach())
    upper = (means[:, 2] - 0.75).abs() < 1e-9
    assert torch.allclose(colours[upper], torch.tensor(RED).expand(int(upper.sum()), 3))
    # The background seeds from the floor (blue); the table's pixels are explained by its fitted surface
    # (dense samples of the mesh, not the anchored Gaussians' centres, which leave gaps between them).
    bg = model.background
    bg_means, bg_rgb = bg.means.detach(), sh0_rgb(bg.sh0.detach())
    on_floor = bg_means[:, 2].abs() < 1e-9
    on_table = (bg_means[:, 2] - 0.75).abs() < 1e-9
    assert bool((on_floor | on_table).all())
    assert torch.allclose(bg_rgb[on_floor], torch.tensor(BLUE).expand(int(on_floor.sum()), 3))
    unmasked = background_from_frames([frame], None, voxel=0.1, max_points=10 ** 9).means.detach()
    top_voxels = int(((unmasked[:, 2] - 0.75).abs() < 1e-9).sum())
    assert top_voxels > 30
    assert int(on_table.sum()) == 0
    assert torch.allclose(bg.log_scales.detach(), torch.full_like(bg.log_scales.detach(), math.log(0.06)))
    surface = surface_samples(*model.objects[0].mesh()[:2], spacing=0.025)
    assert len(surface) > 1000 and np.abs(surface).max() < 1.0
    masks = near_surface_masks([frame], [surface], radius=0.06)
    n_voxels = len(background_from_frames([frame], masks, voxel=0.1, max_points=10 ** 9).means)
    assert len(bg.means) == min(n_voxels, cfg.max_background + (n_full - n_kept))
    assert len(bg.means) > cfg.max_background  # the spare budget was used
    # Resuming prunes the background to its saved size.
    resumed = initialise_model([spec], [frame], cfg, seed=0, background_size=17)
    assert len(resumed.background.means) == 17
    assert len(resumed.anchored[0].face) == n_kept
    g, ranges = model.gaussians()
    assert ranges == [(0, n_kept)] and len(g) == n_kept + len(bg.means)


def test_initialise_model_keeps_an_object_no_frame_sees():
    frame = wall_frame(width=16, height=12, f=20.0)  # looks at y = 0 from y = -3; the table is behind
    spec = ObjectSpec(0, "table", "table", {}, 0.0, [0.0, 5.0, 0.0])
    cfg = InitConfig(gaussians_per_m2=50.0, max_gaussians_per_object=300, max_background=10, background_voxel=0.5)
    model = initialise_model([spec], [frame], cfg)
    assert not seen_in_frames(model.anchored[0].world().means.detach().numpy(), [frame]).any()
    full = SceneModel([spec], None, per_area=50.0, max_per_object=300)
    assert len(model.anchored[0].face) == len(full.anchored[0].face)  # nothing pruned (and no spare)
    assert len(model.background.means) == 10  # the wall has more voxels than that



def test_seen_shares():
    # 300 + 100 seen: 200 each, whatever the areas
    assert seen_shares([4.0, 2.0], [300, 100], [300, 600], 1000.0) == [200, 200]
    # at most per_area per seen m^2 (the second shows 2 x 100 / 600 m^2); nothing seen, none
    assert seen_shares([4.0, 2.0, 1.0], [300, 100, 0], [300, 600, 50], 300.0) == [200, 100, 0]
    assert seen_shares([1.0], [0], [10], 100.0) == [0]


def test_initialise_model_shares_the_seen_anchored_gaussians_equally():
    # Two tables on the floor, the second half out of view of the camera above them; the per-object
    # cap binds for both, so without sharing the second keeps only the half of its draw it shows.
    K = pinhole(64, 48, 48.0)
    c2w = look_at((0.0, -3.0, 5.0), (0.0, 0.0, 0.0))
    depth = plane_depth(K, c2w, 64, 48, 2, -0.1)  # a floor a little lower: the legs' feet are seen too
    frame = (np.broadcast_to(BLUE, (48, 64, 3)).copy(), depth, K, c2w)
    specs = [ObjectSpec(0, "table", "table", {}, 0.0, [-1.0, 0.0, 0.0]),
             ObjectSpec(1, "table", "table", {}, 0.0, [3.45, 0.0, 0.0])]
    cfg = InitConfig(gaussians_per_m2=2000.0, max_gaussians_per_object=300, max_background=40, background_voxel=0.2)
    apart = initialise_model(specs, [frame], replace(cfg, share_seen=False))
    whole, half = (len(a.face) for a in apart.anchored)
    assert whole == 300 and 100 < half < 200
    shared = initialise_model(specs, [frame], cfg)
    counts = [len(a.face) for a in shared.anchored]
    assert abs(sum(counts) - whole - half) <= 0.05 * (whole + half)
    assert abs(counts[0] - counts[1]) <= 0.1 * sum(counts) / 2
    for a in shared.anchored:  # every one seen, the half-seen table's drawn denser: smaller
        assert seen_in_frames(a.world().means.detach().numpy(), [frame]).all()
    scale = [float(torch.exp(a.anchored[1].log_scales_plane.detach()).median()) for a in (shared, apart)]
    assert scale[0] < 0.9 * scale[1]
    # the total budget is unchanged: the background gets the same spare
    assert abs(len(shared.background.means) - len(apart.background.means)) <= 0.05 * (whole + half)

# -- procsplat.train.image_metrics ---------------------------------------------------------------

def random_image(seed, h=24, w=32):
    return torch.rand(h, w, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_psnr_known_values():
    a = torch.zeros(8, 8, 3)
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)  # 10 log10(1 / 0.01)
    assert psnr(a + 0.5, a + 0.5 - 0.01) == pytest.approx(40.0, abs=1e-3)
    img = random_image(0)
    noisy = img + 0.05 * torch.randn(img.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    mse = float(((img - noisy) ** 2).mean())
    assert psnr(img, noisy) == pytest.approx(10 * math.log10(1 / mse))
    assert psnr(img, img) == float("inf")


def test_ssim_properties():
    a = random_image(0)
    noise = torch.randn(a.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert ssim(a, a).item() == pytest.approx(1.0, abs=1e-9)
    s_small, s_big = ssim(a, a + 0.02 * noise).item(), ssim(a, a + 0.2 * noise).item()
    assert s_big < s_small < 1 - 1e-4
    assert s_big < 0.9
    assert ssim(a, a + 0.2 * noise).item() == pytest.approx(ssim(a + 0.2 * noise, a).item(), abs=1e-12)
    inverted = ssim(a, 1 - a).item()
    assert -1.0 <= inverted < 0.0  # anti-correlated structure
    unrelated = ssim(a, random_image(5)).item()
    assert -1.0 <= unrelated <= 1.0 and abs(unrelated) < 0.2
    # Float32 works too, same value.
    assert ssim(a.float(), (a + 0.02 * noise).float()).item() == pytest.approx(s_small, abs=1e-4)


def test_photometric_loss_formula_and_gradients():
    a = random_image(0)
    b = random_image(1)
    assert photometric_loss(a, a).item() == pytest.approx(0.0, abs=1e-9)
    l1 = (a - b).abs().mean()
    expected = 0.8 * l1 + 0.2 * (1 - ssim(a, b))
    assert photometric_loss(a, b).item() == pytest.approx(expected.item(), rel=1e-12)
    assert photometric_loss(a, a + 0.1, ssim_weight=0.0).item() == pytest.approx(0.1)
    assert photometric_loss(a, b, ssim_weight=1.0).item() == pytest.approx(1 - ssim(a, b).item())
    render = b.clone().requires_grad_(True)
    loss = photometric_loss(render, a)
    loss.backward()
    grad = render.grad
    assert grad.shape == a.shape and torch.isfinite(grad).all() and grad.abs().sum().item() > 0
    with torch.no_grad():
        stepped = render - 0.5 * grad / grad.abs().max()
    assert photometric_loss(stepped, a).item() < loss.item()


def test_band_without_any_reached_pixel_renders_empty_with_zero_gradients():
    """A band whose Gaussians' boxes overlap it while none reaches a pixel centre (a tiny splat
    between four centres) composites nothing: no IndexError, a transparent image, zero gradients
    (the demo's turntable crashed on such a band)."""
    from procsplat.splat.rasterize import composite_camera

    means2d = torch.tensor([[10.0, 10.0]], requires_grad=True)
    sigma2 = 0.01  # 0.1 px: its box is pixels 9..10 in x and y, its alpha >= 1/255 disc has radius ~0.33
    conics = torch.tensor([[1 / sigma2, 0.0, 1 / sigma2]], requires_grad=True)
    opacities = torch.tensor([0.5], requires_grad=True)
    feats = torch.tensor([[1.0, 0.5, 0.25]], requires_grad=True)
    img, alpha, pairs = composite_camera(
        means2d, conics, opacities, feats, depths=torch.tensor([1.0]), radii=torch.tensor([[1, 1]]),
        covars2d=torch.tensor([[sigma2, 0.0, sigma2]]), width=20, height=20, max_pairs_per_chunk=1 << 20)
    assert pairs == 0
    assert img.shape == (400, 3) and alpha.shape == (400, 1)
    assert float(img.detach().abs().sum()) == 0.0 and float(alpha.detach().sum()) == 0.0
    (img.sum() + alpha.sum()).backward()
    for t in (means2d, conics, opacities, feats):
        assert t.grad is None or float(t.grad.abs().sum()) == 0.0
