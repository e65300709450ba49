"""The port of Blender's constrained Delaunay triangulation (geometry.cdt) against Blender's own
(mathutils.geometry.delaunay_2d_cdt, the same delaunay_2d.cc; its points are float32, as Fill
Curve's): random outlines, clockwise ones, repeated points, concave stars, self-crossing
outlines, holes (in outlines of up to 64 points), overlapping curves, in both of Fill Curve's output types: the same vertices,
the same faces in the same order from the same corners, added vertices on the recorded
crossings. And its std::sort against libstdc++'s order on ties (recorded from g++)."""
import math
import random

import numpy as np
import pytest

from geonodes.geometry.cdt_constraints import delaunay_2d
from geonodes.geometry.stdsort import std_sort

# (keys, the order std::sort(begin, end, a.key < b.key) leaves the indices in, from g++ 13)
STD_SORT_CASES = [
    ([3, 3, 3, 1, 1, 3, 1, 0, 3, 2, 1, 0, 0, 3, 3, 1, 0, 0, 0, 0, 1, 1, 0, 3, 2, 3, 1, 1, 2, 3, 0, 0, 3, 2, 3, 0, 2, 2, 1, 2], [22, 19, 18, 7, 35, 17, 16, 11, 12, 31, 30, 26, 27, 21, 20, 15, 10, 6, 4, 3, 38, 33, 36, 37, 28, 39, 24, 9, 25, 23, 29, 14, 13, 32, 34, 8, 5, 2, 1, 0]),
    ([0, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1], [49, 27, 28, 29, 30, 31, 34, 35, 37, 38, 41, 44, 45, 48, 1, 50, 52, 53, 54, 55, 58, 62, 63, 64, 65, 66, 67, 4, 7, 17, 8, 18, 9, 26, 21, 10, 2, 0, 12, 24, 11, 61, 56, 57, 59, 60, 14, 6, 5, 3, 68, 69, 39, 25, 23, 22, 32, 33, 20, 36, 19, 51, 40, 42, 43, 16, 15, 46, 47, 13]),
    ([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 9, 7, 2, 9, 7, 9, 2, 6, 2, 2, 4, 3, 9, 3, 3, 2, 8, 3, 6, 7, 9, 1, 6, 0, 1, 1, 0, 8, 4, 3], [46, 43, 45, 44, 41, 22, 26, 28, 35, 29, 49, 31, 33, 34, 37, 30, 48, 1, 19, 10, 0, 2, 3, 4, 5, 6, 7, 8, 9, 18, 11, 13, 14, 15, 12, 16, 17, 27, 38, 42, 39, 21, 24, 36, 47, 40, 20, 23, 25, 32]),
]


@pytest.mark.parametrize("keys, expected", STD_SORT_CASES)
def test_std_sort_keeps_libstdcxx_order_of_ties(keys, expected):
    items = list(range(len(keys)))
    std_sort(items, lambda a, b: keys[a] < keys[b])
    assert items == expected


def _shapes(rng):
    n, r0 = rng.randint(3, 16), rng.uniform(0.3, 2.0)
    phase = rng.choice([0.0, rng.uniform(0.0, 6.3)])
    circle = [(r0 * math.cos(phase + 2 * math.pi * i / n), r0 * math.sin(phase + 2 * math.pi * i / n)) for i in range(n)]
    m = rng.randint(3, 8)
    small = [(0.1 * math.cos(2 * math.pi * i / m), 0.1 * math.sin(2 * math.pi * i / m)) for i in range(m)]
    beside = [(0.6 * r0 * math.cos(2 * math.pi * i / m) + rng.uniform(0.3, 1.2) * r0,
               0.5 * r0 * math.sin(2 * math.pi * i / m)) for i in range(m)]
    noisy = [(x + rng.uniform(-0.3, 0.3) * r0, y + rng.uniform(-0.3, 0.3) * r0) for x, y in circle]
    star = [(r0 * (1 if i % 2 else 0.4) * math.cos(2 * math.pi * i / n), r0 * (1 if i % 2 else 0.4) * math.sin(2 * math.pi * i / n))
            for i in range(n)]
    dup = circle[:2] + [circle[1]] + circle[2:] + [circle[0]]
    big = [(math.cos(2 * math.pi * i / (4 * n)), math.sin(2 * math.pi * i / (4 * n))) for i in range(4 * n)]
    inner = [(0.2 + 0.4 * x, 0.1 + 0.4 * y) for x, y in circle]
    one = lambda pts: (pts, [list(range(len(pts)))])  # noqa: E731
    two = lambda a, b: (a + b, [list(range(len(a))), list(range(len(a), len(a) + len(b)))])  # noqa: E731
    return {"circle": one(circle), "clockwise": one(circle[::-1]), "repeated": one(dup), "star": one(star),
            "self-crossing": one(noisy), "hole": two(noisy, small), "big hole": two(big, inner), "overlap": two(circle, beside),
            "three": (circle + beside + [(x * 0.5 - 0.2, y * 0.5 + 0.1) for x, y in circle],
                      [list(range(n)), list(range(n, n + m)), list(range(n + m, 2 * n + m))])}


@pytest.mark.blender
@pytest.mark.parametrize("mode", [2, 5])  # CDT_INSIDE_WITH_HOLES (TRIANGLES), ..._VALID_BMESH_WITH_HOLES (N-GONS)
def test_cdt_matches_blender(mode):
    pytest.importorskip("bpy", reason="needs Blender (pip install 'procsplat[blender]')")
    from mathutils import Vector
    from mathutils.geometry import delaunay_2d_cdt

    rng = random.Random(mode)
    for _ in range(40):
        for name, (pts, faces) in _shapes(rng).items():
            pts = [(float(np.float32(x)), float(np.float32(y))) for x, y in pts]
            verts, _, ref_faces, orig, _, _ = delaunay_2d_cdt([Vector(p) for p in pts], [], faces, mode, 0.0)
            source, got_faces, crossings, _ = delaunay_2d(pts, faces, mode)
            where = f"{name} {pts} {faces}"
            assert got_faces == tuple(tuple(f) for f in ref_faces), where
            assert len(source) == len(verts), where
            for k, (s, o) in enumerate(zip(source, orig)):
                if s >= 0:
                    assert o and s == min(o), where
                    continue
                (a, b), (c, d) = crossings[-1 - s]  # an added vertex: the crossing of two input segments
                p, r = np.array(pts[a]), np.array(pts[b]) - np.array(pts[a])
                q, e = np.array(pts[c]), np.array(pts[d]) - np.array(pts[c])
                t = ((q - p)[0] * e[1] - (q - p)[1] * e[0]) / (r[0] * e[1] - r[1] * e[0])
                assert np.abs(p + r * t - np.array(verts[k])).max() < 1e-5, where
