"""Completing procedural objects on the surface no training view saw (procsplat.splat.complete)."""
from __future__ import annotations

import numpy as np
import torch

from geonodes import load_program
from geonodes.render import render_mesh
from procsplat.geometry import look_at
from procsplat.splat.complete import (CompletionConfig, complete_object, exterior_views, merge_flat,
                                      observed_part_colours, on_floor, recolour_unobserved, thinned)
from procsplat.splat.init import seen_in_frames
from procsplat.splat.model import AnchoredGaussians, ProceduralObject, SH_C0, rgb_to_sh0


def one_side_frames(obj, n=3, size=(64, 48)):
    """Depth frames of the object's mesh from cameras on one side (-y) only."""
    v, t, _ = obj.mesh()
    W, H = size
    K = np.array([[50.0, 0, W / 2], [0, 50.0, H / 2], [0, 0, 1.0]])
    frames = []
    for x in np.linspace(-0.6, 0.6, n):
        c2w = look_at((float(x), -2.5, 0.9), (0.0, 0.0, 0.4))
        out = render_mesh(v.detach().float(), t, torch.tensor(K, dtype=torch.float32),
                          torch.tensor(c2w, dtype=torch.float32), W, H)
        depth = out["depth"].numpy().astype(np.float64)
        frames.append((np.zeros((H, W, 3)), depth, K, c2w))
    return frames


def part_colours(n_parts):
    rng = np.random.default_rng(0)
    return torch.from_numpy(rng.uniform(0.1, 0.9, (n_parts, 3)))


def test_completion_adds_unseen_gaussians_coloured_by_their_own_part():
    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.0, 0.0, 0.0], 1.0, 3, "table")
    a = AnchoredGaussians(obj, per_area=3000.0, max_count=3000, seed=0)
    frames = one_side_frames(obj)
    with torch.no_grad():
        seen = torch.from_numpy(seen_in_frames(a.world().means.numpy(), frames))
        assert 0 < int(seen.sum()) < len(seen)
        a.prune(seen.nonzero()[:, 0])  # as initialise_model does
        _, _, part = obj.mesh()
        part = part.long()
        colours = part_colours(int(part.max()) + 1)
        a.sh0.copy_(rgb_to_sh0(colours[part[a.face]])[:, None, :])  # every part its own colour
    n_before = int(a.face.shape[0])
    added = complete_object(a, frames, per_area=3000.0, cfg=CompletionConfig(density=0.5), seed=1)
    assert added > 0 and int(a.face.shape[0]) == n_before + added
    new = slice(n_before, None)
    with torch.no_grad():
        g = a.world()
        # the new Gaussians sit on the object's surface where no frame sees it
        assert not seen_in_frames(g.means[new].numpy(), frames).any()
        # and wear the colour of their own part (where that part had trained Gaussians)
        rgb = a.sh0[new, 0, :] * SH_C0 + 0.5
        new_part = part[a.face[new]]
        have = torch.isin(new_part, part[a.face[:n_before]])
        assert int(have.sum()) > 0.8 * added
        err = (rgb[have] - colours[new_part[have]]).abs().max()
        assert float(err) < 1e-9
        # none where no camera in a room could see them: on the floor, or inside the mesh
        v, t, _ = obj.mesh()
        assert not bool(on_floor(v, t)[a.face[new]].any())
        assert seen_in_frames(g.means[new].numpy(), exterior_views(v, t), tolerance=0.011).all()
    # every parameter has one row per Gaussian
    for name in ("bary_logits", "offset", "angle", "log_scales_plane", "log_scale_normal", "opacity_logits", "sh0",
                 "shN"):
        assert getattr(a, name).shape[0] == n_before + added, name


def test_completion_of_a_fully_seen_object_adds_nothing():
    obj = ProceduralObject(load_program("table"), {}, 0.0, [0.0, 0.0, 0.0], 1.0, 3, "table")
    a = AnchoredGaussians(obj, per_area=2000.0, max_count=2000, seed=0)
    v, _, _ = obj.mesh()
    # a frame whose depth is far behind everything: every surface point counts as seen
    K = np.array([[20.0, 0, 32], [0, 20.0, 24], [0, 0, 1.0]])
    frames = [(np.zeros((48, 64, 3)), np.full((48, 64), 50.0), K, look_at((0.0, -4.0, 3.0), (0.0, 0.0, 0.4))),
              (np.zeros((48, 64, 3)), np.full((48, 64), 50.0), K, look_at((0.0, 4.0, 3.0), (0.0, 0.0, 0.4))),
              (np.zeros((48, 64, 3)), np.full((48, 64), 50.0), K, look_at((4.0, 0.0, 0.5), (0.0, 0.0, 0.4)))]
    with torch.no_grad():
        everywhere = seen_in_frames(a.world().means.numpy(), frames)
    assert everywhere.all()
    assert complete_object(a, frames, per_area=2000.0, cfg=CompletionConfig()) == 0


