"""Model tensors -> the arrays viser draws (float32 numpy), and scene node names."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from procsplat.splat.model import SH_C0, GaussianSet


def quats_to_matrices(q: np.ndarray) -> np.ndarray:
    """(N,4) wxyz (any norm) -> (N,3,3) rotation matrices."""
    q = q / np.clip(np.linalg.norm(q, axis=1, keepdims=True), 1e-12, None)
    w, x, y, z = q.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], 1)


def splat_arrays(g: GaussianSet) -> dict:
    """centers (N,3), covariances (N,3,3), rgbs (N,3) in [0,1], opacities (N,1): what add_gaussian_splats takes.

    viser has no spherical harmonics: colours are the view-independent (degree 0) term.
    """
    with torch.no_grad():
        means = g.means.detach().double().numpy()
        rot = quats_to_matrices(g.quats.detach().double().numpy())
        s2 = np.exp(2 * g.log_scales.detach().double().numpy())
        cov = np.einsum("nij,nj,nkj->nik", rot, s2, rot)
        rgb = np.clip(0.5 + SH_C0 * g.sh0.detach().double().numpy()[:, 0, :], 0, 1)
        opacity = torch.sigmoid(g.opacity_logits.detach().double()).numpy()[:, None]
    return {"centers": means.astype(np.float32), "covariances": cov.astype(np.float32),
            "rgbs": rgb.astype(np.float32), "opacities": opacity.astype(np.float32)}


def mesh_arrays(mesh) -> tuple[np.ndarray, np.ndarray]:
    v, t, _ = mesh
    return v.detach().numpy().astype(np.float32), t.detach().numpy().astype(np.uint32)


def object_label(instance_id: int, category: str, program: str = "") -> str:
    """'3_chair': ids keep names unique, the category (or program file stem) keeps them readable."""
    name = category or program or "object"
    if "/" in name or name.endswith(".json"):
        name = Path(name).stem
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "object"
    return f"{instance_id}_{name}"


def object_node(instance_id: int, category: str, program: str = "") -> str:
    return f"/objects/{object_label(instance_id, category, program)}"
