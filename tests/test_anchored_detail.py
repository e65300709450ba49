"""Edge-aware anchored Gaussians (procsplat.splat.detail): splitting by the 2D gradient within the surface
parametrisation, count held, and the texture-weighted initial draw."""
import numpy as np
import pytest
import torch

from geonodes.render import look_at
from procsplat.errors import ProcsplatError
from procsplat.fit.spec import ObjectSpec
from procsplat.splat.detail import AnchoredDetail, DetailState, split_anchored, texture_face_weights
from procsplat.splat.init import InitConfig, seen_in_frames, texture_draw
from procsplat.splat.model import ANCHORED_FIELDS, SceneModel
from procsplat.train.image_metrics import photometric_loss

W, H = 32, 24
K = torch.tensor([[30.0, 0.0, W / 2], [0.0, 30.0, H / 2], [0.0, 0.0, 1.0]], dtype=torch.float64)
EYES = ((2.0, -2.5, 1.6), (-2.2, -1.5, 1.2), (0.5, -3.0, 2.0))


def camera(eye):
    return torch.linalg.inv(torch.from_numpy(look_at(eye, (0.1, -0.2, 0.4))))


def model() -> SceneModel:
    return SceneModel([ObjectSpec(3, "table", "table", {}, 0.4, [0.1, -0.2, 0.0])], None, per_area=400.0,
                      max_per_object=300, seed=0)


def on_own_triangle(a, mesh=None):
    """Each Gaussian's zero-offset centre as its triangle's barycentric combination (recomputed from the mesh),
    and its barycentric coordinates (n,3)."""
    v, t, _ = a.obj.mesh() if mesh is None else mesh
    w = torch.softmax(a.bary_logits, 1)
    corners = v[t[a.face]]
    return (w[:, :, None] * corners).sum(1), w


def test_split_holds_the_count_keeps_children_on_their_parents_triangle_and_follows_an_edit():
    m = model()
    a = m.anchored[0]
    opt = torch.optim.Adam([{"params": [getattr(a, n)], "lr": 1e-3} for n in ANCHORED_FIELDS])
    rgb, _, _ = m.render(camera(EYES[0]), K, W, H, with_depth=False)
    photometric_loss(rgb, torch.full((H, W, 3), 0.3)).backward()
    opt.step()
    n = len(a.face)
    gen = torch.Generator().manual_seed(0)
    score = torch.rand(n, generator=gen, dtype=torch.float64)
    score[:8] = -1.0  # never a parent
    seen = torch.ones(n, dtype=torch.float64)
    seen[:5] = 0  # never seen: removed first
    with torch.no_grad():
        a.opacity_logits[5:8] = -6.0  # the most transparent: removed next
    m_split = int(0.1 * n)
    parents = torch.argsort(score, descending=True)[:m_split]
    opa = torch.sigmoid(a.opacity_logits.detach())
    key = torch.where(seen > 0, 2.0 + opa, opa)
    key[parents] = float("inf")
    dropped = torch.argsort(key)[:m_split]
    assert set(range(8)) <= set(dropped.tolist())  # the planted ones go first
    gone = set(parents.tolist()) | set(dropped.tolist())
    keep = torch.tensor([i for i in range(n) if i not in gone])
    assert len(keep) == n - 2 * m_split
    moments = opt.state[a.sh0]["exp_avg"][keep].clone()
    before = {name: getattr(a, name).detach().clone() for name in ANCHORED_FIELDS}
    face = a.face.clone()
    split, new_seen = split_anchored(a, opt, score, seen, 0.1, gen=gen)
    assert split == m_split and len(a.face) == n and len(new_seen) == n  # count held
    for name in ANCHORED_FIELDS:
        assert getattr(a, name).shape[0] == n
        assert any(p is getattr(a, name) for g in opt.param_groups for p in g["params"])
    k = len(keep)
    assert torch.equal(a.face[:k], face[keep]) and torch.equal(a.sh0.detach()[:k], before["sh0"][keep])
    assert torch.equal(opt.state[a.sh0]["exp_avg"][:k], moments)  # kept rows keep their moments
    assert not bool(opt.state[a.sh0]["exp_avg"][k:].any())  # children start with none
    twice = parents.repeat(2)
    assert torch.equal(a.face[k:], face[twice])  # children on their parent's triangle
    assert torch.allclose(a.log_scales_plane.detach()[k:], before["log_scales_plane"][twice] - np.log(1.6))
    for name in ("offset", "angle", "log_scale_normal", "opacity_logits", "sh0", "shN"):
        assert torch.equal(getattr(a, name).detach()[k:], before[name][twice])
    with torch.no_grad():
        centre, w = on_own_triangle(a)
        assert bool((w[k:] > 1e-4).all())  # inside the triangle, off its edges
        g = a.world()
        assert torch.allclose(g.means[k:], centre[k:] + a.offset[k:, None] * a.face_frames()[1][k:])
        # drawn from the parent's in-plane Gaussian: near it (all within 5 of its largest sigmas)
        old_w = torch.softmax(before["bary_logits"][twice], 1)
        v, t, _ = a.obj.mesh()
        old_centre = (old_w[:, :, None] * v[t[face[twice]]]).sum(1)
        sigma = torch.exp(before["log_scales_plane"][twice]).max(1).values
        assert bool(((centre[k:] - old_centre).norm(dim=1) <= 5 * sigma + 1e-9).all())
        assert float((centre[k:] - old_centre).norm(dim=1).max()) > 0  # and not on top of it
    # a shape edit: the children move with their triangle
    obj = a.obj
    name = obj.float_names[0]
    p = obj.program.parameter(name)
    old = obj.parameters_dict()[name]
    obj.set_parameters({name: old + 0.2 * (p.max - p.min) * (1 if p.max - old >= old - p.min else -1)})
    with torch.no_grad():
        centre2, _ = on_own_triangle(a)
        g2 = a.world()
        assert torch.allclose(g2.means[k:], centre2[k:] + a.offset[k:, None] * a.face_frames()[1][k:])
        assert float((g2.means[k:] - g.means[k:]).norm(dim=1).max()) > 1e-3
    assert split_anchored(a, opt, score[:n], new_seen, 0.0) == (0, new_seen)


