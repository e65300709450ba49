"""Socket types, constants and Blender's implicit conversions between them.

Single values are batched tensors: FLOAT (B,) float, INT (B,) int64, BOOLEAN (B,) bool,
VECTOR and ROTATION (B, 3) float (rotations as Euler XYZ radians). GEOMETRY values are
`geometry.Piecewise` objects; opaque values (materials, strings, colours) are `Opaque`.
A value that differs per geometry element is a `fields.Field`.
"""
from __future__ import annotations

import torch

from .fields import Field
from .node_types import ALL_TYPES, OPAQUE_TYPES, SCALAR_TYPES  # noqa: F401  (re-exported)

# Which implicit conversions Blender allows on a link (from -> to). Single values convert to
# colours (RGBA), which are then opaque; opaque values link only to their own type.
_CONVERTIBLE = {
    "FLOAT": {"FLOAT", "INT", "BOOLEAN", "VECTOR", "RGBA"},
    "INT": {"FLOAT", "INT", "BOOLEAN", "VECTOR", "RGBA"},
    "BOOLEAN": {"FLOAT", "INT", "BOOLEAN", "VECTOR", "RGBA"},
    "VECTOR": {"FLOAT", "INT", "BOOLEAN", "VECTOR", "ROTATION", "RGBA"},
    "ROTATION": {"VECTOR", "ROTATION"},
    "GEOMETRY": {"GEOMETRY"},
    **{t: {t} for t in OPAQUE_TYPES},
}


class Opaque:
    """The value of an opaque socket (geonodes.node_types.OPAQUE_TYPES): kept, never computed
    with. `value` is what the IR stores (an ID's name, a string, a colour) or None."""

    __slots__ = ("type", "value")

    def __init__(self, type_: str, value):
        self.type, self.value = type_, value

    def __repr__(self) -> str:
        return f"Opaque({self.type}, {self.value!r})"


def can_convert(src: str, dst: str) -> bool:
    return dst in _CONVERTIBLE.get(src, ())


def convert(value, src: str, dst: str, dtype: torch.dtype):
    """Blender's implicit conversion of a link from a `src` socket to a `dst` socket."""
    if src == dst or (src, dst) in (("VECTOR", "ROTATION"), ("ROTATION", "VECTOR")):
        return value
    if dst in OPAQUE_TYPES:
        return Opaque(dst, None)
    if type(value) is Field:  # converted per element
        return Field(lambda ctx: convert(ctx.value(value), src, dst, dtype))
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
    if type_ in OPAQUE_TYPES:
        return Opaque(type_, tuple(value) if isinstance(value, list) else value)
    raise TypeError(f"no constant of socket type {type_}")
