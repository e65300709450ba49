"""The realistic sensor and room of synthetic scenes do what they say (`procsplat.data.realistic`)."""
import json

import numpy as np
import pytest
import torch
from scipy import ndimage

from procsplat.data import realistic as R
from procsplat.data.categories import program_for
from procsplat.data.readers import load_scene
from procsplat.data.readers.scannet import face_instances, load_scannet
from procsplat.data.synth import SynthConfig, generate

FOCAL = 300.0


def error_std(z: float, seed: int = 0) -> float:
    depth = np.full((96, 128), z, np.float32)
    out = R.realistic_depth(depth, np.random.default_rng(seed), FOCAL)
    ok = out > 0
    assert ok.mean() > 0.8
    return float(np.std(out[ok] - z))


def test_noise_grows_with_depth_and_is_quantised():
    near, far = error_std(1.0), error_std(3.0)
    assert 0.001 < near < 0.003  # 1.5 mm * z^2, plus the 1/8 px quantisation
    assert far > 6 * near  # z^2 is 9x; quantisation steps also grow as z^2
    out = R.realistic_depth(np.full((96, 128), 3.0, np.float32), np.random.default_rng(1), FOCAL)
    disparity = 577.87 * R.BASELINE / out[out > 0] * R.SUBPIXEL
    assert np.abs(disparity - np.round(disparity)).max() < 1e-3  # on the 1/8 px disparity grid
    assert np.allclose(R.depth_sigma([1.0, 2.0]), [0.0015, 0.006], rtol=0.05)


def test_depth_edges_and_the_projector_shadow_are_dropped():
    depth = np.full((96, 128), 3.0, np.float32)
    depth[:, :64] = 1.5  # a near surface left of column 64
    out = R.realistic_depth(depth, np.random.default_rng(0), FOCAL)
    shadow = FOCAL * R.BASELINE * (1 / 1.5 - 1 / 3.0)  # 7.5 px right of the edge
    assert (out[:, 64:64 + int(shadow)] == 0).all()
    assert (out[:, 62:66] == 0).mean() > 0.7  # the discontinuity itself, both sides
    far_from_edge = np.r_[0:56, 80:128]
    assert (out[:, far_from_edge] == 0).mean() < 0.1  # only the random holes


def test_dark_and_thin_parts_are_dropped():
    depth = np.full((96, 128), 2.0, np.float32)
    lum = np.full(depth.shape, 0.6)
    lum[20:60, 10:50] = 0.05  # a dark part
    part = np.zeros(depth.shape, np.int64)
    part[:, 80] = 1  # a 1-px wide leg
    part[:, 100:103] = 2  # a 3-px wide one
    out = R.realistic_depth(depth, np.random.default_rng(0), FOCAL, part=part, luminance=lum)
    dropped = out == 0
    assert dropped[20:60, 10:50].mean() > 0.55
    assert dropped[:, 80].mean() > 0.8
    assert dropped[:, 101].mean() < 0.15 and dropped[70:, 10:50].mean() < 0.15
    assert R.thin_parts(part)[:, 80].all() and not R.thin_parts(part)[:, 100:103].any()


@pytest.mark.parametrize("seed", range(6))
def test_masks_bleed_by_the_stated_pixels(seed):
    mask = np.full((40, 50), 9)  # floor
    mask[10:30, 15:35] = 5  # the object
    mask[12:14, 40:45] = 0  # unlabelled
    depth = np.where(mask == 5, 1.5, 3.0)
    out, radii, bled_depth = R.bleed_mask(mask, [5, 7], np.random.default_rng(seed), depth=depth)
    # a misaligned silhouette carries its depth: the depth test then keeps only background at about that depth
    assert np.array_equal(bled_depth, np.where((out == 5) | (mask == 5), 1.5, 3.0))  # (erosion: depth unchanged)
    r = radii[5]
    assert 1 <= abs(r) <= R.MASK_BLEED_PX and 7 not in radii  # absent ids are not drawn
    box = np.ones((2 * abs(r) + 1,) * 2, bool)
    own = mask == 5
    if r > 0:  # dilated: exactly r px more on every side, taking floor and unlabelled pixels
        expected = np.where(ndimage.binary_dilation(own, box), 5, mask)
        assert (out == 5).sum() == (20 + 2 * r) * (20 + 2 * r)
    else:  # eroded: r px less on every side, the border becomes unlabelled
        expected = np.where(own & ~ndimage.binary_erosion(own, box), 0, mask)
        assert (out == 5).sum() == (20 + 2 * r) * (20 + 2 * r)
    assert np.array_equal(out, expected)