def test_detail_state_accumulates_visible_gradients_and_refines_on_schedule():
    m = model()
    a = m.anchored[0]
    opt = torch.optim.Adam([{"params": [getattr(a, n)], "lr": 1e-3} for n in ANCHORED_FIELDS])
    cfg = AnchoredDetail(fraction=0.1, every=3, start=2, stop=0.5)
    state = DetailState(m, cfg, steps=10)
    for step in range(2):
        rgb, _, _, info = m.render(camera(EYES[step]), K, W, H, with_depth=False, meta=True)
        info["means2d"].retain_grad()
        photometric_loss(rgb, torch.full((H, W, 3), 0.3)).backward()
        state.accumulate(m, info, step)
        vis = (info["radii"][0] > 0).all(-1) if info["radii"].dim() == 3 else info["radii"][0] > 0
    assert float(state.count[0].max()) == 2 and bool((state.grad[0][state.count[0] == 0] == 0).all())
    assert bool((state.grad[0][state.count[0] > 0] > 0).any()) and bool(vis.any())
    assert not state.due(1, True) and not state.due(2, False) and state.due(2, True)
    n = len(a.face)
    assert state.refine(m, opt, 2) == [int(0.1 * n)] and len(a.face) == n
    assert state.next == 5 and not state.due(4, True) and not state.due(5, True)  # stop: half of 10 steps
    assert len(state.grad[0]) == n and not bool(state.grad[0].any()) and len(state.seen[0]) == n
    a.prune(torch.arange(n - 7))  # rows changed by something else (a conversion): gathering starts again
    rgb, _, _, info = m.render(camera(EYES[2]), K, W, H, with_depth=False, meta=True)
    info["means2d"].retain_grad()
    photometric_loss(rgb, torch.full((H, W, 3), 0.3)).backward()
    state.accumulate(m, info, 3)
    assert len(state.grad[0]) == n - 7 and float(state.count[0].max()) == 1
    assert state.refine(m, opt, 5) == [int(0.1 * (n - 7))]
    a.prune(torch.arange(n - 9))
    assert state.refine(m, opt, 8) == [0] and len(a.face) == n - 9  # nothing gathered on these rows: no split
    with pytest.raises(ProcsplatError, match="fraction"):
        AnchoredDetail(fraction=0.6)


def plane(n: int = 8):
    """A flat grid (z = 0.4) of 2 n^2 triangles over [-1, 1]^2."""
    xs = torch.linspace(-1, 1, n + 1, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, xs, indexing="ij")
    v = torch.stack([gx.reshape(-1), gy.reshape(-1), torch.full(((n + 1) ** 2,), 0.4, dtype=torch.float64)], 1)
    t = []
    for i in range(n):
        for j in range(n):
            a, b, c, d = i * (n + 1) + j, (i + 1) * (n + 1) + j, (i + 1) * (n + 1) + j + 1, i * (n + 1) + j + 1
            t += [[a, b, c], [a, c, d]]
    return v, torch.tensor(t)


