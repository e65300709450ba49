"""The nearest-triangle bounds and the covered-face test run in cache-sized chunks of points
(`surface._chunks`) and write their pair tests as 0/1 floats, and exact point-triangle distances
without gradients take `surface.triangle_distance_values`: the same proposals, distances,
covered faces and loss terms, bit for bit, as the formulation before (one chunk of whole
candidates, bool masks, `closest_point_on_triangle`), written out here as the reference."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from procsplat.fit import losses, surface
from procsplat.fit.bench import resolve_program
from procsplat.fit.candidates import Scorer, SearchSpace, pad_meshes
from procsplat.fit.losses import (LossConfig, _plane_and_outside, _triangle_distance, _triangle_planes,
                                  covered_triangles, point_to_mesh_distance)
from procsplat.fit.search import initial_population
from procsplat.fit.surface import closest_point_on_triangle, triangle_corners, triangle_distance_values, triangle_points
from procsplat.fit.synthetic import CameraRig, synthetic_object
from procsplat.geometry import yaw_matrix


def _reference_proposals(pts, v, triangles, yaw, kk, dirs=None, slack=0.1):
    """(b,N,kk) proposals as `point_to_mesh_distance` made them before chunking by points."""
    b, N, T = v.shape[0], pts.shape[0], triangles.shape[-2]
    R = yaw_matrix(yaw.to(v.dtype))
    local_pts = pts.unsqueeze(0) @ R
    corners = triangle_corners(v @ R, triangles)
    lo, hi = corners.amin(2), corners.amax(2)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    planes = _triangle_planes(v, triangles)
    hom = torch.cat([pts, pts.new_ones(N, 1)], 1)
    normals = planes[:, :3, :T].transpose(1, 2)
    box = None
    for a in range(3):
        g = (local_pts[:, :, a, None] - centre[:, None, :, a]).abs_().sub_(half[:, None, :, a]).clamp_min_(0)
        box = g * g if box is None else box.addcmul_(g, g)
    plane, outside = _plane_and_outside(hom @ planes, T)
    outside.clamp_min_(0)
    bound = torch.maximum(box, plane.square().addcmul_(outside, outside))
    if dirs is not None:
        bound.add_((dirs @ normals.transpose(1, 2) >= slack) * 1e6)
    return bound.topk(kk, dim=-1, largest=False).indices


def _reference_covered(vertices, triangles, tol=1e-4):
    """`covered_triangles` of every triangle as it was: bool pair tests on all pairs at once."""
    b, T = vertices.shape[0], triangles.shape[-2]
    corners = triangle_corners(vertices, triangles)
    n = torch.linalg.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0])
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    planes = _triangle_planes(vertices, triangles)

    def on_opposite(points, owner):
        hom = torch.cat([points, points.new_ones(points.shape[0], points.shape[1], 1)], -1)
        opposite = (triangle_points(n, owner) @ n.transpose(1, 2)) < -0.99
        bi, mi, ti = torch.nonzero(((hom @ planes[:, :, :T]).abs() < tol) & opposite, as_tuple=True)
        out = torch.zeros(points.shape[0], points.shape[1], dtype=torch.bool)
        if len(bi):
            h = hom[bi, mi]
            outside = torch.stack([(h * planes[bi, :, e * T + ti]).sum(-1) for e in (1, 2, 3)]).amax(0)
            ok = outside < tol
            out[bi[ok], mi[ok]] = True
        return out

    centroid = corners.mean(2)
    tested = torch.arange(T).expand(b, -1)
    covered = on_opposite(centroid, tested)
    maybe = torch.nonzero(covered.any(0))[:, 0]
    if len(maybe):
        near = centroid[:, maybe, None] + 0.9 * (corners[:, maybe] - centroid[:, maybe, None])
        at_corners = on_opposite(near.reshape(b, -1, 3), maybe.repeat_interleave(3).expand(b, -1)).reshape(
            b, -1, 3).all(-1)
        covered[:, maybe] &= at_corners
    return covered


@pytest.fixture(scope="module", params=["chair", "table", "bookshelf"])
def batches(request):
    """A population's posed meshes on a synthetic object: per topology, and all padded together."""
    program = resolve_program(request.param)
    rng = np.random.default_rng(3)
    params = program.sample(1, seed=3)[0]
    target, _ = synthetic_object(program, params, float(rng.uniform(-math.pi, math.pi)), (0.3, -0.2),
                                 rig=CameraRig(num_views=3), seed=3)
    space = SearchSpace(program)
    g, _ = initial_population(space, target, 16, np.random.default_rng(5), 0.05, 0.03)
    scorer = Scorer(space, target, LossConfig(max_points=400, num_samples=300))
    with torch.no_grad():
        meshes, _ = scorer.posed_meshes(g.disc, torch.from_numpy(g.unit).float(), torch.from_numpy(g.pose).float())
    out = [m[1:] for m in meshes] + ([pad_meshes(meshes)[1:]] if len(meshes) > 1 else [])
    return scorer, out


