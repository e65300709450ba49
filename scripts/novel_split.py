"""Where the procedural model's novel-view error on object pixels lies (one `scripts/bench_splat.py` scene).

    python scripts/novel_split.py [--seed 8] [--steps 200]

Trains bench_splat's variant (a) (procedural, joint shape, completed) on one scene and splits the squared
error of its novel views on object pixels by what the training frames saw of the true surface at each
pixel: `unseen` (no training frame sees the point, `procsplat.geometry.visible_in_frame`, 5 cm depth
tolerance), `weak` (seen, but at best at `--weak-px-per-m` pixels per metre across the surface or less:
focal length x |cos(view ray, face normal)| / depth, the best over the frames: edge-on or far) and `seen`;
and by geometry (`depth bad`: the rendered expected depth more than 5 cm off the true depth). Prints per
object and class the share of pixels and of squared error and the mean squared error, and the novel
object PSNR (mean over views, as bench_splat) if each class were rendered perfectly: the most any change
confined to that class could gain.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import tyro

from procsplat.geometry import visible_in_frame
from procsplat.train import bench_splat as B


@dataclass
class NovelSplitConfig:
    seed: int = 8
    steps: int = 200
    weak_px_per_m: float = 21.7
    """`weak`: seen at best at this many pixels per metre across the surface or fewer (bench: 0.15 x f)."""
    out: Path = Path("/tmp/procsplat_novel_split")


def best_resolution(points: np.ndarray, normals: np.ndarray, frames: list) -> np.ndarray:
    """(n,) the most pixels per metre across the surface any frame that sees each point gives (0: none)."""
    best = np.zeros(len(points))
    for _, depth, K, c2w in frames:
        vis = visible_in_frame(points, depth, K, c2w)[0]
        ray = points - np.asarray(c2w)[:3, 3]
        cos = np.abs((ray * normals).sum(1)) / np.linalg.norm(ray, axis=1)
        z = (ray @ np.asarray(c2w)[:3, :3])[:, 2]
        best = np.where(vis, np.maximum(best, K[0, 0] * cos / np.maximum(z, 1e-3)), best)
    return best


def main(cfg: NovelSplitConfig) -> None:
    torch.set_num_threads(1)
    bc = B.BenchSplatConfig(seeds=(cfg.seed,), steps=cfg.steps, out=cfg.out)
    bench = B.SceneBench(bc, cfg.seed)
    start = B.perturbed(bench.truth, bc.perturb_cm / 100.0, cfg.seed)
    fits = Path(bc.out) / "runs" / f"{bench.path.name}_start.json"
    fits.parent.mkdir(parents=True, exist_ok=True)
    fits.write_text(json.dumps({"objects": [s.to_json() for s in start]}))
    a, _ = B.train(bc, bench, "a", fits_from=fits, joint_shape=True, init=bc.init, convert=bc.convert,
                   complete=bc.complete)
    frames = a.training_frames()
    mesh = bench.gt.mesh()
    V, T = np.asarray(mesh.vertices, np.float64), np.asarray(mesh.triangles)
    face_normal = np.cross(V[T[:, 1]] - V[T[:, 0]], V[T[:, 2]] - V[T[:, 0]])
    face_normal /= np.maximum(np.linalg.norm(face_normal, axis=1, keepdims=True), 1e-12)
    classes = ("seen", "weak", "unseen")
    tot, perfect, psnr = {}, {c: [] for c in classes + ("depth bad",)}, []
    K = bench.K
    for c2w, truth in zip(bench.novel, bench.truth_views["novel"]):
        rgb, depth = B.render(a.model, c2w, K, bc.width, bc.height)
        rgb, depth = rgb.clamp(0, 1).numpy(), depth.numpy()
        t_rgb, t_depth, t_id = truth["rgb"].astype(np.float32) / 255.0, truth["depth"], truth["id"]
        obj = np.isin(t_id, bench.ids) & (t_depth > 0)
        if not obj.any():
            continue
        rows, cols = np.nonzero(obj)
        ray = np.stack([(cols + 0.5 - K[0, 2]) / K[0, 0], (rows + 0.5 - K[1, 2]) / K[1, 1], np.ones(len(rows))], 1)
        pts = (ray * t_depth[obj][:, None]) @ np.asarray(c2w)[:3, :3].T + np.asarray(c2w)[:3, 3]
        res = best_resolution(pts, face_normal[truth["face"][obj]], frames)
        cls = np.where(res <= 0, 2, np.where(res < cfg.weak_px_per_m, 1, 0))
        se = ((rgb[obj] - t_rgb[obj]) ** 2).sum(1)
        bad = np.abs(depth[obj] - t_depth[obj]) > 0.05
        to_db = lambda kept: -10 * np.log10(max(kept.sum() / (3 * len(se)), 1e-10))
        psnr.append(to_db(se))
        for k, c in enumerate(classes):
            perfect[c].append(to_db(np.where(cls == k, 0.0, se)))
        perfect["depth bad"].append(to_db(np.where(bad, 0.0, se)))
        for oid in bench.ids:
            for k, c in enumerate(classes):
                for g, sel in (("depth ok", ~bad), ("depth bad", bad)):
                    m = (t_id[obj] == oid) & (cls == k) & sel
                    key = (oid, c, g)
                    n0, e0 = tot.get(key, (0, 0.0))
                    tot[key] = (n0 + int(m.sum()), e0 + float(se[m].sum()))
    n_all = sum(n for n, _ in tot.values())
    e_all = sum(e for _, e in tot.values())
    print(f"seed {cfg.seed}, {cfg.steps} steps, {len(psnr)} novel views: (a) novel object PSNR {np.mean(psnr):.2f} dB")
    print("  if rendered perfectly on: " + ", ".join(f"{c} {np.mean(v):.2f} dB" for c, v in perfect.items()))
    for (oid, c, g), (n, e) in tot.items():
        print(f"  object {oid} {c:6s} {g:9s}: pixels {100 * n / n_all:5.1f} %, squared error {100 * e / e_all:5.1f} %, "
              f"mse {e / max(3 * n, 1):.4f}")


if __name__ == "__main__":
    main(tyro.cli(NovelSplitConfig))
