"""gsplat-style densification of free Gaussians: gsplat's `DefaultStrategy` (the adaptive density
control of 3DGS) on a `BackgroundGaussians` and the Adam optimiser that holds its parameters.

After every backward pass (`step_post_backward`) the norm of each visible Gaussian's 2D mean
gradient is accumulated, in gsplat's units (pixels scaled by width/2 and height/2). Every
`refine_every` steps after `refine_start_iter` and before `refine_stop_iter`, Gaussians whose mean
gradient exceeds `grow_grad2d` grow -- the small ones (largest scale <= grow_scale3d * scene_scale)
are duplicated, the others split into two, drawn from the Gaussian, with scales / 1.6 -- then those
with opacity below `prune_opa` are removed (and, once past the first opacity reset, those larger
than prune_scale3d * scene_scale), and the accumulators restart. Every `reset_every` steps the
opacities are clamped to 2 prune_opa. New Gaussians start with zero Adam moments, as in gsplat.

Defaults are gsplat's (schedules for 30k-step runs; short runs pass shorter ones). Not implemented:
gsplat's 2D-radius criteria (`refine_scale2d_stop_iter`, off by default there), `absgrad`,
`revised_opacity`. Added: `cap_max`, an upper bound on the count (gsplat's MCMC strategy has one,
its default one does not): when growth would pass it, the highest-gradient candidates grow first.
The accumulators are not part of a checkpoint (a resumed run restarts them).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

PARAMS = ("means", "quats", "log_scales", "opacity_logits", "sh0", "shN")


def quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    """(N,4) wxyz quaternions (any norm) -> (N,3,3) rotation matrices."""
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True).clamp(min=1e-12)).unbind(-1)
    return torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1).reshape(-1, 3, 3)


@torch.no_grad()
def _update(gaussians, optimizer, param_fn, moment_fn, names: tuple = PARAMS) -> None:
    """Replace every parameter `names` of `gaussians` by param_fn(name, tensor) and its Adam moments (in
    whichever param group of `optimizer` holds it) by moment_fn(tensor)."""
    for name in names:
        old = getattr(gaussians, name)
        new = nn.Parameter(param_fn(name, old.detach()), requires_grad=old.requires_grad)
        setattr(gaussians, name, new)
        if optimizer is None:
            continue
        for group in optimizer.param_groups:
            for k, p in enumerate(group["params"]):
                if p is old:
                    group["params"][k] = new
                    state = optimizer.state.pop(old, None)
                    if state:
                        optimizer.state[new] = {key: (moment_fn(v) if torch.is_tensor(v) and v.dim() > 0
                                                      and v.shape[0] == old.shape[0] else v)
                                                for key, v in state.items()}


@dataclass
class DensifyStrategy:
    """gsplat's DefaultStrategy for `BackgroundGaussians` (see the module doc)."""

    prune_opa: float = 0.005
    """Gaussians below this opacity are pruned."""
    grow_grad2d: float = 0.0002
    """Mean 2D gradient above which a Gaussian grows."""
    grow_scale3d: float = 0.01
    """Largest scale (times scene_scale) up to which a growing Gaussian is duplicated, not split."""
    prune_scale3d: float = 0.1
    """After the first opacity reset, Gaussians larger than this (times scene_scale) are pruned."""
    refine_start_iter: int = 500
    refine_stop_iter: int = 15_000
    reset_every: int = 3000
    refine_every: int = 100
    cap_max: Optional[int] = None
    """At most this many Gaussians (None: no bound, as in gsplat)."""

    def initialize_state(self, scene_scale: float = 1.0) -> dict:
        return {"grad2d": None, "count": None, "scene_scale": float(scene_scale)}

    def step_pre_backward(self, info: dict) -> None:
        """Keep the gradient of the 2D means (`info` is the rasteriser's meta)."""
        info["means2d"].retain_grad()

    @torch.no_grad()
    def step_post_backward(self, gaussians, optimizer, state: dict, step: int, info: dict,
                           offset: int = 0) -> dict:
        """Accumulate, and refine when the schedule says so. `step` counts from 0 (gsplat's); `info`
        holds means2d (C,N,2, with its gradient), radii (C,N,2 or C,N), width, height, n_cameras; rows
        offset..offset+len(gaussians) of them are these Gaussians. Returns what changed (counts)."""
        if step >= self.refine_stop_iter:
            return {}
        self._accumulate(gaussians, state, info, offset)
        done = {}
        if step > self.refine_start_iter and step % self.refine_every == 0:
            done["duplicated"], done["split"] = self._grow(gaussians, optimizer, state)
            done["pruned"] = self._prune(gaussians, optimizer, state, step)
            state["grad2d"].zero_()
            state["count"].zero_()
        if step % self.reset_every == 0 and step > 0:
            self.reset_opacity(gaussians, optimizer, 2 * self.prune_opa)
            done["opacity_reset"] = True
        return done

    def _accumulate(self, gaussians, state: dict, info: dict, offset: int) -> None:
        n = len(gaussians.means)
        if state["grad2d"] is None or len(state["grad2d"]) != n:
            state["grad2d"] = torch.zeros(n, device=gaussians.means.device)
            state["count"] = torch.zeros(n, device=gaussians.means.device)
        grad = info["means2d"].grad
        if grad is None:
            return
        grad = grad[:, offset:offset + n].clone()
        grad[..., 0] *= info["width"] / 2.0 * info["n_cameras"]
        grad[..., 1] *= info["height"] / 2.0 * info["n_cameras"]
        radii = info["radii"][:, offset:offset + n]
        visible = (radii > 0).all(-1) if radii.dim() == 3 else radii > 0
        ids = torch.where(visible)[1]
        state["grad2d"].index_add_(0, ids, grad[visible].norm(dim=-1).to(state["grad2d"].dtype))
        state["count"].index_add_(0, ids, torch.ones_like(ids, dtype=state["count"].dtype))

    def _grow(self, gaussians, optimizer, state: dict) -> tuple[int, int]:
        grads = state["grad2d"] / state["count"].clamp_min(1)
        high = grads > self.grow_grad2d
        small = torch.exp(gaussians.log_scales).max(dim=-1).values <= self.grow_scale3d * state["scene_scale"]
        if self.cap_max is not None:  # the highest gradients first, within the bound
            room = max(self.cap_max - len(gaussians.means), 0)
            candidates = torch.where(high)[0]
            if len(candidates) > room:
                keep = candidates[torch.argsort(grads[candidates], descending=True)[:room]]
                high = torch.zeros_like(high)
                high[keep] = True
        dupli, split = high & small, high & ~small
        n_dupli, n_split = int(dupli.sum()), int(split.sum())
        if n_dupli:
            self.duplicate(gaussians, optimizer, state, dupli)
            split = torch.cat([split, torch.zeros(n_dupli, dtype=torch.bool, device=split.device)])
        if n_split:
            self.split(gaussians, optimizer, state, split)
        return n_dupli, n_split

    def _prune(self, gaussians, optimizer, state: dict, step: int) -> int:
        prune = torch.sigmoid(gaussians.opacity_logits) < self.prune_opa
        if step > self.reset_every:
            too_big = torch.exp(gaussians.log_scales).max(dim=-1).values > self.prune_scale3d * state["scene_scale"]
            prune |= too_big
        n = int(prune.sum())
        if n:
            self.remove(gaussians, optimizer, state, prune)
        return n

    # -- operations (gsplat.strategy.ops) ------------------------------------------------------------
    @staticmethod
    @torch.no_grad()
    def duplicate(gaussians, optimizer, state: dict, mask: torch.Tensor) -> None:
        sel = torch.where(mask)[0]
        _update(gaussians, optimizer, lambda name, p: torch.cat([p, p[sel]]),
                lambda v: torch.cat([v, torch.zeros_like(v[sel])]))
        for key in ("grad2d", "count"):
            if state.get(key) is not None:
                state[key] = torch.cat([state[key], state[key][sel]])

    @staticmethod
    @torch.no_grad()
    def split(gaussians, optimizer, state: dict, mask: torch.Tensor) -> None:
        """Each selected Gaussian becomes two, drawn from it, with scales / 1.6 (the rest keep their order;
        the new ones go last)."""
        sel, rest = torch.where(mask)[0], torch.where(~mask)[0]
        scales = torch.exp(gaussians.log_scales.detach()[sel])
        rot = quat_to_rotmat(gaussians.quats.detach()[sel])
        noise = torch.randn(2, len(sel), 3, dtype=scales.dtype, device=scales.device)
        samples = torch.einsum("nij,nj,bnj->bni", rot, scales, noise)

        def param_fn(name, p):
            if name == "means":
                new = (p[sel] + samples).reshape(-1, p.shape[1])
            elif name == "log_scales":
                new = torch.log(scales / 1.6).repeat(2, 1)
            else:
                new = p[sel].repeat(2, *[1] * (p.dim() - 1))
            return torch.cat([p[rest], new])

        _update(gaussians, optimizer, param_fn,
                lambda v: torch.cat([v[rest], torch.zeros((2 * len(sel), *v.shape[1:]), dtype=v.dtype,
                                                          device=v.device)]))
        for key in ("grad2d", "count"):
            if state.get(key) is not None:
                state[key] = torch.cat([state[key][rest], state[key][sel].repeat(2)])

    @staticmethod
    @torch.no_grad()
    def remove(gaussians, optimizer, state: dict, mask: torch.Tensor) -> None:
        keep = torch.where(~mask)[0]
        _update(gaussians, optimizer, lambda name, p: p[keep], lambda v: v[keep])
        for key in ("grad2d", "count"):
            if state.get(key) is not None:
                state[key] = state[key][keep]

    @staticmethod
    @torch.no_grad()
    def reset_opacity(gaussians, optimizer, value: float) -> None:
        """Opacities clamped to at most `value`; their Adam moments zeroed."""
        cap = torch.logit(torch.tensor(value, dtype=gaussians.opacity_logits.dtype)).item()
        old = gaussians.opacity_logits
        old.data.clamp_(max=cap)
        if optimizer is not None and old in optimizer.state:
            for key, v in optimizer.state[old].items():
                if torch.is_tensor(v) and v.dim() > 0:
                    v.zero_()