def test_exterior_views_see_the_outside_not_the_inside_nor_the_floor_face():
    """A closed box: points on its sides and top are seen by the cameras around it; its centre and
    its bottom face (on the floor) are not."""
    from geonodes import load_program

    prog = load_program("cabinet")
    m = prog.evaluate_one({}, dtype=torch.float64)
    v, t = m.vertices, m.triangles
    lo, hi = v.amin(0), v.amax(0)
    c = (lo + hi) / 2
    frames = exterior_views(v, t)
    top = torch.stack([c[0], c[1], hi[2]])
    side = torch.stack([hi[0], c[1], c[2]])
    bottom = torch.stack([c[0], c[1], lo[2]])
    seen = seen_in_frames(torch.stack([top, side, c, bottom]).numpy(), frames, tolerance=0.01)
    assert seen.tolist() == [True, True, False, False]


def test_thinned_keeps_the_fraction_of_the_seen_density():
    gen = torch.Generator().manual_seed(0)
    # 1000 samples on 2 m^2: 600 seen (1.2 m^2, holding 120 Gaussians: 100 per m^2), 300 unseen (0.6 m^2)
    keep = thinned(300, 1000, 600, 120, 2.0, 0.5, gen)
    assert keep is not None and len(keep) == 30  # 0.5 x 100 per m^2 x 0.6 m^2
    assert len(torch.unique(keep)) == 30 and int(keep.max()) < 300
    # a seen surface as dense as the samples (or denser): all kept
    assert thinned(300, 1000, 600, 1200, 2.0, 0.5, gen) is None
    assert thinned(300, 1000, 0, 120, 2.0, 0.5, gen) is None  # no seen sample: nothing to measure


def test_completion_follows_the_density_the_object_really_has():
    """An object whose per-object cap left it far sparser than the configured density: its unseen
    surface gets half of its own seen density, not half of the configured one."""
    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.0, 0.0, 0.0], 1.0, 3, "table")
    frames = one_side_frames(obj)
    added, density = {}, {}
    for cap in (10 ** 6, 300):  # the configured density; capped far below it
        a = AnchoredGaussians(obj, per_area=3000.0, max_count=cap, seed=0)
        with torch.no_grad():
            seen = torch.from_numpy(seen_in_frames(a.world().means.numpy(), frames))
            a.prune(seen.nonzero()[:, 0])
        n_seen = int(a.face.shape[0])
        added[cap] = complete_object(a, frames, per_area=3000.0, cfg=CompletionConfig(density=0.5), seed=1)
        density[cap] = (n_seen, added[cap])
    # the sparse object's completion is about as much sparser as its seen surface is
    (n_dense, add_dense), (n_sparse, add_sparse) = density[10 ** 6], density[300]
    assert add_sparse < add_dense
    assert 0.5 < (add_sparse / n_sparse) / (add_dense / n_dense) < 2.0


def coloured_frames(obj, colours, cameras, size=(64, 48)):
    """Frames of the object's mesh, each part flat in its own colour (no shading), with depth."""
    v, t, part = obj.mesh()
    W, H = size
    K = np.array([[50.0, 0, W / 2], [0, 50.0, H / 2], [0, 0, 1.0]])
    frames = []
    for eye in cameras:
        c2w = look_at(eye, (0.0, 0.0, 0.4))
        out = render_mesh(v.detach().float(), t, torch.tensor(K, dtype=torch.float32),
                          torch.tensor(c2w, dtype=torch.float32), W, H,
                          face_colors=colours[part.long()].float(), shading=False)
        frames.append((out["rgb"].numpy().astype(np.float64), out["depth"].numpy().astype(np.float64), K, c2w))
    return frames


def test_observed_part_colours_are_the_parts_colours_over_the_shading_gain():
    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.0, 0.0, 0.0], 1.0, 3, "table")
    a = AnchoredGaussians(obj, per_area=500.0, max_count=500, seed=0)
    _, _, part = obj.mesh()
    colours = part_colours(int(part.max()) + 1)
    frames = coloured_frames(obj, colours, [(0.3, -2.5, 1.2), (-0.4, -2.2, 0.9)])
    got, pixels = observed_part_colours(a, frames)
    seen = pixels > 0
    assert seen.sum() >= 2 and not seen.all()  # one side only: some parts (legs behind) show, not all
    assert np.abs(got[seen] - colours.numpy()[seen]).max() < 2e-3
    with torch.no_grad():
        a.shading.fill_(np.log(2.0))  # the object's gain doubles every colour: head-on it is half as bright
    halved, _ = observed_part_colours(a, frames)
    assert np.abs(halved[seen] - colours.numpy()[seen] / 2).max() < 2e-3
    # a frame whose depth is nearer than the mesh (something in front of it) observes no part
    rgb, depth, K, c2w = frames[0]
    _, none = observed_part_colours(a, [(rgb, np.where(depth > 0, depth - 0.5, 0.0), K, c2w)])
    assert int(none.sum()) == 0


