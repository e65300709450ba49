"""Per-pixel evidence for a fit target: depth noise measured from the frames themselves,
edge-aware smoothing at that noise, and observed points that keep the side they were seen from.

Why: a structured-light sensor's depth noise grows as z^2 (about 1.5 mm * z^2, plus disparity
quantisation steps of ~3 cm at 3 m). A 6 mm mesh chair back seen at 2.3-3.5 m became a 6-7 cm
slab of 2 cm voxel means, and a candidate with a 6 cm slatted back covered that slab with its
front, back and side faces better than the true thin back did (coverage 4.85e-3 vs 7.11e-3). A
depth pixel, however noisy, can only lie on surface that faces its camera, and a surface
measured many times is known far better than one pixel's noise. So the frames are smoothed
(edge-aware, within a few noise sigmas: nothing is averaged across a depth edge), and the points
for the coverage term are voxelised per viewing side, each keeping the mean direction of the
rays that saw it (`side_voxels`), so coverage matches a point only to surface facing those rays
(`losses.LossConfig.coverage_facing`).

Nothing here knows the synthetic sensor: the noise is measured on each frame's own depth
(`depth_noise_scale`), so a sensor with less noise gets less smoothing (clean renders: none).
"""
from __future__ import annotations

import numpy as np


def depth_noise_scale(depths, masks=None, max_pixels: int = 200_000) -> float:
    """c (1/m) of the depth noise model sigma(z) = c z^2, measured on the frames: the robust
    spread of each pixel's depth about the mean of its left and right neighbours (a second
    difference, which a plane seen in perspective leaves near zero), over pixels whose
    neighbours are within 5 % of its depth (no depth edge). 0 for noiseless depth (a render).

    For iid noise the second difference has variance 1.5 sigma^2; spatially correlated noise
    makes this an underestimate, which only means less smoothing."""
    num, den = [], []
    for i, d in enumerate(depths):
        d = np.asarray(d, dtype=np.float64)
        if d.ndim != 2 or d.shape[1] < 3:
            continue
        c, l, r = d[:, 1:-1], d[:, :-2], d[:, 2:]
        ok = (c > 0) & (l > 0) & (r > 0)
        if masks is not None:
            ok &= np.asarray(masks[i], dtype=bool)[:, 1:-1]
        ok &= (np.abs(l - c) < 0.05 * c) & (np.abs(r - c) < 0.05 * c)
        if not ok.any():
            continue
        num.append(np.abs(c[ok] - (l[ok] + r[ok]) / 2))
        den.append(c[ok] ** 2)
    if not num:
        return 0.0
    num, den = np.concatenate(num), np.concatenate(den)
    if len(num) > max_pixels:
        pick = np.random.default_rng(0).choice(len(num), max_pixels, replace=False)
        num, den = num[pick], den[pick]
    return float(1.4826 * np.median(num / den) / np.sqrt(1.5))


def smooth_depth(depth: np.ndarray, noise_scale: float, radius: int = 2, sigmas: float = 3.0) -> np.ndarray:
    """Edge-aware mean of each valid pixel's (2 radius + 1)^2 window over the neighbours whose depth
    is within `sigmas` noise sigmas (sigma = noise_scale z^2, at least 1 mm) of its own: noise
    averages out on a surface and nothing mixes across a depth edge (a chair's back and the wall
    behind it). Invalid pixels (0) stay invalid and are never averaged in. noise_scale 0 returns
    the depth unchanged."""
    d = np.asarray(depth)
    if noise_scale <= 0 or radius < 1:
        return d
    z = d.astype(np.float64)
    valid = z > 0
    tol = np.maximum(sigmas * noise_scale * z * z, 1e-3)
    pad = np.pad(z, radius)
    acc = np.zeros_like(z)
    cnt = np.zeros_like(z)
    H, W = z.shape
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            sh = pad[dy:dy + H, dx:dx + W]
            ok = (sh > 0) & (np.abs(sh - z) <= tol)
            acc += np.where(ok, sh, 0.0)
            cnt += ok
    out = np.where(valid, acc / np.maximum(cnt, 1), 0.0)
    return out.astype(d.dtype)