# -- anchored Gaussians -------------------------------------------------------------------------------
@torch.no_grad()
def contributions(model, views: list, backend: str = "auto") -> list:
    """Per anchored set of `model`, (n,) each Gaussian's blending weight (alpha x transmittance) summed
    over the pixels of `views` [(viewmat (4,4), K (3,3), width, height)]: LightGaussian's global
    significance (Fan et al. 2023), the gradient of the rendered image w.r.t. a constant colour."""
    from procsplat.splat.rasterize import rasterize

    g, ranges = model.gaussians()
    dev = g.means.device
    means, quats = g.means.float(), g.quats.float()
    scales, opacities = torch.exp(g.log_scales).float(), torch.sigmoid(g.opacity_logits).float()
    colour = torch.ones(len(g), 3, device=dev, requires_grad=True)
    with torch.enable_grad():
        for viewmat, K, width, height in views:
            img, _, _ = rasterize(means, quats, scales, opacities, colour, viewmat[None].to(dev, torch.float32),
                                  K[None].to(dev, torch.float32), width, height, backend=backend)
            img[..., 0].sum().backward()
    total = colour.grad[:, 0].double().cpu() if colour.grad is not None else torch.zeros(len(g), dtype=torch.float64)
    return [total[a:b] for a, b in ranges]


@torch.no_grad()
def prune_anchored(model, optimizer, views: list, fraction: float, backend: str = "auto") -> list:
    """Remove from every anchored set the `fraction` of its Gaussians that contribute least to `views`
    (`contributions`); the Adam moments of the rest are kept. Returns how many were removed per set."""
    from procsplat.splat.model import ANCHORED_FIELDS

    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"prune_anchored: fraction must be in [0, 1), got {fraction!r}")
    removed = []
    for a, c in zip(model.anchored, contributions(model, views, backend)):
        drop = int(fraction * len(c))
        if drop == 0:
            removed.append(0)
            continue
        keep = torch.sort(torch.argsort(c, descending=True)[:len(c) - drop]).values.to(a.face.device)
        a.face = a.face[keep].clone()
        _update(a, optimizer, lambda name, p: p[keep], lambda v: v[keep], names=ANCHORED_FIELDS)
        removed.append(drop)
    return removed