def test_chunked_proposals_and_distances_equal_the_reference(batches):
    scorer, meshes = batches
    pts = scorer.losses.points.float()
    dirs = torch.nn.functional.normalize(torch.randn(len(pts), 3, generator=torch.Generator().manual_seed(0)), dim=1)
    chunked = 0
    for v, t, yaw in meshes:
        T = t.shape[-2]
        chunked += losses._chunks(v.shape[0], len(pts), T, 65_536)[1] < len(pts)
        for d in (None, dirs):
            for max_elements in (65_536, 5_000):
                dist, kept = point_to_mesh_distance(pts, v, t, yaw, 4, max_elements=max_elements, propose=8,
                                                    directions=d, far=0.15)
                ref = _reference_proposals(pts, v, t, yaw, min(8, T), d)
                assert torch.equal(kept, ref)
                cand = ref[..., :4]
                k = cand.shape[-1]
                dk = _triangle_distance(pts.unsqueeze(1).expand(-1, k, 3).reshape(-1, 3), v, t,
                                        cand.reshape(v.shape[0], -1)).reshape(v.shape[0], -1, k)
                if d is None:
                    assert torch.equal(dist, dk.amin(-1))
                else:  # nearest facing proposal, `far` where none faces
                    n = triangle_points(losses.unit_normals(v, t), cand.reshape(v.shape[0], -1)).reshape(*cand.shape, 3)
                    facing = (n * d[None, :, None]).sum(-1) < 0.1
                    want = dk.masked_fill(~facing, float("inf")).amin(-1)
                    assert torch.equal(dist, torch.where(facing.any(-1), want, torch.full_like(want, 0.15)))
    assert chunked  # some batch took several chunks of points


def test_chunked_covered_faces_equal_the_reference(batches):
    _, meshes = batches
    some = 0
    for v, t, _ in meshes:
        ref = _reference_covered(v, t)
        some += int(ref.sum())
        for max_elements in (65_536, 3_000, 10**9):
            assert torch.equal(covered_triangles(v, t, max_elements=max_elements), ref)
    assert some  # contact faces exist (a chair's legs under its seat, a table's top on its legs)


def test_terms_equal_with_one_chunk(batches, monkeypatch):
    """Whole loss terms (and gradients) with the default chunks equal those with one chunk."""
    scorer, meshes = batches
    results = []
    for one in (False, True):
        if one:
            for module in (losses, surface):
                monkeypatch.setattr(module, "_chunks", lambda b, N, T, m: (b, N))
        out = []
        for v, t, yaw in meshes:
            x = v.clone().requires_grad_(True)
            terms = scorer.losses.terms(x, t, yaw, propose=8)
            terms["total"].sum().backward()
            out.append({**{k: w.detach() for k, w in terms.items()}, "grad": x.grad})
        results.append(out)
    for a, b in zip(*results):
        for k in a:
            assert torch.equal(a[k], b[k]), k