def test_recolour_gives_the_barely_seen_gaussians_their_parts_observed_colour():
    """Gaussians the training frames do not see (the far side of a table seen from one side) take the colour
    observed on their own part; those the frames see keep theirs; parts no frame saw keep theirs."""
    from procsplat.splat.model import SceneModel
    from procsplat.fit.spec import ObjectSpec

    spec = ObjectSpec(3, "table", "table", {}, 0.3, [0.0, 0.0, 0.0])
    model = SceneModel([spec], None, per_area=1500.0, max_per_object=1500, seed=0)
    a = model.anchored[0]
    _, _, part = a.obj.mesh()
    colours = part_colours(int(part.max()) + 1)
    frames = coloured_frames(a.obj, colours, [(0.3, -2.5, 1.2), (-0.4, -2.2, 0.9), (0.0, -2.4, 1.6)])
    _, pixels = observed_part_colours(a, frames)
    with torch.no_grad():
        a.sh0.fill_(0.123)
    before = a.sh0.detach().clone()
    n = recolour_unobserved(model, frames, CompletionConfig(recolour_below=0.25, min_part_pixels=20, merge_cell=0,
                                                            prune_enclosed=False))[0]
    assert n > 0
    changed = (a.sh0.detach() != before).any(2)[:, 0]
    assert int(changed.sum()) == n
    with torch.no_grad():
        gpart = part.long()[a.face]
        rgb = a.sh0[changed, 0] * SH_C0 + 0.5
        assert float((rgb - colours[gpart[changed]]).abs().max()) < 2e-3
        assert (torch.from_numpy(pixels)[gpart[changed]] >= 20).all()
        # the recoloured ones are where the frames do not look (the far side, the top's underside), but for
        # a few at the edges of what they see
        assert seen_in_frames(a.world().means[changed].numpy(), frames, tolerance=0.01).mean() < 0.1
    # off: nothing changes
    assert recolour_unobserved(model, frames, CompletionConfig(recolour_below=0.0)) == [0]
    # merging: as many recoloured, fewer Gaussians, the ones the frames see untouched
    count = int(a.face.shape[0])
    assert recolour_unobserved(model, frames, CompletionConfig(recolour_below=0.25, merge_cell=0.2,
                                                               prune_enclosed=False))[0] == n
    assert int(a.face.shape[0]) < count
    assert int((a.sh0.detach() == 0.123).all(2)[:, 0].sum()) == int((~changed).sum())


def test_merge_flat_keeps_one_grown_gaussian_per_part_orientation_and_cell():
    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.1, -0.2, 0.0], 1.0, 3, "table")
    a = AnchoredGaussians(obj, per_area=3000.0, max_count=3000, seed=0)
    with torch.no_grad():
        part = obj.mesh()[2].long()[a.face]
        _, normal, _ = a.face_frames()
        top = (part == part[normal[:, 2].argmax()]) & (normal[:, 2] > 0.99)  # the top's upward face
        rows = top.nonzero()[:, 0].numpy()
        others = ~top
        kept_before = {name: getattr(a, name).detach()[others].clone() for name in ("sh0", "log_scales_plane")}
        area_before = float(torch.exp(2 * a.log_scales_plane[top]).prod(1).sqrt().sum())
    n = int(a.face.shape[0])
    removed = merge_flat(a, rows, cell=0.2)
    assert 0 < removed < len(rows) and int(a.face.shape[0]) == n - removed
    with torch.no_grad():
        part = obj.mesh()[2].long()[a.face]
        _, normal, _ = a.face_frames()
        top = (part == part[normal[:, 2].argmax()]) & (normal[:, 2] > 0.99)
        # the other Gaussians are untouched, in order
        for name, before in kept_before.items():
            assert torch.equal(getattr(a, name).detach()[~top], before)
        # one per 0.2 m cube of the object's frame the top's Gaussians fall in
        from procsplat.splat.complete import canonical

        cells = np.unique(np.floor(canonical(a.world().means[top], obj) / 0.2).astype(int), axis=0)
        assert int(top.sum()) == len(cells) >= 2
        # the merged ones cover the area the group covered (scales grown by sqrt(group size))
        area_after = float(torch.exp(2 * a.log_scales_plane[top]).prod(1).sqrt().sum())
        assert abs(area_after - area_before) < 0.05 * area_before


