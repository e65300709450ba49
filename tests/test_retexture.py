"""Float edits with appearance in each part's own frame (`procsplat.splat.retexture`, through `apply_edit`)."""
from __future__ import annotations

import numpy as np
import torch

from procsplat.fit.spec import ObjectSpec
from procsplat.run.rundir import apply_edit
from procsplat.splat.model import SceneModel, SH_C0, rgb_to_sh0
from procsplat.splat.reanchor import canonical_mesh, surface_means


def table_model() -> SceneModel:
    from geonodes import load_program

    params = load_program("table").sample(1, seed=4)[0]  # a rectangular top on four square legs
    return SceneModel([ObjectSpec(3, "table", "table", params, 0.3, [0.5, 0.2, 0.0], 1.0)], None, sh_degree=1,
                      max_per_object=5000, seed=2)


def part_coords(anchored) -> tuple:
    """Each Gaussian's point on its face in its part's frame (object frame less the part's vertex mean), and
    its part id, on the object as it is now (computed here independently of the module)."""
    v, t, part, _ = canonical_mesh(anchored.obj, anchored.obj.fixed)
    x = surface_means(v, t, anchored.face, anchored.bary_logits.detach()).numpy()
    gpart = part[anchored.face].numpy()
    q = np.empty_like(x)
    for p in np.unique(gpart):
        centre = v[torch.unique(t[part == p])].numpy().mean(0)
        q[gpart == p] = x[gpart == p] - centre
    return q, gpart


def pattern(q: np.ndarray) -> np.ndarray:
    """A colour that varies over a part at a fixed scale (metres): its material."""
    return 0.5 + 0.35 * np.sin(2 * np.pi * q @ np.array([[1.1, 0.3, 0.2], [0.4, 1.3, -0.2], [0.7, -0.5, 1.2]]).T / 0.6)


def colours(anchored) -> np.ndarray:
    return (SH_C0 * anchored.sh0.detach()[:, 0] + 0.5).numpy()


def test_float_edit_shows_more_of_a_grown_parts_material_and_undoes_exactly():
    model = table_model()
    a, obj = model.anchored[0], model.objects[0]
    q, gpart = part_coords(a)
    with torch.no_grad():
        a.sh0.copy_(rgb_to_sh0(torch.from_numpy(pattern(q)))[:, None, :])
        a.shN.normal_(0.0, 0.05)
    trained = {f: getattr(a, f).detach().clone() for f in ("sh0", "shN")}
    lo = {p: q[gpart == p].min(0) for p in np.unique(gpart)}
    hi = {p: q[gpart == p].max(0) for p in np.unique(gpart)}
    values = obj.parameters_dict()
    wider = {"Width": values["Width"] + 0.15}
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": wider}]})
    q1, _ = part_coords(a)
    # where the edited part's point lies within the part as trained, the colour is the material's there;
    # stretched barycentric colours (the trained ones) would be off by the slide
    inside = np.array([np.all((q1[i] >= lo[p] - 1e-6) & (q1[i] <= hi[p] + 1e-6)) for i, p in enumerate(gpart)])
    moved = np.abs(q1 - q).max(1) > 0.02
    assert (inside & moved).sum() > 200
    err = np.abs(colours(a) - pattern(q1)).max(1)
    stretched = np.abs(pattern(q) - pattern(q1)).max(1)
    assert np.median(err[inside & moved]) < 0.25 * np.median(stretched[inside & moved])
    assert np.median(err[inside & moved]) < 0.03
    # parts that only move (the legs, apart) keep their colours exactly
    rigid = np.abs(q1 - q).max(1) < 1e-9
    assert rigid.sum() > 100
    assert torch.equal(a.sh0.detach()[torch.from_numpy(rigid)], trained["sh0"][torch.from_numpy(rigid)])
    # path independence, and back to the start: the trained colours exactly
    after = a.sh0.detach().clone()
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": values["Width"] - 0.1}}]})
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": wider["Width"]}}]})
    assert torch.equal(a.sh0.detach(), after)
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {n: values[n] for n in wider}}]})
    for f, x in trained.items():
        assert torch.equal(getattr(a, f).detach(), x), f


def test_gaussians_changed_after_an_edit_become_the_new_source():
    """Training after an edit (colours changed by the optimiser) starts a new source: the next edit works
    from the colours as they are, and undoing it returns to them, not to the first source's."""
    model = table_model()
    a, obj = model.anchored[0], model.objects[0]
    width = obj.parameters_dict()["Width"]
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width + 0.1}}]})
    with torch.no_grad():
        a.sh0.add_(0.3)  # as a training step would
    trained = a.sh0.detach().clone()
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width + 0.2}}]})
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width + 0.1}}]})
    assert torch.equal(a.sh0.detach(), trained)


def test_background_gaussians_on_an_objects_surface_follow_its_edits():
    """`procsplat.splat.hug` through `apply_edit`: background Gaussians within 3 cm of the table's surface move
    with the surface point under them, others stay; undoing the edit puts them back exactly."""
    from procsplat.splat.model import BackgroundGaussians

    model = table_model()
    obj = model.objects[0]
    with torch.no_grad():
        v, t, _ = obj.mesh()
    rng = np.random.default_rng(0)
    faces = rng.integers(0, len(t), 300)
    on = v[t[faces]].mean(1).numpy() + rng.normal(0, 0.01, (300, 3)).clip(-0.015, 0.015)  # within ~2.6 cm
    far = on[:50] + np.array([3.0, 0.0, 0.0])
    model.background = BackgroundGaussians(torch.from_numpy(np.concatenate([on, far])), torch.full((350, 3), 0.5), 0.01)
    start = model.background.means.detach().clone()
    width = obj.parameters_dict()["Width"]
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width + 0.2}}]})
    means = model.background.means.detach()
    assert torch.equal(means[300:], start[300:])  # far from the table: not moved
    shift = (means[:300] - start[:300]).norm(dim=1)
    assert (shift > 0.02).float().mean() > 0.5  # the table's ends move by 10 cm, its middle little
    # each followed its surface point: the distance to the (new) surface stays what it was
    from scipy.spatial import cKDTree

    from procsplat.splat.hug import _samples

    def distance(points):
        with torch.no_grad():
            vv, tt, _ = obj.mesh()
        return cKDTree(_samples(vv.detach(), tt)[0]).query(points.numpy())[0]

    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width}}]})
    assert torch.equal(model.background.means.detach(), start)
    d0 = distance(start[:300])
    apply_edit(model, {"objects": [{"instance_id": 3, "parameters": {"Width": width + 0.2}}]})
    d1 = distance(model.background.means.detach()[:300])
    assert np.median(np.abs(d1 - d0)) < 0.003