def side_of(directions: np.ndarray) -> np.ndarray:
    """(N,) 0..5: the dominant axis and sign of each viewing direction (N,3) (+x, -x, +y, -y, +z, -z):
    rays from opposite sides of a thin part never share a side."""
    axis = np.abs(directions).argmax(1)
    neg = directions[np.arange(len(directions)), axis] < 0
    return 2 * axis + neg


def side_voxels(points: np.ndarray, directions: np.ndarray, voxel: float, ranges: np.ndarray | None = None,
                noise_scale: float = 0.0, sigmas: float = 2.0):
    """Voxelise points (N,3) seen along unit ray directions (N,3) per voxel AND viewing side
    (`side_of`) -> (mean points (M,3), unit mean directions (M,3), weights (M,)).

    Weights: a voxel seen from k sides gives k points of 1/k each (every voxel weighs 1 however
    many sides saw it), times its share of the pixels in its noise slab: the same-side points in
    the same column along the side's axis (one voxel across) within `sigmas` noise sigmas
    (noise_scale * range^2, `ranges` (N,) the camera-to-point distances) along it. A far surface
    seen through 2-4 cm of depth noise fills 2-3 voxels along the ray where a near one fills one,
    and its fringe voxels (a few noisy pixels, their means pulled off the surface) counted as
    much as its core: a 6 mm chair back's voxel means lay 1-1.5 cm towards each camera while
    its pixels' median lay within 4 mm of it. This way each surface counts about once per
    column, spread over its slab as its pixels are (a realistic scan's far bed footboard had
    ~5x the points of the clean scan's). noise_scale 0: no slab division. Deterministic order
    (sorted keys)."""
    if len(points) == 0:
        return points.reshape(0, 3), points.reshape(0, 3), np.zeros(0)
    keys = np.floor(points / voxel).astype(np.int64)
    keys -= keys.min(0)
    span = keys.max(0) + 1
    cell = (keys[:, 0] * span[1] + keys[:, 1]) * span[2] + keys[:, 2]
    side = side_of(directions)
    linear = cell * 6 + side
    uniq, inverse, counts = np.unique(linear, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    sums = np.zeros((len(counts), 3))
    np.add.at(sums, inverse, points)
    dirs = np.zeros((len(counts), 3))
    np.add.at(dirs, inverse, directions)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True).clip(1e-12)
    _, cell_inverse, sides = np.unique(uniq // 6, return_inverse=True, return_counts=True)
    weights = 1.0 / sides[cell_inverse.reshape(-1)]
    means = sums / counts[:, None]
    if noise_scale > 0 and ranges is not None:
        rng = np.zeros(len(counts))
        np.add.at(rng, inverse, ranges)
        band = sigmas * noise_scale * (rng / counts) ** 2
        weights = weights * counts / _slab_counts(means, uniq % 6, voxel, band, counts)
    return means, dirs, weights


def _slab_counts(points: np.ndarray, side: np.ndarray, voxel: float, band: np.ndarray,
                 pixels: np.ndarray) -> np.ndarray:
    """(M,) for each point: the pixels (M,) of the points of its side in its column (the same voxel
    across the side's axis) within band (M,) of it along that axis (its own included)."""
    axis = side // 2
    along = points[np.arange(len(points)), axis]
    across = np.stack([points[np.arange(len(points)), (axis + 1) % 3], points[np.arange(len(points)), (axis + 2) % 3]], 1)
    ij = np.floor(across / voxel).astype(np.int64)
    ij -= ij.min(0)
    column = (side * (ij[:, 0].max() + 1) + ij[:, 0]) * (ij[:, 1].max() + 1) + ij[:, 1]
    _, group = np.unique(column, return_inverse=True)
    key = group.reshape(-1) * 1e4 + (along - along.min())  # columns far apart on one line
    order = np.argsort(key, kind="stable")
    sk = key[order]
    cum = np.concatenate([[0.0], np.cumsum(pixels[order])])
    return cum[np.searchsorted(sk, key + band, side="right")] - cum[np.searchsorted(sk, key - band, side="left")]


def pixel_noise(depth: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(H,W) each pixel's sample of the noise model's c: |depth - the mean of its left and right
    neighbours| / depth^2 / sqrt(1.5) (`depth_noise_scale`'s second difference, per pixel); NaN
    where it cannot be measured (a neighbour invalid, a depth edge: a neighbour more than 5 % off,
    outside `mask`)."""
    d = np.asarray(depth, dtype=np.float64)
    out = np.full(d.shape, np.nan)
    if d.ndim != 2 or d.shape[1] < 3:
        return out
    c, l, r = d[:, 1:-1], d[:, :-2], d[:, 2:]
    ok = (c > 0) & (l > 0) & (r > 0) & (np.abs(l - c) < 0.05 * c) & (np.abs(r - c) < 0.05 * c)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)[:, 1:-1]
    inner = out[:, 1:-1]
    inner[ok] = np.abs(c[ok] - (l[ok] + r[ok]) / 2) / (c[ok] ** 2 * np.sqrt(1.5))
    return out


def point_noise(points: np.ndarray, depth: np.ndarray, samples: np.ndarray, voxel: float, noise_scale: float,
                radius: float = 0.06, prior: float = 20.0, clip: float = 8.0) -> np.ndarray:
    """(M,) the depth-noise sigma (m) of each voxel of `voxel_downsample(points, voxel)` (same
    order): noise_scale * (the voxel's share of the noise) * the mean of its pixels' depth^2.

    points (N,3): the pixels' world points; depth (N,): their camera depths; samples (N,): their
    `pixel_noise` (NaN: not measured). The share: the mean sample (each clipped at `clip` x
    noise_scale: depth-edge pixels within the 5 % of `pixel_noise`) of the pixels of the voxels
    within `radius` (m), shrunk towards the mean of all pixels by `prior` pixels at that mean,
    over that mean: a part whose surface is noisier than the rest (a dark office-chair back: its
    pixels' upper quartile 2x the rest's) gets a larger sigma. noise_scale 0 (noiseless depth,
    `depth_noise_scale` of a render) gives zeros."""
    from scipy.spatial import cKDTree

    keys = np.floor(points / voxel).astype(np.int64)
    keys -= keys.min(0)
    span = keys.max(0) + 1
    linear = (keys[:, 0] * span[1] + keys[:, 1]) * span[2] + keys[:, 2]
    _, inverse, counts = np.unique(linear, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    M = len(counts)
    if noise_scale <= 0:
        return np.zeros(M)
    z2 = np.bincount(inverse, depth.astype(np.float64) ** 2, M) / counts
    ok = np.isfinite(samples)
    s = np.minimum(np.where(ok, samples, 0.0), clip * noise_scale)
    total = float(s[ok].mean()) if ok.any() else 0.0
    if total <= 0:
        return noise_scale * z2
    e_sum = np.bincount(inverse, s, M)
    e_num = np.bincount(inverse, ok.astype(np.float64), M)
    means = np.stack([np.bincount(inverse, points[:, a], M) for a in range(3)], 1) / counts[:, None]
    near = cKDTree(means).query_ball_point(means, radius)
    rows = np.repeat(np.arange(M), [len(n) for n in near])
    cols = np.concatenate(near).astype(np.int64)
    pooled_sum = np.bincount(rows, e_sum[cols], M)
    pooled_num = np.bincount(rows, e_num[cols], M)
    share = (pooled_sum + prior * total) / (pooled_num + prior) / total
    return noise_scale * share * z2


def ray_means(points: np.ndarray, directions: np.ndarray, ranges: np.ndarray, voxel: float, noise_scale: float,
              sigmas: float = 10.0, gap_sigmas: float = 3.0) -> np.ndarray:
    """Observed points averaged along the viewing direction instead of in a fixed grid -> (M,3).

    points (N,3) seen along unit ray directions (N,3) from `ranges` (N,) metres away. Each point goes
    to its viewing side (`side_of`) and to a column of that side: `voxel` x `voxel` across the side's
    axis. Within a column, the points sorted along the axis form runs (a gap over max(voxel / 2,
    gap_sigmas noise sigmas) ends one: another surface), cut into equal pieces of at most max(voxel,
    sigmas noise sigmas) along the axis (a surface seen at grazing incidence fills a long run); each
    piece gives its mean. sigma = noise_scale * range^2 (`depth_noise_scale`), the run's mean.

    Why: a 2 cm voxel grid keeps the spread of depth noise along the ray, each voxel of a noise cloud
    giving its own mean; a structured-light sensor's cloud around a 6 mm chair back at 2-3 m (dark
    fabric: 2x noise) is 6-7 cm thick, a slab of voxel means that a thick back's faces covered better
    than the true thin sheet. Along the ray, the cloud collapses to its mean surface; across it, the
    points keep the grid's 2 cm resolution. Opposite sides of a thin part are never averaged together
    (their sides differ). noise_scale 0: pieces of one voxel along the axis. Deterministic order."""
    if len(points) == 0:
        return points.reshape(0, 3)
    side = side_of(directions)
    axis = side // 2
    n = np.arange(len(points))
    along = points[n, axis]
    across = np.stack([points[n, (axis + 1) % 3], points[n, (axis + 2) % 3]], 1)
    ij = np.floor(across / voxel).astype(np.int64)
    ij -= ij.min(0)
    column = (side * (ij[:, 0].max() + 1) + ij[:, 0]) * (ij[:, 1].max() + 1) + ij[:, 1]
    order = np.lexsort((along, column))
    col, a = column[order], along[order]
    sigma = noise_scale * ranges[order] ** 2
    gap = np.maximum(voxel / 2, gap_sigmas * sigma)
    start = np.ones(len(a), dtype=bool)
    start[1:] = (col[1:] != col[:-1]) | (a[1:] - a[:-1] > np.maximum(gap[1:], gap[:-1]))
    run = np.cumsum(start) - 1
    counts = np.bincount(run)
    run_sigma = np.bincount(run, sigma) / counts
    first = a[start]
    span = np.maximum(np.maximum.reduceat(a, np.flatnonzero(start)) - first, 0.0)
    pieces = np.maximum(np.ceil(span / np.maximum(voxel, sigmas * run_sigma)), 1)  # equal pieces of each run
    piece = np.minimum(np.floor((a - first[run]) / (span / pieces)[run].clip(1e-12)), pieces[run] - 1).astype(np.int64)
    key = run * (int(piece.max()) + 1) + piece
    _, group = np.unique(key, return_inverse=True)
    group = group.reshape(-1)
    m = int(group.max()) + 1
    cnt = np.bincount(group, minlength=m)
    sel = points[order]
    return np.stack([np.bincount(group, sel[:, k], m) for k in range(3)], 1) / cnt[:, None]


def ray_points(raw, poses, noise_scale: float, voxel: float, voxel_means: np.ndarray, sigmas: float, gap_sigmas: float,
               radius: float, min_neighbours: int):
    """`ray_means` of the frames' world points raw [(N_i,3)] seen from camera-to-world poses [(4,4)] ->
    (points (M,3), index (M,) of each one's nearest of `voxel_means`), kept where at least `min_neighbours`
    others lie within `radius` (the voxel means' outlier filter) and within `radius` of a voxel mean that
    passed that filter (mask bleeding)."""
    from scipy.spatial import cKDTree

    pts_all = np.concatenate(raw)
    rays = np.concatenate([q - p[:3, 3] for q, p in zip(raw, poses)])
    ranges = np.linalg.norm(rays, axis=1).clip(1e-12)
    pts = ray_means(pts_all, rays / ranges[:, None], ranges, voxel, noise_scale, sigmas, gap_sigmas)
    dist, j = cKDTree(voxel_means).query(pts)
    keep = dist <= radius
    if len(pts) > min_neighbours:
        keep &= np.array([len(x) for x in cKDTree(pts).query_ball_point(pts, radius)]) - 1 >= min_neighbours
    return pts[keep], j[keep]
