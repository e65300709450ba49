"""Replays for batches of new parameter sets: rows laid out in slots by their integer values.

A search brings new parameter sets on every call, so the replays keyed by a batch's integer
values (replay.py) never see a batch twice and every call runs the full evaluator. But a
population mixes few combinations of integer values ("combos": a chair's 16), so its rows
sorted into one slot per combo, each slot of a fixed capacity and padded to it, make a
batch whose integer values are the same call after call: that padded batch replays, whatever
the population's float values and however many rows of each combo it brings.

Exact because a row evaluates to the same bits whatever else its batch holds (every row's
values come from the same element-wise ops in the same order: tests/test_program.py's batch
of 1,024 against single calls): the padded batch's real rows are the batch's rows, taken
back out of the groups in their order. Padding rows repeat row 0's floats, detached (no
gradient reaches a parameter from them), with their slot's integer values. A layout grows
(and then records again) when a batch brings a new combo or more rows of one than its slot
holds; one much larger than the batch is not used (see `Padding.layout`).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .geometry import Rows


class Layout:
    """Slots of a padded batch: combo (integer values, in parameter order) -> capacity, in
    sorted combo order; the padded integer value tensors are built once and shared."""

    def __init__(self, caps: dict, kinds: list, device):
        self.caps = caps
        self.combos = sorted(caps)
        self.key = tuple((c, caps[c]) for c in self.combos)
        self.start, pos = {}, 0
        for c in self.combos:
            self.start[c] = pos
            pos += caps[c]
        self.size = pos
        cols = np.array([c for c in self.combos for _ in range(caps[c])], dtype=np.int64).reshape(pos, -1).T
        self.values = [torch.as_tensor(col, device=device).to(torch.bool if kind == "bool" else torch.int64)
                       for col, kind in zip(cols, kinds)]


class Padding:
    """A program's layout per device, grown as populations need; `plan` places a batch."""

    # A slot holds its combo's rows of the batch that made it plus this many standard deviations
    # of a binomial count (new populations of the same mixture rarely overflow it), in steps of 8.
    SLACK = 4.0
    # Layouts of more rows than this times the batch are not used (the full evaluator is cheaper).
    MAX_GROWTH = 2.0

    def __init__(self, enabled: bool = True):
        self.enabled = enabled  # False: a program whose parts have explicit positions (not padded)
        self._layouts: dict = {}  # (device, kinds) -> Layout
        self.pieces: dict = {}  # real_rows' cache

    def plan(self, ints: list, kinds: list, batch: int, device):
        """(layout, src, orig) for integer value columns `ints` (numpy (B,) each): padded row p
        takes float row src[p] (B + r: row r, detached) and is batch row orig[p] (-1: padding);
        None where no layout of at most MAX_GROWTH x batch rows holds the batch."""
        if not self.enabled:
            return None
        cols = np.stack([a.astype(np.int64, copy=False) for a in ints])  # (K, B)
        lo = cols.min(1)
        span = cols.max(1) - lo + 1
        if math.prod(int(s) for s in span) <= 4 * batch:  # combos as small ints: counted, not sorted
            mult = np.cumprod(np.concatenate([[1], span[:-1]])).astype(np.int64)
            keys = mult @ (cols - lo[:, None])
            counts = np.bincount(keys)
            present = np.flatnonzero(counts)
            counts = counts[present]
            inverse = np.zeros(counts.shape[0] and int(present[-1]) + 1, dtype=np.int64)
            inverse[present] = np.arange(present.shape[0])
            inverse = inverse[keys]
            combos = [tuple(x) for x in ((present[:, None] // mult) % span + lo).tolist()]
        else:
            keys = np.ascontiguousarray(cols.T).view(np.dtype((np.void, 8 * cols.shape[0]))).reshape(-1)
            _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True,
                                                  return_counts=True)
            inverse = inverse.reshape(-1)
            combos = [tuple(x) for x in cols[:, first].T.tolist()]
        if 8 * counts.shape[0] > self.MAX_GROWTH * batch:  # too many combos for slots of >= 8 rows
            return None
        counts_list = counts.tolist()
        slot = (str(device), tuple(kinds))
        layout = self._layouts.get(slot)
        if layout is None or any(layout.caps.get(c, 0) < n for c, n in zip(combos, counts_list)):
            caps = {} if layout is None else dict(layout.caps)
            for c, n in zip(combos, counts_list):
                if caps.get(c, 0) < n:  # (a slot that overflowed grows by a quarter at least)
                    caps[c] = max(_capacity(n, self.SLACK), -(-caps.get(c, 0) * 5 // 32) * 8)
            if sum(caps.values()) > self.MAX_GROWTH * batch:  # a population moved: its own combos only
                caps = {c: _capacity(n, self.SLACK) for c, n in zip(combos, counts_list)}
                if sum(caps.values()) > self.MAX_GROWTH * batch:
                    return None
            layout = self._layouts[slot] = Layout(caps, kinds, device)
        elif layout.size > self.MAX_GROWTH * batch:
            return None
        order = np.argsort(inverse, kind="stable")  # rows by combo, ascending within each
        starts = np.array([layout.start[c] for c in combos], dtype=np.int64)
        by_combo = inverse[order]
        pos = (starts - np.cumsum(counts) + counts)[by_combo] + np.arange(batch)
        src = np.full(layout.size, batch, dtype=np.int64)
        src[pos] = order
        orig = np.full(layout.size, -1, dtype=np.int64)
        orig[pos] = order
        return layout, src, orig


def _capacity(n: int, slack: float) -> int:
    return -(-int(n + slack * math.sqrt(n) + 1) // 8) * 8


def padded_floats(floats: list, src: torch.Tensor) -> list:
    """Each (B,) float tensor's padded (B',) rows: src < B its rows, src >= B row src - B
    detached. Floats that require grad and those that do not are stacked apart (so padding
    makes none require grad that did not)."""
    out = [None] * len(floats)
    for wants in (True, False):
        which = [i for i, t in enumerate(floats) if t.requires_grad is wants]
        if not which:
            continue
        stacked = torch.stack([floats[i] for i in which])  # (P, B)
        both = torch.cat([stacked, stacked.detach()], 1) if wants else torch.cat([stacked, stacked], 1)
        for i, row in zip(which, both.index_select(1, src).unbind(0)):
            out[i] = row
    return out


def real_rows(pieces: list, orig: np.ndarray, device, cache: dict) -> tuple:
    """The batch's pieces from the padded batch's [(rows, struct)]: ([(first batch row, struct)]
    of those with rows of the batch, by first row; their row counts; rows_of(some of them) ->
    (their padded rows one after another, each's batch rows)), for Program._piece_vertices.
    `cache` keeps the padded rows of pieces (the same objects on every replay of a recording)."""
    known = cache.get(id(pieces))
    if known is None or known[0] is not pieces:
        if len(cache) >= 16:
            cache.clear()
        sizes = [r.bits.bit_count() for r, _ in pieces]
        known = cache[id(pieces)] = (pieces, Rows.indexes([r for r, _ in pieces])[0].numpy(),
                                     np.repeat(np.arange(len(pieces)), sizes))
    _, padded, group = known
    rows = orig[padded]
    keep = np.flatnonzero(rows >= 0)
    order = keep[np.argsort(group[keep] * orig.shape[0] + rows[keep], kind="stable")]  # by piece, then row
    taken, batch_rows = padded[order], rows[order]
    kept = np.bincount(group[keep], minlength=len(pieces)).tolist()
    out, spans, end = [], {}, 0
    for (_, struct), n in zip(pieces, kept):
        if n:
            out.append((int(batch_rows[end]), struct))
            spans[id(out[-1])] = (end, end + n)
            end += n
    out.sort(key=lambda piece: piece[0])
    counts = [spans[id(piece)][1] - spans[id(piece)][0] for piece in out]

    def rows_of(sets: list) -> tuple:
        at = [spans[id(piece)] for piece in sets]
        if len(at) == len(out) and all(a[1] == b[0] for a, b in zip(at, at[1:])):  # in piece order
            every, each = taken, batch_rows
        else:
            at = np.concatenate([np.arange(a, b) for a, b in at])
            every, each = taken[at], batch_rows[at]
        return (torch.as_tensor(every, device=device),
                torch.as_tensor(each, device=device).split_with_sizes([b - a for a, b in
                                                                         (spans[id(p)] for p in sets)]))

    return out, counts, rows_of