def test_mirrored_colours_come_from_the_same_parts_parallel_faces():
    """A Gaussian on a table top's underside takes the colour of the top's upper face at the same place across
    the vertical axis (the part's pattern continues through it), not a leg's (another part) nor the top's
    edge faces (another axis), even where those are nearer in space."""
    from procsplat.splat.complete import canonical, mirrored_colours, parallel_axis

    obj = ProceduralObject(load_program("table"), {}, 0.3, [0.1, -0.2, 0.0], 1.0, 3, "table")
    a = AnchoredGaussians(obj, per_area=4000.0, max_count=4000, seed=0)
    with torch.no_grad():
        part = obj.mesh()[2].long()[a.face].numpy()
        pts, axis = parallel_axis(a)
        _, normal, _ = a.face_frames()
        top_part = part[int(normal[:, 2].argmax())]
        on_top = (part == top_part) & (axis == 2)
        up = np.flatnonzero(on_top & (normal[:, 2].numpy() > 0))
        down = np.flatnonzero(on_top & (normal[:, 2].numpy() < 0))
        others = np.flatnonzero(~on_top)
        assert len(up) > 50 and len(down) > 50 and len(others) > 50
        # the top's upper face wears a pattern of its own frame's x and y; everything else one flat colour
        pattern = lambda p: np.stack([0.5 + 0.4 * np.sin(6 * p[:, 0]), 0.5 + 0.4 * np.cos(5 * p[:, 1]),
                                      np.full(len(p), 0.3)], 1)
        rgb = np.full((len(part), 3), 0.9)
        rgb[up] = pattern(pts[up])
        a.sh0.copy_(rgb_to_sh0(torch.from_numpy(rgb))[:, None, :])
        a.shN.fill_(0.5)
    found = mirrored_colours(a, down, np.concatenate([up, others]), radius=0.05, k=1)
    assert found.mean() > 0.95
    with torch.no_grad():
        got = (a.sh0[torch.from_numpy(down[found]), 0] * SH_C0 + 0.5).numpy()
        # every one from an upper-face Gaussian (blue 0.3: no other Gaussian has it), the one nearest across z:
        # the pattern where it sits
        assert np.abs(got[:, 2] - 0.3).max() < 1e-6
        err = np.abs(got - pattern(pts[down[found]])).max(1)
        assert np.median(err) < 0.05
        assert float(a.shN[torch.from_numpy(down[found])].abs().max()) == 0.0
        # the rest untouched
        assert torch.equal(a.shN[torch.from_numpy(others)], torch.full_like(a.shN[torch.from_numpy(others)], 0.5))
    # no source of the same part and axis within the radius: nothing found, nothing changed
    before = a.sh0.detach().clone()
    assert not mirrored_colours(a, down, others, radius=0.05, k=1).any()
    assert torch.equal(a.sh0.detach(), before)
    # the positions are the object's own frame (pose undone)
    assert np.allclose(pts, canonical(a.world().means, obj))


def test_recolour_removes_the_barely_seen_gaussians_no_camera_around_the_object_sees():
    """`enclosed`: Gaussians pushed into the middle of a 6 cm table top (3 cm behind its upper face) are hidden
    from every camera around it, those on the upper face are not; recolouring with prune_enclosed removes barely seen Gaussians
    that are enclosed, and only those."""
    from procsplat.fit.spec import ObjectSpec
    from procsplat.splat.complete import enclosed
    from procsplat.splat.model import SceneModel

    spec = ObjectSpec(3, "table", "table", {"Top Thickness": 0.06}, 0.3, [0.0, 0.0, 0.0])
    model = SceneModel([spec], None, per_area=1500.0, max_per_object=1500, seed=0)
    a = model.anchored[0]
    _, _, part = a.obj.mesh()
    with torch.no_grad():
        _, normal, _ = a.face_frames()
        z = a.world().means[:, 2].numpy()
        up = np.flatnonzero((normal[:, 2] > 0.99).numpy() & (z > z.max() - 1e-3))  # the top's upper face
        inside = up[::2]
        a.offset[torch.from_numpy(inside)] = -0.03
    assert len(up) > 40
    hidden = enclosed(a, np.arange(int(a.face.shape[0])), 0.01)
    assert hidden[inside].mean() > 0.8 and not hidden[up[1::2]].any()  # (but for some near its edges)
    colours = part_colours(int(part.max()) + 1)
    frames = coloured_frames(a.obj, colours, [(0.3, -2.5, 1.2), (-0.4, -2.2, 0.9), (0.0, -2.4, 1.6)])
    before = int(a.face.shape[0])
    recolour_unobserved(model, frames, CompletionConfig(recolour_below=0.25, merge_cell=0, prune_enclosed=True))
    after = enclosed(a, np.arange(int(a.face.shape[0])), 0.01)
    removed = before - int(a.face.shape[0])
    assert removed > 0  # (the pushed ones the frames barely see: the others still blend through the top)
    assert int((~after).sum()) == int((~hidden).sum())  # none of the visible ones went
    assert int(after.sum()) == int(hidden.sum()) - removed