@pytest.fixture(scope="module")
def real_scene(tmp_path_factory):
    return generate(SynthConfig(out=tmp_path_factory.mktemp("real"), seed=9, num_frames=6, width=128, height=96,
                                num_objects=3, realistic=True), progress=False)


def test_clutter_is_present_and_maps_to_no_program(real_scene):
    from procsplat.fit.scene import fittable_objects

    gt = json.loads((real_scene / "gt.json").read_text())
    assert gt["clutter"] and gt["realistic"]["mask_bleed_px"] == R.MASK_BLEED_PX
    furniture = {o["instance_id"] for o in gt["objects"]}
    assert any(c["on"] in furniture for c in gt["clutter"])  # on the furniture
    assert all(c["label"] in R.CLUTTER_LABELS and program_for(c["label"]) is None for c in gt["clutter"])
    scene = load_scene(real_scene)
    labels = {o.id: o.label for o in scene.objects}
    assert all(labels[c["instance_id"]] == c["label"] for c in gt["clutter"])
    assert {o.id for o, _ in fittable_objects(scene)} == furniture


def test_office_chairs_and_dark_parts():
    rng = np.random.default_rng(0)
    params = {"Legs Type": 0, "Back Style": 0, "Has Back": False, "Arm Style": 0}
    office = [R.office_variant("chair", params, rng) for _ in range(200)]
    share = np.mean([R.is_office_chair("chair", p) for p in office])
    assert 0.4 < share < 0.6
    assert all(p["Back Style"] in (2, 3) and p["Has Back"] and p["Arm Style"] == 1 for p in office
               if R.is_office_chair("chair", p))
    assert R.office_variant("table", params, rng) == params
    colors = np.full((10, 3), 0.6)
    part = np.arange(10) % 2
    dark = [R.darken(colors, part, rng, office=True) for _ in range(50)]
    assert 0.6 < np.mean([(d < 0.2).all(1).any() for d in dark]) <= 1.0


def test_read_masks_bleed_at_most_3px_and_the_same_on_every_read(real_scene):
    from geonodes.render import render_mesh

    gt = json.loads((real_scene / "gt.json").read_text())
    ids = [o["instance_id"] for o in gt["objects"]] + [c["instance_id"] for c in gt["clutter"]]
    bled, plain = load_scene(real_scene), load_scannet(real_scene)
    mesh = bled.mesh
    face_ids = torch.from_numpy(face_instances(mesh.faces, mesh.vertex_instance))
    changed = 0
    for i in range(len(bled.frames)):
        frame = bled.frames[i]
        new, old = bled.instance_mask(i), plain.instance_mask(i)
        assert np.array_equal(new, load_scene(real_scene).instance_mask(i))
        rendered = render_mesh(torch.from_numpy(mesh.vertices.astype(np.float64)), torch.from_numpy(mesh.faces),
                               torch.tensor(frame.K), torch.tensor(frame.cam_to_world), frame.width, frame.height,
                               face_ids=face_ids, shading=False)["id"].numpy()
        box = np.ones((7, 7), bool)
        for k in ids:
            own = rendered == k
            assert not ((new == k) & ~ndimage.binary_dilation(own, box)).any()  # at most 3 px more
            assert not (ndimage.binary_erosion(own, box, border_value=1) & (old == k) & (new != k)).any()  # 3 px less
        changed += int((new != old).sum())
    assert changed > 0
