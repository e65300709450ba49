"""Socket types, constants and Blender's implicit conversions between them.

Single values are batched tensors: FLOAT (B,) float, INT (B,) int64, BOOLEAN (B,) bool,
VECTOR and ROTATION (B, 3) float (rotations as Euler XYZ radians). GEOMETRY values are
`geometry.Piecewise` objects.
"""
from __future__ import annotations

import torch

SCALAR_TYPES = ("FLOAT", "INT", "BOOLEAN", "VECTOR", "ROTATION")
ALL_TYPES = SCALAR_TYPES + ("GEOMETRY",)

# Which implicit conversions Blender allows on a link (from -> to).
_CONVERTIBLE = {
    "FLOAT": {"FLOAT", "INT", "BOOLEAN", "VECTOR"},
    "INT": {"FLOAT", "INT", "BOOLEAN", "VECTOR"},
    "BOOLEAN": {"FLOAT", "INT", "BOOLEAN", "VECTOR"},
    "VECTOR": {"FLOAT", "INT", "BOOLEAN", "VECTOR", "ROTATION"},
    "ROTATION": {"VECTOR", "ROTATION"},
    "GEOMETRY": {"GEOMETRY"},
}


def can_convert(src: str, dst: str) -> bool:
    return dst in _CONVERTIBLE.get(src, ())


def convert(value, src: str, dst: str, dtype: torch.dtype):
    """Blender's implicit conversion of a link from a `src` socket to a `dst` socket."""
    if src == dst or (src, dst) in (("VECTOR", "ROTATION"), ("ROTATION", "VECTOR")):
        return value
    if src == "FLOAT":
        if dst == "INT":
            return torch.trunc(value).to(torch.int64)
        if dst == "BOOLEAN":
            return value > 0.0
        if dst == "VECTOR":
            return value[:, None].expand(-1, 3)
    if src in ("INT", "BOOLEAN"):
        if dst == "FLOAT":
            return value.to(dtype)
        if dst == "INT":
            return value.to(torch.int64)
        if dst == "BOOLEAN":
            return value > 0
        if dst == "VECTOR":
            return value.to(dtype)[:, None].expand(-1, 3)
    if src == "VECTOR":
        mean = value.sum(dim=1) / 3.0
        if dst == "FLOAT":
            return mean
        if dst == "INT":
            return torch.trunc(mean).to(torch.int64)
        if dst == "BOOLEAN":
            return (value != 0.0).any(dim=1)
    raise TypeError(f"no implicit conversion from {src} to {dst}")


def constant(value, type_: str, batch: int, dtype: torch.dtype, device) -> torch.Tensor:
    """A socket's stored value broadcast to the batch."""
    if type_ == "FLOAT":
        return torch.full((batch,), float(value), dtype=dtype, device=device)
    if type_ == "INT":
        return torch.full((batch,), int(value), dtype=torch.int64, device=device)
    if type_ == "BOOLEAN":
        return torch.full((batch,), bool(value), dtype=torch.bool, device=device)
    if type_ in ("VECTOR", "ROTATION"):
        vec = torch.as_tensor([float(x) for x in value], dtype=dtype, device=device)
        return vec.expand(batch, 3)
    raise TypeError(f"no constant of socket type {type_}")
