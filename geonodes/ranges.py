"""A parameter's two kinds of bounds (torch-free: the Blender importer uses it too).

- The *search range* (`min`/`max` in the IR) is where samplers, fitting and viewer sliders look:
  it comes from a spec file, or is derived by `derived_range`. It is not a validity limit: a
  value outside it evaluates (the CLI warns).
- The *limits* are what Blender accepts for the modifier input. `soft` is the interface
  socket's min/max (Blender's sliders stop there, typed values may go beyond); `hard` is the
  modifier property's range: float32's finite range for floats, int32's for ints. Blender
  evaluates every value within `hard` unclamped; a value outside it is an error here.
"""
from __future__ import annotations

import math
import struct

FLOAT_MAX = 3.4028234663852886e38  # float32's largest finite value (Blender's FLT_MAX)
INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
HARD_LIMITS = {"float": (-FLOAT_MAX, FLOAT_MAX), "int": (INT_MIN, INT_MAX)}
# A soft limit this far from 0 means "no limit": Blender's defaults are +-FLT_MAX, the int32
# extremes, and +-10000 (copied from Combine XYZ and similar sockets when an input is made).
NO_LIMIT = 1e4


def float32_shortest(x: float) -> float:
    """The shortest decimal that rounds to the same float32 as `x` (0.6000000238418579 -> 0.6).

    Blender stores float inputs as float32; reading them back gives the same float32."""
    x = float(x)
    if not math.isfinite(x) or abs(x) > FLOAT_MAX:
        return x
    (target,) = struct.unpack("<f", struct.pack("<f", x))
    for digits in range(1, 10):
        y = float(f"{x:.{digits}g}")
        try:
            if struct.unpack("<f", struct.pack("<f", y))[0] == target and abs(y) <= FLOAT_MAX:
                return y
        except OverflowError:  # rounds past float32's largest value
            continue
    return target


def is_bound(limit) -> bool:
    return limit is not None and math.isfinite(limit) and abs(limit) < NO_LIMIT


def derived_range(kind: str, saved, soft=None) -> tuple:
    """A search range for a parameter without one (no spec), by this rule:

    - bool: false..true.
    - if both soft limits are bounds (|limit| < 1e4; Blender's "no limit" defaults are
      larger): the soft limits;
    - otherwise around the saved value x: a float x > 0 gives [x/2, 2x], x < 0 gives
      [2x, x/2], x = 0 gives [-1, 1]; an int gives [x-2, x+2]; clipped to the soft limit
      that is a bound;
    - the range always contains the saved value.
    """
    if kind == "bool":
        return 0, 1
    lo_b, hi_b = soft if soft is not None else (None, None)
    lo_b = lo_b if is_bound(lo_b) else None
    hi_b = hi_b if is_bound(hi_b) else None
    if lo_b is not None and hi_b is not None:
        lo, hi = lo_b, hi_b
    else:
        if kind == "int":
            lo, hi = saved - 2, saved + 2
        elif saved > 0:
            lo, hi = saved / 2, saved * 2
        elif saved < 0:
            lo, hi = saved * 2, saved / 2
        else:
            lo, hi = -1.0, 1.0
        lo = lo if lo_b is None else max(lo, lo_b)
        hi = hi if hi_b is None else min(hi, hi_b)
    lo, hi = min(lo, saved), max(hi, saved)
    if kind == "int":
        return int(math.ceil(lo)), int(math.floor(hi))
    return float(lo), float(hi)


def format_number(x) -> str:
    return str(x) if isinstance(x, int) and not isinstance(x, bool) else f"{x:g}"


def format_bounds(lo, hi) -> str:
    return f"[{format_number(lo)}, {format_number(hi)}]"
