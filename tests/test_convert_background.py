"""Background Gaussians on an object's surface become anchored ones (procsplat.splat.convert)."""
import math

import numpy as np
import pytest
import torch

from procsplat.fit.spec import ObjectSpec
from procsplat.run.rundir import apply_edit
from procsplat.splat.convert import ConvertConfig, closest_on_triangles, convert_background
from procsplat.splat.densify import quat_to_rotmat
from procsplat.splat.model import ANCHORED_FIELDS, BackgroundGaussians, SceneModel, matrix_to_quat, rgb_to_sh0


def scene(points, colors, scale=0.01):
    m = SceneModel([ObjectSpec(3, "table", "table", {}, 0.4, [0.1, -0.2, 0.0])], None, per_area=400.0,
                   max_per_object=300, seed=0)
    m.background = BackgroundGaussians(torch.tensor(points, dtype=torch.float64),
                                       torch.tensor(colors, dtype=torch.float64), scale=scale)
    return m


def on_face(m, face: int, bary, lift: float = 0.0):
    """A world point at barycentric `bary` of the object's face `face`, `lift` along its normal."""
    v, t, _ = m.objects[0].mesh()
    c = v.detach()[t[face]]
    n = torch.linalg.cross(c[1] - c[0], c[2] - c[0])
    return (torch.tensor(bary, dtype=torch.float64) @ c + lift * n / n.norm()).tolist(), (n / n.norm())


def test_closest_point_inside_and_outside_a_triangle():
    tri = np.array([[[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]] * 3)
    p = np.array([[0.2, 0.3, 0.5], [2.0, -1.0, 0.1], [-1.0, -1.0, 0.0]])
    q, b = closest_on_triangles(p, tri)
    assert np.allclose(q, [[0.2, 0.3, 0], [1, 0, 0], [0, 0, 0]]) and np.allclose(b.sum(1), 1)
    assert np.allclose((b[:, :, None] * tri).sum(1), q)


def test_a_flat_background_gaussian_on_the_surface_becomes_anchored_in_place_and_follows_an_edit():
    m = scene([[5.0, 5.0, 5.0]], [[0.2, 0.6, 0.4]])  # a far one stays free
    a = m.anchored[0]
    face = int(torch.argmax(torch.bincount(a.face)))
    p, normal = on_face(m, face, [0.2, 0.5, 0.3], lift=0.004)
    bg = m.background
    with torch.no_grad():  # a second Gaussian: flat along the face (its thin axis the normal), turned in-plane
        e1 = torch.linalg.cross(normal, torch.tensor([0.3, 0.5, 0.8], dtype=torch.float64))
        e1 = e1 / e1.norm()
        quat = matrix_to_quat(torch.stack([e1, torch.linalg.cross(normal, e1), normal], dim=1)[None])[0]
        for name, value in (("means", torch.tensor(p)), ("quats", quat),
                            ("log_scales", torch.log(torch.tensor([0.012, 0.006, 0.002], dtype=torch.float64))),
                            ("opacity_logits", torch.tensor(1.5, dtype=torch.float64)),
                            ("sh0", rgb_to_sh0(torch.tensor([[0.7, 0.1, 0.3]], dtype=torch.float64))),
                            ("shN", torch.full((3, 3), 0.05, dtype=torch.float64))):
            old = getattr(bg, name).detach()
            setattr(bg, name, torch.nn.Parameter(torch.cat([old, value[None].to(old)])))
    expected = bg.world()
    opt = torch.optim.Adam([{"params": [getattr(a, n)], "lr": 1e-3} for n in ANCHORED_FIELDS] +
                           [{"params": [getattr(bg, n)], "lr": 1e-3} for n in
                            ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")])
    n = len(a.face)
    assert convert_background(m, opt, ConvertConfig()) == [1]
    assert len(bg.means) == 1 and bg.means[0].tolist() == [5.0, 5.0, 5.0]  # the far one is still free
    assert len(a.face) == n + 1 and int(a.face[-1]) == face
    assert any(p is a.sh0 for g in opt.param_groups for p in g["params"])
    assert any(p is bg.means for g in opt.param_groups for p in g["params"])
    g = a.world()  # seen head-on (the shading gain is 1 at the start)
    assert torch.allclose(g.means[-1], expected.means[1], atol=1e-9)
    assert torch.allclose(g.sh0[-1], expected.sh0[1], atol=1e-9) and torch.allclose(g.shN[-1], expected.shN[1])
    assert float(g.opacity_logits[-1].detach()) == pytest.approx(1.5)
    cov = []
    for s, k in ((g, len(g) - 1), (expected, 1)):  # the same covariance
        r = quat_to_rotmat(s.quats[k:k + 1])[0]
        cov.append(r @ torch.diag(torch.exp(2 * s.log_scales[k])) @ r.T)
    assert torch.allclose(cov[0], cov[1], atol=1e-10)
    # an edit moves the object: the converted Gaussian goes with its face
    before = g.means[-1].detach().clone()
    apply_edit(m, {"objects": [{"instance_id": 3, "pose": {"translation": [0.4, -0.2, 0.0]}}]})
    assert torch.allclose(a.world().means[-1].detach(), before + torch.tensor([0.3, 0.0, 0.0], dtype=torch.float64),
                          atol=1e-9)
    # and it trains as an anchored one
    opt.zero_grad()
    a.world().means[-1].sum().backward()
    opt.step()


def test_far_round_or_large_background_gaussians_stay_free():
    m = scene([[5.0, 5.0, 5.0]], [[0.5, 0.5, 0.5]])
    a = m.anchored[0]
    face = int(a.face[0])
    near, _ = on_face(m, face, [0.3, 0.3, 0.4], lift=0.05)  # farther than ConvertConfig.distance
    on, _ = on_face(m, face, [0.3, 0.3, 0.4])
    with torch.no_grad():
        m.background = BackgroundGaussians(torch.tensor([near, on, on], dtype=torch.float64),
                                           torch.full((3, 3), 0.5, dtype=torch.float64), scale=0.01)
        m.background.log_scales[2] = math.log(0.2)  # larger than max_extent
    n = len(a.face)
    # the round one on the surface (as thick as it is wide): not flat enough at normal_ratio 0.5
    assert convert_background(m, None, ConvertConfig(normal_ratio=0.5)) == [0]
    assert len(m.background.means) == 3 and len(a.face) == n
    assert convert_background(m, None, ConvertConfig(normal_ratio=1.0)) == [1]  # at 1.0 it is taken
    assert len(m.background.means) == 2


def test_faded_anchored_gaussians_are_pruned():
    m = scene([[5.0, 5.0, 5.0]], [[0.5, 0.5, 0.5]])
    a = m.anchored[0]
    with torch.no_grad():
        a.opacity_logits[:10] = -8.0
    n = len(a.face)
    convert_background(m, None, ConvertConfig(prune_opacity=0.005))
    assert len(a.face) == n - 10 and bool((a.opacity_logits > -8.0).all())