def test_texture_weights_favour_faces_that_show_sharp_texture():
    v, t = plane()
    c2w = look_at((0.0, -0.3, 3.0), (0.0, 0.0, 0.4))
    rgb = np.full((H, W, 3), 0.5)
    rgb[:, : W // 2] = (np.arange(W // 2) % 2)[None, :, None]  # stripes on the left half of the image
    frames = [(rgb, np.full((H, W), 10.0), K.numpy(), c2w)]
    flat, seen_flat = texture_face_weights(v, t, frames, 0.0)
    sharp, seen_sharp = texture_face_weights(v, t, frames, 0.9)
    area = 0.5 * torch.linalg.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]]).norm(dim=1)
    centre = v[t].mean(1).numpy()
    w2c = np.linalg.inv(c2w)
    cam = centre @ w2c[:3, :3].T + w2c[:3, 3]
    u = K[0, 0].item() * cam[:, 0] / cam[:, 2] + K[0, 2].item()
    left, right = torch.from_numpy(u < W / 2 - 2), torch.from_numpy((u > W / 2 + 2) & (u < W))
    assert bool(left.any()) and bool(right.any())
    ratio = lambda w: float((w[left] / area[left]).mean() / (w[right] / area[right]).mean())
    assert ratio(flat) == pytest.approx(1.0, abs=0.15)  # weight 0: by seen area
    assert ratio(sharp) > 3.0
    assert 0 < seen_flat <= 1 and 0 < seen_sharp <= 1
    unseen = torch.from_numpy(u < 0) | torch.from_numpy(u > W)
    assert not bool(sharp[unseen].any())  # nothing on faces no view sees
    with pytest.raises(ProcsplatError, match="texture-weight"):
        texture_face_weights(v, t, frames, 1.5)


def test_texture_draw_keeps_the_seen_count():
    m = model()
    frames = []
    with torch.no_grad():
        for eye in EYES:
            viewmat = camera(eye)
            rgb, depth, _ = m.render(viewmat, K, W, H)
            frames.append((rgb.numpy(), depth.numpy(), K.numpy(), torch.linalg.inv(viewmat).numpy()))
    a, seen = texture_draw(m.objects[0], frames, 150, InitConfig(texture_weight=0.7), seed=0)
    assert len(seen) == len(a.face)
    assert torch.equal(seen, torch.from_numpy(seen_in_frames(a.world().means.detach().numpy(), frames)))
    assert abs(int(seen.sum()) - 150) <= 0.1 * 150


@pytest.mark.slow
def test_trainer_refines_anchored_gaussians_at_shape_cycle_starts_count_held(tmp_path):
    """--detail.fraction: the trainer accumulates the anchored Gaussians' 2D gradients and splits/prunes at
    the first shape-cycle start from each due step on (counts held); --init.texture-weight draws them."""
    from procsplat.data.config import SceneConfig
    from procsplat.data.synth import SynthConfig, generate
    from procsplat.train.config import TrainConfig
    from procsplat.train.trainer import Trainer

    scene = generate(SynthConfig(out=tmp_path / "scene", seed=11, num_frames=10, width=128, height=96, num_objects=2,
                                 categories=("table", "cabinet")), progress=False)
    cfg = TrainConfig(data=SceneConfig(scene=str(scene), width=96), out=tmp_path / "runs", fit="gt", steps=8,
                      checkpoint_every=100, init=InitConfig(max_background=2000, max_gaussians_per_object=600,
                                                            texture_weight=0.5),
                      detail=AnchoredDetail(fraction=0.1, every=3, start=2, stop=0.9))
    t = Trainer(cfg, log=lambda *a: None)
    t.prepare()
    counts = [len(a.face) for a in t.model.anchored]
    refined = []
    for _ in range(8):
        faces = [a.face.clone() for a in t.model.anchored]
        t.step()
        assert [len(a.face) for a in t.model.anchored] == counts
        if any(not torch.equal(f, a.face) for f, a in zip(faces, t.model.anchored)):
            refined.append(t.step_count - 1)
    assert refined == [2, 6]  # due at 2, then 5 -> the next cycle start 6 (shape_every 2); none from 7.2 on