def _reference_distance(p, vertices, ids):
    """|p - closest point| as `_triangle_distance` computed it for every call before."""
    b, M = ids.shape[:2]
    corners = triangle_points(vertices, ids.reshape(b, -1)).reshape(b, M, 3, 3)
    p = p.expand(b, M, 3)
    q = closest_point_on_triangle(p, corners[:, :, 0], corners[:, :, 1], corners[:, :, 2])
    return (p - q).square().sum(-1).clamp_min(1e-18).sqrt()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_distance_values_equal_the_closest_point_reference(dtype):
    """Every Voronoi region, degenerate triangles (repeated corners, collinear) and points on
    edges, corners and grid values (ties in the region tests): the same bits."""
    g = torch.Generator().manual_seed(1)
    regions = set()
    for trial in range(12):
        corners = torch.randn(3, 2000, 3, 3, generator=g, dtype=dtype) * (0.05 + trial % 4)
        if trial % 3 == 1:
            corners[:, ::3, 2] = corners[:, ::3, 1]
            corners[:, 1::5, 1] = 0.5 * (corners[:, 1::5, 0] + corners[:, 1::5, 2])
            corners[:, 2::7] = corners[:, 2::7, :1]
        if trial % 3 == 2:
            corners = corners.round(decimals=1)
        p = torch.randn(3, 2000, 3, generator=g, dtype=dtype) * 2
        if trial % 4 == 3:
            p[:, ::2] = 0.3 * corners[:, ::2, 0] + 0.7 * corners[:, ::2, 1]
            p[:, 1::4] = corners[:, 1::4, 2]
        if trial % 2:
            p = p.round(decimals=1)
        vertices = corners.reshape(3, -1, 3)
        ids = torch.randperm(6000, generator=g).view(2000, 3).expand(3, -1, -1)  # (b,M,3): any order
        vertices = torch.empty_like(vertices).scatter_(1, ids.reshape(3, -1, 1).expand(-1, -1, 3), vertices)
        p = p[:1] if trial % 2 else p  # shared points (broadcast over the batch) or each row's own
        want = _reference_distance(p, vertices, ids)
        got = triangle_distance_values(p, vertices, ids)
        bits = torch.int32 if dtype == torch.float32 else torch.int64
        assert torch.equal(got.view(bits), want.view(bits))
        q = closest_point_on_triangle(p, corners[:, :, 0], corners[:, :, 1], corners[:, :, 2])
        on_corner = torch.stack([(q == corners[:, :, i]).all(-1) for i in range(3)], -1)
        regions.update(on_corner.sum(-1).unique().tolist())
    assert regions >= {0, 1, 3}  # points nearest a corner, elsewhere, and degenerate triangles


def test_terms_equal_with_the_closest_point_reference(batches, monkeypatch):
    """Loss terms, proposals and gradients, with and without reused proposals, equal those with
    every distance through `closest_point_on_triangle`."""
    scorer, meshes = batches
    results = []
    for reference in (False, True):
        if reference:
            monkeypatch.setattr(losses, "triangle_distance_values", _reference_distance)
        out = []
        for v, t, yaw in meshes:
            x = v.clone().requires_grad_(True)
            terms = scorer.losses.terms(x, t, yaw, propose=8)
            kept = terms.pop("proposals")
            terms["total"].sum().backward()
            out.append({**{k: w.detach() for k, w in terms.items()}, "grad": x.grad, "proposals": kept})
            with torch.no_grad():
                again = scorer.losses.terms(v * 1.01, t, yaw, proposals=kept)
            out.append({k: w for k, w in again.items() if k != "proposals"})
        results.append(out)
    for a, b in zip(*results):
        assert a.keys() == b.keys()
        for k in a:
            assert torch.equal(a[k], b[k]), k
