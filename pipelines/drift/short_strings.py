"""Exact counts of short strings, read as 64-bit words instead of hashed one by one.

Category columns are mostly short codes. A string of at most 8 UTF-8 bytes with no NUL byte is
fully described by its bytes packed little-endian into a uint64 (zero-padded; "" is 0), so
counting the words counts the strings. Packing reads arrow's buffers with numpy (a strided view
when every string has the same length, one gather otherwise), and a collision-free
multiplicative hash over the words seen so far turns each word into a slot for np.bincount.
Measured on the benchmark VM, 50k rows of 150 categories: 0.8 ms for fixed-width codes against
1.6 ms for pyarrow's value_counts, 1.4 ms against 2.1 ms for mixed widths. Anything else
(longer strings, NUL bytes, more than MAX_KEYS distinct values, a big-endian machine) returns
None and the caller uses pyarrow.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa

MAX_BYTES = 8
# The hash table has ~2k^2 slots for k keys (that makes a collision-free multiplier easy to
# find); 512 keys -> 2^20 slots, 8 MB per column at most. More categories go to pyarrow.
MAX_KEYS = 512
_MULTIPLIERS = np.random.default_rng(20261122).integers(1, 2**63, 64, dtype=np.uint64) * 2 + 1
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(MAX_BYTES)] + [2**64 - 1], np.uint64)


class WordCounter:
    """Counts one column's strings across chunks; keys and labels persist between chunks."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)  # distinct words, in first-seen order
        self.labels: list[str] = []
        self.disabled = sys.byteorder != "little"
        self._table = np.zeros(0, dtype=np.intp)
        self._mult = np.uint64(1)
        self._shift = np.uint64(63)

    def count(self, arr: pa.Array) -> tuple[list[str], list[int]] | None:
        """(labels, counts) of the non-null strings in arr, or None if arr does not qualify."""
        if self.disabled or not _is_text(arr.type):
            return None
        words = _pack(arr)
        if words is None:
            self.disabled = True  # a column with long strings or NUL bytes stays on pyarrow
            return None
        slots = self._slots(words)
        if slots is None:
            if not self._add_keys(words):
                self.disabled = True  # too many distinct values: pyarrow's hash table
                return None
            slots = self._slots(words)
            assert slots is not None  # every word now has its own slot
        counts = np.bincount(slots, minlength=self.keys.size)
        present = np.flatnonzero(counts)
        return [self.labels[i] for i in present], counts[present].tolist()

    def _slots(self, words: np.ndarray) -> np.ndarray | None:
        """Each word's key index, or None if some word is not a key yet."""
        if not words.size:
            return np.zeros(0, dtype=np.intp)
        if not self.keys.size:
            return None
        # the hash is below 2**bits, so its int64 view indexes without a cast
        slots = self._table.take(((words * self._mult) >> self._shift).view(np.int64))
        # an absent word may land on an empty slot (-1) or on another key's slot
        if (slots.min() < 0) or not np.array_equal(self.keys.take(slots), words):
            return None
        return slots

    def _add_keys(self, words: np.ndarray) -> bool:
        new = np.setdiff1d(words, self.keys)
        if self.keys.size + new.size > MAX_KEYS:
            return False
        self.keys = np.concatenate([self.keys, new])
        self.labels += [_label(w) for w in new]
        self._rebuild()
        return True

    def _rebuild(self) -> None:
        bits = max(int(2 * self.keys.size**2).bit_length(), 4)
        while True:
            shift = np.uint64(64 - bits)
            for mult in _MULTIPLIERS:
                slots = (self.keys * mult) >> shift
                if np.unique(slots).size == self.keys.size:
                    table = np.full(1 << bits, -1, dtype=np.intp)
                    table[slots.view(np.int64)] = np.arange(self.keys.size)
                    self._table, self._mult, self._shift = table, mult, shift
                    return
            bits += 1


def _pack(arr: pa.Array) -> np.ndarray | None:
    """The non-null strings of arr as uint64 words, or None if one is too long or has a NUL."""
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    validity, offsets_buf, data_buf = arr.buffers()
    width = 8 if pa.types.is_large_string(arr.type) else 4
    dtype = np.int64 if width == 8 else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=dtype, count=n + 1, offset=arr.offset * width)
    lengths = np.diff(offsets)
    longest = int(lengths.max())
    if longest > MAX_BYTES:
        return None
    start, end = int(offsets[0]), int(offsets[-1])
    # lengths are >= 0 and <= longest, so a total of n * longest means they are all equal
    fixed = end - start == n * longest
    if longest == 0:
        words = np.zeros(n, dtype=np.uint64)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8, count=end - start, offset=start)
        # A NUL inside a string would make "a" and "a\0" one word: such columns go to pyarrow.
        if np.count_nonzero(data) != data.size:
            return None
        starts = offsets[:-1] - start
        # rows whose 8-byte read stays inside the data are read in place; the last few rows
        # (at most 8) are read from a small zero-padded copy of the data's tail
        inside = int(np.searchsorted(starts, data.size - MAX_BYTES, side="right"))
        words = np.empty(n, dtype=np.uint64)
        if inside:
            words[:inside] = _words_at(data, starts[:inside], fixed)
        if inside < n:
            first = int(starts[inside])
            tail = np.zeros(data.size - first + MAX_BYTES, dtype=np.uint8)
            tail[: data.size - first] = data[first:]
            words[inside:] = _words_at(tail, starts[inside:] - first, fixed)
        words &= _LOW_BYTES[longest] if fixed else _LOW_BYTES[lengths]
    if arr.null_count:
        valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
        words = words[valid[arr.offset : arr.offset + n].astype(bool)]
    return words


def _words_at(data: np.ndarray, starts: np.ndarray, fixed: bool) -> np.ndarray:
    """The 8 bytes at each start as a little-endian uint64 (the caller masks the excess)."""
    if fixed and starts.size > 1:  # equal lengths: a strided view, no gather
        step, begin = int(starts[1] - starts[0]), int(starts[0])
        shape, strides = (starts.size,), (step,)
        return np.ndarray(shape, dtype=np.uint64, buffer=data, offset=begin, strides=strides)
    windows = np.ndarray((data.size - MAX_BYTES + 1,), dtype="V8", buffer=data, strides=(1,))
    return windows[starts].view(np.uint64)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _label(word: np.uint64) -> str:
    # arrow strings are UTF-8; "replace" only guards arrays built without validation
    return int(word).to_bytes(MAX_BYTES, "little").rstrip(b"\0").decode("utf-8", "replace")
