"""Differentiable surface samples of candidate meshes and exact point-to-triangle distances.

Samples use FIXED random numbers per topology (a stratified uniform for the area-weighted
triangle choice and a barycentric pair per sample), so a sample is an affine function of its
triangle's vertices and gradients reach every vertex (hence every float parameter and the
pose). The triangle choice itself follows the candidate's own triangle areas and is not
differentiated (it is piecewise constant).
"""
from __future__ import annotations

import numpy as np
import torch


class SurfaceSampler:
    """Fixed sampling pattern of `num_samples` points per topology (seeded, cached)."""

    def __init__(self, num_samples: int = 1500, seed: int = 0):
        if num_samples < 1:
            raise ValueError(f"SurfaceSampler: num_samples must be >= 1, got {num_samples}")
        self.num_samples = num_samples
        gen = torch.Generator().manual_seed(seed)
        # Stratified positions on the cumulative area: one sample per 1/S slice of the area.
        self._strata = (torch.arange(num_samples, dtype=torch.float64)
                        + torch.rand(num_samples, generator=gen, dtype=torch.float64)) / num_samples
        r = torch.rand(num_samples, 2, generator=gen, dtype=torch.float64)
        flip = r.sum(1) > 1.0  # fold the unit square onto the triangle
        r[flip] = 1.0 - r[flip]
        self._bary = r

    def sample(self, vertices: torch.Tensor, triangles: torch.Tensor):
        """vertices (b,V,3), triangles (T,3) or per candidate (b,T,3) -> points (b,S,3), triangle
        index (b,S) int64, valid (b,) bool.

        A mesh with no area gets its first vertex repeated (callers see `valid` False). Triangles
        without area are never sampled (padding, `triangle_corners`), so a mesh padded with them
        gets the samples it gets alone.
        """
        b = vertices.shape[0]
        S = self.num_samples
        if triangles.shape[-2] == 0:
            pts = vertices[:, :1].expand(b, S, 3) if vertices.shape[1] else vertices.new_zeros(b, S, 3)
            return pts, torch.zeros(b, S, dtype=torch.int64), torch.zeros(b, dtype=torch.bool)
        a, bb, c = triangle_corners(vertices, triangles).unbind(2)  # (b,T,3) each
        with torch.no_grad():
            area = torch.linalg.cross(bb - a, c - a).norm(dim=-1).double()  # (b,T)
            cdf = area.cumsum(1)
            total = cdf[:, -1:]
            valid = total[:, 0] > 0
            u = self._strata.unsqueeze(0) * total.clamp_min(1e-30)
            tri = torch.searchsorted(cdf, u).clamp_max(triangles.shape[-2] - 1)  # (b,S)
        bary = self._bary.to(vertices.dtype)
        idx = tri.unsqueeze(-1).expand(b, S, 3)
        pa, pb, pc = (torch.gather(x, 1, idx) for x in (a, bb, c))
        pts = pa + bary[:, 0:1] * (pb - pa) + bary[:, 1:2] * (pc - pa)
        return pts, tri, valid


def triangle_corners(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """(b,T,3,3) corner positions of triangles (T,3) shared by all candidates, or (b,T,3) each
    candidate's own (topologies padded to one size, `candidates.pad_meshes`), of vertices (b,V,3)."""
    if triangles.dim() == 2:
        return vertices[:, triangles]
    b, T = triangles.shape[:2]
    return triangle_points(vertices, triangles.reshape(b, T * 3)).reshape(b, T, 3, 3)


def unit_normals(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """(b,T,3) unit normals (zero for triangles without area) of triangles as in `triangle_corners`."""
    c = triangle_corners(vertices, triangles)
    n = torch.linalg.cross(c[:, :, 1] - c[:, :, 0], c[:, :, 2] - c[:, :, 0])
    return n / n.norm(dim=-1, keepdim=True).clamp_min(1e-30)


def triangle_vertex_ids(triangles: torch.Tensor, tri: torch.Tensor) -> torch.Tensor:
    """(b,M,3) vertex indices of triangles tri (b,M) of each candidate; triangles as in
    `triangle_corners`."""
    if triangles.dim() == 2:
        return triangles[tri]
    return torch.gather(triangles, 1, tri.unsqueeze(-1).expand(-1, -1, 3))


def triangle_points(vertices: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """(b,M,3) vertices (b,V,3) at per-candidate indices ids (b,M)."""
    return torch.gather(vertices, 1, ids.unsqueeze(-1).expand(-1, -1, 3))


def closest_point_on_triangle(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor):
    """Closest point to p on triangle abc (all (...,3), broadcast); Ericson's region test.

    Differentiable w.r.t. p, a, b, c (piecewise smooth). Degenerate triangles fall back to
    their edges/vertices through the same region tests.
    """
    ab, ac, ap = b - a, c - a, p - a
    d1 = (ab * ap).sum(-1)
    d2 = (ac * ap).sum(-1)
    bp = p - b
    d3 = (ab * bp).sum(-1)
    d4 = (ac * bp).sum(-1)
    cp = p - c
    d5 = (ab * cp).sum(-1)
    d6 = (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    eps = 1e-20

    def safe_div(x, y):
        return x / torch.where(y.abs() < eps, torch.full_like(y, eps), y)

    # Interior: barycentric from the region numerators.
    denom = va + vb + vc
    v_in = safe_div(vb, denom)
    w_in = safe_div(vc, denom)
    result = a + v_in.unsqueeze(-1) * ab + w_in.unsqueeze(-1) * ac
    # Edge regions (later assignments win, so order from least to most specific).
    w_bc = safe_div(d4 - d3, (d4 - d3) + (d5 - d6))
    on_bc = (va <= 0) & ((d4 - d3) >= 0) & ((d5 - d6) >= 0)
    result = torch.where(on_bc.unsqueeze(-1), b + w_bc.unsqueeze(-1) * (c - b), result)
    w_ac = safe_div(d2, d2 - d6)
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    result = torch.where(on_ac.unsqueeze(-1), a + w_ac.unsqueeze(-1) * ac, result)
    v_ab = safe_div(d1, d1 - d3)
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    result = torch.where(on_ab.unsqueeze(-1), a + v_ab.unsqueeze(-1) * ab, result)
    # Vertex regions.
    result = torch.where(((d6 >= 0) & (d5 <= d6)).unsqueeze(-1), c, result)
    result = torch.where(((d3 >= 0) & (d4 <= d3)).unsqueeze(-1), b, result)
    result = torch.where(((d1 <= 0) & (d2 <= 0)).unsqueeze(-1), a, result)
    return result


def sample_mesh_surface(vertices: np.ndarray, triangles: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n area-weighted random points on a mesh (numpy, for metrics)."""
    v = np.asarray(vertices, dtype=np.float64)
    t = np.asarray(triangles, dtype=np.int64)
    if len(t) == 0:
        raise ValueError("sample_mesh_surface: the mesh has no triangles")
    a, b, c = v[t[:, 0]], v[t[:, 1]], v[t[:, 2]]
    area = np.linalg.norm(np.cross(b - a, c - a), axis=1)
    if area.sum() <= 0:
        raise ValueError("sample_mesh_surface: the mesh has zero area")
    rng = np.random.default_rng(seed)
    tri = rng.choice(len(t), size=n, p=area / area.sum())
    r = rng.uniform(size=(n, 2))
    flip = r.sum(1) > 1
    r[flip] = 1 - r[flip]
    return a[tri] + r[:, :1] * (b[tri] - a[tri]) + r[:, 1:] * (c[tri] - a[tri])
